"""How fast the inpainting generator samples on this machine, and how often its segmenter finds a lesion.

Sampling time does not depend on what the U-Net has learned, so the model here is untrained (no checkpoint needed):
the numbers are seconds per image of RePaint with the ``small`` U-Net preset, for the resolutions and jump settings
given. The segmenter part runs :func:`~skinsynth.models.inpaint.masks.otsu_lesion_mask` on real images and counts
how many get a lesion mask (the rest fall back to a random ellipse), with the mask's share of the image.

    python experiments/benchmarks/inpaint_speed.py --data-dir ../shared/data/ham10000 --images 500
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def segmenter_numbers(records, count: int, size: int) -> None:
    """Print the share of ``count`` images the segmenter finds a lesion in, and the mask area quantiles."""
    import numpy as np

    from skinsynth.data.images import ImageReader
    from skinsynth.data.transforms import eval_transform
    from skinsynth.models.inpaint.masks import otsu_lesion_mask

    reader, transform = ImageReader(draft_size=size), eval_transform(size, normalize=False)
    areas, started = [], time.perf_counter()
    rows = records.frame.sample(min(count, len(records)), random_state=0)
    for path in rows["path"]:
        pixels = (transform(image=reader.read(path))["image"].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        mask = otsu_lesion_mask(pixels)
        areas.append(np.nan if mask is None else float(mask.mean()))
    seconds = (time.perf_counter() - started) / len(rows)
    found = np.array(areas)[~np.isnan(areas)]
    quartiles = np.percentile(found, [25, 50, 75]) if len(found) else [float("nan")] * 3
    print(f"[benchmark] segmenter at {size} px: a lesion in {len(found)} of {len(rows)} images "
          f"({len(found) / len(rows):.1%}); mask area quartiles {quartiles[0]:.2f} / {quartiles[1]:.2f} / "
          f"{quartiles[2]:.2f} of the image; {1000 * seconds:.1f} ms per image")  # fmt: skip


def sampling_seconds(records, size: int, jump_n_sample: int, steps: int, count: int) -> float:
    """Seconds per image of ``count`` RePaint samples at ``size`` px (untrained ``small`` U-Net)."""
    import torch

    from skinsynth.models.inpaint.module import InpaintModule

    codes = list(records.vocabulary.codes)
    model = InpaintModule(num_classes=len(codes), class_codes=codes, image_size=size, preset="small",
                          inpaint_steps=steps, jump_n_sample=jump_n_sample)  # fmt: skip
    model.set_training_records(records.subset(records.frame.index < 64))
    labels = torch.arange(count) % len(codes)
    model.sample(labels[:1], torch.Generator().manual_seed(0))  # warm-up (first-call allocations)
    started = time.perf_counter()
    model.sample(labels, [torch.Generator().manual_seed(i) for i in range(count)])
    return (time.perf_counter() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data/ham10000")
    parser.add_argument("--images", type=int, default=500, help="images the segmenter is run on")
    parser.add_argument("--sizes", default="32,64")
    parser.add_argument("--jumps", default="1,2", help="jump_n_sample values (1: no resampling)")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--samples", type=int, default=8, help="images timed per setting")
    args = parser.parse_args()
    import torch

    from skinsynth.data.sources import read_source

    records = read_source("ham10000", args.data_dir)
    print(f"[benchmark] torch threads: {torch.get_num_threads()}")
    segmenter_numbers(records, args.images, 64)
    for size in (int(s) for s in args.sizes.split(",")):
        for jumps in (int(j) for j in args.jumps.split(",")):
            seconds = sampling_seconds(records, size, jumps, args.steps, args.samples)
            print(f"[benchmark] RePaint {size} px, {args.steps} steps, jump_length 10, jump_n_sample {jumps}: "
                  f"{seconds:.2f} s per image")  # fmt: skip


if __name__ == "__main__":
    main()
