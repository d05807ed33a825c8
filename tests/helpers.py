"""Helpers shared by tests (importable as ``tests.helpers``)."""

from __future__ import annotations

import numpy as np

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
