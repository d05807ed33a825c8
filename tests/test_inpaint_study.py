"""``--generator inpaint`` in a study: lesions painted into real training images, OOD post-selection by default."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from skinsynth.cli.fewshot import main
from tests.test_fewshot_cli import tiny_args

TINY_INPAINT = [
    "--generator", "inpaint", "--gen-epochs", "1", "--budget", "fixed:2", "--oversample-factor", "2",
    "--gen-option", "preset=tiny", "--gen-option", "num_train_timesteps=100", "--gen-option", "inpaint_steps=4",
    "--gen-option", "jump_length=2", "--gen-option", "jump_n_sample=1", "--grid-every", "1",
]  # fmt: skip


def test_an_inpainting_study_post_selects_with_the_ood_filter_and_draws_its_figure(
    tmp_path: Path, toy_dir: Path
) -> None:
    run = tmp_path / "run"
    assert main(tiny_args(run, toy_dir, *TINY_INPAINT)) == 0
    generated = pd.read_csv(run / "synthetic" / "inpaint" / "manifest.csv")
    assert len(generated) == 7 * 4 and set(generated["generator"]) == {"inpaint"}  # 2× the budget of 2
    summary = pd.read_csv(run / "quality" / "inpaint" / "selection-ood0.95-summary.csv").set_index("code")
    assert (summary["generated"] == 4).all() and (summary["kept"] <= 2).all()
    kept = pd.read_csv(run / "synthetic" / "inpaint-ood0.95" / "manifest.csv")
    assert len(kept) == summary["kept"].sum()
    arms = json.loads((run / "metrics.json").read_text())["arms"]
    assert list(arms) == ["real", "real+inpaint-ood0.95", "inpaint-ood0.95-only"]
    assert arms["real+inpaint-ood0.95"]["train_images"] == 28 + len(kept)
    assert (run / "grids" / "inpaint" / "inpaint_examples.png").is_file()
    assert "## Post-selection `ood0.95` of `inpaint`" in (run / "report.md").read_text()


def test_filter_none_turns_the_default_post_selection_off(tmp_path: Path, toy_dir: Path) -> None:
    run = tmp_path / "run"
    assert main(tiny_args(run, toy_dir, *TINY_INPAINT, "--filter", "none", "--no-synthetic-only-arm")) == 0
    arms = json.loads((run / "metrics.json").read_text())["arms"]
    assert list(arms) == ["real", "real+inpaint-none"]  # the first 2 of the 4 per class, unfiltered
    assert arms["real+inpaint-none"]["train_images"] == 28 + 14
    assert not (run / "quality" / "inpaint" / "selection-ood0.95-summary.csv").exists()
