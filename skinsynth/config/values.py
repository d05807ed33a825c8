"""Values written as text on the command line: ``--gen-option`` values, comma-separated arms, loss weights."""

from __future__ import annotations

from typing import Any

from skinsynth.errors import ConfigError

ARM_SEPARATOR = ","


def parse_weights(value: Any, *, where: str = "`study.synthetic_weight`") -> list[float]:
    """``0.5``, ``"0.25,0.5,1"`` or ``[0.25, 1]`` → a list of distinct loss weights (each finite and ≥ 0)."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",") if isinstance(value, str) else [value]
    try:
        weights = [float(item) for item in items if str(item).strip()]
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: synthetic_weight takes numbers ≥ 0, e.g. 0.25,0.5,1; got {value!r}") from None
    if not weights or not all(0 <= w < float("inf") for w in weights):  # also rejects nan
        raise ConfigError(f"{where}: synthetic_weight takes finite numbers ≥ 0, e.g. 0.25,0.5,1; got {value!r}")
    return list(dict.fromkeys(weights))


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
