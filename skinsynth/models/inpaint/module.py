"""InpaintModule: lesions of a requested class painted into real images, the real skin, hair and lighting kept.

It trains exactly as :class:`~skinsynth.models.ddpm.module.DDPMModule` (a class-conditional DDPM on the few-shot
images, optionally started from the pool-pretrained U-Net). Sampling is different: every sample takes a real
*context* image (the training images of any class, or the unlabeled pool: ``context``), a lesion mask of it
(:mod:`~skinsynth.models.inpaint.masks`: the Otsu segmenter, a random ellipse or the user's mask files), and repaints
the masked region with RePaint (:mod:`~skinsynth.models.inpaint.repaint`) conditioned on the requested class;
outside the mask the result is the context image. The lesion region is replaced whole, so the painted lesion shares
nothing with the one that was there except its place.

:attr:`InpaintModule.last_draw` keeps, for the last batch sampled, which context image and which mask every sample
used; :func:`~skinsynth.models.inpaint.figures.write_inpaint_figure` draws source, mask and result per class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import Tensor

from skinsynth.errors import ConfigError
from skinsynth.models.base import RandomSource, randn
from skinsynth.models.ddpm.module import DDPMModule
from skinsynth.models.inpaint.masks import MASK_MODES, lesion_mask, mask_path


@dataclass
class InpaintDraw:
    """What one sampled batch was made from: per sample the context image's id, its mask and how it was made."""

    context_ids: list[str]
    context: Tensor  # (N, 3, H, W) in [0, 1]
    masks: Tensor  # (N, 1, H, W), 1 on the painted region
    mask_kinds: list[str]


class InpaintModule(DDPMModule):
    """A class-conditional DDPM that inpaints lesions into real context images (RePaint).

    Args:
        num_classes: number of classes.
        class_codes: class codes in label order.
        image_size: image side length.
        mask_mode: ``otsu`` (segment the context image's lesion; a random ellipse when none is found), ``ellipse``
            (a random ellipse) or ``files`` (``<mask_dir>/<image_id>_segmentation.png``, the ISIC layout).
        mask_dir: the folder of mask files (``mask_mode="files"``).
        mask_margin: dilation of a segmented lesion, as a share of the image side.
        context: where context images come from: ``train`` (the generator's training images, every class) or
            ``pool`` (the unlabeled pool of the split; the training images when there is none).
        inpaint_steps: RePaint reverse steps (before jumps).
        jump_length: steps each RePaint jump goes back.
        jump_n_sample: how often each jumped interval is sampled (1: no resampling; cost grows with it).
        inpaint_eta: the share of fresh noise per step (1: DDPM-like, as in RePaint).
        **ddpm_options: every other :class:`DDPMModule` argument (preset, schedule, guidance, pretraining ...).
    """

    # the masks, the context and the RePaint schedule are chosen when sampling: the U-Net is the DDPM's
    SAMPLING_OPTIONS: ClassVar[tuple[str, ...]] = (
        *DDPMModule.SAMPLING_OPTIONS, "mask_mode", "mask_dir", "mask_margin", "context", "inpaint_steps",
        "jump_length", "jump_n_sample", "inpaint_eta",
    )  # fmt: skip

    def __init__(
        self,
        num_classes: int = 7,
        class_codes: Sequence[str] | None = None,
        image_size: int = 32,
        mask_mode: Literal["otsu", "ellipse", "files"] = "otsu",
        mask_dir: str | None = None,
        mask_margin: float = 0.04,
        context: Literal["train", "pool"] = "train",
        inpaint_steps: int = 50,
        jump_length: int = 10,
        jump_n_sample: int = 2,
        inpaint_eta: float = 1.0,
        **ddpm_options: Any,
    ) -> None:
        if mask_mode not in MASK_MODES:
            raise ConfigError(f"unknown mask_mode {mask_mode!r}; choose one of {', '.join(MASK_MODES)}")
        if mask_mode == "files" and (mask_dir is None or not Path(mask_dir).expanduser().is_dir()):
            raise ConfigError(
                f"mask_mode 'files' needs mask_dir, a folder of <image_id>_segmentation.png masks; got {mask_dir!r}"
            )
        if context not in ("train", "pool"):
            raise ConfigError(f"context must be 'train' or 'pool', got {context!r}")
        if not 0 <= mask_margin < 0.5 or not 0 <= inpaint_eta <= 1:
            raise ConfigError(f"mask_margin must be in [0, 0.5) and inpaint_eta in [0, 1]; got {mask_margin}, "
                              f"{inpaint_eta}")  # fmt: skip
        if inpaint_steps < 1 or jump_length < 1 or jump_n_sample < 1:
            raise ConfigError("inpaint_steps, jump_length and jump_n_sample must be at least 1")
        ddpm_options.pop("ignore", None)  # in the hyperparameters of checkpoints saved before BaseModule skipped it
        if ddpm_options.get("prediction_type", "epsilon") != "epsilon":
            raise ConfigError("the inpainting generator needs prediction_type='epsilon' (RePaint steps on ε)")
        super().__init__(num_classes=num_classes, class_codes=class_codes, image_size=image_size, **ddpm_options)
        timesteps = self.hparams.num_train_timesteps
        if inpaint_steps > timesteps or timesteps % inpaint_steps:
            raise ConfigError(f"inpaint_steps must divide num_train_timesteps ({timesteps}); got {inpaint_steps}")
        self.context_records: Any = None
        self.last_draw: InpaintDraw | None = None
        self._context_cache: dict[int, tuple[Tensor, np.ndarray | None, str]] = {}

    def set_training_records(self, records: Any, pool: Any = None) -> None:
        """Keep the context images: the pool when ``context="pool"`` and the split has one, else ``records``."""
        use_pool = self.hparams.context == "pool" and pool is not None and len(pool)
        self.context_records = pool if use_pool else records
        self._context_cache = {}

    def write_figures(self, folder: Path, seed: int = 0) -> list[Path]:
        """``inpaint_examples.png``: source, mask and result for three samples of every class."""
        from skinsynth.models.inpaint.figures import write_inpaint_figure

        return [write_inpaint_figure(self, Path(folder) / "inpaint_examples.png", seed=seed)]

    # -- sampling -----------------------------------------------------------------------------------------------------
    def _context(self, index: int) -> tuple[Tensor, np.ndarray | None, str]:
        """Context image ``index`` in [0, 1] (3, H, W), with its mask when it does not depend on the draw."""
        if index not in self._context_cache:
            from skinsynth.data.images import ImageReader
            from skinsynth.data.transforms import eval_transform

            row = self.context_records.frame.iloc[index]
            size = self.hparams.image_size
            image = eval_transform(size, normalize=False)(image=ImageReader(draft_size=size).read(row["path"]))["image"]
            fixed, kind = None, "ellipse"
            if self.hparams.mask_mode != "ellipse":
                pixels = (image.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
                file = mask_path(self.hparams.mask_dir, str(row["image_id"])) if self.hparams.mask_dir else None
                fixed, kind = lesion_mask(pixels, self.hparams.mask_mode, np.random.default_rng(index),
                                          mask_file=file, margin=self.hparams.mask_margin)  # fmt: skip
                if kind == "ellipse-fallback":  # no lesion found: a new ellipse per draw, as in mode ellipse
                    fixed = None
            self._context_cache[index] = (image, fixed, kind)
        return self._context_cache[index]

    def draw_contexts(self, count: int, generator: RandomSource) -> InpaintDraw:
        """Pick a context image and a mask for each of ``count`` samples (from each sample's own generator)."""
        from skinsynth.models.inpaint.masks import ellipse_mask

        if self.context_records is None or not len(self.context_records):
            raise ConfigError("the inpainting generator has no context images: call set_training_records(records) "
                              "with the real images to paint into (the study does)")  # fmt: skip
        total = len(self.context_records)
        per_sample = isinstance(generator, Sequence) and not isinstance(generator, torch.Generator)
        sources = list(generator) if per_sample else [generator] * count
        picks = [int(torch.randint(total, (1,), generator=g)) for g in sources]
        seeds = [int(torch.randint(2**31 - 1, (1,), generator=g)) for g in sources]
        images, masks, kinds, ids = [], [], [], []
        size = self.hparams.image_size
        for pick, seed in zip(picks, seeds, strict=True):
            image, fixed, kind = self._context(pick)
            mask = fixed if fixed is not None else ellipse_mask(size, np.random.default_rng(seed))
            images.append(image)
            masks.append(torch.from_numpy(np.ascontiguousarray(mask)).float()[None])
            kinds.append(kind)
            ids.append(str(self.context_records.frame.iloc[pick]["image_id"]))
        return InpaintDraw(ids, torch.stack(images), torch.stack(masks), kinds)

    def _sample(
        self,
        labels: Tensor,
        generator: RandomSource,
        *,
        steps: int | None = None,
        guidance_scale: float | None = None,
        **unused: Any,
    ) -> Tensor:
        """Lesions of class ``labels`` painted into drawn context images (RePaint with the EMA weights).

        ``steps`` overrides ``inpaint_steps``; the DDPM's other sampler options do not apply and are ignored.
        """
        from skinsynth.models.inpaint.repaint import repaint, repaint_scheduler

        hp = self.hparams
        scale = hp.guidance_scale if guidance_scale is None else float(guidance_scale)
        if hp.get("unconditional"):  # a pool-pretrained model knows only the null class
            labels, scale = torch.full_like(labels, self.null_class), 1.0
        steps = steps or hp.inpaint_steps
        self.check_sampling("ddpm", steps, scale)
        draw = self.draw_contexts(len(labels), generator)
        source = (draw.context * 2 - 1).to(self.device)
        keep = 1 - draw.masks.to(self.device)
        scheduler = repaint_scheduler(self.noise_scheduler)
        unet = self.sampling_unet
        noise = randn(source.shape, generator, self.device)
        x = repaint(
            lambda x_t, t: self.predict_noise(unet, x_t, t, labels, scale), scheduler, source, keep, steps=steps,
            jump_length=hp.jump_length, jump_n_sample=hp.jump_n_sample, eta=hp.inpaint_eta, noise=noise,
            generator=generator,
        )  # fmt: skip
        self.last_draw = draw
        return (x.float() + 1) / 2

    def preview_sample(self, labels: Tensor, generator: RandomSource = None) -> Tensor:
        """A cheaper draw for progress grids: 10 RePaint steps (before any context is set: the DDPM's preview)."""
        if self.context_records is None:
            return super().preview_sample(labels, generator)
        steps = 10 if self.hparams.num_train_timesteps % 10 == 0 else self.hparams.inpaint_steps
        return self.sample(labels, generator, steps=steps)
