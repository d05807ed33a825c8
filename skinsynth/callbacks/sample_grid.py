"""Per-class image grids (one row per class) for real images or generator samples.

:class:`SampleGridCallback` saves and logs a fixed-noise grid of a generator's samples during training.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning as L
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


class SampleGridCallback(L.Callback):
    """Every ``every_n_epochs`` epochs, a fixed-noise per-class grid of the generator's samples (rank 0 only).

    The grid is saved as ``<output_dir>/samples_epoch<NNNN>.png`` and, with a W&B logger, logged as ``samples``.

    Args:
        output_dir: folder for the PNGs.
        class_codes: vocabulary in label order (one grid row each).
        every_n_epochs: how often; the last epoch always gets a grid.
        per_class: images per row.
        seed: the fixed noise seed (the same noise every time, so grids are comparable across epochs).
    """

    def __init__(
        self,
        output_dir: str | Path,
        class_codes: Sequence[str],
        every_n_epochs: int = 5,
        per_class: int = 8,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.output_dir = Path(output_dir)
        self.class_codes = list(class_codes)
        self.every_n_epochs = max(1, every_n_epochs)
        self.per_class = per_class
        self.seed = seed
        self.saved: list[Path] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        last = trainer.max_epochs is not None and epoch >= trainer.max_epochs
        if not trainer.is_global_zero or (epoch % self.every_n_epochs and not last):
            return
        labels = torch.arange(len(self.class_codes)).repeat_interleave(self.per_class)
        # the final grid shows what materialization will produce; earlier ones may use a cheaper preview sampler
        sample = pl_module.sample if last else getattr(pl_module, "preview_sample", pl_module.sample)
        images = sample(labels, torch.Generator().manual_seed(self.seed)).cpu()
        grid = class_grid(images, labels, len(self.class_codes), self.per_class)
        path = save_grid(grid, self.output_dir / f"samples_epoch{epoch:04d}.png", self.class_codes)
        self.saved.append(path)
        from lightning.pytorch.loggers import WandbLogger

        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(key="samples", images=[str(path)], step=trainer.global_step)
