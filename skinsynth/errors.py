"""Exceptions that carry a message meant for the user: what is wrong, where, and what to do about it.

The CLI prints these without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class SkinSynthError(Exception):
    """Base class for errors caused by input or configuration, not by a bug."""


class DataError(SkinSynthError, ValueError):
    """Bad or missing data: a file, a column, a class code, a manifest."""


class ConfigError(SkinSynthError, ValueError):
    """A configuration value that cannot work (unknown name, impossible size, unwritable directory)."""


def preview(items: list[str] | tuple[str, ...], limit: int = 5) -> str:
    """Join the first ``limit`` items for an error message and say how many were left out."""
    shown = ", ".join(str(i) for i in items[:limit])
    rest = len(items) - limit
    return f"{shown} (and {rest} more)" if rest > 0 else shown
