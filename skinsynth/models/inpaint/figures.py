"""The inpainting generator's figure: per class, the real context image, its mask and the painted result."""

from __future__ import annotations

from pathlib import Path

import torch

from skinsynth.models.inpaint.module import InpaintModule


def write_inpaint_figure(model: InpaintModule, path: str | Path, per_class: int = 3, seed: int = 0) -> Path:
    """Draw ``per_class`` samples of every class and save source | mask | result triples, one row per class.

    The samples are seeded (sample ``i`` of class ``k`` from seed ``seed + 1000 k + i``), so the figure is the same on
    every run; the mask is shown as the source with the painted region tinted.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skinsynth.report import save_figure

    codes = model.class_codes
    labels = torch.arange(len(codes)).repeat_interleave(per_class)
    generators = [torch.Generator().manual_seed(seed + 1000 * int(k) + i % per_class) for i, k in enumerate(labels)]
    results = model.sample(labels, generators).cpu()
    draw = model.last_draw
    fig, axes = plt.subplots(len(codes), 3 * per_class, figsize=(1.2 * 3 * per_class, 1.3 * len(codes)), squeeze=False)
    for row, code in enumerate(codes):
        for i in range(per_class):
            n = row * per_class + i
            source = draw.context[n].permute(1, 2, 0).numpy()
            tinted = source.copy()
            tinted[draw.masks[n, 0].bool().numpy()] = 0.5 * tinted[draw.masks[n, 0].bool().numpy()] + [0.5, 0.0, 0.5]
            panels = (source, tinted.clip(0, 1), results[n].permute(1, 2, 0).numpy())
            for j, (panel, title) in enumerate(
                zip(panels, ("source", f"mask ({draw.mask_kinds[n]})", code), strict=True)
            ):
                ax = axes[row, 3 * i + j]
                ax.imshow(panel, interpolation="nearest")
                ax.set_axis_off()
                ax.set_title(title, fontsize=6)
    fig.suptitle("inpainting: real context, lesion mask, painted lesion of the class", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
