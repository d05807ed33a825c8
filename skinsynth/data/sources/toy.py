"""A procedural, deterministic, 7-class dermoscopy-like dataset that needs no download.

:func:`make_toy_dataset` paints a HAM10000-shaped set (``HAM10000_metadata.csv`` + ``images/TOY_0000123.jpg``) with the
HAM10000 class imbalance, and :func:`read_toy` reads it back through :func:`~skinsynth.data.sources.ham10000.
read_ham10000`, so the demo and the tests exercise the real reader, splits grouped by ``lesion_id`` included (about a
quarter of the lesions have a second view: the same lesion slightly shifted, rotated and re-lit).

Every image is a skin-tone background (light to dark tones, smooth low-frequency shading, fine texture noise, sometimes
hairs and the dark corners of a dermoscope's round field) with one lesion. The lesion outline is an ellipse whose radius
is perturbed by a few random Fourier harmonics; colours and inner structures are loosely inspired by dermoscopy:

========= =======================================================================================================
``nv``    round/oval, regular border, fairly uniform tan to dark brown; often a regular pigment network or evenly
          spread globules. Sub-types: atypical (bumpier border, two shades, uneven globules), dermal (pale pink-tan,
          soft border, sometimes a few comma vessels), blue (homogeneous blue-grey).
``mel``   larger, asymmetric, irregular border blurred on one side; several colours (light/dark brown, black,
          blue-grey, red, white) in blotches, irregular dots (some beyond the border), sometimes an atypical network,
          a blue-white veil or a white regression area. Sub-types: early (small, fairly regular, one or two extra
          colours), hypomelanotic (pink/red with little pigment).
``bkl``   tan to brown, sharply demarcated ("stuck-on"): waxy seborrheic keratoses with cerebriform ridges,
          dark comedo-like openings and white milia-like cysts (a quarter are dark brown); flat solar lentigines with
          a moth-eaten border (sometimes a faint network); grey-brown lichen-planus-like keratoses with peppering.
``bcc``   pinkish, translucent, shiny white areas, arborizing red vessels (branching lines); sometimes blue-grey or
          brown ovoid nests (pigmented BCC) or a dark red ulceration; superficial ones are faint and ill-defined.
``akiec`` red/pink, ill-defined border, scaly rough surface (white-yellow scale); sometimes a "strawberry" pattern
          of white follicular openings or a brown (pigmented) component.
``df``    small, round; a central white scar-like patch with a faint brown ring (sometimes a delicate network); a
          quarter have no white patch and look like a small nevus.
``vasc``  red to purple lobules (red lacunae) separated by lighter septa; some are dark, thrombosed, almost black,
          some faint and brownish-pink.
========= =======================================================================================================

Within a class, every parameter (size, position, rotation, aspect ratio, colours, how many dots or vessels) is drawn
from wide ranges, and each lesion has a random *strength* that scales how clearly its class structures show; images
also vary in focus, contrast, lighting and colour cast. Classes therefore overlap (atypical nevi vs. early melanomas,
dark keratoses vs. nevi, superficial BCC vs. AK, pigmented BCC/AK vs. melanoma, a df without its white patch vs. a
nevus): with 20 images per class a small CNN gets roughly half of a balanced test set right, with all the data clearly
more.

Generation is deterministic: a lesion's look comes from a numpy ``Generator`` seeded with ``(seed, lesion index)`` and
an image's view and noise from one seeded with ``(seed, image index)``; JPEGs use a fixed quality (the bytes are the
same for the same arguments and Pillow version). Images are painted at ``max(image_size, 64)`` pixels and downsampled
when smaller, so any size from 8 px up works.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFilter

from skinsynth.classes import HAM10000
from skinsynth.data.records import LesionRecords
from skinsynth.data.sources.ham10000 import METADATA_FILE, read_ham10000
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
MIN_IMAGE_SIZE = 8
#: Images are painted at least this large, then downsampled.
RENDER_MIN_SIZE = 64
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

_Color = tuple[float, float, float]
_Pigment = Callable[[Any], np.ndarray]

# Skin tones from very light to very dark (RGB in [0, 1]).
_SKIN_TONES = np.array(
    [
        (0.96, 0.83, 0.76),
        (0.92, 0.74, 0.64),
        (0.82, 0.62, 0.49),
        (0.67, 0.47, 0.34),
        (0.49, 0.33, 0.23),
        (0.33, 0.22, 0.16),
    ],
    dtype=np.float32,
)

TAN: _Color = (0.76, 0.58, 0.42)
LIGHT_BROWN: _Color = (0.62, 0.42, 0.28)
BROWN: _Color = (0.45, 0.28, 0.17)
DARK_BROWN: _Color = (0.28, 0.17, 0.11)
BLACK: _Color = (0.10, 0.08, 0.08)
BLUE_GREY: _Color = (0.42, 0.46, 0.56)
RED: _Color = (0.78, 0.22, 0.24)
DARK_RED: _Color = (0.50, 0.10, 0.12)
PINK: _Color = (0.93, 0.62, 0.62)
WHITE: _Color = (0.94, 0.91, 0.88)
YELLOW_WHITE: _Color = (0.95, 0.90, 0.72)
PURPLE: _Color = (0.42, 0.16, 0.36)
HAIR: _Color = (0.12, 0.09, 0.07)


# ---------------------------------------------------------------------------------------------------------------------
# Class counts and the plan of lesions and images


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
    _check_int("min_per_class", min_per_class, 1)
    _check_int("total", total, 1)
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


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be a whole number ≥ {minimum}, got {value!r}")


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


# ---------------------------------------------------------------------------------------------------------------------
# Painting


def _rot(x: np.ndarray, y: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = math.cos(angle), math.sin(angle)
    return c * x - s * y, s * x + c * y


def _mix(a: _Color | np.ndarray, b: _Color | np.ndarray, t: float) -> np.ndarray:
    return (1 - t) * np.asarray(a, dtype=np.float32) + t * np.asarray(b, dtype=np.float32)


class _Canvas:
    """Pixel grid, view transform, lesion frame and the compositing helpers the class painters use.

    Coordinates: *image* ``u, v`` in [-1, 1]; *world* = the skin surface (image = rotate(world, view angle) + shift);
    *local* = world relative to the lesion centre, rotated by the lesion angle; *normalized* = local divided by the
    lesion radius ``r0`` (and by ``r0 * aspect`` along y for the ellipse coordinates ``ex, ey``).
    """

    def __init__(self, size: int, shift: tuple[float, float], angle: float) -> None:
        self.size = size
        self.shift = shift
        self.angle = angle
        axis = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
        self.u, self.v = np.meshgrid(axis, axis)
        self.wx, self.wy = _rot(self.u - shift[0], self.v - shift[1], -angle)
        self.img = np.zeros((size, size, 3), dtype=np.float32)

    def set_frame(self, cx: float, cy: float, theta: float, r0: float, aspect: float) -> None:
        self.cx, self.cy, self.theta, self.r0, self.aspect = cx, cy, theta, r0, aspect
        self.lx, self.ly = _rot(self.wx - cx, self.wy - cy, -theta)
        self.ex = self.lx / r0
        self.ey = self.ly / (r0 * aspect)
        self.rho = np.hypot(self.ex, self.ey)
        self.phi = np.arctan2(self.ey, self.ex)
        self.pixel = 2.0 / self.size / r0  # one pixel in normalized units

    # -- fields -------------------------------------------------------------------------------------------------------
    def border(self, rng: np.random.Generator, kmax: int, amp: float) -> np.ndarray:
        """Return the normalized radius ``d`` (1 on the border) of a shape with ``kmax`` random radial harmonics."""
        ks = np.arange(1, kmax + 1, dtype=np.float32)
        amps = rng.normal(0, amp, kmax).astype(np.float32) / np.sqrt(ks)
        phases = rng.uniform(0, 2 * np.pi, kmax).astype(np.float32)
        radius = 1 + np.tensordot(amps, np.cos(ks[:, None, None] * self.phi + phases[:, None, None]), axes=1)
        return self.rho / np.maximum(radius, 0.35)

    def waves(self, rng: np.random.Generator, n: int, freq: tuple[float, float], world: bool = False) -> np.ndarray:
        """Smooth random field (about unit variance): a sum of ``n`` plane waves, frequencies in cycles per unit."""
        f = rng.uniform(*freq, n).astype(np.float32)
        a = rng.uniform(0, 2 * np.pi, n).astype(np.float32)
        p = rng.uniform(0, 2 * np.pi, n).astype(np.float32)
        x, y = (self.wx, self.wy) if world else (self.lx / self.r0, self.ly / self.r0)
        kx, ky = 2 * np.pi * f * np.cos(a), 2 * np.pi * f * np.sin(a)
        return np.cos(kx[:, None, None] * x + ky[:, None, None] * y + p[:, None, None]).sum(0) * math.sqrt(2 / n)

    def points(self, rng: np.random.Generator, n: int, radius: float) -> np.ndarray:
        """``n`` random points uniformly inside the normalized ellipse of ``radius``, as (n, 2) ellipse coordinates."""
        r = radius * np.sqrt(rng.uniform(0, 1, n))
        t = rng.uniform(0, 2 * np.pi, n)
        return np.stack([r * np.cos(t), r * np.sin(t)], axis=1).astype(np.float32)

    def discs(self, centers: np.ndarray, radii: np.ndarray, hardness: float = 4.0) -> np.ndarray:
        """Union of soft discs at ellipse coordinates ``centers`` with normalized ``radii``; (n, S, S) alphas."""
        if len(centers) == 0:
            return np.zeros((0, self.size, self.size), dtype=np.float32)
        px = centers[:, 0, None, None]
        py = centers[:, 1, None, None] * self.aspect
        dist = np.hypot(self.lx / self.r0 - px, self.ly / self.r0 - py)
        r = np.asarray(radii, dtype=np.float32)[:, None, None]
        edge = np.maximum(r / hardness, self.pixel)
        return np.clip((r - dist) / edge + 0.5, 0, 1)

    def mask(self, d: np.ndarray, soft: float | np.ndarray) -> np.ndarray:
        """Soft inside-mask of a shape from its normalized radius ``d``; ``soft`` is the edge width."""
        return 0.5 + 0.5 * np.tanh((1 - d) / (2 * np.maximum(soft, self.pixel)))

    def network(self, rng: np.random.Generator, freq: float, width: float, warp: float) -> np.ndarray:
        """Return a honeycomb-like pigment network (lines ≈ 1) in normalized lesion coordinates."""
        angle = rng.uniform(0, np.pi)
        x, y = _rot(self.lx / self.r0, self.ly / self.r0, angle)
        w1 = warp * self.waves(rng, 4, (0.5, 1.5))
        w2 = warp * self.waves(rng, 4, (0.5, 1.5))
        l1 = np.exp(-((np.sin(np.pi * freq * x + w1) / width) ** 2))
        l2 = np.exp(-((np.sin(np.pi * freq * y + w2) / width) ** 2))
        return np.maximum(l1, l2)

    # -- compositing --------------------------------------------------------------------------------------------------
    def over(self, color: _Color | np.ndarray, alpha: np.ndarray | float) -> None:
        """Paint ``color`` (RGB or an (S, S, 3) map) over the image with opacity ``alpha``."""
        a = np.clip(alpha, 0, 1)
        if isinstance(a, np.ndarray):
            a = a[..., None]
        self.img = self.img * (1 - a) + np.asarray(color, dtype=np.float32) * a

    def lines(self, strokes: list[tuple[np.ndarray, float]], world: bool = False) -> np.ndarray:
        """Antialiased mask of polylines (normalized lesion coordinates, or world); widths in pixels at 64 px."""
        scale = 2
        big = self.size * scale
        canvas = Image.new("L", (big, big), 0)
        draw = ImageDraw.Draw(canvas)
        for points, width in strokes:
            if world:
                wx, wy = points[:, 0], points[:, 1]
            else:
                lx, ly = points[:, 0] * self.r0, points[:, 1] * self.r0
                dx, dy = _rot(lx, ly, self.theta)
                wx, wy = dx + self.cx, dy + self.cy
            u, v = _rot(wx, wy, self.angle)
            x = (u + self.shift[0] + 1) * big / 2
            y = (v + self.shift[1] + 1) * big / 2
            px = max(1, round(width * self.size / 64 * scale))
            draw.line(list(zip(x.tolist(), y.tolist(), strict=True)), fill=255, width=px, joint="curve")
        small = canvas.resize((self.size, self.size), Image.Resampling.BOX)
        return np.asarray(small, dtype=np.float32) / 255


def _polyline(rng: np.random.Generator, start: np.ndarray, angle: float, length: float, bend: float) -> np.ndarray:
    steps = 6
    turns = angle + np.cumsum(rng.normal(0, bend, steps))
    deltas = np.stack([np.cos(turns), np.sin(turns)], axis=1) * (length / steps)
    return np.vstack([start[None], start[None] + np.cumsum(deltas, axis=0)]).astype(np.float32)


def _vessel_tree(
    rng: np.random.Generator, start: np.ndarray, angle: float, length: float, width: float, depth: int
) -> list[tuple[np.ndarray, float]]:
    line = _polyline(rng, start, angle, length, 0.25)
    strokes = [(line, width)]
    if depth > 0:
        for side in (-1, 1):
            turn = side * rng.uniform(0.35, 0.9)
            strokes += _vessel_tree(
                rng, line[-1], angle + turn, length * rng.uniform(0.5, 0.8), max(width * 0.7, 0.6), depth - 1
            )
    return strokes


def _paint_skin(c: _Canvas, rng: np.random.Generator) -> float:
    """Background skin; returns the darkness of the tone in [0, 1]."""
    darkness = float(rng.beta(1.3, 2.6))
    pos = darkness * (len(_SKIN_TONES) - 1)
    low = min(int(pos), len(_SKIN_TONES) - 2)
    tone = _mix(_SKIN_TONES[low], _SKIN_TONES[low + 1], pos - low)
    redness = max(rng.normal(0.02, 0.03), -0.01)
    tone = tone + np.array([redness, -0.5 * redness, -0.3 * redness], dtype=np.float32) + rng.normal(0, 0.015, 3)
    shading = 1 + rng.uniform(0.03, 0.10) * c.waves(rng, 4, (0.15, 0.7), world=True)
    c.img = tone[None, None, :] * shading[..., None]
    return darkness


def _paint_nv(c: _Canvas, rng: np.random.Generator, pigment: _Pigment, noise: np.random.Generator) -> None:
    kind = rng.choice(4, p=[0.6, 0.2, 0.12, 0.08])  # common, atypical (dysplastic), dermal (pale, soft), blue
    strength = rng.uniform(0.15, 1.0)
    c.set_frame(*_place(rng, 0.2, 0.6, 0.65))
    d = c.border(rng, 7 if kind == 1 else 4, 0.09 if kind == 1 else 0.035)
    soft = rng.uniform(0.1, 0.2) if kind == 2 else rng.uniform(0.03, 0.1)
    alpha = c.mask(d, soft) * rng.uniform(0.55, 0.95)
    if kind == 2:
        base = _mix(c.img.mean((0, 1)), _mix(TAN, PINK, rng.uniform(0, 1)), rng.uniform(0.4, 0.8))
    elif kind == 3:
        base = pigment(_mix(BLUE_GREY, DARK_BROWN, rng.uniform(0, 0.5)))
    else:
        base = pigment(_mix(TAN, DARK_BROWN, rng.uniform(0.15, 0.9)))
    gradient = rng.uniform(-0.25, 0.25)
    color = base * (1 + gradient * (np.clip(d, 0, 1) - 0.5))[..., None]
    if kind == 1:
        zone = np.clip(c.waves(rng, 5, (0.4, 1.2)), 0, 1)[..., None]
        color = color * (1 - zone) + pigment(_mix(base, DARK_BROWN if rng.random() < 0.5 else TAN, 0.6)) * zone
    c.over(color, alpha)
    inner = np.clip((1 - d) / 0.4, 0, 1)
    pattern = rng.choice(3, p=[0.35, 0.4, 0.25])
    if pattern == 1 and kind != 3:
        net = c.network(rng, rng.uniform(3.5, 6), rng.uniform(0.15, 0.3), 1.0 if kind == 1 else 0.6)
        c.over(pigment(DARK_BROWN), net * inner * rng.uniform(0.3, 0.6) * strength)
    elif pattern == 2 and kind != 3:
        n = int(rng.integers(6, 20))
        sizes = np.full(n, rng.uniform(0.05, 0.1)) * (rng.uniform(0.5, 1.5, n) if kind == 1 else 1)
        dots = c.discs(c.points(rng, n, 0.8 if kind != 1 else 1.0), sizes)
        c.over(pigment(DARK_BROWN), dots.max(0) * rng.uniform(0.4, 0.7) * strength)
    if kind == 2 and rng.random() < 0.5:
        strokes = [
            (_polyline(rng, c.points(rng, 1, 0.7)[0], rng.uniform(0, 2 * np.pi), 0.25, 0.5), 1.0)
            for _ in range(int(rng.integers(1, 4)))
        ]
        c.over(RED, c.lines(strokes) * alpha * 0.6 * strength)


def _paint_mel(c: _Canvas, rng: np.random.Generator, pigment: _Pigment, noise: np.random.Generator) -> None:
    kind = rng.choice(3, p=[0.6, 0.25, 0.15])  # classic, early (small, fairly regular), hypomelanotic (pink)
    strength = rng.uniform(0.3, 1.0) if kind == 0 else rng.uniform(0.1, 0.7)
    if kind == 1:
        c.set_frame(*_place(rng, 0.22, 0.45, 0.6))
    else:
        c.set_frame(*_place(rng, 0.35, 0.72, 0.55))
    d = c.border(rng, 7, 0.05 if kind == 1 else rng.uniform(0.06, 0.15))
    soft = rng.uniform(0.03, 0.10) * (1 + 0.9 * np.cos(c.phi - rng.uniform(0, 2 * np.pi)))
    alpha = c.mask(d, soft) * rng.uniform(0.7, 0.97)
    if kind == 2:
        palette = [PINK, RED, LIGHT_BROWN, TAN, WHITE]
        chosen = [PINK, *(palette[i] for i in rng.choice(len(palette), int(rng.integers(1, 3)), replace=False))]
    else:
        palette = [LIGHT_BROWN, BROWN, DARK_BROWN, BLACK, BLUE_GREY, RED, WHITE, TAN]
        extra = int(rng.integers(1, 3)) if kind == 1 else int(rng.integers(2, 5))
        chosen = [BROWN, *(palette[i] for i in rng.choice(len(palette), extra, replace=False))]
    fields = np.stack([c.waves(rng, 5, (0.4, 1.6)) for _ in chosen])
    weights = np.exp(rng.uniform(1.5, 4) * (fields - fields.max(0)))
    weights /= weights.sum(0)
    colors = np.stack([pigment(col) for col in chosen])
    c.over(np.tensordot(weights, colors, axes=([0], [0])), alpha)
    if rng.random() < 0.5:
        net = c.network(rng, rng.uniform(3, 5), rng.uniform(0.2, 0.4), 1.5)
        patches = np.clip(c.waves(rng, 4, (0.5, 1.2)), 0, 1)
        c.over(pigment(BLACK), net * patches * alpha * 0.6 * strength)
    n = int(rng.integers(2, 25))
    dots = c.discs(c.points(rng, n, 1.1), rng.uniform(0.02, 0.08, n))
    c.over(pigment(BLACK if rng.random() < 0.5 else DARK_BROWN), dots.max(0) * 0.75 * strength)
    if rng.random() < 0.35:
        veil = c.discs(c.points(rng, 1, 0.5), rng.uniform(0.25, 0.5, 1), hardness=1.0)[0]
        c.over(_mix(pigment(BLUE_GREY), WHITE, 0.25), veil * rng.uniform(0.4, 0.7) * strength)
    if rng.random() < 0.25:
        scar = c.discs(c.points(rng, 1, 0.6), rng.uniform(0.15, 0.35, 1), hardness=1.5)[0]
        c.over(WHITE, scar * rng.uniform(0.4, 0.7) * strength)


def _paint_bkl(c: _Canvas, rng: np.random.Generator, pigment: _Pigment, noise: np.random.Generator) -> None:
    kind = rng.choice(3, p=[0.55, 0.3, 0.15])  # seborrheic keratosis, solar lentigo, lichen-planus-like keratosis
    strength = rng.uniform(0.1, 1.0)
    c.set_frame(*_place(rng, 0.25, 0.65, 0.55))
    if kind == 1:
        d = c.border(rng, 12, rng.uniform(0.03, 0.1))
        base = pigment(_mix(TAN, BROWN, rng.uniform(0, 0.8)))
        alpha = c.mask(d, rng.uniform(0.02, 0.08)) * rng.uniform(0.45, 0.85)
        c.over(base, alpha)
        if rng.random() < 0.4:  # faint network: looks like a junctional nevus
            net = c.network(rng, rng.uniform(3.5, 6), rng.uniform(0.15, 0.3), 0.8)
            c.over(pigment(BROWN), net * alpha * 0.4 * strength)
        return
    d = c.border(rng, 5, rng.uniform(0.02, 0.08))
    alpha = c.mask(d, rng.uniform(0.015, 0.06)) * rng.uniform(0.7, 0.95)
    if kind == 2:
        c.over(pigment(_mix(TAN, BLUE_GREY, rng.uniform(0.2, 0.6))), alpha)
        n = int(rng.integers(10, 40))
        grains = c.discs(c.points(rng, n, 0.9), rng.uniform(0.015, 0.035, n))
        c.over(pigment(_mix(BLUE_GREY, DARK_BROWN, rng.uniform(0, 1))), grains.max(0) * 0.7 * strength)
        return
    dark = rng.random() < 0.25
    base = pigment(_mix(TAN, DARK_BROWN, rng.uniform(0.6, 1.0) if dark else rng.uniform(0, 0.5)))
    sheen = 1 + 0.12 * c.waves(rng, 4, (0.5, 1.5))
    c.over(base * sheen[..., None], alpha)
    warp = 1.5 * c.waves(rng, 4, (0.5, 1.5))
    x, _ = _rot(c.lx / c.r0, c.ly / c.r0, rng.uniform(0, np.pi))
    ridges = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2.5, 5) * x + warp)
    c.over(pigment(DARK_BROWN), np.clip((ridges - 0.7) / 0.3, 0, 1) * alpha * rng.uniform(0.3, 0.7) * strength)
    n = int(rng.integers(1, 12))
    comedo = c.discs(c.points(rng, n, 0.85), rng.uniform(0.04, 0.08, n))
    c.over(pigment(_mix(DARK_BROWN, BLACK, 0.5)), comedo.max(0) * 0.8 * strength)
    n = int(rng.integers(0, 8))
    milia = c.discs(c.points(rng, n, 0.85), rng.uniform(0.03, 0.06, n), hardness=2.0)
    if n:
        c.over(YELLOW_WHITE, milia.max(0) * 0.8 * strength)


def _paint_bcc(c: _Canvas, rng: np.random.Generator, pigment: _Pigment, noise: np.random.Generator) -> None:
    superficial = rng.random() < 0.25  # flat, faint, ill-defined: looks like an actinic keratosis
    strength = rng.uniform(0.15, 1.0)
    c.set_frame(*_place(rng, 0.25, 0.6, 0.6))
    d = c.border(rng, 5, 0.08 if superficial else 0.05)
    alpha = c.mask(d, rng.uniform(0.15, 0.25) if superficial else rng.uniform(0.05, 0.14))
    skin = c.img.mean((0, 1))
    c.over(_mix(skin, _mix(PINK, RED, rng.uniform(0, 0.4)), rng.uniform(0.3, 0.7)), alpha * rng.uniform(0.45, 0.85))
    shine = np.clip(c.waves(rng, 5, (0.6, 1.6)) - 0.3, 0, 1)
    c.over(WHITE, shine * alpha * rng.uniform(0.1, 0.5))
    strokes: list[tuple[np.ndarray, float]] = []
    for _ in range(int(rng.integers(1, 6))):
        start = c.points(rng, 1, 0.9)[0]
        depth = int(rng.integers(0, 2)) if superficial else int(rng.integers(1, 4))
        strokes += _vessel_tree(
            rng, start, rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 0.45), rng.uniform(0.8, 1.8), depth
        )
    vessels = c.lines(strokes)
    vessel_alpha = vessels * np.clip(alpha * 1.5, 0, 1) * rng.uniform(0.4, 1) * strength
    c.over(_mix(RED, DARK_RED, rng.uniform(0, 1)), vessel_alpha)
    if rng.random() < 0.35:
        n = int(rng.integers(2, 7))
        nests = c.discs(c.points(rng, n, 0.8), rng.uniform(0.08, 0.2, n), hardness=1.5)
        c.over(pigment(_mix(BLUE_GREY, DARK_BROWN, rng.uniform(0, 1))), nests.max(0) * rng.uniform(0.5, 0.85))
    if rng.random() < 0.2:
        ulcer = c.discs(c.points(rng, 1, 0.5), rng.uniform(0.12, 0.3, 1), hardness=2.0)[0]
        c.over(pigment(_mix(DARK_RED, DARK_BROWN, rng.uniform(0, 1))), ulcer * 0.85)


def _paint_akiec(c: _Canvas, rng: np.random.Generator, pigment: _Pigment, noise: np.random.Generator) -> None:
    strength = rng.uniform(0.1, 1.0)
    c.set_frame(*_place(rng, 0.28, 0.7, 0.5))
    d = c.border(rng, 6, 0.1)
    alpha = c.mask(d, rng.uniform(0.08, 0.28))
    patchy = 0.7 + 0.3 * c.waves(rng, 4, (0.5, 1.5))
    color = np.broadcast_to(pigment(_mix(RED, PINK, rng.uniform(0, 0.8))), c.img.shape)
    if rng.random() < 0.25:  # pigmented actinic keratosis
        zone = np.clip(c.waves(rng, 4, (0.5, 1.5)) + 0.3, 0, 1)[..., None]
        color = color * (1 - zone * 0.7) + pigment(_mix(LIGHT_BROWN, BROWN, rng.uniform(0, 1))) * zone * 0.7
    c.over(color, alpha * patchy * rng.uniform(0.35, 0.75))
    if rng.random() < 0.4:
        n = int(rng.integers(8, 30))
        follicles = c.discs(c.points(rng, n, 0.9), rng.uniform(0.03, 0.05, n), hardness=2.0)
        c.over(WHITE, follicles.max(0) * alpha * 0.7 * strength)
    scale = np.clip(c.waves(rng, 8, (2.5, 6)) - rng.uniform(0.3, 1.3), 0, 1)
    c.over(YELLOW_WHITE, scale * alpha * rng.uniform(0.4, 0.9) * strength)
    rough = 1 + 0.07 * strength * noise.standard_normal(alpha.shape).astype(np.float32) * alpha
    c.img = c.img * rough[..., None]


def _paint_df(c: _Canvas, rng: np.random.Generator, pigment: _Pigment, noise: np.random.Generator) -> None:
    strength = rng.uniform(0.15, 1.0)
    c.set_frame(*_place(rng, 0.15, 0.42, 0.65))
    d = c.border(rng, 3, 0.05)
    alpha = c.mask(d, rng.uniform(0.05, 0.15))
    ring = pigment(_mix(TAN, DARK_BROWN, rng.uniform(0.05, 0.7)))
    if rng.random() < 0.3:
        ring = _mix(ring, PINK, 0.4)
    c.over(ring, alpha * rng.uniform(0.35, 0.75))
    if rng.random() < 0.4:
        net = c.network(rng, rng.uniform(4, 6), 0.25, 0.5)
        c.over(pigment(BROWN), net * alpha * np.clip(d, 0, 1) * 0.4 * strength)
    if rng.random() < 0.75:
        inner = c.border(rng, 4, 0.1) / rng.uniform(0.25, 0.6)
        white = _mix(WHITE, PINK, rng.uniform(0, 0.4))
        c.over(white, c.mask(inner, rng.uniform(0.08, 0.2)) * rng.uniform(0.4, 0.9) * strength)


def _paint_vasc(c: _Canvas, rng: np.random.Generator, pigment: _Pigment, noise: np.random.Generator) -> None:
    strength = rng.uniform(0.2, 1.0)
    c.set_frame(*_place(rng, 0.18, 0.5, 0.6))
    d = c.border(rng, 5, 0.07)
    alpha = c.mask(d, rng.uniform(0.03, 0.1))
    lobule = _mix(RED, PURPLE, rng.uniform(0, 1))
    if rng.random() < 0.15:  # thrombosed: almost black
        lobule = _mix(PURPLE, (0.15, 0.08, 0.18), 0.7)
    lobule = _mix(_mix(PINK, BROWN, rng.uniform(0, 0.5)), lobule, 0.3 + 0.7 * strength)
    c.over(pigment(_mix(PINK, lobule, 0.35)), alpha * rng.uniform(0.4, 0.8))
    n = int(rng.integers(2, 15))
    lobes = c.discs(c.points(rng, n, 0.75), rng.uniform(0.12, 0.35, n), hardness=rng.uniform(1.5, 4))
    shades = rng.uniform(0.7, 1.15, n)
    for alpha_i, shade in zip(lobes, shades, strict=True):
        c.over(pigment(np.clip(lobule * shade, 0, 1)), alpha_i * alpha * 0.9)
    if rng.random() < 0.15:
        c.over(WHITE, alpha * rng.uniform(0.1, 0.35))


def _place(rng: np.random.Generator, r_min: float, r_max: float, aspect_min: float) -> tuple[float, ...]:
    """Lesion centre, rotation, radius and aspect ratio."""
    cx, cy = rng.uniform(-0.22, 0.22, 2)
    return float(cx), float(cy), float(rng.uniform(0, 2 * np.pi)), rng.uniform(r_min, r_max), rng.uniform(aspect_min, 1)


def _paint_hairs(c: _Canvas, rng: np.random.Generator) -> None:
    if rng.random() >= 0.3:
        return
    strokes = []
    for _ in range(int(rng.integers(1, 7))):
        start = rng.uniform(-1.2, 1.2, 2).astype(np.float32)
        strokes.append((_polyline(rng, start, rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 2.2), 0.08), 1.0))
    c.over(HAIR, c.lines(strokes, world=True) * 0.85)


def render_toy_image(
    code: str, *, seed: int = 0, lesion_index: int = 0, image_index: int = 0, view: int = 0, image_size: int = 64
) -> np.ndarray:
    """Paint one toy image.

    Args:
        code: HAM10000 class code of the lesion.
        seed: dataset seed.
        lesion_index: which lesion; with ``seed`` it fixes everything about the lesion and its skin.
        image_index: which image; with ``seed`` it fixes the view and the noise.
        view: 0 for a lesion's first image (no view change); ≥ 1 for another view (small shift, rotation, lighting).
        image_size: side of the square image in pixels (≥ 8).

    Returns:
        An ``(image_size, image_size, 3)`` uint8 RGB array.

    """
    if code not in HAM10000.codes:
        raise DataError(
            f"unknown class code {code!r}; the toy set uses the HAM10000 codes: {', '.join(HAM10000.codes)}"
        )
    _check_int("image_size", image_size, MIN_IMAGE_SIZE)
    lesion = np.random.default_rng([seed, 1, lesion_index])
    noise = np.random.default_rng([seed, 2, image_index])
    if view:
        shift = (float(noise.normal(0, 0.05)), float(noise.normal(0, 0.05)))
        angle, brightness = float(noise.uniform(-0.35, 0.35)), float(noise.uniform(0.88, 1.12))
    else:
        shift, angle, brightness = (0.0, 0.0), 0.0, 1.0
    size = max(image_size, RENDER_MIN_SIZE)
    c = _Canvas(size, shift, angle)
    darkness = _paint_skin(c, lesion)
    darken = 1 - 0.5 * darkness  # pigments look darker on darker skin

    def pigment(color: Any) -> np.ndarray:
        return np.asarray(color, dtype=np.float32) * darken

    _PAINTERS[code](c, lesion, pigment, noise)
    _paint_hairs(c, lesion)
    cast = 1 + lesion.normal(0, 0.03, 3).astype(np.float32)
    img = c.img * cast * brightness
    mean = img.mean((0, 1))
    img = mean + (img - mean) * noise.uniform(0.8, 1.15)  # contrast
    if noise.random() < 0.25:  # dark corners of a dermoscope's round field
        radius = np.hypot(c.u, c.v) / noise.uniform(1.05, 1.4)
        img = img * np.clip((1 - radius) / 0.06 + 1, 0, 1)[..., None]
    sigma = noise.uniform(0.01, 0.03)
    img = img + sigma * noise.standard_normal((size, size, 1), dtype=np.float32)
    img = img + 0.008 * noise.standard_normal((size, size, 3), dtype=np.float32)
    image = Image.fromarray(np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8))
    blur = noise.uniform(0, 1.2) * size / RENDER_MIN_SIZE  # focus
    if blur > 0.3:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    if size != image_size:
        image = image.resize((image_size, image_size), Image.Resampling.LANCZOS)
    return np.asarray(image)


_PAINTERS: dict[str, Callable[[_Canvas, np.random.Generator, _Pigment, np.random.Generator], None]] = {
    "akiec": _paint_akiec,
    "nv": _paint_nv,
    "mel": _paint_mel,
    "bkl": _paint_bkl,
    "bcc": _paint_bcc,
    "df": _paint_df,
    "vasc": _paint_vasc,
}


# ---------------------------------------------------------------------------------------------------------------------
# Writing and reading


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
    _check_int("image_size", image_size, MIN_IMAGE_SIZE)
    _check_int("seed", seed, 0)
    _check_int("max_images_per_lesion", max_images_per_lesion, 1)
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
