"""FID and KID between real and synthetic images (torchmetrics) in a pluggable feature space."""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor, nn


def feature_distances(
    features: nn.Module, real: Iterable[Tensor], fake: Iterable[Tensor], kid_subset_size: int = 50
) -> dict[str, float]:
    """FID and KID (mean ± std over subsets) between batches of real and fake images in [0, 1].

    Args:
        features: the feature extractor (e.g. :class:`~skinsynth.quality.features.ClassifierFeatures`).
        real: batches of real images.
        fake: batches of generated images.
        kid_subset_size: images per KID subset (at most the smaller set's size is used).

    Raises:
        ValueError: fewer than 2 real or 2 fake images.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    real, fake = list(real), list(fake)
    n = min(sum(len(b) for b in real), sum(len(b) for b in fake))
    if n < 2:
        raise ValueError(f"FID/KID need at least 2 real and 2 fake images, got {n}")
    # one process computes these (rank 0 in a DDP study): never wait for the other ranks to sync metric states
    fid = FrechetInceptionDistance(feature=features, normalize=True, sync_on_compute=False)
    kid = KernelInceptionDistance(
        feature=features, normalize=True, subset_size=min(kid_subset_size, n), sync_on_compute=False
    )
    for batch in real:
        fid.update(batch, real=True)
        kid.update(batch, real=True)
    for batch in fake:
        fid.update(batch, real=False)
        kid.update(batch, real=False)
    kid_mean, kid_std = kid.compute()
    return {"fid": float(fid.compute()), "kid": float(kid_mean), "kid_std": float(kid_std)}


class _Precomputed(nn.Module):
    """Identity "feature extractor" for features computed earlier (torchmetrics reads ``num_features``)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


def distances_from_features(real: Tensor, fake: Tensor, kid_subset_size: int = 50) -> dict[str, float]:
    """:func:`feature_distances` for features already extracted: real (N, D) and fake (M, D)."""
    return feature_distances(_Precomputed(real.shape[1]), [real.double()], [fake.double()], kid_subset_size)
