"""Per-class evidence about a synthetic set: distance, fidelity, diversity, in one named feature space.

:func:`synthetic_quality` compares, class by class and overall, the synthetic images with the real training images
of the same class: FID and KID (torchmetrics), precision / recall / density / coverage (k-NN), and within-class
diversity of both sets (feature cosine distance, and 1 − MS-SSIM in pixels), so "diverse enough" is always judged
against the real images of that class. Classes with few images get a warning: FID is biased and unstable below
a few hundred images, and k-NN scores need more than k images on both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from skinsynth.quality.distances import distances_from_features
from skinsynth.quality.diversity import feature_diversity, ms_ssim_diversity
from skinsynth.quality.manifold import prdc

UNSTABLE_BELOW = 50  # images per side under which a class's scores get a warning


@dataclass
class QualityTable:
    """Scores per class (rows: class codes, then ``all``) with the feature space they were computed in.

    Attributes:
        table: one row per class; columns ``real``, ``synthetic`` (image counts), ``fid``, ``kid``, ``precision``,
            ``recall``, ``density``, ``coverage``, ``diversity_real``, ``diversity_synthetic``,
            ``diversity_ratio`` (synthetic / real, feature space), ``ms_ssim_diversity_real``,
            ``ms_ssim_diversity_synthetic``. NaN where a class has too few images for a score.
        feature_space: the name of the feature space.
        warnings: one sentence per class whose numbers are unstable or missing.
    """

    table: pd.DataFrame
    feature_space: str
    warnings: list[str] = field(default_factory=list)


def _scores(real_f: Tensor, fake_f: Tensor, real_x: Tensor, fake_x: Tensor, k: int) -> dict[str, float]:
    nan = float("nan")
    row: dict[str, float] = {"real": len(real_f), "synthetic": len(fake_f)}
    enough = len(real_f) >= 2 and len(fake_f) >= 2
    row |= distances_from_features(real_f, fake_f) if enough else {"fid": nan, "kid": nan, "kid_std": nan}
    if len(real_f) > k and len(fake_f) > k:
        row |= prdc(real_f, fake_f, k=k)
    else:
        row |= dict.fromkeys(("precision", "recall", "density", "coverage"), nan)
    row["diversity_real"] = feature_diversity(real_f) if len(real_f) >= 2 else nan
    row["diversity_synthetic"] = feature_diversity(fake_f) if len(fake_f) >= 2 else nan
    row["diversity_ratio"] = row["diversity_synthetic"] / row["diversity_real"] if row["diversity_real"] else nan
    row["ms_ssim_diversity_real"] = ms_ssim_diversity(real_x) if len(real_x) >= 2 else nan
    row["ms_ssim_diversity_synthetic"] = ms_ssim_diversity(fake_x) if len(fake_x) >= 2 else nan
    return row


def synthetic_quality(
    real_features: Tensor,
    real_codes: Sequence[str],
    fake_features: Tensor,
    fake_codes: Sequence[str],
    real_images: Tensor,
    fake_images: Tensor,
    class_codes: Sequence[str],
    feature_space: str,
    k: int = 5,
) -> QualityTable:
    """Score the synthetic images of every class against the real images of that class, and overall.

    Args:
        real_features: features (N, D) of the real training images.
        real_codes: class code of each real image.
        fake_features: features (M, D) of the synthetic images, same space.
        fake_codes: class code of each synthetic image.
        real_images: the real images (N, 3, H, W) in [0, 1] (for pixel diversity).
        fake_images: the synthetic images (M, 3, H, W) in [0, 1].
        class_codes: the classes to report, in order (a class without synthetic images is left out).
        feature_space: the name of the feature space (printed beside every number).
        k: neighbourhood size of precision / recall / density / coverage.
    """
    real_codes, fake_codes = np.asarray(real_codes), np.asarray(fake_codes)
    rows, warnings = {}, []
    for code in class_codes:
        fake_mask = torch.as_tensor(fake_codes == code)
        if not fake_mask.any():
            continue
        real_mask = torch.as_tensor(real_codes == code)
        n_real, n_fake = int(real_mask.sum()), int(fake_mask.sum())
        rows[code] = _scores(
            real_features[real_mask], fake_features[fake_mask], real_images[real_mask], fake_images[fake_mask], k
        )
        if min(n_real, n_fake) < UNSTABLE_BELOW:
            warnings.append(
                f"{code}: {n_real} real and {n_fake} synthetic images; below {UNSTABLE_BELOW} per side FID/KID and "
                "the k-NN scores are unstable (compare classes by rank, not by value)"
            )
    if rows:
        fake_mask = torch.as_tensor(np.isin(fake_codes, list(rows)))
        real_mask = torch.as_tensor(np.isin(real_codes, list(rows)))
        rows["all"] = _scores(
            real_features[real_mask], fake_features[fake_mask], real_images[real_mask], fake_images[fake_mask], k
        )
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "class"
    return QualityTable(table=table, feature_space=feature_space, warnings=warnings)
