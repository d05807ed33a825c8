"""One side of a multi-process test: run TASK with Lightning's DDP launcher on DEVICES CPU processes.

    python tests/distributed/worker.py TASK OUT_DIR DATA_DIR DEVICES

Lightning starts the other ranks by re-running this script; every rank writes ``rank<r>.json`` into OUT_DIR and rank
0 writes ``result.json``. The tests in this folder compare 1 and 2 processes.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import lightning as L
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from skinsynth.data import SkinLesionDataModule

CODES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
LOGGED = ("accuracy", "balanced_accuracy", "macro_f1", "auroc")  # test metrics compared with the saved predictions'


def trainer(devices: int, out: Path, module: object = None, **options: object) -> L.Trainer:
    from skinsynth.study.hardware import module_trainer_arguments

    options = {**module_trainer_arguments(module, "cpu", devices), **options}  # what the study's Trainer merges
    options.setdefault("strategy", "ddp" if devices > 1 else "auto")
    options.setdefault("logger", False)
    return L.Trainer(accelerator="cpu", devices=devices, enable_progress_bar=False, enable_model_summary=False,
                     default_root_dir=str(out), **options)  # fmt: skip


def parameter_digest(module: torch.nn.Module) -> str:
    """A hash of the trainable weights (buffers such as BatchNorm statistics are per rank by design)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.named_parameters()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def write(out: Path, rank: int, name: str, data: dict) -> None:
    (out / f"{name}.json").write_text(json.dumps(data))


def classifier(out: Path, data: Path, devices: int) -> None:
    """Test a fixed checkpoint (trained once, on 1 process) on ``devices`` processes; then 2 training steps."""
    from skinsynth.models.classifier import LesionClassifier
    from skinsynth.models.metrics import compute_metrics

    L.seed_everything(0, verbose=False)
    dm = SkinLesionDataModule("ham10000", data, mode="fewshot", shots=4, image_size=16, batch_size=8, seed=0)
    start = out.parent / "start.ckpt"
    model = LesionClassifier(num_classes=7, class_codes=CODES, backbone="resnet18")
    if devices == 1 and not start.exists():
        fitted = trainer(1, out, max_steps=2, enable_checkpointing=False)
        fitted.fit(model, datamodule=dm)
        fitted.save_checkpoint(start)
    model = LesionClassifier.load_checkpoint(start)
    run = trainer(devices, out, enable_checkpointing=False)
    run.test(model, datamodule=dm, verbose=False)
    rank = run.global_rank
    predictions = model.test_predictions
    write(out, rank, f"rank{rank}", {
        "test_images": len(predictions["index"]),
        "logged": {k: float(run.callback_metrics[f"test_{k}"]) for k in LOGGED},
    })  # fmt: skip
    if rank == 0:
        metrics = compute_metrics(predictions["probs"], predictions["label"], CODES)
        write(out, 0, "result", {
            "metrics": {k: metrics[k] for k in LOGGED},
            "balanced_accuracy": metrics["balanced_accuracy"],
            "index": predictions["index"].tolist(),
            "probs": predictions["probs"].tolist(),
            "expected_test_images": len(dm.split.records_for("test")),
        })  # fmt: skip
    fit = trainer(devices, out, max_steps=2, enable_checkpointing=False)
    fit.fit(model, datamodule=dm)
    write(out, fit.global_rank, f"fit{fit.global_rank}", {"digest": parameter_digest(model.model)})


class FrozenBatchNorm(L.Callback):
    """Keep every batch-norm layer in eval mode while training (Lightning sets ``train()`` at each epoch start)."""

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, idx: int) -> None:
        for module in pl_module.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.eval()


def same_global_batch(out: Path, data: Path, devices: int) -> None:
    """Train 3 steps with a global batch of 8 (8 on 1 process or 4 per rank on 2), then test; rank 0 saves the scores.

    Both runs use Lightning's ``ddp`` strategy, so the 1-process run draws the same shuffled order from the
    distributed sampler that the 2 ranks split between them (rank r takes positions r, r + 2, ...): step k sees the
    same 8 images in both. Augmentation is off, and DDP averages the two ranks' gradients of their mean losses, which
    is the gradient of the mean over the 8 images. Batch norm normalizes with its running statistics (frozen): in
    training mode each rank would normalize its 4 images by their own mean and variance, a different computation
    from normalizing 8, and PyTorch's ``SyncBatchNorm`` runs on GPU modules only.
    """
    from skinsynth.models.classifier import LesionClassifier
    from skinsynth.models.metrics import compute_metrics

    L.seed_everything(0, verbose=False)
    dm = SkinLesionDataModule("ham10000", data, mode="fewshot", shots=4, image_size=16, batch_size=8 // devices,
                              eval_batch_size=8, seed=0, augment="none")  # fmt: skip
    model = LesionClassifier(num_classes=7, class_codes=CODES, backbone="resnet18", scheduler="none")
    run = L.Trainer(accelerator="cpu", devices=devices, strategy="ddp", max_steps=3, callbacks=[FrozenBatchNorm()],
                    logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                    num_sanity_val_steps=0, limit_val_batches=0, default_root_dir=str(out))  # fmt: skip
    run.fit(model, datamodule=dm)
    run.test(model, datamodule=dm, verbose=False)
    if run.global_rank == 0:
        predictions = model.test_predictions
        metrics = compute_metrics(predictions["probs"], predictions["label"], CODES)
        write(out, 0, "result", {
            "steps": int(run.global_step),
            "balanced_accuracy": metrics["balanced_accuracy"],
            "macro_f1": metrics["macro_f1"],
            "index": predictions["index"].tolist(),
            "probs": predictions["probs"].tolist(),
        })  # fmt: skip


class RecordingCheckpointIO(TorchCheckpointIO):
    """Saves checkpoints as usual and appends the saving process's rank to ``<folder>/saves.rank<r>``."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def save_checkpoint(self, checkpoint: dict, path: object, storage_options: object = None) -> None:
        import torch.distributed as dist

        rank = dist.get_rank() if dist.is_initialized() else 0
        with open(self.folder / f"saves.rank{rank}", "a") as log:
            log.write(f"{Path(str(path)).name}\n")
        super().save_checkpoint(checkpoint, path, storage_options)


def generator(out: Path, data: Path, devices: int, name: str) -> None:
    """One epoch (two batches) of generator training; the checkpoint is written once, weights agree across ranks."""
    from skinsynth.models.registry import make_generator
    from skinsynth.study.hardware import generator_checkpoint

    L.seed_everything(0, verbose=False)
    dm = SkinLesionDataModule("ham10000", data, mode="fewshot", shots=4, image_size=16, batch_size=4, seed=0,
                              normalize=False, augment="dihedral")  # fmt: skip
    options = {"preset": "tiny", "sampling_steps": 2} if name == "ddpm" else {"base_channels": 4, "d_base_channels": 4}
    model = make_generator(name, class_codes=CODES, image_size=16, **options)
    callbacks = [generator_checkpoint(out / "ckpt")]  # the study's generator checkpoint
    run = trainer(devices, out, model, max_epochs=1, limit_train_batches=2, callbacks=callbacks,
                  plugins=[RecordingCheckpointIO(out)])  # fmt: skip
    run.fit(model, datamodule=dm)
    write(out, run.global_rank, f"rank{run.global_rank}", {
        "digest": parameter_digest(model), "global_step": int(run.global_step),
    })  # fmt: skip


class SeededNoise(L.LightningModule):
    """A stand-in generator whose images depend only on each image's seed (so 1 and 2 processes must agree)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.save_hyperparameters()

    def sample(self, labels: torch.Tensor, generator=None) -> torch.Tensor:
        noise = torch.stack([torch.rand(3, 16, 16, generator=g) for g in generator])
        return (noise * 0.5 + labels.view(-1, 1, 1, 1).float() / 14).clamp(0, 1) * self.scale.detach()

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return (self.scale * 0).sum()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


def materialize(out: Path, data: Path, devices: int) -> None:
    """The budget materialized at the end of training, sharded over ranks; W&B logs from rank 0 only."""
    from skinsynth.callbacks.synthetic_dataset import SyntheticDatasetCallback
    from skinsynth.tracking import make_logger

    L.seed_everything(0, verbose=False)
    dm = SkinLesionDataModule("ham10000", data, mode="fewshot", shots=4, image_size=16, batch_size=4, seed=0,
                              normalize=False)  # fmt: skip
    budget = {"df": 5, "mel": 3, "vasc": 4, "nv": 0}
    callback = SyntheticDatasetCallback(out / "synthetic", budget, "noise", CODES, study_seed=7, batch_size=2,
                                        progress=False)  # fmt: skip
    logger = make_logger("wandb", run_dir=out, name="materialize", group="ddp-test", project="skinsynth-tests",
                         config={"devices": devices}, mode="offline")  # fmt: skip
    run = trainer(devices, out, max_steps=1, callbacks=[callback], logger=logger, enable_checkpointing=False)
    run.fit(SeededNoise(), datamodule=dm)
    run.strategy.barrier()
    if run.global_rank == 0:
        logger.experiment.finish()


if __name__ == "__main__":
    task, out_dir, data_dir, devices = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    out_dir.mkdir(parents=True, exist_ok=True)
    if task == "classifier":
        classifier(out_dir, data_dir, devices)
    elif task == "same_global_batch":
        same_global_batch(out_dir, data_dir, devices)
    elif task in ("gan", "ddpm"):
        generator(out_dir, data_dir, devices, task)
    elif task == "materialize":
        materialize(out_dir, data_dir, devices)
    else:
        raise SystemExit(f"unknown task {task!r}")
