"""The evidence stage of a study: what a synthetic set is worth before any classifier trains on it.

Quality, diversity and memorization of the set, its post-selections, and the W&B run that logs them (the set as an
artifact, a table of samples, the figures).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from skinsynth.study.context import StudyContext
from skinsynth.study.hardware import launched_rank


def run_evidence(ctx: StudyContext, generator: str) -> dict[str, Any] | None:
    """Quality, diversity and memorization of ``generator``'s set, judged by the real-only arm (rank 0 only).

    Skipped (with a note) when the study has no ``real`` arm; reused when ``quality/<generator>/`` is complete.
    """
    from skinsynth.evidence import EVIDENCE_FILE, synthetic_evidence
    from skinsynth.models.classifier import LesionClassifier

    out = ctx.run_dir / "quality" / generator
    if launched_rank() != 0:
        return None
    if (out / EVIDENCE_FILE).is_file():
        return json.loads((out / EVIDENCE_FILE).read_text())
    judge_path = ctx.run_dir / "checkpoints" / "real" / "best.ckpt"
    if not judge_path.is_file():
        print("[skinsynth] no 'real' arm: the synthetic set is not scored (add real to `study.baselines`)")
        log_evidence(ctx, generator, None)
        return None
    started = time.perf_counter()
    judge = LesionClassifier.load_checkpoint(judge_path)
    space = f"{judge.hparams.backbone} penultimate layer of the real-only arm"
    real_train = ctx.split.records_for("train")
    summary = synthetic_evidence(
        out,
        ctx.synthetic_dir(generator),
        real_train,
        judge,
        ctx.class_codes,
        ctx.config.data.image_size,
        space,
        seed=ctx.config.study.seed,
    )
    print(f"[skinsynth] synthetic set {generator!r} scored in {time.perf_counter() - started:.0f} s: {out}")
    log_evidence(ctx, generator, out)
    return summary


def log_evidence(ctx: StudyContext, generator: str, quality_dir: Path | None) -> None:
    """A W&B run ``evidence-<generator>``: the scored synthetic set as an artifact, a table of samples, figures.

    The artifact (``<study>-seed<k>-<generator>``, manifest + PNGs) names the generator checkpoint it came from;
    the arms that train on the set record its use (:func:`~skinsynth.tracking.use_synthetic_artifact`).
    """
    if ctx.config.trainer.logger != "wandb" or launched_rank() != 0:
        return
    from skinsynth import tracking
    from skinsynth.data.synthetic import read_manifest

    c, folder = ctx.config, ctx.synthetic_dir(generator)
    name = tracking.artifact_name(c.study.name, c.study.seed, generator)
    run = f"evidence-{generator}"
    logger = tracking.make_logger(
        "wandb",
        run_dir=ctx.run_dir,
        name=run,
        group=c.study.name,
        project=c.trainer.wandb_project,
        config={**c.to_dict(), "arm": run},
    )
    checkpoint = ctx.run_dir / "checkpoints" / f"generator-{generator}" / "last.ckpt"
    budget = json.loads((ctx.run_dir / "budget.json").read_text()).get("synthetic")
    metadata = {
        "generator": generator,
        "study": c.study.name,
        "seed": c.study.seed,
        "budget": budget,
        "generator_checkpoint": f"{name}-generator" if checkpoint.is_file() else None,
    }
    tracking.log_synthetic_artifacts(logger, name=name, folder=folder, checkpoint=None, metadata=metadata)
    tracking.log_sample_table(logger, read_manifest(folder), folder)
    if quality_dir is not None:
        figures = {p.stem: p for p in sorted(quality_dir.glob("*.png"))}
        tables = {
            p.stem: pd.read_csv(p)
            for p in (quality_dir / "quality.csv", quality_dir / "memorization.csv")
            if p.is_file()
        }
        tracking.log_media(logger, images=figures, tables=tables)
    tracking.finish(logger)


def run_selection(ctx: StudyContext, generator: str, spec: str) -> None:
    """Post-select ``generator``'s over-generated set with ``spec``; the kept set is ``synthetic/<gen>-<spec>``."""
    from skinsynth.data.synthetic import MANIFEST
    from skinsynth.evidence import filtered_name, select_synthetic
    from skinsynth.models.classifier import LesionClassifier

    target = ctx.synthetic_dir(filtered_name(generator, spec))
    if launched_rank() != 0 or (target / MANIFEST).is_file():
        return
    judge = LesionClassifier.load_checkpoint(ctx.run_dir / "checkpoints" / "real" / "best.ckpt")
    summary = select_synthetic(
        ctx.run_dir / "quality" / generator,
        ctx.synthetic_dir(generator),
        target,
        ctx.split.records_for("train"),
        judge,
        ctx.class_codes,
        ctx.config.data.image_size,
        spec,
        ctx.budget(),
    )
    print(f"[skinsynth] selection {spec!r} of {generator!r} (kept / generated per class):\n{summary.to_string()}")
    short = summary[summary["kept"] < summary["budget"]]
    if len(short):
        print(
            f"[skinsynth] classes below their budget after filtering: {', '.join(short.index)} "
            "(raise `study.oversample_factor`)"
        )


def finished_evidence(ctx: StudyContext) -> dict[str, Any]:
    """Every generator's evidence summary found in the run directory."""
    from skinsynth.evidence import EVIDENCE_FILE

    return {
        path.parent.name: json.loads(path.read_text())
        for path in sorted((ctx.run_dir / "quality").glob(f"*/{EVIDENCE_FILE}"))
    }
