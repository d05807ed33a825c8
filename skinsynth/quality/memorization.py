"""Memorization audit: is a synthetic image a near-copy of a real training image?

For every synthetic image the nearest real training image is found by cosine similarity in feature space (any class),
and the pair is also compared in pixels by SSIM. A generator trained on a few shots per class can reproduce its
training images; a classifier trained on such copies has seen nothing new, and a gain from them would be an
oversampling gain under another name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from skinsynth.report import save_figure


@dataclass(frozen=True)
class MemorizationAudit:
    """The audit's results.

    Attributes:
        per_image: one row per synthetic image: ``code``, ``nearest_real`` (row of the real set),
            ``nearest_real_code``, ``cosine``, ``ssim``, ``cosine_above``, ``ssim_above``, ``near_copy`` (both above
            their thresholds).
        per_class: one row per class: ``images``, ``mean_cosine``, ``max_cosine``, ``max_ssim``, the fractions
            above each threshold and ``near_copy_fraction``, ``cosine_threshold``, ``ssim_threshold``.
    """

    per_image: pd.DataFrame
    per_class: pd.DataFrame


def nearest_neighbours(queries: Tensor, references: Tensor, chunk: int = 1024) -> tuple[Tensor, Tensor]:
    """Index and cosine similarity of each query row's most similar reference row."""
    refs = F.normalize(references.double(), dim=1)
    indices, similarities = [], []
    for part in queries.split(chunk):
        sim = F.normalize(part.double(), dim=1) @ refs.T
        best = sim.max(dim=1)
        indices.append(best.indices)
        similarities.append(best.values)
    return torch.cat(indices), torch.cat(similarities)


def pairwise_ssim(a: Tensor, b: Tensor) -> Tensor:
    """SSIM of each pair ``(a[i], b[i])`` of images (N, 3, H, W) in [0, 1]; the kernel shrinks for tiny images."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    size = min(a.shape[-2:])
    kernel = min(11, size if size % 2 else size - 1)
    return structural_similarity_index_measure(
        a.float(), b.float(), data_range=1.0, kernel_size=kernel, reduction="none"
    ).double()


def memorization_audit(
    fake_features: Tensor,
    real_features: Tensor,
    fake_images: Tensor,
    real_images: Tensor,
    fake_codes: Sequence[str],
    real_codes: Sequence[str],
    cosine_threshold: float = 0.95,
    ssim_threshold: float = 0.9,
) -> MemorizationAudit:
    """Find each synthetic image's nearest real training image and flag near-copies.

    Args:
        fake_features: features of the synthetic images (M, D).
        real_features: features of the real training images (N, D), in the same space.
        fake_images: the synthetic images (M, 3, H, W) in [0, 1].
        real_images: the real training images (N, 3, H, W) in [0, 1], same size.
        fake_codes: class code of each synthetic image.
        real_codes: class code of each real image.
        cosine_threshold: feature cosine similarity at or above which a pair counts as a near-copy.
        ssim_threshold: pixel SSIM at or above which a pair counts as a near-copy.
    """
    if len(fake_features) != len(fake_codes) or len(real_features) != len(real_codes):
        raise ValueError("one class code per image is needed")
    if len(real_features) == 0 or len(fake_features) == 0:
        raise ValueError("the memorization audit needs real and synthetic images")
    index, cosine = nearest_neighbours(fake_features, real_features)
    ssim = pairwise_ssim(fake_images, real_images[index])
    per_image = pd.DataFrame({
        "code": list(fake_codes),
        "nearest_real": index.numpy(),
        "nearest_real_code": [real_codes[i] for i in index.tolist()],
        "cosine": cosine.numpy(),
        "ssim": ssim.numpy(),
    })  # fmt: skip
    # a copy is close in both spaces: a collapsed generator's garbage can sit near one real image in feature space
    # (high cosine) while looking nothing like it (low SSIM), so either test alone over-counts
    per_image["cosine_above"] = per_image["cosine"] >= cosine_threshold
    per_image["ssim_above"] = per_image["ssim"] >= ssim_threshold
    per_image["near_copy"] = per_image["cosine_above"] & per_image["ssim_above"]
    per_class = per_image.groupby("code", sort=False).agg(
        images=("cosine", "size"),
        mean_cosine=("cosine", "mean"),
        max_cosine=("cosine", "max"),
        max_ssim=("ssim", "max"),
        cosine_above_fraction=("cosine_above", "mean"),
        ssim_above_fraction=("ssim_above", "mean"),
        near_copy_fraction=("near_copy", "mean"),
    )
    per_class["cosine_threshold"] = cosine_threshold
    per_class["ssim_threshold"] = ssim_threshold
    return MemorizationAudit(per_image=per_image, per_class=per_class)


def plot_closest_pairs(
    audit: MemorizationAudit, fake_images: Tensor, real_images: Tensor, path: str | Path, pairs: int = 8
) -> Path:
    """Save a figure of the ``pairs`` most similar (synthetic, nearest real) pairs: synthetic on top, real below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = audit.per_image.sort_values("cosine", ascending=False).head(pairs)
    fig, axes = plt.subplots(2, max(len(top), 1), figsize=(1.6 * max(len(top), 1), 3.6), squeeze=False)
    for column, (row_index, row) in enumerate(top.iterrows()):
        for line, image in enumerate((fake_images[row_index], real_images[int(row["nearest_real"])])):
            ax = axes[line][column]
            ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0][column].set_title(f"{row['code']}\ncos {row['cosine']:.3f}\nSSIM {row['ssim']:.2f}", fontsize=7)
    axes[0][0].set_ylabel("synthetic", fontsize=8)
    axes[1][0].set_ylabel("nearest real", fontsize=8)
    return save_figure(fig, path)
