"""Generator speed on real HAM10000: training time, raw ``sample()`` throughput and materialization throughput.

    python experiments/benchmarks/generators.py --data-dir ../shared/data/ham10000 --shots 50 --image-size 64 \
        --epochs 20 --images 1000
    python experiments/benchmarks/generators.py --generators ddpm --image-size 64 --epochs 2 --images 64 \
        --gen-option preset=small --gen-option sampling_steps=25 --gen-option eta=1

For each generator: seconds per training epoch on the few-shot split, images/s of ``sample()`` (batches of 64, one
seeded ``torch.Generator`` per image, as materialization draws them) and images/s of ``materialize()`` writing the
same number of PNGs plus the manifest; the last column is materialize / sample (target ≥ 0.9).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from skinsynth.callbacks.synthetic_dataset import materialize
from skinsynth.config import parse_option
from skinsynth.data import SkinLesionDataModule
from skinsynth.models.registry import make_generator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data/ham10000")
    parser.add_argument("--generators", default="cvae,gan")
    parser.add_argument("--shots", type=int, default=50)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--images", type=int, default=1000, help="images sampled / materialized")
    parser.add_argument(
        "--gen-option", action="append", default=[], metavar="KEY=VALUE",
        help="generator constructor argument for every generator, e.g. preset=small (repeatable)",
    )  # fmt: skip
    args = parser.parse_args()
    options = dict(map(parse_option, args.gen_option))
    dm = SkinLesionDataModule(
        "ham10000", args.data_dir, mode="fewshot", shots=args.shots, image_size=args.image_size,
        batch_size=args.batch_size, augment="dihedral", normalize=False,
    )  # fmt: skip
    dm.setup()
    codes = list(dm.vocabulary.codes)
    print(f"torch threads {torch.get_num_threads()}; {args.shots}-shot HAM10000 ({len(dm.train_records)} images), "
          f"{args.image_size} px, {args.epochs} epochs, batch {args.batch_size}")  # fmt: skip
    print(
        f"{'generator':>10} {'s/epoch':>8} {'train s':>8} {'sample img/s':>13} {'materialize img/s':>18} {'ratio':>6}"
    )
    for name in args.generators.split(","):
        L.seed_everything(0, verbose=False)
        model = make_generator(name, class_codes=codes, image_size=args.image_size, **options)
        trainer = L.Trainer(
            max_epochs=args.epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False, limit_val_batches=0,
        )  # fmt: skip
        start = time.perf_counter()
        trainer.fit(model, train_dataloaders=dm.train_dataloader())
        train_seconds = time.perf_counter() - start
        labels = torch.arange(len(codes)).repeat(args.images // len(codes) + 1)[: args.images]
        warm = labels[: min(64, args.images)]  # warm-up, at most one sampling batch
        model.sample(warm, [torch.Generator().manual_seed(i) for i in range(len(warm))])
        start = time.perf_counter()
        for first in range(0, args.images, 64):
            batch = labels[first : first + 64]
            model.sample(batch, [torch.Generator().manual_seed(first + i) for i in range(len(batch))])
        sample_rate = args.images / (time.perf_counter() - start)
        budget = {c: int((labels == i).sum()) for i, c in enumerate(codes)}
        folder = Path(tempfile.mkdtemp(prefix=f"materialize-{name}-"))
        start = time.perf_counter()
        materialize(model, budget, folder, generator_name=name, class_codes=codes, image_size=args.image_size)
        materialize_rate = args.images / (time.perf_counter() - start)
        shutil.rmtree(folder)
        print(f"{name:>10} {train_seconds / args.epochs:>8.2f} {train_seconds:>8.0f} {sample_rate:>13.2f} "
              f"{materialize_rate:>18.2f} {materialize_rate / sample_rate:>6.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
