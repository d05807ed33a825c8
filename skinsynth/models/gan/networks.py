"""Conditional DCGAN networks: a generator from (z, class) and a projection discriminator on (image, class)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import spectral_norm as with_spectral_norm

from skinsynth.models.blocks import DownsamplingEncoder, UpsamplingDecoder


class ConditionalGenerator(nn.Module):
    """z ∈ R^z_dim plus a class (one-hot or learned embedding) → image in [-1, 1].

    Args:
        num_classes: number of classes; 0 makes an unconditional generator (the per-class DCGAN).
        image_size: output side length (32–128 for CPU studies).
        z_dim: noise size.
        base_channels: decoder width.
        conditioning: ``embedding`` (learned, z_dim wide) or ``onehot``.
    """

    def __init__(
        self,
        num_classes: int,
        image_size: int,
        z_dim: int = 100,
        base_channels: int = 16,
        conditioning: Literal["embedding", "onehot"] = "embedding",
    ) -> None:
        super().__init__()
        self.num_classes, self.z_dim, self.conditioning = num_classes, z_dim, conditioning
        label_features = 0
        if num_classes and conditioning == "embedding":
            self.embed = nn.Embedding(num_classes, z_dim)
            label_features = z_dim
        elif num_classes:
            label_features = num_classes
        self.decoder = UpsamplingDecoder(z_dim + label_features, image_size, base_channels, output="tanh")

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Images (N, 3, H, W) in [-1, 1]."""
        if self.num_classes:
            if labels is None:
                raise ValueError("this generator is class-conditional: pass labels")
            condition = self.embed(labels) if self.conditioning == "embedding" else F.one_hot(labels, self.num_classes)
            z = torch.cat([z, condition.float()], 1)
        return self.decoder(z)


class ProjectionDiscriminator(nn.Module):
    """Image (in [-1, 1]) and class → real/fake logit, with the class entering by projection (Miyato & Koyama).

    Args:
        num_classes: number of classes; 0 makes an unconditional discriminator.
        image_size: input side length.
        base_channels: encoder width.
        spectral_norm: spectral normalization on every layer.
    """

    def __init__(self, num_classes: int, image_size: int, base_channels: int = 32, spectral_norm: bool = True) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.features = DownsamplingEncoder(image_size, base_channels, norm="none", spectral_norm=spectral_norm)
        wrap = with_spectral_norm if spectral_norm else (lambda module: module)
        self.linear = wrap(nn.Linear(self.features.out_features, 1))
        self.embed = wrap(nn.Embedding(num_classes, self.features.out_features)) if num_classes else None

    def forward(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        """Logits (N,)."""
        h = self.features(images)
        logit = self.linear(h).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is class-conditional: pass labels")
            logit = logit + (self.embed(labels) * h).sum(1)
        return logit
