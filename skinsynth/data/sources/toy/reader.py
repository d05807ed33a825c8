"""The toy set on disk: writing its plan HAM10000-shaped, reading it back, and its one default folder."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from skinsynth.data.records import LesionRecords
from skinsynth.data.sources.ham10000 import METADATA_FILE, read_ham10000
from skinsynth.data.sources.toy.painter import MIN_IMAGE_SIZE, check_int, render_toy_image
from skinsynth.data.sources.toy.plan import lesion_metadata, plan_rows, resolve_counts
from skinsynth.errors import DataError
from skinsynth.io import atomic_write_bytes

#: Environment variable naming the folder toy sets are cached in (default ``~/.cache/skinsynth``).
CACHE_VARIABLE = "SKINSYNTH_CACHE"

CONFIG_FILE = "toy_config.json"


IMAGE_DIR = "images"


#: Bump when the painting changes, so folders made by an older version are not silently mixed with new images.
GENERATOR_VERSION = 1


JPEG_QUALITY = 95


def default_toy_dir(image_size: int, **options: Any) -> Path:
    """The one default folder of a toy set: ``<cache>/toy-<image_size>px[-<options>]``.

    The study (``data.data_dir`` unset) and :class:`~skinsynth.data.datamodule.SkinLesionDataModule` (``data_dir``
    unset) both use it, so the same arguments reuse one set. ``<cache>`` is ``$SKINSYNTH_CACHE``, else
    ``~/.cache/skinsynth``. ``options`` are :func:`make_toy_dataset`'s arguments (``total``, ``min_per_class``, ...);
    the folder name holds them, and :func:`make_toy_dataset` refuses a folder made with others.
    """
    cache = Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "skinsynth").expanduser()
    tag = "-".join(f"{k}{v}" for k, v in sorted(options.items()))
    return cache / f"toy-{image_size}px{('-' + tag) if tag else ''}"


def _save_image(pixels: np.ndarray, path: Path) -> None:
    """Encode ``pixels`` as JPEG (fixed quality, so the bytes are reproducible) and write it atomically."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    atomic_write_bytes(buffer.getvalue(), path)


# The arguments that decide a toy set's content; a folder is reused only when all of them match.
_IDENTITY_KEYS = ("generator", "version", "class_counts", "image_size", "seed", "max_images_per_lesion")


def _load_config(path: Path) -> dict[str, Any] | None:
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def make_toy_dataset(
    root: str | Path,
    *,
    total: int = 2000,
    counts: dict[str, int] | None = None,
    min_per_class: int = 60,
    image_size: int = 64,
    seed: int = 0,
    max_images_per_lesion: int = 2,
) -> Path:
    """Write a toy set in HAM10000 format into ``root``, unless ``root`` already holds the same set.

    The folder gets ``images/TOY_0000123.jpg``, ``toy_config.json`` (the generation arguments) and, written last and
    atomically, ``HAM10000_metadata.csv`` (``lesion_id,image_id,dx,dx_type,age,sex,localization``). A generation that
    is interrupted therefore leaves no metadata file, and the next call starts again.

    Args:
        root: output folder (created if needed).
        total: number of images when ``counts`` is not given.
        counts: images per class code (HAM10000 codes; classes left out get none); overrides ``total`` and
            ``min_per_class``.
        min_per_class: smallest class size when ``counts`` is not given (see :func:`toy_class_counts`).
        image_size: side of the square images in pixels (≥ 8).
        seed: random seed; the same arguments always give the same bytes.
        max_images_per_lesion: up to this many views of one lesion (about a quarter of lesions get more than one).

    Returns:
        ``root`` as a Path.

    Raises:
        DataError: bad ``counts``, or ``root`` already holds a metadata file made otherwise (a toy set with other
            arguments, or a real HAM10000 copy).
        ConfigError: impossible sizes (``image_size`` < 8, ``total`` too small for ``min_per_class`` …).

    """
    check_int("image_size", image_size, MIN_IMAGE_SIZE)
    check_int("seed", seed, 0)
    check_int("max_images_per_lesion", max_images_per_lesion, 1)
    class_counts = resolve_counts(total, counts, min_per_class)
    config = {
        "generator": "skinsynth.toy",
        "version": GENERATOR_VERSION,
        "class_counts": class_counts,
        "image_size": int(image_size),
        "seed": int(seed),
        "max_images_per_lesion": int(max_images_per_lesion),
        "total": int(sum(class_counts.values())),
        "min_per_class": None if counts is not None else int(min_per_class),
    }
    root = Path(root).expanduser()
    metadata_path = root / METADATA_FILE
    config_path = root / CONFIG_FILE
    if metadata_path.is_file():
        existing = _load_config(config_path)
        if existing is None:
            raise DataError(
                f"{str(root)!r} already holds a {METADATA_FILE} that was not made by the toy generator (no readable "
                f"{CONFIG_FILE}); use another folder for the toy set"
            )
        differences = [
            f"{k}: {existing.get(k)!r} there, {config[k]!r} asked"
            for k in _IDENTITY_KEYS
            if existing.get(k) != config[k]
        ]
        if differences:
            raise DataError(
                f"{str(root)!r} holds a toy set made with other arguments ({'; '.join(differences)}); use another "
                "folder (or delete this one) to make a toy set with these arguments"
            )
        return root

    images = root / IMAGE_DIR
    images.mkdir(parents=True, exist_ok=True)
    rows = plan_rows(class_counts, seed, max_images_per_lesion)
    wanted = {f"{row.image_id}.jpg" for row in rows}
    for stale in images.glob("TOY_*.jpg"):  # left by an interrupted generation with other arguments
        if stale.name not in wanted:
            stale.unlink(missing_ok=True)
    for row in rows:
        pixels = render_toy_image(
            row.code,
            seed=seed,
            lesion_index=row.lesion_index,
            image_index=row.image_index,
            view=row.view,
            image_size=image_size,
        )
        _save_image(pixels, images / f"{row.image_id}.jpg")

    records = []
    for row in rows:
        meta = lesion_metadata(row.code, seed, row.lesion_index)
        records.append({"lesion_id": row.lesion_id, "image_id": row.image_id, "dx": row.code, "dx_type": "toy", **meta})
    frame = pd.DataFrame(records, columns=["lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization"])
    atomic_write_bytes((json.dumps(config, indent=2) + "\n").encode(), config_path)
    atomic_write_bytes(frame.to_csv(index=False, lineterminator="\n").encode(), metadata_path)
    return root


def read_toy(
    root: str | Path,
    *,
    total: int = 2000,
    counts: dict[str, int] | None = None,
    min_per_class: int = 60,
    image_size: int = 64,
    seed: int = 0,
    max_images_per_lesion: int = 2,
) -> LesionRecords:
    """Make the toy set in ``root`` if it is not there yet, then read it as HAM10000 records with source ``toy``.

    Args:
        root: folder for the toy set.
        total: number of images when ``counts`` is not given.
        counts: images per class code; overrides ``total`` and ``min_per_class``.
        min_per_class: smallest class size when ``counts`` is not given.
        image_size: side of the square images in pixels.
        seed: random seed.
        max_images_per_lesion: up to this many views of one lesion.

    Returns:
        The records, grouped by ``lesion_id``.

    Raises:
        DataError: see :func:`make_toy_dataset`.

    """
    make_toy_dataset(
        root,
        total=total,
        counts=counts,
        min_per_class=min_per_class,
        image_size=image_size,
        seed=seed,
        max_images_per_lesion=max_images_per_lesion,
    )
    return read_ham10000(root, source="toy")
