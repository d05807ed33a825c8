"""Precision, recall, density and coverage of synthetic images against real ones, by k-nearest neighbours.

Precision and recall follow Kynkäänniemi et al. (2019): each real feature gets a ball reaching its k-th nearest real
neighbour; precision is the share of synthetic features inside the union of real balls (fidelity), recall the share
of real features inside the union of synthetic balls (diversity). Density and coverage follow Naeem et al. (2020):
density counts how many real balls hold each synthetic feature (divided by k, so ≈ 1 when the two distributions
match), coverage is the share of real balls that hold at least one synthetic feature (robust to outliers).
"""

from __future__ import annotations

import torch
from torch import Tensor


def _kth_neighbour_radii(features: Tensor, k: int) -> Tensor:
    """Distance from each row to its k-th nearest other row."""
    distances = torch.cdist(features, features)
    return distances.kthvalue(k + 1, dim=1).values  # +1: the row itself is at distance 0


def prdc(real: Tensor, fake: Tensor, k: int = 5) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` (M, D) against ``real`` (N, D) features.

    Args:
        real: real features, at least ``k + 1`` rows.
        fake: synthetic features, at least ``k + 1`` rows (recall needs k neighbours among them too).
        k: the neighbourhood size (5 in both papers).

    Raises:
        ValueError: too few rows for ``k``.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if len(real) <= k or len(fake) <= k:
        raise ValueError(f"precision/recall with k={k} need more than {k} real and synthetic images, got "
                         f"{len(real)} real and {len(fake)} synthetic")  # fmt: skip
    real, fake = real.double(), fake.double()
    real_radii = _kth_neighbour_radii(real, k)
    fake_radii = _kth_neighbour_radii(fake, k)
    fake_to_real = torch.cdist(fake, real)  # (M, N)
    inside_real = fake_to_real <= real_radii.unsqueeze(0)  # fake j inside the ball of real i
    return {
        "precision": float(inside_real.any(dim=1).double().mean()),
        "recall": float((fake_to_real <= fake_radii.unsqueeze(1)).any(dim=0).double().mean()),
        "density": float(inside_real.double().sum() / (k * len(fake))),
        "coverage": float((fake_to_real.min(dim=0).values <= real_radii).double().mean()),
    }
