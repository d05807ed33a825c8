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
    "ddpm": "skinsynth.models.ddpm.module:DDPMModule",
    "ldm-lora": "skinsynth.models.ldm_lora.module:LDMLoRAModule",
}

# Constructor arguments that make a registry entry differ from its class's defaults.
GENERATOR_OPTIONS: dict[str, dict[str, object]] = {"gan-per-class": {"per_class": True}}


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


def generator_option_names(name: str) -> list[str]:
    """The constructor arguments of generator ``name`` a user may set (``--gen-option KEY=VALUE``)."""
    parameters = inspect.signature(generator_class(name).__init__).parameters
    return [p for p in parameters if p not in ("self", *STUDY_ARGUMENTS)]


def check_generator_options(name: str, options: Mapping[str, object]) -> None:
    """Raise a :class:`ConfigError` naming the options ``name`` does not have (and the ones it has)."""
    from skinsynth.errors import ConfigError

    valid = generator_option_names(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(f"generator {name!r} has no option(s) {unknown}; valid options: {', '.join(valid)}")


def make_generator(name: str, *, class_codes: list[str], image_size: int, **overrides: object) -> object:
    """A new generator module for the vocabulary ``class_codes`` at ``image_size``.

    ``overrides`` are constructor arguments (``--gen-option``); unknown ones raise a :class:`ConfigError`.
    """
    check_generator_options(name, overrides)
    options = {**GENERATOR_OPTIONS.get(name, {}), **overrides}
    return generator_class(name)(
        num_classes=len(class_codes), class_codes=class_codes, image_size=image_size, **options
    )


def load_generator(
    name: str, checkpoint: str | Path, class_codes: list[str], image_size: int,
    options: Mapping[str, object] | None = None,
) -> object:  # fmt: skip
    """Load generator ``name`` from ``checkpoint`` safely (weights only), checking vocabulary, resolution and options.

    Raises:
        DataError: the checkpoint is missing, or was trained for other classes or another image size.
        ConfigError: ``options`` (the study's ``--gen-option`` values) differ from the checkpoint's hyperparameters.
    """
    from skinsynth.errors import DataError

    path = Path(checkpoint)
    if not path.is_file():
        raise DataError(f"generator checkpoint {str(path)!r} does not exist")
    model = generator_class(name).load_from_checkpoint(path, map_location="cpu", weights_only=True)
    saved_codes = list(model.hparams.get("class_codes") or [])
    if saved_codes != list(class_codes):
        raise DataError(
            f"generator checkpoint {str(path)!r} was trained for classes {saved_codes}; this study uses "
            f"{list(class_codes)}"
        )
    if int(model.hparams.get("image_size", -1)) != int(image_size):
        raise DataError(
            f"generator checkpoint {str(path)!r} makes {model.hparams.get('image_size')} px images; this study uses "
            f"{image_size} px (--image-size)"
        )
    check_checkpoint_options(path, model.hparams, options or {})
    return model


def check_checkpoint_options(path: str | Path, hparams: Mapping[str, object], options: Mapping[str, object]) -> None:
    """Raise a :class:`ConfigError` when ``options`` differ from the hyperparameters saved in checkpoint ``path``."""
    from skinsynth.errors import ConfigError

    differing = {k: (hparams.get(k), v) for k, v in options.items() if _differs(hparams.get(k), v)}
    if differing:
        described = "; ".join(
            f"{k}: checkpoint {saved!r}, requested {wanted!r}" for k, (saved, wanted) in differing.items()
        )
        raise ConfigError(
            f"generator checkpoint {str(path)!r} was trained with other options ({described}); use a new --run-dir "
            "or drop the --gen-option"
        )


def _differs(saved: object, wanted: object) -> bool:
    if isinstance(saved, (list, tuple)) and isinstance(wanted, (list, tuple)):
        return list(saved) != list(wanted)
    return saved != wanted
