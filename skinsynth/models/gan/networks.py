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
        upsample: ``transpose`` (DCGAN) or ``nearest`` (no checkerboard artefacts); see
            :class:`~skinsynth.models.blocks.UpsamplingDecoder`.
    """

    def __init__(
        self,
        num_classes: int,
        image_size: int,
        z_dim: int = 100,
        base_channels: int = 16,
        conditioning: Literal["embedding", "onehot"] = "embedding",
        upsample: Literal["transpose", "nearest"] = "transpose",
    ) -> None:
        super().__init__()
        self.num_classes, self.z_dim, self.conditioning = num_classes, z_dim, conditioning
        label_features = 0
        if num_classes and conditioning == "embedding":
            self.embed = nn.Embedding(num_classes, z_dim)
            label_features = z_dim
        elif num_classes:
            label_features = num_classes
        self.decoder = UpsamplingDecoder(
            z_dim + label_features, image_size, base_channels, output="tanh", upsample=upsample
        )

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Images (N, 3, H, W) in [-1, 1]."""
        if self.num_classes:
            if labels is None:
                raise ValueError("this generator is class-conditional: pass labels")
            condition = self.embed(labels) if self.conditioning == "embedding" else F.one_hot(labels, self.num_classes)
            z = torch.cat([z, condition.float()], 1)
        return self.decoder(z)


def minibatch_std(features: Tensor, group_size: int = 4) -> Tensor:
    """One feature per image: the mean standard deviation of ``features`` (N, D) across its group of the batch.

    The minibatch-standard-deviation statistic of progressive GANs (Karras et al., 2018): a discriminator that sees it
    can tell a batch of near-identical fakes from a batch of varied real images, so collapsing stops paying off for
    the generator. Groups are ``group_size`` consecutive images (the whole batch when it does not divide evenly).
    """
    n = len(features)
    size = group_size if n % group_size == 0 and n >= group_size else n
    if size < 2:
        return features.new_zeros(n, 1)
    grouped = features.view(n // size, size, -1)
    std = (grouped.var(1, unbiased=False) + 1e-8).sqrt().mean(1, keepdim=True)  # (groups, 1)
    return std.repeat_interleave(size, 0)


class ProjectionDiscriminator(nn.Module):
    """Image (in [-1, 1]) and class → real/fake logit, with the class entering by projection (Miyato & Koyama).

    Args:
        num_classes: number of classes; 0 makes an unconditional discriminator.
        image_size: input side length.
        base_channels: encoder width.
        spectral_norm: spectral normalization on every layer.
        minibatch_std_group: append the minibatch standard deviation over groups of this many images to the features
            (0: off); see :func:`minibatch_std`.
        auxiliary_classifier: also predict the class from the features (AC-GAN, Odena et al. 2017), see
            :meth:`classify`.
    """

    def __init__(
        self,
        num_classes: int,
        image_size: int,
        base_channels: int = 32,
        spectral_norm: bool = True,
        minibatch_std_group: int = 0,
        auxiliary_classifier: bool = False,
    ) -> None:
        super().__init__()
        self.num_classes, self.minibatch_std_group = num_classes, minibatch_std_group
        self.features = DownsamplingEncoder(image_size, base_channels, norm="none", spectral_norm=spectral_norm)
        wrap = with_spectral_norm if spectral_norm else (lambda module: module)
        width = self.features.out_features + (1 if minibatch_std_group else 0)
        self.linear = wrap(nn.Linear(width, 1))
        self.embed = wrap(nn.Embedding(num_classes, width)) if num_classes else None
        self.classifier = wrap(nn.Linear(width, num_classes)) if auxiliary_classifier and num_classes else None
        self.last_class_logits: Tensor | None = None

    def forward(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        """Real/fake logits (N,); with the auxiliary classifier, class logits are kept in ``last_class_logits``."""
        h = self.features(images)
        if self.minibatch_std_group:
            h = torch.cat([h, minibatch_std(h, self.minibatch_std_group)], 1)
        self.last_class_logits = self.classifier(h) if self.classifier is not None else None
        logit = self.linear(h).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is class-conditional: pass labels")
            logit = logit + (self.embed(labels) * h).sum(1)
        return logit
