"""Experiment loggers: Weights & Biases (offline unless the user is logged in), CSV, or none.

Medical images must not leave the machine by accident: W&B runs in offline mode unless an API key is configured
(``WANDB_API_KEY`` or ``wandb login``) or ``WANDB_MODE`` says otherwise. Offline runs land in ``<run dir>/wandb/`` and
can be uploaded later with ``wandb sync``.
"""

from __future__ import annotations

import netrc
import os
from pathlib import Path
from typing import Any


def wandb_mode() -> str:
    """``online`` when the user has W&B credentials (or ``WANDB_MODE`` says so), else ``offline``."""
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    if os.environ.get("WANDB_API_KEY"):
        return "online"
    try:
        rc = netrc.netrc(os.environ.get("NETRC", str(Path.home() / ".netrc")))
        if rc.authenticators("api.wandb.ai"):
            return "online"
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        pass
    return "offline"


def make_logger(
    kind: str,
    *,
    run_dir: Path,
    name: str,
    group: str,
    project: str,
    config: dict[str, Any],
    mode: str | None = None,
) -> Any:
    """A Lightning logger for one arm: ``wandb``, ``csv`` or ``none`` (returns ``False``)."""
    if kind == "none":
        return False
    if kind == "csv":
        from lightning.pytorch.loggers import CSVLogger

        return CSVLogger(save_dir=str(run_dir / "logs"), name=name, version="")
    if kind == "wandb":
        from lightning.pytorch.loggers import WandbLogger

        return WandbLogger(
            project=project,
            name=name,
            group=group,
            job_type=name,
            save_dir=str(run_dir),
            mode=mode or wandb_mode(),
            config=config,
            settings={"silent": True, "console": "off"},
        )
    raise ValueError(f"unknown logger {kind!r}; choose wandb, csv or none")


def log_media(logger: Any, *, images: dict[str, Any], tables: dict[str, Any]) -> None:
    """Log images (paths or arrays) and tables (DataFrames) to W&B; other loggers ignore them."""
    from lightning.pytorch.loggers import WandbLogger

    if not isinstance(logger, WandbLogger):
        return
    import wandb

    payload: dict[str, Any] = {key: wandb.Image(str(value)) for key, value in images.items()}
    payload.update({key: wandb.Table(dataframe=frame.reset_index()) for key, frame in tables.items()})
    logger.experiment.log(payload)


def set_summary(logger: Any, values: dict[str, float]) -> None:
    """Overwrite W&B summary values (e.g. the *selected* checkpoint's validation score instead of the last epoch's)."""
    from lightning.pytorch.loggers import WandbLogger

    if isinstance(logger, WandbLogger):
        logger.experiment.summary.update(values)


def finish(logger: Any) -> None:
    """Close a W&B run so the next arm starts a new one."""
    from lightning.pytorch.loggers import WandbLogger

    if isinstance(logger, WandbLogger):
        logger.experiment.finish()
