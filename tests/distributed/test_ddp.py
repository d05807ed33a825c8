"""Real multi-process DDP on the CPU (gloo): 2 processes, compared with 1 process.

Most tests run ``worker.py`` as a subprocess (Lightning's launcher then starts the second rank); the study test
launches the CLI with ``torchrun`` and with two srun-like processes (SLURM variables, Lightning's
``SLURMEnvironment``). About two minutes on 2 cores; skip them locally with ``pytest -m "not distributed"`` (CI runs
them). A hung collective fails the test after ``TIMEOUT`` seconds and every process it started is killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.distributed

WORKER = Path(__file__).with_name("worker.py")
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300
LAUNCHER_VARIABLES = ("LOCAL_RANK", "RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID")


def child_env(**extra: str) -> dict[str, str]:
    """The test's environment for the children, without any launcher or SLURM variables of the parent."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARIABLES and not k.startswith("SLURM_")}
    return {**env, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "WANDB_SILENT": "true", **extra}


def run(commands: list[list[str]], envs: list[dict[str, str]], cwd: Path) -> list[subprocess.CompletedProcess]:
    """Start every command at once (each in its own session), wait for all; on timeout kill them and their children."""
    processes = [
        subprocess.Popen(c, env=e, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
        for c, e in zip(commands, envs, strict=True)
    ]  # fmt: skip
    results = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
            results.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    except subprocess.TimeoutExpired:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):  # Lightning's and torchrun's ranks share the session
                os.killpg(process.pid, signal.SIGKILL)
        errors = [p.communicate()[1][-2000:] for p in processes]
        pytest.fail(f"timed out after {TIMEOUT} s (a hung collective?):\n" + "\n---\n".join(errors))
    return results


def check(result: subprocess.CompletedProcess, what: str) -> str:
    assert result.returncode == 0, f"{what} failed:\n{result.stderr[-4000:]}"
    return result.stdout


def launch(task: str, out: Path, data: Path, devices: int) -> None:
    """Run a worker task on ``devices`` processes (Lightning's launcher starts the others)."""
    command = [sys.executable, str(WORKER), task, str(out), str(data), str(devices)]
    check(run([command], [child_env()], ROOT)[0], f"{task} on {devices} process(es)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_classifier_test_metrics_equal_one_process_and_training_keeps_ranks_in_sync(
    tmp_path: Path, toy_dir: Path
) -> None:
    launch("classifier", tmp_path / "one", toy_dir, 1)
    launch("classifier", tmp_path / "two", toy_dir, 2)
    one, two = read(tmp_path / "one" / "result.json"), read(tmp_path / "two" / "result.json")
    assert two["expected_test_images"] % 2 == 1  # so the distributed sampler pads: one rank scores an image twice
    # every test image scored exactly once although the distributed sampler pads the ranks with repeats
    assert two["index"] == sorted(set(two["index"])) and len(two["index"]) == two["expected_test_images"]
    assert two["index"] == one["index"]
    assert two["balanced_accuracy"] == pytest.approx(one["balanced_accuracy"], abs=1e-6)
    assert np.allclose(two["probs"], one["probs"], atol=1e-5)
    ranks = [read(tmp_path / "two" / f"rank{r}.json") for r in (0, 1)]
    assert [r["test_images"] for r in ranks] == [two["expected_test_images"]] * 2  # each rank holds every prediction
    # the logged test metrics (W&B, CSV) are those of the de-duplicated predictions too, on both ranks
    for rank in ranks:
        assert rank["logged"] == pytest.approx(two["metrics"], abs=1e-6)
    assert read(tmp_path / "two" / "fit0.json") == read(tmp_path / "two" / "fit1.json")  # DDP kept weights equal


def test_training_on_two_processes_equals_one_process_with_the_same_global_batch(tmp_path: Path, toy_dir: Path) -> None:
    """3 steps with batch 8 on 1 process against batch 4 per rank on 2 (same images per step; see the worker).

    Tolerance 1e-5 on the test probabilities: the only difference is the order of float additions (the all-reduce
    sums two half-batch gradients); measured 3e-8. Balanced accuracy and macro-F1 must then be equal.
    """
    launch("same_global_batch", tmp_path / "one", toy_dir, 1)
    launch("same_global_batch", tmp_path / "two", toy_dir, 2)
    one, two = read(tmp_path / "one" / "result.json"), read(tmp_path / "two" / "result.json")
    assert one["steps"] == two["steps"] == 3
    assert two["index"] == one["index"] == list(range(len(one["index"])))
    assert np.abs(np.array(two["probs"]) - np.array(one["probs"])).max() < 1e-5
    assert two["balanced_accuracy"] == pytest.approx(one["balanced_accuracy"], abs=1e-9)
    assert two["macro_f1"] == pytest.approx(one["macro_f1"], abs=1e-9)


@pytest.mark.parametrize("name", ["gan", "ddpm"])
def test_a_generator_epoch_under_ddp_keeps_ranks_in_sync_and_checkpoints_once(
    tmp_path: Path, toy_dir: Path, name: str
) -> None:
    launch(name, tmp_path, toy_dir, 2)
    rank0, rank1 = read(tmp_path / "rank0.json"), read(tmp_path / "rank1.json")
    assert rank0["digest"] == rank1["digest"] and rank0["global_step"] == rank1["global_step"] > 0
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["last.ckpt"]
    assert (tmp_path / "saves.rank0").read_text().split() == ["last.ckpt"]  # saved once, by rank 0
    assert not (tmp_path / "saves.rank1").exists()


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


def test_a_whole_study_under_torchrun_and_srun_on_two_processes(tmp_path: Path, toy_dir: Path) -> None:
    run_dir = tmp_path / "run"
    study = [
        "-m", "skinsynth", "fewshot", "--run-dir", str(run_dir), "--dataset", "ham10000", "--data-dir", str(toy_dir),
        "--shots", "4", "--image-size", "16", "--epochs", "1", "--batch-size", "8", "--logger", "none",
        "--no-progress-bar", "--accelerator", "cpu", "--devices", "2", "--generator", "gan", "--gen-epochs", "1",
        "--budget", "fixed:2",
    ]  # fmt: skip
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *study]

    def under_torchrun() -> str:
        return check(run([torchrun], [child_env()], tmp_path)[0], "the study under torchrun")

    def under_srun() -> str:
        """Two tasks started at once with the variables srun gives them (one node, 2 tasks); Lightning's
        SLURMEnvironment reads them, and the study joins the process group before its first stage."""
        slurm = {"SLURM_NTASKS": "2", "SLURM_NTASKS_PER_NODE": "2", "SLURM_NNODES": "1", "SLURM_NODEID": "0",
                 "SLURM_JOB_NAME": "skinsynth-test", "SLURM_JOB_ID": "4242", "SLURM_NODELIST": "localhost",
                 "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())}  # fmt: skip
        envs = [child_env(**slurm, SLURM_PROCID=str(r), SLURM_LOCALID=str(r)) for r in (0, 1)]
        results = run([[sys.executable, *study]] * 2, envs, tmp_path)
        outputs = [check(r, f"the study as srun task {i}") for i, r in enumerate(results)]
        return outputs[0]

    under_torchrun()
    metrics = read(run_dir / "metrics.json")
    assert list(metrics["arms"]) == ["real", "real+gan", "gan-only"]
    manifest = pd.read_csv(run_dir / "synthetic" / "gan" / "manifest.csv")
    assert manifest["code"].value_counts().to_dict() == dict.fromkeys(
        ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"], 2
    )
    split = pd.read_csv(run_dir / "split.csv")
    predictions = pd.read_csv(run_dir / "arms" / "real" / "predictions.csv")
    assert sorted(predictions["image_id"]) == sorted(split.loc[split["split"] == "test", "image_id"])

    # resumed under srun: rank 0 makes a deleted image again while rank 1 waits, then both retrain a generator arm
    # that reads the completed set
    deleted = run_dir / "synthetic" / "gan" / "akiec" / "akiec_00001.png"
    deleted.unlink()
    (run_dir / "arms" / "real+gan" / "metrics.json").unlink()
    stdout = under_srun()
    assert "trained earlier" in stdout and "arm 'real+gan': training" in stdout
    assert deleted.is_file() and len(pd.read_csv(run_dir / "synthetic" / "gan" / "manifest.csv")) == 14
    assert (run_dir / "arms" / "real+gan" / "metrics.json").is_file()
    predictions = pd.read_csv(run_dir / "arms" / "real+gan" / "predictions.csv")
    assert sorted(predictions["image_id"]) == sorted(split.loc[split["split"] == "test", "image_id"])

    # and resumed under torchrun
    deleted = run_dir / "synthetic" / "gan" / "bcc" / "bcc_00000.png"
    deleted.unlink()
    stdout = under_torchrun()
    assert "trained earlier" in stdout and stdout.count("finished earlier") >= 3
    assert deleted.is_file() and len(pd.read_csv(run_dir / "synthetic" / "gan" / "manifest.csv")) == 14
