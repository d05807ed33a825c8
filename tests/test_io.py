from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from skinsynth.io import atomic_write_bytes, atomic_write_json


def test_atomic_write_replaces_whole_file_with_normal_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.json"
    atomic_write_json({"x": 1}, target)
    atomic_write_json({"x": 2}, target)
    assert target.read_text().strip().endswith("}") and '"x": 2' in target.read_text()
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in target.parent.iterdir()] == ["a.json"]  # no temporary file left


def test_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "b.bin"
    atomic_write_bytes(b"old", target)
    with pytest.raises(TypeError):
        atomic_write_bytes("not bytes", target)  # type: ignore[arg-type]
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["b.bin"]
