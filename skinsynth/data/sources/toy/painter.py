"""One toy image, painted from its class, lesion and image indices (deterministic for a seed)."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from skinsynth.classes import HAM10000
from skinsynth.data.sources.toy.canvas import Canvas, paint_hairs, paint_skin
from skinsynth.data.sources.toy.lesions import PAINTERS
from skinsynth.errors import ConfigError, DataError

MIN_IMAGE_SIZE = 8


#: Images are painted at least this large, then downsampled.
RENDER_MIN_SIZE = 64


def check_int(name: str, value: Any, minimum: int) -> None:
    """Refuse ``value`` unless it is a whole number ≥ ``minimum`` (``ConfigError`` naming ``name``)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be a whole number ≥ {minimum}, got {value!r}")


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
    check_int("image_size", image_size, MIN_IMAGE_SIZE)
    lesion = np.random.default_rng([seed, 1, lesion_index])
    noise = np.random.default_rng([seed, 2, image_index])
    if view:
        shift = (float(noise.normal(0, 0.05)), float(noise.normal(0, 0.05)))
        angle, brightness = float(noise.uniform(-0.35, 0.35)), float(noise.uniform(0.88, 1.12))
    else:
        shift, angle, brightness = (0.0, 0.0), 0.0, 1.0
    size = max(image_size, RENDER_MIN_SIZE)
    c = Canvas(size, shift, angle)
    darkness = paint_skin(c, lesion)
    darken = 1 - 0.5 * darkness  # pigments look darker on darker skin

    def pigment(color: Any) -> np.ndarray:
        return np.asarray(color, dtype=np.float32) * darken

    PAINTERS[code](c, lesion, pigment, noise)
    paint_hairs(c, lesion)
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
