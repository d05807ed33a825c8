"""The generators a study can train, by CLI name → ``"module:Class"`` (imported only when used)."""

from __future__ import annotations

import importlib

GENERATORS: dict[str, str | None] = {
    "none": None,
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
