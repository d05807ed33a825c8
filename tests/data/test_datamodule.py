from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from skinsynth.classes import HAM10000
from skinsynth.data import SkinLesionDataModule
from skinsynth.data.training_set import class_balanced_sampler
from skinsynth.errors import ConfigError, DataError
from tests.data.test_synthetic import make_synthetic_dir

HAM_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ham10000"


def _dm(toy_dir: Path, **kwargs) -> SkinLesionDataModule:
    options = {"mode": "fewshot", "shots": 4, "image_size": 16, "batch_size": 8, "seed": 0} | kwargs
    return SkinLesionDataModule("ham10000", toy_dir, **options)


def test_fewshot_mode_batches_and_split(toy_dir: Path, tmp_path: Path) -> None:
    dm = _dm(toy_dir, run_dir=tmp_path)
    dm.setup("fit")
    assert (dm.class_counts("train") == 4).all()
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"image", "label", "is_synthetic", "index"}
    assert batch["image"].shape == (8, 3, 16, 16) and batch["image"].dtype == torch.float32
    assert batch["label"].dtype == torch.int64 and not batch["is_synthetic"].any()
    frame = pd.read_csv(tmp_path / "split.csv")
    assert len(frame) == len(dm.split.records) and set(frame["split"]) == {"train", "val", "test"}
    assert (frame.groupby("group")["split"].nunique() == 1).all()
    audit = dm.split.audit()
    assert audit.loc["val"].sum() == len(dm.datasets["val"]) and audit.loc["test"].sum() == len(dm.datasets["test"])


def test_pool_images_stay_out_of_training_val_and_test(toy_dir: Path) -> None:
    dm = _dm(toy_dir, pool_fraction=1.0, val_fraction=0.2, test_fraction=0.2)
    dm.setup("fit")
    pool = set(dm.pool_records.frame["image_id"])
    assert len(pool) > 0 and (dm.class_counts("train") == 4).all()
    for name in ("train", "val", "test"):
        assert pool.isdisjoint(dm.datasets[name].records.frame["image_id"]), name
    without = _dm(toy_dir)
    without.setup("fit")
    assert len(without.pool_records) == 0 and "pool" not in set(without.split.frame["split"])


def test_same_seed_same_batches(toy_dir: Path) -> None:
    a, b = _dm(toy_dir), _dm(toy_dir)
    a.setup()
    b.setup()
    batch_a, batch_b = next(iter(a.train_dataloader())), next(iter(b.train_dataloader()))
    assert torch.equal(batch_a["index"], batch_b["index"])
    assert torch.equal(batch_a["image"], batch_b["image"])


def test_unnormalized_images_are_in_unit_range(toy_dir: Path) -> None:
    dm = _dm(toy_dir, normalize=False, augment="none")
    dm.setup()
    images = next(iter(dm.val_dataloader()))["image"]
    assert images.min() >= 0 and images.max() <= 1 and images.std() > 0.01


def test_mixed_and_synthetic_modes_put_generated_images_in_train_only(toy_dir: Path, tmp_path: Path) -> None:
    synthetic = make_synthetic_dir(tmp_path / "gan", ["df"] * 5 + ["vasc"] * 3)
    mixed = _dm(toy_dir, mode="mixed", synthetic_dirs=[synthetic])
    mixed.setup()
    counts = mixed.class_counts("train")
    assert counts["df"] == 9 and counts["vasc"] == 7 and counts["mel"] == 4
    assert mixed.train_records.frame["is_synthetic"].sum() == 8
    for split in ("val", "test"):
        assert not mixed.datasets[split].records.frame["is_synthetic"].any()
    train = mixed.datasets["train"]
    flags = torch.stack([train[i]["is_synthetic"] for i in range(len(train))])
    assert int(flags.sum()) == 8
    assert next(iter(mixed.train_dataloader()))["is_synthetic"].dtype == torch.bool
    only = _dm(toy_dir, mode="synthetic", synthetic_dirs=[synthetic])
    only.setup()
    assert len(only.train_records) == 8 and only.train_records.frame["is_synthetic"].all()
    # val/test are the same real images whichever the mode
    assert only.split.frame.equals(mixed.split.frame)


def test_class_weights_and_balanced_sampling(toy_dir: Path) -> None:
    dm = SkinLesionDataModule("ham10000", toy_dir, mode="real", image_size=16, batch_size=16, balanced_sampling=True)
    dm.setup()
    counts = dm.class_counts("train").to_numpy(dtype=float)
    weights = np.asarray(dm.class_weights())
    assert np.allclose(weights * counts, counts.sum() / 7)  # inverse frequency, scikit-learn's "balanced"
    labels = torch.cat([b["label"] for _ in range(3) for b in dm.train_dataloader()])
    shares = torch.bincount(labels, minlength=7).float() / len(labels)
    assert counts.max() / counts.min() > 3  # the toy set is imbalanced ...
    assert shares.max() / shares.min() < 2  # ... the balanced sampler is not


def test_the_balanced_sampler_weights_each_image_by_one_over_its_class_count() -> None:
    sampler = class_balanced_sampler(np.array([0, 0, 0, 2]), num_classes=3, seed=0)
    assert torch.allclose(sampler.weights, torch.tensor([1 / 3, 1 / 3, 1 / 3, 1.0], dtype=torch.double))
    assert sampler.num_samples == 4 and sampler.replacement


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "fewshot", "shots": None}, "needs shots"),
        ({"mode": "real", "shots": 5}, "use mode='fewshot'"),
        ({"mode": "mixed"}, "needs synthetic_dirs"),
        ({"mode": "magic"}, "unknown mode 'magic'"),
        ({"augment": "extreme"}, "unknown augment"),
        ({"mode": "real", "shots": None, "pool_fraction": 1.0}, "an unlabeled pool needs a few-shot split"),
    ],
)
def test_bad_configuration(toy_dir: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _dm(toy_dir, **kwargs)


def test_missing_root_and_too_many_shots(toy_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        _dm(tmp_path / "nowhere").setup()
    with pytest.raises(DataError, match=r"class 'df' has \d+ image\(s\).*1000 shots"):
        _dm(toy_dir, shots=1000).setup()


def test_unreadable_image_is_named_or_skipped(toy_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "toy"
    shutil.copytree(toy_dir, copy)
    victim = sorted((copy / "images").glob("*.jpg"))[0]
    victim.write_bytes(victim.read_bytes()[:40])  # truncated JPEG
    dm = SkinLesionDataModule("ham10000", copy, mode="real", image_size=16, batch_size=512)
    dm.setup()
    with pytest.raises(DataError, match=f"cannot read image .*{victim.name}.*set `on_bad_image` to 'skip'"):
        for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
            list(loader)
    skipping = SkinLesionDataModule("ham10000", copy, mode="real", image_size=16, on_bad_image="skip")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable image\(s\)"):
        skipping.setup()
    assert victim.stem not in set(skipping.split.frame["image_id"])
    assert len(skipping.split.frame) == len(dm.split.frame) - 1


@pytest.mark.skipif(not HAM_DIR.is_dir(), reason="../shared/data/ham10000 is not available")
def test_real_ham10000_fifty_shot_split() -> None:
    dm = SkinLesionDataModule("ham10000", HAM_DIR, mode="fewshot", shots=50, image_size=32, seed=0)
    dm.setup("fit")
    audit = dm.split.audit()
    assert audit.loc["train"].sum() == 350 and (audit.loc["train"] == 50).all()
    assert list(audit.columns) == list(HAM10000.codes)
    frame = dm.split.frame
    train_lesions = set(frame.loc[frame["split"] == "train", "group"])
    other_lesions = set(frame.loc[frame["split"] != "train", "group"])
    assert not train_lesions & other_lesions
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (32, 3, 32, 32)


def test_a_given_split_is_used_as_it_is_and_never_redrawn(toy_dir: Path, tmp_path: Path) -> None:
    from skinsynth.data.splits import Split

    made = _dm(toy_dir, seed=0)
    made.setup("fit")
    path = made.split.to_csv(tmp_path / "split.csv")
    # seed 5 would draw other shots; the given split decides, and train is exactly its train rows
    dm = _dm(toy_dir, seed=5, split=Split.load(path, made.split.records))
    dm.setup("fit")
    assert dm.split.strategy == "stored"
    assert sorted(dm.train_records.frame["image_id"]) == sorted(made.train_records.frame["image_id"])
    assert len(dm.datasets["test"]) == len(made.split.records_for("test"))
    redrawn = _dm(toy_dir, seed=5)
    redrawn.setup("fit")
    assert sorted(redrawn.train_records.frame["image_id"]) != sorted(made.train_records.frame["image_id"])


def test_record_source_reads_and_splits_as_the_datamodule(toy_dir: Path) -> None:
    from skinsynth.data.record_source import RecordSource, readable_split

    source = RecordSource("ham10000", toy_dir, image_size=16)
    split = readable_split(source.read(), source.read_test(), on_bad_image="error", image_size=16, shots=3, seed=1)
    dm = SkinLesionDataModule("ham10000", toy_dir, mode="fewshot", shots=3, image_size=16, seed=1)
    dm.setup()
    assert split.frame.equals(dm.split.frame) and (split.audit().loc["train"] == 3).all()
    with pytest.raises(ConfigError, match="dataset 'ham10000' needs `data_dir`"):
        RecordSource("ham10000").read()
