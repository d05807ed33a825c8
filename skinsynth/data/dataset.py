"""LesionDataset: the images of one split, decoded and transformed on access, as the loaders' batches."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from skinsynth.data.images import ImageReader
from skinsynth.data.records import LesionRecords

HIDDEN_LABEL = -1  # the label of every training image in ``unlabeled`` mode


class LesionDataset(Dataset):
    """Images of one split, decoded and transformed on access.

    Args:
        records: the images.
        transform: an albumentations pipeline ending in ``ToTensorV2``.
        reader: the image reader (decides JPEG draft decoding).
    """

    def __init__(
        self, records: LesionRecords, transform: Any, reader: ImageReader | None = None, hide_labels: bool = False
    ) -> None:
        self.records = records
        self.transform = transform
        self.reader = reader or ImageReader()
        frame = records.frame
        self._paths = frame["path"].tolist()
        self._labels = frame["label"].to_numpy(dtype=np.int64)
        if hide_labels:  # a model that read them would fail on -1 rather than learn from them
            self._labels = np.full_like(self._labels, HIDDEN_LABEL)
        self._synthetic = frame["is_synthetic"].to_numpy(dtype=bool)

    def __len__(self) -> int:
        return len(self._paths)

    @property
    def labels(self) -> np.ndarray:
        """Label index per item."""
        return self._labels

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image = self.reader.read(self._paths[index])
        return {
            "image": self.transform(image=image)["image"],
            "label": torch.tensor(self._labels[index]),
            "is_synthetic": torch.tensor(self._synthetic[index]),
            "index": torch.tensor(index),
        }


def seed_worker_transform(worker_id: int) -> None:
    """Give each DataLoader worker its own augmentation stream (albumentations does not do it by itself)."""
    info = get_worker_info()
    if info is not None and hasattr(info.dataset, "transform") and hasattr(info.dataset.transform, "set_random_seed"):
        info.dataset.transform.set_random_seed(torch.initial_seed() % 2**32)
