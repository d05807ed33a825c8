"""The five sections of a study's configuration, one typed dataclass each.

They are ``data``, ``classifier``, ``generator``, ``trainer`` and ``study``. Types and choices (``Literal``) are the
validation, the ``Attributes`` of each docstring are the ``--help`` text: the command line, YAML files and
:meth:`StudyConfig.from_dict <skinsynth.config.StudyConfig.from_dict>` all parse through
:func:`skinsynth.config.parser.config_parser`, built from these classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from skinsynth.models.registry import GENERATORS

#: Dataset readers a study can use (``skinsynth.data.sources.READERS`` without the external test-set reader).
DatasetName = Literal["toy", "ham10000", "isic2019", "isic2024", "imagefolder", "dermamnist"]
#: Training augmentations (``skinsynth.data.transforms.AUGMENTS``).
AugmentName = Literal["none", "flip", "dihedral", "standard", "strong"]
#: Arms without a generator (``skinsynth.study.arm_specs.BASELINE_ARMS``).
BaselineName = Literal["real", "oversample", "weighted", "focal", "strong-aug", "ssl"]
#: Generators (``skinsynth.models.registry.GENERATORS``).
GeneratorName = Literal[tuple(GENERATORS)]  # type: ignore[valid-type]


@dataclass
class DataSection:
    """The data, its split and its loaders (``data:``).

    Attributes:
        dataset: toy (generated, no download), ham10000, isic2019, isic2024, imagefolder or dermamnist.
        data_dir: dataset folder (for toy: where it is generated; default $SKINSYNTH_CACHE or ~/.cache/skinsynth,
            in a folder named by its size and arguments).
        test_data: external test set in the ISIC 2018 Task 3 layout, used as the test split.
        shots: real training images per class; null (all on the command line) for every training image, the
            long-tailed setting.
        unlabeled_pool: keep this fraction (1 or all: every one) of the training-side groups outside the few-shot
            set as an unlabeled pool (never val/test); val and test are then val_fraction and 20 % of all groups.
            The oracle draws from it, ssl and generator pretraining learn from it.
        val_fraction: share of the non-training images used for validation (the rest is the test split).
        image_size: image side length in pixels.
        toy_total: toy set: number of images.
        toy_min_per_class: toy set: minimum images per class.
        on_bad_image: error: stop at the first unreadable image, naming it; skip: decode every image once and leave
            unreadable ones out (with a warning that counts them).
        batch_size: classifier training batch size.
        num_workers: DataLoader workers.
        augment: training augmentation of every arm (the strong-aug arm uses strong).
    """

    dataset: DatasetName = "toy"
    data_dir: str | None = None
    test_data: str | None = None
    shots: int | None = 20
    unlabeled_pool: float | None = None
    val_fraction: float = 0.2
    image_size: int = 32
    toy_total: int = 1000
    toy_min_per_class: int = 40
    on_bad_image: Literal["error", "skip"] = "error"
    batch_size: int = 32
    num_workers: int = 0
    augment: AugmentName = "standard"


@dataclass
class ClassifierSection:
    """The classifier every arm trains, and the SimCLR pretraining of the ssl arms (``classifier:``).

    Attributes:
        backbone: timm backbone name (resnet18, efficientnet_b0, resnet50, ...).
        pretrained: start from ImageNet weights (needs them cached, or network).
        weights_path: local backbone weights file (offline alternative to pretrained).
        epochs: classifier training epochs.
        lr: learning rate.
        weight_decay: AdamW weight decay.
        label_smoothing: label smoothing.
        optimizer: adamw or adam.
        scheduler: cosine, onecycle or none.
        focal_gamma: focal-loss exponent (focal arm).
        mixup_alpha: MixUp alpha for every arm (0 = off).
        cutmix_alpha: CutMix alpha for every arm (0 = off).
        train_budget: steps: every arm gets as many updates as epochs over the real training set (fair to arms with
            more images); epochs: every arm makes epochs passes over its own training set.
        early_stopping_patience: stop after this many epochs without a better validation balanced accuracy.
        ssl_epochs: SimCLR pretraining epochs of the ssl arms' backbone (on the few-shot images and the unlabeled
            pool, labels hidden); the ssl baseline adds the ssl arm and, with a generator, ssl+<gen>.
        ssl_batch_size: SimCLR batch size.
    """

    backbone: str = "resnet18"
    pretrained: bool = False
    weights_path: str | None = None
    epochs: int = 40
    lr: float = 1e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
    optimizer: Literal["adamw", "adam"] = "adamw"
    scheduler: Literal["cosine", "onecycle", "none"] = "cosine"
    focal_gamma: float = 2.0
    mixup_alpha: float = 0.0
    cutmix_alpha: float = 0.0
    train_budget: Literal["steps", "epochs"] = "steps"
    early_stopping_patience: int | None = None
    ssl_epochs: int = 20
    ssl_batch_size: int = 64


@dataclass
class GeneratorSection:
    """The generator that makes the synthetic set, and how it is trained and sampled (``generator:``).

    Attributes:
        name: generator to add synthetic-data arms with (real+<name>: real + synthetic; <name>-only: synthetic only);
            none for baseline arms only. The oracle is the positive control: real pool images, nothing trained.
        init_args: arguments of the generator module's constructor (e.g. preset: small, sampling_steps: 25 for ddpm),
            checked against its typed signature.
        epochs: generator training epochs (0: sample pretrained_checkpoint as it is).
        batch_size: generator training batch size.
        pretrained_model: ldm-lora: local diffusers Stable Diffusion 1.5 directory to fine-tune with LoRA (or a hub id).
        pretrain_epochs: pretrain the generator unconditionally on the unlabeled pool (and the few-shot images, labels
            hidden) for this many epochs, then fine-tune it class-conditionally on the few-shot set; its synthetic
            set and arms are named <name>-pool (gan, gan-diffaug, ddpm and inpaint; needs data.unlabeled_pool).
        pretrained_checkpoint: a generator checkpoint to fine-tune from instead (e.g. checkpoints/pretrain-<name>/
            last.ckpt of another study with the same split); refused when the images it was pretrained on include
            this study's val or test images (pretraining.json beside it lists them); set named <name>-pretrained.
            With epochs 0 the checkpoint is sampled as it is (only its sampling options may change).
        sample_batch_size: images per generator sampling call while materializing.
        grid_every: save a per-class sample grid every N generator epochs.
    """

    name: GeneratorName = "none"
    init_args: dict[str, Any] = field(default_factory=dict)
    epochs: int = 100
    batch_size: int = 32
    pretrained_model: str | None = None
    pretrain_epochs: int = 0
    pretrained_checkpoint: str | None = None
    sample_batch_size: int = 64
    grid_every: int = 10


@dataclass
class TrainerSection:
    """Hardware, precision and logging of every Lightning Trainer the study makes (``trainer:``).

    Attributes:
        accelerator: Lightning accelerator (cpu, gpu, auto).
        devices: Lightning devices (auto, 1, 2, ...): processes per node.
        num_nodes: machines in a multi-node run (started with torchrun on each node; docs/distributed.md).
        precision: Lightning precision (32-true, bf16-mixed, 16-mixed).
        logger: wandb (offline unless logged in), csv or none.
        wandb_project: W&B project.
        progress_bar: show Lightning progress bars.
        limit_train_batches: Lightning limit_train_batches (fraction or count; for smoke runs).
        limit_val_batches: Lightning limit_val_batches.
        limit_test_batches: Lightning limit_test_batches.
    """

    accelerator: str = "auto"
    devices: int | str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    logger: Literal["wandb", "csv", "none"] = "wandb"
    wandb_project: str = "skinsynth"
    progress_bar: bool = True
    limit_train_batches: int | float = 1.0
    limit_val_batches: int | float = 1.0
    limit_test_batches: int | float = 1.0


@dataclass
class StudySection:
    """The study itself: its name, run directory and seeds, its arms and their synthetic set (``study:``).

    Attributes:
        name: study name (W&B group).
        run_dir: run directory; a re-run with the same directory resumes finished stages.
        seed: seed for the split, sampling and initialization.
        seeds: several seeds, e.g. [0, 1, 2]: one study per seed in <run_dir>/seed-<k>, then aggregate.md /
            aggregate.json with mean ± std, bootstrap CIs and paired comparisons against the real arm.
        baselines: arms without a generator: real, oversample, weighted, focal, strong-aug, ssl.
        budget: synthetic images per class: paper | balance:N | fixed:N | ratio:R | custom:mel=100,df=200.
        max_ratio: cap on synthetic:real images per class.
        synthetic_weight: loss weight(s) of synthetic images relative to real ones: one real+<generator> arm per
            weight (named real+<gen>-w<weight>; weight 1 is real+<gen>).
        synthetic_only_arm: train the <gen>-only arm (synthetic images only) too.
        two_stage: share of the step budget (0-1) spent fine-tuning on real images only after training on real +
            synthetic: adds the arm real+<gen>-then-real (0 = off).
        filter: post-selection of synthetic images before training, steps joined by +: confidence:T (judge
            probability of the intended class >= T), ood:Q (Mahalanobis distance within the Q-quantile of the real
            images'), energy:Q, dedupe:S (drop near-copies, feature cosine >= S); arms are named real+<gen>-<filter>.
        oversample_factor: generate this many times the budget so that the filtered set still fills it.
    """

    name: str = "fewshot"
    run_dir: str = "runs/fewshot"
    seed: int = 0
    seeds: list[int] | None = None
    baselines: list[BaselineName] = field(default_factory=lambda: ["real"])
    budget: str = "paper"
    max_ratio: float | None = 10.0
    synthetic_weight: list[float] = field(default_factory=lambda: [1.0])
    synthetic_only_arm: bool = True
    two_stage: float = 0.0
    filter: str | None = None
    oversample_factor: float = 1.0


SECTIONS: dict[str, type] = {
    "data": DataSection,
    "classifier": ClassifierSection,
    "generator": GeneratorSection,
    "trainer": TrainerSection,
    "study": StudySection,
}


def section_arguments(section: Any, target: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The settings of ``section`` that ``target`` (a class or function) takes under the same name, minus ``skip``.

    A section's keys are named after the arguments they feed (``classifier.lr`` → ``LesionClassifier(lr=)``),
    so a stage passes a section as a whole instead of field by field; renamed settings are passed by hand.
    """
    import dataclasses
    import inspect

    parameters = inspect.signature(target).parameters
    return {
        f.name: getattr(section, f.name)
        for f in dataclasses.fields(section)
        if f.name in parameters and f.name not in skip
    }
