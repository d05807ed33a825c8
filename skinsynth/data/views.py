"""Unlabeled images served as pairs of random views, for self-supervised pretraining on the pool."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset

from skinsynth.data.images import ImageReader
from skinsynth.data.records import LesionRecords


class TwoViewDataset(Dataset):
    """Each item is two independent random views of one image: ``{"view1", "view2", "index"}`` (no label).

    Args:
        records: the images (their labels are never read).
        transform: a random albumentations pipeline ending in ``ToTensorV2`` (drawn twice per item).
        reader: the image reader.
    """

    def __init__(self, records: LesionRecords, transform: Any, reader: ImageReader | None = None) -> None:
        self.transform = transform
        self.reader = reader or ImageReader()
        self._paths = records.frame["path"].tolist()

    def __len__(self) -> int:
        return len(self._paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image = self.reader.read(self._paths[index])
        return {
            "view1": self.transform(image=image)["image"],
            "view2": self.transform(image=image)["image"],
            "index": torch.tensor(index),
        }
