"""The plan of a toy set: how many images per class, which lesions get a second view, their metadata."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skinsynth.classes import HAM10000
from skinsynth.data.sources.toy.painter import check_int
from skinsynth.errors import ConfigError, DataError

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


def resolve_counts(total: int, counts: dict[str, int] | None, min_per_class: int) -> dict[str, int]:
    """Images per class: ``counts`` checked (HAM10000 codes, whole numbers ≥ 1), else :func:`toy_class_counts`."""
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
class PlannedImage:
    """One image of the plan: its number, its lesion, its class and which view of the lesion it is."""

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


def plan_rows(counts: dict[str, int], seed: int, max_images_per_lesion: int) -> list[PlannedImage]:
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
    rows: list[PlannedImage] = []
    for lesion_index, (code, views) in enumerate(lesions):
        for view in range(views):
            rows.append(PlannedImage(int(numbers[len(rows)]), lesion_index, code, view))
    return rows


def lesion_metadata(code: str, seed: int, lesion_index: int) -> dict[str, str]:
    """Age, sex and localization of a lesion, drawn around HAM10000's (age by class)."""
    rng = np.random.default_rng([seed, 3, lesion_index])
    age = float(np.clip(round(rng.normal(_AGE_MEANS[code], 15) / 5) * 5, 0, 85))
    sex = str(rng.choice(["male", "female", "unknown"], p=[0.54, 0.45, 0.01]))
    where = str(rng.choice(_LOCALIZATIONS, p=_LOCALIZATION_WEIGHTS / _LOCALIZATION_WEIGHTS.sum()))
    return {"age": f"{age:.1f}", "sex": sex, "localization": where}
