"""Distribution distances between real and synthetic images in a trained classifier's feature space.

Inception weights for the standard FID cannot be assumed (offline machines, and ImageNet features are a poor fit for
dermoscopy); a lesion classifier trained on the study's real images gives a domain-specific feature space. FID and KID
are computed by torchmetrics with that network as the feature extractor. Numbers from different classifiers are not
comparable with each other, nor with published Inception FIDs.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from skinsynth.data.transforms import IMAGENET_MEAN, IMAGENET_STD


class ClassifierFeatures(nn.Module):
    """Pooled penultimate features of a timm classifier for images in [0, 1] (normalized as in training).

    Args:
        model: a timm model (``LesionClassifier.model``).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.num_features = int(model.num_features)

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """Features (N, num_features) of images (N, 3, H, W) in [0, 1]."""
        x = (images.float() - self.mean) / self.std
        return self.model.forward_head(self.model.forward_features(x), pre_logits=True)


def feature_distances(
    features: nn.Module, real: Iterable[Tensor], fake: Iterable[Tensor], kid_subset_size: int = 50
) -> dict[str, float]:
    """FID and KID (mean ± std over subsets) between batches of real and fake images in [0, 1].

    Args:
        features: the feature extractor (e.g. :class:`ClassifierFeatures`).
        real: batches of real images.
        fake: batches of generated images.
        kid_subset_size: images per KID subset (at most the smaller set's size is used).
    """
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    real, fake = list(real), list(fake)
    n = min(sum(len(b) for b in real), sum(len(b) for b in fake))
    if n < 2:
        raise ValueError(f"FID/KID need at least 2 real and 2 fake images, got {n}")
    fid = FrechetInceptionDistance(feature=features, normalize=True)
    kid = KernelInceptionDistance(feature=features, normalize=True, subset_size=min(kid_subset_size, n))
    for batch in real:
        fid.update(batch, real=True)
        kid.update(batch, real=True)
    for batch in fake:
        fid.update(batch, real=False)
        kid.update(batch, real=False)
    kid_mean, kid_std = kid.compute()
    return {"fid": float(fid.compute()), "kid": float(kid_mean), "kid_std": float(kid_std)}
