"""What an arm of the study is: its training recipe (:class:`Arm`), the baseline arms, the arms a synthetic set adds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from skinsynth.config import StudyConfig
from skinsynth.errors import ConfigError

if TYPE_CHECKING:
    from skinsynth.study.context import StudyContext


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
    arms = [
        Arm(
            f"real+{generator}" if w == 1 else f"real+{generator}-w{w:g}",
            mode="mixed",
            generator=generator,
            synthetic_weight=w,
        )
        for w in weights
    ]
    if two_stage:
        arms.append(
            Arm(
                f"real+{generator}-then-real{two_stage:g}",
                mode="mixed",
                generator=generator,
                finetune_fraction=two_stage,
            )
        )
    if ssl:
        arms.append(Arm(f"ssl+{generator}", mode="mixed", generator=generator, ssl=True))
    return [*arms, Arm(f"{generator}-only", mode="synthetic", generator=generator)] if synthetic_only else arms


def study_arms(ctx: StudyContext) -> list[Arm]:
    """The arms a study runs, in order: the baselines, then the generator's arms."""
    from skinsynth.config import parse_weights
    from skinsynth.evidence import filtered_name

    config = ctx.config
    arms = [BASELINE_ARMS[name] for name in config.study.baselines]
    if config.generator.name != "none":
        name, spec = ctx.set_name(), ctx.selection_spec()
        arms += generator_arms(
            filtered_name(name, spec) if spec else name,
            parse_weights(config.study.synthetic_weight),
            config.study.two_stage,
            ssl="ssl" in config.study.baselines,
            synthetic_only=config.study.synthetic_only_arm,
        )
    return arms


def split_budget(budget: dict[str, Any], fraction: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """A training budget cut in two: the first ``1 - fraction`` of it, then the last ``fraction`` (each ≥ 1 unit).

    Steps are cut in whole validation intervals, so both stages validate on the real-epoch grid; an epoch budget is
    cut in whole epochs.
    """
    steps = "max_steps" in budget
    interval = int(budget["val_check_interval"]) if steps else 1
    epochs = int(budget["max_steps"]) // interval if steps else int(budget["max_epochs"])
    if epochs < 2:
        raise ConfigError(f"`study.two_stage` needs a budget of at least 2 epochs to cut in two; this one has {epochs}")
    second = min(max(round(epochs * fraction), 1), epochs - 1)
    key, unit = ("max_steps", interval) if steps else ("max_epochs", 1)
    return {**budget, key: (epochs - second) * unit}, {**budget, key: second * unit}


def training_budget(config: StudyConfig, real_train_images: int) -> dict[str, Any]:
    """Trainer arguments that fix how long an arm trains.

    ``steps`` (default): ``--epochs`` × the optimizer steps of one pass over the *real* training set, validated
    (and the cosine schedule stepped) once per such "real epoch", whatever the arm's training set size. Arms
    that add synthetic images then get exactly the updates and schedule of the real-only arm, so a gain cannot
    come from training longer. ``epochs``: ``--epochs`` passes over the arm's own training set.
    """
    c = config
    if c.classifier.train_budget == "epochs":
        return {"max_epochs": c.classifier.epochs}
    steps_per_epoch = max(real_train_images // c.data.batch_size, 1)  # training loaders drop the ragged batch
    return {
        "max_epochs": -1,
        "max_steps": c.classifier.epochs * steps_per_epoch,
        "val_check_interval": steps_per_epoch,
        "check_val_every_n_epoch": None,
    }
