"""The study end to end through the CLI, on tiny toy data (16 px, 1 epoch)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from skinsynth.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))

import fewshot  # noqa: E402


def tiny_args(run_dir: Path, toy_dir: Path, *extra: str) -> list[str]:
    return [
        "--run-dir", str(run_dir), "--dataset", "ham10000", "--data-dir", str(toy_dir), "--shots", "4",
        "--image-size", "16", "--epochs", "1", "--batch-size", "8", "--logger", "none", "--no-progress-bar",
        *extra,
    ]  # fmt: skip


def test_study_writes_every_output_and_resumes(tmp_path: Path, toy_dir: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    assert fewshot.main(tiny_args(run, toy_dir, "--baselines", "real,weighted,focal")) == 0
    for name in ("config.yaml", "split.csv", "metrics.json", "report.md", "per_class_f1.png", "train_grid.png"):
        assert (run / name).is_file(), name
    for arm in ("real", "weighted", "focal"):
        assert (run / f"confusion_{arm}.png").is_file()
        assert (run / "checkpoints" / arm / "best.ckpt").is_file()
    metrics = json.loads((run / "metrics.json").read_text())
    assert list(metrics["arms"]) == ["real", "weighted", "focal"]
    real = metrics["arms"]["real"]
    assert 0 <= real["balanced_accuracy"] <= 1 and set(real["f1"]) == {"akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"}
    split = pd.read_csv(run / "split.csv")
    test_ids = set(split.loc[split["split"] == "test", "image_id"])
    predictions = pd.read_csv(run / "arms" / "real" / "predictions.csv")
    assert set(predictions["image_id"]) == test_ids and len(predictions) == len(test_ids)
    probabilities = predictions[[c for c in predictions.columns if c.startswith("p_")]]
    assert ((probabilities.sum(axis=1) - 1).abs() < 1e-4).all()
    assert sum(real["support"].values()) == len(test_ids)
    report = (run / "report.md").read_text()
    assert "| real | " in report and "| weighted | " in report and "Per-class F1" in report
    assert yaml.safe_load((run / "config.yaml").read_text())["data"]["shots"] == 4  # saved by section

    stamp = (run / "arms" / "real" / "metrics.json").stat().st_mtime_ns
    capsys.readouterr()
    assert fewshot.main(tiny_args(run, toy_dir, "--baselines", "real,weighted,focal")) == 0
    assert "finished earlier" in capsys.readouterr().out
    assert (run / "arms" / "real" / "metrics.json").stat().st_mtime_ns == stamp


def test_default_toy_dataset_is_generated_into_the_one_toy_folder(tmp_path: Path, toy_cache: Path) -> None:
    from skinsynth.data.datamodule import SkinLesionDataModule
    from skinsynth.data.sources.toy import default_toy_dir

    args = ["--run-dir", str(tmp_path), "--toy-total", "84", "--toy-min-per-class", "8", "--shots", "3",
            "--image-size", "16", "--epochs", "1", "--logger", "csv", "--no-progress-bar"]  # fmt: skip
    assert fewshot.main(args) == 0
    folder = default_toy_dir(16, total=84, min_per_class=8)
    assert folder.parent == toy_cache and (folder / "HAM10000_metadata.csv").is_file()
    assert not (tmp_path / "data").exists()  # the run directory holds results, not the data
    dm = SkinLesionDataModule(image_size=16, shots=3, toy_options={"total": 84, "min_per_class": 8})
    assert dm.source.toy_dir() == folder  # the datamodule's default is the same folder
    assert (tmp_path / "logs" / "real" / "metrics.csv").is_file()
    assert json.loads((tmp_path / "metrics.json").read_text())["arms"]["real"]["train_images"] == 21


def test_epoch_budget_trains_each_arm_for_whole_passes(tmp_path: Path, toy_dir: Path) -> None:
    args = tiny_args(tmp_path, toy_dir, "--generator", "cvae", "--gen-epochs", "1", "--budget", "fixed:3",
                     "--train-budget", "epochs", "--epochs", "2")  # fmt: skip
    assert fewshot.main(args) == 0
    arms = json.loads((tmp_path / "metrics.json").read_text())["arms"]
    steps = {name: arm["train_steps"] for name, arm in arms.items()}
    assert steps == {"real": 2 * (28 // 8), "real+cvae": 2 * (49 // 8), "cvae-only": 2 * (21 // 8)}


def test_config_file_and_flag_precedence(tmp_path: Path, toy_dir: Path) -> None:
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump({"shots": 2, "epochs": 3, "image-size": 16, "backbone": "efficientnet_b0"}))
    resolved = fewshot.resolve_config(["--epochs", "1", "--config", str(config)])  # flags win wherever they stand
    assert (resolved.data.shots, resolved.classifier.epochs, resolved.data.image_size) == (2, 1, 16)
    assert resolved.classifier.backbone == "efficientnet_b0"  # a flat file of an earlier version, moved to sections
    nested = tmp_path / "nested.yaml"
    nested.write_text(yaml.safe_dump({"data": {"shots": 3}, "generator": {"name": "gan", "init_args": {"lr": 5e-4}}}))
    resolved = fewshot.resolve_config(["--config", str(nested), "--data.image_size", "24", "--gen-option", "ngf=8"])
    assert (resolved.data.shots, resolved.data.image_size, resolved.generator.name) == (3, 24, "gan")
    assert resolved.generator.init_args == {"lr": 5e-4, "ngf": 8}  # --gen-option is merged over the file's
    assert fewshot.resolve_config(["--shots", "all"]).data.shots is None
    assert fewshot.resolve_config(["--data.unlabeled_pool", "all"]).data.unlabeled_pool == 1.0
    assert fewshot.resolve_config(["--no-progress-bar", "--pretrained"]).trainer.progress_bar is False
    bad = tmp_path / "bad.yaml"
    bad.write_text("shots: 2\nshotz: 3\n")
    assert fewshot.main(["--config", str(bad)]) == 2
    bad.write_text(yaml.safe_dump({"data": {"image_sise": 3}}))
    with pytest.raises(ConfigError, match="unknown key 'data.image_sise' \\(did you mean 'data.image_size'\\?\\)"):
        fewshot.resolve_config(["--config", str(bad)])


def test_print_config_writes_the_resolved_sections(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        fewshot.resolve_config(["--shots", "7", "--generator", "gan", "--print_config"])
    assert exit_info.value.code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert list(printed) == ["data", "classifier", "generator", "trainer", "study"]
    assert printed["data"]["shots"] == 7 and printed["generator"]["name"] == "gan"
    assert printed["classifier"]["epochs"] == 40  # every default, so the printout can be saved and edited
    saved = tmp_path / "study.yaml"
    saved.write_text(yaml.safe_dump(printed))
    assert fewshot.resolve_config(["--config", str(saved)]) == fewshot.resolve_config(
        ["--shots", "7", "--generator", "gan"]
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--baselines", "real,magic"], "--baselines: expected one of real, oversample"),
        (["--backbone", "resnet81"], "Did you mean"),
        (["--shots", "500"], "has 16 image(s) in 12 group(s); 500 shots per class"),
        (["--weights-path", "/nonexistent/w.pth"], "is not a file"),
        (["--dataset", "isic2019"], "No such"),
    ],
)
def test_bad_input_gets_a_clear_error(tmp_path: Path, toy_dir: Path, capsys, extra: list[str], message: str) -> None:
    args = tiny_args(tmp_path / "run", toy_dir, *extra)
    if extra[0] == "--dataset":
        args[args.index("--data-dir") + 1] = str(tmp_path / "No such")
    assert fewshot.main(args) == 2
    assert message in capsys.readouterr().err


def test_unwritable_run_dir_and_changed_settings(tmp_path: Path, toy_dir: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert fewshot.main(tiny_args(blocker / "run", toy_dir)) == 2
    assert "cannot write to run directory" in capsys.readouterr().err
    run = tmp_path / "run"
    (run).mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump({"shots": 9, "image_size": 16}))  # an earlier version's, flat
    assert fewshot.main(tiny_args(run, toy_dir)) == 2
    assert "data.shots: 9 → 4" in capsys.readouterr().err
    (run / "config.yaml").write_text(yaml.safe_dump({"data": {"shots": 4, "image_size": 24}}))
    assert fewshot.main(tiny_args(run, toy_dir)) == 2
    assert "data.image_size: 24 → 16" in capsys.readouterr().err


def test_unknown_generator_lists_choices(capsys) -> None:
    with pytest.raises(ConfigError, match="`generator.name`: expected one of none, cvae, gan, .*; got vqgan"):
        fewshot.resolve_config(["--generator", "vqgan"])
    assert fewshot.main(["--generator", "vqgan"]) == 2
    assert "--generator: expected one of none, cvae, gan" in capsys.readouterr().err  # in the command's flags


def test_pretrained_without_network_names_the_offline_options(
    tmp_path: Path, toy_dir: Path, monkeypatch, capsys
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # never reach the network
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    assert fewshot.main(tiny_args(tmp_path / "run", toy_dir, "--pretrained")) == 2
    err = capsys.readouterr().err
    assert "could not load pretrained weights for 'resnet18'" in err and "--weights-path" in err


def test_wandb_offline_run_files_and_media(tmp_path: Path, toy_dir: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    run = tmp_path / "run"
    args = tiny_args(run, toy_dir, "--baselines", "real,oversample")
    args[args.index("--logger") + 1] = "wandb"
    import skinsynth.tracking

    summaries: list[dict] = []
    real_set_summary = skinsynth.tracking.set_summary

    def spy(logger, values: dict) -> None:
        real_set_summary(logger, values)
        summaries.append(dict(logger.experiment.summary))  # read back from the live W&B run

    monkeypatch.setattr(skinsynth.tracking, "set_summary", spy)
    assert fewshot.main(args) == 0
    out = capsys.readouterr().out
    assert out.count("logging offline") == 1  # said once per study, not per arm
    runs = sorted((run / "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and all(list(r.glob("run-*.wandb")) for r in runs)
    for r in runs:
        media = {p.name.split("_")[0] for p in (r / "files" / "media").rglob("*") if p.is_file()}
        assert {"confusion", "train", "per"} <= media
    # the summary holds the selected checkpoint's validation score, not the last epoch's
    arms = json.loads((run / "metrics.json").read_text())["arms"]
    best = sorted(a["best_val_balanced_accuracy"] for a in arms.values())
    assert sorted(s["val_balanced_accuracy"] for s in summaries) == pytest.approx(best)


def test_wrapper_help_lists_the_options() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / "fewshot.py"), "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--generator" in result.stdout and "skinsynth fewshot" in result.stdout


GENERATOR_ARGS = {
    "gan": [],
    "cvae": [],
    "ddpm": ["--gen-option", "preset=tiny", "--gen-option", "sampling_steps=2"],
    "ldm-lora": ["--pretrained-model", "TINY_SD", "--gen-option", "sampling_steps=2", "--gen-option",
                 "caption_template={prompt}, {localization}"],
}  # fmt: skip


@pytest.mark.parametrize("generator", list(GENERATOR_ARGS))
def test_generator_study_end_to_end_and_resume(
    tmp_path: Path, toy_dir: Path, capsys, generator: str, request: pytest.FixtureRequest
) -> None:
    run = tmp_path / "run"
    extra = GENERATOR_ARGS[generator]
    if "TINY_SD" in extra:
        extra = [str(request.getfixturevalue("tiny_sd_dir")) if a == "TINY_SD" else a for a in extra]
    args = tiny_args(
        run, toy_dir, "--generator", generator, "--gen-epochs", "1", "--budget", "fixed:3", "--grid-every", "1",
        *extra,
    )  # fmt: skip
    assert fewshot.main(args) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert list(metrics["arms"]) == ["real", f"real+{generator}", f"{generator}-only"]
    assert metrics["arms"][f"real+{generator}"]["train_images"] == 28 + 21
    assert metrics["arms"][f"{generator}-only"]["train_images"] == 21
    # the default step budget: every arm gets the real-only arm's updates (1 epoch of 28 images in batches of 8)
    assert {arm["train_steps"] for arm in metrics["arms"].values()} == {3}
    manifest = pd.read_csv(run / "synthetic" / generator / "manifest.csv")
    assert len(manifest) == 21 and set(manifest["generator"]) == {generator}
    assert json.loads((run / "budget.json").read_text())["synthetic"]["df"] == 3
    assert (run / "grids" / generator / "samples_epoch0001.png").is_file()
    report = (run / "report.md").read_text()
    assert f"| real+{generator} | " in report and f"| {generator}-only | " in report
    # the evidence stage: quality per class in the real-only arm's feature space, scores in the manifest
    assert f"## Synthetic data: `{generator}`" in report and "penultimate layer of the real-only arm" in report
    for name in ("quality.csv", "memorization.csv", "real_vs_synthetic.png", "closest_pairs.png", "tsne.png"):
        assert (run / "quality" / generator / name).is_file(), name
    quality = pd.read_csv(run / "quality" / generator / "quality.csv", index_col="class")
    assert quality.loc["all", "synthetic"] == 21 and quality.loc["df", "real"] == 4
    scored = pd.read_csv(run / "synthetic" / generator / "manifest.csv")
    assert scored["confidence"].between(0, 1).all() and scored["nearest_real_id"].str.len().gt(0).all()
    assert json.loads((run / "metrics.json").read_text())["synthetic"][generator]["feature_space"]
    capsys.readouterr()
    assert fewshot.main(args) == 0
    out = capsys.readouterr().out
    assert "trained earlier" in out and out.count("finished earlier") == 3
    baselines_only = [  # another run, same directory
        *tiny_args(run, toy_dir, "--gen-epochs", "1", "--budget", "fixed:3", "--grid-every", "1"),
        "--baselines", "real,focal",
    ]  # fmt: skip
    assert fewshot.main(baselines_only) == 0
    assert list(json.loads((run / "metrics.json").read_text())["arms"]) == [
        "real", "focal", f"{generator}-only", f"real+{generator}"
    ]  # fmt: skip


def test_generator_options_are_checked(tmp_path: Path, toy_dir: Path, capsys) -> None:
    run = tmp_path / "run"
    args = tiny_args(run, toy_dir, "--generator", "ddpm", "--gen-epochs", "1", "--budget", "fixed:1")
    assert fewshot.main([*args, "--gen-option", "presett=tiny"]) == 2
    err = capsys.readouterr().err
    assert "generator 'ddpm' has no option(s) ['presett']" in err and "preset" in err and "guidance_scale" in err
    assert fewshot.main([*tiny_args(run, toy_dir), "--gen-option", "preset=tiny"]) == 2
    assert "without a --generator" in capsys.readouterr().err
    tiny = ["--gen-option", "preset=tiny", "--gen-option", "sampling_steps=1", "--baselines", "real"]
    assert fewshot.main([*args, *tiny]) == 0
    capsys.readouterr()
    # the same run directory with other options must not silently reuse the trained generator ...
    assert fewshot.main([*args, *tiny, "--gen-option", "guidance_scale=3"]) == 2
    err = capsys.readouterr().err
    assert (
        "guidance_scale: checkpoint 2.0, now 3" in err and "generator options (--gen-option): guidance_scale=2.0" in err
    )
    # ... nor continue it with the defaults when an option is left out
    assert fewshot.main([*args, "--gen-option", "sampling_steps=1", "--baselines", "real"]) == 2
    assert "preset: checkpoint 'tiny', now 'small'" in capsys.readouterr().err
    assert fewshot.main([*args, *tiny, "--gen-option", "lr=fast"]) == 2
    assert "generator 'ddpm': option lr: expected float; got fast" in capsys.readouterr().err


def test_ldm_lora_needs_a_diffusers_directory(tmp_path: Path, toy_dir: Path, capsys) -> None:
    args = tiny_args(tmp_path / "run", toy_dir, "--generator", "ldm-lora")
    assert fewshot.main(args) == 2
    assert "ldm-lora --generator needs --pretrained-model" in capsys.readouterr().err
    assert fewshot.main([*args, "--pretrained-model", str(tmp_path)]) == 2
    assert "missing: model_index.json" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_shipped_configs_are_valid_and_layer(tmp_path: Path) -> None:
    configs = sorted((ROOT / "experiments" / "configs").glob("*.yaml"))
    assert {p.name for p in configs} >= {"ham10000_fewshot.yaml", "cpu.yaml", "ddp-a100-bf16.yaml"}
    for path in configs:
        fewshot.StudyConfig.from_dict(fewshot.StudyConfig.from_yaml(path))
    layered = fewshot.resolve_config(
        ["--config", str(ROOT / "experiments/configs/ham10000_fewshot.yaml"),
         "--config", str(ROOT / "experiments/configs/ddp-a100-bf16.yaml"), "--seed", "2"]
    )  # fmt: skip
    settings = (layered.data.shots, layered.trainer.precision, layered.data.batch_size, layered.study.seed)
    assert settings == (50, "bf16-mixed", 64, 2)
    from skinsynth.models.ldm_lora.prompts import PROMPT_FIELDS, check_template
    from skinsynth.models.registry import check_generator_options

    lora = fewshot.StudyConfig.from_dict(
        fewshot.StudyConfig.from_yaml(ROOT / "experiments/configs/ldm-lora-sd15-a100.yaml")
    )
    check_generator_options(lora.generator.name, lora.generator.init_args)
    check_template(lora.generator.init_args["prompt_template"], PROMPT_FIELDS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sampling_steps=20", ("sampling_steps", 20)),
        ("guidance-scale=1.5", ("guidance_scale", 1.5)),
        ("attention_resolutions=[16, 8]", ("attention_resolutions", [16, 8])),
        ("min_snr_gamma=null", ("min_snr_gamma", None)),
        ("class_tokens=true", ("class_tokens", True)),
        ("caption_template={prompt}, {age}", ("caption_template", "{prompt}, {age}")),
        ("prompt_template={class_name}", ("prompt_template", "{class_name}")),
        ("lr=5e-4", ("lr", 5e-4)),
        ("negative_prompt=no", ("negative_prompt", "no")),
        ("target_modules=[to_q, to_v]", ("target_modules", ["to_q", "to_v"])),
    ],
)
def test_gen_option_values(text: str, expected: tuple) -> None:
    from skinsynth.config import parse_option

    assert parse_option(text) == expected


def test_several_seeds_run_one_study_each_and_an_aggregate(tmp_path: Path, toy_dir: Path) -> None:
    run = tmp_path / "run"
    assert fewshot.main(tiny_args(run, toy_dir, "--baselines", "real,weighted", "--seeds", "0,1")) == 0
    for seed in (0, 1):
        config = yaml.safe_load((run / f"seed-{seed}" / "config.yaml").read_text())
        assert config["study"]["seed"] == seed and (run / f"seed-{seed}" / "metrics.json").is_file()
    result = json.loads((run / "aggregate.json").read_text())
    assert result["seeds"] == [0, 1] and result["arms"]["real"]["balanced_accuracy"]["n"] == 2
    per_seed = [json.loads((run / f"seed-{s}" / "metrics.json").read_text())["arms"] for s in (0, 1)]
    differences = [m["weighted"]["balanced_accuracy"] - m["real"]["balanced_accuracy"] for m in per_seed]
    assert result["paired"]["weighted"]["balanced_accuracy"]["differences"] == pytest.approx(differences)
    assert "over 2 seed(s): 0, 1" in (run / "aggregate.md").read_text()
    with pytest.raises(ConfigError, match="`study.seeds`"):
        fewshot.resolve_config(["--seeds", "0,x"])
