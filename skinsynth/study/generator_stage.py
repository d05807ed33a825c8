"""Stage 2 of a study: the generator and its synthetic set.

Pretrain the generator on the unlabeled pool (optional), train it on the few-shot split, materialize its budget as the
synthetic set (``synthetic/<set>/``); the oracle draws real pool images instead.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from skinsynth.errors import ConfigError
from skinsynth.io import atomic_write_json
from skinsynth.study.context import StudyContext
from skinsynth.study.hardware import barrier, generator_checkpoint, launched_rank
from skinsynth.study.run_dir import sha256_file


def run_generator(ctx: StudyContext) -> Path:
    """Train the generator on the few-shot training split and materialize its budget; returns the folder.

    Resumes: a finished generator (its ``last.ckpt`` at the final epoch) is not retrained, an interrupted one
    continues from ``last.ckpt``, and materialization completes whatever images are missing.
    """
    import lightning as L

    from skinsynth.callbacks.sample_grid import SampleGridCallback
    from skinsynth.callbacks.synthetic_dataset import SyntheticDatasetCallback, materialize
    from skinsynth.checkpoints import load_checkpoint
    from skinsynth.models.registry import (
        check_checkpoint_options,
        effective_options,
        load_generator,
        make_generator,
        saved_settings,
    )
    from skinsynth.tracking import finish, make_logger

    c, kind, name = ctx.config, ctx.config.generator.name, ctx.set_name()
    folder = ctx.synthetic_dir(name)
    budget = ctx.generated_budget()
    if kind == "oracle":  # the positive control: real pool images of the asked-for class, nothing to train
        from skinsynth.data.oracle import materialize_oracle

        if launched_rank() == 0:
            materialize_oracle(ctx.split.records_for("pool"), budget, folder, c.data.image_size, c.study.seed)
        barrier()
        print(f"[skinsynth] oracle: {sum(budget.values())} real pool images as its synthetic set ({folder})")
        return folder
    ckpt_dir = ctx.run_dir / "checkpoints" / f"generator-{name}"
    last = ckpt_dir / "last.ckpt"
    # the checkpoint is recorded relative to the run directory, so a moved or copied study still matches
    options = {
        "generator_name": name,
        "class_codes": ctx.class_codes,
        "study_seed": c.study.seed,
        "batch_size": c.generator.sample_batch_size,
        "progress": c.trainer.progress_bar,
        "checkpoint": last.relative_to(ctx.run_dir).as_posix(),
    }
    gen_options = ctx.generator_options()
    start = pretrained_generator(ctx)
    if start is not None and c.generator.epochs == 0:  # the pretrained generator as it is: nothing trains
        return sample_as_is(ctx, start, gen_options, {**options, "checkpoint": str(start)})
    if start is not None:  # fine-tune the pool-pretrained generator class-conditionally
        gen_options["init_checkpoint"] = str(start)
        check_start(ctx, ckpt_dir, start)
    if last.is_file():
        saved = load_checkpoint(last)
        # every setting, not only the ones given now: a resumed run must continue the same model
        requested = effective_options(kind, gen_options)
        check_checkpoint_options(last, saved_settings(kind, saved.get("hyper_parameters", {})), requested)
        if saved.get("epoch", -1) + 1 >= c.generator.epochs:
            print(f"[skinsynth] generator {name!r}: trained earlier ({last}); materializing its budget")
            if launched_rank() == 0:  # one process completes the set; launched peers wait for it
                model = load_generator(kind, last, ctx.class_codes, c.data.image_size, requested)
                model.set_training_records(ctx.split.records_for("train"), pool=ctx.split.records_for("pool"))
                materialize(model.to(ctx.sampling_device()), budget, folder, image_size=c.data.image_size, **options)
                write_generator_figures(ctx, model, name)
            barrier()
            return folder
    started = time.perf_counter()
    L.seed_everything(c.study.seed, workers=True, verbose=False)
    dm = ctx.datamodule(batch_size=c.generator.batch_size, augment="dihedral", normalize=False)
    model = make_generator(kind, class_codes=ctx.class_codes, image_size=c.data.image_size, **gen_options)
    dm.setup("fit")
    # the LDM's per-image captions follow the row order; the inpainting generator paints into these images
    model.set_training_records(dm.train_records, pool=ctx.split.records_for("pool"))
    logger = make_logger(
        c.trainer.logger,
        run_dir=ctx.run_dir,
        name=f"generator-{name}",
        group=c.study.name,
        project=c.trainer.wandb_project,
        config={**c.to_dict(), "arm": f"generator-{name}"},
    )
    materializer = SyntheticDatasetCallback(folder, budget, **options)
    grids = SampleGridCallback(ctx.run_dir / "grids" / name, ctx.class_codes, c.generator.grid_every, seed=c.study.seed)
    trainer = ctx.unsupervised_trainer(
        model,
        max_epochs=c.generator.epochs,
        logger=logger,
        callbacks=[generator_checkpoint(ckpt_dir), grids, materializer],
    )
    print(
        f"[skinsynth] generator {name!r}: training on the {c.data.shots or 'all'}-shot split for "
        f"{c.generator.epochs} epoch(s)"
    )
    trainer.fit(model, datamodule=dm, ckpt_path=str(last) if last.is_file() else None)
    if trainer.global_rank == 0:
        from skinsynth.tracking import artifact_name, log_model_artifact

        described = {"generator": name, "study": c.study.name, "seed": c.study.seed, "epochs": c.generator.epochs}
        log_model_artifact(logger, f"{artifact_name(c.study.name, c.study.seed, name)}-generator", last, described)
    if trainer.global_rank == 0:
        write_generator_figures(ctx, model, name)
    finish(logger)
    seconds = time.perf_counter() - started
    print(f"[skinsynth] generator {name!r}: trained and materialized {sum(budget.values())} images in {seconds:.0f} s")
    atomic_write_json(
        {"generator": name, "wall_time_s": seconds, "epochs": c.generator.epochs}, ckpt_dir / "timing.json"
    )
    return folder


def sample_as_is(ctx: StudyContext, start: Path, gen_options: dict[str, Any], options: dict[str, Any]) -> Path:
    """``generator.epochs`` 0: materialize the budget with the ``--pretrained-generator`` checkpoint, untrained.

    Its sampling options (the class's ``SAMPLING_OPTIONS``, e.g. the DDPM's guidance scale) may differ from the
    checkpoint's; every other option must match it. ``checkpoints/generator-<set>/as_is.json`` records the
    checkpoint and the sampling options, so a resumed study completes the same set or stops.
    """
    from skinsynth.callbacks.synthetic_dataset import materialize
    from skinsynth.checkpoints import load_checkpoint
    from skinsynth.models.registry import generator_class, load_generator

    c, kind, name = ctx.config, ctx.config.generator.name, ctx.set_name()
    allowed = generator_class(kind).SAMPLING_OPTIONS
    sampling = {k: v for k, v in gen_options.items() if k in allowed}
    trained = {k: v for k, v in gen_options.items() if k not in allowed}
    if load_checkpoint(start).get("hyper_parameters", {}).get("unconditional"):
        raise ConfigError(
            f"`generator.pretrained_checkpoint` {str(start)!r} is an unconditional (pool) pretraining: it knows no "
            "classes, so it cannot make a class's images as it is; fine-tune it (`generator.epochs` ≥ 1)"
        )
    record = ctx.run_dir / "checkpoints" / f"generator-{name}" / "as_is.json"
    wanted = {"path": str(start), "sha256": sha256_file(start), "sampling": sampling}
    if record.is_file():
        saved = json.loads(record.read_text())
        if saved.get("sha256") != wanted["sha256"] or saved.get("sampling") != sampling:
            raise ConfigError(
                f"the set {name!r} in {str(ctx.run_dir)!r} was sampled from {saved.get('path')} with sampling options "
                f"{saved.get('sampling')} ({record}); this study asks for {start} with {sampling}: use a new "
                "`study.run_dir`"
            )
    folder, budget = ctx.synthetic_dir(name), ctx.generated_budget()
    if launched_rank() == 0:  # one process makes the set; launched peers wait for it
        started = time.perf_counter()
        model = load_generator(kind, start, ctx.class_codes, c.data.image_size, trained, sampling=sampling)
        atomic_write_json(wanted, record)
        model.set_training_records(ctx.split.records_for("train"), pool=ctx.split.records_for("pool"))
        print(f"[skinsynth] generator {name!r}: as it is (epochs 0), sampling options {sampling or 'as trained'}")
        materialize(model.to(ctx.sampling_device()), budget, folder, image_size=c.data.image_size, **options)
        write_generator_figures(ctx, model, name)
        seconds = time.perf_counter() - started
        atomic_write_json({"generator": name, "wall_time_s": seconds, "epochs": 0}, record.with_name("timing.json"))
    barrier()
    return folder


def write_generator_figures(ctx: StudyContext, model: Any, name: str) -> None:
    """The generator's own figures (the inpainting generator: source, mask, result per class) in ``grids/<set>/``."""
    for path in model.write_figures(ctx.run_dir / "grids" / name, seed=ctx.config.study.seed):
        print(f"[skinsynth] generator {name!r}: {path}")


def check_start(ctx: StudyContext, ckpt_dir: Path, start: Path) -> None:
    """Record (or, resuming, compare) the SHA-256 of the checkpoint the generator was fine-tuned from.

    The set is named ``<gen>-pretrained`` whichever file ``--pretrained-generator`` gives, so another file in the
    same run directory must not continue, or reuse, the generator started from the first.
    """
    record = ckpt_dir / "init.json"
    digest = sha256_file(start)
    if record.is_file():
        saved = json.loads(record.read_text())
        if saved.get("sha256") != digest:
            raise ConfigError(
                f"the generator in {str(ckpt_dir)!r} was fine-tuned from another checkpoint ({saved.get('path')}, "
                f"SHA-256 {str(saved.get('sha256'))[:12]}…) than {str(start)!r}; use a new `study.run_dir`"
            )
    elif launched_rank() == 0:
        atomic_write_json({"path": str(start), "sha256": digest}, record)


def pretrained_generator(ctx: StudyContext) -> Path | None:
    """The pool-pretrained generator checkpoint the few-shot generator starts from (``None``: from scratch).

    ``--pretrained-generator PATH`` is checked against this study's split (no val/test image may have been in
    its pretraining); ``--pretrain-epochs N`` pretrains here, unconditionally on the pool and the few-shot
    images with labels hidden (``checkpoints/pretrain-<gen>/last.ckpt``, resumable).
    """
    import lightning as L

    from skinsynth.models.registry import make_generator
    from skinsynth.study.pretraining import check_pretrained_images, finished_epochs, pretrain_generator

    c = ctx.config
    if c.generator.pretrained_checkpoint:
        path = Path(c.generator.pretrained_checkpoint).expanduser().resolve()
        held_out = {str(i) for s in ("val", "test") for i in ctx.split.records_for(s).frame["image_id"]}
        seen = check_pretrained_images(path, held_out)
        print(
            f"[skinsynth] generator: {'fine-tuning' if c.generator.epochs else 'sampling'} {path}"
            + (
                f" (pretrained on {seen} images, none of them in val or test)"
                if seen is not None
                else " (no pretraining.json beside it: its images are not checked)"
            )
        )
        return path
    if not c.generator.pretrain_epochs:
        return None
    ckpt_dir = ctx.run_dir / "checkpoints" / f"pretrain-{c.generator.name}"
    dm = ctx.datamodule("unlabeled", batch_size=c.generator.batch_size, augment="dihedral", normalize=False)
    # the pretraining trains every weight from scratch: adapters (finetune=lora) and the class embeddings' own
    # learning rate belong to the fine-tuning (an unconditional model trains only the null class's embedding)
    fine_tuning = ("finetune", "init_checkpoint", "class_embedding_lr")
    options = {k: v for k, v in ctx.generator_options().items() if k not in fine_tuning}
    options["unconditional"] = True
    last = ckpt_dir / "last.ckpt"
    if last.is_file():  # resumed or reused: it must be the model these settings describe
        from skinsynth.checkpoints import load_checkpoint
        from skinsynth.models.registry import check_checkpoint_options, effective_options, saved_settings

        saved = saved_settings(c.generator.name, load_checkpoint(last).get("hyper_parameters", {}))
        check_checkpoint_options(last, saved, effective_options(c.generator.name, options))
    L.seed_everything(c.study.seed, workers=True, verbose=False)
    model = make_generator(c.generator.name, class_codes=ctx.class_codes, image_size=c.data.image_size, **options)
    if finished_epochs(last) >= c.generator.pretrain_epochs:
        print(f"[skinsynth] generator {c.generator.name!r}: reusing its finished pool pretraining ({last})")
    else:
        print(
            f"[skinsynth] generator {c.generator.name!r}: pretraining on the unlabeled pool for "
            f"{c.generator.pretrain_epochs} epoch(s), labels hidden"
        )
    started = time.perf_counter()
    last = pretrain_generator(
        model,
        dm,
        ckpt_dir,
        epochs=c.generator.pretrain_epochs,
        make_trainer=lambda **a: ctx.unsupervised_trainer(model, **a),
    )
    if launched_rank() == 0 and not (ckpt_dir / "timing.json").is_file():
        atomic_write_json(
            {"wall_time_s": time.perf_counter() - started, "epochs": c.generator.pretrain_epochs},
            ckpt_dir / "timing.json",
        )
    barrier()
    return last
