"""Lazy package exports: public names resolve to their module on first use (PEP 562).

A package lists its public names with the ``"module:attribute"`` each lives in; importing the package then costs
nothing (``skinsynth --help`` imports no torch), while ``from skinsynth import LesionClassifier`` works as usual.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` that import ``exports[name]`` (``"module:attribute"``) on use."""

    def get_attribute(name: str) -> Any:
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def list_names() -> list[str]:
        return sorted(exports)

    return get_attribute, list_names
