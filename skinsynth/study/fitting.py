"""One classifier fit of an arm: its logger, its best-validation checkpoint, its Trainer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skinsynth.study.context import StudyContext
from skinsynth.study.hardware import launched_rank, module_trainer_arguments
from skinsynth.study.run_dir import sha256_file


def fit_arm(
    ctx: StudyContext,
    model: Any,
    dm: Any,
    budget: dict[str, Any],
    arm_name: str,
    ckpt_dir: Path,
    stage: str = "",
    uses: str | None = None,
) -> tuple[Any, Any, Any]:
    """Fit ``model`` on ``dm`` for ``budget``, keeping the best validation checkpoint.

    ``uses``: the synthetic set the arm trains on, recorded in its W&B run (lineage).
    """
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    from skinsynth.progress import progress_bar
    from skinsynth.tracking import make_logger, wandb_mode

    c = ctx.config
    name = f"{arm_name}/{stage}" if stage else arm_name
    if c.trainer.logger == "wandb" and not ctx.announced_offline and wandb_mode() == "offline":
        print(
            f"[skinsynth] W&B: no login found, logging offline to {ctx.run_dir / 'wandb'} "
            "(upload later with `wandb sync`)"
        )
        ctx.announced_offline = True
    logger = make_logger(
        c.trainer.logger,
        run_dir=ctx.run_dir,
        name=name,
        group=c.study.name,
        project=c.trainer.wandb_project,
        config={**c.to_dict(), "arm": arm_name, "stage": stage or "single"},
    )
    if uses and launched_rank() == 0:
        from skinsynth.tracking import artifact_name, use_synthetic_artifact

        manifest = ctx.synthetic_dir(uses) / "manifest.csv"
        source = ctx.set_name() if uses.startswith(f"{ctx.set_name()}-") else uses
        use_synthetic_artifact(logger, artifact_name(c.study.name, c.study.seed, source), sha256_file(manifest))
    checkpoint = ModelCheckpoint(
        dirpath=ckpt_dir,
        filename="best",
        monitor="val_balanced_accuracy",
        mode="max",
        save_top_k=1,
        save_last=False,
    )
    callbacks: list[Any] = [checkpoint, progress_bar()] if c.trainer.progress_bar else [checkpoint]
    if c.classifier.early_stopping_patience:
        callbacks.append(
            EarlyStopping(monitor="val_balanced_accuracy", mode="max", patience=c.classifier.early_stopping_patience)
        )
    trainer = L.Trainer(
        **budget,
        accelerator=c.trainer.accelerator,
        devices=c.trainer.devices,
        num_nodes=c.trainer.num_nodes,
        precision=c.trainer.precision,
        logger=logger,
        callbacks=callbacks,
        enable_progress_bar=c.trainer.progress_bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=5,
        limit_train_batches=c.trainer.limit_train_batches,
        limit_val_batches=c.trainer.limit_val_batches,
        limit_test_batches=c.trainer.limit_test_batches,
        default_root_dir=str(ctx.run_dir),
        **module_trainer_arguments(
            model, c.trainer.accelerator, c.trainer.devices, c.trainer.num_nodes, c.trainer.precision
        ),
    )
    length = f"{budget['max_steps']} steps" if "max_steps" in budget else f"{budget['max_epochs']} epoch(s)"
    print(f"[skinsynth] arm {name!r}: training {c.classifier.backbone} on {len(dm.train_records)} images for {length}")
    trainer.fit(model, datamodule=dm)
    return trainer, checkpoint, logger
