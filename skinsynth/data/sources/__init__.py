"""One reader per on-disk dataset format; each returns :class:`~skinsynth.data.records.LesionRecords`.

:func:`read_source` dispatches by name. Readers are imported on first use so that an optional dependency of one
format (h5py for ISIC 2024) is not needed for the others.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from skinsynth.data.records import LesionRecords
from skinsynth.errors import ConfigError

READERS: dict[str, str] = {
    "ham10000": "skinsynth.data.sources.ham10000:read_ham10000",
    "isic2019": "skinsynth.data.sources.isic2019:read_isic2019",
    "isic2024": "skinsynth.data.sources.isic2024:read_isic2024",
    "imagefolder": "skinsynth.data.sources.imagefolder:read_imagefolder",
    "dermamnist": "skinsynth.data.sources.dermamnist:read_dermamnist",
    "isic2018_test": "skinsynth.data.sources.isic2018_test:read_isic2018_test",
    "toy": "skinsynth.data.sources.toy:read_toy",
}


def read_source(name: str, root: str | Path, **options: Any) -> LesionRecords:
    """Read the dataset ``name`` from ``root``; ``options`` go to that format's reader."""
    if name not in READERS:
        raise ConfigError(f"unknown dataset {name!r}; choose one of {', '.join(READERS)}")
    module_name, function_name = READERS[name].split(":")
    reader = getattr(importlib.import_module(module_name), function_name)
    return reader(root, **options)
