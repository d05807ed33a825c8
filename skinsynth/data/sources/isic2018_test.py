"""ISIC 2018 Task 3 test-set reader: the official held-out HAM10000 test images (1,512 images) with their labels.

``ISIC2018_Task3_Test_GroundTruth.csv`` may be anywhere under the root and comes in two layouts:

* the challenge's one-hot table ``image, MEL, NV, BCC, AKIEC, BKL, DF, VASC`` (floats ``1.0``/``0.0``), optionally
  with a ``lesion_id`` column;
* a HAM10000-style table ``lesion_id, image_id, dx, ...`` (as in the HAM10000 metadata file).

Images (``ISIC2018_Task3_Test_Input/<image>.jpg``) may be anywhere under the root. The group is ``lesion_id`` when the
table has it (blank entries fall back to the image id), else the image id. Other columns travel as extras.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from skinsynth.classes import HAM10000
from skinsynth.data.records import LesionRecords
from skinsynth.data.sources.ham10000 import (
    index_images,
    locate_images,
    read_csv_with_columns,
    require_dir,
    require_file,
)
from skinsynth.data.sources.isic2019 import decode_one_hot
from skinsynth.errors import DataError

GROUND_TRUTH_FILE = "ISIC2018_Task3_Test_GroundTruth.csv"
ONE_HOT_COLUMNS: dict[str, str] = {
    "MEL": "mel",
    "NV": "nv",
    "BCC": "bcc",
    "AKIEC": "akiec",
    "BKL": "bkl",
    "DF": "df",
    "VASC": "vasc",
}
HAM_STYLE_COLUMNS = ("image_id", "dx")


def read_isic2018_test(root: str | Path, source: str = "isic2018_test") -> LesionRecords:
    """Read the ISIC 2018 Task 3 (HAM10000) test set.

    Args:
        root: folder holding ``ISIC2018_Task3_Test_GroundTruth.csv`` (at the root or below it) and the test images
            anywhere below it.
        source: name stored in the ``source`` column.

    Returns:
        Records in the :data:`~skinsynth.classes.HAM10000` vocabulary.

    Raises:
        DataError: the root, the ground truth, a required column or an image is missing, or a row is not exactly
            one-hot.

    """
    root = require_dir(root, "ISIC 2018 Task 3 test")
    ground_truth = require_file(root, GROUND_TRUTH_FILE, "ISIC 2018 Task 3 test")
    frame = read_csv_with_columns(ground_truth, ())
    if all(c in frame.columns for c in HAM_STYLE_COLUMNS) and "image" not in frame.columns:
        frame = frame.rename(columns={"image_id": "image"})
        label_columns = ["dx"]
        codes = frame["dx"].str.strip().str.lower().tolist()
    else:
        one_hot_layout = ["image", *ONE_HOT_COLUMNS]
        missing = [c for c in one_hot_layout if c not in frame.columns]
        if missing:
            raise DataError(
                f"{str(ground_truth)!r} is missing required column(s) {missing}; it has {list(frame.columns)}. "
                f"Expected the one-hot layout {one_hot_layout} or the HAM10000 layout {list(HAM_STYLE_COLUMNS)}."
            )
        label_columns = list(ONE_HOT_COLUMNS)
        codes = decode_one_hot(frame, ONE_HOT_COLUMNS, ground_truth, "image")
    if frame.empty:
        raise DataError(f"{str(ground_truth)!r} has no rows")
    image_ids = frame["image"].str.strip().tolist()
    groups = image_ids
    if "lesion_id" in frame.columns:
        groups = [lesion.strip() or image for lesion, image in zip(frame["lesion_id"], image_ids, strict=True)]
    paths = locate_images(image_ids, index_images(root), root, ground_truth)
    extra: pd.DataFrame = frame.drop(columns=["image", *label_columns])
    return LesionRecords.build(
        image_ids=image_ids,
        paths=paths,
        codes=codes,
        groups=groups,
        vocabulary=HAM10000,
        source=source,
        extra=extra,
    )
