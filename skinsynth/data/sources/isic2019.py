"""ISIC 2019 reader: ``ISIC_2019_Training_GroundTruth.csv`` (one-hot) plus optional metadata and the images.

The ground truth has one row per image and one-hot float columns ``MEL, NV, BCC, AK, BKL, DF, VASC, SCC, UNK``. ``AK``
becomes the code ``akiec`` so the classes line up with HAM10000; ``UNK`` is not a training class and its rows are
dropped with a warning. ``ISIC_2019_Training_Metadata.csv`` (``image, age_approx, anatom_site_general, lesion_id,
sex``) is optional; its ``lesion_id`` is the group when present, else the image id. Images (``<image>.jpg``) may be
anywhere under the root (usually ``ISIC_2019_Training_Input/``).

:func:`decode_one_hot` is shared with the other one-hot ground truth formats (ISIC 2018 Task 3).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from skinsynth.classes import ISIC2019
from skinsynth.data.records import LesionRecords
from skinsynth.data.sources.ham10000 import (
    find_file,
    index_images,
    locate_images,
    read_csv_with_columns,
    require_dir,
    require_file,
)
from skinsynth.errors import DataError, preview

GROUND_TRUTH_FILE = "ISIC_2019_Training_GroundTruth.csv"
METADATA_FILE = "ISIC_2019_Training_Metadata.csv"
UNKNOWN = "unk"
# Ground-truth column -> class code. UNK is optional (the official file has it, always 0 in the training set).
ONE_HOT_COLUMNS: dict[str, str] = {
    "MEL": "mel",
    "NV": "nv",
    "BCC": "bcc",
    "AK": "akiec",
    "BKL": "bkl",
    "DF": "df",
    "VASC": "vasc",
    "SCC": "scc",
}


def decode_one_hot(frame: pd.DataFrame, columns: Mapping[str, str], csv_path: Path, id_column: str) -> list[str]:
    """Turn a one-hot table into one class code per row.

    Args:
        frame: the table as read (cells may be strings such as ``"1.0"``).
        columns: one-hot column name -> class code, for every column that takes part.
        csv_path: the file the table came from, for error messages.
        id_column: column that identifies a row (``image``), for error messages.

    Returns:
        The class code of each row, in row order.

    Raises:
        DataError: naming the rows that are not exactly one-hot (a single 1 and 0 elsewhere; blanks and text count as
            not one-hot) with the cells that were set.

    """
    names = list(columns)
    values = frame[names].apply(lambda column: pd.to_numeric(column.astype(str).str.strip(), errors="coerce"))
    one_hot = values.isin([0, 1]).all(axis=1) & (values.sum(axis=1) == 1)
    if not one_hot.all():
        bad = frame.loc[~one_hot.to_numpy()]
        rows = []
        for index, row in bad.iterrows():
            cells = [f"{n}={str(row[n]).strip() or '<blank>'}" for n in names if values.at[index, n] != 0]
            rows.append(f"{row[id_column]} ({', '.join(cells) if cells else 'no class set'})")
        raise DataError(
            f"{len(rows)} row(s) of {str(csv_path)!r} are not exactly one-hot over {names} (each row needs one 1.0 "
            f"and 0.0 elsewhere): {preview(rows)}. Fix or remove these rows."
        )
    positions = np.argmax(values.to_numpy(dtype=float), axis=1)
    return [columns[names[p]] for p in positions]


def _read_metadata(path: Path, image_ids: pd.Series) -> pd.DataFrame:
    """Metadata columns for ``image_ids`` (left join on ``image``; images without metadata get blanks)."""
    metadata = read_csv_with_columns(path, ("image",))
    metadata["image"] = metadata["image"].str.strip()
    duplicated = metadata["image"].duplicated(keep=False)
    if duplicated.any():
        repeated = sorted(set(metadata.loc[duplicated, "image"]))
        raise DataError(
            f"{str(path)!r} lists {len(repeated)} image(s) more than once: {preview(repeated)}; keep one row per image"
        )
    merged = pd.DataFrame({"image": image_ids.to_numpy()}).merge(metadata, on="image", how="left")
    return merged.drop(columns=["image"]).fillna("")


def read_isic2019(root: str | Path, source: str = "isic2019") -> LesionRecords:
    """Read the ISIC 2019 training set.

    Args:
        root: folder holding ``ISIC_2019_Training_GroundTruth.csv`` (at the root or below it), optionally
            ``ISIC_2019_Training_Metadata.csv``, and the images anywhere below it.
        source: name stored in the ``source`` column.

    Returns:
        Records in the :data:`~skinsynth.classes.ISIC2019` vocabulary; metadata columns travel as extras.

    Raises:
        DataError: the root, the ground truth or an image is missing, a required column is missing, or a row is not
            exactly one-hot.

    """
    root = require_dir(root, "ISIC 2019")
    ground_truth = require_file(root, GROUND_TRUTH_FILE, "ISIC 2019")
    frame = read_csv_with_columns(ground_truth, ("image", *ONE_HOT_COLUMNS))
    if frame.empty:
        raise DataError(f"{str(ground_truth)!r} has no rows")
    frame["image"] = frame["image"].str.strip()
    columns = {**ONE_HOT_COLUMNS, "UNK": UNKNOWN} if "UNK" in frame.columns else ONE_HOT_COLUMNS
    codes = pd.Series(decode_one_hot(frame, columns, ground_truth, "image"), index=frame.index)

    unknown = codes == UNKNOWN
    if unknown.any():
        warnings.warn(
            f"{source}: dropped {int(unknown.sum())} image(s) labelled UNK in {str(ground_truth)!r}; UNK is not a "
            "training class",
            stacklevel=2,
        )
        frame, codes = frame.loc[~unknown], codes.loc[~unknown]
        if frame.empty:
            raise DataError(f"every row of {str(ground_truth)!r} is labelled UNK; no images left to train on")

    image_ids = frame["image"]
    metadata_path = find_file(root, METADATA_FILE)
    extra = _read_metadata(metadata_path, image_ids) if metadata_path is not None else None
    groups = image_ids.tolist()
    if extra is not None and "lesion_id" in extra.columns:
        lesion_ids = extra["lesion_id"].astype(str).str.strip()
        groups = [lesion or image for lesion, image in zip(lesion_ids, groups, strict=True)]

    paths = locate_images(image_ids.tolist(), index_images(root), root, ground_truth)
    return LesionRecords.build(
        image_ids=image_ids.tolist(),
        paths=paths,
        codes=codes.tolist(),
        groups=groups,
        vocabulary=ISIC2019,
        source=source,
        extra=extra,
    )
