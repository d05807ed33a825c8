"""Synthetic image sets on disk: a folder of PNGs plus ``manifest.csv``.

``manifest.csv`` has one row per image with at least ``path`` (relative to the folder), ``label`` (index),
``code`` (class code), ``generator`` and ``seed`` (the per-sample seed that reproduces it); the materializer adds
``checkpoint``, and any further columns (per-image scores, say) are kept as they are. :class:`SyntheticDataset`
reads such a folder into :class:`~skinsynth.data.records.LesionRecords` (``is_synthetic=True``) and validates it;
the datamodule's ``synthetic`` and ``mixed`` modes put these records into the training split only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from skinsynth.classes import ClassVocabulary
from skinsynth.data.records import LesionRecords
from skinsynth.errors import DataError, preview
from skinsynth.io import atomic_write_csv

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("path", "label", "code", "generator", "seed")


class SyntheticDataset:
    """A validated synthetic image folder.

    Args:
        directory: folder holding ``manifest.csv`` and the images it lists.
        vocabulary: the vocabulary the study uses; every manifest class must be in it.

    Raises:
        DataError: the folder or manifest is missing, empty or malformed, a listed file is missing, or a class code
            is unknown; the message names the manifest and the rows.
    """

    def __init__(self, directory: str | Path, vocabulary: ClassVocabulary) -> None:
        self.directory = Path(directory)
        self.vocabulary = vocabulary
        self.manifest = read_manifest(self.directory)
        self.records = self._records()

    @property
    def generators(self) -> list[str]:
        """Names of the generators that made the images."""
        return sorted(self.manifest["generator"].unique())

    def __len__(self) -> int:
        return len(self.records)

    def _records(self) -> LesionRecords:
        manifest = self.manifest
        where = self.directory / MANIFEST
        unknown = sorted(set(manifest["code"]) - set(self.vocabulary.codes))
        if unknown:
            raise DataError(
                f"{str(where)!r} has class code(s) {unknown} that the {self.vocabulary.name} vocabulary does not know "
                f"({', '.join(self.vocabulary.codes)}); was it generated for another dataset?"
            )
        labels = pd.to_numeric(manifest["label"], errors="coerce")
        expected = manifest["code"].map(self.vocabulary.index)
        wrong = manifest.loc[labels != expected, "path"].tolist()
        if wrong:
            raise DataError(f"{str(where)!r}: label and code disagree for {len(wrong)} row(s): {preview(wrong)}")
        paths = [self.directory / p for p in manifest["path"]]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise DataError(
                f"{str(where)!r} lists {len(missing)} image(s) that do not exist: {preview(missing)}. Re-run the "
                "materialization (it resumes) or delete the folder."
            )
        generators = manifest["generator"].astype(str)
        image_ids = ("synthetic-" + generators + "-" + manifest["path"].map(lambda p: Path(p).stem)).tolist()
        extra = manifest.drop(columns=["path", "label", "code"])
        records = LesionRecords.build(
            image_ids=image_ids,
            paths=[str(p) for p in paths],
            codes=manifest["code"].tolist(),
            vocabulary=self.vocabulary,
            source="synthetic",
            is_synthetic=True,
            extra=extra,
        )
        records.frame["source"] = "synthetic/" + generators.to_numpy()
        return records


def read_manifest(directory: str | Path) -> pd.DataFrame:
    """Read and check the structure of ``directory/manifest.csv`` (columns, emptiness); returns it as strings."""
    directory = Path(directory)
    where = directory / MANIFEST
    if not directory.is_dir():
        raise DataError(f"synthetic folder {str(directory)!r} does not exist")
    if not where.is_file():
        raise DataError(f"no {MANIFEST} in {str(directory)!r}; is this a materialized synthetic folder?")
    try:
        manifest = pd.read_csv(where, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{str(where)!r} is empty; delete it and re-run the materialization") from None
    except Exception as error:
        raise DataError(f"{str(where)!r} is not a readable CSV: {error}") from error
    missing = [c for c in MANIFEST_COLUMNS if c not in manifest.columns]
    if missing:
        raise DataError(f"{str(where)!r} is missing column(s) {missing}; a manifest needs {list(MANIFEST_COLUMNS)}")
    if manifest.empty:
        raise DataError(f"{str(where)!r} lists no images")
    return manifest


def write_manifest(manifest: pd.DataFrame, directory: str | Path) -> Path:
    """Write ``manifest`` to ``directory/manifest.csv`` atomically after checking its columns."""
    missing = [c for c in MANIFEST_COLUMNS if c not in manifest.columns]
    if missing:
        raise DataError(f"cannot write a manifest without column(s) {missing}")
    return atomic_write_csv(manifest, Path(directory) / MANIFEST)
