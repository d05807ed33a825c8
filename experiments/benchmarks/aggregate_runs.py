"""Aggregate finished study run directories (one per seed) into the multi-seed tables of docs/results.md.

    python experiments/benchmarks/aggregate_runs.py runs/bench-evidence/ham50_seed{0,1,2} --out runs/bench-evidence

Reads each directory's ``metrics.json`` (every arm it finished, whichever command ran it) and prints, and writes to
``<out>/aggregate.md``: the arms with mean ± std and bootstrap CIs, each arm paired with ``real`` seed by seed, the
per-class F1 changes, the same pairing on the balanced accuracy of the classes with enough test images
(``--min-support``), and the evidence about every synthetic set (overall FID, precision, recall, coverage and
diversity ratio in the judge's feature space, the judge's mean confidence, the near-copy fraction), mean ± std over
the seeds that scored it. An arm missing from some seeds is aggregated over the seeds that have it (the table says
how many).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from skinsynth.config import nest
from skinsynth.io import atomic_write_text
from skinsynth.stats import aggregate, aggregate_markdown, paired_markdown

EVIDENCE_COLUMNS = ("fid", "precision", "recall", "coverage", "diversity_ratio", "ms_ssim_diversity_synthetic",
                    "ms_ssim_diversity_real")  # fmt: skip


def evidence_markdown(runs: dict[int, dict]) -> str:
    """One row per synthetic set: overall quality and memorization numbers, mean ± std over seeds."""
    sets = list(dict.fromkeys(name for run in runs.values() for name in run.get("synthetic", {})))
    if not sets:
        return ""
    heads = [*EVIDENCE_COLUMNS, "mean confidence", "near-copy fraction", "seeds"]
    lines = ["## Synthetic sets (overall, judge features)", "", "| set | " + " | ".join(heads) + " |",
             "|---|" + "---|" * len(heads)]  # fmt: skip
    for name in sets:
        scored = [run["synthetic"][name] for run in runs.values() if name in run.get("synthetic", {})]

        def cell(values: list[float]) -> str:
            array = np.asarray(values, dtype=float)
            return f"{array.mean():.3f} ± {array.std(ddof=1) if len(array) > 1 else 0.0:.3f}"

        cells = [cell([s["quality"]["all"][k] for s in scored]) for k in EVIDENCE_COLUMNS]
        cells.append(cell([np.mean(list(s["mean_confidence"].values())) for s in scored]))
        cells.append(cell([s["near_copy_fraction"] for s in scored]))
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {len(scored)} |")
    codes = list(next(iter(runs.values()))["class_codes"])
    lines += [
        "",
        "Within-class diversity, synthetic / real (feature cosine distance; 1 = as diverse as the real "
        "images), mean over seeds:",
        "",
        "| set | " + " | ".join(codes) + " |",
        "|---|" + "---|" * len(codes),
    ]
    for name in sets:
        scored = [run["synthetic"][name]["quality"] for run in runs.values() if name in run.get("synthetic", {})]
        cells = [f"{np.mean([q[c]['diversity_ratio'] for q in scored if c in q]):.2f}" if any(c in q for q in scored)
                 else "–" for c in codes]  # fmt: skip
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def with_supported_recall(arms: dict[str, dict], min_support: int) -> tuple[dict[str, dict], list[str]]:
    """Each arm's metrics plus ``supported_balanced_accuracy``: mean recall over classes with ≥ ``min_support`` tests.

    On a small test split a rare class's recall moves in steps of 1 / support (df with 2 test images: 0, 0.5, 1),
    and balanced accuracy by that step / number of classes; this column leaves such classes out.
    """
    support = next(iter(arms.values()))["support"]
    kept = [code for code, n in support.items() if n >= min_support]
    out = {arm: {**m, "supported_balanced_accuracy": float(np.mean([m["recall"][c] for c in kept]))}
           for arm, m in arms.items()}  # fmt: skip
    return out, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="study run directories, one per seed")
    parser.add_argument("--out", default=None, help="folder for aggregate.md (default: print only)")
    parser.add_argument(
        "--min-support", type=int, default=20,
        help="also report balanced accuracy over the classes with at least this many test images (default 20)",
    )  # fmt: skip
    args = parser.parse_args()
    runs = {}
    for folder in args.runs:
        metrics = json.loads((Path(folder) / "metrics.json").read_text())
        study = nest(metrics["config"], where=f"{folder}/metrics.json")["study"]  # flat in older run directories
        runs[int(study["seed"])] = metrics
    codes = next(iter(runs.values()))["class_codes"]
    per_seed, kept = {}, []
    for seed, run in runs.items():
        per_seed[seed], kept = with_supported_recall(run["arms"], args.min_support)
    metrics = ("balanced_accuracy", "supported_balanced_accuracy", "macro_f1", "accuracy")
    result = aggregate(per_seed, codes, metrics=metrics)
    text = (
        f"{aggregate_markdown(result, codes)}\n#### Paired against `real` (balanced accuracy over {', '.join(kept)}: "
        f"the classes with at least {args.min_support} test images)\n\n"
        f"{paired_markdown(result, 'supported_balanced_accuracy')}\n\n{evidence_markdown(runs)}"
    )
    print(text)
    if args.out:
        atomic_write_text(text, Path(args.out) / "aggregate.md")


if __name__ == "__main__":
    main()
