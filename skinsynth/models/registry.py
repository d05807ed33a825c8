"""The generators a study can train, by CLI name → ``"module:Class"`` (imported only when used)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from pathlib import Path

GENERATORS: dict[str, str | None] = {
    "none": None,
    "cvae": "skinsynth.models.cvae.module:CVAEModule",
    "gan": "skinsynth.models.gan.module:ConditionalGANModule",
    "gan-per-class": "skinsynth.models.gan.module:ConditionalGANModule",
    "gan-diffaug": "skinsynth.models.gan.module:ConditionalGANModule",
    "ddpm": "skinsynth.models.ddpm.module:DDPMModule",
    "inpaint": "skinsynth.models.inpaint.module:InpaintModule",  # lesions painted into real images (RePaint)
    "ldm-lora": "skinsynth.models.ldm_lora.module:LDMLoRAModule",
    "oracle": None,  # the positive control: real pool images (skinsynth.data.oracle), nothing to train
}

# Constructor arguments that make a registry entry differ from its class's defaults.
GENERATOR_OPTIONS: dict[str, dict[str, object]] = {
    "gan-per-class": {"per_class": True},
    "gan-diffaug": {"diff_augment": "color,translation,cutout"},
}


def generator_names() -> list[str]:
    """Valid ``--generator`` values."""
    return list(GENERATORS)


def generator_class(name: str) -> type:
    """The LightningModule class of generator ``name``."""
    from skinsynth.errors import ConfigError

    target = GENERATORS.get(name)
    if name not in GENERATORS:
        raise ConfigError(f"unknown generator {name!r}; choose one of {', '.join(GENERATORS)}")
    if target is None:
        raise ConfigError(f"generator {name!r} has no model")
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


STUDY_ARGUMENTS = ("num_classes", "class_codes", "image_size")


def init_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The named constructor arguments of ``cls``, with its bases' when it forwards ``**kwargs`` to them."""
    parameters: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        own = inspect.signature(vars(klass)["__init__"]).parameters
        named = {k: p for k, p in own.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and k != "self"}
        parameters = {**named, **parameters}  # a subclass's default wins
        if not any(p.kind == p.VAR_KEYWORD for p in own.values()):
            break
    return parameters


def generator_option_names(name: str) -> list[str]:
    """The constructor arguments of generator ``name`` a user may set (``--gen-option KEY=VALUE``)."""
    return [p for p in init_parameters(generator_class(name)) if p not in STUDY_ARGUMENTS]


def check_generator_options(name: str, options: Mapping[str, object]) -> dict[str, object]:
    """``options`` checked against the typed constructor of generator ``name``, text converted (``"5e-4"`` → 0.0005).

    The configuration parser's own type checks (jsonargparse), on the module's signature.

    Raises:
        ConfigError: an option ``name`` does not have (the valid ones are listed), or a value of the wrong type.
    """
    from jsonargparse import ArgumentError, ArgumentParser

    from skinsynth.config.parser import config_error
    from skinsynth.errors import ConfigError

    valid = generator_option_names(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(f"generator {name!r} has no option(s) {unknown}; valid options: {', '.join(valid)}")
    parser = ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(generator_class(name), skip=set(STUDY_ARGUMENTS))
    try:
        parsed = parser.parse_object(dict(options))
    except (ArgumentError, TypeError, ValueError) as error:
        raise config_error(error, f"generator {name!r}", key_words="option {key}") from None
    return {key: parsed[key] for key in options}


def effective_options(name: str, options: Mapping[str, object]) -> dict[str, object]:
    """Every constructor option of ``name`` as a new module would get it: defaults < registry entry < ``options``."""
    parameters = init_parameters(generator_class(name))
    defaults = {k: parameters[k].default for k in generator_option_names(name)
                if parameters[k].default is not inspect.Parameter.empty}  # fmt: skip
    return {**defaults, **GENERATOR_OPTIONS.get(name, {}), **options}


def saved_settings(name: str, hparams: Mapping[str, object]) -> dict[str, object]:
    """A checkpoint's hyperparameters, plus the values it was trained with for options added since it was written.

    (A generator class lists those in ``LEGACY_DEFAULTS``: a new default must not silently change an old model.)
    """
    legacy = getattr(generator_class(name), "LEGACY_DEFAULTS", {})
    return {**{k: v for k, v in legacy.items() if k not in hparams}, **hparams}


def make_generator(name: str, *, class_codes: list[str], image_size: int, **overrides: object) -> object:
    """A new generator module for the vocabulary ``class_codes`` at ``image_size``.

    ``overrides`` are constructor arguments (``--gen-option``); unknown ones raise a :class:`ConfigError`.
    """
    options = {**GENERATOR_OPTIONS.get(name, {}), **check_generator_options(name, overrides)}
    return generator_class(name)(
        num_classes=len(class_codes), class_codes=class_codes, image_size=image_size, **options
    )


def load_generator(
    name: str, checkpoint: str | Path, class_codes: list[str], image_size: int,
    options: Mapping[str, object] | None = None, sampling: Mapping[str, object] | None = None,
) -> object:  # fmt: skip
    """Load generator ``name`` from ``checkpoint`` safely (weights only), checking vocabulary, resolution and options.

    ``sampling`` replaces saved values of the class's ``SAMPLING_OPTIONS`` (e.g. the DDPM's guidance scale): they
    change how the trained model samples, not the model.

    Raises:
        DataError: the checkpoint is missing, or was trained for other classes or another image size.
        ConfigError: ``options`` (the study's ``--gen-option`` values) differ from the checkpoint's hyperparameters,
            or ``sampling`` names an option that is not a sampling option.
    """
    from skinsynth.checkpoints import load_checkpoint
    from skinsynth.errors import ConfigError, DataError

    path = Path(checkpoint)
    if not path.is_file():
        raise DataError(f"generator checkpoint {str(path)!r} does not exist")
    sampling = dict(sampling or {})
    allowed = getattr(generator_class(name), "SAMPLING_OPTIONS", ())
    if set(sampling) - set(allowed):
        raise ConfigError(
            f"generator {name!r} cannot change {', '.join(sorted(set(sampling) - set(allowed)))} of a trained "
            f"checkpoint ({str(path)!r}); only its sampling options: {', '.join(allowed) or 'none'}"
        )
    saved = load_checkpoint(path)  # a damaged or unsafe file fails here with a named error, before Lightning reads it
    # the base model of ldm-lora may have moved: the caller's path wins (its fingerprint is checked on loading)
    base = {"pretrained_model": options["pretrained_model"]} if options and options.get("pretrained_model") else {}
    hparams = saved.get("hyper_parameters", {})
    legacy = {k: v for k, v in saved_settings(name, hparams).items() if k not in hparams}
    if hparams.get("init_checkpoint"):  # the weights are in the checkpoint; its starting point may be gone
        legacy["init_checkpoint"] = None
    model = generator_class(name).load_from_checkpoint(
        path, map_location="cpu", weights_only=True, **{**legacy, **base, **sampling}
    )
    saved_codes = list(model.hparams.get("class_codes") or [])
    if saved_codes != list(class_codes):
        raise DataError(
            f"generator checkpoint {str(path)!r} was trained for classes {saved_codes}; this study uses "
            f"{list(class_codes)}"
        )
    if int(model.hparams.get("image_size", -1)) != int(image_size):
        raise DataError(
            f"generator checkpoint {str(path)!r} makes {model.hparams.get('image_size')} px images; this study uses "
            f"{image_size} px (`image_size`)"
        )
    check_checkpoint_options(path, model.hparams, options or {})
    return model


def check_checkpoint_options(
    path: str | Path, hparams: Mapping[str, object], options: Mapping[str, object],
    ignore: tuple[str, ...] = ("pretrained_model", "init_checkpoint"),
) -> None:  # fmt: skip
    """Raise a :class:`ConfigError` when ``options`` differ from the hyperparameters saved in checkpoint ``path``.

    ``ignore`` lists options checked otherwise (the base model of ``ldm-lora`` is identified by its fingerprint, so
    it may move or be given by another path; the starting checkpoint of a fine-tuned generator is a path that moves
    with its run directory, and the study names sets by how they were pretrained).
    """
    from skinsynth.errors import ConfigError

    differing = {k: (hparams.get(k), v) for k, v in options.items()
                 if k not in ignore and _differs(hparams.get(k), v)}  # fmt: skip
    if differing:
        described = "; ".join(f"{k}: checkpoint {saved!r}, now {wanted!r}" for k, (saved, wanted) in differing.items())
        settings = " ".join(f"{k}={saved}" for k, (saved, _) in differing.items())
        raise ConfigError(
            f"generator checkpoint {str(path)!r} was trained with other settings ({described}); to continue it, "
            f"give it these generator options (`gen_options`): {settings}; or start a new `run_dir`"
        )


def _differs(saved: object, wanted: object) -> bool:
    if isinstance(saved, (list, tuple)) and isinstance(wanted, (list, tuple)):
        return list(saved) != list(wanted)
    return saved != wanted
