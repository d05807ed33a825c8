"""Making a split: three strategies, each grouped by lesion or patient so that no group ever spans two splits.

:func:`few_shot`, :func:`stratified` and :func:`predefined` are described in :mod:`skinsynth.data.splits`;
:func:`split_records` picks the one a dataset and its settings call for.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from skinsynth.data.records import LesionRecords
from skinsynth.data.splits import POOL, Split
from skinsynth.errors import DataError, preview


def split_records(
    records: LesionRecords,
    test_records: LesionRecords | None = None,
    *,
    shots: int | None = None,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    pool: float | None = None,
    seed: int = 0,
) -> Split:
    """The split a dataset and its settings call for (deterministic for a seed).

    :func:`predefined` with an external test set or an ``official_split`` column, else :func:`few_shot` with
    ``shots``, else :func:`stratified`.
    """
    if test_records is not None or "official_split" in records.frame.columns:
        return predefined(records, test_records=test_records, shots=shots, val_fraction=val_fraction, seed=seed)
    if shots:
        return few_shot(records, shots, val_fraction=val_fraction, seed=seed, pool=pool, test_fraction=test_fraction)
    return stratified(records, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)


def _group_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per group: image count per class code and the group's primary (most frequent) class."""
    table = pd.crosstab(frame["group"], frame["code"])
    table["primary"] = table.idxmax(axis=1)
    return table


def _split_groups(frame: pd.DataFrame, fraction: float, seed: int) -> tuple[set[str], set[str]]:
    """Split the groups of ``frame`` into (rest, taken) with about ``fraction`` of the groups taken, stratified."""
    table = _group_table(frame)
    groups = table.index.to_numpy()
    if fraction <= 0 or len(groups) == 0:
        return set(groups), set()
    if fraction >= 1:
        return set(), set(groups)
    primary = table["primary"]
    # Classes with a single group cannot be stratified; they stay on the "rest" side.
    singles = primary.map(primary.value_counts()) < 2
    strat_groups, strat_labels = groups[~singles.to_numpy()], primary[~singles].to_numpy()
    rest, taken = set(groups[singles.to_numpy()]), set()
    if len(strat_groups) >= 2:
        n_taken = round(fraction * len(strat_groups))
        n_classes = len(set(strat_labels))
        if n_taken < n_classes or len(strat_groups) - n_taken < n_classes:
            # too few groups for a stratified split of this size; fall back to an unstratified one
            keep, take = train_test_split(strat_groups, test_size=fraction, random_state=seed)
        else:
            keep, take = train_test_split(strat_groups, test_size=n_taken, random_state=seed, stratify=strat_labels)
        rest |= set(keep)
        taken |= set(take)
    else:
        rest |= set(strat_groups)
    return rest, taken


def _select_shots(frame: pd.DataFrame, shots: int, seed: int) -> set[str]:
    """Groups that give exactly ``shots`` images of every class (rarest class first, never overshooting)."""
    table = _group_table(frame).drop(columns="primary")
    rng = np.random.default_rng(seed)
    taken = pd.Series(0, index=table.columns)
    chosen: set[str] = set()
    groups_per_class = (table > 0).sum()
    for code in groups_per_class.sort_values(kind="stable").index:
        candidates = table.index[table[code] > 0].to_numpy().copy()
        rng.shuffle(candidates)
        for group in candidates:
            if taken[code] >= shots:
                break
            if group in chosen:
                continue
            after = taken + table.loc[group]
            if (after > shots).any():
                continue
            chosen.add(group)
            taken = after
        if taken[code] < shots:
            available = int(table[code].sum())
            message = (
                f"class {code!r} has {available} image(s) in {int(groups_per_class[code])} group(s); "
                f"{shots} shots per class were asked for"
            )
            if available >= shots:
                sizes = sorted(set(table.loc[table[code] > 0, code].astype(int)))
                message += (
                    f" and only {int(taken[code])} could be chosen without splitting a group (its groups hold "
                    f"{sizes} image(s) each). Choose a `shots` value whole groups can make up."
                )
            else:
                message += f". Lower `shots` to at most {available}."
            raise DataError(message)
    return chosen


def _assign(
    records: LesionRecords, train: set[str], val: set[str], test: set[str], pool: set[str] = frozenset()
) -> pd.Series:
    groups = records.frame["group"]
    assignment = pd.Series("unused", index=records.frame.index, dtype=object)
    assignment[groups.isin(train)] = "train"
    assignment[groups.isin(val)] = "val"
    assignment[groups.isin(test)] = "test"
    assignment[groups.isin(pool)] = POOL
    return assignment


def _warn_empty_eval_classes(split: Split) -> None:
    counts = split.audit()
    for name in ("val", "test"):
        empty = [code for code in counts.columns if counts.loc[name, code] == 0]
        if empty and counts.loc[name].sum() > 0:
            warnings.warn(
                f"the {name} split has no images of class(es) {empty}; their per-class metrics will be undefined",
                stacklevel=3,
            )


def few_shot(
    records: LesionRecords,
    shots: int,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    pool: float | None = None,
    test_fraction: float = 0.2,
) -> Split:
    """Exactly ``shots`` training images per class, grouped; the rest goes to val and test (and the pool).

    Without ``pool`` the remainder is split into val (``val_fraction`` of its groups, stratified) and test (the rest).

    With ``pool`` (0 < pool ≤ 1) the semi-supervised protocol: test and val take ``test_fraction`` and
    ``val_fraction`` of *all* groups (stratified, from the groups the shots left), the groups that remain are the
    training portion, and ``pool`` of them (1: all) become the unlabeled pool. Generators may pretrain on the pool
    without labels; only the oracle control uses its labels. Val and test never overlap the pool.

    Raises:
        DataError: when a class has fewer images (or fewer selectable groups) than ``shots``; names the class. Or
            when the fractions leave no training portion for the pool.
    """
    if shots < 1:
        raise DataError(f"shots must be at least 1, got {shots}")
    if pool is not None:
        if not 0 < pool <= 1:
            raise DataError(f"the pool fraction must lie in (0, 1], got {pool}")
        if val_fraction <= 0 or test_fraction <= 0 or val_fraction + test_fraction >= 1:
            raise DataError(
                f"with a pool, val_fraction ({val_fraction}) and test_fraction ({test_fraction}) are shares of all "
                "groups: each must be > 0 and together < 1"
            )
    frame = records.frame
    train = _select_shots(frame, shots, seed)
    remainder = frame[~frame["group"].isin(train)]
    params: dict[str, Any] = {"shots": shots, "val_fraction": val_fraction, "seed": seed}
    if pool is None:
        test, val = _split_groups(remainder, val_fraction, seed)
        assignment = _assign(records, train, val, test)
    else:
        total, left = frame["group"].nunique(), remainder["group"].nunique()
        if (val_fraction + test_fraction) * total >= left:
            raise DataError(
                f"the {shots}-shot set leaves {left} of {total} groups, too few for val ({val_fraction:.0%}) and "
                f"test ({test_fraction:.0%}) of all groups plus a pool; lower the shots or the fractions"
            )
        rest, test = _split_groups(remainder, test_fraction * total / left, seed)
        rest_frame = remainder[remainder["group"].isin(rest)]
        portion, val = _split_groups(rest_frame, val_fraction * total / len(rest), seed)
        if pool < 1:
            _, pool_groups = _split_groups(rest_frame[rest_frame["group"].isin(portion)], pool, seed)
        else:
            pool_groups = portion
        assignment = _assign(records, train, val, test, pool_groups)
        params |= {"pool": pool, "test_fraction": test_fraction}
    split = Split(records, assignment, "few_shot", params)
    _warn_empty_eval_classes(split)
    return split


def stratified(
    records: LesionRecords,
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> Split:
    """Train / val / test by fractions of the groups, stratified by each group's primary class."""
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
        raise DataError(f"val_fraction ({val_fraction}) and test_fraction ({test_fraction}) must be ≥ 0 and sum < 1")
    frame = records.frame
    rest, test = _split_groups(frame, test_fraction, seed)
    rest_frame = frame[frame["group"].isin(rest)]
    train, val = _split_groups(rest_frame, val_fraction / (1 - test_fraction), seed)
    split = Split(
        records,
        _assign(records, train, val, test),
        "stratified",
        {"val_fraction": val_fraction, "test_fraction": test_fraction, "seed": seed},
    )
    _warn_empty_eval_classes(split)
    return split


def predefined(
    records: LesionRecords,
    *,
    test_records: LesionRecords | None = None,
    shots: int | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> Split:
    """A split whose test set is given from outside.

    The test set is ``test_records`` (e.g. the ISIC 2018 Task 3 test set) or the rows of ``records`` whose
    ``official_split`` column says ``test`` (DermaMNIST). Train is ``shots`` per class (or everything else) and val is
    ``val_fraction`` of the rest — or the official ``val`` rows when the column has them.
    """
    if test_records is not None:
        if test_records.vocabulary != records.vocabulary:
            raise DataError(
                f"the test set uses vocabulary {test_records.vocabulary.name!r} but the data uses "
                f"{records.vocabulary.name!r}"
            )
        shared = set(records.frame["image_id"]) & set(test_records.frame["image_id"])
        if shared:
            raise DataError(
                f"{len(shared)} image id(s) are in both the data and the test set: {preview(sorted(shared))}"
            )
        pool, official_val = records, None
        combined = LesionRecords.concat([records, test_records])
        is_test = np.r_[np.zeros(len(records), bool), np.ones(len(test_records), bool)]
    elif "official_split" in records.frame.columns:
        official = records.frame["official_split"].astype(str)
        if not (official == "test").any():
            raise DataError("the records' official_split column has no 'test' rows")
        combined = records
        is_test = (official == "test").to_numpy()
        official_val = (official == "val").to_numpy()
        pool = records.subset(~is_test)
    else:
        raise DataError(
            "a predefined split needs test_records (e.g. `test_data` with the ISIC 2018 Task 3 test set) or an "
            "official_split column in the records"
        )
    pool_frame = pool.frame
    if official_val is not None and official_val.any():
        val_groups = set(combined.frame.loc[official_val, "group"])
        train_pool = pool_frame[~pool_frame["group"].isin(val_groups)]
        train = _select_shots(train_pool, shots, seed) if shots else set(train_pool["group"])
    elif shots:
        train = _select_shots(pool_frame, shots, seed)
        _, val_groups = _split_groups(pool_frame[~pool_frame["group"].isin(train)], val_fraction, seed)
    else:
        train, val_groups = _split_groups(pool_frame, val_fraction, seed)
    test_groups = set(combined.frame.loc[is_test, "group"])
    assignment = _assign(combined, train - test_groups, val_groups - test_groups, set())
    assignment[is_test] = "test"
    split = Split(combined, assignment, "predefined", {"shots": shots, "val_fraction": val_fraction, "seed": seed})
    split.audit()
    _warn_empty_eval_classes(split)
    return split
