"""Materialization: exact budgets, manifests, determinism, crash-safe resume, refusal to mix, rank sharding."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest
import torch

from skinsynth.callbacks.synthetic_dataset import STATE_FILE, materialize, plan_images, sample_seed
from skinsynth.classes import HAM10000
from skinsynth.data import SkinLesionDataModule
from skinsynth.data.synthetic import MANIFEST, SyntheticDataset
from skinsynth.errors import DataError

CODES = list(HAM10000.codes)
BUDGET = {"df": 5, "mel": 3, "vasc": 4}


class NoiseGenerator:
    """A stand-in generator: per-sample noise images (brightness by class); optionally fails after some calls."""

    def __init__(self, size: int = 8, fail_after: int | None = None) -> None:
        self.size, self.fail_after, self.calls = size, fail_after, 0

    def sample(self, labels: torch.Tensor, generator=None) -> torch.Tensor:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise RuntimeError("simulated crash")
        self.calls += 1
        noise = torch.stack([torch.rand(3, self.size, self.size, generator=g) for g in generator])
        return (noise * 0.5 + labels.view(-1, 1, 1, 1) / 14).clamp(0, 1)


def run(folder: Path, model: NoiseGenerator | None = None, **kwargs) -> Path:
    options = {"generator_name": "noise", "class_codes": CODES, "study_seed": 3, "batch_size": 2, "image_size": 8}
    return materialize(model or NoiseGenerator(), kwargs.pop("budget", BUDGET), folder, **(options | kwargs))


def images(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.glob("*/*.png"))}


def test_budget_is_written_exactly_with_a_manifest(tmp_path: Path) -> None:
    manifest = pd.read_csv(run(tmp_path / "s"))
    assert manifest["code"].value_counts().to_dict() == BUDGET
    assert list(manifest.columns) == ["path", "label", "code", "generator", "checkpoint", "seed", "index"]
    assert len(images(tmp_path / "s")) == 12 and not list((tmp_path / "s").rglob("*.tmp"))
    assert manifest.loc[0, "seed"] == sample_seed(3, HAM10000.index("df"), 0)
    assert (tmp_path / "s" / STATE_FILE).is_file()


def test_images_do_not_depend_on_batch_size(tmp_path: Path) -> None:
    run(tmp_path / "a", batch_size=1)
    run(tmp_path / "b", batch_size=5)
    assert images(tmp_path / "a") == images(tmp_path / "b")
    assert sample_seed(0, 1, 2) == sample_seed(0, 1, 2) != sample_seed(0, 2, 1)


def test_interrupted_materialization_resumes_to_the_exact_budget(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(folder, NoiseGenerator(fail_after=3))
    assert not (folder / MANIFEST).exists()  # no manifest until every image exists
    assert 0 < len(images(folder)) < 12 and not list(folder.rglob("*.tmp"))
    resumed = NoiseGenerator()
    run(folder, resumed)
    assert resumed.calls == 3  # only the missing images were generated (6 of 12, batch of 2)
    run(tmp_path / "clean")
    assert images(folder) == images(tmp_path / "clean")
    manifest = pd.read_csv(folder / MANIFEST)
    assert len(manifest) == 12 and not manifest["path"].duplicated().any()
    again = NoiseGenerator()
    run(folder, again)
    assert again.calls == 0  # complete: nothing to do


def test_manifest_round_trips_into_the_datamodule(tmp_path: Path, toy_dir: Path) -> None:
    folder = tmp_path / "s"
    run(folder)
    dataset = SyntheticDataset(folder, HAM10000)
    assert dataset.generators == ["noise"] and len(dataset) == 12
    dm = SkinLesionDataModule("ham10000", toy_dir, mode="mixed", shots=4, image_size=8, synthetic_dirs=[folder])
    dm.setup()
    counts = dm.class_counts("train")
    assert counts["df"] == 9 and counts["vasc"] == 8 and counts["nv"] == 4
    assert not dm.datasets["test"].records.frame["is_synthetic"].any()


def test_refuses_to_mix_generators_or_settings(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    run(folder)
    with pytest.raises(DataError, match=r"manifest from generator\(s\) \['noise'\], not 'gan'.*refusing to mix"):
        run(folder, generator_name="gan")
    with pytest.raises(DataError, match="other settings .*seed: 3 → 4"):
        run(folder, study_seed=4)
    with pytest.raises(DataError, match="other settings .*budget"):
        run(folder, budget={"df": 6})


def test_bad_budgets_and_wrong_image_size(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"class\(es\) \['xyz'\]"):
        plan_images({"xyz": 2}, CODES, 0)
    with pytest.raises(DataError, match="negative"):
        plan_images({"df": -1}, CODES, 0)
    with pytest.raises(RuntimeError, match="the study uses 16 px"):
        run(tmp_path / "s", image_size=16)


def test_two_ranks_shard_the_work_and_rank_zero_merges(tmp_path: Path) -> None:
    folder = tmp_path / "ddp"
    barrier = threading.Barrier(2, timeout=30)
    models = [NoiseGenerator(), NoiseGenerator()]
    errors: list[BaseException] = []

    def rank(r: int) -> None:
        try:
            run(folder, models[r], rank=r, world_size=2, barrier=barrier.wait)
        except BaseException as error:  # surfaced below
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=rank, args=(r,)) for r in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert models[0].calls == 3 and models[1].calls == 3  # 6 images each, batch of 2
    manifest = pd.read_csv(folder / MANIFEST)
    assert manifest["code"].value_counts().to_dict() == BUDGET and not list(folder.glob("manifest.part*"))
    run(tmp_path / "single")
    assert images(folder) == images(tmp_path / "single")  # the same images as one process makes


def test_progress_bar_counts_the_images_it_generates(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run(tmp_path / "quiet")
    assert "materializing" not in capsys.readouterr().err
    run(tmp_path / "loud", progress=True)
    err = capsys.readouterr().err
    assert "materializing noise" in err and "12/12" in err


def test_a_deleted_image_of_a_finished_set_is_made_again_identically(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    run(folder)
    original = images(folder)
    victim = folder / "mel" / "mel_00001.png"
    victim.unlink()
    manifest = pd.read_csv(run(folder))  # resumes: makes exactly the missing image
    assert images(folder) == original and len(manifest) == 12
    assert SyntheticDataset(folder, HAM10000).records.frame["path"].map(lambda p: Path(p).is_file()).all()
