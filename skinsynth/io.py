"""Small file helpers: write-then-rename so that a crash never leaves a half-written file behind."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(data: bytes, path: str | Path) -> Path:
    """Write ``data`` to a temporary file next to ``path`` and rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the permissions open() would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(text: str, path: str | Path) -> Path:
    """Write ``text`` (UTF-8) atomically."""
    return atomic_write_bytes(text.encode("utf-8"), path)


def atomic_write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as CSV (no index) atomically."""
    return atomic_write_text(frame.to_csv(index=False), path)


def atomic_write_json(data: Any, path: str | Path) -> Path:
    """Write ``data`` as indented JSON atomically."""
    return atomic_write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", path)
