"""One painter per toy class: the lesion's outline, colours and inner structures, loosely after dermoscopy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from skinsynth.data.sources.toy.canvas import (
    BLACK,
    BLUE_GREY,
    BROWN,
    DARK_BROWN,
    DARK_RED,
    LIGHT_BROWN,
    PINK,
    PURPLE,
    RED,
    TAN,
    WHITE,
    YELLOW_WHITE,
    Canvas,
    Pigment,
    mix,
    place,
    polyline,
    rotate,
    vessel_tree,
)


def _paint_nv(c: Canvas, rng: np.random.Generator, pigment: Pigment, noise: np.random.Generator) -> None:
    kind = rng.choice(4, p=[0.6, 0.2, 0.12, 0.08])  # common, atypical (dysplastic), dermal (pale, soft), blue
    strength = rng.uniform(0.15, 1.0)
    c.set_frame(*place(rng, 0.2, 0.6, 0.65))
    d = c.border(rng, 7 if kind == 1 else 4, 0.09 if kind == 1 else 0.035)
    soft = rng.uniform(0.1, 0.2) if kind == 2 else rng.uniform(0.03, 0.1)
    alpha = c.mask(d, soft) * rng.uniform(0.55, 0.95)
    if kind == 2:
        base = mix(c.img.mean((0, 1)), mix(TAN, PINK, rng.uniform(0, 1)), rng.uniform(0.4, 0.8))
    elif kind == 3:
        base = pigment(mix(BLUE_GREY, DARK_BROWN, rng.uniform(0, 0.5)))
    else:
        base = pigment(mix(TAN, DARK_BROWN, rng.uniform(0.15, 0.9)))
    gradient = rng.uniform(-0.25, 0.25)
    color = base * (1 + gradient * (np.clip(d, 0, 1) - 0.5))[..., None]
    if kind == 1:
        zone = np.clip(c.waves(rng, 5, (0.4, 1.2)), 0, 1)[..., None]
        color = color * (1 - zone) + pigment(mix(base, DARK_BROWN if rng.random() < 0.5 else TAN, 0.6)) * zone
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
            (polyline(rng, c.points(rng, 1, 0.7)[0], rng.uniform(0, 2 * np.pi), 0.25, 0.5), 1.0)
            for _ in range(int(rng.integers(1, 4)))
        ]
        c.over(RED, c.lines(strokes) * alpha * 0.6 * strength)


def _paint_mel(c: Canvas, rng: np.random.Generator, pigment: Pigment, noise: np.random.Generator) -> None:
    kind = rng.choice(3, p=[0.6, 0.25, 0.15])  # classic, early (small, fairly regular), hypomelanotic (pink)
    strength = rng.uniform(0.3, 1.0) if kind == 0 else rng.uniform(0.1, 0.7)
    if kind == 1:
        c.set_frame(*place(rng, 0.22, 0.45, 0.6))
    else:
        c.set_frame(*place(rng, 0.35, 0.72, 0.55))
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
        c.over(mix(pigment(BLUE_GREY), WHITE, 0.25), veil * rng.uniform(0.4, 0.7) * strength)
    if rng.random() < 0.25:
        scar = c.discs(c.points(rng, 1, 0.6), rng.uniform(0.15, 0.35, 1), hardness=1.5)[0]
        c.over(WHITE, scar * rng.uniform(0.4, 0.7) * strength)


def _paint_bkl(c: Canvas, rng: np.random.Generator, pigment: Pigment, noise: np.random.Generator) -> None:
    kind = rng.choice(3, p=[0.55, 0.3, 0.15])  # seborrheic keratosis, solar lentigo, lichen-planus-like keratosis
    strength = rng.uniform(0.1, 1.0)
    c.set_frame(*place(rng, 0.25, 0.65, 0.55))
    if kind == 1:
        d = c.border(rng, 12, rng.uniform(0.03, 0.1))
        base = pigment(mix(TAN, BROWN, rng.uniform(0, 0.8)))
        alpha = c.mask(d, rng.uniform(0.02, 0.08)) * rng.uniform(0.45, 0.85)
        c.over(base, alpha)
        if rng.random() < 0.4:  # faint network: looks like a junctional nevus
            net = c.network(rng, rng.uniform(3.5, 6), rng.uniform(0.15, 0.3), 0.8)
            c.over(pigment(BROWN), net * alpha * 0.4 * strength)
        return
    d = c.border(rng, 5, rng.uniform(0.02, 0.08))
    alpha = c.mask(d, rng.uniform(0.015, 0.06)) * rng.uniform(0.7, 0.95)
    if kind == 2:
        c.over(pigment(mix(TAN, BLUE_GREY, rng.uniform(0.2, 0.6))), alpha)
        n = int(rng.integers(10, 40))
        grains = c.discs(c.points(rng, n, 0.9), rng.uniform(0.015, 0.035, n))
        c.over(pigment(mix(BLUE_GREY, DARK_BROWN, rng.uniform(0, 1))), grains.max(0) * 0.7 * strength)
        return
    dark = rng.random() < 0.25
    base = pigment(mix(TAN, DARK_BROWN, rng.uniform(0.6, 1.0) if dark else rng.uniform(0, 0.5)))
    sheen = 1 + 0.12 * c.waves(rng, 4, (0.5, 1.5))
    c.over(base * sheen[..., None], alpha)
    warp = 1.5 * c.waves(rng, 4, (0.5, 1.5))
    x, _ = rotate(c.lx / c.r0, c.ly / c.r0, rng.uniform(0, np.pi))
    ridges = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2.5, 5) * x + warp)
    c.over(pigment(DARK_BROWN), np.clip((ridges - 0.7) / 0.3, 0, 1) * alpha * rng.uniform(0.3, 0.7) * strength)
    n = int(rng.integers(1, 12))
    comedo = c.discs(c.points(rng, n, 0.85), rng.uniform(0.04, 0.08, n))
    c.over(pigment(mix(DARK_BROWN, BLACK, 0.5)), comedo.max(0) * 0.8 * strength)
    n = int(rng.integers(0, 8))
    milia = c.discs(c.points(rng, n, 0.85), rng.uniform(0.03, 0.06, n), hardness=2.0)
    if n:
        c.over(YELLOW_WHITE, milia.max(0) * 0.8 * strength)


def _paint_bcc(c: Canvas, rng: np.random.Generator, pigment: Pigment, noise: np.random.Generator) -> None:
    superficial = rng.random() < 0.25  # flat, faint, ill-defined: looks like an actinic keratosis
    strength = rng.uniform(0.15, 1.0)
    c.set_frame(*place(rng, 0.25, 0.6, 0.6))
    d = c.border(rng, 5, 0.08 if superficial else 0.05)
    alpha = c.mask(d, rng.uniform(0.15, 0.25) if superficial else rng.uniform(0.05, 0.14))
    skin = c.img.mean((0, 1))
    c.over(mix(skin, mix(PINK, RED, rng.uniform(0, 0.4)), rng.uniform(0.3, 0.7)), alpha * rng.uniform(0.45, 0.85))
    shine = np.clip(c.waves(rng, 5, (0.6, 1.6)) - 0.3, 0, 1)
    c.over(WHITE, shine * alpha * rng.uniform(0.1, 0.5))
    strokes: list[tuple[np.ndarray, float]] = []
    for _ in range(int(rng.integers(1, 6))):
        start = c.points(rng, 1, 0.9)[0]
        depth = int(rng.integers(0, 2)) if superficial else int(rng.integers(1, 4))
        strokes += vessel_tree(
            rng, start, rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 0.45), rng.uniform(0.8, 1.8), depth
        )
    vessels = c.lines(strokes)
    vessel_alpha = vessels * np.clip(alpha * 1.5, 0, 1) * rng.uniform(0.4, 1) * strength
    c.over(mix(RED, DARK_RED, rng.uniform(0, 1)), vessel_alpha)
    if rng.random() < 0.35:
        n = int(rng.integers(2, 7))
        nests = c.discs(c.points(rng, n, 0.8), rng.uniform(0.08, 0.2, n), hardness=1.5)
        c.over(pigment(mix(BLUE_GREY, DARK_BROWN, rng.uniform(0, 1))), nests.max(0) * rng.uniform(0.5, 0.85))
    if rng.random() < 0.2:
        ulcer = c.discs(c.points(rng, 1, 0.5), rng.uniform(0.12, 0.3, 1), hardness=2.0)[0]
        c.over(pigment(mix(DARK_RED, DARK_BROWN, rng.uniform(0, 1))), ulcer * 0.85)


def _paint_akiec(c: Canvas, rng: np.random.Generator, pigment: Pigment, noise: np.random.Generator) -> None:
    strength = rng.uniform(0.1, 1.0)
    c.set_frame(*place(rng, 0.28, 0.7, 0.5))
    d = c.border(rng, 6, 0.1)
    alpha = c.mask(d, rng.uniform(0.08, 0.28))
    patchy = 0.7 + 0.3 * c.waves(rng, 4, (0.5, 1.5))
    color = np.broadcast_to(pigment(mix(RED, PINK, rng.uniform(0, 0.8))), c.img.shape)
    if rng.random() < 0.25:  # pigmented actinic keratosis
        zone = np.clip(c.waves(rng, 4, (0.5, 1.5)) + 0.3, 0, 1)[..., None]
        color = color * (1 - zone * 0.7) + pigment(mix(LIGHT_BROWN, BROWN, rng.uniform(0, 1))) * zone * 0.7
    c.over(color, alpha * patchy * rng.uniform(0.35, 0.75))
    if rng.random() < 0.4:
        n = int(rng.integers(8, 30))
        follicles = c.discs(c.points(rng, n, 0.9), rng.uniform(0.03, 0.05, n), hardness=2.0)
        c.over(WHITE, follicles.max(0) * alpha * 0.7 * strength)
    scale = np.clip(c.waves(rng, 8, (2.5, 6)) - rng.uniform(0.3, 1.3), 0, 1)
    c.over(YELLOW_WHITE, scale * alpha * rng.uniform(0.4, 0.9) * strength)
    rough = 1 + 0.07 * strength * noise.standard_normal(alpha.shape).astype(np.float32) * alpha
    c.img = c.img * rough[..., None]


def _paint_df(c: Canvas, rng: np.random.Generator, pigment: Pigment, noise: np.random.Generator) -> None:
    strength = rng.uniform(0.15, 1.0)
    c.set_frame(*place(rng, 0.15, 0.42, 0.65))
    d = c.border(rng, 3, 0.05)
    alpha = c.mask(d, rng.uniform(0.05, 0.15))
    ring = pigment(mix(TAN, DARK_BROWN, rng.uniform(0.05, 0.7)))
    if rng.random() < 0.3:
        ring = mix(ring, PINK, 0.4)
    c.over(ring, alpha * rng.uniform(0.35, 0.75))
    if rng.random() < 0.4:
        net = c.network(rng, rng.uniform(4, 6), 0.25, 0.5)
        c.over(pigment(BROWN), net * alpha * np.clip(d, 0, 1) * 0.4 * strength)
    if rng.random() < 0.75:
        inner = c.border(rng, 4, 0.1) / rng.uniform(0.25, 0.6)
        white = mix(WHITE, PINK, rng.uniform(0, 0.4))
        c.over(white, c.mask(inner, rng.uniform(0.08, 0.2)) * rng.uniform(0.4, 0.9) * strength)


def _paint_vasc(c: Canvas, rng: np.random.Generator, pigment: Pigment, noise: np.random.Generator) -> None:
    strength = rng.uniform(0.2, 1.0)
    c.set_frame(*place(rng, 0.18, 0.5, 0.6))
    d = c.border(rng, 5, 0.07)
    alpha = c.mask(d, rng.uniform(0.03, 0.1))
    lobule = mix(RED, PURPLE, rng.uniform(0, 1))
    if rng.random() < 0.15:  # thrombosed: almost black
        lobule = mix(PURPLE, (0.15, 0.08, 0.18), 0.7)
    lobule = mix(mix(PINK, BROWN, rng.uniform(0, 0.5)), lobule, 0.3 + 0.7 * strength)
    c.over(pigment(mix(PINK, lobule, 0.35)), alpha * rng.uniform(0.4, 0.8))
    n = int(rng.integers(2, 15))
    lobes = c.discs(c.points(rng, n, 0.75), rng.uniform(0.12, 0.35, n), hardness=rng.uniform(1.5, 4))
    shades = rng.uniform(0.7, 1.15, n)
    for alpha_i, shade in zip(lobes, shades, strict=True):
        c.over(pigment(np.clip(lobule * shade, 0, 1)), alpha_i * alpha * 0.9)
    if rng.random() < 0.15:
        c.over(WHITE, alpha * rng.uniform(0.1, 0.35))


PAINTERS: dict[str, Callable[[Canvas, np.random.Generator, Pigment, np.random.Generator], None]] = {
    "akiec": _paint_akiec,
    "nv": _paint_nv,
    "mel": _paint_mel,
    "bkl": _paint_bkl,
    "bcc": _paint_bcc,
    "df": _paint_df,
    "vasc": _paint_vasc,
}
