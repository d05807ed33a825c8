"""Stage 3 of a study: train each arm's classifier, select its best validation epoch, test it.

Writes ``arms/<arm>/metrics.json`` and ``predictions.csv``; a finished arm is reused, never retrained.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pandas as pd

from skinsynth.config import section_arguments
from skinsynth.errors import ConfigError
from skinsynth.io import atomic_write_csv, atomic_write_json
from skinsynth.study.arm_specs import Arm, split_budget, training_budget
from skinsynth.study.context import StudyContext
from skinsynth.study.fitting import fit_arm
from skinsynth.study.hardware import barrier
from skinsynth.study.run_dir import read_arm_metrics


def ssl_backbone(ctx: StudyContext) -> Path:
    """The SimCLR-pretrained backbone of the ``ssl`` arms (``checkpoints/ssl/backbone.safetensors``)."""
    from skinsynth.study.pretraining import pretrain_ssl_backbone

    c = ctx.config
    dm = ctx.datamodule("unlabeled")
    dm.setup("fit")
    out = ctx.run_dir / "checkpoints" / "ssl" / "backbone.safetensors"
    path = pretrain_ssl_backbone(
        dm.train_records,
        out,
        backbone=c.classifier.backbone,
        image_size=c.data.image_size,
        epochs=c.classifier.ssl_epochs,
        batch_size=c.classifier.ssl_batch_size,
        seed=c.study.seed,
        num_workers=c.data.num_workers,
        pretrained=c.classifier.pretrained,
        weights_path=c.classifier.weights_path,
        make_trainer=lambda **a: ctx.unsupervised_trainer(None, enable_checkpointing=False, **a),
    )
    barrier()
    return path


def run_arm(ctx: StudyContext, arm: Arm) -> dict[str, Any]:
    """Train, select by validation balanced accuracy, test; returns the arm's metrics (cached on disk)."""
    arm_dir = ctx.run_dir / "arms" / arm.name
    done = arm_dir / "metrics.json"
    if done.is_file():
        previous = read_arm_metrics(done, ctx.class_codes)
        if previous is None:
            raise ConfigError(
                f"{str(done)!r} is not this study's result for arm {arm.name!r}; move it away (skinsynth does not "
                "overwrite files it did not write) and run again"
            )
        print(f"[skinsynth] arm {arm.name!r}: finished earlier, reusing {done}")
        return previous
    import lightning as L

    from skinsynth.models.classifier import LesionClassifier
    from skinsynth.models.metrics import compute_metrics
    from skinsynth.report import per_class_table, plot_confusion
    from skinsynth.tracking import finish, log_media, set_summary

    c = ctx.config
    started = time.perf_counter()
    # the SimCLR stage seeds itself; built first, the arm starts from the same random state resumed or not
    weights_path = str(ssl_backbone(ctx)) if arm.ssl else c.classifier.weights_path
    L.seed_everything(c.study.seed, workers=True, verbose=False)
    dm = ctx.arm_datamodule(arm)
    real_images = len(dm.split.records_for("train"))
    budget = training_budget(ctx.config, real_images)
    model = LesionClassifier(
        **section_arguments(c.classifier, LesionClassifier, skip=("weights_path",)),  # the SimCLR arms: their own
        num_classes=len(ctx.class_codes),
        class_codes=ctx.class_codes,
        weights_path=weights_path,
        loss=arm.loss,
        class_weights=dm.class_weights() if arm.loss == "weighted_ce" else None,
        steps_per_epoch=budget.get("val_check_interval"),
        synthetic_weight=arm.synthetic_weight if arm.mode == "mixed" else 1.0,
    )
    ckpt_dir = ctx.run_dir / "checkpoints" / arm.name
    for stale in ckpt_dir.rglob("best*.ckpt"):  # an interrupted attempt's checkpoints; nothing else is touched
        stale.unlink()
    first_steps, stage = 0, ""
    if arm.finetune_fraction:  # two-stage: real + synthetic, then the best checkpoint fine-tuned on real only
        first, second = split_budget(budget, arm.finetune_fraction)
        trainer, checkpoint, logger = fit_arm(
            ctx, model, dm, first, arm.name, ckpt_dir / "stage1", stage="stage1", uses=arm.generator
        )
        finish(logger)
        first_steps, stage = int(trainer.global_step), "stage2"
        model = LesionClassifier.load_checkpoint(str(checkpoint.best_model_path))
        model.hparams.lr = c.classifier.lr * arm.finetune_lr_scale
        model.hparams.synthetic_weight = 1.0
        dm = ctx.arm_datamodule(dataclasses.replace(arm, mode="fewshot", generator=None))
        budget = second
    trainer, checkpoint, logger = fit_arm(ctx, model, dm, budget, arm.name, ckpt_dir, stage=stage, uses=arm.generator)
    trainer.test(model, datamodule=dm, ckpt_path="best", verbose=False)
    if trainer.global_rank != 0:
        return {}
    predictions = model.test_predictions
    test_frame = dm.split.records_for("test").frame
    metrics = compute_metrics(predictions["probs"], predictions["label"], ctx.class_codes)
    metrics["wall_time_s"] = time.perf_counter() - started
    first_stage = ctx.arm_datamodule(arm) if arm.finetune_fraction else dm  # real + synthetic, before fine-tuning
    metrics["train_images"] = len(first_stage.train_records)
    metrics["train_steps"] = first_steps + int(trainer.global_step)
    metrics["best_val_balanced_accuracy"] = float(checkpoint.best_model_score or float("nan"))
    if arm.synthetic_weight != 1 or arm.finetune_fraction:
        metrics["mixing"] = {
            "synthetic_weight": arm.synthetic_weight,
            "finetune_fraction": arm.finetune_fraction,
            "finetune_lr_scale": arm.finetune_lr_scale,
        }
        if arm.finetune_fraction:
            metrics["mixing"] |= {"finetune_images": len(dm.train_records), "finetune_steps": trainer.global_step}
    rows = test_frame.iloc[predictions["index"].numpy()]
    table = pd.DataFrame({"image_id": rows["image_id"].to_numpy(), "label": rows["code"].to_numpy()})
    probs = predictions["probs"].numpy()
    table["predicted"] = [ctx.class_codes[i] for i in probs.argmax(1)]
    for i, code in enumerate(ctx.class_codes):
        table[f"p_{code}"] = probs[:, i]
    atomic_write_csv(table, arm_dir / "predictions.csv")
    confusion = plot_confusion(
        metrics["confusion_matrix"],
        ctx.class_codes,
        ctx.run_dir / f"confusion_{arm.name}.png",
        f"{arm.name}: test confusion",
    )
    set_summary(
        logger,
        {  # the checkpoint the test used, not the last epoch
            "val_balanced_accuracy": metrics["best_val_balanced_accuracy"],
            "test_balanced_accuracy": metrics["balanced_accuracy"],
            "test_macro_f1": metrics["macro_f1"],
        },
    )
    log_media(
        logger,
        images={"confusion_matrix": confusion, "train_images_per_class": ctx.run_dir / "train_grid.png"},
        tables={"per_class": per_class_table({arm.name: metrics}, ctx.class_codes).T.rename_axis("class")},
    )
    finish(logger)
    atomic_write_json(metrics, done)
    print(
        f"[skinsynth] arm {arm.name!r}: test balanced accuracy {metrics['balanced_accuracy']:.3f}, "
        f"macro-F1 {metrics['macro_f1']:.3f} ({metrics['wall_time_s']:.0f} s)"
    )
    return metrics
