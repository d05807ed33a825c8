"""ConditionalGANModule: a conditional DCGAN trained with Lightning manual optimization.

One discriminator step and one generator step per batch, non-saturating loss, Adam (lr 2e-4, betas (0.5, 0.999)).
The discriminator sees ``fake.detach()``; ``toggle_optimizer`` freezes the other network during each step. Lightning
counts one ``global_step`` per optimizer step, so the module counts its own generator and discriminator updates
(``g_steps``, ``d_steps``; saved in checkpoints). With ``per_class=True`` it trains one unconditional
generator/discriminator pair per class on that class's images only (the per-class DCGAN of the seeds).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skinsynth.errors import ConfigError
from skinsynth.models.base import BaseModule, RandomSource, check_labels, randn
from skinsynth.models.gan.diff_augment import diff_augment, parse_policy
from skinsynth.models.gan.networks import ConditionalGenerator, ProjectionDiscriminator


class ConditionalGANModule(BaseModule):
    """Conditional (or per-class) DCGAN generator.

    Args:
        num_classes: number of classes.
        class_codes: class codes in label order.
        image_size: image side length (32–128).
        z_dim: noise size.
        base_channels: generator width.
        d_base_channels: discriminator width.
        conditioning: ``embedding`` or ``onehot`` class input of the generator.
        spectral_norm: spectral normalization in the discriminator.
        per_class: one unconditional generator/discriminator pair per class.
        lr_g: generator learning rate.
        lr_d: discriminator learning rate.
        beta1: Adam β1.
        beta2: Adam β2.
        diff_augment: DiffAugment transforms applied to everything the discriminator sees, e.g.
            ``"color,translation,cutout"`` (empty: none); recommended at few-shot data sizes.
    """

    def __init__(
        self,
        num_classes: int = 7,
        class_codes: Sequence[str] | None = None,
        image_size: int = 64,
        z_dim: int = 100,
        base_channels: int = 16,
        d_base_channels: int = 32,
        conditioning: Literal["embedding", "onehot"] = "embedding",
        spectral_norm: bool = True,
        per_class: bool = False,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        diff_augment: str = "",
    ) -> None:
        self.class_codes = list(class_codes) if class_codes is not None else [str(i) for i in range(num_classes)]
        try:
            self.augment_policy = parse_policy(diff_augment)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        super().__init__()
        self.automatic_optimization = False
        # D and G take turns, so each backward leaves the other's parameters unused: DDP must look for them
        self.ddp_find_unused_parameters = True
        self.register_buffer("g_steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("d_steps", torch.zeros((), dtype=torch.long))

    def configure_models(self) -> None:
        """Generator(s) and discriminator(s)."""
        hp = self.hparams
        conditional_classes = 0 if hp.per_class else hp.num_classes
        pairs = hp.num_classes if hp.per_class else 1
        self.generators = nn.ModuleList(
            ConditionalGenerator(conditional_classes, hp.image_size, hp.z_dim, hp.base_channels, hp.conditioning)
            for _ in range(pairs)
        )
        self.discriminators = nn.ModuleList(
            ProjectionDiscriminator(conditional_classes, hp.image_size, hp.d_base_channels, hp.spectral_norm)
            for _ in range(pairs)
        )

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """Adam for the generator(s), Adam for the discriminator(s)."""
        hp = self.hparams
        betas = (hp.beta1, hp.beta2)
        return [
            torch.optim.Adam(self.generators.parameters(), lr=hp.lr_g, betas=betas),
            torch.optim.Adam(self.discriminators.parameters(), lr=hp.lr_d, betas=betas),
        ]

    def _groups(self, labels: Tensor) -> list[tuple[int, Tensor]]:
        """(pair index, row mask) for every generator/discriminator pair the batch feeds."""
        if not self.hparams.per_class:
            return [(0, torch.ones_like(labels, dtype=torch.bool))]
        return [(int(c), labels == c) for c in labels.unique()]

    def _generate(self, pair: int, z: Tensor, labels: Tensor) -> Tensor:
        return self.generators[pair](z, None if self.hparams.per_class else labels)

    def _discriminate(self, pair: int, images: Tensor, labels: Tensor) -> Tensor:
        images = diff_augment(images, self.augment_policy)  # the same random transforms for real and fake
        return self.discriminators[pair](images, None if self.hparams.per_class else labels)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        real = batch["image"] * 2 - 1  # the datamodule gives [0, 1]; the generator works in [-1, 1]
        labels = batch["label"]
        groups = self._groups(labels)
        z = torch.randn(len(real), self.hparams.z_dim, device=self.device)

        # the fakes keep their graph into the generator(s); the discriminator only ever sees them detached
        fakes = {pair: self._generate(pair, z[rows], labels[rows]) for pair, rows in groups}

        # discriminator: real → 1, fake.detach() → 0; generator frozen
        self.toggle_optimizer(opt_d)
        loss_d = real.new_zeros(())
        for pair, rows in groups:
            real_logits = self._discriminate(pair, real[rows], labels[rows])
            fake_logits = self._discriminate(pair, fakes[pair].detach(), labels[rows])
            share = rows.float().mean()
            loss_d = loss_d + share * (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(loss_d)
        opt_d.step()
        self.untoggle_optimizer(opt_d)
        self.d_steps += 1

        # generator: non-saturating loss on the same fakes, discriminator frozen
        self.toggle_optimizer(opt_g)
        loss_g = real.new_zeros(())
        for pair, rows in groups:
            share = rows.float().mean()
            loss_g = loss_g + share * F.softplus(-self._discriminate(pair, fakes[pair], labels[rows])).mean()
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_g)
        opt_g.step()
        self.untoggle_optimizer(opt_g)
        self.g_steps += 1
        self.log_dict({"train_loss_d": loss_d, "train_loss_g": loss_g}, prog_bar=True, batch_size=len(real))

    @torch.no_grad()
    def sample(self, labels: Tensor, generator: RandomSource = None) -> Tensor:
        """Images in [0, 1], (N, 3, H, W), for ``labels``; generator(s) in eval mode (running BN statistics)."""
        labels = check_labels(labels, self.hparams.num_classes).to(self.device)
        z = randn((len(labels), self.hparams.z_dim), generator, self.device)
        was_training = self.training
        self.eval()
        images = torch.empty(len(labels), 3, self.hparams.image_size, self.hparams.image_size, device=self.device)
        for pair, rows in self._groups(labels):
            images[rows] = self._generate(pair, z[rows], labels[rows]).float()
        self.train(was_training)
        return ((images + 1) / 2).clamp(0, 1)
