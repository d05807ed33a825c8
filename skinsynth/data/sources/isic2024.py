"""ISIC 2024 (SLICE-3D) reader: ``train-metadata.csv`` plus images from a folder or from ``train-image.hdf5``.

Labels are binary (``target`` 0 = benign, 1 = malignant) in the :data:`~skinsynth.classes.BINARY` vocabulary; the
group is ``patient_id`` because one patient contributes many lesions. Images come either as files
(``train-image/image/<isic_id>.jpg``, or anywhere under the root) or inside ``train-image.hdf5``, which holds one
dataset per ``isic_id`` with the encoded JPEG bytes. HDF5 records get an image reference
``"<absolute path of the hdf5>::<isic_id>"`` that :class:`~skinsynth.data.images.ImageReader` decodes.
h5py is imported only when the HDF5 file is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

import pandas as pd

from skinsynth.classes import BINARY
from skinsynth.data.images import CONTAINER_SEPARATOR
from skinsynth.data.records import LesionRecords
from skinsynth.data.sources.ham10000 import (
    find_file,
    index_images,
    locate_images,
    read_csv_with_columns,
    require_dir,
    require_file,
)
from skinsynth.errors import ConfigError, DataError, preview

METADATA_FILE = "train-metadata.csv"
HDF5_FILE = "train-image.hdf5"
REQUIRED_COLUMNS = ("isic_id", "target", "patient_id")
# The metadata has ~55 columns; these few are worth carrying along (the rest are TBP measurements).
EXTRA_COLUMNS = ("age_approx", "sex", "anatom_site_general", "lesion_id", "iddx_1", "tbp_tile_type", "attribution")
ImageSource = Literal["auto", "folder", "hdf5"]


def _binary_codes(frame: pd.DataFrame, metadata: Path) -> list[str]:
    """``benign`` / ``malignant`` per row from the 0/1 ``target`` column."""
    target = pd.to_numeric(frame["target"].astype(str).str.strip(), errors="coerce")
    bad = ~target.isin([0, 1])
    if bad.any():
        rows = [f"{i} (target={t!r})" for i, t in zip(frame.loc[bad, "isic_id"], frame.loc[bad, "target"], strict=True)]
        raise DataError(
            f"{len(rows)} row(s) of {str(metadata)!r} have a target that is not 0 or 1: {preview(rows)}. "
            "Fix or remove these rows."
        )
    return ["malignant" if t == 1 else "benign" for t in target]


def _hdf5_references(hdf5: Path, image_ids: list[str], metadata: Path) -> list[str]:
    """Image references into ``hdf5``; raises :class:`DataError` naming ids that have no dataset in the file."""
    import h5py

    try:
        with h5py.File(hdf5, "r") as handle:
            keys = set(handle.keys())
    except OSError as error:
        raise DataError(f"cannot open {str(hdf5)!r} as HDF5: {error}") from error
    missing = [i for i in image_ids if i not in keys]
    if missing:
        raise DataError(
            f"{len(missing)} image(s) listed in {str(metadata)!r} are not in {str(hdf5)!r}: {preview(missing)}. "
            "Use the complete train-image.hdf5 or remove these rows from the metadata."
        )
    container = str(hdf5.resolve())
    return [f"{container}{CONTAINER_SEPARATOR}{i}" for i in image_ids]


def _image_paths(root: Path, image_ids: list[str], metadata: Path, image_source: ImageSource) -> list[str]:
    """Paths (folder) or references (HDF5) for ``image_ids``, following ``image_source``."""
    images = index_images(root) if image_source != "hdf5" else {}
    if image_source == "folder" or (images and all(i in images for i in image_ids)):
        return locate_images(image_ids, images, root, metadata)
    hdf5 = find_file(root, HDF5_FILE)
    if hdf5 is not None:
        return _hdf5_references(hdf5, image_ids, metadata)
    if images:  # auto, some images in the folder, no hdf5: name the ones that are missing
        return locate_images(image_ids, images, root, metadata)
    if image_source == "hdf5":
        raise DataError(
            f"no {HDF5_FILE} under {str(root)!r}; put it there, or pass image_source='folder' for JPEG files"
        )
    raise DataError(
        f"found no images under {str(root)!r}: expected {HDF5_FILE} or JPEG files named <isic_id>.jpg "
        "(train-image/image/); download the ISIC 2024 images or point `data_dir` at them"
    )


def read_isic2024(root: str | Path, source: str = "isic2024", image_source: ImageSource = "auto") -> LesionRecords:
    """Read the ISIC 2024 training set.

    Args:
        root: folder holding ``train-metadata.csv`` (at the root or below it) and the images.
        source: name stored in the ``source`` column.
        image_source: ``"folder"`` for JPEG files under the root, ``"hdf5"`` for ``train-image.hdf5``, ``"auto"`` to
            use the folder when it holds every listed image and the HDF5 file otherwise.

    Returns:
        Records in the :data:`~skinsynth.classes.BINARY` vocabulary grouped by ``patient_id`` (the image id when the
        patient is blank), with ``age_approx``, ``sex``, ``anatom_site_general`` and a few other metadata columns as
        extras when present.

    Raises:
        ConfigError: ``image_source`` is not one of the choices.
        DataError: the root, the metadata, a required column or an image is missing, or a target is not 0/1.

    """
    if image_source not in get_args(ImageSource):
        raise ConfigError(f"image_source must be one of {', '.join(get_args(ImageSource))}; got {image_source!r}")
    root = require_dir(root, "ISIC 2024")
    metadata = require_file(root, METADATA_FILE, "ISIC 2024")
    frame = read_csv_with_columns(metadata, REQUIRED_COLUMNS)
    if frame.empty:
        raise DataError(f"{str(metadata)!r} has no rows")
    frame["isic_id"] = frame["isic_id"].str.strip()
    image_ids = frame["isic_id"].tolist()
    codes = _binary_codes(frame, metadata)
    patients = frame["patient_id"].str.strip()
    groups = [patient or image for patient, image in zip(patients, image_ids, strict=True)]
    paths = _image_paths(root, image_ids, metadata, image_source)
    return LesionRecords.build(
        image_ids=image_ids,
        paths=paths,
        codes=codes,
        groups=groups,
        vocabulary=BINARY,
        source=source,
        extra=frame[[c for c in EXTRA_COLUMNS if c in frame.columns]],
    )
