"""Stage 1 of a study: read (or generate) the data and split it; ``split.csv``, ``config.yaml``, a training grid."""

from __future__ import annotations

from typing import Any

import yaml

from skinsynth.data.splits import Split
from skinsynth.errors import ConfigError
from skinsynth.io import atomic_write_text
from skinsynth.study.context import StudyContext
from skinsynth.study.hardware import launched_rank
from skinsynth.study.run_dir import check_run_dir, mark_run_dir


def prepare_data(ctx: StudyContext) -> None:
    """Read (or generate) the data, split it once, write ``split.csv`` and read it back as the study's split.

    Also writes ``config.yaml`` and a training-image grid. A resumed study's ``split.csv`` must equal the split its
    settings give (else the data or the settings changed).
    """
    from skinsynth.data.record_source import RecordSource, readable_split

    c = ctx.config
    writer = launched_rank() == 0  # under torchrun or Lightning's launcher, rank 0 alone writes the run dir
    if writer:
        check_run_dir(ctx.run_dir, c)
        mark_run_dir(ctx.run_dir)  # the marker only: settings are saved once they were checked against the data
    toy_options = {"total": c.data.toy_total, "min_per_class": c.data.toy_min_per_class}  # data seed 0: one toy set
    source = RecordSource(
        c.data.dataset, c.data.data_dir, c.data.image_size, toy_options, test_data_dir=c.data.test_data
    )
    ctx.records, ctx.test_records = source.read(), source.read_test()
    ctx.class_codes = list(ctx.records.vocabulary.codes)
    # the study decides the split here, once (--seed varies it); every datamodule after it is given split.csv's
    split = readable_split(
        ctx.records,
        ctx.test_records,
        on_bad_image=c.data.on_bad_image,
        image_size=c.data.image_size,
        shots=c.data.shots,
        val_fraction=c.data.val_fraction,
        pool=c.data.unlabeled_pool,
        seed=c.study.seed,
    )  # too many shots fails here, before anything is trained
    counts = split.audit()
    ctx.split = split
    if c.generator.name != "none":  # the budget against the real counts (a custom: class the data lacks, ...)
        from skinsynth.budget import make_budget

        real = split.records_for("train").frame["code"].value_counts().to_dict()
        make_budget(c.study.budget, real, ctx.records.vocabulary, c.study.max_ratio)
    if not writer:
        return
    stored = ctx.run_dir / "split.csv"
    if stored.is_file() and not split.matches(stored):
        raise ConfigError(f"{str(stored)!r} differs from the split these settings give (has the data changed?)")
    atomic_write_text(yaml.safe_dump(c.to_dict(), sort_keys=False), ctx.run_dir / "config.yaml")
    split.to_csv(stored)
    print(f"[skinsynth] split ({split.strategy}, seed {c.study.seed}):\n{counts.to_string()}")
    # the artifact is the split: every later stage trains and tests on what split.csv says
    ctx.split = Split.load(stored, split.records)  # its records: the data and any external test set
    write_training_grid(ctx, ctx.split)


def write_training_grid(ctx: StudyContext, split: Any) -> None:
    """``train_grid.png``: up to 8 training images per class, as the classifiers see them (kept once written)."""
    import numpy as np
    import torch

    from skinsynth.callbacks.sample_grid import class_grid, save_grid
    from skinsynth.data.images import ImageReader
    from skinsynth.data.transforms import eval_transform

    path = ctx.run_dir / "train_grid.png"
    if path.is_file():
        return
    train = split.records_for("train").frame.groupby("label", group_keys=False).head(8)
    reader, transform = (
        ImageReader(draft_size=ctx.config.data.image_size),
        eval_transform(ctx.config.data.image_size, normalize=False),
    )
    images = torch.stack([transform(image=reader.read(p))["image"] for p in train["path"]])
    labels = torch.as_tensor(np.asarray(train["label"]))
    save_grid(class_grid(images, labels, len(ctx.class_codes)), path, ctx.class_codes)
