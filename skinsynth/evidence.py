"""The evidence stage of a study: how good, how diverse and how novel a generator's synthetic set is.

Run after the generator stage and the real-only arm, whose classifier is the judge: its penultimate features are the
feature space (named beside every number) and its probabilities the confidence score. Writes
``quality/<generator>/`` — ``quality.csv`` (per class and overall: FID, KID, precision / recall / density /
coverage, diversity of synthetic and real images), ``memorization.csv`` (per class), ``real_vs_synthetic.png``,
``closest_pairs.png``, ``tsne.png``, ``evidence.json`` — and adds per-image scores to the synthetic manifest
(``confidence``, ``nearest_real_id``, ``nearest_real_cosine``, ``nearest_real_ssim``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from skinsynth.data.dataset import LesionDataset
from skinsynth.data.images import ImageReader
from skinsynth.data.records import LesionRecords
from skinsynth.data.synthetic import SyntheticDataset, write_manifest
from skinsynth.data.transforms import eval_transform
from skinsynth.io import atomic_write_csv, atomic_write_json
from skinsynth.quality.evaluate import synthetic_quality
from skinsynth.quality.features import ClassifierFeatures, embed
from skinsynth.quality.figures import as_labels, real_vs_synthetic_grid, tsne_plot
from skinsynth.quality.memorization import memorization_audit, plot_closest_pairs

EVIDENCE_FILE = "evidence.json"


def load_images(records: LesionRecords, image_size: int, batch_size: int = 256) -> Tensor:
    """Every image of ``records`` resized to ``image_size``, in [0, 1], as one (N, 3, H, W) tensor."""
    dataset = LesionDataset(records, eval_transform(image_size, normalize=False), ImageReader(draft_size=image_size))
    return torch.cat([batch["image"] for batch in DataLoader(dataset, batch_size=batch_size)])


def judge_features(judge: Any, name: str) -> tuple[ClassifierFeatures, Any]:
    """The judge classifier's feature extractor and its classification head (features → logits)."""
    features = ClassifierFeatures(judge.model.eval(), name=name)
    return features, judge.model.get_classifier()


def synthetic_evidence(
    out_dir: str | Path,
    synthetic_dir: str | Path,
    real_train: LesionRecords,
    judge: Any,
    class_codes: list[str],
    image_size: int,
    feature_space: str,
    seed: int = 0,
) -> dict[str, Any]:
    """Score the synthetic set in ``synthetic_dir`` against the real training images; returns the summary.

    Args:
        out_dir: where the tables and figures go (``quality/<generator>/``).
        synthetic_dir: the materialized set (its manifest gets per-image score columns).
        real_train: the real training records (the few-shot images).
        judge: the real-only arm's :class:`~skinsynth.models.classifier.LesionClassifier`.
        class_codes: the vocabulary in label order.
        image_size: the study's resolution.
        feature_space: the name of the judge's feature space, printed beside every number.
        seed: seed of the t-SNE and of MS-SSIM pair draws.
    """
    out_dir = Path(out_dir)
    synthetic = SyntheticDataset(synthetic_dir, real_train.vocabulary)
    real_images = load_images(real_train, image_size)
    fake_images = load_images(synthetic.records, image_size)
    real_codes = real_train.frame["code"].tolist()
    fake_codes = synthetic.records.frame["code"].tolist()
    features, head = judge_features(judge, feature_space)
    with torch.no_grad():
        real_features, fake_features = embed(features, real_images), embed(features, fake_images)
        probabilities = head(fake_features).softmax(1)
    fake_labels, real_labels = as_labels(fake_codes, class_codes), as_labels(real_codes, class_codes)
    confidence = probabilities.gather(1, fake_labels.view(-1, 1)).squeeze(1)

    quality = synthetic_quality(real_features, real_codes, fake_features, fake_codes, real_images, fake_images,
                                class_codes, feature_space)  # fmt: skip
    audit = memorization_audit(fake_features, real_features, fake_images, real_images, fake_codes, real_codes)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(quality.table.reset_index(), out_dir / "quality.csv")
    atomic_write_csv(audit.per_class.reset_index(), out_dir / "memorization.csv")
    real_vs_synthetic_grid(real_images, real_labels, fake_images, fake_labels, class_codes,
                           out_dir / "real_vs_synthetic.png")  # fmt: skip
    plot_closest_pairs(audit, fake_images, real_images, out_dir / "closest_pairs.png")
    tsne_plot(real_features, real_labels, fake_features, fake_labels, class_codes, out_dir / "tsne.png",
              feature_space, seed)  # fmt: skip

    manifest = synthetic.manifest.copy()
    manifest["confidence"] = confidence.numpy().round(5)
    manifest["nearest_real_id"] = real_train.frame["image_id"].to_numpy()[audit.per_image["nearest_real"].to_numpy()]
    manifest["nearest_real_cosine"] = audit.per_image["cosine"].to_numpy().round(5)
    manifest["nearest_real_ssim"] = audit.per_image["ssim"].to_numpy().round(5)
    write_manifest(manifest, synthetic_dir)

    summary = {
        "feature_space": feature_space,
        "quality": json.loads(quality.table.to_json(orient="index")),
        "warnings": quality.warnings,
        "memorization": json.loads(audit.per_class.to_json(orient="index")),
        "near_copy_fraction": float(audit.per_image["near_copy"].mean()),
        "mean_confidence": json.loads(
            pd.Series(confidence.numpy(), index=fake_codes).groupby(level=0).mean().to_json()
        ),
    }
    atomic_write_json(summary, out_dir / EVIDENCE_FILE)
    return summary


def filtered_name(generator: str, spec: str) -> str:
    """A filtered set's name: ``gan`` with ``confidence:0.5+dedupe:0.98`` → ``gan-confidence0.5-dedupe0.98``."""
    return generator + "-" + spec.replace(":", "").replace("+", "-")


def select_synthetic(
    out_dir: str | Path,
    synthetic_dir: str | Path,
    filtered_dir: str | Path,
    real_train: LesionRecords,
    judge: Any,
    class_codes: list[str],
    image_size: int,
    spec: str,
    budget: dict[str, int],
) -> pd.DataFrame:
    """Post-select the over-generated set with the filters of ``spec``; write the kept images' manifest.

    The kept set (the first ``budget[code]`` images of each class that pass every filter, in plan order) is written to
    ``filtered_dir/manifest.csv`` with paths into ``synthetic_dir`` (no image is copied); the per-image scores and
    decisions go to ``out_dir/selection-<spec>.csv`` and the per-class summary (generated, passed, kept, dropped by
    each filter) is returned and written to ``out_dir/selection-<spec>-summary.csv``.
    """
    import os

    from skinsynth.quality.filters import apply_filters, parse_filters, select_budget, selection_summary

    steps = parse_filters(spec)
    synthetic = SyntheticDataset(synthetic_dir, real_train.vocabulary)
    real_images = load_images(real_train, image_size)
    fake_images = load_images(synthetic.records, image_size)
    features, head = judge_features(judge, "judge")
    with torch.no_grad():
        real_features, fake_features = embed(features, real_images), embed(features, fake_images)
        real_logits, fake_logits = head(real_features), head(fake_features)
    fake_codes = synthetic.records.frame["code"].tolist()
    decisions = apply_filters(
        steps, fake_labels=as_labels(fake_codes, class_codes), num_classes=len(class_codes),
        fake_features=fake_features, fake_logits=fake_logits, real_features=real_features,
        real_labels=as_labels(real_train.frame["code"].tolist(), class_codes), real_logits=real_logits,
    )  # fmt: skip
    keep = select_budget(fake_codes, decisions["passed"], budget)
    summary = selection_summary(fake_codes, decisions, keep, budget)
    slug = spec.replace(":", "").replace("+", "-")
    out_dir = Path(out_dir)
    atomic_write_csv(pd.concat([synthetic.manifest[["path", "code"]], decisions.assign(kept=keep)], axis=1),
                     out_dir / f"selection-{slug}.csv")  # fmt: skip
    atomic_write_csv(summary.reset_index(), out_dir / f"selection-{slug}-summary.csv")
    if not keep.any():  # no arm can train on an empty set: say so instead of failing inside the datamodule
        from skinsynth.errors import ConfigError

        raise ConfigError(
            f"post-selection {spec!r} kept none of the {len(keep)} images in {str(synthetic_dir)!r} (per class in "
            f"{str(out_dir / f'selection-{slug}-summary.csv')!r}); loosen the filter or raise `oversample_factor`"
        )
    kept = synthetic.manifest[keep].copy()
    relative = os.path.relpath(Path(synthetic_dir), Path(filtered_dir))
    kept["path"] = [f"{Path(relative, p).as_posix()}" for p in kept["path"]]
    kept["filter"] = spec
    Path(filtered_dir).mkdir(parents=True, exist_ok=True)
    write_manifest(kept, filtered_dir)
    return summary
