"""The run directory of a study: its marker, the check that a directory may be (re)used, earlier arms' metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from skinsynth.config import FLAT_KEYS, RESULT_KEYS, SECTIONS, StudyConfig
from skinsynth.errors import ConfigError, preview
from skinsynth.io import atomic_write_text


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex)."""
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


RUN_MARKER = ".skinsynth-run"


def saved_settings(path: Path) -> dict[str, Any]:
    """A saved ``config.yaml`` by ``section.key`` (a flat one of an earlier version is moved into sections)."""
    values = yaml.safe_load(path.read_text()) or {}
    settings: dict[str, Any] = {}
    for key, value in values.items():
        if key in SECTIONS and isinstance(value, dict):
            settings.update({f"{key}.{k}": v for k, v in value.items()})
        elif key in FLAT_KEYS:
            settings[FLAT_KEYS[key]] = value
    return settings


def is_study_dir(run_dir: Path) -> bool:
    """Whether ``run_dir`` was made by a skinsynth study (its marker, or an older study's ``config.yaml``)."""
    if (run_dir / RUN_MARKER).is_file():
        return True
    saved = run_dir / "config.yaml"  # studies before the marker existed: a config with our keys
    if not saved.is_file():
        return False
    try:
        values = yaml.safe_load(saved.read_text())
    except yaml.YAMLError:
        return False
    return isinstance(values, dict) and bool(values) and set(values) <= set(FLAT_KEYS) | set(SECTIONS)


def check_run_dir(run_dir: Path, config: StudyConfig) -> None:
    """Refuse, before anything is written, a folder that is not a study or holds a study with other settings.

    The saved ``config.yaml`` is compared section by section (a flat one of an earlier version too); the error names
    each setting that changed by its ``section.key``.
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"run directory {str(run_dir)!r} is a file; choose another `study.run_dir`")
    if run_dir.is_dir() and any(run_dir.iterdir()) and not is_study_dir(run_dir):
        found = sorted(p.name for p in run_dir.iterdir())
        raise ConfigError(
            f"run directory {str(run_dir)!r} is not empty and is not a skinsynth study (it holds {preview(found)}); "
            "a study writes and deletes files in its run directory, so choose a new or empty `study.run_dir`"
        )
    saved = run_dir / "config.yaml"
    if saved.is_file():
        previous = saved_settings(saved)
        weight = previous.get("study.synthetic_weight")
        if isinstance(weight, (int, float)) and weight != 1:  # before weights were arms: real+<gen> used this weight
            raise ConfigError(
                f"{str(run_dir)!r} is a study from an earlier skinsynth whose real+<gen> arms used "
                f"`study.synthetic_weight` {weight}; arms are now named by their weight (real+<gen>-w{weight:g}), so "
                "this directory cannot be resumed: use a new `study.run_dir`"
            )
        toy = config.data.dataset == "toy"
        keys = RESULT_KEYS if toy else {k for k in RESULT_KEYS if not k.startswith("data.toy_")}
        current = config.values()
        changed = sorted(k for k in keys if k in previous and previous[k] != current[k])
        if changed:
            details = ", ".join(f"{k}: {previous[k]!r} → {current[k]!r}" for k in changed)
            raise ConfigError(
                f"{str(run_dir)!r} holds a study with other settings ({details}); use a new `study.run_dir` or "
                "delete it"
            )


def mark_run_dir(run_dir: Path) -> None:
    """Create the run directory (checking it is writable) and mark it as a study's."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text("skinsynth study run directory\n", run_dir / RUN_MARKER)
    except OSError as error:
        raise ConfigError(
            f"cannot write to run directory {str(run_dir)!r} ({error.strerror}); choose another `study.run_dir`"
        ) from error


ARM_METRIC_KEYS = ("balanced_accuracy", "macro_f1", "accuracy", "auroc", "auprc", "f1", "confusion_matrix")


def read_arm_metrics(path: Path, class_codes: list[str]) -> dict[str, Any] | None:
    """An earlier arm's ``metrics.json``, or ``None`` with a warning when the file is not one of this study's."""
    import warnings

    try:
        metrics = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        warnings.warn(f"left {str(path)!r} out of the report: it is not readable JSON ({error})", stacklevel=2)
        return None
    if not isinstance(metrics, dict) or any(k not in metrics for k in ARM_METRIC_KEYS):
        warnings.warn(f"left {str(path)!r} out of the report: it is not a skinsynth arm's metrics", stacklevel=2)
        return None
    if not isinstance(metrics["f1"], dict) or sorted(metrics["f1"]) != sorted(class_codes):
        warnings.warn(f"left {str(path)!r} out of the report: its classes are not this study's", stacklevel=2)
        return None
    return metrics
