"""The oracle control end to end: real pool images beat a deliberately broken generator on the toy set.

The toy set here is larger than the shared fixture (50 images per class at 32 px) and the arms train for 180 steps:
a resnet18 from scratch needs that much to learn the toy classes at all (about 20 s per arm on 2 cores).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from skinsynth.cli.fewshot import main
from skinsynth.data.sources.toy import make_toy_dataset
from skinsynth.models.gan.module import ConditionalGANModule

CODES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]


def study(run: Path, data: Path, *extra: str) -> list[str]:
    return [
        "--run-dir", str(run), "--dataset", "ham10000", "--data-dir", str(data), "--shots", "8", "--image-size", "32",
        "--epochs", "60", "--batch-size", "16", "--lr", "3e-3", "--logger", "none", "--no-progress-bar",
        "--unlabeled-pool", "all", "--budget", "fixed:24", "--gen-epochs", "1", *extra,
    ]  # fmt: skip


def test_the_oracle_arm_beats_a_broken_generator(tmp_path: Path) -> None:
    data = make_toy_dataset(tmp_path / "toy", counts=dict.fromkeys(CODES, 50), image_size=32, seed=0)
    run = tmp_path / "run"
    assert main(study(run, data, "--generator", "oracle")) == 0
    # the broken generator: a plain DCGAN (the settings before the few-shot remedies) whose learning rates are 0 draws
    # the same untrained noise for every class
    plain = [f"--gen-option={k}={v}" for k, v in ConditionalGANModule.LEGACY_DEFAULTS.items() if v is not None]
    broken = ["--generator", "gan", "--gen-option", "lr_g=0", "--gen-option", "lr_d=0", *plain]
    assert main(study(run, data, *broken)) == 0
    arms = json.loads((run / "metrics.json").read_text())["arms"]
    assert arms["oracle-only"]["balanced_accuracy"] > arms["gan-only"]["balanced_accuracy"] + 0.15
    assert arms["real+oracle"]["balanced_accuracy"] > arms["real+gan"]["balanced_accuracy"]
    split = pd.read_csv(run / "split.csv")
    pool = set(split.loc[split["split"] == "pool", "image_id"])
    oracle = pd.read_csv(run / "synthetic" / "oracle" / "manifest.csv")
    assert set(oracle["source_image_id"]) <= pool and len(oracle) == 7 * 24  # from the pool only, never val/test
    quality = json.loads((run / "metrics.json").read_text())["synthetic"]
    assert quality["oracle"]["quality"]["all"]["diversity_ratio"] > quality["gan"]["quality"]["all"]["diversity_ratio"]
