from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skinsynth.classes import HAM10000
from skinsynth.data.synthetic import MANIFEST, SyntheticDataset, write_manifest
from skinsynth.errors import DataError


def make_synthetic_dir(root: Path, codes: list[str], generator: str = "gan", size: int = 16) -> Path:
    """A materialized synthetic folder: PNGs + manifest.csv (as the materialization callback writes it)."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, code in enumerate(codes):
        name = f"{code}/{i:05d}.png"
        (root / code).mkdir(exist_ok=True)
        pixels = np.random.default_rng(i).integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / name)
        rows.append(
            {"path": name, "label": HAM10000.index(code), "code": code, "generator": generator, "seed": 1000 + i}
        )
    write_manifest(pd.DataFrame(rows), root)
    return root


def test_manifest_round_trip_marks_images_synthetic(tmp_path: Path) -> None:
    folder = make_synthetic_dir(tmp_path / "gan", ["mel", "df", "df"])
    dataset = SyntheticDataset(folder, HAM10000)
    frame = dataset.records.frame
    assert len(dataset) == 3 and frame["is_synthetic"].all()
    assert frame["code"].tolist() == ["mel", "df", "df"]
    assert frame["label"].tolist() == [4, 3, 3]
    assert set(frame["source"]) == {"synthetic/gan"} and dataset.generators == ["gan"]
    assert all(Path(p).is_file() for p in frame["path"])
    assert frame["seed"].tolist() == ["1000", "1001", "1002"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("path,label,code,generator,seed\n", "lists no images"),
        ("path,label\nx.png,1\n", r"missing column\(s\) \['code', 'generator', 'seed'\]"),
    ],
)
def test_bad_manifests(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / MANIFEST).write_text(content)
    with pytest.raises(DataError, match=message):
        SyntheticDataset(tmp_path, HAM10000)


def test_manifest_pointing_to_missing_files(tmp_path: Path) -> None:
    folder = make_synthetic_dir(tmp_path / "s", ["mel", "nv"])
    (folder / "nv" / "00001.png").unlink()
    with pytest.raises(DataError, match=r"lists 1 image\(s\) that do not exist: .*00001.png"):
        SyntheticDataset(folder, HAM10000)


def test_manifest_with_unknown_class_or_missing_folder(tmp_path: Path) -> None:
    folder = make_synthetic_dir(tmp_path / "s", ["mel"])
    manifest = pd.read_csv(folder / MANIFEST)
    manifest.loc[0, "code"] = "scc"
    manifest.to_csv(folder / MANIFEST, index=False)
    with pytest.raises(DataError, match=r"class code\(s\) \['scc'\]"):
        SyntheticDataset(folder, HAM10000)
    with pytest.raises(DataError, match="does not exist"):
        SyntheticDataset(tmp_path / "nope", HAM10000)
