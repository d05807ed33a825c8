"""Real multi-process DDP on the CPU (gloo): 2 processes launched by Lightning, compared with 1 process.

Each test runs ``worker.py`` as a subprocess (Lightning's launcher then starts the second rank). They take about a
minute in all; skip them locally with ``pytest -m "not distributed"`` (CI runs them).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.distributed

WORKER = Path(__file__).with_name("worker.py")
ROOT = Path(__file__).resolve().parents[2]


def launch(task: str, out: Path, data: Path, devices: int) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "WANDB_SILENT": "true"}
    env.pop("LOCAL_RANK", None)
    result = subprocess.run(
        [sys.executable, str(WORKER), task, str(out), str(data), str(devices)],
        capture_output=True, text=True, env=env, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, f"{task} on {devices} process(es) failed:\n{result.stderr[-4000:]}"


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_classifier_test_metrics_equal_one_process_and_training_keeps_ranks_in_sync(
    tmp_path: Path, toy_dir: Path
) -> None:
    launch("classifier", tmp_path / "one", toy_dir, 1)
    launch("classifier", tmp_path / "two", toy_dir, 2)
    one, two = read(tmp_path / "one" / "result.json"), read(tmp_path / "two" / "result.json")
    # every test image scored exactly once although the distributed sampler pads the ranks with repeats
    assert two["index"] == sorted(set(two["index"])) and len(two["index"]) == two["expected_test_images"]
    assert two["index"] == one["index"]
    assert two["balanced_accuracy"] == pytest.approx(one["balanced_accuracy"], abs=1e-6)
    assert np.allclose(two["probs"], one["probs"], atol=1e-5)
    ranks = [read(tmp_path / "two" / f"rank{r}.json")["test_images"] for r in (0, 1)]
    assert ranks == [two["expected_test_images"]] * 2  # after gathering, each rank holds every prediction once
    assert read(tmp_path / "two" / "fit0.json") == read(tmp_path / "two" / "fit1.json")  # DDP kept weights equal


@pytest.mark.parametrize("name", ["gan", "ddpm"])
def test_a_generator_epoch_under_ddp_keeps_ranks_in_sync_and_checkpoints_once(
    tmp_path: Path, toy_dir: Path, name: str
) -> None:
    launch(name, tmp_path, toy_dir, 2)
    rank0, rank1 = read(tmp_path / "rank0.json"), read(tmp_path / "rank1.json")
    assert rank0["digest"] == rank1["digest"] and rank0["global_step"] == rank1["global_step"] > 0
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["last.ckpt"]


def test_sharded_materialization_equals_one_process_with_one_manifest_and_one_wandb_run(
    tmp_path: Path, toy_dir: Path
) -> None:
    launch("materialize", tmp_path / "one", toy_dir, 1)
    launch("materialize", tmp_path / "two", toy_dir, 2)

    def pngs(folder: Path) -> dict[str, str]:
        return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.png")}

    one, two = tmp_path / "one" / "synthetic", tmp_path / "two" / "synthetic"
    assert pngs(two) == pngs(one) and len(pngs(two)) == 12
    manifest = pd.read_csv(two / "manifest.csv")
    assert manifest["code"].value_counts().to_dict() == {"df": 5, "vasc": 4, "mel": 3}
    assert manifest.equals(pd.read_csv(one / "manifest.csv"))
    assert not list(two.glob("manifest.part*.csv"))  # rank 0 merged the parts and removed them
    runs = [p for p in (tmp_path / "two" / "wandb").iterdir() if p.name.startswith("offline-run-")]
    assert len(runs) == 1  # the logger wrote from rank 0 only


def test_a_whole_study_under_torchrun_on_two_processes(tmp_path: Path, toy_dir: Path) -> None:
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "skinsynth",
        "fewshot", "--run-dir", str(run), "--dataset", "ham10000", "--data-dir", str(toy_dir), "--shots", "4",
        "--image-size", "16", "--epochs", "1", "--batch-size", "8", "--logger", "none", "--no-progress-bar",
        "--accelerator", "cpu", "--devices", "2", "--generator", "gan", "--gen-epochs", "1", "--budget", "fixed:2",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    metrics = read(run / "metrics.json")
    assert list(metrics["arms"]) == ["real", "real+gan", "gan-only"]
    manifest = pd.read_csv(run / "synthetic" / "gan" / "manifest.csv")
    assert manifest["code"].value_counts().to_dict() == dict.fromkeys(
        ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"], 2
    )
    split = pd.read_csv(run / "split.csv")
    predictions = pd.read_csv(run / "arms" / "real" / "predictions.csv")
    assert sorted(predictions["image_id"]) == sorted(split.loc[split["split"] == "test", "image_id"])
    (run / "synthetic" / "gan" / "akiec" / "akiec_00001.png").unlink()  # the resumed run must make it again
    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-4000:]
    assert "trained earlier" in again.stdout and again.stdout.count("finished earlier") >= 3
    assert len(pd.read_csv(run / "synthetic" / "gan" / "manifest.csv")) == 14
    assert (run / "synthetic" / "gan" / "akiec" / "akiec_00001.png").is_file()
