from __future__ import annotations

import pandas as pd
import pytest

from skinsynth.data.records import LesionRecords
from skinsynth.data.splitting import few_shot, predefined, stratified
from skinsynth.errors import DataError
from tests.helpers import grouped_records


def test_few_shot_takes_exactly_n_per_class_without_group_leakage(ham_like_records: LesionRecords) -> None:
    split = few_shot(ham_like_records, 6, val_fraction=0.25, seed=3)
    counts = split.audit()
    assert (counts.loc["train"] == 6).all()
    frame = split.frame
    assert set(frame["split"]) == {"train", "val", "test"}
    # every image is somewhere, and each group lives in exactly one split
    assert len(frame) == len(ham_like_records)
    assert (frame.groupby("group")["split"].nunique() == 1).all()
    # the remainder is divided about 1:3 (groups, not images, are split)
    remainder = counts.loc[["val", "test"]].to_numpy().sum()
    assert abs(counts.loc["val"].sum() / remainder - 0.25) < 0.05
    # every class reaches val and test (stratified)
    assert (counts.loc[["val", "test"]] > 0).all().all()


def test_few_shot_is_deterministic_for_a_seed_and_changes_with_it(ham_like_records: LesionRecords) -> None:
    a = few_shot(ham_like_records, 4, seed=0).frame
    b = few_shot(ham_like_records, 4, seed=0).frame
    c = few_shot(ham_like_records, 4, seed=1).frame
    pd.testing.assert_frame_equal(a, b)
    assert not a["split"].equals(c["split"])


def test_few_shot_never_splits_a_group_even_when_sizes_do_not_fit() -> None:
    # groups of 2 images each: 5 shots cannot be reached without breaking a group
    records = grouped_records({code: 20 for code in ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")})
    with pytest.raises(DataError, match="could be chosen without splitting a group"):
        few_shot(records, 5)


def test_few_shot_too_many_shots_names_the_class(ham_like_records: LesionRecords) -> None:
    with pytest.raises(DataError, match=r"class 'df' has 24 image\(s\) in 12 group\(s\); 30 shots"):
        few_shot(ham_like_records, 30)


def test_stratified_fractions_and_audit(ham_like_records: LesionRecords) -> None:
    split = stratified(ham_like_records, val_fraction=0.2, test_fraction=0.2, seed=0)
    counts = split.audit()
    total = counts.to_numpy().sum()
    assert total == len(ham_like_records)
    for name, expected in (("train", 0.6), ("val", 0.2), ("test", 0.2)):
        assert abs(counts.loc[name].sum() / total - expected) < 0.04
    assert (counts > 0).all().all()


def test_audit_detects_a_group_that_spans_two_splits(ham_like_records: LesionRecords) -> None:
    split = few_shot(ham_like_records, 4, seed=0)
    group = split.frame.loc[split.frame["split"] == "train", "group"].iloc[0]
    rows = split.frame.index[split.frame["group"] == group]
    split.assignment.iloc[rows[0]] = "test"
    with pytest.raises(DataError, match="span more than one split"):
        split.audit()


def test_predefined_with_external_test_set(ham_like_records: LesionRecords) -> None:
    test = grouped_records({"akiec": 4, "bcc": 4, "bkl": 4, "df": 4, "mel": 4, "nv": 4, "vasc": 4}, seed=9)
    test.frame["image_id"] = "ext-" + test.frame["image_id"]
    test.frame["group"] = "ext-" + test.frame["group"]
    split = predefined(ham_like_records, test_records=test, shots=4, val_fraction=0.2, seed=0)
    counts = split.audit()
    assert (counts.loc["train"] == 4).all()
    assert (counts.loc["test"] == 4).all()
    assert set(split.frame.loc[split.frame["split"] == "test", "image_id"]) == set(test.frame["image_id"])


def test_predefined_rejects_images_in_both_sets(ham_like_records: LesionRecords) -> None:
    overlap = ham_like_records.subset(ham_like_records.frame.index < 3)
    with pytest.raises(DataError, match="in both the data and the test set"):
        predefined(ham_like_records, test_records=overlap)


def test_predefined_uses_official_split_column(ham_like_records: LesionRecords) -> None:
    frame = ham_like_records.frame.copy()
    frame["official_split"] = ["test" if i % 5 == 0 else "val" if i % 5 == 1 else "train" for i in range(len(frame))]
    # groups straddle the official split here; keep one official split per group as DermaMNIST has
    frame["group"] = frame["image_id"]
    records = LesionRecords(frame, ham_like_records.vocabulary)
    split = predefined(records)
    assigned = split.frame.set_index("image_id")["split"]
    official = frame.set_index("image_id")["official_split"]
    assert (assigned == official).all()


def test_split_csv_round_trip(tmp_path, ham_like_records: LesionRecords) -> None:
    split = few_shot(ham_like_records, 4, seed=0)
    path = split.to_csv(tmp_path / "split.csv")
    stored = pd.read_csv(path)
    assert list(stored.columns[:4]) == ["image_id", "group", "label", "split"]
    assert split.matches(path)
    assert not few_shot(ham_like_records, 4, seed=1).matches(path)


def test_pool_split_holds_the_training_portion_apart_from_val_and_test(ham_like_records: LesionRecords) -> None:
    split = few_shot(ham_like_records, 6, seed=2, pool=1.0, val_fraction=0.2, test_fraction=0.2)
    counts = split.audit()
    assert list(counts.index) == ["train", "val", "test", "pool"]
    assert (counts.loc["train"] == 6).all()
    frame = split.frame
    assert set(frame["split"]) == {"train", "val", "test", "pool"}  # pool=1: nothing is unused
    groups = frame.groupby("split")["group"].nunique()
    total = frame["group"].nunique()
    assert abs(groups["test"] / total - 0.2) < 0.03 and abs(groups["val"] / total - 0.2) < 0.03
    assert (frame.groupby("group")["split"].nunique() == 1).all()  # no group in two splits, the pool included
    assert len(split.records_for("pool")) == counts.loc["pool"].sum() > 0
    assert split.params["pool"] == 1.0


def test_pool_fraction_takes_part_of_the_portion_and_keeps_val_test(ham_like_records: LesionRecords) -> None:
    full = few_shot(ham_like_records, 6, seed=2, pool=1.0).frame
    half = few_shot(ham_like_records, 6, seed=2, pool=0.5).frame
    for name in ("train", "val", "test"):  # the pool fraction changes only the pool
        assert set(full.loc[full["split"] == name, "image_id"]) == set(half.loc[half["split"] == name, "image_id"])
    pool_full = set(full.loc[full["split"] == "pool", "group"])
    pool_half = set(half.loc[half["split"] == "pool", "group"])
    assert pool_half < pool_full and abs(len(pool_half) / len(pool_full) - 0.5) < 0.05
    assert set(half.loc[half["split"] == "unused", "group"]) == pool_full - pool_half


def test_pool_split_rejects_fractions_that_leave_no_portion(ham_like_records: LesionRecords) -> None:
    with pytest.raises(DataError, match=r"must lie in \(0, 1\]"):
        few_shot(ham_like_records, 6, pool=0.0)
    with pytest.raises(DataError, match="together < 1"):
        few_shot(ham_like_records, 6, pool=1.0, val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(DataError, match="too few for val"):
        few_shot(ham_like_records, 20, pool=1.0, val_fraction=0.45, test_fraction=0.45)


def test_a_stored_split_loads_back_exactly_and_decides_over_the_seed(ham_like_records: LesionRecords, tmp_path) -> None:
    from skinsynth.data.splits import Split

    made = few_shot(ham_like_records, 4, seed=0, pool=1.0, test_fraction=0.3)
    path = made.to_csv(tmp_path / "split.csv")
    loaded = Split.load(path, ham_like_records)
    assert loaded.strategy == "stored" and loaded.params == {"file": str(path)}
    assert loaded.assignment.tolist() == made.assignment.tolist()
    pd.testing.assert_frame_equal(loaded.audit(), made.audit())
    # the file is the authority: move one whole lesion from test to val and the loaded split follows it
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    group = frame.loc[frame["split"] == "test", "group"].iloc[0]
    frame.loc[frame["group"] == group, "split"] = "val"
    frame.to_csv(path, index=False)
    moved = Split.load(path, ham_like_records)
    assert (moved.frame.loc[moved.frame["group"] == group, "split"] == "val").all()
    assert (moved.assignment != made.assignment).sum() == (made.frame["group"] == group).sum() == 2


def test_a_stored_split_that_does_not_describe_the_data_is_refused_by_name(
    ham_like_records: LesionRecords, tmp_path
) -> None:
    from skinsynth.data.splits import Split

    path = few_shot(ham_like_records, 4, seed=0).to_csv(tmp_path / "split.csv")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    cases = {
        "lacks column": frame.drop(columns="label"),
        "unknown split": frame.assign(split=frame["split"].replace({"val": "validation"})),
        "image\\(s\\) of the data not in it": frame.iloc[1:],
        "image\\(s\\) not in the data": pd.concat([frame, frame.iloc[:1].assign(image_id="GHOST")]),
        "another class": frame.assign(label=frame["label"].replace({"df": "vasc"})),
        "twice": pd.concat([frame, frame.iloc[:1]]),
    }
    for message, broken in cases.items():
        broken.to_csv(path, index=False)
        with pytest.raises(DataError, match=f"split file '{path}'.*{message}"):
            Split.load(path, ham_like_records)
    leaking = frame.copy()  # one image of a two-image lesion moved: the audit refuses the leak
    leaking.loc[leaking.index[0], "split"] = "test" if leaking.loc[leaking.index[0], "split"] != "test" else "val"
    leaking.to_csv(path, index=False)
    with pytest.raises(DataError, match="span more than one split"):
        Split.load(path, ham_like_records)
