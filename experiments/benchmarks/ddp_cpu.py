"""DDP on the CPU (gloo): 1 process against 2, for a classifier epoch and for materialization.

    python experiments/benchmarks/ddp_cpu.py                      # toy set, 32 px: s/epoch and images/s
    python experiments/benchmarks/ddp_cpu.py --study --data-dir ../shared/data/ham10000 --image-size 64

Default: the generated toy set (``--toy-total`` images at ``--image-size`` px, made once in a temporary folder).
Each measurement runs in a fresh subprocess with ``devices`` = 1 or 2 (Lightning's launcher starts the second rank,
``strategy`` as the study picks it): 1 process with 2 torch threads, 1 process with 1 thread, and 2 processes with 1
thread each (``OMP_NUM_THREADS``); on 2 cores the first and the last use the whole machine:

- **classifier**: the study's classifier arm (resnet18 from scratch, AdamW + cosine, standard augmentation) on the
  few-shot split, the same *global* batch on both (``--batch-size`` on 1 process, half of it per rank on 2), one
  validation pass per epoch; the first epoch is a warm-up, the mean of the next ``--epochs`` is reported.
- **materialize**: ``SyntheticDatasetCallback`` at the end of training (sharded by rank, PNGs + manifest), for an
  untrained GAN (study defaults) and an untrained DDPM (``small`` U-Net, DDIM with ``--ddpm-steps`` steps); images/s
  from the barrier before to the barrier after, so it includes the manifest merge on rank 0.

Every setting runs ``--repeats`` times, the order of the settings alternating; every run is printed, and the
table shows the best run of each (the least disturbed on a shared machine).

``--study`` instead runs a whole ``skinsynth fewshot`` study once on 1 process and once under ``torchrun
--nproc_per_node 2`` and prints seconds per stage. On a 2-core machine two processes share the same cores as one
process with two threads, so this measures DDP's overhead on the CPU, not a GPU speed-up.
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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skinsynth.data.records import LesionRecords

ROOT = Path(__file__).resolve().parents[2]
CODES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]


# -- the measured side (run in a subprocess; Lightning re-runs it for rank 1) -----------------------------------------
def records(args: argparse.Namespace) -> LesionRecords:
    from skinsynth.data.sources.toy import read_toy

    return read_toy(Path(args.toy_dir), total=args.toy_total, min_per_class=args.toy_min_per_class,
                    image_size=args.image_size)  # fmt: skip


def measure_classifier(args: argparse.Namespace) -> dict:
    """Seconds per classifier epoch (train + validation) on ``args.devices`` processes."""
    import lightning as L

    from skinsynth.data import SkinLesionDataModule
    from skinsynth.models.classifier import LesionClassifier

    class EpochClock(L.Callback):
        def __init__(self) -> None:
            self.marks: list[float] = []

        def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            self.marks.append(time.perf_counter())

        def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            self.marks.append(time.perf_counter())

    L.seed_everything(0, verbose=False)
    dm = SkinLesionDataModule(records=records(args), mode="fewshot", shots=args.shots, image_size=args.image_size,
                              batch_size=args.batch_size // args.devices, eval_batch_size=2 * args.batch_size,
                              augment="standard", seed=0)  # fmt: skip
    model = LesionClassifier(num_classes=len(CODES), class_codes=CODES, backbone="resnet18")
    clock = EpochClock()
    trainer = L.Trainer(accelerator="cpu", devices=args.devices, strategy="ddp" if args.devices > 1 else "auto",
                        max_epochs=1 + args.epochs, callbacks=[clock], logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                        default_root_dir=args.out)  # fmt: skip
    trainer.fit(model, datamodule=dm)
    epochs = [b - a for a, b in zip(clock.marks[1:-1], clock.marks[2:], strict=True)]  # the first epoch warms up
    return {"rank": trainer.global_rank, "train_images": len(dm.train_records), "steps_per_epoch":
            trainer.num_training_batches, "s_per_epoch": sum(epochs) / len(epochs), "epochs": epochs}  # fmt: skip


def measure_materialize(args: argparse.Namespace, name: str) -> dict:
    """Images/s of the materialization at the end of a (one-step) generator fit on ``args.devices`` processes."""
    import lightning as L

    from skinsynth.callbacks.synthetic_dataset import SyntheticDatasetCallback
    from skinsynth.data import SkinLesionDataModule
    from skinsynth.models.registry import make_generator
    from skinsynth.study.hardware import module_trainer_arguments

    images = args.gan_images if name == "gan" else args.ddpm_images

    class TimedMaterialization(SyntheticDatasetCallback):
        seconds = 0.0

        def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            trainer.strategy.barrier()
            started = time.perf_counter()
            super().on_train_end(trainer, pl_module)  # ends with a barrier after rank 0 wrote the manifest
            self.seconds = time.perf_counter() - started

    L.seed_everything(0, verbose=False)
    dm = SkinLesionDataModule(records=records(args), mode="fewshot", shots=args.shots, image_size=args.image_size,
                              batch_size=8, augment="dihedral", normalize=False, seed=0)  # fmt: skip
    options = {"sampling_steps": args.ddpm_steps} if name == "ddpm" else {}
    model = make_generator(name, class_codes=CODES, image_size=args.image_size, **options)
    budget = {code: images // len(CODES) + (i < images % len(CODES)) for i, code in enumerate(CODES)}
    callback = TimedMaterialization(Path(args.out) / "synthetic", budget, name, CODES, batch_size=64, progress=False)
    trainer = L.Trainer(accelerator="cpu", devices=args.devices, max_steps=1, limit_val_batches=0,
                        callbacks=[callback], logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=args.out,
                        **module_trainer_arguments(model, "cpu", args.devices))  # fmt: skip
    trainer.fit(model, datamodule=dm)
    return {"rank": trainer.global_rank, "images": images, "seconds": callback.seconds,
            "images_per_s": images / callback.seconds}  # fmt: skip


def worker(args: argparse.Namespace) -> None:
    result = measure_classifier(args) if args.worker == "classifier" else measure_materialize(args, args.worker)
    if result["rank"] == 0:
        Path(args.out, "result.json").write_text(json.dumps(result))


# -- the driver --------------------------------------------------------------------------------------------------------
SETTINGS = ((1, 2), (1, 1), (2, 1))  # (processes, torch threads per process)


def run_worker(task: str, processes: int, threads: int, tmp: Path, args: argparse.Namespace) -> dict:
    """Run one measurement in a fresh process (Lightning's launcher adds rank 1); returns rank 0's result."""
    out = tmp / f"{task}-p{processes}t{threads}"
    out.mkdir(parents=True)
    passed = ("toy_total", "toy_min_per_class", "image_size", "shots", "batch_size", "epochs", "gan_images",
              "ddpm_images", "ddpm_steps")  # fmt: skip
    command = [sys.executable, __file__, "--worker", task, "--devices", str(processes), "--out", str(out),
               "--toy-dir", str(tmp.parent / "toy")]  # fmt: skip
    for name in passed:
        command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    subprocess.run(command, env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads((out / "result.json").read_text())


def epochs_and_images(args: argparse.Namespace) -> None:
    """The classifier's s/epoch and the materialization's images/s: 1 process (2 or 1 threads) against 2."""
    rows = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        records(argparse.Namespace(**{**vars(args), "toy_dir": str(tmp / "toy")}))  # make the toy set once
        for task in args.tasks.split(","):
            runs: dict[tuple[int, int], list[dict]] = {setting: [] for setting in SETTINGS}
            for repeat in range(args.repeats):  # alternate the order, so a change of load hits every setting
                for processes, threads in SETTINGS if repeat % 2 == 0 else SETTINGS[::-1]:
                    result = run_worker(task, processes, threads, tmp / f"r{repeat}", args)
                    runs[processes, threads].append(result)
            key = "s_per_epoch" if task == "classifier" else "seconds"
            for (processes, threads), results in runs.items():
                times = ", ".join(f"{r[key]:.2f} s" for r in results)
                print(f"{task}, {processes} process(es) x {threads} thread(s): {times}", flush=True)
            rows.append((task, [min(runs[s], key=lambda r: r[key]) for s in SETTINGS]))  # the least disturbed run
    trained = "".join(f"{r[0]['train_images']} training images, " for task, r in rows if task == "classifier")
    print(
        f"\ntoy set {args.toy_total} images at {args.image_size} px; {args.shots} shots = {trained}global batch "
        f"{args.batch_size}; best of {args.repeats}\n"
    )
    heads = " | ".join(f"{p} process{'es' if p > 1 else ''} x {t} thread{'s' if t > 1 else ''}" for p, t in SETTINGS)
    print(f"| measurement | {heads} | 2 proc. / 1 proc. 2 threads |\n|---|---:|---:|---:|---:|")
    for task, results in rows:
        if task == "classifier":
            label = f"classifier arm, s / epoch ({results[0]['steps_per_epoch']} steps + validation)"
            values = [r["s_per_epoch"] for r in results]
        else:
            sampler = f", DDIM-{args.ddpm_steps}" if task == "ddpm" else ""
            label = f"materialize {task}{sampler}, images / s ({results[0]['images']} images)"
            values = [r["images_per_s"] for r in results]
        cells = " | ".join(f"{v:.2f}" for v in values)
        print(f"| {label} | {cells} | {values[2] / values[0]:.2f} |")


def threads_for(processes: int) -> str:
    return str(max(1, (os.cpu_count() or 2) // processes))


def study(args: argparse.Namespace) -> None:
    """One whole study on 1 process and under torchrun on 2; seconds per stage and test balanced accuracy."""

    def run_study(processes: int, run_dir: Path) -> dict:
        env = {**os.environ, "OMP_NUM_THREADS": threads_for(processes), "PYTHONPATH": str(ROOT)}
        command = [
            "fewshot", "--run-dir", str(run_dir), "--dataset", args.dataset, "--shots", str(args.shots),
            "--image-size", str(args.image_size), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
            "--generator", args.generator, "--gen-epochs", str(args.gen_epochs), "--budget", args.budget,
            "--logger", "none", "--no-progress-bar", "--accelerator", "cpu", "--devices", str(processes),
        ]  # fmt: skip
        if args.data_dir:
            command += ["--data-dir", args.data_dir]
        launcher = [sys.executable, "-m", "skinsynth"]
        if processes > 1:
            launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                        str(processes), "-m", "skinsynth"]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(launcher + command, env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        total = time.perf_counter() - started
        metrics = json.loads((run_dir / "metrics.json").read_text())["arms"]
        timing = json.loads((run_dir / "checkpoints" / f"generator-{args.generator}" / "timing.json").read_text())
        return {"total": total, "generator": timing["wall_time_s"], "arms": metrics}

    with tempfile.TemporaryDirectory() as tmp:
        results = {p: run_study(p, Path(tmp) / f"p{p}") for p in (1, 2)}
    print("| stage | 1 process (s) | 2 processes (s) | ratio |\n|---|---:|---:|---:|")
    rows = [
        ("whole study", results[1]["total"], results[2]["total"]),
        (f"generator {args.generator} (train + materialize)", results[1]["generator"], results[2]["generator"]),
    ]
    rows += [(f"arm {arm}", results[1]["arms"][arm]["wall_time_s"], results[2]["arms"][arm]["wall_time_s"])
             for arm in results[1]["arms"]]  # fmt: skip
    for name, one, two in rows:
        print(f"| {name} | {one:.0f} | {two:.0f} | {two / one:.2f} |")
    print("\n| arm | test balanced acc. (1 process) | (2 processes) |\n|---|---:|---:|")
    for arm in results[1]["arms"]:
        print(f"| {arm} | {results[1]['arms'][arm]['balanced_accuracy']:.3f} | "
              f"{results[2]['arms'][arm]['balanced_accuracy']:.3f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--shots", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32, help="global batch (per rank: divided by processes)")
    parser.add_argument("--epochs", type=int, default=3, help="timed classifier epochs (after one warm-up epoch)")
    parser.add_argument("--toy-total", type=int, default=3000)
    parser.add_argument("--toy-min-per-class", type=int, default=150)
    parser.add_argument("--gan-images", type=int, default=2000)
    parser.add_argument("--ddpm-images", type=int, default=140)
    parser.add_argument("--ddpm-steps", type=int, default=10)
    parser.add_argument("--tasks", default="classifier,gan,ddpm", help="what to measure (comma-separated)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per setting (order alternates; best reported)")
    parser.add_argument("--study", action="store_true", help="time a whole study instead (options below)")
    parser.add_argument("--dataset", default="ham10000", help="--study: a reader name, or toy")
    parser.add_argument("--data-dir", default="../shared/data/ham10000", help="--study: the dataset folder")
    parser.add_argument("--generator", default="gan", help="--study: the generator")
    parser.add_argument("--gen-epochs", type=int, default=5, help="--study: generator epochs")
    parser.add_argument("--budget", default="paper", help="--study: the synthetic budget")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--devices", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--toy-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
    elif args.study:
        if args.dataset == "toy":
            args.data_dir = None  # generated into each run directory
        study(args)
    else:
        epochs_and_images(args)


if __name__ == "__main__":
    main()
