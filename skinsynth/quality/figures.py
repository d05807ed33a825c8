"""Figures that show synthetic data next to real data: per-class real/synthetic rows, and a t-SNE of features."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from skinsynth.callbacks.sample_grid import class_grid, save_grid
from skinsynth.report import save_figure


def real_vs_synthetic_grid(
    real: Tensor, real_labels: Tensor, fake: Tensor, fake_labels: Tensor, class_codes: Sequence[str], path: str | Path,
    per_class: int = 8,
) -> Path:  # fmt: skip
    """Two rows per class — real images, then synthetic ones — labelled ``<code> real`` / ``<code> synth``."""
    k = len(class_codes)
    images = torch.cat([real, fake])
    # interleave the rows: class c's real images in row 2c, its synthetic images in row 2c + 1
    labels = torch.cat([real_labels * 2, fake_labels * 2 + 1])
    names = [name for code in class_codes for name in (f"{code} real", f"{code} synth")]
    return save_grid(class_grid(images, labels, 2 * k, per_class), path, names)


def tsne_plot(
    real: Tensor, real_labels: Tensor, fake: Tensor, fake_labels: Tensor, class_codes: Sequence[str], path: str | Path,
    feature_space: str, seed: int = 0,
) -> Path:  # fmt: skip
    """t-SNE (scikit-learn) of real (circles) and synthetic (crosses) features, coloured by class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    features = torch.cat([real, fake]).double().numpy()
    perplexity = float(min(30, max(2, len(features) // 4)))
    points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)
    real_points, fake_points = points[: len(real)], points[len(real) :]
    colours = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    for c, code in enumerate(class_codes):
        r = real_points[real_labels.numpy() == c]
        f = fake_points[fake_labels.numpy() == c]
        if len(r):
            ax.scatter(r[:, 0], r[:, 1], s=14, color=colours(c % 10), marker="o", label=f"{code} real", alpha=0.8)
        if len(f):
            ax.scatter(f[:, 0], f[:, 1], s=14, color=colours(c % 10), marker="x", label=f"{code} synth", alpha=0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"t-SNE of {feature_space} features (o real, x synthetic)", fontsize=9)
    ax.legend(fontsize=6, ncols=2, loc="best")
    return save_figure(fig, path)


def as_labels(codes: Sequence[str], class_codes: Sequence[str]) -> Tensor:
    """Class indices of ``codes`` in ``class_codes`` order."""
    index = {code: i for i, code in enumerate(class_codes)}
    return torch.as_tensor(np.array([index[c] for c in codes], dtype=np.int64))
