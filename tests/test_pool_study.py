"""The semi-supervised protocol in a study: SimCLR and generator pretraining on the unlabeled pool, labels hidden."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from skinsynth.cli.fewshot import main
from skinsynth.data.datamodule import SkinLesionDataModule
from skinsynth.data.dataset import HIDDEN_LABEL
from skinsynth.data.sources import read_source
from tests.test_fewshot_cli import tiny_args


def pool_args(run: Path, toy_dir: Path, *extra: str) -> list[str]:
    return tiny_args(run, toy_dir, "--unlabeled-pool", "all", "--gen-epochs", "1", "--budget", "fixed:2",
                     "--ssl-epochs", "1", "--ssl-batch-size", "16", *extra)  # fmt: skip


def test_unlabeled_mode_trains_on_the_few_shot_images_and_the_pool_with_labels_hidden(toy_dir: Path) -> None:
    records = read_source("ham10000", toy_dir)
    dm = SkinLesionDataModule(records=records, mode="unlabeled", shots=4, pool_fraction=1.0, image_size=16, seed=0)
    dm.setup("fit")
    train = set(dm.train_records.frame["image_id"])
    assert train == set(dm.split.records_for("train").frame["image_id"]) | set(dm.pool_records.frame["image_id"])
    held_out = {i for s in ("val", "test") for i in dm.split.records_for(s).frame["image_id"]}
    assert held_out and not train & held_out
    assert {int(b["label"].unique().item()) for b in dm.train_dataloader()} == {HIDDEN_LABEL}


def test_pool_pretrained_generator_and_ssl_arms(tmp_path: Path, toy_dir: Path, capsys) -> None:
    run = tmp_path / "run"
    args = pool_args(run, toy_dir, "--baselines", "real,ssl", "--generator", "gan", "--pretrain-epochs", "1")
    assert main(args) == 0
    arms = json.loads((run / "metrics.json").read_text())["arms"]
    assert list(arms) == ["real", "ssl", "real+gan-pool", "ssl+gan-pool", "gan-pool-only"]
    # the generator pretrained on the pool and the few-shot images only (never val/test), then fine-tuned from it
    split = pd.read_csv(run / "split.csv")
    pretraining = json.loads((run / "checkpoints" / "pretrain-gan" / "pretraining.json").read_text())
    assert set(pretraining["images"]) == set(split.loc[split["split"].isin(["train", "pool"]), "image_id"])
    tuned = torch.load(run / "checkpoints" / "generator-gan-pool" / "last.ckpt", map_location="cpu", weights_only=True)
    assert tuned["hyper_parameters"]["init_checkpoint"].endswith("pretrain-gan/last.ckpt")
    assert not tuned["hyper_parameters"]["unconditional"]
    assert len(pd.read_csv(run / "synthetic" / "gan-pool" / "manifest.csv")) == 14
    # the ssl arms start from the SimCLR backbone
    backbone = run / "checkpoints" / "ssl" / "backbone.safetensors"
    for arm in ("ssl", "ssl+gan-pool"):
        saved = torch.load(run / "checkpoints" / arm / "best.ckpt", map_location="cpu", weights_only=True)
        assert saved["hyper_parameters"]["weights_path"] == str(backbone)
    real = torch.load(run / "checkpoints" / "real" / "best.ckpt", map_location="cpu", weights_only=True)
    assert real["hyper_parameters"]["weights_path"] is None
    # the pretrained checkpoint is reusable by a study of the same split, and a plain GAN shares the run directory
    reuse = pool_args(run, toy_dir, "--generator", "gan", "--pretrained-generator",
                      str(run / "checkpoints" / "pretrain-gan" / "last.ckpt"))  # fmt: skip
    assert main(reuse) == 0
    assert main(pool_args(run, toy_dir, "--generator", "gan")) == 0
    arms = json.loads((run / "metrics.json").read_text())["arms"]
    assert {"real+gan-pretrained", "real+gan", "real+gan-pool"} <= set(arms)
    # another file is another starting point: it does not continue (or reuse) the gan-pretrained generator
    another = tmp_path / "another.ckpt"
    another.write_bytes((run / "checkpoints" / "generator-gan" / "last.ckpt").read_bytes())
    capsys.readouterr()
    assert main(pool_args(run, toy_dir, "--generator", "gan", "--pretrained-generator", str(another))) == 2
    assert "was fine-tuned from another checkpoint" in capsys.readouterr().err
    # another seed's split holds some of those images in val/test: refused, naming them
    other = pool_args(tmp_path / "other", toy_dir, "--generator", "gan", "--seed", "1", "--pretrained-generator",
                      str(run / "checkpoints" / "pretrain-gan" / "last.ckpt"))  # fmt: skip
    capsys.readouterr()
    assert main(other) == 2
    assert "in this study's val or test split" in capsys.readouterr().err


def test_ddpm_pretrains_in_full_and_fine_tunes_lora_adapters(tmp_path: Path, toy_dir: Path) -> None:
    run = tmp_path / "run"
    ddpm = ["--generator", "ddpm", "--pretrain-epochs", "1", "--gen-option", "preset=tiny", "--gen-option",
            "sampling_steps=2", "--gen-option", "finetune=lora", "--gen-option", "class_embedding_lr=0.01"]  # fmt: skip
    assert main(pool_args(run, toy_dir, *ddpm)) == 0
    pretrained = torch.load(run / "checkpoints" / "pretrain-ddpm" / "last.ckpt", map_location="cpu", weights_only=True)
    hp = pretrained["hyper_parameters"]
    assert hp["unconditional"] and hp["finetune"] == "full" and hp["class_embedding_lr"] is None
    tuned = torch.load(run / "checkpoints" / "generator-ddpm-pool" / "last.ckpt", map_location="cpu", weights_only=True)
    assert tuned["hyper_parameters"]["finetune"] == "lora" and any("lora_" in k for k in tuned["state_dict"])
    assert tuned["hyper_parameters"]["class_embedding_lr"] == 0.01
    assert "real+ddpm-pool" in json.loads((run / "metrics.json").read_text())["arms"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--baselines", "real,ssl"], "unlabeled pool"),
        (["--generator", "cvae", "--pretrain-epochs", "1", "--unlabeled-pool", "all"], "no unconditional pretraining"),
        (["--generator", "gan", "--pretrained-generator", "missing.ckpt"], "is not a file"),
        (["--generator", "gan", "--gen-epochs", "0"], "samples a trained generator as it is"),
        (["--generator", "gan-per-class", "--pretrain-epochs", "1", "--unlabeled-pool", "all"], "one pair per class"),
    ],
)
def test_pool_options_are_checked_before_any_work(tmp_path: Path, toy_dir: Path, capsys, extra, message) -> None:
    assert main(tiny_args(tmp_path / "run", toy_dir, *extra)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_trained_ddpm_is_sampled_as_it_is_with_its_sampling_options_changed(tmp_path: Path, toy_dir: Path,
                                                                              capsys) -> None:  # fmt: skip
    from skinsynth.data.images import ImageReader

    ddpm = ["--generator", "ddpm", "--gen-option", "preset=tiny", "--gen-option", "sampling_steps=2",
            "--no-synthetic-only-arm"]  # fmt: skip
    first = tmp_path / "first"
    assert main(pool_args(first, toy_dir, *ddpm)) == 0
    trained = first / "checkpoints" / "generator-ddpm" / "last.ckpt"
    as_is = [*ddpm, "--pretrained-generator", str(trained), "--gen-epochs", "0"]

    def images(run: Path, name: str) -> list:
        folder = run / "synthetic" / name
        manifest = pd.read_csv(folder / "manifest.csv").sort_values(["code", "seed"])
        return [ImageReader().read(str(folder / f)) for f in manifest["path"]]

    # the trained guidance scale: nothing is trained, and the same per-image seeds give the trained run's images
    same = tmp_path / "same"
    assert main(pool_args(same, toy_dir, *as_is)) == 0
    assert not (same / "checkpoints" / "generator-ddpm-pretrained" / "last.ckpt").exists()
    assert all((a == b).all() for a, b in zip(images(first, "ddpm"), images(same, "ddpm-pretrained"), strict=True))
    # another guidance scale samples the same model otherwise, and is recorded with the set
    guided = tmp_path / "guided"
    assert main(pool_args(guided, toy_dir, *as_is, "--gen-option", "guidance_scale=4")) == 0
    record = json.loads((guided / "checkpoints" / "generator-ddpm-pretrained" / "as_is.json").read_text())
    assert record["sampling"] == {"sampling_steps": 2, "guidance_scale": 4}
    new = images(guided, "ddpm-pretrained")
    assert len(new) == 14 and any((a != b).any() for a, b in zip(images(same, "ddpm-pretrained"), new, strict=True))
    assert "real+ddpm-pretrained" in json.loads((guided / "metrics.json").read_text())["arms"]
    # the set is not completed with other sampling options; a training option cannot change at all
    capsys.readouterr()
    assert main(pool_args(guided, toy_dir, *as_is, "--gen-option", "guidance_scale=5")) == 2
    assert "with sampling options" in capsys.readouterr().err
    assert main(pool_args(tmp_path / "lr", toy_dir, *as_is, "--gen-option", "lr=0.1")) == 2
    assert "trained with other settings (lr:" in capsys.readouterr().err


def test_a_pool_pretraining_cannot_be_sampled_as_it_is(tmp_path: Path, toy_dir: Path, capsys) -> None:
    ddpm = ["--generator", "ddpm", "--gen-option", "preset=tiny", "--gen-option", "sampling_steps=2"]
    run = tmp_path / "run"
    assert main(pool_args(run, toy_dir, *ddpm, "--pretrain-epochs", "1", "--baselines", "real")) == 0
    pretrained = run / "checkpoints" / "pretrain-ddpm" / "last.ckpt"
    capsys.readouterr()
    assert main(pool_args(tmp_path / "as_is", toy_dir, *ddpm, "--pretrained-generator", str(pretrained),
                          "--gen-epochs", "0")) == 2  # fmt: skip
    assert "knows no classes" in capsys.readouterr().err
