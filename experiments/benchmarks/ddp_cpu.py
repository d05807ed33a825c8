"""One study on 1 process and on 2 DDP processes (torchrun, gloo) on the CPU: wall time per stage and test scores.

    python experiments/benchmarks/ddp_cpu.py --data-dir ../shared/data/ham10000 --shots 50 --image-size 64 \
        --epochs 5 --gen-epochs 5

Runs ``skinsynth fewshot`` twice in fresh run directories (``--devices 1`` and ``torchrun --nproc_per_node 2
--devices 2``, ``OMP_NUM_THREADS`` = cores / processes) and prints seconds for the generator stage (training +
materialization) and each classifier arm, with the test balanced accuracy. On a 2-core machine the two processes
share the same cores, so this measures overhead and correctness, not a GPU speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_study(processes: int, run_dir: Path, args: argparse.Namespace) -> dict:
    threads = max(1, (os.cpu_count() or 2) // processes)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    study = [
        "fewshot", "--run-dir", str(run_dir), "--dataset", args.dataset, "--shots", str(args.shots),
        "--image-size", str(args.image_size), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
        "--generator", args.generator, "--gen-epochs", str(args.gen_epochs), "--budget", args.budget,
        "--logger", "none", "--no-progress-bar", "--accelerator", "cpu", "--devices", str(processes),
    ]  # fmt: skip
    if args.data_dir:
        study += ["--data-dir", args.data_dir]
    launcher = [sys.executable, "-m", "skinsynth"]
    if processes > 1:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                    str(processes), "-m", "skinsynth"]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(launcher + study, env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    total = time.perf_counter() - started
    metrics = json.loads((run_dir / "metrics.json").read_text())["arms"]
    timing = json.loads((run_dir / "checkpoints" / f"generator-{args.generator}" / "timing.json").read_text())
    return {"total": total, "generator": timing["wall_time_s"], "arms": metrics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="ham10000", help="a reader name, or toy")
    parser.add_argument("--data-dir", default="../shared/data/ham10000")
    parser.add_argument("--shots", type=int, default=50)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--generator", default="gan")
    parser.add_argument("--gen-epochs", type=int, default=5)
    parser.add_argument("--budget", default="paper")
    args = parser.parse_args()
    if args.dataset == "toy":
        args.data_dir = None  # generated into each run directory
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for processes in (1, 2):
            results[processes] = run_study(processes, Path(tmp) / f"p{processes}", args)
    print("| stage | 1 process (s) | 2 processes (s) | ratio |\n|---|---:|---:|---:|")
    rows = [("whole study", results[1]["total"], results[2]["total"]),
            (f"generator {args.generator} (train + materialize)", results[1]["generator"], results[2]["generator"])]
    rows += [(f"arm {arm}", results[1]["arms"][arm]["wall_time_s"], results[2]["arms"][arm]["wall_time_s"])
             for arm in results[1]["arms"]]  # fmt: skip
    for name, one, two in rows:
        print(f"| {name} | {one:.0f} | {two:.0f} | {two / one:.2f} |")
    print("\n| arm | test balanced acc. (1 process) | (2 processes) |\n|---|---:|---:|")
    for arm in results[1]["arms"]:
        print(f"| {arm} | {results[1]['arms'][arm]['balanced_accuracy']:.3f} | "
              f"{results[2]['arms'][arm]['balanced_accuracy']:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
