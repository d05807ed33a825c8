"""The conditional VAE network: encoder features + one-hot class → (μ, log σ²); latent + one-hot class → image."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skinsynth.models.blocks import DownsamplingEncoder, UpsamplingDecoder


class ConditionalVAE(nn.Module):
    """Conditional VAE over images in [0, 1].

    Args:
        num_classes: number of classes (one-hot conditioning of encoder head and decoder).
        image_size: image side length (32–224, see :func:`~skinsynth.models.blocks.upsampling_plan`).
        latent_dim: latent size.
        base_channels: width of the convolutional encoder/decoder.
        encoder: ``conv`` (a small conv net) or a timm backbone name (random init; features pooled).
    """

    def __init__(
        self, num_classes: int, image_size: int, latent_dim: int = 128, base_channels: int = 16, encoder: str = "conv"
    ) -> None:
        super().__init__()
        self.num_classes, self.latent_dim = num_classes, latent_dim
        if encoder == "conv":
            self.encoder: nn.Module = DownsamplingEncoder(image_size, base_channels)
            features = self.encoder.out_features
        else:
            from skinsynth.models.backbones import build_backbone

            self.encoder = build_backbone(encoder, num_classes=0)
            features = self.encoder.num_features
        self.to_stats = nn.Linear(features + num_classes, 2 * latent_dim)
        self.decoder = UpsamplingDecoder(latent_dim + num_classes, image_size, base_channels, output="sigmoid")

    def _one_hot(self, labels: Tensor) -> Tensor:
        return F.one_hot(labels, self.num_classes).float()

    def encode(self, images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and log-variance, each (N, latent_dim)."""
        features = self.encoder(images * 2 - 1)
        mu, logvar = self.to_stats(torch.cat([features, self._one_hot(labels)], 1)).chunk(2, dim=1)
        return mu, logvar.clamp(-20, 10)

    def decode(self, latents: Tensor, labels: Tensor) -> Tensor:
        """Images in [0, 1] for latents and labels."""
        return self.decoder(torch.cat([latents, self._one_hot(labels)], 1))

    def forward(self, images: Tensor, labels: Tensor, noise: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Reconstruction, μ and log σ² (reparameterized with ``noise`` or fresh normal noise)."""
        mu, logvar = self.encode(images, labels)
        noise = torch.randn_like(mu) if noise is None else noise
        return self.decode(mu + noise * (0.5 * logvar).exp(), labels), mu, logvar
