"""Post-selection in a study: over-generate, filter with the real arm as judge, train on the kept set."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from skinsynth.cli.fewshot import main
from tests.test_fewshot_cli import tiny_args


def test_filtered_arms_train_on_the_kept_images_only(tmp_path: Path, toy_dir: Path, capsys) -> None:
    run = tmp_path / "run"
    selection = ["--filter", "confidence:0.01+dedupe:0.999", "--oversample-factor", "2"]
    args = tiny_args(run, toy_dir, "--generator", "gan", "--gen-epochs", "1", "--budget", "fixed:3", *selection)
    assert main(args) == 0
    generated = pd.read_csv(run / "synthetic" / "gan" / "manifest.csv")
    assert len(generated) == 7 * 6  # the budget times the oversample factor
    name = "gan-confidence0.01-dedupe0.999"
    kept = pd.read_csv(run / "synthetic" / name / "manifest.csv")
    assert kept["path"].str.startswith("../gan/").all() and set(kept["path"]) <= {
        f"../gan/{p}" for p in generated["path"]
    }
    assert (kept["code"].value_counts() <= 3).all()  # never more than the budget
    summary = pd.read_csv(run / "quality" / "gan" / "selection-confidence0.01-dedupe0.999-summary.csv")
    assert (summary["generated"] == 6).all() and (
        summary["kept"] == kept["code"].value_counts()[summary["code"]].to_numpy()
    ).all()
    arms = json.loads((run / "metrics.json").read_text())["arms"]
    assert arms[f"real+{name}"]["train_images"] == 28 + len(kept) and arms[f"{name}-only"]["train_images"] == len(kept)
    assert "## Post-selection `confidence0.01-dedupe0.999` of `gan`" in (run / "report.md").read_text()


def test_a_filter_that_keeps_nothing_is_a_named_error_and_writes_no_empty_set(tmp_path: Path, toy_dir: Path,
                                                                             capsys) -> None:  # fmt: skip
    run = tmp_path / "run"
    args = tiny_args(run, toy_dir, "--generator", "gan", "--gen-epochs", "1", "--budget", "fixed:2",
                     "--filter", "confidence:1", "--oversample-factor", "2")  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "post-selection 'confidence:1' kept none of the 28 images" in err and "loosen the filter" in err
    summary = pd.read_csv(run / "quality" / "gan" / "selection-confidence1-summary.csv")
    assert (summary["kept"] == 0).all() and (summary["generated"] == 4).all()
    assert not (run / "synthetic" / "gan-confidence1" / "manifest.csv").exists()
