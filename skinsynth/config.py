"""StudyConfig: every setting of a few-shot study, flat and YAML-friendly.

Precedence: defaults < ``--config FILE`` (YAML with the same keys) < command-line flags. The fully resolved config is
saved as ``config.yaml`` in the run directory; a re-run with the same run directory must agree with it on every key
that changes results (:data:`RESULT_KEYS`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skinsynth.errors import ConfigError

ARM_SEPARATOR = ","


@dataclass
class StudyConfig:
    """Settings of one study (one run directory). Field names are the CLI flags with ``-`` for ``_``.

    The defaults are sized for the demo (the generated toy set, a few minutes on a 2-core CPU): 20 shots, 32 px,
    40 classifier epochs, 100 generator epochs. ``experiments/configs/ham10000_fewshot.yaml`` has the settings of the
    HAM10000 results in ``docs/results.md`` (50 shots, 64 px, 30 epochs).
    """

    name: str = "fewshot"
    run_dir: str = "runs/fewshot"
    # data
    dataset: str = "toy"
    data_dir: str | None = None
    test_data: str | None = None
    shots: int | None = 20  # None ("all" on the CLI): every training image, the long-tailed setting
    unlabeled_pool: float | None = None  # share of the training-side groups outside the shots kept as a pool (1 = all)
    val_fraction: float = 0.2
    image_size: int = 32
    toy_total: int = 1000
    toy_min_per_class: int = 40
    on_bad_image: str = "error"  # "skip": leave unreadable images out (with a warning that counts them)
    # classifier
    backbone: str = "resnet18"
    pretrained: bool = False
    weights_path: str | None = None
    epochs: int = 40
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
    optimizer: str = "adamw"
    scheduler: str = "cosine"
    focal_gamma: float = 2.0
    mixup_alpha: float = 0.0
    cutmix_alpha: float = 0.0
    train_budget: str = (
        "steps"  # "steps": every arm gets the real-only arm's number of updates; "epochs": --epochs passes
    )
    early_stopping_patience: int | None = None
    augment: str = "standard"
    # study
    baselines: list[str] = field(default_factory=lambda: ["real"])
    generator: str = "none"
    seed: int = 0
    seeds: list[int] | None = None  # several seeds: one study per seed in <run_dir>/seed-<k>, then an aggregate
    # pretraining on the unlabeled pool (needs unlabeled_pool)
    ssl_epochs: int = 20  # SimCLR epochs of the backbone of the ssl and ssl+<gen> arms
    ssl_batch_size: int = 64
    pretrain_epochs: int = 0  # > 0: the generator first trains unconditionally on the pool; its set is <gen>-pool
    pretrained_generator: str | None = None  # start the generator from this checkpoint; its set is <gen>-pretrained
    # generator and synthetic set
    gen_epochs: int = 100
    gen_batch_size: int = 32
    gen_options: dict[str, Any] = field(default_factory=dict)  # generator constructor arguments (--gen-option K=V)
    pretrained_model: str | None = None  # base model directory of the ldm-lora generator
    budget: str = "paper"
    max_ratio: float | None = 10.0
    # loss weights of synthetic images in the real+<generator> arms: one arm per weight (real+<gen>-w0.5; 1: real+<gen>)
    synthetic_weight: list[float] = field(default_factory=lambda: [1.0])
    synthetic_only_arm: bool = True  # the <gen>-only arm (synthetic images only)
    two_stage: float = 0.0  # > 0: also real+<gen>-then-real, the last share of its step budget on real images only
    filter: str | None = None  # post-selection, e.g. "confidence:0.5+dedupe:0.98" (skinsynth.quality.filters)
    oversample_factor: float = 1.0  # generate this many times the budget, keep the budget after filtering
    sample_batch_size: int = 64
    grid_every: int = 10
    # hardware and logging
    accelerator: str = "auto"
    devices: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    num_workers: int = 0
    logger: str = "wandb"
    wandb_project: str = "skinsynth"
    progress_bar: bool = True
    limit_train_batches: int | float = 1.0
    limit_val_batches: int | float = 1.0
    limit_test_batches: int | float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for YAML and W&B)."""
        return dataclasses.asdict(self)

    @classmethod
    def fields(cls) -> dict[str, dataclasses.Field]:
        """The config fields by name."""
        return {f.name: f for f in dataclasses.fields(cls)}

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, where: str = "config") -> StudyConfig:
        """Build a config, rejecting unknown keys with the list of valid ones."""
        known = cls.fields()
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: {', '.join(known)}")
        values = dict(values)
        if not isinstance(values.get("gen_options", {}), dict):
            raise ConfigError(f"{where}: gen_options must be a mapping of option names to values, e.g. {{lr: 1.0e-4}}")
        if isinstance(values.get("baselines"), str):
            values["baselines"] = parse_arms(values["baselines"])
        if "synthetic_weight" in values:  # one weight (older configs, YAML scalars) or several
            values["synthetic_weight"] = parse_weights(values["synthetic_weight"], where=where)
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | Path) -> dict[str, Any]:
        """Read the keys of a YAML config file (validated; not merged with defaults)."""
        import yaml

        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} does not exist")
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"config file {str(path)!r} is not valid YAML: {error}") from error
        if not isinstance(values, dict):
            raise ConfigError(f"config file {str(path)!r} must hold a mapping of keys to values")
        values = {str(k).replace("-", "_"): v for k, v in values.items()}
        cls.from_dict(values, where=str(path))
        return values


def parse_weights(value: Any, *, where: str = "`synthetic_weight`") -> list[float]:
    """``0.5``, ``"0.25,0.5,1"`` or ``[0.25, 1]`` → a list of distinct loss weights (each finite and ≥ 0)."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",") if isinstance(value, str) else [value]
    try:
        weights = [float(item) for item in items if str(item).strip()]
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: synthetic_weight takes numbers ≥ 0, e.g. 0.25,0.5,1; got {value!r}") from None
    if not weights or not all(0 <= w < float("inf") for w in weights):  # also rejects nan
        raise ConfigError(f"{where}: synthetic_weight takes finite numbers ≥ 0, e.g. 0.25,0.5,1; got {value!r}")
    return list(dict.fromkeys(weights))


# Keys that change results: a resumed study must agree on them with the saved config.
# (Arms are named by their synthetic weight and schedule, and synthetic sets by their generator's pretraining, so
# several of those share one run directory; the pool pretraining checks its own epochs.)
NON_RESULT_KEYS = frozenset(
    {
        "baselines", "generator", "logger", "wandb_project", "progress_bar", "num_workers", "accelerator", "devices",
        "num_nodes", "seeds", "filter", "synthetic_weight", "two_stage", "synthetic_only_arm", "pretrain_epochs",
        "pretrained_generator", "run_dir", "name", "sample_batch_size", "grid_every", "gen_options", "pretrained_model",
    }
)  # fmt: skip
RESULT_KEYS = frozenset(StudyConfig.fields()) - NON_RESULT_KEYS


def parse_value(text: str) -> Any:
    """A ``--gen-option`` value parsed from text.

    ``true``/``false``, ``null``, an integer, a float (``5e-4`` too), a ``[list]`` of those, or else the text unchanged
    (templates such as ``"{prompt}, {age}"`` stay strings).
    """
    stripped = text.strip()
    if stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    if stripped.lower() in ("null", "none"):
        return None
    for kind in (int, float):
        try:
            return kind(stripped)
        except ValueError:
            pass
    if stripped.startswith("[") and stripped.endswith("]"):
        inner = stripped[1:-1].strip()
        return [parse_value(item.strip()) for item in inner.split(",")] if inner else []
    return text


def parse_option(text: str) -> tuple[str, Any]:
    """``"sampling_steps=20"`` → ``("sampling_steps", 20)``: a ``--gen-option`` and its value (:func:`parse_value`)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"expected KEY=VALUE, got {text!r}")
    return key.strip().replace("-", "_"), parse_value(value)


def parse_arms(text: str) -> list[str]:
    """``"real,oversample"`` → ``["real", "oversample"]``."""
    return [a.strip() for a in text.split(ARM_SEPARATOR) if a.strip()]
