"""Checks of a study's settings that run before anything is computed or written."""

from __future__ import annotations

from pathlib import Path

from skinsynth.config import StudyConfig
from skinsynth.errors import ConfigError
from skinsynth.study.arm_specs import BASELINE_ARMS


def check_config(config: StudyConfig) -> None:
    """Reject settings that cannot work, before anything is computed."""
    from skinsynth.data.sources import READERS
    from skinsynth.models.registry import GENERATORS

    unknown = [a for a in config.baselines if a not in BASELINE_ARMS]
    if unknown:
        raise ConfigError(f"unknown arm(s) {unknown}; baseline arms are {', '.join(BASELINE_ARMS)}")
    if not config.baselines and config.generator == "none":
        raise ConfigError("no arms to run: give `baselines`, e.g. real,oversample")
    if config.generator not in GENERATORS:
        raise ConfigError(f"unknown generator {config.generator!r}; choose one of {', '.join(GENERATORS)}")
    if config.dataset not in READERS or config.dataset == "isic2018_test":
        raise ConfigError(
            f"unknown dataset {config.dataset!r}; choose one of {', '.join(r for r in READERS if r != 'isic2018_test')}"
        )
    if config.dataset != "toy" and not config.data_dir:
        raise ConfigError(f"dataset {config.dataset!r} needs `data_dir`")
    if config.optimizer not in ("adamw", "adam") or config.scheduler not in ("cosine", "onecycle", "none"):
        raise ConfigError(
            f"`optimizer` must be adamw or adam and `scheduler` cosine, onecycle or none; got {config.optimizer!r}, "
            f"{config.scheduler!r}"
        )
    from skinsynth.data.transforms import AUGMENTS

    if config.augment not in AUGMENTS:
        raise ConfigError(f"unknown `augment` {config.augment!r}; choose one of {', '.join(AUGMENTS)}")
    if not 0 < config.val_fraction < 1:  # also rejects nan
        raise ConfigError(f"`val_fraction` must lie strictly between 0 and 1, got {config.val_fraction}")
    if config.filter:
        from skinsynth.quality.filters import parse_filters

        parse_filters(config.filter)
    selects = config.filter or config.oversample_factor > 1
    if selects and (config.generator == "none" or "real" not in config.baselines):
        raise ConfigError("`filter` and `oversample_factor` need a `generator` and the real arm (the judge)")
    if not (1 <= config.oversample_factor < float("inf")):
        raise ConfigError(f"`oversample_factor` must be a finite number ≥ 1, got {config.oversample_factor}")
    from skinsynth.config import parse_weights

    parse_weights(config.synthetic_weight)
    if not 0 <= config.two_stage < 1:  # also rejects nan
        raise ConfigError(f"`two_stage` must be a share of the step budget in [0, 1), got {config.two_stage}")
    if config.unlabeled_pool is not None and not 0 < config.unlabeled_pool <= 1:
        raise ConfigError(f"`unlabeled_pool` must be a fraction in (0, 1] or 'all', got {config.unlabeled_pool}")
    if config.unlabeled_pool is not None and (config.shots is None or config.test_data):
        raise ConfigError(
            "`unlabeled_pool` needs a few-shot split (`shots` set to a number) whose test set comes from the data"
        )
    if config.generator == "oracle" and config.unlabeled_pool is None:
        raise ConfigError(
            "the oracle `generator` draws real images from the unlabeled pool: add `unlabeled_pool` all (or a fraction)"
        )
    uses_pool = [
        flag
        for flag, on in (("ssl arm", "ssl" in config.baselines), ("`pretrain_epochs`", config.pretrain_epochs > 0))
        if on
    ]
    if uses_pool and config.unlabeled_pool is None:
        raise ConfigError(
            f"the {' and '.join(uses_pool)} pretrain(s) on the unlabeled pool: add `unlabeled_pool` all (or a fraction)"
        )
    if config.ssl_epochs < 1 or config.ssl_batch_size < 2 or config.pretrain_epochs < 0:
        raise ConfigError("`ssl_epochs` must be ≥ 1, `ssl_batch_size` ≥ 2 and `pretrain_epochs` ≥ 0")
    if config.pretrain_epochs or config.pretrained_generator:
        from skinsynth.models.registry import GENERATORS, generator_class
        from skinsynth.study.pretraining import supports_pretraining

        if config.pretrain_epochs and config.pretrained_generator:
            raise ConfigError("give `pretrain_epochs` (pretrain here) or `pretrained_generator` (reuse one), not both")
        if GENERATORS.get(config.generator) is None or not supports_pretraining(generator_class(config.generator)):
            raise ConfigError(
                f"generator {config.generator!r} has no unconditional pretraining; `pretrain_epochs` and "
                "`pretrained_generator` work with gan, gan-diffaug, ddpm and inpaint"
            )
        from skinsynth.models.registry import GENERATOR_OPTIONS

        if GENERATOR_OPTIONS.get(config.generator, {}).get("per_class") or config.gen_options.get("per_class"):
            raise ConfigError("the per-class GAN trains one pair per class: it has no unconditional pretraining")
        if config.pretrained_generator and not Path(config.pretrained_generator).expanduser().is_file():
            raise ConfigError(f"`pretrained_generator` {config.pretrained_generator!r} is not a file")
    if config.num_nodes < 1:
        raise ConfigError(f"`num_nodes` must be at least 1, got {config.num_nodes}")
    if config.image_size < 8:
        raise ConfigError(f"`image_size` must be at least 8 px, got {config.image_size}")
    if config.on_bad_image not in ("error", "skip"):
        raise ConfigError(f"`on_bad_image` must be error or skip, got {config.on_bad_image!r}")
    if config.generator != "none":
        from skinsynth.budget import check_budget

        check_budget(config.budget, config.max_ratio)
    if config.train_budget not in ("steps", "epochs"):
        raise ConfigError(f"`train_budget` must be steps or epochs, got {config.train_budget!r}")
    if config.logger not in ("wandb", "csv", "none"):
        raise ConfigError(f"unknown logger {config.logger!r}; choose wandb, csv or none")
    if (config.shots is not None and config.shots < 1) or config.epochs < 1 or config.batch_size < 1:
        raise ConfigError("`shots`, `epochs` and `batch_size` must be at least 1 (or `shots` all)")
    if config.weights_path and not Path(config.weights_path).expanduser().is_file():
        raise ConfigError(f"`weights_path` {config.weights_path!r} is not a file")
    from skinsynth.models.backbones import check_backbone_name

    check_backbone_name(config.backbone)
    if config.generator != "none" and (config.gen_epochs < 1 or config.gen_batch_size < 1):
        raise ConfigError("`gen_epochs` and `gen_batch_size` must be at least 1")
    if config.gen_options:
        if config.generator == "none":
            raise ConfigError(f"`gen_options` {sorted(config.gen_options)} given without a `generator`")
        from skinsynth.models.registry import check_generator_options

        check_generator_options(config.generator, config.gen_options)
    if config.generator not in ("none", "ldm-lora", "oracle"):  # cheap to build: bad values fail now, not later
        check_generator_values(config)
    base = config.pretrained_model or config.gen_options.get("pretrained_model")
    if config.generator == "ldm-lora" and not base:
        raise ConfigError(
            "the ldm-lora `generator` needs `pretrained_model`: a local diffusers Stable Diffusion 1.5 directory"
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
            "Check the `gen_options` values (sizes and counts must be positive)"
        ) from None
