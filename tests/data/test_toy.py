from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skinsynth.classes import HAM10000
from skinsynth.data.sources import read_source
from skinsynth.data.sources.ham10000 import METADATA_FILE, read_ham10000
from skinsynth.data.sources.toy import (
    HAM10000_COUNTS,
    make_toy_dataset,
    read_toy,
    render_toy_image,
    toy_class_counts,
)
from skinsynth.data.sources.toy import reader as toy_reader
from skinsynth.errors import ConfigError, DataError

TINY = {"total": 70, "min_per_class": 5, "image_size": 16, "seed": 0}


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_toy_dataset(tmp_path_factory.mktemp("toy") / "set", **TINY)


def folder_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_written_in_ham10000_format_and_read_back(tiny_set: Path) -> None:
    metadata = pd.read_csv(tiny_set / METADATA_FILE, dtype=str)
    assert list(metadata.columns) == ["lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization"]
    assert metadata["image_id"].str.fullmatch(r"TOY_\d{7}").all()
    assert metadata["lesion_id"].str.fullmatch(r"TOYL_\d{7}").all()
    assert (metadata["dx_type"] == "toy").all()
    assert metadata["age"].astype(float).between(0, 100).all()
    assert set(metadata["sex"]) <= {"male", "female", "unknown"}
    assert all((tiny_set / "images" / f"{i}.jpg").is_file() for i in metadata["image_id"])

    records = read_ham10000(tiny_set, source="toy")
    assert len(records) == TINY["total"]
    assert (records.frame["source"] == "toy").all()
    assert (records.frame["group"] == records.frame["lesion_id"]).all()
    records.check_files()


def test_counts_follow_the_request(tiny_set: Path) -> None:
    records = read_ham10000(tiny_set)
    assert records.class_counts().to_dict() == toy_class_counts(70, 5)
    assert min(records.class_counts()) >= 5


def test_default_counts_follow_ham10000_imbalance() -> None:
    counts = toy_class_counts(10015, 1)
    assert counts == {code: HAM10000_COUNTS[code] for code in HAM10000.codes}
    counts = toy_class_counts(2000, 60)
    assert sum(counts.values()) == 2000
    assert max(counts, key=counts.__getitem__) == "nv"
    assert min(counts.values()) == 60
    assert counts["nv"] > counts["mel"] >= counts["bkl"] > counts["bcc"] > counts["akiec"] > counts["vasc"]
    counts = toy_class_counts(20000, 60)
    assert min(counts, key=counts.__getitem__) == "df"
    assert sum(counts.values()) == 20000
    with pytest.raises(ConfigError, match="too small"):
        toy_class_counts(100, 60)


def test_some_lesions_have_two_images(tiny_set: Path) -> None:
    per_lesion = read_ham10000(tiny_set).frame.groupby("group").size()
    assert (per_lesion == 2).any()
    assert per_lesion.max() <= 2
    one_per_lesion = make_toy_dataset(
        tiny_set.parent / "single", **(TINY | {"total": 14, "min_per_class": 2}), max_images_per_lesion=1
    )
    assert read_ham10000(one_per_lesion).frame["group"].is_unique


def test_second_view_is_close_to_the_first() -> None:
    first = render_toy_image("mel", lesion_index=3, image_index=10, view=0).astype(float)
    second = render_toy_image("mel", lesion_index=3, image_index=11, view=1).astype(float)
    other = render_toy_image("mel", lesion_index=4, image_index=12, view=0).astype(float)
    assert not np.array_equal(first, second)
    assert np.abs(first - second).mean() < np.abs(first - other).mean()


def test_deterministic_for_a_seed(tmp_path: Path, tiny_set: Path) -> None:
    again = make_toy_dataset(tmp_path / "again", **TINY)
    assert folder_bytes(again) == folder_bytes(tiny_set)
    other = make_toy_dataset(tmp_path / "other", **(TINY | {"seed": 1}))
    first, second = folder_bytes(tiny_set), folder_bytes(other)
    assert first[METADATA_FILE] != second[METADATA_FILE]
    shared = set(first) & set(second) - {METADATA_FILE, "toy_config.json"}
    assert shared and all(first[name] != second[name] for name in shared)


def test_image_size_and_content(tiny_set: Path) -> None:
    for path in sorted((tiny_set / "images").glob("*.jpg"))[:10]:
        with Image.open(path) as image:
            assert image.size == (16, 16)
            assert image.mode == "RGB"
            pixels = np.asarray(image)
        assert pixels.std() > 2
    for size in (8, 64, 100):
        assert render_toy_image("bcc", image_size=size).shape == (size, size, 3)


def test_recall_is_a_no_op_and_conflicts_raise(tiny_set: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in tiny_set.rglob("*")}
    records = read_toy(tiny_set, **TINY)
    assert {p: p.stat().st_mtime_ns for p in tiny_set.rglob("*")} == before
    assert len(records) == TINY["total"]
    assert json.loads((tiny_set / "toy_config.json").read_text())["seed"] == 0
    with pytest.raises(DataError, match="other arguments.*seed"):
        make_toy_dataset(tiny_set, **(TINY | {"seed": 3}))
    with pytest.raises(DataError, match="image_size"):
        read_toy(tiny_set, **(TINY | {"image_size": 32}))


def test_refuses_a_folder_with_foreign_metadata(tmp_path: Path) -> None:
    (tmp_path / METADATA_FILE).write_text("lesion_id,image_id,dx\nHAM_1,ISIC_1,nv\n")
    with pytest.raises(DataError, match="not made by the toy generator"):
        make_toy_dataset(tmp_path, **TINY)


def test_explicit_counts(tmp_path: Path) -> None:
    records = read_toy(tmp_path / "counts", counts={"mel": 3, "df": 2}, image_size=8)
    assert records.class_counts()[["mel", "df"]].tolist() == [3, 2]
    assert len(records) == 5


@pytest.mark.parametrize(
    ("counts", "message"),
    [({"mel": 3, "melanoma": 2}, "'melanoma'"), ({"scc": 1}, "'scc'"), ({"mel": 0}, "≥ 1"), ({}, "non-empty")],
)
def test_bad_counts_raise(tmp_path: Path, counts: dict[str, int], message: str) -> None:
    with pytest.raises(DataError, match=message):
        make_toy_dataset(tmp_path, counts=counts, image_size=8)
    assert not (tmp_path / METADATA_FILE).exists()


def test_interrupted_generation_leaves_no_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_save = toy_reader._save_image
    saved: list[Path] = []

    def failing_save(pixels: np.ndarray, path: Path) -> None:
        if len(saved) == 5:
            raise KeyboardInterrupt("simulated interruption")
        real_save(pixels, path)
        saved.append(path)

    monkeypatch.setattr(toy_reader, "_save_image", failing_save)
    root = tmp_path / "partial"
    with pytest.raises(KeyboardInterrupt):
        make_toy_dataset(root, **TINY)
    assert len(list((root / "images").iterdir())) == 5  # no temporary files left behind
    assert not (root / METADATA_FILE).exists()
    with pytest.raises(DataError):
        read_ham10000(root)

    monkeypatch.setattr(toy_reader, "_save_image", real_save)
    records = read_toy(root, **TINY)
    assert len(records) == TINY["total"]
    records.check_files()


def test_read_source_dispatches_to_toy(tmp_path: Path) -> None:
    records = read_source("toy", tmp_path / "via", counts={"nv": 2, "vasc": 1}, image_size=8)
    assert len(records) == 3
    assert set(records.frame["source"]) == {"toy"}
