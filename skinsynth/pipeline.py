"""FewShotStudy: the staged experiment behind ``skinsynth fewshot`` (and ``experiments/fewshot.py``).

Stages, each leaving files in the run directory (``runs/<name>/``) so that a re-run resumes instead of redoing:

1. **data** — read the dataset (generate the toy set), split it; ``split.csv``, ``config.yaml``, a grid of training
   images per class.
2. **arms** — for every arm, train a classifier on its training set (real few-shot data, re-weighted, oversampled …),
   select the epoch with the best validation balanced accuracy, test it; ``arms/<arm>/metrics.json`` and
   ``predictions.csv``, ``checkpoints/<arm>/best.ckpt``. A finished arm is skipped on re-run.
3. **report** — ``metrics.json``, ``report.md``, ``confusion_<arm>.png``, ``per_class_f1.png``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from skinsynth.config import RESULT_KEYS, StudyConfig
from skinsynth.errors import ConfigError, preview
from skinsynth.io import atomic_write_csv, atomic_write_json, atomic_write_text


@dataclass(frozen=True)
class Arm:
    """How one arm's classifier is trained.

    Attributes:
        name: the arm's name in reports.
        mode: the datamodule mode (``fewshot``, ``mixed``, ``synthetic``).
        loss: ``ce``, ``weighted_ce`` or ``focal``.
        balanced_sampling: class-balanced batches (oversampling).
        augment: augmentation strength.
        generator: whose synthetic set the arm trains on (``mixed`` and ``synthetic`` modes).
        synthetic_weight: loss weight of the synthetic images (``mixed`` mode).
        finetune_fraction: the two-stage schedule: this last share of the step budget fine-tunes the first stage's
            best checkpoint on the real images only, at ``finetune_lr_scale`` × the learning rate (0: one stage).
        finetune_lr_scale: learning-rate factor of the fine-tuning stage.
        ssl: start the backbone from the study's SimCLR pretraining on the unlabeled pool (``ssl`` arms).
    """

    name: str
    mode: str = "fewshot"
    loss: str = "ce"
    balanced_sampling: bool = False
    augment: str | None = None
    generator: str | None = None
    synthetic_weight: float = 1.0
    finetune_fraction: float = 0.0
    finetune_lr_scale: float = 0.1
    ssl: bool = False


BASELINE_ARMS: dict[str, Arm] = {
    "real": Arm("real"),
    "oversample": Arm("oversample", balanced_sampling=True),
    "weighted": Arm("weighted", loss="weighted_ce"),
    "focal": Arm("focal", loss="focal"),
    "strong-aug": Arm("strong-aug", augment="strong"),
    "ssl": Arm("ssl", ssl=True),
}


def generator_arms(
    generator: str,
    weights: Sequence[float] = (1.0,),
    two_stage: float = 0.0,
    ssl: bool = False,
    synthetic_only: bool = True,
) -> list[Arm]:
    """The arms a synthetic set adds: real + synthetic (one per loss weight), the two-stage schedule, synthetic only.

    ``real+gan`` (weight 1), ``real+gan-w0.5`` (synthetic images count half in the loss), ``real+gan-then-real0.3``
    (real + synthetic, then the last ``two_stage`` share of the steps on real images only), ``gan-only``; with
    ``ssl``, also ``ssl+gan`` (real + synthetic from the SimCLR-pretrained backbone). ``synthetic_only=False``
    leaves ``gan-only`` out.
    """
    arms = [Arm(f"real+{generator}" if w == 1 else f"real+{generator}-w{w:g}", mode="mixed", generator=generator,
                synthetic_weight=w) for w in weights]  # fmt: skip
    if two_stage:
        arms.append(Arm(f"real+{generator}-then-real{two_stage:g}", mode="mixed", generator=generator,
                        finetune_fraction=two_stage))  # fmt: skip
    if ssl:
        arms.append(Arm(f"ssl+{generator}", mode="mixed", generator=generator, ssl=True))
    return [*arms, Arm(f"{generator}-only", mode="synthetic", generator=generator)] if synthetic_only else arms


def check_config(config: StudyConfig) -> None:
    """Reject settings that cannot work, before anything is computed."""
    from skinsynth.data.sources import READERS
    from skinsynth.models.registry import GENERATORS

    unknown = [a for a in config.baselines if a not in BASELINE_ARMS]
    if unknown:
        raise ConfigError(f"unknown arm(s) {unknown}; baseline arms are {', '.join(BASELINE_ARMS)}")
    if not config.baselines and config.generator == "none":
        raise ConfigError("no arms to run: give --baselines, e.g. --baselines real,oversample")
    if config.generator not in GENERATORS:
        raise ConfigError(f"unknown generator {config.generator!r}; choose one of {', '.join(GENERATORS)}")
    if config.dataset not in READERS or config.dataset == "isic2018_test":
        raise ConfigError(
            f"unknown dataset {config.dataset!r}; choose one of {', '.join(r for r in READERS if r != 'isic2018_test')}"
        )
    if config.dataset != "toy" and not config.data_dir:
        raise ConfigError(f"dataset {config.dataset!r} needs --data-dir")
    if config.optimizer not in ("adamw", "adam") or config.scheduler not in ("cosine", "onecycle", "none"):
        raise ConfigError(
            f"--optimizer must be adamw or adam and --scheduler cosine, onecycle or none; got {config.optimizer!r}, "
            f"{config.scheduler!r}"
        )
    from skinsynth.data.transforms import AUGMENTS

    if config.augment not in AUGMENTS:
        raise ConfigError(f"unknown --augment {config.augment!r}; choose one of {', '.join(AUGMENTS)}")
    if not 0 < config.val_fraction < 1:  # also rejects nan
        raise ConfigError(f"--val-fraction must lie strictly between 0 and 1, got {config.val_fraction}")
    if config.filter:
        from skinsynth.quality.filters import parse_filters

        parse_filters(config.filter)
    selects = config.filter or config.oversample_factor > 1
    if selects and (config.generator == "none" or "real" not in config.baselines):
        raise ConfigError("--filter and --oversample-factor need a --generator and the real arm (the judge)")
    if not (1 <= config.oversample_factor < float("inf")):
        raise ConfigError(f"--oversample-factor must be a finite number ≥ 1, got {config.oversample_factor}")
    from skinsynth.config import parse_weights

    parse_weights(config.synthetic_weight)
    if not 0 <= config.two_stage < 1:  # also rejects nan
        raise ConfigError(f"--two-stage must be a share of the step budget in [0, 1), got {config.two_stage}")
    if config.unlabeled_pool is not None and not 0 < config.unlabeled_pool <= 1:
        raise ConfigError(f"--unlabeled-pool must be a fraction in (0, 1] or 'all', got {config.unlabeled_pool}")
    if config.unlabeled_pool is not None and (config.shots is None or config.test_data):
        raise ConfigError("--unlabeled-pool needs a few-shot split (--shots N) whose test set comes from the data")
    if config.generator == "oracle" and config.unlabeled_pool is None:
        raise ConfigError(
            "--generator oracle draws real images from the unlabeled pool: add --unlabeled-pool all (or a fraction)"
        )
    uses_pool = [flag for flag, on in (("ssl arm", "ssl" in config.baselines),
                                         ("--pretrain-epochs", config.pretrain_epochs > 0)) if on]  # fmt: skip
    if uses_pool and config.unlabeled_pool is None:
        raise ConfigError(f"the {' and '.join(uses_pool)} pretrain(s) on the unlabeled pool: add --unlabeled-pool all "
                          "(or a fraction)")  # fmt: skip
    if config.ssl_epochs < 1 or config.ssl_batch_size < 2 or config.pretrain_epochs < 0:
        raise ConfigError("--ssl-epochs must be ≥ 1, --ssl-batch-size ≥ 2 and --pretrain-epochs ≥ 0")
    if config.pretrain_epochs or config.pretrained_generator:
        from skinsynth.models.registry import GENERATORS, generator_class
        from skinsynth.study.pretraining import supports_pretraining

        if config.pretrain_epochs and config.pretrained_generator:
            raise ConfigError("give --pretrain-epochs (pretrain here) or --pretrained-generator (reuse one), not both")
        if GENERATORS.get(config.generator) is None or not supports_pretraining(generator_class(config.generator)):
            raise ConfigError(f"generator {config.generator!r} has no unconditional pretraining; --pretrain-epochs and "
                              "--pretrained-generator work with gan, gan-diffaug and ddpm")  # fmt: skip
        from skinsynth.models.registry import GENERATOR_OPTIONS

        if GENERATOR_OPTIONS.get(config.generator, {}).get("per_class") or config.gen_options.get("per_class"):
            raise ConfigError("the per-class GAN trains one pair per class: it has no unconditional pretraining")
        if config.pretrained_generator and not Path(config.pretrained_generator).expanduser().is_file():
            raise ConfigError(f"--pretrained-generator {config.pretrained_generator!r} is not a file")
    if config.num_nodes < 1:
        raise ConfigError(f"--num-nodes must be at least 1, got {config.num_nodes}")
    if config.image_size < 8:
        raise ConfigError(f"--image-size must be at least 8 px, got {config.image_size}")
    if config.on_bad_image not in ("error", "skip"):
        raise ConfigError(f"--on-bad-image must be error or skip, got {config.on_bad_image!r}")
    if config.generator != "none":
        from skinsynth.budget import check_budget

        check_budget(config.budget, config.max_ratio)
    if config.train_budget not in ("steps", "epochs"):
        raise ConfigError(f"--train-budget must be steps or epochs, got {config.train_budget!r}")
    if config.logger not in ("wandb", "csv", "none"):
        raise ConfigError(f"unknown logger {config.logger!r}; choose wandb, csv or none")
    if (config.shots is not None and config.shots < 1) or config.epochs < 1 or config.batch_size < 1:
        raise ConfigError("--shots, --epochs and --batch-size must be at least 1 (or --shots all)")
    if config.weights_path and not Path(config.weights_path).expanduser().is_file():
        raise ConfigError(f"--weights-path {config.weights_path!r} is not a file")
    from skinsynth.models.backbones import check_backbone_name

    check_backbone_name(config.backbone)
    if config.generator != "none" and (config.gen_epochs < 1 or config.gen_batch_size < 1):
        raise ConfigError("--gen-epochs and --gen-batch-size must be at least 1")
    if config.gen_options:
        if config.generator == "none":
            raise ConfigError(f"--gen-option {sorted(config.gen_options)} given without a --generator")
        from skinsynth.models.registry import check_generator_options

        check_generator_options(config.generator, config.gen_options)
    if config.generator not in ("none", "ldm-lora", "oracle"):  # cheap to build: bad values fail now, not later
        check_generator_values(config)
    base = config.pretrained_model or config.gen_options.get("pretrained_model")
    if config.generator == "ldm-lora" and not base:
        raise ConfigError(
            "--generator ldm-lora needs --pretrained-model PATH: a local diffusers Stable Diffusion 1.5 directory"
        )
    if config.generator == "ldm-lora":
        from skinsynth.models.ldm_lora.base_model import HUB_ID, check_diffusers_dir

        if Path(str(base)).expanduser().exists() or not HUB_ID.match(str(base)):
            check_diffusers_dir(str(base))


def check_generator_values(config: StudyConfig) -> None:
    """Build the generator once with the study's options (two placeholder classes) and name any value it rejects."""
    from skinsynth.models.registry import make_generator

    options = dict(config.gen_options)
    try:
        make_generator(config.generator, class_codes=["a", "b"], image_size=config.image_size, **options)
    except ConfigError:
        raise
    except (ValueError, RuntimeError, TypeError, AssertionError) as error:
        given = ", ".join(f"{k}={v!r}" for k, v in options.items()) or "its defaults"
        raise ConfigError(
            f"generator {config.generator!r} cannot be built at {config.image_size} px with {given}: {error}. "
            "Check the --gen-option values (sizes and counts must be positive)"
        ) from None


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex)."""
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def split_budget(budget: dict[str, Any], fraction: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """A training budget cut in two: the first ``1 - fraction`` of it, then the last ``fraction`` (each ≥ 1 unit).

    Steps are cut in whole validation intervals, so both stages validate on the real-epoch grid; an epoch budget is
    cut in whole epochs.
    """
    steps = "max_steps" in budget
    interval = int(budget["val_check_interval"]) if steps else 1
    epochs = int(budget["max_steps"]) // interval if steps else int(budget["max_epochs"])
    if epochs < 2:
        raise ConfigError(f"--two-stage needs a budget of at least 2 epochs to cut in two; this one has {epochs}")
    second = min(max(round(epochs * fraction), 1), epochs - 1)
    key, unit = ("max_steps", interval) if steps else ("max_epochs", 1)
    return {**budget, key: (epochs - second) * unit}, {**budget, key: second * unit}


def launched_rank() -> int:
    """This process's global rank when a launcher started several (torchrun, SLURM, Lightning's DDP), else 0."""
    import os

    for name in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


def srun_ranks(processes: int) -> bool:
    """Whether srun started this process as one of the study's ``processes`` ranks (one task per device).

    That is Lightning's ``SLURMEnvironment`` (not an interactive allocation) with ``SLURM_NTASKS`` equal to devices ×
    nodes; under ``srun torchrun`` the ranks are torchrun's, and a single command in a batch script is one process.
    """
    import os

    if "TORCHELASTIC_RUN_ID" in os.environ or processes < 2 or os.environ.get("SLURM_NTASKS") != str(processes):
        return False
    from lightning.fabric.plugins.environments import SLURMEnvironment

    return SLURMEnvironment.detect()


def join_launched_processes(accelerator: str, devices: str | int = 1, num_nodes: int = 1) -> None:
    """Under torchrun or srun, join the process group before the first stage, so that stages can wait for rank 0.

    torchrun and srun (one task per device) start every rank at once; without a group, rank 1 would race rank 0 to
    the run directory, or to a synthetic set rank 0 is still completing. Lightning reuses the group for training
    (under srun with the address and port its ``SLURMEnvironment`` derives). Lightning's own launcher starts the other
    ranks later (at the first ``fit``), re-running the study from the top, so there nothing is joined here: rank 0
    has written the run directory by then.
    """
    import os

    import torch
    import torch.distributed as dist

    torchrun = "TORCHELASTIC_RUN_ID" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1
    srun = srun_ranks(device_count(accelerator, devices) * num_nodes)
    if not (torchrun or srun) or not dist.is_available() or dist.is_initialized():
        return
    gpu = accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available()
    if gpu:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK" if torchrun else "SLURM_LOCALID", "0")))
    if torchrun:
        dist.init_process_group("nccl" if gpu else "gloo")
        return
    from lightning.fabric.plugins.environments import SLURMEnvironment

    slurm = SLURMEnvironment()
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = slurm.main_address, str(slurm.main_port)
    dist.init_process_group(
        "nccl" if gpu else "gloo", init_method="env://", rank=slurm.global_rank(), world_size=slurm.world_size()
    )


def barrier() -> None:
    """Wait for every rank when a process group exists (a no-op in a single process)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def device_count(accelerator: str, devices: str | int) -> int:
    """How many devices (processes per node) the Trainer settings ask for."""
    import torch

    text = str(devices).strip()
    if text.lstrip("-").isdigit():
        n = int(text)
        if n != -1:
            return n
    elif "," in text or text.startswith("["):
        return len([d for d in text.strip("[]").split(",") if d.strip()])
    gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    return max(torch.cuda.device_count(), 1) if gpu else 1


def training_strategy(model: Any, accelerator: str, devices: str | int, num_nodes: int = 1) -> str:
    """``ddp_find_unused_parameters_true`` for a module that needs it (the GAN) on several devices, else ``auto``."""
    wants = bool(getattr(model, "ddp_find_unused_parameters", False))
    several = device_count(accelerator, devices) * num_nodes > 1
    return "ddp_find_unused_parameters_true" if wants and several else "auto"


def generator_checkpoint(folder: Path) -> Any:
    """A ``ModelCheckpoint`` that rewrites ``folder/last.ckpt`` after every generator epoch.

    (``save_last=True`` with ``save_top_k=0`` writes ``last.ckpt`` only when training ends, so an interrupted run
    would have nothing to resume from.)
    """
    from lightning.pytorch.callbacks import ModelCheckpoint

    return ModelCheckpoint(dirpath=folder, filename="last", save_top_k=1, enable_version_counter=False)


RUN_MARKER = ".skinsynth-run"


def is_study_dir(run_dir: Path) -> bool:
    """Whether ``run_dir`` was made by a skinsynth study (its marker, or an older study's ``config.yaml``)."""
    if (run_dir / RUN_MARKER).is_file():
        return True
    saved = run_dir / "config.yaml"  # studies before the marker existed: a config with our keys
    if not saved.is_file():
        return False
    try:
        values = yaml.safe_load(saved.read_text())
    except yaml.YAMLError:
        return False
    return isinstance(values, dict) and bool(values) and set(values) <= set(StudyConfig.fields())


def check_run_dir(run_dir: Path, config: StudyConfig) -> None:
    """Refuse, before anything is written, a folder that is not a study or holds a study with other settings."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"run directory {str(run_dir)!r} is a file; choose another --run-dir")
    if run_dir.is_dir() and any(run_dir.iterdir()) and not is_study_dir(run_dir):
        found = sorted(p.name for p in run_dir.iterdir())
        raise ConfigError(
            f"run directory {str(run_dir)!r} is not empty and is not a skinsynth study (it holds {preview(found)}); "
            "a study writes and deletes files in its run directory, so choose a new or empty --run-dir"
        )
    saved = run_dir / "config.yaml"
    if saved.is_file():
        previous = yaml.safe_load(saved.read_text()) or {}
        weight = previous.get("synthetic_weight")
        if isinstance(weight, (int, float)) and weight != 1:  # before weights were arms: real+<gen> used this weight
            raise ConfigError(
                f"{str(run_dir)!r} is a study from an earlier skinsynth whose real+<gen> arms used --synthetic-weight "
                f"{weight}; arms are now named by their weight (real+<gen>-w{weight:g}), so this directory cannot be "
                "resumed: use a new --run-dir"
            )
        keys = RESULT_KEYS if config.dataset == "toy" else {k for k in RESULT_KEYS if not k.startswith("toy_")}
        changed = sorted(k for k in keys if k in previous and previous[k] != getattr(config, k))
        if changed:
            details = ", ".join(f"{k}: {previous[k]!r} → {getattr(config, k)!r}" for k in changed)
            raise ConfigError(
                f"{str(run_dir)!r} holds a study with other settings ({details}); use a new --run-dir or delete it"
            )


def mark_run_dir(run_dir: Path) -> None:
    """Create the run directory (checking it is writable) and mark it as a study's."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text("skinsynth study run directory\n", run_dir / RUN_MARKER)
    except OSError as error:
        raise ConfigError(
            f"cannot write to run directory {str(run_dir)!r} ({error.strerror}); choose another --run-dir"
        ) from error


ARM_METRIC_KEYS = ("balanced_accuracy", "macro_f1", "accuracy", "auroc", "auprc", "f1", "confusion_matrix")


def read_arm_metrics(path: Path, class_codes: list[str]) -> dict[str, Any] | None:
    """An earlier arm's ``metrics.json``, or ``None`` with a warning when the file is not one of this study's."""
    import warnings

    try:
        metrics = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        warnings.warn(f"left {str(path)!r} out of the report: it is not readable JSON ({error})", stacklevel=2)
        return None
    if not isinstance(metrics, dict) or any(k not in metrics for k in ARM_METRIC_KEYS):
        warnings.warn(f"left {str(path)!r} out of the report: it is not a skinsynth arm's metrics", stacklevel=2)
        return None
    if not isinstance(metrics["f1"], dict) or sorted(metrics["f1"]) != sorted(class_codes):
        warnings.warn(f"left {str(path)!r} out of the report: its classes are not this study's", stacklevel=2)
        return None
    return metrics


class FewShotStudy:
    """Run the study described by ``config``; :meth:`run` returns the per-arm metrics."""

    def __init__(self, config: StudyConfig) -> None:
        check_config(config)
        self.config = config
        self.run_dir = Path(config.run_dir)
        self.records = None
        self.test_records = None
        self.split: Any = None
        self.class_codes: list[str] = []
        self._announced_offline = False

    # -- stage 1 ------------------------------------------------------------------------------------------------------
    def _datamodule(self, mode: str = "fewshot", **options: Any) -> Any:
        """A datamodule over the study's records and split settings; ``options`` override loader settings."""
        from skinsynth.data.datamodule import SkinLesionDataModule

        c = self.config
        if mode == "fewshot" and c.shots is None:
            mode = "real"  # --shots all: the long-tailed setting
        settings = {"batch_size": c.batch_size, "num_workers": c.num_workers, "augment": c.augment} | options
        return SkinLesionDataModule(
            records=self.records,
            test_records=self.test_records,
            mode=mode,
            shots=c.shots,
            val_fraction=c.val_fraction,
            image_size=c.image_size,
            seed=c.seed,
            on_bad_image=c.on_bad_image,
            pool_fraction=c.unlabeled_pool,
            **settings,
        )

    def _arm_datamodule(self, arm: Arm) -> Any:
        dm = self._datamodule(
            arm.mode,
            augment=arm.augment or self.config.augment,
            balanced_sampling=arm.balanced_sampling,
            synthetic_dirs=[self.synthetic_dir(arm.generator)] if arm.generator else (),
        )
        dm.setup("fit")
        if launched_rank() == 0 and not dm.split.matches(self.run_dir / "split.csv"):  # one split for every arm
            raise RuntimeError(f"arm {arm.name!r} got a split that differs from split.csv")
        return dm

    def set_name(self) -> str:
        """The study's generator as it names its synthetic set and arms: ``gan``, ``gan-pool``, ``gan-pretrained``."""
        c = self.config
        if c.pretrained_generator:
            return f"{c.generator}-pretrained"
        return f"{c.generator}-pool" if c.pretrain_epochs else c.generator

    def synthetic_dir(self, generator: str) -> Path:
        """Where generator ``generator``'s synthetic set is materialized."""
        return self.run_dir / "synthetic" / generator

    def prepare_data(self) -> None:
        """Read (or generate) the data, split it, write ``split.csv`` and a training-image grid."""
        from skinsynth.data.sources import read_source
        from skinsynth.data.sources.toy import read_toy

        c = self.config
        writer = launched_rank() == 0  # under torchrun or Lightning's launcher, rank 0 alone writes the run dir
        if writer:
            check_run_dir(self.run_dir, c)
            mark_run_dir(self.run_dir)  # the marker only: settings are saved once they were checked against the data
        if c.dataset == "toy":  # one fixed toy set (data seed 0); --seed varies the split and training only
            toy_dir = Path(c.data_dir) if c.data_dir else self.run_dir / "data" / "toy"
            self.records = read_toy(
                toy_dir, total=c.toy_total, min_per_class=c.toy_min_per_class, image_size=c.image_size
            )
        else:
            self.records = read_source(c.dataset, c.data_dir)
        self.records.check_files()
        if c.test_data:
            self.test_records = read_source("isic2018_test", c.test_data)
            self.test_records.check_files()
        self.class_codes = list(self.records.vocabulary.codes)
        split = self._datamodule().make_split()  # too many shots for a class fails here, before anything is saved
        counts = split.audit()
        self.split = split
        if c.generator != "none":  # the budget against the real counts (a custom: class the data lacks, ...)
            from skinsynth.budget import make_budget

            real = split.records_for("train").frame["code"].value_counts().to_dict()
            make_budget(c.budget, real, self.records.vocabulary, c.max_ratio)
        if not writer:
            return
        stored = self.run_dir / "split.csv"
        if stored.is_file() and not split.matches(stored):
            raise ConfigError(f"{str(stored)!r} differs from the split these settings give (has the data changed?)")
        atomic_write_text(yaml.safe_dump(c.to_dict(), sort_keys=False), self.run_dir / "config.yaml")
        split.to_csv(stored)
        print(f"[skinsynth] split ({split.strategy}, seed {c.seed}):\n{counts.to_string()}")
        self._write_training_grid(split)

    def _write_training_grid(self, split: Any) -> None:
        import numpy as np
        import torch

        from skinsynth.callbacks.sample_grid import class_grid, save_grid
        from skinsynth.data.images import ImageReader
        from skinsynth.data.transforms import eval_transform

        path = self.run_dir / "train_grid.png"
        if path.is_file():
            return
        train = split.records_for("train").frame.groupby("label", group_keys=False).head(8)
        reader, transform = (
            ImageReader(draft_size=self.config.image_size),
            eval_transform(self.config.image_size, normalize=False),
        )
        images = torch.stack([transform(image=reader.read(p))["image"] for p in train["path"]])
        labels = torch.as_tensor(np.asarray(train["label"]))
        save_grid(class_grid(images, labels, len(self.class_codes)), path, self.class_codes)

    # -- stage 2: generator and synthetic set ------------------------------------------------------------------------
    def generated_budget(self) -> dict[str, int]:
        """What the generator makes: the budget, times ``oversample_factor`` when a filter selects from it."""
        import math

        factor = self.config.oversample_factor if self.config.generator != "oracle" else 1.0
        return {code: math.ceil(n * factor) for code, n in self.budget().items()}

    def selection_spec(self) -> str | None:
        """The post-selection the generator arms train on, or ``None`` for the whole materialized set.

        ``none`` keeps the first budget images of each class of an over-generated set, unfiltered. The oracle (real
        images) is never post-selected: it is the control the filtered sets are compared with.
        """
        c = self.config
        if c.generator == "oracle":
            return None
        return (c.filter or "none") if (c.filter or c.oversample_factor > 1) else None

    def budget(self) -> dict[str, int]:
        """The synthetic budget for the few-shot training counts; printed and saved as ``budget.json``."""
        from skinsynth.budget import format_budget, make_budget

        real = self.split.records_for("train").frame["code"].value_counts().to_dict()
        budget = make_budget(self.config.budget, real, self.records.vocabulary, self.config.max_ratio)
        print(f"[skinsynth] synthetic budget ({self.config.budget}, max ratio {self.config.max_ratio}):")
        print(format_budget(budget, real))
        if launched_rank() == 0:
            saved = {"strategy": self.config.budget, "max_ratio": self.config.max_ratio, "real": real,
                     "synthetic": budget}  # fmt: skip
            atomic_write_json(saved, self.run_dir / "budget.json")
        return budget

    def run_generator(self) -> Path:
        """Train the generator on the few-shot training split and materialize its budget; returns the folder.

        Resumes: a finished generator (its ``last.ckpt`` at the final epoch) is not retrained, an interrupted one
        continues from ``last.ckpt``, and materialization completes whatever images are missing.
        """
        import lightning as L

        from skinsynth.callbacks.sample_grid import SampleGridCallback
        from skinsynth.callbacks.synthetic_dataset import SyntheticDatasetCallback, materialize
        from skinsynth.checkpoints import load_checkpoint
        from skinsynth.models.registry import (
            check_checkpoint_options,
            effective_options,
            load_generator,
            make_generator,
            saved_settings,
        )
        from skinsynth.tracking import finish, make_logger

        c, kind, name = self.config, self.config.generator, self.set_name()
        folder = self.synthetic_dir(name)
        budget = self.generated_budget()
        if kind == "oracle":  # the positive control: real pool images of the asked-for class, nothing to train
            from skinsynth.data.oracle import materialize_oracle

            if launched_rank() == 0:
                materialize_oracle(self.split.records_for("pool"), budget, folder, c.image_size, c.seed)
            barrier()
            print(f"[skinsynth] oracle: {sum(budget.values())} real pool images as its synthetic set ({folder})")
            return folder
        ckpt_dir = self.run_dir / "checkpoints" / f"generator-{name}"
        last = ckpt_dir / "last.ckpt"
        # the checkpoint is recorded relative to the run directory, so a moved or copied study still matches
        options = {"generator_name": name, "class_codes": self.class_codes, "study_seed": c.seed,
                   "batch_size": c.sample_batch_size, "progress": c.progress_bar,
                   "checkpoint": last.relative_to(self.run_dir).as_posix()}  # fmt: skip
        gen_options = self.generator_options()
        start = self.pretrained_generator()
        if start is not None:  # fine-tune the pool-pretrained generator class-conditionally
            gen_options["init_checkpoint"] = str(start)
            self._check_start(ckpt_dir, start)
        if last.is_file():
            saved = load_checkpoint(last)
            # every setting, not only the ones given now: a resumed run must continue the same model
            requested = effective_options(kind, gen_options)
            check_checkpoint_options(last, saved_settings(kind, saved.get("hyper_parameters", {})), requested)
            if saved.get("epoch", -1) + 1 >= c.gen_epochs:
                print(f"[skinsynth] generator {name!r}: trained earlier ({last}); materializing its budget")
                if launched_rank() == 0:  # one process completes the set; launched peers wait for it
                    model = load_generator(kind, last, self.class_codes, c.image_size, requested)
                    materialize(model.to(self.sampling_device()), budget, folder, image_size=c.image_size, **options)
                barrier()
                return folder
        started = time.perf_counter()
        L.seed_everything(c.seed, workers=True, verbose=False)
        dm = self._datamodule(batch_size=c.gen_batch_size, augment="dihedral", normalize=False)
        model = make_generator(kind, class_codes=self.class_codes, image_size=c.image_size, **gen_options)
        dm.setup("fit")
        model.set_training_records(dm.train_records)  # e.g. the LDM's per-image captions follow the row order
        logger = make_logger(c.logger, run_dir=self.run_dir, name=f"generator-{name}", group=c.name,
                             project=c.wandb_project, config={**c.to_dict(), "arm": f"generator-{name}"})  # fmt: skip
        materializer = SyntheticDatasetCallback(folder, budget, **options)
        grids = SampleGridCallback(self.run_dir / "grids" / name, self.class_codes, c.grid_every, seed=c.seed)
        trainer = self.unsupervised_trainer(
            model,
            max_epochs=c.gen_epochs,
            logger=logger,
            callbacks=[generator_checkpoint(ckpt_dir), grids, materializer],
        )
        print(
            f"[skinsynth] generator {name!r}: training on the {c.shots or 'all'}-shot split for {c.gen_epochs} epoch(s)"
        )
        trainer.fit(model, datamodule=dm, ckpt_path=str(last) if last.is_file() else None)
        if trainer.global_rank == 0:
            from skinsynth.tracking import artifact_name, log_model_artifact

            described = {"generator": name, "study": c.name, "seed": c.seed, "epochs": c.gen_epochs}
            log_model_artifact(logger, f"{artifact_name(c.name, c.seed, name)}-generator", last, described)
        finish(logger)
        seconds = time.perf_counter() - started
        print(
            f"[skinsynth] generator {name!r}: trained and materialized {sum(budget.values())} images in {seconds:.0f} s"
        )
        atomic_write_json({"generator": name, "wall_time_s": seconds, "epochs": c.gen_epochs}, ckpt_dir / "timing.json")
        return folder

    def _check_start(self, ckpt_dir: Path, start: Path) -> None:
        """Record (or, resuming, compare) the SHA-256 of the checkpoint the generator was fine-tuned from.

        The set is named ``<gen>-pretrained`` whichever file ``--pretrained-generator`` gives, so another file in the
        same run directory must not continue, or reuse, the generator started from the first.
        """
        record = ckpt_dir / "init.json"
        digest = sha256_file(start)
        if record.is_file():
            saved = json.loads(record.read_text())
            if saved.get("sha256") != digest:
                raise ConfigError(
                    f"the generator in {str(ckpt_dir)!r} was fine-tuned from another checkpoint ({saved.get('path')}, "
                    f"SHA-256 {str(saved.get('sha256'))[:12]}…) than {str(start)!r}; use a new --run-dir"
                )
        elif launched_rank() == 0:
            atomic_write_json({"path": str(start), "sha256": digest}, record)

    def unsupervised_trainer(self, model: Any, **arguments: Any) -> Any:
        """A Trainer with the study's hardware settings for a generator or a pretraining (no validation loop)."""
        import lightning as L

        c = self.config
        settings = {
            "accelerator": c.accelerator, "devices": c.devices, "num_nodes": c.num_nodes, "precision": c.precision,
            "strategy": training_strategy(model, c.accelerator, c.devices, c.num_nodes), "logger": False,
            "enable_progress_bar": c.progress_bar, "enable_model_summary": False, "limit_val_batches": 0,
            "log_every_n_steps": 5, "limit_train_batches": c.limit_train_batches, "enable_checkpointing": True,
            "default_root_dir": str(self.run_dir),
        }  # fmt: skip
        return L.Trainer(**{**settings, **arguments})

    def pretrained_generator(self) -> Path | None:
        """The pool-pretrained generator checkpoint the few-shot generator starts from (``None``: from scratch).

        ``--pretrained-generator PATH`` is checked against this study's split (no val/test image may have been in
        its pretraining); ``--pretrain-epochs N`` pretrains here, unconditionally on the pool and the few-shot
        images with labels hidden (``checkpoints/pretrain-<gen>/last.ckpt``, resumable).
        """
        import lightning as L

        from skinsynth.models.registry import make_generator
        from skinsynth.study.pretraining import check_pretrained_images, finished_epochs, pretrain_generator

        c = self.config
        if c.pretrained_generator:
            path = Path(c.pretrained_generator).expanduser().resolve()
            held_out = {str(i) for s in ("val", "test") for i in self.split.records_for(s).frame["image_id"]}
            seen = check_pretrained_images(path, held_out)
            print(
                f"[skinsynth] generator: fine-tuning {path}"
                + (
                    f" (pretrained on {seen} images, none of them in val or test)"
                    if seen is not None
                    else " (no pretraining.json beside it: its images are not checked)"
                )
            )
            return path
        if not c.pretrain_epochs:
            return None
        ckpt_dir = self.run_dir / "checkpoints" / f"pretrain-{c.generator}"
        dm = self._datamodule("unlabeled", batch_size=c.gen_batch_size, augment="dihedral", normalize=False)
        # the pretraining trains every weight from scratch: adapters (finetune=lora) belong to the fine-tuning
        options = {k: v for k, v in self.generator_options().items() if k not in ("finetune", "init_checkpoint")}
        options["unconditional"] = True
        last = ckpt_dir / "last.ckpt"
        if last.is_file():  # resumed or reused: it must be the model these settings describe
            from skinsynth.checkpoints import load_checkpoint
            from skinsynth.models.registry import check_checkpoint_options, effective_options, saved_settings

            saved = saved_settings(c.generator, load_checkpoint(last).get("hyper_parameters", {}))
            check_checkpoint_options(last, saved, effective_options(c.generator, options))
        L.seed_everything(c.seed, workers=True, verbose=False)
        model = make_generator(c.generator, class_codes=self.class_codes, image_size=c.image_size, **options)
        if finished_epochs(last) >= c.pretrain_epochs:
            print(f"[skinsynth] generator {c.generator!r}: reusing its finished pool pretraining ({last})")
        else:
            print(f"[skinsynth] generator {c.generator!r}: pretraining on the unlabeled pool for {c.pretrain_epochs} "
                  "epoch(s), labels hidden")  # fmt: skip
        started = time.perf_counter()
        last = pretrain_generator(model, dm, ckpt_dir, epochs=c.pretrain_epochs,
                                  make_trainer=lambda **a: self.unsupervised_trainer(model, **a))  # fmt: skip
        if launched_rank() == 0 and not (ckpt_dir / "timing.json").is_file():
            atomic_write_json({"wall_time_s": time.perf_counter() - started, "epochs": c.pretrain_epochs},
                              ckpt_dir / "timing.json")  # fmt: skip
        barrier()
        return last

    def ssl_backbone(self) -> Path:
        """The SimCLR-pretrained backbone of the ``ssl`` arms (``checkpoints/ssl/backbone.safetensors``)."""
        from skinsynth.study.pretraining import pretrain_ssl_backbone

        c = self.config
        dm = self._datamodule("unlabeled")
        dm.setup("fit")
        out = self.run_dir / "checkpoints" / "ssl" / "backbone.safetensors"
        path = pretrain_ssl_backbone(
            dm.train_records, out, backbone=c.backbone, image_size=c.image_size, epochs=c.ssl_epochs,
            batch_size=c.ssl_batch_size, seed=c.seed, num_workers=c.num_workers, pretrained=c.pretrained,
            weights_path=c.weights_path,
            make_trainer=lambda **a: self.unsupervised_trainer(None, enable_checkpointing=False, **a),
        )  # fmt: skip
        barrier()
        return path

    def generator_options(self) -> dict[str, Any]:
        """Constructor arguments of the generator: ``--gen-option`` values, plus ``--pretrained-model``.

        A local base-model path is made absolute, so a resumed run finds it from any working directory.
        """
        from skinsynth.models.registry import check_generator_options

        options = check_generator_options(self.config.generator, self.config.gen_options)
        if self.config.pretrained_model and self.config.generator == "ldm-lora":
            options.setdefault("pretrained_model", self.config.pretrained_model)
        base = options.get("pretrained_model")
        if base and Path(str(base)).expanduser().exists():
            options["pretrained_model"] = str(Path(str(base)).expanduser().resolve())
        return options

    def sampling_device(self) -> str:
        """Where a reloaded generator samples: the first GPU when the study may use one, else the CPU."""
        import torch

        wants_gpu = self.config.accelerator in ("auto", "gpu", "cuda")
        return "cuda" if wants_gpu and torch.cuda.is_available() else "cpu"

    # -- stage 3: classifier arms -------------------------------------------------------------------------------------
    def _training_budget(self, real_train_images: int) -> dict[str, Any]:
        """Trainer arguments that fix how long an arm trains.

        ``steps`` (default): ``--epochs`` × the optimizer steps of one pass over the *real* training set, validated
        (and the cosine schedule stepped) once per such "real epoch", whatever the arm's training set size. Arms
        that add synthetic images then get exactly the updates and schedule of the real-only arm, so a gain cannot
        come from training longer. ``epochs``: ``--epochs`` passes over the arm's own training set.
        """
        c = self.config
        if c.train_budget == "epochs":
            return {"max_epochs": c.epochs}
        steps_per_epoch = max(real_train_images // c.batch_size, 1)  # training loaders drop the ragged batch
        return {
            "max_epochs": -1,
            "max_steps": c.epochs * steps_per_epoch,
            "val_check_interval": steps_per_epoch,
            "check_val_every_n_epoch": None,
        }

    def run_arm(self, arm: Arm) -> dict[str, Any]:
        """Train, select by validation balanced accuracy, test; returns the arm's metrics (cached on disk)."""
        arm_dir = self.run_dir / "arms" / arm.name
        done = arm_dir / "metrics.json"
        if done.is_file():
            previous = read_arm_metrics(done, self.class_codes)
            if previous is None:
                raise ConfigError(
                    f"{str(done)!r} is not this study's result for arm {arm.name!r}; move it away (skinsynth does not "
                    "overwrite files it did not write) and run again"
                )
            print(f"[skinsynth] arm {arm.name!r}: finished earlier, reusing {done}")
            return previous
        import lightning as L

        from skinsynth.models.classifier import LesionClassifier
        from skinsynth.models.metrics import compute_metrics
        from skinsynth.report import per_class_table, plot_confusion
        from skinsynth.tracking import finish, log_media, set_summary

        c = self.config
        started = time.perf_counter()
        # the SimCLR stage seeds itself; built first, the arm starts from the same random state resumed or not
        weights_path = str(self.ssl_backbone()) if arm.ssl else c.weights_path
        L.seed_everything(c.seed, workers=True, verbose=False)
        dm = self._arm_datamodule(arm)
        real_images = len(dm.split.records_for("train"))
        budget = self._training_budget(real_images)
        model = LesionClassifier(
            num_classes=len(self.class_codes),
            class_codes=self.class_codes,
            backbone=c.backbone,
            pretrained=c.pretrained,
            weights_path=weights_path,
            loss=arm.loss,
            class_weights=dm.class_weights() if arm.loss == "weighted_ce" else None,
            label_smoothing=c.label_smoothing,
            focal_gamma=c.focal_gamma,
            mixup_alpha=c.mixup_alpha,
            cutmix_alpha=c.cutmix_alpha,
            optimizer=c.optimizer,
            scheduler=c.scheduler,
            lr=c.lr,
            weight_decay=c.weight_decay,
            steps_per_epoch=budget.get("val_check_interval"),
            synthetic_weight=arm.synthetic_weight if arm.mode == "mixed" else 1.0,
        )
        ckpt_dir = self.run_dir / "checkpoints" / arm.name
        for stale in ckpt_dir.rglob("best*.ckpt"):  # an interrupted attempt's checkpoints; nothing else is touched
            stale.unlink()
        first_steps, stage = 0, ""
        if arm.finetune_fraction:  # two-stage: real + synthetic, then the best checkpoint fine-tuned on real only
            first, second = split_budget(budget, arm.finetune_fraction)
            trainer, checkpoint, logger = self._fit(model, dm, first, arm.name, ckpt_dir / "stage1", stage="stage1",
                                                    uses=arm.generator)  # fmt: skip
            finish(logger)
            first_steps, stage = int(trainer.global_step), "stage2"
            model = LesionClassifier.load_checkpoint(str(checkpoint.best_model_path))
            model.hparams.lr = c.lr * arm.finetune_lr_scale
            model.hparams.synthetic_weight = 1.0
            dm = self._arm_datamodule(dataclasses.replace(arm, mode="fewshot", generator=None))
            budget = second
        trainer, checkpoint, logger = self._fit(model, dm, budget, arm.name, ckpt_dir, stage=stage, uses=arm.generator)
        trainer.test(model, datamodule=dm, ckpt_path="best", verbose=False)
        if trainer.global_rank != 0:
            return {}
        predictions = model.test_predictions
        test_frame = dm.split.records_for("test").frame
        metrics = compute_metrics(predictions["probs"], predictions["label"], self.class_codes)
        metrics["wall_time_s"] = time.perf_counter() - started
        metrics["train_images"] = len(dm.train_records) if not arm.finetune_fraction else self._mixed_count(arm)
        metrics["train_steps"] = first_steps + int(trainer.global_step)
        metrics["best_val_balanced_accuracy"] = float(checkpoint.best_model_score or float("nan"))
        if arm.synthetic_weight != 1 or arm.finetune_fraction:
            metrics["mixing"] = {"synthetic_weight": arm.synthetic_weight, "finetune_fraction": arm.finetune_fraction,
                                 "finetune_lr_scale": arm.finetune_lr_scale}  # fmt: skip
            if arm.finetune_fraction:
                metrics["mixing"] |= {"finetune_images": len(dm.train_records), "finetune_steps": trainer.global_step}
        rows = test_frame.iloc[predictions["index"].numpy()]
        table = pd.DataFrame({"image_id": rows["image_id"].to_numpy(), "label": rows["code"].to_numpy()})
        probs = predictions["probs"].numpy()
        table["predicted"] = [self.class_codes[i] for i in probs.argmax(1)]
        for i, code in enumerate(self.class_codes):
            table[f"p_{code}"] = probs[:, i]
        atomic_write_csv(table, arm_dir / "predictions.csv")
        confusion = plot_confusion(
            metrics["confusion_matrix"],
            self.class_codes,
            self.run_dir / f"confusion_{arm.name}.png",
            f"{arm.name}: test confusion",
        )
        set_summary(logger, {  # the checkpoint the test used, not the last epoch
            "val_balanced_accuracy": metrics["best_val_balanced_accuracy"],
            "test_balanced_accuracy": metrics["balanced_accuracy"], "test_macro_f1": metrics["macro_f1"],
        })  # fmt: skip
        log_media(
            logger,
            images={"confusion_matrix": confusion, "train_images_per_class": self.run_dir / "train_grid.png"},
            tables={"per_class": per_class_table({arm.name: metrics}, self.class_codes).T.rename_axis("class")},
        )
        finish(logger)
        atomic_write_json(metrics, done)
        print(
            f"[skinsynth] arm {arm.name!r}: test balanced accuracy {metrics['balanced_accuracy']:.3f}, "
            f"macro-F1 {metrics['macro_f1']:.3f} ({metrics['wall_time_s']:.0f} s)"
        )
        return metrics

    def _mixed_count(self, arm: Arm) -> int:
        """Training images of ``arm``'s first stage (real + synthetic)."""
        return len(self._arm_datamodule(arm).train_records)

    def _fit(
        self,
        model: Any,
        dm: Any,
        budget: dict[str, Any],
        arm_name: str,
        ckpt_dir: Path,
        stage: str = "",
        uses: str | None = None,
    ) -> tuple[Any, Any, Any]:
        """Fit ``model`` on ``dm`` for ``budget``, keeping the best validation checkpoint.

        ``uses``: the synthetic set the arm trains on, recorded in its W&B run (lineage).
        """
        import lightning as L
        from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

        from skinsynth.progress import progress_bar
        from skinsynth.tracking import make_logger, wandb_mode

        c = self.config
        name = f"{arm_name}/{stage}" if stage else arm_name
        if c.logger == "wandb" and not self._announced_offline and wandb_mode() == "offline":
            print(
                f"[skinsynth] W&B: no login found, logging offline to {self.run_dir / 'wandb'} "
                "(upload later with `wandb sync`)"
            )
            self._announced_offline = True
        logger = make_logger(c.logger, run_dir=self.run_dir, name=name, group=c.name, project=c.wandb_project,
                             config={**c.to_dict(), "arm": arm_name, "stage": stage or "single"})  # fmt: skip
        if uses and launched_rank() == 0:
            from skinsynth.tracking import artifact_name, use_synthetic_artifact

            manifest = self.synthetic_dir(uses) / "manifest.csv"
            source = self.set_name() if uses.startswith(f"{self.set_name()}-") else uses
            use_synthetic_artifact(logger, artifact_name(c.name, c.seed, source), sha256_file(manifest))
        checkpoint = ModelCheckpoint(
            dirpath=ckpt_dir,
            filename="best",
            monitor="val_balanced_accuracy",
            mode="max",
            save_top_k=1,
            save_last=False,
        )
        callbacks: list[Any] = [checkpoint, progress_bar()] if c.progress_bar else [checkpoint]
        if c.early_stopping_patience:
            callbacks.append(
                EarlyStopping(monitor="val_balanced_accuracy", mode="max", patience=c.early_stopping_patience)
            )
        trainer = L.Trainer(
            **budget,
            accelerator=c.accelerator,
            devices=c.devices,
            num_nodes=c.num_nodes,
            precision=c.precision,
            logger=logger,
            callbacks=callbacks,
            enable_progress_bar=c.progress_bar,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            log_every_n_steps=5,
            limit_train_batches=c.limit_train_batches,
            limit_val_batches=c.limit_val_batches,
            limit_test_batches=c.limit_test_batches,
            default_root_dir=str(self.run_dir),
        )
        length = f"{budget['max_steps']} steps" if "max_steps" in budget else f"{budget['max_epochs']} epoch(s)"
        print(f"[skinsynth] arm {name!r}: training {c.backbone} on {len(dm.train_records)} images for {length}")
        trainer.fit(model, datamodule=dm)
        return trainer, checkpoint, logger

    # -- all stages ---------------------------------------------------------------------------------------------------
    def arms(self) -> list[Arm]:
        """The arms this study runs, in order: the baselines, then the generator's arms."""
        arms = [BASELINE_ARMS[name] for name in self.config.baselines]
        if self.config.generator != "none":
            from skinsynth.evidence import filtered_name

            name, spec = self.set_name(), self.selection_spec()
            from skinsynth.config import parse_weights

            weights = parse_weights(self.config.synthetic_weight)
            arms += generator_arms(filtered_name(name, spec) if spec else name, weights, self.config.two_stage,
                                   ssl="ssl" in self.config.baselines,
                                   synthetic_only=self.config.synthetic_only_arm)  # fmt: skip
        return arms

    def run(self) -> dict[str, dict[str, Any]]:
        """Run every stage; returns ``{arm: metrics}`` of this run's arms and writes the report.

        The report covers every finished arm in the run directory: a study run with ``--generator gan`` and again
        with ``--generator cvae`` in the same directory reports both (their settings agree; ``config.yaml`` checks).
        """
        from skinsynth.report import evidence_markdown, markdown_table, write_report
        from skinsynth.web.page import write_study_page

        join_launched_processes(self.config.accelerator, self.config.devices, self.config.num_nodes)
        self.prepare_data()
        barrier()  # launched peers read what rank 0 wrote
        baselines = [arm for arm in self.arms() if arm.generator is None]
        results = {arm.name: self.run_arm(arm) for arm in baselines}
        if self.config.generator != "none":
            self.run_generator()
            self.run_evidence(self.set_name())
            if self.selection_spec():
                self.run_selection(self.set_name(), self.selection_spec())
            barrier()
            results |= {arm.name: self.run_arm(arm) for arm in self.arms() if arm.generator is not None}
        if not all(results.values()):  # non-zero DDP ranks stop here
            return results
        everything = dict(results)
        for path in sorted((self.run_dir / "arms").glob("*/metrics.json")):
            if path.parent.name not in everything:
                metrics = read_arm_metrics(path, self.class_codes)
                if metrics is not None:
                    everything[path.parent.name] = metrics
        evidence = self.finished_evidence()
        sections = [evidence_markdown(name, summary) for name, summary in evidence.items()]
        for path in sorted((self.run_dir / "quality").glob("*/selection-*-summary.csv")):
            spec = path.name.removeprefix("selection-").removesuffix("-summary.csv")
            table = pd.read_csv(path).set_index("code")
            sections.append(f"## Post-selection `{spec}` of `{path.parent.name}`\n\nPer class: images generated, "
                            f"passing every filter, kept for training (at most the budget), and dropped by each "
                            f"filter.\n\n{markdown_table(table)}\n")  # fmt: skip
        extra = {"config": self.config.to_dict(), "synthetic": evidence}
        files = write_report(self.run_dir, everything, self.class_codes, extra=extra, sections=sections)
        print(f"[skinsynth] report: {files['report']}; page: {write_study_page(self.run_dir)}")
        return results

    # -- evidence about the synthetic data ----------------------------------------------------------------------------
    def run_evidence(self, generator: str) -> dict[str, Any] | None:
        """Quality, diversity and memorization of ``generator``'s set, judged by the real-only arm (rank 0 only).

        Skipped (with a note) when the study has no ``real`` arm; reused when ``quality/<generator>/`` is complete.
        """
        from skinsynth.evidence import EVIDENCE_FILE, synthetic_evidence
        from skinsynth.models.classifier import LesionClassifier

        out = self.run_dir / "quality" / generator
        if launched_rank() != 0:
            return None
        if (out / EVIDENCE_FILE).is_file():
            return json.loads((out / EVIDENCE_FILE).read_text())
        judge_path = self.run_dir / "checkpoints" / "real" / "best.ckpt"
        if not judge_path.is_file():
            print("[skinsynth] no 'real' arm: the synthetic set is not scored (add real to --baselines)")
            self.log_evidence(generator, None)
            return None
        started = time.perf_counter()
        judge = LesionClassifier.load_checkpoint(judge_path)
        space = f"{judge.hparams.backbone} penultimate layer of the real-only arm"
        real_train = self.split.records_for("train")
        summary = synthetic_evidence(out, self.synthetic_dir(generator), real_train, judge, self.class_codes,
                                     self.config.image_size, space, seed=self.config.seed)  # fmt: skip
        print(f"[skinsynth] synthetic set {generator!r} scored in {time.perf_counter() - started:.0f} s: {out}")
        self.log_evidence(generator, out)
        return summary

    def log_evidence(self, generator: str, quality_dir: Path | None) -> None:
        """A W&B run ``evidence-<generator>``: the scored synthetic set as an artifact, a table of samples, figures.

        The artifact (``<study>-seed<k>-<generator>``, manifest + PNGs) names the generator checkpoint it came from;
        the arms that train on the set record its use (:func:`~skinsynth.tracking.use_synthetic_artifact`).
        """
        if self.config.logger != "wandb" or launched_rank() != 0:
            return
        from skinsynth import tracking
        from skinsynth.data.synthetic import read_manifest

        c, folder = self.config, self.synthetic_dir(generator)
        name = tracking.artifact_name(c.name, c.seed, generator)
        run = f"evidence-{generator}"
        logger = tracking.make_logger("wandb", run_dir=self.run_dir, name=run, group=c.name, project=c.wandb_project,
                                      config={**c.to_dict(), "arm": run})  # fmt: skip
        checkpoint = self.run_dir / "checkpoints" / f"generator-{generator}" / "last.ckpt"
        budget = json.loads((self.run_dir / "budget.json").read_text()).get("synthetic")
        metadata = {"generator": generator, "study": c.name, "seed": c.seed, "budget": budget,
                    "generator_checkpoint": f"{name}-generator" if checkpoint.is_file() else None}  # fmt: skip
        tracking.log_synthetic_artifacts(logger, name=name, folder=folder, checkpoint=None, metadata=metadata)
        tracking.log_sample_table(logger, read_manifest(folder), folder)
        if quality_dir is not None:
            figures = {p.stem: p for p in sorted(quality_dir.glob("*.png"))}
            tables = {p.stem: pd.read_csv(p) for p in (quality_dir / "quality.csv", quality_dir / "memorization.csv")
                      if p.is_file()}  # fmt: skip
            tracking.log_media(logger, images=figures, tables=tables)
        tracking.finish(logger)

    def run_selection(self, generator: str, spec: str) -> None:
        """Post-select ``generator``'s over-generated set with ``spec``; the kept set is ``synthetic/<gen>-<spec>``."""
        from skinsynth.data.synthetic import MANIFEST
        from skinsynth.evidence import filtered_name, select_synthetic
        from skinsynth.models.classifier import LesionClassifier

        target = self.synthetic_dir(filtered_name(generator, spec))
        if launched_rank() != 0 or (target / MANIFEST).is_file():
            return
        judge = LesionClassifier.load_checkpoint(self.run_dir / "checkpoints" / "real" / "best.ckpt")
        summary = select_synthetic(self.run_dir / "quality" / generator, self.synthetic_dir(generator), target,
                                   self.split.records_for("train"), judge, self.class_codes, self.config.image_size,
                                   spec, self.budget())  # fmt: skip
        print(f"[skinsynth] selection {spec!r} of {generator!r} (kept / generated per class):\n{summary.to_string()}")
        short = summary[summary["kept"] < summary["budget"]]
        if len(short):
            print(f"[skinsynth] classes below their budget after filtering: {', '.join(short.index)} "
                  "(raise --oversample-factor)")  # fmt: skip

    def finished_evidence(self) -> dict[str, Any]:
        """Every generator's evidence summary found in the run directory."""
        from skinsynth.evidence import EVIDENCE_FILE

        return {
            path.parent.name: json.loads(path.read_text())
            for path in sorted((self.run_dir / "quality").glob(f"*/{EVIDENCE_FILE}"))
        }


def run_seeds(config: StudyConfig) -> dict[str, Any]:
    """One study per seed of ``config.seeds`` (``<run_dir>/seed-<k>``), then the aggregate over the seeds.

    Writes ``<run_dir>/aggregate.json`` and ``aggregate.md``: mean ± std with bootstrap CIs per arm, and each arm
    paired with ``real`` seed by seed (differences, paired t, Wilcoxon, per-class F1 deltas). Every seed's study
    resumes like a single study.
    """
    import dataclasses

    from skinsynth.stats import aggregate, aggregate_markdown

    seeds = list(dict.fromkeys(config.seeds or []))
    if not seeds:
        raise ConfigError("--seeds needs at least one seed, e.g. --seeds 0,1,2")
    root = Path(config.run_dir)
    if launched_rank() == 0:
        if root.is_dir() and any(root.iterdir()) and not (root / RUN_MARKER).is_file():
            raise ConfigError(
                f"run directory {str(root)!r} is not empty and is not a skinsynth study; choose a new or empty "
                "--run-dir"
            )
        mark_run_dir(root)
    per_seed: dict[int, dict[str, Any]] = {}
    class_codes: list[str] = []
    for seed in seeds:
        study = FewShotStudy(dataclasses.replace(config, seed=seed, seeds=None, run_dir=str(root / f"seed-{seed}")))
        results = study.run()
        if launched_rank() != 0:
            continue
        class_codes = study.class_codes
        finished = json.loads((study.run_dir / "metrics.json").read_text())["arms"]
        per_seed[seed] = {arm: finished[arm] for arm in results}
    if launched_rank() != 0:
        return {}
    result = aggregate(per_seed, class_codes)
    atomic_write_json(result, root / "aggregate.json")
    atomic_write_text(aggregate_markdown(result, class_codes), root / "aggregate.md")
    from skinsynth.web.page import write_study_page

    print(f"[skinsynth] aggregate over seeds {seeds}: {root / 'aggregate.md'}; page: {write_study_page(root)}")
    return result
