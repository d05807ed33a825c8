"""Run directories lose nothing and refuse nothing valid: each case was found by trying bad input by hand."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from skinsynth.cli.fewshot import main
from tests.test_fewshot_cli import tiny_args


def gan_args(run: Path, toy_dir: Path, *extra: str) -> list[str]:
    return tiny_args(run, toy_dir, "--generator", "gan", "--gen-epochs", "1", "--budget", "fixed:2", *extra)


def test_a_foreign_non_empty_folder_is_refused_and_left_untouched(tmp_path: Path, toy_dir: Path, capsys) -> None:
    run = tmp_path / "photos"
    run.mkdir()
    (run / "holiday.jpg").write_bytes(b"precious")
    assert main(tiny_args(run, toy_dir)) == 2
    assert "is not empty and is not a skinsynth study (it holds holiday.jpg)" in capsys.readouterr().err
    assert sorted(p.name for p in run.iterdir()) == ["holiday.jpg"]


def test_the_study_deletes_only_what_it_wrote_and_skips_foreign_metrics(tmp_path: Path, toy_dir: Path, capsys) -> None:
    run = tmp_path / "run"
    assert main(tiny_args(run, toy_dir, "--baselines", "real")) == 0
    mine = run / "checkpoints" / "weighted"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("keep me")
    (mine / "best.ckpt").write_bytes(b"stale checkpoint of an interrupted attempt")
    foreign = run / "arms" / "someone-else"
    foreign.mkdir(parents=True)
    (foreign / "metrics.json").write_text(json.dumps({"accuracy": 0.99}))
    with pytest.warns(UserWarning, match="someone-else.*not a skinsynth arm's metrics"):
        assert main(tiny_args(run, toy_dir, "--baselines", "real,weighted")) == 0
    assert (mine / "notes.txt").read_text() == "keep me"
    assert (mine / "best.ckpt").read_bytes() != b"stale checkpoint of an interrupted attempt"
    assert list(json.loads((run / "metrics.json").read_text())["arms"]) == ["real", "weighted"]


def test_a_data_error_writes_no_settings_so_the_corrected_run_is_accepted(
    tmp_path: Path, toy_dir: Path, capsys
) -> None:
    run = tmp_path / "run"
    assert main(tiny_args(run, toy_dir, "--shots", "500")) == 2  # more shots than any class has
    assert "Lower --shots" in capsys.readouterr().err and not (run / "config.yaml").exists()
    assert main(gan_args(run, toy_dir, "--budget", "custom:mel=2,scc=3")) == 2  # no scc in HAM10000
    assert "names class 'scc'" in capsys.readouterr().err and not (run / "config.yaml").exists()
    assert main(tiny_args(run, toy_dir)) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--val-fraction", "1.5"], "--val-fraction must lie strictly between 0 and 1"),
        (["--val-fraction", "0"], "--val-fraction must lie strictly between 0 and 1"),
        (["--generator", "gan", "--budget", "ratio:nan"], "'nan' is not a finite number"),
        (["--generator", "gan", "--budget", "ratio:inf"], "'inf' is not a finite number"),
        (["--generator", "gan", "--max-ratio", "nan"], "--max-ratio: expected float or null; got nan"),
        (["--generator", "gan", "--budget", "paper:3"], "'paper' takes no value"),
        (["--generator", "gan", "--gen-option", "z_dim=-3"], "generator 'gan' cannot be built at 16 px with z_dim=-3"),
        (["--on-bad-image", "ignore"], "--on-bad-image: expected one of error, skip; got ignore"),
    ],
)
def test_impossible_settings_are_named_before_any_work(
    tmp_path: Path, toy_dir: Path, capsys, extra: list[str], message: str
) -> None:
    run = tmp_path / "run"
    assert main(tiny_args(run, toy_dir, *extra)) == 2
    assert message in capsys.readouterr().err
    assert not run.exists()  # nothing was written


def test_a_moved_run_dir_or_a_relative_path_resumes(
    tmp_path: Path, toy_dir: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "a" / "run"
    assert main(gan_args(run, toy_dir)) == 0
    moved = tmp_path / "b" / "copy"
    shutil.copytree(run, moved)
    capsys.readouterr()
    assert main(gan_args(moved, toy_dir)) == 0
    out = capsys.readouterr().out
    assert "trained earlier" in out and out.count("finished earlier") == 3
    monkeypatch.chdir(tmp_path / "b")
    assert main(gan_args(Path(os.path.relpath(run, tmp_path / "b")), toy_dir)) == 0
    assert capsys.readouterr().out.count("finished earlier") == 3


def test_a_corrupt_generator_checkpoint_gives_a_named_error(tmp_path: Path, toy_dir: Path, capsys) -> None:
    run = tmp_path / "run"
    assert main(gan_args(run, toy_dir)) == 0
    last = run / "checkpoints" / "generator-gan" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:100])
    shutil.rmtree(run / "synthetic")  # so that the generator stage has to read its checkpoint
    assert main(gan_args(run, toy_dir)) == 2
    err = capsys.readouterr().err
    assert "last.ckpt' cannot be read safely" in err and "weights_only=False" not in err


def test_unreadable_images_stop_the_study_or_are_skipped(tmp_path: Path, toy_dir: Path, capsys) -> None:
    data = tmp_path / "data"
    shutil.copytree(toy_dir, data)
    victim = sorted(data.rglob("*.jpg"))[0]
    victim.write_bytes(b"not a jpeg")
    assert main(tiny_args(tmp_path / "strict", data)) == 2
    err = capsys.readouterr().err
    assert victim.name in err and "set --on-bad-image to 'skip'" in err
    with pytest.warns(UserWarning, match="skipped 1 unreadable image"):
        assert main(tiny_args(tmp_path / "lenient", data, "--on-bad-image", "skip")) == 0
