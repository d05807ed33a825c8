"""Within-class diversity: how different a set of images is from itself, in feature space and in pixels.

A collapsed generator draws near-identical images for a class; its diversity is then far below that of the real
images of the class. Compare a synthetic set's numbers with the same numbers on real images of the same class, never
across classes or feature spaces.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# the MS-SSIM scale weights of Wang et al. (2003), finest first
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def feature_diversity(features: Tensor) -> float:
    """Mean pairwise cosine distance (1 − cosine similarity) between distinct rows of ``features`` (N ≥ 2, D).

    0 for identical images; higher is more diverse.
    """
    if len(features) < 2:
        raise ValueError(f"diversity needs at least 2 images, got {len(features)}")
    unit = F.normalize(features.double(), dim=1)
    similarity = unit @ unit.T
    n = len(features)
    off_diagonal = (similarity.sum() - similarity.diagonal().sum()) / (n * (n - 1))
    return float(1 - off_diagonal)


def ms_ssim_settings(size: int) -> tuple[tuple[float, ...], int]:
    """The MS-SSIM scale weights and Gaussian kernel size that an image of side ``size`` supports.

    The standard 5 scales with an 11-px kernel need ≥ 161 px; smaller images use fewer scales (the leading
    weights, renormalized) and a smaller kernel, so numbers are comparable only between images of the same size.
    """
    for scales in range(5, 0, -1):
        if size < 2**scales:
            continue
        for kernel in (11, 7, 5, 3):
            coarsest = size // 2 ** (scales - 1)  # side length at the last scale
            if size // max(1, scales - 1) ** 2 > kernel - 1 and (kernel - 1) // 2 < coarsest:
                weights = torch.tensor(MS_SSIM_WEIGHTS[:scales], dtype=torch.float64)
                return tuple(float(w) for w in weights / weights.sum()), kernel
    raise ValueError(f"images of {size} px are too small for MS-SSIM (at least 4 px)")


def ms_ssim_diversity(images: Tensor, pairs: int = 200, seed: int = 0) -> float:
    """1 − mean MS-SSIM over random distinct pairs of ``images`` (N ≥ 2, 3, H, W) in [0, 1].

    Args:
        images: the images of one class.
        pairs: how many random pairs to average (all pairs when there are fewer).
        seed: seed of the pair draw.
    """
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

    n = len(images)
    if n < 2:
        raise ValueError(f"diversity needs at least 2 images, got {n}")
    all_pairs = torch.combinations(torch.arange(n), r=2)
    if len(all_pairs) > pairs:
        chosen = torch.randperm(len(all_pairs), generator=torch.Generator().manual_seed(seed))[:pairs]
        all_pairs = all_pairs[chosen]
    betas, kernel = ms_ssim_settings(min(images.shape[-2:]))
    scores = multiscale_structural_similarity_index_measure(
        images[all_pairs[:, 0]].float(),
        images[all_pairs[:, 1]].float(),
        data_range=1.0,
        kernel_size=kernel,
        sigma=1.5 * (kernel - 1) / 10,  # torchmetrics sizes the Gaussian window from sigma: 1.5 ↔ 11 px
        betas=betas,
        normalize="relu",
        reduction="none",
    )
    return float(1 - scores.double().mean())
