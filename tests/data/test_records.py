from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from skinsynth.classes import HAM10000, ISIC2019
from skinsynth.data.records import COLUMNS, LesionRecords
from skinsynth.errors import DataError


def _records(codes: list[str], ids: list[str] | None = None) -> LesionRecords:
    ids = ids or [f"img{i}" for i in range(len(codes))]
    return LesionRecords.build(
        image_ids=ids, paths=[f"/x/{i}.jpg" for i in ids], codes=codes, vocabulary=HAM10000, source="t"
    )


def test_build_fills_labels_groups_and_columns() -> None:
    records = _records(["mel", "nv", "vasc"])
    assert tuple(records.frame.columns) == COLUMNS
    assert records.frame["label"].tolist() == [4, 5, 6]
    assert records.frame["group"].tolist() == ["img0", "img1", "img2"]  # image id when no group is known
    assert records.class_counts().to_dict() == {"akiec": 0, "bcc": 0, "bkl": 0, "df": 0, "mel": 1, "nv": 1, "vasc": 1}


def test_unknown_class_code_names_rows_and_known_codes() -> None:
    with pytest.raises(DataError, match=r"unknown class code\(s\) \['scc'\] in 1 row\(s\): img1 \(scc\).*akiec, bcc"):
        _records(["mel", "scc"])


def test_duplicate_image_ids_are_named() -> None:
    with pytest.raises(DataError, match="duplicate image ids.*img7"):
        _records(["mel", "nv"], ids=["img7", "img7"])


def test_label_code_mismatch_is_rejected() -> None:
    frame = _records(["mel", "nv"]).frame.copy()
    frame.loc[0, "label"] = 0
    with pytest.raises(DataError, match="disagree in 1 row.*img0"):
        LesionRecords(frame, HAM10000)


def test_missing_column_is_named() -> None:
    frame = _records(["mel"]).frame.drop(columns=["group"])
    with pytest.raises(DataError, match=r"missing column\(s\) \['group'\]"):
        LesionRecords(frame, HAM10000)


def test_check_files_lists_missing_images(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    records = LesionRecords.build(
        image_ids=["a", "b"],
        paths=[tmp_path / "a.jpg", tmp_path / "b.jpg"],
        codes=["mel", "nv"],
        vocabulary=HAM10000,
        source="t",
    )
    with pytest.raises(DataError, match=r"1 image\(s\) listed in the metadata are missing on disk: b ->"):
        records.check_files()


def test_concat_refuses_mixed_vocabularies() -> None:
    other = LesionRecords.build(image_ids=["z"], paths=["/z.jpg"], codes=["scc"], vocabulary=ISIC2019, source="t")
    with pytest.raises(DataError, match="vocabularies 'ham10000' and 'isic2019'"):
        LesionRecords.concat([_records(["mel"]), other])
    both = LesionRecords.concat([_records(["mel"]), _records(["nv"], ids=["other"])])
    assert len(both) == 2 and isinstance(both.frame, pd.DataFrame)


def test_vocabularies() -> None:
    assert HAM10000.codes == ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
    assert [c.code for c in HAM10000.classes if c.malignant] == ["akiec", "bcc", "mel"]
    assert "scc" in ISIC2019.codes and "unk" not in ISIC2019.codes
    with pytest.raises(KeyError, match="unknown class code 'xyz'"):
        HAM10000.index("xyz")
