"""The state a study's stages share: its settings, data, split and run directory, and the objects built from them.

:class:`StudyContext` is filled by the data stage (:func:`skinsynth.study.data_stage.prepare_data`) and read by the
generator, evidence, arm and report stages; it builds the datamodules and Trainers they use, so every stage sees the
same split and hardware settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from skinsynth.config import StudyConfig, section_arguments
from skinsynth.io import atomic_write_json
from skinsynth.study.hardware import launched_rank, module_trainer_arguments

if TYPE_CHECKING:
    from skinsynth.data.records import LesionRecords
    from skinsynth.data.splits import Split
    from skinsynth.study.arm_specs import Arm


#: The inpainting generator's post-selection when no ``--filter`` is given (the long-tail inpainting paper's OOD
#: post-selection): class-conditional Mahalanobis distance in the real-only arm's features, 95th percentile.
DEFAULT_INPAINT_FILTER = "ood:0.95"


class StudyContext:
    """One study's settings (``config``) and what its data stage found (``records``, ``split``, ``class_codes``)."""

    def __init__(self, config: StudyConfig) -> None:
        self.config = config
        self.run_dir = Path(config.study.run_dir)
        self.records: LesionRecords | None = None
        self.test_records: LesionRecords | None = None
        self.split: Split | Any = None
        self.class_codes: list[str] = []
        self.announced_offline = False

    def datamodule(self, mode: str = "fewshot", **options: Any) -> Any:
        """A datamodule over the study's split (made by the data stage); ``options`` override loader settings."""
        from skinsynth.data.datamodule import SkinLesionDataModule

        c = self.config
        if mode == "fewshot" and c.data.shots is None:
            mode = "real"  # --shots all: the long-tailed setting
        data = section_arguments(c.data, SkinLesionDataModule, skip=("dataset", "data_dir"))  # records are given
        return SkinLesionDataModule(
            **(data | options),
            records=self.records,
            test_records=self.test_records,
            split=self.split,
            mode=mode,
            seed=c.study.seed,
            pool_fraction=c.data.unlabeled_pool,
        )

    def arm_datamodule(self, arm: Arm) -> Any:
        """The set-up datamodule of ``arm``: the study's split, its mode, sampling, augmentation and synthetic set."""
        dm = self.datamodule(
            arm.mode,
            augment=arm.augment or self.config.data.augment,
            balanced_sampling=arm.balanced_sampling,
            synthetic_dirs=[self.synthetic_dir(arm.generator)] if arm.generator else (),
        )
        dm.setup("fit")
        return dm

    def set_name(self) -> str:
        """The study's generator as it names its synthetic set and arms: ``gan``, ``gan-pool``, ``gan-pretrained``."""
        c = self.config
        if c.generator.pretrained_checkpoint:
            return f"{c.generator.name}-pretrained"
        return f"{c.generator.name}-pool" if c.generator.pretrain_epochs else c.generator.name

    def synthetic_dir(self, generator: str) -> Path:
        """Where generator ``generator``'s synthetic set is materialized."""
        return self.run_dir / "synthetic" / generator

    def generated_budget(self) -> dict[str, int]:
        """What the generator makes: the budget, times ``oversample_factor`` when a filter selects from it."""
        import math

        factor = self.config.study.oversample_factor if self.config.generator.name != "oracle" else 1.0
        return {code: math.ceil(n * factor) for code, n in self.budget().items()}

    def selection_spec(self) -> str | None:
        """The post-selection the generator arms train on, or ``None`` for the whole materialized set.

        ``none`` keeps the first budget images of each class of an over-generated set, unfiltered. The oracle (real
        images) is never post-selected: it is the control the filtered sets are compared with.
        """
        c = self.config
        if c.generator.name == "oracle":
            return None
        if c.generator.name == "inpaint" and not c.study.filter and "real" in c.study.baselines:
            return DEFAULT_INPAINT_FILTER  # painted lesions are post-selected unless a --filter says otherwise
        return (c.study.filter or "none") if (c.study.filter or c.study.oversample_factor > 1) else None

    def budget(self) -> dict[str, int]:
        """The synthetic budget for the few-shot training counts; printed and saved as ``budget.json``."""
        from skinsynth.budget import format_budget, make_budget

        real = self.split.records_for("train").frame["code"].value_counts().to_dict()
        budget = make_budget(self.config.study.budget, real, self.records.vocabulary, self.config.study.max_ratio)
        print(f"[skinsynth] synthetic budget ({self.config.study.budget}, max ratio {self.config.study.max_ratio}):")
        print(format_budget(budget, real))
        if launched_rank() == 0:
            saved = {
                "strategy": self.config.study.budget,
                "max_ratio": self.config.study.max_ratio,
                "real": real,
                "synthetic": budget,
            }
            atomic_write_json(saved, self.run_dir / "budget.json")
        return budget

    def unsupervised_trainer(self, model: Any, **arguments: Any) -> Any:
        """A Trainer with the study's hardware settings for a generator or a pretraining (no validation loop).

        The module's own ``trainer_arguments`` (e.g. the GAN's DDP strategy) are merged over the settings.
        """
        import lightning as L

        c = self.config
        settings = {
            "accelerator": c.trainer.accelerator,
            "devices": c.trainer.devices,
            "num_nodes": c.trainer.num_nodes,
            "precision": c.trainer.precision,
            "logger": False,
            "enable_progress_bar": c.trainer.progress_bar,
            "enable_model_summary": False,
            "limit_val_batches": 0,
            "log_every_n_steps": 5,
            "limit_train_batches": c.trainer.limit_train_batches,
            "enable_checkpointing": True,
            "default_root_dir": str(self.run_dir),
        }
        needs = module_trainer_arguments(
            model, c.trainer.accelerator, c.trainer.devices, c.trainer.num_nodes, c.trainer.precision
        )
        return L.Trainer(**{**settings, **needs, **arguments})

    def generator_options(self) -> dict[str, Any]:
        """Constructor arguments of the generator: ``--gen-option`` values, plus ``--pretrained-model``.

        A local base-model path is made absolute, so a resumed run finds it from any working directory.
        """
        from skinsynth.models.registry import check_generator_options

        options = check_generator_options(self.config.generator.name, self.config.generator.init_args)
        if self.config.generator.pretrained_model and self.config.generator.name == "ldm-lora":
            options.setdefault("pretrained_model", self.config.generator.pretrained_model)
        base = options.get("pretrained_model")
        if base and Path(str(base)).expanduser().exists():
            options["pretrained_model"] = str(Path(str(base)).expanduser().resolve())
        return options

    def sampling_device(self) -> str:
        """Where a reloaded generator samples: the first GPU when the study may use one, else the CPU."""
        import torch

        wants_gpu = self.config.trainer.accelerator in ("auto", "gpu", "cuda")
        return "cuda" if wants_gpu and torch.cuda.is_available() else "cpu"
