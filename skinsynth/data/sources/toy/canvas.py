"""The toy set's canvas: skin, hairs, the lesion frame and the colours every class painter uses."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

Color = tuple[float, float, float]


Pigment = Callable[[Any], np.ndarray]


# Skin tones from very light to very dark (RGB in [0, 1]).
SKIN_TONES = np.array(
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


TAN: Color = (0.76, 0.58, 0.42)


LIGHT_BROWN: Color = (0.62, 0.42, 0.28)


BROWN: Color = (0.45, 0.28, 0.17)


DARK_BROWN: Color = (0.28, 0.17, 0.11)


BLACK: Color = (0.10, 0.08, 0.08)


BLUE_GREY: Color = (0.42, 0.46, 0.56)


RED: Color = (0.78, 0.22, 0.24)


DARK_RED: Color = (0.50, 0.10, 0.12)


PINK: Color = (0.93, 0.62, 0.62)


WHITE: Color = (0.94, 0.91, 0.88)


YELLOW_WHITE: Color = (0.95, 0.90, 0.72)


PURPLE: Color = (0.42, 0.16, 0.36)


HAIR: Color = (0.12, 0.09, 0.07)


def rotate(x: np.ndarray, y: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate the points ``(x, y)`` by ``angle`` radians about the origin."""
    c, s = math.cos(angle), math.sin(angle)
    return c * x - s * y, s * x + c * y


def mix(a: Color | np.ndarray, b: Color | np.ndarray, t: float) -> np.ndarray:
    """The colour ``t`` of the way from ``a`` to ``b``."""
    return (1 - t) * np.asarray(a, dtype=np.float32) + t * np.asarray(b, dtype=np.float32)


class Canvas:
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
        self.wx, self.wy = rotate(self.u - shift[0], self.v - shift[1], -angle)
        self.img = np.zeros((size, size, 3), dtype=np.float32)

    def set_frame(self, cx: float, cy: float, theta: float, r0: float, aspect: float) -> None:
        self.cx, self.cy, self.theta, self.r0, self.aspect = cx, cy, theta, r0, aspect
        self.lx, self.ly = rotate(self.wx - cx, self.wy - cy, -theta)
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
        x, y = rotate(self.lx / self.r0, self.ly / self.r0, angle)
        w1 = warp * self.waves(rng, 4, (0.5, 1.5))
        w2 = warp * self.waves(rng, 4, (0.5, 1.5))
        l1 = np.exp(-((np.sin(np.pi * freq * x + w1) / width) ** 2))
        l2 = np.exp(-((np.sin(np.pi * freq * y + w2) / width) ** 2))
        return np.maximum(l1, l2)

    # -- compositing --------------------------------------------------------------------------------------------------
    def over(self, color: Color | np.ndarray, alpha: np.ndarray | float) -> None:
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
                dx, dy = rotate(lx, ly, self.theta)
                wx, wy = dx + self.cx, dy + self.cy
            u, v = rotate(wx, wy, self.angle)
            x = (u + self.shift[0] + 1) * big / 2
            y = (v + self.shift[1] + 1) * big / 2
            px = max(1, round(width * self.size / 64 * scale))
            draw.line(list(zip(x.tolist(), y.tolist(), strict=True)), fill=255, width=px, joint="curve")
        small = canvas.resize((self.size, self.size), Image.Resampling.BOX)
        return np.asarray(small, dtype=np.float32) / 255


def polyline(rng: np.random.Generator, start: np.ndarray, angle: float, length: float, bend: float) -> np.ndarray:
    """A randomly bending line of 7 points from ``start`` (a vessel or a hair)."""
    steps = 6
    turns = angle + np.cumsum(rng.normal(0, bend, steps))
    deltas = np.stack([np.cos(turns), np.sin(turns)], axis=1) * (length / steps)
    return np.vstack([start[None], start[None] + np.cumsum(deltas, axis=0)]).astype(np.float32)


def vessel_tree(
    rng: np.random.Generator, start: np.ndarray, angle: float, length: float, width: float, depth: int
) -> list[tuple[np.ndarray, float]]:
    """A branching vessel: line segments with their widths, ``depth`` levels of branches deep."""
    line = polyline(rng, start, angle, length, 0.25)
    strokes = [(line, width)]
    if depth > 0:
        for side in (-1, 1):
            turn = side * rng.uniform(0.35, 0.9)
            strokes += vessel_tree(
                rng, line[-1], angle + turn, length * rng.uniform(0.5, 0.8), max(width * 0.7, 0.6), depth - 1
            )
    return strokes


def paint_skin(c: Canvas, rng: np.random.Generator) -> float:
    """Background skin; returns the darkness of the tone in [0, 1]."""
    darkness = float(rng.beta(1.3, 2.6))
    pos = darkness * (len(SKIN_TONES) - 1)
    low = min(int(pos), len(SKIN_TONES) - 2)
    tone = mix(SKIN_TONES[low], SKIN_TONES[low + 1], pos - low)
    redness = max(rng.normal(0.02, 0.03), -0.01)
    tone = tone + np.array([redness, -0.5 * redness, -0.3 * redness], dtype=np.float32) + rng.normal(0, 0.015, 3)
    shading = 1 + rng.uniform(0.03, 0.10) * c.waves(rng, 4, (0.15, 0.7), world=True)
    c.img = tone[None, None, :] * shading[..., None]
    return darkness


def place(rng: np.random.Generator, r_min: float, r_max: float, aspect_min: float) -> tuple[float, ...]:
    """Lesion centre, rotation, radius and aspect ratio."""
    cx, cy = rng.uniform(-0.22, 0.22, 2)
    return float(cx), float(cy), float(rng.uniform(0, 2 * np.pi)), rng.uniform(r_min, r_max), rng.uniform(aspect_min, 1)


def paint_hairs(c: Canvas, rng: np.random.Generator) -> None:
    """Dark hairs across the image (three images in ten)."""
    if rng.random() >= 0.3:
        return
    strokes = []
    for _ in range(int(rng.integers(1, 7))):
        start = rng.uniform(-1.2, 1.2, 2).astype(np.float32)
        strokes.append((polyline(rng, start, rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 2.2), 0.08), 1.0))
    c.over(HAIR, c.lines(strokes, world=True) * 0.85)
