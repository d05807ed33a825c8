"""What a datamodule trains on: the training records of each mode, and a class-balanced sampler over them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import WeightedRandomSampler

from skinsynth.data.records import LesionRecords
from skinsynth.data.splits import Split


def training_records(mode: str, split: Split, synthetic: Sequence[LesionRecords]) -> LesionRecords:
    """The training records of ``mode``: the split's real training images, the pool, or generated images.

    ``fewshot``/``real``: the real training split; ``unlabeled``: it plus the pool (labels are hidden later);
    ``synthetic``: the generated records only; ``mixed``: real plus generated.
    """
    real = split.records_for("train")
    if mode in ("fewshot", "real"):
        return real
    if mode == "unlabeled":
        return LesionRecords.concat([real, split.records_for("pool")])
    if mode == "synthetic":
        return LesionRecords.concat(list(synthetic))
    return LesionRecords.concat([real, *synthetic])


def class_balanced_sampler(labels: np.ndarray, num_classes: int, seed: int) -> WeightedRandomSampler:
    """Draws ``len(labels)`` indices with replacement, every class equally likely (weight 1 / its count)."""
    per_class = np.bincount(labels, minlength=num_classes).astype(float)
    weights = 1.0 / per_class[labels]
    return WeightedRandomSampler(torch.as_tensor(weights, dtype=torch.double), num_samples=len(labels),
                                 replacement=True, generator=torch.Generator().manual_seed(seed))  # fmt: skip
