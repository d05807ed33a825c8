"""The toy set on disk: the plan of lesions and images, writing it HAM10000-shaped, and reading it back."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from skinsynth.classes import HAM10000
from skinsynth.data.records import LesionRecords
from skinsynth.data.sources.ham10000 import METADATA_FILE, read_ham10000
from skinsynth.data.sources.toy.painter import MIN_IMAGE_SIZE, check_int, render_toy_image
from skinsynth.errors import ConfigError, DataError
from skinsynth.io import atomic_write_bytes

#: Number of images per class in the real HAM10000; the default toy set follows these proportions.
HAM10000_COUNTS: dict[str, int] = {
    "nv": 6705,
    "mel": 1113,
    "bkl": 1099,
    "bcc": 514,
    "akiec": 327,
    "vasc": 142,
    "df": 115,
}


CONFIG_FILE = "toy_config.json"


IMAGE_DIR = "images"


#: Bump when the painting changes, so folders made by an older version are not silently mixed with new images.
GENERATOR_VERSION = 1


JPEG_QUALITY = 95


#: Probability that a lesion gets more than one image (when ``max_images_per_lesion`` > 1).
MULTI_VIEW_RATE = 0.25


_LOCALIZATIONS = (
    "back",
    "lower extremity",
    "trunk",
    "upper extremity",
    "abdomen",
    "face",
    "chest",
    "foot",
    "neck",
    "scalp",
    "hand",
    "ear",
    "unknown",
)


_LOCALIZATION_WEIGHTS = np.array([22, 21, 14, 11, 10, 7, 4, 3, 2, 1.3, 1, 0.6, 2.3])


_AGE_MEANS = {"nv": 42, "mel": 62, "bkl": 60, "bcc": 66, "akiec": 67, "df": 52, "vasc": 47}


def toy_class_counts(total: int, min_per_class: int = 60) -> dict[str, int]:
    """Images per class for a toy set of ``total`` images with HAM10000's class imbalance.

    Shares follow HAM10000 (nv 66.9 %, mel 11.1 %, bkl 11.0 %, bcc 5.1 %, akiec 3.3 %, vasc 1.4 %, df 1.1 %), rounded
    by largest remainder; classes below ``min_per_class`` are raised to it and the images this costs are taken from
    the largest classes, so the counts always sum to ``total``.

    Args:
        total: number of images in the set.
        min_per_class: smallest number of images any class gets (at least 1).

    Returns:
        Class code → number of images, in HAM10000 vocabulary order.

    Raises:
        ConfigError: when ``min_per_class`` < 1 or ``total`` cannot give every class ``min_per_class`` images.

    """
    check_int("min_per_class", min_per_class, 1)
    check_int("total", total, 1)
    codes = HAM10000.codes
    if total < len(codes) * min_per_class:
        raise ConfigError(
            f"total={total} is too small for min_per_class={min_per_class}: the {len(codes)} classes need at least "
            f"{len(codes) * min_per_class} images; raise total or lower min_per_class"
        )
    weights = np.array([HAM10000_COUNTS[c] for c in codes], dtype=np.float64)
    share = weights / weights.sum() * total
    counts = np.floor(share).astype(np.int64)
    by_remainder = np.argsort(-(share - counts), kind="stable")
    counts[by_remainder[: total - int(counts.sum())]] += 1
    counts = np.maximum(counts, min_per_class)
    for _ in range(int(counts.sum()) - total):
        counts[int(np.argmax(counts))] -= 1
    return {code: int(n) for code, n in zip(codes, counts, strict=True)}


def _resolve_counts(total: int, counts: dict[str, int] | None, min_per_class: int) -> dict[str, int]:
    if counts is None:
        return toy_class_counts(total, min_per_class)
    if not isinstance(counts, dict) or not counts:
        raise DataError(f"counts must be a non-empty dict of class code -> number of images, got {counts!r}")
    unknown = [str(code) for code in counts if code not in HAM10000.codes]
    if unknown:
        raise DataError(
            f"unknown class code(s) {', '.join(repr(c) for c in unknown)} in counts; "
            f"the toy set uses the HAM10000 codes: {', '.join(HAM10000.codes)}"
        )
    bad = {c: n for c, n in counts.items() if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1}
    if bad:
        raise DataError(f"counts must be whole numbers ≥ 1; got {bad}")
    return {code: int(counts[code]) for code in HAM10000.codes if code in counts}


@dataclass(frozen=True)
class _Row:
    image_index: int
    lesion_index: int
    code: str
    view: int

    @property
    def image_id(self) -> str:
        return f"TOY_{self.image_index:07d}"

    @property
    def lesion_id(self) -> str:
        return f"TOYL_{self.lesion_index:07d}"


def _plan(counts: dict[str, int], seed: int, max_images_per_lesion: int) -> list[_Row]:
    """Lesions (with 1 to ``max_images_per_lesion`` images each) and image numbers, in lesion order."""
    rng = np.random.default_rng([seed, 0])
    lesions: list[tuple[str, int]] = []
    for code, n in counts.items():
        left = n
        while left > 0:
            views = 1
            if max_images_per_lesion > 1 and left > 1 and rng.random() < MULTI_VIEW_RATE:
                views = int(rng.integers(2, min(max_images_per_lesion, left) + 1))
            lesions.append((code, views))
            left -= views
    lesions = [lesions[i] for i in rng.permutation(len(lesions))]
    numbers = rng.permutation(sum(views for _, views in lesions))
    rows: list[_Row] = []
    for lesion_index, (code, views) in enumerate(lesions):
        for view in range(views):
            rows.append(_Row(int(numbers[len(rows)]), lesion_index, code, view))
    return rows


def _lesion_metadata(code: str, seed: int, lesion_index: int) -> dict[str, str]:
    rng = np.random.default_rng([seed, 3, lesion_index])
    age = float(np.clip(round(rng.normal(_AGE_MEANS[code], 15) / 5) * 5, 0, 85))
    sex = str(rng.choice(["male", "female", "unknown"], p=[0.54, 0.45, 0.01]))
    where = str(rng.choice(_LOCALIZATIONS, p=_LOCALIZATION_WEIGHTS / _LOCALIZATION_WEIGHTS.sum()))
    return {"age": f"{age:.1f}", "sex": sex, "localization": where}


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
    class_counts = _resolve_counts(total, counts, min_per_class)
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
    rows = _plan(class_counts, seed, max_images_per_lesion)
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
        meta = _lesion_metadata(row.code, seed, row.lesion_index)
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
