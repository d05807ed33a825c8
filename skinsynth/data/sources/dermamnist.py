"""DermaMNIST reader: the MedMNIST ``dermamnist*.npz`` files (HAM10000 images, downsized, with official splits).

MedMNIST ships one file per resolution: ``dermamnist.npz`` (28 px), ``dermamnist_64.npz``, ``dermamnist_128.npz`` and
``dermamnist_224.npz``, each with ``{train,val,test}_images`` (uint8, ``(N, H, W, 3)``) and ``{train,val,test}_labels``
(int, ``(N, 1)``). Records point into the file with image references ``"<absolute npz path>::train_images/<row>"``
read by :class:`~skinsynth.data.images.ImageReader`; nothing is extracted. DermaMNIST has no lesion ids, so each image
is its own group; the file's own split travels in the ``official_split`` column.

Array shapes are read from the ``.npy`` headers inside the archive, so reading the records does not decompress the
images (1 GB for the 224 px training array).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from skinsynth.classes import HAM10000
from skinsynth.data.images import CONTAINER_SEPARATOR
from skinsynth.data.records import LesionRecords
from skinsynth.data.sources.ham10000 import require_dir
from skinsynth.errors import ConfigError, DataError, preview

FILES: dict[int, str] = {
    28: "dermamnist.npz",
    64: "dermamnist_64.npz",
    128: "dermamnist_128.npz",
    224: "dermamnist_224.npz",
}
SPLITS = ("train", "val", "test")
# MedMNIST's INFO["dermamnist"]["label"]: 0 actinic keratoses and intraepithelial carcinoma, 1 basal cell carcinoma,
# 2 benign keratosis-like lesions, 3 dermatofibroma, 4 melanoma, 5 melanocytic nevi, 6 vascular lesions.
LABEL_CODES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")


def _find_npz(root: Path, size: int | None) -> Path:
    """Find the DermaMNIST file under ``root`` for ``size`` (or the only one present when ``size`` is None)."""
    if size is not None and size not in FILES:
        raise ConfigError(f"DermaMNIST size must be one of {', '.join(map(str, FILES))} (or None); got {size!r}")
    candidates = sorted(
        (p for p in root.rglob("dermamnist*.npz") if p.name in FILES.values() and p.is_file()),
        key=lambda p: (len(p.parts), str(p)),
    )
    found = ", ".join(str(p) for p in candidates) or "none"
    if size is not None:
        matching = [p for p in candidates if p.name == FILES[size]]
        if not matching:
            raise DataError(
                f"no {FILES[size]} (DermaMNIST at {size} px) under {str(root)!r}; DermaMNIST files found: {found}"
            )
        return matching[0]
    if not candidates:
        raise DataError(
            f"no DermaMNIST file ({', '.join(FILES.values())}) under {str(root)!r}; download it with the medmnist "
            "package and point `data_dir` at its folder"
        )
    if len(candidates) > 1:
        raise DataError(
            f"several DermaMNIST files under {str(root)!r}: {found}. Pass size= one of "
            f"{', '.join(map(str, FILES))} to choose one."
        )
    return candidates[0]


def _array_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Shape of every array in the ``.npz`` at ``path``, read from the headers without loading the data."""
    shapes: dict[str, tuple[int, ...]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    continue
                with archive.open(member) as handle:
                    version = np.lib.format.read_magic(handle)
                    if version == (1, 0):
                        shape, _, _ = np.lib.format.read_array_header_1_0(handle)
                    elif version == (2, 0):
                        shape, _, _ = np.lib.format.read_array_header_2_0(handle)
                    else:  # rare header versions: fall back to loading the array
                        with np.load(path) as arrays:
                            shape = arrays[member[: -len(".npy")]].shape
                shapes[member[: -len(".npy")]] = tuple(shape)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(f"cannot read {str(path)!r} as a .npz archive: {error}") from error
    return shapes


def read_dermamnist(root: str | Path, source: str = "dermamnist", size: int | None = None) -> LesionRecords:
    """Read DermaMNIST (all three official splits).

    Args:
        root: folder holding the MedMNIST ``dermamnist*.npz`` file(s), directly or below it.
        source: name stored in the ``source`` column.
        size: image size to read (28, 64, 128 or 224); None picks the only DermaMNIST file present.

    Returns:
        Records in the :data:`~skinsynth.classes.HAM10000` vocabulary with ids ``dermamnist_<split>_<row:05d>``, each
        image its own group, and an ``official_split`` column (``train``, ``val``, ``test``).

    Raises:
        ConfigError: ``size`` is not a DermaMNIST size.
        DataError: the root or the file is missing, several files match, an array is missing or malformed, or a
            label is outside 0..6.

    """
    root = require_dir(root, "DermaMNIST")
    path = _find_npz(root, size)
    shapes = _array_shapes(path)
    needed = [f"{split}_{kind}" for split in SPLITS for kind in ("images", "labels")]
    missing = [name for name in needed if name not in shapes]
    if missing:
        raise DataError(
            f"{str(path)!r} is missing array(s) {missing}; it has {sorted(shapes)}. Expected the MedMNIST arrays "
            f"{needed}."
        )
    container = str(path.resolve())
    image_ids: list[str] = []
    paths: list[str] = []
    codes: list[str] = []
    splits: list[str] = []
    with np.load(path) as arrays:
        for split in SPLITS:
            image_shape = shapes[f"{split}_images"]
            labels = np.asarray(arrays[f"{split}_labels"])
            if labels.ndim == 2 and labels.shape[1] == 1:
                labels = labels[:, 0]
            if labels.ndim != 1 or len(image_shape) not in (3, 4) or image_shape[0] != len(labels):
                raise DataError(
                    f"{str(path)!r}: {split}_images has shape {image_shape} and {split}_labels has shape "
                    f"{arrays[f'{split}_labels'].shape}; expected (N, H, W, 3) images and (N, 1) labels"
                )
            if not np.issubdtype(labels.dtype, np.number):
                raise DataError(f"{str(path)!r}: {split}_labels has dtype {labels.dtype}; expected integer labels")
            outside = (labels < 0) | (labels >= len(LABEL_CODES)) | (labels != np.round(labels))
            bad = [f"row {row} (label {labels[row]})" for row in np.flatnonzero(outside)]
            if bad:
                raise DataError(
                    f"{str(path)!r}: {len(bad)} {split} label(s) outside 0..6: {preview(bad)}; is this DermaMNIST?"
                )
            for row, label in enumerate(labels):
                image_ids.append(f"dermamnist_{split}_{row:05d}")
                paths.append(f"{container}{CONTAINER_SEPARATOR}{split}_images/{row}")
                codes.append(LABEL_CODES[int(label)])
                splits.append(split)
    if not image_ids:
        raise DataError(f"{str(path)!r} holds no images")
    return LesionRecords.build(
        image_ids=image_ids,
        paths=paths,
        codes=codes,
        vocabulary=HAM10000,
        source=source,
        extra=pd.DataFrame({"official_split": splits}),
    )
