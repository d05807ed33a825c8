"""Checks of a study's settings that run before anything is computed or written."""

from __future__ import annotations

from pathlib import Path

from skinsynth.config import StudyConfig
from skinsynth.errors import ConfigError


def check_config(config: StudyConfig) -> None:
    """Reject settings that cannot work, before anything is computed.

    Types and choices are checked by the configuration parser (a config built in Python goes through it here too);
    this checks what the types cannot say: ranges, files, and settings that need one another.
    """
    StudyConfig.from_dict(config.to_dict(), where="config")
    if not config.study.baselines and config.generator.name == "none":
        raise ConfigError("no arms to run: give `study.baselines`, e.g. real,oversample")
    if config.data.dataset != "toy" and not config.data.data_dir:
        raise ConfigError(f"dataset {config.data.dataset!r} needs `data.data_dir`")
    if not 0 < config.data.val_fraction < 1:  # also rejects nan
        raise ConfigError(f"`data.val_fraction` must lie strictly between 0 and 1, got {config.data.val_fraction}")
    if config.study.filter:
        from skinsynth.quality.filters import parse_filters

        parse_filters(config.study.filter)
    selects = config.study.filter or config.study.oversample_factor > 1
    if selects and (config.generator.name == "none" or "real" not in config.study.baselines):
        raise ConfigError(
            "`study.filter` and `study.oversample_factor` need a `generator.name` and the real arm (the judge)"
        )
    if not (1 <= config.study.oversample_factor < float("inf")):
        raise ConfigError(
            f"`study.oversample_factor` must be a finite number ≥ 1, got {config.study.oversample_factor}"
        )
    from skinsynth.config import parse_weights

    parse_weights(config.study.synthetic_weight)
    if not 0 <= config.study.two_stage < 1:  # also rejects nan
        raise ConfigError(
            f"`study.two_stage` must be a share of the step budget in [0, 1), got {config.study.two_stage}"
        )
    if config.data.unlabeled_pool is not None and not 0 < config.data.unlabeled_pool <= 1:
        raise ConfigError(
            f"`data.unlabeled_pool` must be a fraction in (0, 1] or 'all', got {config.data.unlabeled_pool}"
        )
    if config.data.unlabeled_pool is not None and (config.data.shots is None or config.data.test_data):
        raise ConfigError(
            "`data.unlabeled_pool` needs a few-shot split (`data.shots` set to a number) whose test set comes from the "
            "data"
        )
    if config.generator.name == "oracle" and config.data.unlabeled_pool is None:
        raise ConfigError(
            "the oracle `generator.name` draws real images from the unlabeled pool: add `data.unlabeled_pool` all (or "
            "a fraction)"
        )
    uses_pool = [
        flag
        for flag, on in (
            ("ssl arm", "ssl" in config.study.baselines),
            ("`generator.pretrain_epochs`", config.generator.pretrain_epochs > 0),
        )
        if on
    ]
    if uses_pool and config.data.unlabeled_pool is None:
        raise ConfigError(
            f"the {' and '.join(uses_pool)} pretrain(s) on the unlabeled pool: add `data.unlabeled_pool` all (or a "
            "fraction)"
        )
    if config.classifier.ssl_epochs < 1 or config.classifier.ssl_batch_size < 2 or config.generator.pretrain_epochs < 0:
        raise ConfigError(
            "`classifier.ssl_epochs` must be ≥ 1, `classifier.ssl_batch_size` ≥ 2 and `generator.pretrain_epochs` ≥ 0"
        )
    if config.generator.pretrain_epochs or config.generator.pretrained_checkpoint:
        from skinsynth.models.registry import GENERATORS, generator_class
        from skinsynth.study.pretraining import supports_pretraining

        if config.generator.pretrain_epochs and config.generator.pretrained_checkpoint:
            raise ConfigError(
                "give `generator.pretrain_epochs` (pretrain here) or `generator.pretrained_checkpoint` (reuse one), "
                "not both"
            )
        if GENERATORS.get(config.generator.name) is None or not supports_pretraining(
            generator_class(config.generator.name)
        ):
            raise ConfigError(
                f"generator {config.generator.name!r} has no unconditional pretraining; `generator.pretrain_epochs` "
                "and `generator.pretrained_checkpoint` work with gan, gan-diffaug, ddpm and inpaint"
            )
        from skinsynth.models.registry import GENERATOR_OPTIONS

        if GENERATOR_OPTIONS.get(config.generator.name, {}).get("per_class") or config.generator.init_args.get(
            "per_class"
        ):
            raise ConfigError("the per-class GAN trains one pair per class: it has no unconditional pretraining")
        if (
            config.generator.pretrained_checkpoint
            and not Path(config.generator.pretrained_checkpoint).expanduser().is_file()
        ):
            raise ConfigError(
                f"`generator.pretrained_checkpoint` {config.generator.pretrained_checkpoint!r} is not a file"
            )
    if config.trainer.num_nodes < 1:
        raise ConfigError(f"`trainer.num_nodes` must be at least 1, got {config.trainer.num_nodes}")
    if config.data.image_size < 8:
        raise ConfigError(f"`data.image_size` must be at least 8 px, got {config.data.image_size}")
    if config.generator.name != "none":
        from skinsynth.budget import check_budget

        check_budget(config.study.budget, config.study.max_ratio)
    if (
        (config.data.shots is not None and config.data.shots < 1)
        or config.classifier.epochs < 1
        or config.data.batch_size < 1
    ):
        raise ConfigError(
            "`data.shots`, `classifier.epochs` and `data.batch_size` must be at least 1 (or `data.shots` all)"
        )
    if config.classifier.weights_path and not Path(config.classifier.weights_path).expanduser().is_file():
        raise ConfigError(f"`classifier.weights_path` {config.classifier.weights_path!r} is not a file")
    from skinsynth.models.backbones import check_backbone_name

    check_backbone_name(config.classifier.backbone)
    if config.generator.name != "none" and (config.generator.epochs < 0 or config.generator.batch_size < 1):
        raise ConfigError("`generator.epochs` must be at least 0 and `generator.batch_size` at least 1")
    if config.generator.name != "none" and config.generator.epochs == 0 and not config.generator.pretrained_checkpoint:
        raise ConfigError(
            "`generator.epochs` 0 samples a trained generator as it is: give it as `generator.pretrained_checkpoint` "
            "(--pretrained-generator), or train one (`generator.epochs` ≥ 1)"
        )
    if config.generator.init_args:
        if config.generator.name == "none":
            raise ConfigError(
                f"`generator.init_args` {sorted(config.generator.init_args)} given without a `generator.name`"
            )
        from skinsynth.models.registry import check_generator_options

        check_generator_options(config.generator.name, config.generator.init_args)
    if config.generator.name not in ("none", "ldm-lora", "oracle"):  # cheap to build: bad values fail now, not later
        check_generator_values(config)
    base = config.generator.pretrained_model or config.generator.init_args.get("pretrained_model")
    if config.generator.name == "ldm-lora" and not base:
        raise ConfigError(
            "the ldm-lora `generator.name` needs `generator.pretrained_model`: a local diffusers Stable Diffusion 1.5 "
            "directory"
        )
    if config.generator.name == "ldm-lora":
        from skinsynth.models.ldm_lora.base_model import HUB_ID, check_diffusers_dir

        if Path(str(base)).expanduser().exists() or not HUB_ID.match(str(base)):
            check_diffusers_dir(str(base))


def check_generator_values(config: StudyConfig) -> None:
    """Build the generator once with the study's options (two placeholder classes) and name any value it rejects."""
    from skinsynth.models.registry import make_generator

    options = dict(config.generator.init_args)
    try:
        make_generator(config.generator.name, class_codes=["a", "b"], image_size=config.data.image_size, **options)
    except ConfigError:
        raise
    except (ValueError, RuntimeError, TypeError, AssertionError) as error:
        given = ", ".join(f"{k}={v!r}" for k, v in options.items()) or "its defaults"
        raise ConfigError(
            f"generator {config.generator.name!r} cannot be built at {config.data.image_size} px with {given}: "
            f"{error}. "
            "Check the `generator.init_args` values (sizes and counts must be positive)"
        ) from None
