"""Run a few-shot study: split → baseline arms (→ generator → synthetic set → augmented arms) → report.

Examples::

    skinsynth fewshot                                               # toy data, real-only arm
    skinsynth fewshot --baselines real,oversample,weighted,focal,strong-aug
    skinsynth fewshot --dataset ham10000 --data-dir ../shared/data/ham10000 --shots 50 --image-size 64
    skinsynth fewshot --config experiments/configs/ham10000_fewshot.yaml --generator gan --seed 1
    skinsynth fewshot --config experiments/configs/ham10000_fewshot.yaml \
        --config experiments/configs/ddp-a100-bf16.yaml --generator gan

(``python experiments/fewshot.py ...`` is the same command from a source checkout.)

Settings come from the defaults, then ``--config FILE`` (YAML, same keys), then the flags given here.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import types
import typing

from skinsynth.cli.wording import cli_wording
from skinsynth.config import StudyConfig, parse_arms, parse_option, parse_weights
from skinsynth.errors import SkinSynthError
from skinsynth.models.registry import generator_names

HELP = {
    "name": "study name (W&B group)",
    "run_dir": "run directory; a re-run with the same directory resumes finished stages",
    "dataset": "toy (generated, no download), ham10000, isic2019, isic2024, imagefolder or dermamnist",
    "data_dir": "dataset folder (for toy: where to generate it; default <run-dir>/data/toy)",
    "test_data": "external test set in the ISIC 2018 Task 3 layout, used as the test split",
    "shots": "real training images per class, or 'all' for every training image (long-tailed setting)",
    "unlabeled_pool": "keep this fraction (or 'all') of the training-side groups outside the few-shot set as an "
    "unlabeled pool (never val/test); val and test are then --val-fraction and 20 %% of all groups. The oracle "
    "draws from it",
    "val_fraction": "share of the non-training images used for validation (the rest is the test split)",
    "image_size": "image side length in pixels",
    "toy_total": "toy set: number of images",
    "toy_min_per_class": "toy set: minimum images per class",
    "on_bad_image": "error: stop at the first unreadable image, naming it; skip: decode every image once and leave "
    "unreadable ones out (with a warning that counts them)",
    "backbone": "timm backbone name (resnet18, efficientnet_b0, resnet50, ...)",
    "pretrained": "start from ImageNet weights (needs them cached, or network)",
    "weights_path": "local backbone weights file (offline alternative to --pretrained)",
    "epochs": "classifier training epochs",
    "batch_size": "training batch size",
    "lr": "learning rate",
    "weight_decay": "AdamW weight decay",
    "label_smoothing": "label smoothing",
    "optimizer": "adamw or adam",
    "scheduler": "cosine, onecycle or none",
    "focal_gamma": "focal-loss exponent (focal arm)",
    "mixup_alpha": "MixUp alpha for every arm (0 = off)",
    "cutmix_alpha": "CutMix alpha for every arm (0 = off)",
    "train_budget": "steps: every arm gets as many updates as --epochs over the real training set (fair to arms with "
    "more images); epochs: every arm makes --epochs passes over its own training set",
    "early_stopping_patience": "stop after this many epochs without a better validation balanced accuracy",
    "augment": "training augmentation: none, flip, standard or strong",
    "baselines": "comma-separated arms without a generator: real, oversample, weighted, focal, strong-aug",
    "generator": "generator to add synthetic-data arms with (real+<gen>: real + synthetic; <gen>-only: synthetic)",
    "ssl_epochs": "SimCLR pretraining epochs of the ssl arms' backbone (on the few-shot images and the unlabeled "
    "pool, labels hidden); --baselines ssl adds the ssl arm and, with a generator, ssl+<gen>",
    "ssl_batch_size": "SimCLR batch size",
    "pretrain_epochs": "pretrain the generator unconditionally on the unlabeled pool (and the few-shot images, labels "
    "hidden) for this many epochs, then fine-tune it class-conditionally on the few-shot set; its synthetic set and "
    "arms are named <gen>-pool (gan, gan-diffaug, ddpm and inpaint; needs --unlabeled-pool)",
    "pretrained_generator": "a generator checkpoint to fine-tune from instead (e.g. checkpoints/pretrain-<gen>/"
    "last.ckpt of another study with the same split); refused when the images it was pretrained on include this "
    "study's val or test images (pretraining.json beside it lists them); set named <gen>-pretrained",
    "gen_epochs": "generator training epochs",
    "gen_batch_size": "generator training batch size",
    "gen_options": "a generator constructor argument as KEY=VALUE (YAML value), repeatable; e.g. --gen-option "
    "preset=small --gen-option sampling_steps=25 for ddpm",
    "pretrained_model": "ldm-lora: local diffusers Stable Diffusion 1.5 directory to fine-tune with LoRA (or a hub id)",
    "budget": "synthetic images per class: paper | balance:N | fixed:N | ratio:R | custom:mel=100,df=200",
    "max_ratio": "cap on synthetic:real images per class",
    "filter": "post-selection of synthetic images before training, steps joined by +: confidence:T (judge "
    "probability of the intended class >= T), ood:Q (Mahalanobis distance within the Q-quantile of the real images'), "
    "energy:Q, dedupe:S (drop near-copies, feature cosine >= S); arms are named real+<gen>-<filter>",
    "oversample_factor": "generate this many times the budget so that the filtered set still fills it",
    "synthetic_weight": "loss weight(s) of synthetic images relative to real ones, comma-separated: one "
    "real+<generator> arm per weight (named real+<gen>-w<weight>; weight 1 is real+<gen>)",
    "synthetic_only_arm": "train the <gen>-only arm (synthetic images only) too",
    "two_stage": "share of the step budget (0-1) spent fine-tuning on real images only after training on real + "
    "synthetic: adds the arm real+<gen>-then-real (0 = off)",
    "sample_batch_size": "images per generator sampling call while materializing",
    "grid_every": "save a per-class sample grid every N generator epochs",
    "seed": "seed for the split, sampling and initialization",
    "seeds": "comma-separated seeds, e.g. 0,1,2: one study per seed in <run-dir>/seed-<k>, then aggregate.md / "
    "aggregate.json with mean ± std, bootstrap CIs and paired comparisons against the real arm",
    "accelerator": "Lightning accelerator (cpu, gpu, auto)",
    "devices": "Lightning devices (auto, 1, 2, ...): processes per node",
    "num_nodes": "machines in a multi-node run (started with torchrun on each node; docs/distributed.md)",
    "precision": "Lightning precision (32-true, bf16-mixed, 16-mixed)",
    "num_workers": "DataLoader workers",
    "logger": "wandb (offline unless logged in), csv or none",
    "wandb_project": "W&B project",
    "progress_bar": "show Lightning progress bars",
    "limit_train_batches": "Lightning limit_train_batches (fraction or count; for smoke runs)",
    "limit_val_batches": "Lightning limit_val_batches",
    "limit_test_batches": "Lightning limit_test_batches",
}


def _number(text: str) -> int | float:
    """``"2"`` → 2 (a count of batches), ``"0.5"`` → 0.5 (a fraction)."""
    return int(text) if text.isdigit() else float(text)


def _shots(text: str) -> int | None:
    """``"50"`` → 50; ``"all"`` → None (every training image: the long-tailed setting)."""
    return None if text.lower() == "all" else int(text)


def _seed_list(text: str) -> list[int]:
    """``"0,1,2"`` → ``[0, 1, 2]``."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes comma-separated integers, e.g. 0,1,2; got {text!r}") from None


def _weights(text: str) -> list[float]:
    """``"0.25,0.5,1"`` → ``[0.25, 0.5, 1.0]``."""
    try:
        return parse_weights(text)
    except SkinSynthError as error:
        raise argparse.ArgumentTypeError(in_flags(str(error))) from error


def _fraction_or_all(text: str) -> float:
    """``"all"`` → 1.0; ``"0.5"`` → 0.5."""
    return 1.0 if text.lower() == "all" else float(text)


def _key_value(text: str) -> tuple[str, object]:
    try:
        return parse_option(text)
    except SkinSynthError as error:
        raise argparse.ArgumentTypeError(in_flags(str(error))) from error


def flag_of(key: str) -> str:
    """The flag of a StudyConfig key: ``on_bad_image`` → ``--on-bad-image`` (``gen_options``: ``--gen-option``)."""
    return "--gen-option" if key == "gen_options" else "--" + key.replace("_", "-")


def in_flags(message: str) -> str:
    """A library message with the study settings it names written as this command's flags."""
    return cli_wording(message, {field.name: flag_of(field.name) for field in dataclasses.fields(StudyConfig)})


def _base_type(annotation: object) -> type:
    hint = typing.get_type_hints(StudyConfig)[annotation] if isinstance(annotation, str) else annotation
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return args[0]
    return hint


def build_parser() -> argparse.ArgumentParser:
    """The CLI, one flag per StudyConfig field (defaults are applied later, so a config file can set them)."""
    parser = argparse.ArgumentParser(
        prog="skinsynth fewshot",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--config", action="append", help="YAML file with any of the keys below; repeat to layer files (later wins)"
    )
    defaults = StudyConfig()
    for field in dataclasses.fields(StudyConfig):
        flag = flag_of(field.name)
        default = getattr(defaults, field.name)
        help_text = f"{HELP.get(field.name, '')} (default: {default})"
        kind = _base_type(field.name)
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, help=help_text)
        elif field.name == "baselines":
            parser.add_argument(flag, type=parse_arms, help=help_text + f" [default: {','.join(default)}]")
        elif field.name == "shots":
            parser.add_argument(flag, type=_shots, help=help_text)
        elif field.name == "seeds":
            parser.add_argument(flag, type=_seed_list, help=help_text)
        elif field.name == "synthetic_weight":
            parser.add_argument(flag, type=_weights, help=help_text)
        elif field.name == "unlabeled_pool":
            parser.add_argument(flag, type=_fraction_or_all, help=help_text)
        elif field.name.startswith("limit_"):
            parser.add_argument(flag, type=_number, help=help_text)
        elif field.name == "generator":
            parser.add_argument(flag, choices=generator_names(), help=help_text)
        elif field.name == "gen_options":
            parser.add_argument(flag, dest="gen_options", action="append", type=_key_value,
                                metavar="KEY=VALUE", help=help_text)  # fmt: skip
        else:
            parser.add_argument(flag, type=kind if kind in (int, float) else str, help=help_text)
    return parser


def resolve_config(argv: list[str] | None = None) -> StudyConfig:
    """Defaults < --config file < flags."""
    args = vars(build_parser().parse_args(argv))
    values: dict = {}
    for path in args.pop("config", []):
        values.update(StudyConfig.from_yaml(path))
    options = dict(args.pop("gen_options", []))
    values.update(args)
    if options:
        values["gen_options"] = {**(values.get("gen_options") or {}), **options}
    return StudyConfig.from_dict(values)


def main(argv: list[str] | None = None) -> int:
    """Run the study the arguments describe; returns the exit code (2 for a configuration or data error)."""
    try:
        config = resolve_config(argv)
        from skinsynth.study.runner import FewShotStudy, run_seeds

        if config.seeds:
            run_seeds(config)
        else:
            FewShotStudy(config).run()
    except SkinSynthError as error:
        print(f"error: {in_flags(str(error))}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
