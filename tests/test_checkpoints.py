"""Checkpoints are read safely: damaged or malicious files give a named error and never run code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from skinsynth.checkpoints import load_checkpoint
from skinsynth.errors import DataError


class Payload:
    """Pickles to a call of os.system: loading it without weights_only would create a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_good_checkpoint_loads(tmp_path: Path) -> None:
    torch.save({"state_dict": {"w": torch.ones(2)}, "epoch": 3}, tmp_path / "ok.ckpt")
    assert load_checkpoint(tmp_path / "ok.ckpt")["epoch"] == 3


@pytest.mark.parametrize("damage", ["truncated", "random", "empty"])
def test_damaged_files_name_the_file_and_the_fix(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "bad.ckpt"
    torch.save({"state_dict": {"w": torch.ones(1000)}}, path)
    data = path.read_bytes()
    content = {"truncated": data[: len(data) // 2], "random": os.urandom(256), "empty": b""}[damage]
    path.write_bytes(content)
    with pytest.raises(DataError, match="bad.ckpt.*cannot be read safely.*Delete it and re-run") as raised:
        load_checkpoint(path)
    assert "weights_only=False" not in str(raised.value)


def test_a_malicious_pickle_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "extra": Payload(marker)}, path)
    with pytest.raises(DataError, match="evil.ckpt.*cannot be read safely") as raised:
        load_checkpoint(path)
    assert not marker.exists() and "weights_only=False" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_missing_and_non_dict_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.ckpt")
    torch.save([1, 2], tmp_path / "list.ckpt")
    with pytest.raises(DataError, match="holds a list, not a checkpoint"):
        load_checkpoint(tmp_path / "list.ckpt")
