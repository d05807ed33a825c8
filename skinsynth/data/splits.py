"""The split of a study: every image's train / val / test (or pool) assignment, grouped by lesion or patient.

:class:`Split` is the artifact: written as ``split.csv``, read back with :meth:`Split.load`, checked by
:meth:`Split.audit`. :mod:`skinsynth.data.splitting` makes one, with three strategies, all deterministic for a seed:

* :func:`~skinsynth.data.splitting.few_shot` — exactly ``shots`` training images per class; the remainder goes to
  val and test, or — with ``pool`` — to val, test and an *unlabeled pool* of further training images (the
  semi-supervised protocol).
* :func:`~skinsynth.data.splitting.stratified` — train / val / test by fractions, stratified by class.
* :func:`~skinsynth.data.splitting.predefined` — the test set comes from outside (an official test CSV, or a reader's
  ``official_split`` column); train (optionally few-shot) and val come from the data.

Stratification works at the group level: each group takes its most frequent class, and scikit-learn's
``train_test_split`` splits the *groups*, so image-level leakage is impossible by construction. :meth:`Split.audit`
checks it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from skinsynth.data.records import LesionRecords
from skinsynth.errors import DataError, preview

SPLITS = ("train", "val", "test")
POOL = "pool"  # training-side images outside the few-shot set: labels unused except by the oracle control


@dataclass
class Split:
    """Which split every image belongs to.

    Attributes:
        records: all real records the split covers (external test records included).
        assignment: split name per row of ``records.frame`` (``train``, ``val``, ``test``, ``pool`` or ``unused``).
        strategy: ``few_shot``, ``stratified`` or ``predefined``.
        params: the arguments that made the split (seed, shots, fractions), for the run's config.
    """

    records: LesionRecords
    assignment: pd.Series
    strategy: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def frame(self) -> pd.DataFrame:
        """One row per image: ``image_id``, ``group``, ``label`` (class code), ``split``, ``path``, ``source``."""
        records = self.records.frame
        return pd.DataFrame(
            {
                "image_id": records["image_id"],
                "group": records["group"],
                "label": records["code"],
                "split": self.assignment.to_numpy(),
                "path": records["path"],
                "source": records["source"],
            }
        )

    def records_for(self, split: str) -> LesionRecords:
        """The records assigned to ``split`` (``train``, ``val``, ``test`` or ``pool``)."""
        if split not in (*SPLITS, POOL):
            raise ValueError(f"unknown split {split!r}; choose one of {(*SPLITS, POOL)}")
        return self.records.subset(self.assignment.to_numpy() == split)

    def audit(self) -> pd.DataFrame:
        """Per-split class counts (rows: splits, plus ``pool`` when there is one; columns: class codes).

        Raises:
            DataError: a group spans two splits (the pool counts as a split: leakage into it is leakage too).
        """
        frame = self.frame
        names = [*SPLITS, POOL] if (frame["split"] == POOL).any() else list(SPLITS)
        used = frame[frame["split"].isin(names)]
        spans = used.groupby("group")["split"].nunique()
        leaking = spans[spans > 1].index.tolist()
        if leaking:
            raise DataError(f"{len(leaking)} group(s) span more than one split (leakage): {preview(leaking)}")
        counts = pd.crosstab(used["split"], used["label"])
        codes = list(self.records.vocabulary.codes)
        return counts.reindex(index=names, columns=codes, fill_value=0).rename_axis(index="split", columns=None)

    def to_csv(self, path: str | Path) -> Path:
        """Write :attr:`frame` to ``path`` atomically and return the path."""
        from skinsynth.io import atomic_write_csv

        return atomic_write_csv(self.frame, path)

    @classmethod
    def load(cls, path: str | Path, records: LesionRecords, test_records: LesionRecords | None = None) -> Split:
        """The split stored at ``path`` (a run directory's ``split.csv``), over ``records`` and external test records.

        The file decides, not a seed: every image of the records must be in it with its class, and every image in it
        must be in the records.

        Raises:
            DataError: the file is unreadable, lacks a column, names an unknown split, or does not describe exactly
                these images with these classes (the data changed since it was written); the message names the file.
        """
        path = Path(path)
        combined = LesionRecords.concat([records, test_records]) if test_records is not None else records
        try:
            stored = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise DataError(f"cannot read the split file {str(path)!r}: {error}") from error
        missing = [c for c in ("image_id", "label", "split") if c not in stored.columns]
        if missing:
            raise DataError(f"split file {str(path)!r} lacks column(s) {missing}; it needs image_id, label and split")
        known = (*SPLITS, POOL, "unused")
        bad = sorted(set(stored["split"]) - set(known))
        if bad:
            raise DataError(f"split file {str(path)!r} names unknown split(s) {bad}; allowed: {', '.join(known)}")
        if stored["image_id"].duplicated().any():
            twice = sorted(stored.loc[stored["image_id"].duplicated(), "image_id"])
            raise DataError(f"split file {str(path)!r} lists image(s) twice: {preview(twice)}")
        frame = combined.frame.assign(image_id=combined.frame["image_id"].astype(str))
        stored = stored.set_index("image_id")
        absent = sorted(set(stored.index) - set(frame["image_id"]))
        unlisted = sorted(set(frame["image_id"]) - set(stored.index))
        if absent or unlisted:
            what = (
                f"{len(absent)} image(s) not in the data"
                if absent
                else f"{len(unlisted)} image(s) of the data not in it"
            )
            raise DataError(
                f"split file {str(path)!r} does not describe this data ({what}: {preview(absent or unlisted)}); the "
                "data changed since the split was written"
            )
        labels = stored.loc[frame["image_id"], "label"].to_numpy()
        relabelled = frame.loc[labels != frame["code"].to_numpy(), "image_id"].tolist()
        if relabelled:
            raise DataError(
                f"split file {str(path)!r} gives {len(relabelled)} image(s) another class than the data does: "
                f"{preview(relabelled)}"
            )
        assignment = pd.Series(stored.loc[frame["image_id"], "split"].to_numpy(), index=frame.index, dtype=object)
        split = cls(combined, assignment, "stored", {"file": str(path)})
        split.audit()
        return split

    def matches(self, path: str | Path) -> bool:
        """Whether the split stored at ``path`` assigns exactly the same images to the same splits."""
        stored = pd.read_csv(path, dtype=str, keep_default_na=False)
        current = self.frame
        if len(stored) != len(current) or not {"image_id", "split"} <= set(stored.columns):
            return False
        left = stored.set_index("image_id")["split"].sort_index()
        right = current.set_index("image_id")["split"].astype(str).sort_index()
        return left.index.equals(right.index) and bool((left == right).all())


def __getattr__(name: str) -> Any:
    """The strategies' former home: ``from skinsynth.data.splits import few_shot`` still imports."""
    if name in ("few_shot", "stratified", "predefined"):
        from skinsynth.data import splitting

        return getattr(splitting, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
