"""Mixing controls in a study: one real+<gen> arm per synthetic loss weight, and the two-stage schedule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from skinsynth.cli.fewshot import main
from skinsynth.config import StudyConfig, parse_weights
from skinsynth.errors import ConfigError
from skinsynth.study.arm_specs import generator_arms, split_budget
from tests.test_fewshot_cli import tiny_args


def test_weights_parse_from_text_yaml_scalars_and_lists() -> None:
    assert parse_weights("0.25,0.5,1") == [0.25, 0.5, 1.0]
    assert parse_weights(0.5) == [0.5] and parse_weights([1, 1, 0]) == [1.0, 0.0]  # duplicates dropped
    assert StudyConfig.from_dict({"synthetic_weight": 0.5}).study.synthetic_weight == [0.5]  # older config files
    for bad in ("nan", "-1", "x", "", "inf"):
        with pytest.raises(ConfigError, match="synthetic_weight"):
            parse_weights(bad)


def test_arms_are_named_by_weight_and_schedule() -> None:
    arms = generator_arms("gan", [0.25, 1.0], two_stage=0.3)
    assert [a.name for a in arms] == ["real+gan-w0.25", "real+gan", "real+gan-then-real0.3", "gan-only"]
    assert [a.synthetic_weight for a in arms] == [0.25, 1.0, 1.0, 1.0]
    assert arms[2].finetune_fraction == 0.3 and arms[3].mode == "synthetic"


def test_split_budget_cuts_whole_validation_intervals() -> None:
    budget = {"max_epochs": -1, "max_steps": 300, "val_check_interval": 10, "check_val_every_n_epoch": None}
    first, second = split_budget(budget, 0.3)
    assert (first["max_steps"], second["max_steps"]) == (210, 90)
    assert split_budget({"max_epochs": 10}, 0.25) == ({"max_epochs": 8}, {"max_epochs": 2})
    with pytest.raises(ConfigError, match="at least 2 epochs"):  # one interval cannot be cut without extra steps
        split_budget({**budget, "max_steps": 10}, 0.5)


def test_weighted_and_two_stage_arms_run_with_the_real_arms_step_budget(tmp_path: Path, toy_dir: Path) -> None:
    run = tmp_path / "run"
    args = tiny_args(run, toy_dir, "--generator", "gan", "--gen-epochs", "1", "--budget", "fixed:3",
                     "--synthetic-weight", "0,1", "--two-stage", "0.5", "--epochs", "2")  # fmt: skip
    assert main(args) == 0
    arms = json.loads((run / "metrics.json").read_text())["arms"]
    assert list(arms) == ["real", "real+gan-w0", "real+gan", "real+gan-then-real0.5", "gan-only"]
    # every arm makes the real arm's updates: 2 real epochs of 28 images in batches of 8
    assert {a["train_steps"] for a in arms.values()} == {6}
    assert arms["real+gan-w0"]["mixing"]["synthetic_weight"] == 0.0 and "mixing" not in arms["real+gan"]
    two_stage = arms["real+gan-then-real0.5"]
    assert two_stage["mixing"]["finetune_fraction"] == 0.5 and two_stage["train_images"] == 28 + 21
    # stage 2 trains on the 28 real images only, for half of the 6 steps
    assert two_stage["mixing"]["finetune_images"] == 28 and two_stage["mixing"]["finetune_steps"] == 3
    # the second stage starts from the first stage's best checkpoint and trains on the 28 real images only
    stage1 = run / "checkpoints" / "real+gan-then-real0.5" / "stage1" / "best.ckpt"
    final = run / "checkpoints" / "real+gan-then-real0.5" / "best.ckpt"
    saved = torch.load(final, map_location="cpu", weights_only=True)
    assert stage1.is_file() and saved["hyper_parameters"]["lr"] == pytest.approx(1e-4)
    assert saved["hyper_parameters"]["synthetic_weight"] == 1.0
    report = (run / "report.md").read_text()
    assert "| real+gan-w0 | " in report and "| real+gan-then-real0.5 | " in report
    # weights and schedules are arms, not settings: another weight in the same run directory adds an arm
    assert main([*args[:-6], "--synthetic-weight", "0.5", "--epochs", "2"]) == 0
    assert "real+gan-w0.5" in json.loads((run / "metrics.json").read_text())["arms"]


def test_a_run_directory_from_before_weights_were_arms_is_refused(tmp_path: Path, toy_dir: Path, capsys) -> None:
    run = tmp_path / "old"
    run.mkdir()
    (run / ".skinsynth-run").write_text("skinsynth study run directory\n")
    (run / "config.yaml").write_text("synthetic_weight: 0.5\nshots: 4\n")  # its real+gan arm used weight 0.5
    assert main(tiny_args(run, toy_dir, "--generator", "gan", "--gen-epochs", "1", "--budget", "fixed:2")) == 2
    assert "real+<gen>-w0.5" in capsys.readouterr().err
    assert sorted(p.name for p in run.iterdir()) == [".skinsynth-run", "config.yaml"]
