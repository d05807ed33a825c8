"""Per-class image grids: one row per class, for real training images or generator samples."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from torch import Tensor
from torchvision.utils import make_grid


def class_grid(images: Tensor, labels: Tensor, num_classes: int, per_class: int = 8) -> Tensor:
    """A (3, H', W') grid in [0, 1] with row ``c`` holding up to ``per_class`` images of class ``c`` (blank if fewer).

    Args:
        images: (N, 3, H, W) in [0, 1].
        labels: (N,) class indices.
        num_classes: rows in the grid.
        per_class: columns in the grid.
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (N, 3, H, W), got {tuple(images.shape)}")
    _, _, height, width = images.shape
    tiles = torch.zeros(num_classes, per_class, 3, height, width, dtype=torch.float32)
    for c in range(num_classes):
        chosen = images[labels == c][:per_class].float()
        tiles[c, : len(chosen)] = chosen
    return make_grid(tiles.flatten(0, 1), nrow=per_class, padding=2, pad_value=1.0).clamp(0, 1)


def save_grid(grid: Tensor, path: str | Path, row_names: Sequence[str] | None = None) -> Path:
    """Write a grid from :func:`class_grid` as PNG, with the class codes written at the left when given."""
    array = (grid.permute(1, 2, 0).numpy() * 255).round().astype("uint8")
    image = Image.fromarray(array)
    if row_names:
        margin = 48
        canvas = Image.new("RGB", (image.width + margin, image.height), "white")
        canvas.paste(image, (margin, 0))
        draw = ImageDraw.Draw(canvas)
        row_height = image.height / len(row_names)
        for i, name in enumerate(row_names):
            draw.text((4, int(row_height * i + row_height / 2 - 5)), name, fill="black")
        image = canvas
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
