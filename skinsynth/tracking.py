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


def artifact_name(study: str, seed: int, generator: str) -> str:
    """The W&B artifact name of a study's synthetic set, e.g. ``fewshot-seed0-gan`` (W&B's allowed characters)."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]", "-", f"{study}-seed{seed}-{generator}")


def log_model_artifact(logger: Any, name: str, checkpoint: Path, metadata: dict[str, Any]) -> None:
    """Log a generator checkpoint as W&B artifact ``name`` (type ``model``); other loggers ignore this."""
    from lightning.pytorch.loggers import WandbLogger

    if not isinstance(logger, WandbLogger) or not checkpoint.is_file():
        return
    import wandb

    model = wandb.Artifact(name, type="model", metadata=metadata)
    model.add_file(str(checkpoint), name=checkpoint.name)
    logger.experiment.log_artifact(model)


def log_synthetic_artifacts(
    logger: Any, *, name: str, folder: Path, checkpoint: Path | None, metadata: dict[str, Any]
) -> None:
    """Log a synthetic set (manifest + PNGs; and the generator checkpoint, if given) as W&B artifacts of ``logger``.

    The set is ``<name>`` (type ``synthetic-data``), a checkpoint ``<name>-generator`` (type ``model``). Online, the
    run also uses the generator's artifact named in ``metadata["generator_checkpoint"]``; arms that train on the set
    record their use with :func:`use_synthetic_artifact`, which gives W&B the lineage generator → set → arm. Other
    loggers ignore this.
    """
    from lightning.pytorch.loggers import WandbLogger

    if not isinstance(logger, WandbLogger):
        return
    import wandb

    data = wandb.Artifact(name, type="synthetic-data", metadata=metadata)
    data.add_dir(str(folder))
    logger.experiment.log_artifact(data)
    if checkpoint is not None:
        log_model_artifact(logger, f"{name}-generator", checkpoint, metadata)
    elif metadata.get("generator_checkpoint") and not logger.experiment.settings._offline:
        use_artifact(logger, f"{metadata['generator_checkpoint']}:latest", "model")


def use_synthetic_artifact(logger: Any, name: str, manifest_sha256: str) -> None:
    """Record that ``logger``'s run trains on synthetic set ``name``.

    Online, this is W&B's ``use_artifact`` (lineage in the W&B graph). W&B cannot resolve artifacts offline, so an
    offline run records the set's name and its manifest's SHA-256 in its config instead; the graph is then built from
    those once the runs are synced (``wandb sync``) and the arm re-logged online, or matched by hand.
    """
    from lightning.pytorch.loggers import WandbLogger

    if not isinstance(logger, WandbLogger):
        return
    logger.experiment.config.update({"synthetic_artifact": name, "synthetic_manifest_sha256": manifest_sha256},
                                    allow_val_change=True)  # fmt: skip
    if logger.experiment.settings._offline:
        return
    use_artifact(logger, f"{name}:latest", "synthetic-data")


def use_artifact(logger: Any, name: str, kind: str) -> None:
    """W&B ``use_artifact``, with a warning instead of a crash when the artifact was never logged.

    (A generator trained, or a set scored, by an earlier run of the study without W&B logged no artifact.)
    """
    import warnings

    import wandb

    try:
        logger.use_artifact(name, artifact_type=kind)
    except (wandb.errors.Error, ValueError) as error:
        warnings.warn(f"W&B lineage: artifact {name!r} is not in the project ({error}); not linked", stacklevel=2)


def log_sample_table(logger: Any, manifest: Any, folder: Path, per_class: int = 16, key: str = "samples") -> None:
    """Log up to ``per_class`` images of every class of a scored manifest as a ``wandb.Table``.

    Columns: the image, its class, seed, and whichever per-image scores the manifest holds (judge confidence,
    nearest real image and its feature cosine / SSIM, filter decisions).
    """
    from lightning.pytorch.loggers import WandbLogger

    if not isinstance(logger, WandbLogger) or manifest.empty:
        return
    import wandb

    chosen = manifest.groupby("code", group_keys=False, sort=False).head(per_class)
    scores = [c for c in ("confidence", "nearest_real_id", "nearest_real_cosine", "nearest_real_ssim", "kept")
              if c in chosen.columns]  # fmt: skip
    columns = ["image", "class", "seed", *scores]
    table = wandb.Table(columns=columns)
    for _, row in chosen.iterrows():
        values = [row[c].item() if hasattr(row[c], "item") else row[c] for c in scores]
        table.add_data(wandb.Image(str(folder / row["path"])), row["code"], int(row.get("seed", -1)), *values)
    logger.experiment.log({key: table})
