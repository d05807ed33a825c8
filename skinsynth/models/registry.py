"""The generators a study can train, by CLI name → ``"module:Class"`` (imported only when used)."""

from __future__ import annotations

import importlib
from pathlib import Path

GENERATORS: dict[str, str | None] = {
    "none": None,
    "cvae": "skinsynth.models.cvae.module:CVAEModule",
    "gan": "skinsynth.models.gan.module:ConditionalGANModule",
    "gan-per-class": "skinsynth.models.gan.module:ConditionalGANModule",
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


def make_generator(name: str, *, class_codes: list[str], image_size: int, **overrides: object) -> object:
    """A new generator module for the vocabulary ``class_codes`` at ``image_size``."""
    options = {**GENERATOR_OPTIONS.get(name, {}), **overrides}
    return generator_class(name)(
        num_classes=len(class_codes), class_codes=class_codes, image_size=image_size, **options
    )


def load_generator(name: str, checkpoint: str | Path, class_codes: list[str], image_size: int) -> object:
    """Load generator ``name`` from ``checkpoint`` safely (weights only), checking vocabulary and resolution.

    Raises:
        DataError: the checkpoint is missing, or was trained for other classes or another image size.
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
    return model
