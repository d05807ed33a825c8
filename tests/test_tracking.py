"""W&B lineage of a generator study (offline): checkpoint and synthetic-set artifacts, a sample table, arm links."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from skinsynth.cli.fewshot import main
from skinsynth.tracking import artifact_name
from tests.test_fewshot_cli import tiny_args


def test_artifact_names_keep_to_wandb_characters() -> None:
    assert artifact_name("ham 50/x", 2, "real+gan") == "ham-50-x-seed2-real-gan"


def test_generator_study_logs_artifacts_a_sample_table_and_which_set_each_arm_used(
    tmp_path: Path, toy_dir: Path, monkeypatch
) -> None:
    for name in ("WANDB_API_KEY", "WANDB_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))  # offline artifact staging
    run = tmp_path / "run"
    args = tiny_args(run, toy_dir, "--generator", "gan", "--gen-epochs", "1", "--budget", "fixed:2")
    args[args.index("--logger") + 1] = "wandb"
    assert main(args) == 0
    files = {p.parent.name: p.read_bytes() for p in (run / "wandb").glob("offline-run-*/run-*.wandb")}
    assert len(files) == 5  # real, generator, evidence, real+gan, gan-only

    def runs_with(*needles: bytes) -> int:
        return sum(all(n in data for n in needles) for data in files.values())

    # the generator run logs its checkpoint; the evidence run logs the scored set and names that checkpoint
    assert runs_with(b"fewshot-seed0-gan-generator", b"model") >= 1
    assert runs_with(b"fewshot-seed0-gan", b"synthetic-data", b"manifest.csv") == 1
    # both generator arms record the set and its manifest's hash (the evidence stage wrote the final manifest)
    digest = hashlib.sha256((run / "synthetic" / "gan" / "manifest.csv").read_bytes()).hexdigest().encode()
    assert runs_with(b"synthetic_artifact", digest) == 2
    # a table of samples: every synthetic image (2 per class here) with its class and judge scores
    (table_file,) = (run / "wandb").glob("offline-run-*/files/media/table/samples_*.table.json")
    table = json.loads(table_file.read_text())
    assert table["columns"][:3] == ["image", "class", "seed"] and "confidence" in table["columns"]
    manifest = pd.read_csv(run / "synthetic" / "gan" / "manifest.csv")
    assert len(table["data"]) == len(manifest) == 14
    assert sorted(row[1] for row in table["data"]) == sorted(manifest["code"])
