r"""Within-class diversity and class separation of the conditional GAN under different settings (issue #13).

    python experiments/benchmarks/gan_collapse.py --data-dir ../shared/data/ham10000 --image-size 64 --shots 50 \
        --epochs 50 --variant "plain:legacy" --variant "default:"
    python experiments/benchmarks/gan_collapse.py --dataset toy --image-size 32 --shots 20 --epochs 100 \
        --variant "mode seeking:legacy,mode_seeking=1"

A variant is ``NAME:OPTIONS`` with comma-separated ``KEY=VALUE`` generator options; ``legacy`` starts from the
settings of the plain DCGAN of earlier versions (``ConditionalGANModule.LEGACY_DEFAULTS``) instead of today's
defaults. Each variant trains on the same few-shot split (dihedral augmentation, batch 32), then samples 24 images
per class and prints, per class, 1 − MS-SSIM between sample pairs for the synthetic and the real images (higher is
more diverse; a collapsed class is near 0), and the class separation of both sets (mean distance between class-mean
images / mean within-class distance). A grid (8 per class, one row per class) is written per variant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from skinsynth.callbacks.sample_grid import class_grid, save_grid
from skinsynth.config import parse_option
from skinsynth.data import SkinLesionDataModule
from skinsynth.data.sources import read_source
from skinsynth.data.sources.toy import read_toy
from skinsynth.models.gan.module import ConditionalGANModule
from skinsynth.quality.diversity import ms_ssim_diversity


def separation(images: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean distance between class-mean images over the mean pairwise distance within a class."""
    classes = labels.unique()
    means = torch.stack([images[labels == c].mean(0).flatten() for c in classes])
    within = torch.stack([torch.pdist(images[labels == c].flatten(1)).mean() for c in classes]).mean()
    return float(torch.pdist(means).mean() / within)


def parse_variant(text: str) -> tuple[str, dict]:
    name, _, spec = text.partition(":")
    options: dict = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        options.update(ConditionalGANModule.LEGACY_DEFAULTS if item == "legacy" else dict([parse_option(item)]))
    return name, options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="ham10000", help="ham10000 or toy")
    parser.add_argument("--data-dir", default="../shared/data/ham10000")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--shots", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variant", action="append", default=[], help="NAME:OPTIONS (repeatable)")
    parser.add_argument("--out", default="runs/gan-collapse", help="where the grids go")
    args = parser.parse_args()
    if args.dataset == "toy":
        records = read_toy(Path(args.out) / "toy", total=1000, min_per_class=40, image_size=args.image_size)
    else:
        records = read_source(args.dataset, args.data_dir)
    dm = SkinLesionDataModule(records=records, mode="fewshot", shots=args.shots, image_size=args.image_size,
                              batch_size=32, seed=args.seed, augment="dihedral", normalize=False)  # fmt: skip
    dm.setup("fit")
    codes = list(records.vocabulary.codes)
    real = next(iter(DataLoader(dm.datasets["train"], batch_size=len(dm.datasets["train"]))))
    real_images, real_labels = real["image"], real["label"]
    for variant in args.variant or ["default:"]:
        name, options = parse_variant(variant)
        L.seed_everything(args.seed, verbose=False)
        model = ConditionalGANModule(len(codes), codes, image_size=args.image_size, **options)
        started = time.perf_counter()
        L.Trainer(max_epochs=args.epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                  enable_model_summary=False).fit(model, datamodule=dm)  # fmt: skip
        seconds = time.perf_counter() - started
        labels = torch.arange(len(codes)).repeat_interleave(24)
        fake = model.sample(labels, torch.Generator().manual_seed(1))
        per_class = {
            code: {"synthetic": round(ms_ssim_diversity(fake[labels == c], 100), 3),
                   "real": round(ms_ssim_diversity(real_images[real_labels == c][:24], 100), 3)}
            for c, code in enumerate(codes)
        }  # fmt: skip
        result = {"variant": name, "options": options, "generator_steps": int(model.g_steps),
                  "train_s": round(seconds), "msssim_diversity": per_class,
                  "separation": {"synthetic": round(separation(fake, labels), 3),
                                 "real": round(separation(real_images, real_labels), 3)}}  # fmt: skip
        print(json.dumps(result), flush=True)
        grid = class_grid(fake, labels, len(codes))  # the first 8 of each class
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        save_grid(grid, out / f"{args.dataset}_{args.image_size}px_{name.replace(' ', '_')}.png", codes)


if __name__ == "__main__":
    main()
