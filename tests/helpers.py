"""Helpers shared by tests (importable as ``tests.helpers``)."""

from __future__ import annotations

import numpy as np
import torch

from skinsynth.classes import HAM10000
from skinsynth.data.records import LesionRecords


def grouped_records(per_class: dict[str, int], images_per_group: int = 2, seed: int = 0) -> LesionRecords:
    """Records (paths need not exist) where every lesion group has ``images_per_group`` images of one class."""
    rng = np.random.default_rng(seed)
    ids, codes, groups = [], [], []
    for code, count in per_class.items():
        for i in range(count):
            group = f"{code}-L{i // images_per_group}"
            ids.append(f"{code}-{i:04d}")
            codes.append(code)
            groups.append(group)
    order = rng.permutation(len(ids))
    return LesionRecords.build(
        image_ids=[ids[i] for i in order],
        paths=[f"/nowhere/{ids[i]}.jpg" for i in order],
        codes=[codes[i] for i in order],
        groups=[groups[i] for i in order],
        vocabulary=HAM10000,
        source="memory",
    )


class BatchDataset(torch.utils.data.Dataset):
    """In-memory images and labels served as the datamodule's batch dicts (for model tests without files)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, is_synthetic: bool = False) -> None:
        self.images, self.labels, self.is_synthetic = images, labels, is_synthetic

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {
            "image": self.images[i],
            "label": self.labels[i],
            "is_synthetic": torch.tensor(self.is_synthetic),
            "index": torch.tensor(i),
        }
