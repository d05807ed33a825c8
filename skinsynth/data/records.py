"""LesionRecords: the one table every reader returns and every split, datamodule and report consumes.

Columns (always present, in this order):

================ =========================================================================
``image_id``     unique id of the image (``ISIC_0024306``); synthetic images get generated ids
``path``         image file, or an image reference ``container::key`` (see :mod:`skinsynth.data.images`)
``label``        integer label index in the vocabulary
``code``         class code (``"mel"``); always consistent with ``label``
``group``        what must not span splits: lesion id or patient id; the image id when unknown
``source``       reader name (``ham10000``, ``toy``, ``synthetic/gan`` …)
``is_synthetic`` True for generated images
================ =========================================================================

Readers may keep extra metadata columns (``localization``, ``age``, ``official_split`` …); they travel along.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from skinsynth.classes import ClassVocabulary
from skinsynth.data.images import reference_file
from skinsynth.errors import DataError, preview

COLUMNS = ("image_id", "path", "label", "code", "group", "source", "is_synthetic")


class LesionRecords:
    """A validated table of images with labels and groups.

    Args:
        frame: a DataFrame with at least :data:`COLUMNS`.
        vocabulary: the class vocabulary the labels refer to.

    Raises:
        DataError: when columns are missing, a class code is unknown, labels and codes disagree, or image ids repeat;
            the message names the offending rows.
    """

    def __init__(self, frame: pd.DataFrame, vocabulary: ClassVocabulary) -> None:
        self.vocabulary = vocabulary
        self.frame = self._validated(frame.reset_index(drop=True), vocabulary)

    @classmethod
    def build(
        cls,
        *,
        image_ids: Sequence[str],
        paths: Sequence[str],
        codes: Sequence[str],
        vocabulary: ClassVocabulary,
        source: str,
        groups: Sequence[str] | None = None,
        is_synthetic: bool = False,
        extra: pd.DataFrame | None = None,
    ) -> LesionRecords:
        """Make records from parallel sequences; labels are looked up from ``codes``."""
        image_ids = [str(i) for i in image_ids]
        codes = [str(c) for c in codes]
        unknown = sorted(set(codes) - set(vocabulary.codes))
        if unknown:
            rows = [f"{i} ({c})" for i, c in zip(image_ids, codes, strict=True) if c in unknown]
            raise DataError(
                f"{source}: unknown class code(s) {unknown} in {len(rows)} row(s): {preview(rows)}. "
                f"Known codes for {vocabulary.name}: {', '.join(vocabulary.codes)}"
            )
        frame = pd.DataFrame(
            {
                "image_id": image_ids,
                "path": [str(p) for p in paths],
                "label": [vocabulary.index(c) for c in codes],
                "code": codes,
                "group": [str(g) for g in groups] if groups is not None else image_ids,
                "source": source,
                "is_synthetic": bool(is_synthetic),
            }
        )
        if extra is not None:
            extra = extra.reset_index(drop=True)
            for column in extra.columns:
                if column not in frame.columns:
                    frame[column] = extra[column].to_numpy()
        return cls(frame, vocabulary)

    @staticmethod
    def _validated(frame: pd.DataFrame, vocabulary: ClassVocabulary) -> pd.DataFrame:
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise DataError(f"records are missing column(s) {missing}; every reader must provide {list(COLUMNS)}")
        frame = frame[list(COLUMNS) + [c for c in frame.columns if c not in COLUMNS]].copy()
        frame["label"] = frame["label"].astype(int)
        frame["is_synthetic"] = frame["is_synthetic"].astype(bool)
        for column in ("image_id", "path", "code", "group", "source"):
            frame[column] = frame[column].astype(str)
        bad_codes = ~frame["code"].isin(vocabulary.codes)
        if bad_codes.any():
            rows = (frame.loc[bad_codes, "image_id"] + " (" + frame.loc[bad_codes, "code"] + ")").tolist()
            raise DataError(
                f"unknown class code(s) in {len(rows)} row(s): {preview(rows)}; "
                f"known codes for {vocabulary.name}: {', '.join(vocabulary.codes)}"
            )
        expected = frame["code"].map(vocabulary.index)
        mismatch = expected != frame["label"]
        if mismatch.any():
            rows = frame.loc[mismatch, "image_id"].tolist()
            raise DataError(f"label index and class code disagree in {len(rows)} row(s): {preview(rows)}")
        duplicated = frame["image_id"].duplicated(keep=False)
        if duplicated.any():
            rows = sorted(set(frame.loc[duplicated, "image_id"]))
            raise DataError(f"duplicate image ids ({len(rows)}): {preview(rows)}; each image must appear once")
        return frame

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        counts = ", ".join(f"{c}={n}" for c, n in self.class_counts().items())
        return f"LesionRecords({len(self)} images, {self.frame['group'].nunique()} groups; {counts})"

    def class_counts(self) -> pd.Series:
        """Number of images per class code, in vocabulary order (zeros included)."""
        return self.frame["code"].value_counts().reindex(list(self.vocabulary.codes), fill_value=0)

    def subset(self, mask: Iterable[bool] | pd.Series) -> LesionRecords:
        """Records for the rows where ``mask`` is true."""
        return LesionRecords(self.frame[pd.Series(list(mask), index=self.frame.index)], self.vocabulary)

    def check_files(self) -> None:
        """Raise :class:`DataError` listing records whose image file (or container) does not exist."""
        files = self.frame["path"].map(reference_file)
        exists = {f: Path(f).is_file() for f in files.unique()}
        missing = self.frame.loc[~files.map(exists), ["image_id", "path"]]
        if len(missing):
            listed = [f"{row.image_id} -> {row.path}" for row in missing.itertuples()]
            raise DataError(
                f"{len(missing)} image(s) listed in the metadata are missing on disk: {preview(listed)}. Restore the "
                "files or remove their rows from the metadata."
            )

    @staticmethod
    def concat(parts: Sequence[LesionRecords]) -> LesionRecords:
        """Stack records that share one vocabulary."""
        if not parts:
            raise DataError("nothing to concatenate: no records given")
        vocabulary = parts[0].vocabulary
        for part in parts[1:]:
            if part.vocabulary != vocabulary:
                raise DataError(
                    f"cannot combine records of vocabularies {vocabulary.name!r} and {part.vocabulary.name!r}"
                )
        return LesionRecords(pd.concat([p.frame for p in parts], ignore_index=True), vocabulary)
