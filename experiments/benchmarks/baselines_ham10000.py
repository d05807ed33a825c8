"""Baseline arms on real HAM10000: n-shot, several seeds, mean ± std (the numbers in docs/results.md).

    python experiments/benchmarks/baselines_ham10000.py --data-dir ../shared/data/ham10000 --seeds 0,1,2 \
        --shots 50 --image-size 64 --epochs 30 --run-root runs/bench

Each seed is one study run directory (``<run-root>/ham<shots>_seed<seed>``; finished arms are reused), then the
seeds are aggregated into Markdown tables printed to stdout (and written to ``<run-root>/summary.md``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from skinsynth.config import StudyConfig, parse_arms
from skinsynth.io import atomic_write_text
from skinsynth.pipeline import FewShotStudy
from skinsynth.report import aggregate_seeds, markdown_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data/ham10000")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--shots", type=int, default=50)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--baselines", default="real,oversample,weighted,focal,strong-aug")
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--run-root", default="runs/bench")
    args = parser.parse_args()
    metrics_files = []
    for seed in map(int, args.seeds.split(",")):
        config = StudyConfig(
            name=f"ham{args.shots}-baselines",
            run_dir=f"{args.run_root}/ham{args.shots}_seed{seed}",
            dataset="ham10000",
            data_dir=args.data_dir,
            shots=args.shots,
            image_size=args.image_size,
            epochs=args.epochs,
            val_fraction=args.val_fraction,
            backbone=args.backbone,
            baselines=parse_arms(args.baselines),
            seed=seed,
            logger="csv",
            progress_bar=False,
        )
        FewShotStudy(config).run()
        metrics_files.append(Path(config.run_dir) / "metrics.json")
    summary, per_class = aggregate_seeds(metrics_files)
    text = (
        f"HAM10000, {args.shots} shots/class, {args.image_size} px, {args.backbone} from scratch, "
        f"{args.epochs} epochs, seeds {args.seeds} (mean ± std)\n\n{markdown_table(summary)}\n\n"
        f"Per-class F1:\n\n{markdown_table(per_class)}\n"
    )
    atomic_write_text(text, Path(args.run_root) / f"summary_ham{args.shots}.md")
    print(text)


if __name__ == "__main__":
    main()
