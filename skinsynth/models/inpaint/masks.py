"""Lesion masks for the inpainting generator: which pixels of a real image get a new lesion.

Three sources, one convention (a boolean ``(H, W)`` array, ``True`` on the lesion):

* :func:`otsu_lesion_mask` — a simple segmenter of dermoscopy images with scikit-image: each pixel's colour
  difference (CIE Lab ΔE) from the skin, taken as the median colour of a band along the border; Otsu's threshold on
  the smoothed difference (lesions differ from the skin around them, darker or redder); morphological opening; the
  largest component whose centre is inside the band kept (a dermoscope's dark corners and hairs leaving the image lie
  on the border), its holes filled, and a margin added by dilation so that the painted lesion has room for its border.
* :func:`ellipse_mask` — a random ellipse near the centre, for images with no visible lesion or as an ablation.
* :func:`read_mask_file` — a user's segmentation, in the ISIC layout (``<image_id>_segmentation.png``, lesion white).

:func:`lesion_mask` picks one by mode and falls back to an ellipse when the segmenter finds nothing plausible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from skinsynth.errors import ConfigError, DataError

MaskMode = Literal["otsu", "ellipse", "files"]
MASK_MODES: tuple[str, ...] = ("otsu", "ellipse", "files")
MASK_SUFFIX = "_segmentation.png"


def otsu_lesion_mask(
    image: np.ndarray, margin: float = 0.04, min_area: float = 0.01, max_area: float = 0.7
) -> np.ndarray | None:
    """The lesion of a dermoscopy image, or ``None`` when no component between the area bounds is found.

    Args:
        image: ``(H, W, 3)`` RGB, uint8 or float in [0, 1].
        margin: dilation radius as a share of the image side (room for the painted lesion's border).
        min_area: smallest plausible lesion, as a share of the image area.
        max_area: largest plausible lesion (a threshold that took most of the image found skin, not a lesion).
    """
    from scipy.ndimage import binary_fill_holes
    from skimage.color import rgb2lab
    from skimage.filters import gaussian, threshold_otsu
    from skimage.measure import label, regionprops
    from skimage.morphology import dilation, disk, opening

    pixels = np.asarray(image)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {pixels.shape}")
    height, width = pixels.shape[:2]
    side = min(height, width)
    lab = rgb2lab(pixels.astype(np.float32) / (255.0 if pixels.dtype == np.uint8 else 1.0))
    ring = np.ones((height, width), dtype=bool)
    inset = max(1, side // 10)
    ring[inset:-inset, inset:-inset] = False
    skin = np.median(lab[ring], axis=0)  # the skin colour: the median of a band along the border
    distance = gaussian(np.linalg.norm(lab - skin, axis=-1), sigma=side / 64)
    if float(distance.max() - distance.min()) < 1.0:  # no pixel differs visibly (ΔE < 1) from the skin
        return None
    candidate = opening(distance > threshold_otsu(distance), disk(max(1, round(side / 64))))
    labelled = label(candidate)
    central = [
        r for r in regionprops(labelled)
        if inset <= r.centroid[0] < height - inset and inset <= r.centroid[1] < width - inset
    ]  # fmt: skip
    if not central:
        return None
    largest = max(central, key=lambda r: r.area)
    if not min_area <= largest.area / float(height * width) <= max_area:
        return None
    mask = binary_fill_holes(labelled == largest.label)
    radius = round(margin * side)
    return dilation(mask, disk(radius)).astype(bool) if radius > 0 else mask


def ellipse_mask(size: int, rng: np.random.Generator, min_radius: float = 0.15, max_radius: float = 0.35) -> np.ndarray:
    """A random ellipse of ``size`` × ``size`` pixels: centre within 0.15 of the middle, radii in the given shares."""
    from skimage.draw import ellipse

    centre = size / 2 + rng.uniform(-0.15, 0.15, 2) * size
    radii = rng.uniform(min_radius, max_radius, 2) * size
    rows, cols = ellipse(centre[0], centre[1], radii[0], radii[1], shape=(size, size), rotation=rng.uniform(0, np.pi))
    mask = np.zeros((size, size), dtype=bool)
    mask[rows, cols] = True
    return mask


def mask_path(mask_dir: str | Path, image_id: str) -> Path:
    """Where the ISIC layout keeps the segmentation of ``image_id``: ``<mask_dir>/<image_id>_segmentation.png``."""
    return Path(mask_dir) / f"{image_id}{MASK_SUFFIX}"


def read_mask_file(path: str | Path, size: int) -> np.ndarray:
    """A segmentation mask file (lesion white, skin black) as a ``size`` × ``size`` boolean mask.

    Raises:
        DataError: the file is missing, unreadable or has no lesion pixel; the message names it.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"no lesion mask {str(path)!r}: mask_mode 'files' reads <mask_dir>/<image_id>{MASK_SUFFIX} (the ISIC "
            "segmentation layout) for every context image; add it or use mask_mode 'otsu' or 'ellipse'"
        )
    try:
        with Image.open(path) as opened:
            gray = opened.convert("L").resize((size, size), Image.Resampling.NEAREST)
    except (OSError, UnidentifiedImageError) as error:
        raise DataError(f"cannot read the lesion mask {str(path)!r}: {error}") from error
    mask = np.asarray(gray) > 127
    if not mask.any():
        raise DataError(f"lesion mask {str(path)!r} has no lesion pixel (white, > 127) at {size} px")
    return mask


def lesion_mask(
    image: np.ndarray,
    mode: str,
    rng: np.random.Generator,
    *,
    mask_file: str | Path | None = None,
    margin: float = 0.04,
) -> tuple[np.ndarray, str]:
    """The mask of one context image and how it was made (``otsu``, ``ellipse``, ``file`` or ``ellipse-fallback``).

    ``otsu`` falls back to a random ellipse when the segmenter finds no plausible lesion; ``files`` reads
    ``mask_file``.
    """
    size = image.shape[0]
    if mode not in MASK_MODES:
        raise ConfigError(f"unknown mask_mode {mode!r}; choose one of {', '.join(MASK_MODES)}")
    if mode == "files":
        if mask_file is None:
            raise ConfigError("mask_mode 'files' needs mask_dir, the folder of <image_id>_segmentation.png files")
        return read_mask_file(mask_file, size), "file"
    if mode == "otsu":
        found = otsu_lesion_mask(image, margin=margin)
        if found is not None:
            return found, "otsu"
        return ellipse_mask(size, rng), "ellipse-fallback"
    return ellipse_mask(size, rng), "ellipse"
