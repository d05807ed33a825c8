"""CVAEModule: trains the conditional VAE (reconstruction + β·KL with warm-up) and samples from the prior."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from skinsynth.models.base import GeneratorModule, RandomSource, randn
from skinsynth.models.cvae.networks import ConditionalVAE


class CVAEModule(GeneratorModule):
    """Conditional VAE generator.

    Args:
        num_classes: number of classes.
        class_codes: class codes in label order (checked against the data when a checkpoint is reused).
        image_size: image side length.
        latent_dim: latent size.
        base_channels: network width.
        encoder: ``conv`` or a timm backbone name for the encoder.
        beta: weight of the KL term once warmed up.
        kl_warmup_steps: optimizer steps over which the KL weight rises linearly from 0 to ``beta``.
        reconstruction: ``bce`` or ``mse`` (summed over pixels, averaged over images).
        lr: Adam learning rate.
    """

    def __init__(
        self,
        num_classes: int = 7,
        class_codes: Sequence[str] | None = None,
        image_size: int = 64,
        latent_dim: int = 128,
        base_channels: int = 16,
        encoder: str = "conv",
        beta: float = 1.0,
        kl_warmup_steps: int = 500,
        reconstruction: Literal["bce", "mse"] = "bce",
        lr: float = 1e-3,
    ) -> None:
        super().__init__(num_classes, class_codes)

    def configure_models(self) -> None:
        """The conditional VAE network."""
        hp = self.hparams
        self.net = ConditionalVAE(hp.num_classes, hp.image_size, hp.latent_dim, hp.base_channels, hp.encoder)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """Adam."""
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

    def kl_weight(self) -> float:
        """β scaled by the warm-up progress."""
        warmup = self.hparams.kl_warmup_steps
        return self.hparams.beta * (min(1.0, self.global_step / warmup) if warmup else 1.0)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        images, labels = batch["image"], batch["label"]
        reconstruction, mu, logvar = self.net(images, labels)
        n = len(images)
        if self.hparams.reconstruction == "bce":
            rec = F.binary_cross_entropy(reconstruction.float(), images.float(), reduction="sum") / n
        else:
            rec = F.mse_loss(reconstruction.float(), images.float(), reduction="sum") / n
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / n
        loss = rec + self.kl_weight() * kl
        self.log_dict({"train_loss": loss, "train_reconstruction": rec, "train_kl": kl}, prog_bar=True, batch_size=n)
        return loss

    def _sample(self, labels: Tensor, generator: RandomSource) -> Tensor:
        """Decode prior samples z ~ N(0, I) for ``labels``."""
        z = randn((len(labels), self.hparams.latent_dim), generator, self.device)
        return self.net.decode(z, labels)
