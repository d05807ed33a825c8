"""Classifier-free guidance vs class information and diversity of a trained DDPM's samples.

Uses a finished study run directory (a DDPM generator and the real-only classifier, the judge, of one seed)::

    python experiments/benchmarks/ddpm_guidance.py --run-dir runs/bench-pool32/ham50_seed0 \
        --generator ddpm-pool --per-class 15 --scales 1,2,4,7

For every guidance scale, the same labels and per-image seeds are sampled with the model's sampler. Each set is
scored in the judge's feature space against the seed's real few-shot training images: the judge's mean
probability of the intended class (``confidence``), how often its top class is the intended one (``agreement``),
within-class feature diversity relative to the real images of the class (``diversity_ratio``), and overall
precision / recall / FID. The judge's own confidence and agreement on balanced real test images are printed first:
the ceiling a synthetic set can reach in this judge's eyes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from experiments.benchmarks.ddpm_sampling import timed_samples  # the same per-image seeds (i for image i)
from skinsynth.config import StudyConfig
from skinsynth.data.record_source import RecordSource
from skinsynth.data.splits import Split
from skinsynth.evidence import judge_features, load_images
from skinsynth.models.classifier import LesionClassifier
from skinsynth.models.registry import load_generator
from skinsynth.quality import embed
from skinsynth.quality.evaluate import synthetic_quality
from skinsynth.report import markdown_table


def run_split(config: StudyConfig, run_dir: Path) -> Split:
    """The run's split as its ``split.csv`` stores it, over the data its config names."""
    c = config.data
    toy_options = {"total": c.toy_total, "min_per_class": c.toy_min_per_class}
    source = RecordSource(c.dataset, c.data_dir, c.image_size, toy_options, test_data_dir=c.test_data)
    records, test_records = source.read(), source.read_test()
    return Split.load(run_dir / "split.csv", records, test_records)


def judged(head, features: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The judge's probability of the intended class and whether its top class is the intended one, per image."""
    with torch.no_grad():
        probabilities = head(features).softmax(1)
    return probabilities.gather(1, labels.view(-1, 1)).squeeze(1), probabilities.argmax(1) == labels


def per_class(values: torch.Tensor, codes: list[str]) -> pd.Series:
    """Mean of ``values`` per class code, and over all images (``all``)."""
    series = pd.Series(values.float().numpy(), index=codes)
    return pd.concat([series.groupby(level=0).mean(), pd.Series({"all": series.mean()})])


def judge_scores(head, features: torch.Tensor, labels: torch.Tensor, codes: list[str]) -> pd.Series:
    """``conf_<class>`` and ``agree_<class>`` (and ``_all``): :func:`judged`, averaged per class."""
    confidence, agreement = judged(head, features, labels)
    return pd.concat(
        [per_class(confidence, codes).add_prefix("conf_"), per_class(agreement, codes).add_prefix("agree_")]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--generator", default="ddpm-pool", help="the set name: checkpoints/generator-<name>/")
    parser.add_argument("--per-class", type=int, default=15, help="samples per class and scale")
    parser.add_argument("--scales", default="1,2,4,7", help="comma-separated guidance scales")
    parser.add_argument("--batch-size", type=int, default=35)
    args = parser.parse_args()
    run_dir = Path(args.run_dir)
    config = StudyConfig.from_dict(StudyConfig.from_yaml(run_dir / "config.yaml"))
    checkpoint = run_dir / "checkpoints" / f"generator-{args.generator}" / "last.ckpt"
    codes = torch.load(checkpoint, map_location="cpu", weights_only=True)["hyper_parameters"]["class_codes"]
    model = load_generator("ddpm", checkpoint, codes, config.data.image_size)
    judge = LesionClassifier.load_checkpoint(run_dir / "checkpoints" / "real" / "best.ckpt")
    space = f"{judge.hparams.backbone} penultimate layer of the real-only arm"
    features, head = judge_features(judge, space)
    split = run_split(config, run_dir)
    train, test = split.records_for("train"), split.records_for("test")
    real_images = load_images(train, config.data.image_size)
    real_codes = train.frame["code"].tolist()
    real_features = embed(features, real_images)

    test_codes = test.frame["code"]
    balanced = test.subset(test_codes.groupby(test_codes).cumcount().to_numpy() < args.per_class * 4)
    test_labels = torch.tensor([codes.index(c) for c in balanced.frame["code"]])
    test_features = embed(features, load_images(balanced, config.data.image_size))
    rows = {"real test": judge_scores(head, test_features, test_labels, balanced.frame["code"].tolist())}
    print(f"{run_dir}: generator {args.generator!r}, {config.data.image_size} px, judge: {space}; "
          f"real test images per class (at most {args.per_class * 4}): "
          f"{balanced.frame['code'].value_counts().to_dict()}")  # fmt: skip

    labels = torch.arange(len(codes)).repeat_interleave(args.per_class)
    fake_codes = [codes[i] for i in labels.tolist()]
    for scale in (float(s) for s in args.scales.split(",")):
        fake_images, rate = timed_samples(model, labels, args.batch_size, guidance_scale=scale)
        fake_features = embed(features, fake_images)
        quality = synthetic_quality(real_features, real_codes, fake_features, fake_codes, real_images, fake_images,
                                    codes, space).table  # fmt: skip
        rows[f"guidance {scale:g}"] = pd.concat([
            judge_scores(head, fake_features, labels, fake_codes),
            quality["diversity_ratio"].add_prefix("div_"),
            quality.loc["all", ["precision", "recall", "fid"]],
            pd.Series({"s_per_image": 1 / rate}),
        ])  # fmt: skip
        print(f"guidance {scale:g}: {len(labels)} images in {len(labels) / rate:.0f} s", flush=True)
    table = pd.DataFrame(rows).T
    columns = [f"{kind}_{c}" for kind in ("conf", "agree", "div") for c in [*codes, "all"]]
    columns += ["precision", "recall", "fid", "s_per_image"]
    print(markdown_table(table.reindex(columns=[c for c in columns if c in table]).round(3).T.rename_axis("score")))


if __name__ == "__main__":
    main()
