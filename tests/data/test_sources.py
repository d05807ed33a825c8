"""Readers for each on-disk dataset format: happy paths on tiny fixtures, and a DataError for each bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from skinsynth.classes import BINARY, HAM10000, ISIC2019
from skinsynth.data.images import ImageReader, split_reference
from skinsynth.data.records import COLUMNS, LesionRecords
from skinsynth.data.sources import read_source
from skinsynth.data.sources.dermamnist import LABEL_CODES, read_dermamnist
from skinsynth.data.sources.ham10000 import read_ham10000
from skinsynth.data.sources.imagefolder import read_imagefolder
from skinsynth.data.sources.isic2018_test import read_isic2018_test
from skinsynth.data.sources.isic2019 import read_isic2019
from skinsynth.data.sources.isic2024 import read_isic2024
from skinsynth.errors import ConfigError, DataError


# -- helpers ----------------------------------------------------------------------------------------------------------
def error_text(call: Callable[[], object], error: type[Exception] = DataError) -> str:
    """Run ``call``, expect ``error``, and return its message."""
    with pytest.raises(error) as info:
        call()
    return str(info.value)


def edit_csv(path: Path, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """Rewrite the CSV at ``path`` through ``change`` (cells kept as text)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(frame).to_csv(path, index=False)


def assert_readable(records: LesionRecords) -> None:
    """Every record's image decodes through ImageReader to an (8, 8, 3) uint8 array."""
    reader = ImageReader()
    try:
        for path in records.frame["path"]:
            image = reader.read(path)
            assert image.shape == (8, 8, 3)
            assert image.dtype == np.uint8
    finally:
        reader.close()


def by_id(records: LesionRecords) -> pd.DataFrame:
    return records.frame.set_index("image_id")


# -- HAM10000 ---------------------------------------------------------------------------------------------------------
def test_ham10000_official_two_part_layout(ham10000_root: Path) -> None:
    records = read_ham10000(ham10000_root)
    frame = by_id(records)
    assert len(records) == 4
    assert list(records.frame.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert records.vocabulary is HAM10000
    assert frame.loc["ISIC_0027419", "code"] == "bkl"
    assert frame.loc["ISIC_0026769", "label"] == HAM10000.index("mel")
    # two images of one lesion, one in each part: one group of two rows
    assert records.frame.groupby("group").size()["HAM_0000118"] == 2
    assert "HAM10000_images_part_1" in frame.loc["ISIC_0027419", "path"]
    assert "HAM10000_images_part_2" in frame.loc["ISIC_0031633", "path"]
    assert set(records.frame["source"]) == {"ham10000"}
    assert frame.loc["ISIC_0031200", "localization"] == "back"
    assert_readable(records)


def test_ham10000_missing_columns_are_named(ham10000_root: Path) -> None:
    edit_csv(ham10000_root / "HAM10000_metadata.csv", lambda f: f.drop(columns=["dx", "lesion_id"]))
    message = error_text(lambda: read_ham10000(ham10000_root))
    assert "HAM10000_metadata.csv" in message
    assert "'lesion_id'" in message and "'dx'" in message


def test_ham10000_missing_image_is_named(ham10000_root: Path) -> None:
    (ham10000_root / "HAM10000_images_part_2" / "ISIC_0031633.jpg").unlink()
    message = error_text(lambda: read_ham10000(ham10000_root))
    assert "ISIC_0031633" in message and "HAM10000_metadata.csv" in message


def test_ham10000_missing_root_and_metadata(tmp_path: Path) -> None:
    assert "nowhere" in error_text(lambda: read_ham10000(tmp_path / "nowhere"))
    tmp_path.joinpath("empty").mkdir()
    assert "HAM10000_metadata.csv" in error_text(lambda: read_ham10000(tmp_path / "empty"))


# -- ISIC 2019 --------------------------------------------------------------------------------------------------------
def test_isic2019_reads_one_hot_ground_truth_and_metadata(isic2019_root: Path) -> None:
    records = read_isic2019(isic2019_root)
    frame = by_id(records)
    assert len(records) == 10
    assert records.vocabulary is ISIC2019
    assert frame.loc["ISIC_0000002", "code"] == "akiec"  # AK
    assert frame.loc["ISIC_0000003", "code"] == "scc"
    assert frame.loc["ISIC_0000003", "label"] == ISIC2019.index("scc")
    assert records.class_counts().to_dict() == {
        "akiec": 1,
        "bcc": 1,
        "bkl": 1,
        "df": 1,
        "mel": 1,
        "nv": 3,
        "scc": 1,
        "vasc": 1,
    }
    # lesion_id when the metadata has one, else the image id (blank lesion_id or no metadata row)
    assert frame.loc["ISIC_0000000", "group"] == frame.loc["ISIC_0000008", "group"] == "HAM_0000118"
    assert frame.loc["ISIC_0000002", "group"] == "ISIC_0000002"
    assert frame.loc["ISIC_0000009_downsampled", "group"] == "ISIC_0000009_downsampled"
    for column in ("age_approx", "anatom_site_general", "lesion_id", "sex"):
        assert column in records.frame.columns
    assert frame.loc["ISIC_0000001", "sex"] == "female"
    assert frame.loc["ISIC_0000009_downsampled", "sex"] == ""
    assert_readable(records)


def test_isic2019_without_metadata_groups_by_image(isic2019_root: Path) -> None:
    (isic2019_root / "ISIC_2019_Training_Metadata.csv").unlink()
    records = read_isic2019(isic2019_root)
    assert (records.frame["group"] == records.frame["image_id"]).all()
    assert "lesion_id" not in records.frame.columns


def test_isic2019_drops_unk_rows_with_a_warning(isic2019_root: Path) -> None:
    truth = isic2019_root / "ISIC_2019_Training_GroundTruth.csv"
    unk = {"image": "ISIC_0099999", **{c: "0.0" for c in ("MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC")}}
    edit_csv(truth, lambda f: pd.concat([f, pd.DataFrame([{**unk, "UNK": "1.0"}])], ignore_index=True))
    with pytest.warns(UserWarning, match="dropped 1 image"):
        records = read_isic2019(isic2019_root)  # the UNK image has no file: it is dropped before images are located
    assert len(records) == 10
    assert "ISIC_0099999" not in set(records.frame["image_id"])


def test_isic2019_rows_that_are_not_one_hot_are_named(isic2019_root: Path) -> None:
    def break_rows(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame["image"] == "ISIC_0000001", "NV"] = "1.0"  # MEL and NV
        frame.loc[frame["image"] == "ISIC_0000004", "BCC"] = "0.0"  # nothing set
        frame.loc[frame["image"] == "ISIC_0000005", "DF"] = ""  # a blank cell
        return frame

    edit_csv(isic2019_root / "ISIC_2019_Training_GroundTruth.csv", break_rows)
    message = error_text(lambda: read_isic2019(isic2019_root))
    assert "ISIC_2019_Training_GroundTruth.csv" in message and "not exactly one-hot" in message
    assert "ISIC_0000001 (MEL=1.0, NV=1.0)" in message
    assert "ISIC_0000004 (no class set)" in message
    assert "ISIC_0000005" in message and "DF=<blank>" in message
    assert "ISIC_0000000" not in message


def test_isic2019_missing_column_file_and_image(isic2019_root: Path) -> None:
    truth = isic2019_root / "ISIC_2019_Training_GroundTruth.csv"
    (isic2019_root / "ISIC_2019_Training_Input" / "ISIC_0000006.jpg").unlink()
    message = error_text(lambda: read_isic2019(isic2019_root))
    assert "ISIC_0000006" in message and "ISIC_2019_Training_GroundTruth.csv" in message

    edit_csv(truth, lambda f: f.drop(columns=["SCC"]))
    message = error_text(lambda: read_isic2019(isic2019_root))
    assert "'SCC'" in message and "ISIC_2019_Training_GroundTruth.csv" in message

    truth.unlink()
    message = error_text(lambda: read_isic2019(isic2019_root))
    assert "ISIC_2019_Training_GroundTruth.csv" in message and str(isic2019_root) in message


def test_isic2019_metadata_without_image_column(isic2019_root: Path) -> None:
    edit_csv(isic2019_root / "ISIC_2019_Training_Metadata.csv", lambda f: f.rename(columns={"image": "isic_id"}))
    message = error_text(lambda: read_isic2019(isic2019_root))
    assert "ISIC_2019_Training_Metadata.csv" in message and "'image'" in message


def test_missing_root_is_named_by_every_reader(tmp_path: Path) -> None:
    missing = tmp_path / "not-there"
    for read in (read_isic2019, read_isic2024, read_imagefolder, read_dermamnist, read_isic2018_test):
        assert "not-there" in error_text(lambda read=read: read(missing))


# -- ISIC 2024 --------------------------------------------------------------------------------------------------------
def check_isic2024(records: LesionRecords) -> None:
    frame = by_id(records)
    assert len(records) == 6
    assert records.vocabulary is BINARY
    assert records.class_counts().to_dict() == {"benign": 4, "malignant": 2}
    assert frame.loc["ISIC_0015864", "code"] == "malignant" and frame.loc["ISIC_0015864", "label"] == 1
    assert frame.loc["ISIC_0015670", "code"] == "benign" and frame.loc["ISIC_0015670", "label"] == 0
    assert records.frame.groupby("group").size().to_dict() == {"IP_1235828": 3, "IP_6724798": 1, "IP_8170065": 2}
    for column in ("age_approx", "sex", "anatom_site_general", "iddx_1"):
        assert column in records.frame.columns
    assert "tbp_lv_A" not in records.frame.columns
    assert_readable(records)


def test_isic2024_from_folder(isic2024_folder_root: Path) -> None:
    records = read_isic2024(isic2024_folder_root)
    check_isic2024(records)
    assert all(Path(p).is_file() for p in records.frame["path"])
    assert "train-image/image" in Path(records.frame["path"][0]).as_posix()


def test_isic2024_from_hdf5(isic2024_hdf5_root: Path) -> None:
    records = read_isic2024(isic2024_hdf5_root)
    check_isic2024(records)
    hdf5 = (isic2024_hdf5_root / "train-image.hdf5").resolve()
    for image_id, path in zip(records.frame["image_id"], records.frame["path"], strict=True):
        assert path == f"{hdf5}::{image_id}"
        assert Path(split_reference(path)[0]).is_absolute()


@pytest.mark.parametrize("encoding", ["void", "uint8"])
def test_isic2024_hdf5_other_byte_layouts_decode(
    isic2024_hdf5_root: Path, make_isic2024_hdf5: Callable[..., Path], encoding: str
) -> None:
    make_isic2024_hdf5(isic2024_hdf5_root / "train-image.hdf5", encoding=encoding)
    assert_readable(read_isic2024(isic2024_hdf5_root, image_source="hdf5"))


def test_isic2024_auto_prefers_a_complete_folder(
    isic2024_folder_root: Path, make_isic2024_hdf5: Callable[..., Path]
) -> None:
    make_isic2024_hdf5(isic2024_folder_root / "train-image.hdf5")
    auto = read_isic2024(isic2024_folder_root)
    assert not auto.frame["path"].str.contains("::").any()
    forced = read_isic2024(isic2024_folder_root, image_source="hdf5")
    assert forced.frame["path"].str.contains("train-image.hdf5::").all()
    # one file gone from the folder: auto falls back to the complete hdf5, folder mode names the missing image
    (isic2024_folder_root / "train-image" / "image" / "ISIC_0024200.jpg").unlink()
    assert read_isic2024(isic2024_folder_root).frame["path"].str.contains("::").all()
    message = error_text(lambda: read_isic2024(isic2024_folder_root, image_source="folder"))
    assert "ISIC_0024200" in message and "train-metadata.csv" in message


def test_isic2024_ids_missing_from_hdf5_are_named(
    isic2024_hdf5_root: Path, make_isic2024_hdf5: Callable[..., Path]
) -> None:
    make_isic2024_hdf5(isic2024_hdf5_root / "train-image.hdf5", ids=["ISIC_0015670", "ISIC_0015845"])
    message = error_text(lambda: read_isic2024(isic2024_hdf5_root))
    assert "train-image.hdf5" in message
    assert "ISIC_0015864" in message and "ISIC_0035502" in message and "ISIC_0015670" not in message


def test_isic2024_no_images_at_all(isic2024_hdf5_root: Path) -> None:
    (isic2024_hdf5_root / "train-image.hdf5").unlink()
    message = error_text(lambda: read_isic2024(isic2024_hdf5_root))
    assert "train-image.hdf5" in message and "<isic_id>.jpg" in message
    message = error_text(lambda: read_isic2024(isic2024_hdf5_root, image_source="hdf5"))
    assert "train-image.hdf5" in message and "image_source='folder'" in message
    message = error_text(lambda: read_isic2024(isic2024_hdf5_root, image_source="folder"))
    assert "ISIC_0015670" in message


def test_isic2024_bad_metadata(isic2024_folder_root: Path) -> None:
    metadata = isic2024_folder_root / "train-metadata.csv"
    edit_csv(metadata, lambda f: f.assign(target=["0", "1", "2", "0", "", "1"]))
    message = error_text(lambda: read_isic2024(isic2024_folder_root))
    assert "train-metadata.csv" in message and "ISIC_0015864 (target='2')" in message and "ISIC_0024200" in message

    edit_csv(metadata, lambda f: f.drop(columns=["patient_id"]))
    message = error_text(lambda: read_isic2024(isic2024_folder_root))
    assert "train-metadata.csv" in message and "'patient_id'" in message

    metadata.unlink()
    assert "train-metadata.csv" in error_text(lambda: read_isic2024(isic2024_folder_root))


def test_isic2024_unknown_image_source(isic2024_folder_root: Path) -> None:
    bad_choice: Any = "zip"
    message = error_text(lambda: read_isic2024(isic2024_folder_root, image_source=bad_choice), ConfigError)
    assert "'zip'" in message and "hdf5" in message


# -- image folder -----------------------------------------------------------------------------------------------------
def test_imagefolder_reads_class_folders(imagefolder_root: Path) -> None:
    records = read_imagefolder(imagefolder_root)
    assert records.vocabulary is HAM10000
    assert sorted(records.frame["image_id"]) == ["NV/d", "NV/e", "bcc/f", "mel/a", "mel/b", "mel/clinic2/c"]
    frame = by_id(records)
    assert frame.loc["NV/d", "code"] == "nv" and frame.loc["NV/d", "label"] == HAM10000.index("nv")
    assert frame.loc["mel/clinic2/c", "code"] == "mel"
    assert (records.frame["group"] == records.frame["image_id"]).all()
    assert records.class_counts()[["mel", "nv", "bcc", "akiec"]].tolist() == [3, 2, 1, 0]
    assert_readable(records)


def test_imagefolder_other_vocabulary(tmp_path: Path, make_image: Callable[..., Path]) -> None:
    make_image(tmp_path / "benign" / "x.png", 0)
    make_image(tmp_path / "Malignant" / "y.jpg", 1)
    records = read_imagefolder(tmp_path, vocabulary="binary")
    assert records.vocabulary is BINARY
    assert dict(zip(records.frame["image_id"], records.frame["label"], strict=True)) == {
        "benign/x": 0,
        "Malignant/y": 1,
    }


def test_imagefolder_unknown_folder_names_it_and_the_codes(
    imagefolder_root: Path, make_image: Callable[..., Path]
) -> None:
    make_image(imagefolder_root / "melanoma" / "z.jpg")
    message = error_text(lambda: read_imagefolder(imagefolder_root))
    assert "'melanoma'" in message and "akiec, bcc, bkl, df, mel, nv, vasc" in message


def test_imagefolder_bad_inputs(tmp_path: Path, make_image: Callable[..., Path]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no class sub-folders" in error_text(lambda: read_imagefolder(empty))

    (empty / "mel").mkdir()
    assert "no images" in error_text(lambda: read_imagefolder(empty))

    make_image(empty / "mel" / "a.jpg")
    make_image(empty / "mel" / "a.png")
    message = error_text(lambda: read_imagefolder(empty))
    assert "a.jpg" in message and "a.png" in message

    make_image(tmp_path / "flat" / "loose.jpg")
    assert "loose.jpg" in error_text(lambda: read_imagefolder(tmp_path / "flat"))

    message = error_text(lambda: read_imagefolder(empty, vocabulary="nope"), ConfigError)
    assert "'nope'" in message and "ham10000" in message


# -- DermaMNIST -------------------------------------------------------------------------------------------------------
def test_dermamnist_label_order_matches_ham10000() -> None:
    assert HAM10000.codes == LABEL_CODES


def test_dermamnist_reads_all_official_splits(dermamnist_root: Path, dermamnist_arrays: dict[str, np.ndarray]) -> None:
    records = read_dermamnist(dermamnist_root)
    frame = records.frame
    assert len(records) == 14
    assert records.vocabulary is HAM10000
    assert frame["official_split"].value_counts().to_dict() == {"train": 7, "test": 4, "val": 3}
    assert frame["image_id"].iloc[0] == "dermamnist_train_00000"
    assert (frame["group"] == frame["image_id"]).all()
    npz = (dermamnist_root / "dermamnist.npz").resolve()
    row = by_id(records).loc["dermamnist_val_00002"]
    assert row["path"] == f"{npz}::val_images/2"
    assert row["label"] == 2 and row["code"] == "bkl"
    assert by_id(records).loc["dermamnist_train_00004", "code"] == "mel"
    reader = ImageReader()
    try:
        for path, split, image_id in zip(frame["path"], frame["official_split"], frame["image_id"], strict=True):
            index = int(image_id.rsplit("_", 1)[1])
            np.testing.assert_array_equal(reader.read(path), dermamnist_arrays[f"{split}_images"][index])
    finally:
        reader.close()


def test_dermamnist_size_choice(dermamnist_root: Path, dermamnist_arrays: dict[str, np.ndarray]) -> None:
    np.savez(dermamnist_root / "dermamnist_64.npz", **dermamnist_arrays)
    message = error_text(lambda: read_dermamnist(dermamnist_root))
    assert "dermamnist.npz" in message and "dermamnist_64.npz" in message and "size=" in message
    assert read_dermamnist(dermamnist_root, size=64).frame["path"].str.contains("dermamnist_64.npz::").all()
    assert read_dermamnist(dermamnist_root, size=28).frame["path"].str.contains("dermamnist.npz::").all()
    message = error_text(lambda: read_dermamnist(dermamnist_root, size=224))
    assert "dermamnist_224.npz" in message and "dermamnist_64.npz" in message
    assert "64" in error_text(lambda: read_dermamnist(dermamnist_root, size=32), ConfigError)


def test_dermamnist_bad_files(dermamnist_root: Path, dermamnist_arrays: dict[str, np.ndarray]) -> None:
    npz = dermamnist_root / "dermamnist.npz"
    np.savez(npz, **{k: v for k, v in dermamnist_arrays.items() if k != "val_labels"})
    message = error_text(lambda: read_dermamnist(dermamnist_root))
    assert "dermamnist.npz" in message and "'val_labels'" in message

    labels = dermamnist_arrays["test_labels"].copy()
    labels[1] = 9
    np.savez(npz, **{**dermamnist_arrays, "test_labels": labels})
    message = error_text(lambda: read_dermamnist(dermamnist_root))
    assert "row 1 (label 9)" in message and "test" in message

    np.savez(npz, **{**dermamnist_arrays, "train_labels": dermamnist_arrays["train_labels"][:3]})
    message = error_text(lambda: read_dermamnist(dermamnist_root))
    assert "train_images" in message and "(7, 8, 8, 3)" in message

    npz.write_bytes(b"not a zip")
    assert "dermamnist.npz" in error_text(lambda: read_dermamnist(dermamnist_root))

    npz.unlink()
    assert "dermamnist_64.npz" in error_text(lambda: read_dermamnist(dermamnist_root))


# -- ISIC 2018 Task 3 test --------------------------------------------------------------------------------------------
def test_isic2018_test_reads_one_hot_ground_truth(isic2018_test_root: Path) -> None:
    records = read_isic2018_test(isic2018_test_root)
    frame = by_id(records)
    assert len(records) == 8
    assert records.vocabulary is HAM10000
    assert records.class_counts().to_dict() == {"akiec": 1, "bcc": 1, "bkl": 1, "df": 1, "mel": 1, "nv": 2, "vasc": 1}
    assert frame.loc["ISIC_0034528", "code"] == "akiec"
    assert (records.frame["group"] == records.frame["image_id"]).all()
    assert set(records.frame["source"]) == {"isic2018_test"}
    assert_readable(records)


def test_isic2018_test_groups_by_lesion_id_when_present(isic2018_test_root: Path) -> None:
    truth = isic2018_test_root / "ISIC2018_Task3_Test_GroundTruth" / "ISIC2018_Task3_Test_GroundTruth.csv"
    edit_csv(truth, lambda f: f.assign(lesion_id=["HAM_0000001", "HAM_0000001", "", "", "", "", "", ""]))
    records = read_isic2018_test(isic2018_test_root)
    assert records.frame.groupby("group").size()["HAM_0000001"] == 2
    assert by_id(records).loc["ISIC_0034526", "group"] == "ISIC_0034526"


def test_isic2018_test_ham10000_style_ground_truth(isic2018_test_root: Path) -> None:
    truth = isic2018_test_root / "ISIC2018_Task3_Test_GroundTruth" / "ISIC2018_Task3_Test_GroundTruth.csv"
    one_hot = pd.read_csv(truth, dtype=str)
    dx = one_hot[["MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"]].astype(float).idxmax(axis=1).str.lower()
    pd.DataFrame(
        {"lesion_id": [f"HAM_{i:07d}" for i in range(8)], "image_id": one_hot["image"], "dx": dx, "dx_type": "histo"}
    ).to_csv(truth, index=False)
    records = read_isic2018_test(isic2018_test_root)
    assert by_id(records).loc["ISIC_0034528", "code"] == "akiec"
    assert by_id(records).loc["ISIC_0034527", "group"] == "HAM_0000003"
    assert "dx_type" in records.frame.columns


def test_isic2018_test_bad_inputs(isic2018_test_root: Path) -> None:
    truth = isic2018_test_root / "ISIC2018_Task3_Test_GroundTruth" / "ISIC2018_Task3_Test_GroundTruth.csv"
    (isic2018_test_root / "ISIC2018_Task3_Test_Input" / "ISIC_0034530.jpg").unlink()
    message = error_text(lambda: read_isic2018_test(isic2018_test_root))
    assert "ISIC_0034530" in message and "ISIC2018_Task3_Test_GroundTruth.csv" in message

    edit_csv(truth, lambda f: f.assign(MEL="1.0"))  # every row now has two classes (except the MEL row)
    message = error_text(lambda: read_isic2018_test(isic2018_test_root))
    assert "not exactly one-hot" in message and "ISIC_0034524 (MEL=1.0, NV=1.0)" in message

    edit_csv(truth, lambda f: f.drop(columns=["VASC"]))
    message = error_text(lambda: read_isic2018_test(isic2018_test_root))
    assert "'VASC'" in message and "ISIC2018_Task3_Test_GroundTruth.csv" in message

    truth.unlink()
    assert "ISIC2018_Task3_Test_GroundTruth.csv" in error_text(lambda: read_isic2018_test(isic2018_test_root))


# -- dispatch ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "fixture", "count"),
    [
        ("ham10000", "ham10000_root", 4),
        ("isic2019", "isic2019_root", 10),
        ("isic2024", "isic2024_hdf5_root", 6),
        ("imagefolder", "imagefolder_root", 6),
        ("dermamnist", "dermamnist_root", 14),
        ("isic2018_test", "isic2018_test_root", 8),
    ],
)
def test_read_source_dispatches_by_name(name: str, fixture: str, count: int, request: pytest.FixtureRequest) -> None:
    records = read_source(name, request.getfixturevalue(fixture))
    assert len(records) == count
    assert set(records.frame["source"]) == {name}
