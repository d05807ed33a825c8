"""Post-selection of synthetic images between materialization and training.

A filter spec is one or more steps joined by ``+``, applied in order, each ``name:value``:

* ``confidence:τ`` — keep an image when the judge classifier (the real-only arm) gives its intended class a
  probability of at least τ.
* ``ood:q`` — class-conditional Mahalanobis distance of the image's features to the real training features of its
  intended class (class means, one shared Ledoit-Wolf covariance); keep it when the distance is at most the q-quantile
  of the real training images' own, out-of-fold distances to their class (see :func:`mahalanobis_distances`). This
  is the post-selection of the long-tail inpainting work: drop samples that leave the real class-conditional
  distribution.
* ``energy:q`` — the same quantile rule on the judge's energy score, −logsumexp(logits), per intended class.
* ``dedupe:s`` — drop an image whose feature cosine similarity to a real training image, or to an earlier kept
  synthetic image of its class, is at least s (near-copies add nothing new).

Every value lies in (0, 1]. Over-generating (``oversample_factor`` × budget) and keeping the first ``budget``
survivors of each class, in plan order, keeps the kept set at its budget without ranking images by a score the judge
also defines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from skinsynth.errors import ConfigError

FILTERS = ("confidence", "ood", "energy", "dedupe")


@dataclass(frozen=True)
class FilterStep:
    """One filter and its threshold."""

    name: str
    value: float

    def __str__(self) -> str:
        return f"{self.name}:{self.value:g}"


def parse_filters(spec: str | None) -> list[FilterStep]:
    """``"confidence:0.5+dedupe:0.98"`` → steps; ``None``, ``""`` or ``"none"`` → no steps.

    Raises:
        ConfigError: an unknown filter, a missing or non-finite value, or a value outside the filter's range.
    """
    if spec is None or spec.strip().lower() in ("", "none"):
        return []
    steps = []
    for part in spec.split("+"):
        name, sep, text = part.strip().partition(":")
        if name not in FILTERS:
            raise ConfigError(f"unknown filter {name!r} in {spec!r}; filters are {', '.join(FILTERS)} (name:value)")
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"filter {part.strip()!r} needs a number after the colon, e.g. {name}:0.9") from None
        if not sep or not math.isfinite(value):
            raise ConfigError(f"filter {part.strip()!r} needs a finite number after the colon, e.g. {name}:0.9")
        if not 0 < value <= 1:
            raise ConfigError(f"filter {part.strip()!r}: the value must lie in (0, 1]")
        steps.append(FilterStep(name, value))
    return steps


CALIBRATION_FOLDS = 5


def _mahalanobis_fit(x: Tensor, labels: Tensor, num_classes: int) -> tuple[Tensor, Tensor]:
    """Class means and the shared Ledoit-Wolf precision of ``x`` (float64)."""
    from sklearn.covariance import LedoitWolf

    means = torch.zeros(num_classes, x.shape[1], dtype=torch.float64)
    for c in labels.unique().tolist():
        means[c] = x[labels == c].mean(0)
    precision = torch.as_tensor(LedoitWolf().fit((x - means[labels]).numpy()).precision_, dtype=torch.float64)
    return means, precision


def _mahalanobis(features: Tensor, labels: Tensor, means: Tensor, precision: Tensor) -> Tensor:
    d = features.double() - means[labels]
    return torch.einsum("nd,de,ne->n", d, precision, d).clamp_min(0).sqrt()


def mahalanobis_distances(
    real_features: Tensor, real_labels: Tensor, queries: Tensor, query_labels: Tensor, num_classes: int
) -> tuple[Tensor, Tensor]:
    """Distances of ``queries`` to their class mean (shared shrunk covariance), and of the real rows to theirs.

    The queries are measured against the fit on every real image. The real rows' own distances, which calibrate the
    ``ood`` threshold, are **out of fold** (stratified 5-fold; fewer folds when a class has fewer images): each is
    measured against a fit that did not see it, as a query is. In-sample distances are much smaller when there are
    few images per class in many dimensions (50 images of a class in 512 judge features), and a threshold calibrated
    on them rejects real held-out lesions too (HAM10000, 50 shots: ``ood:0.95`` kept 33 of 1,200 real pool images).
    A class with a single image keeps its in-sample distance.
    """
    from sklearn.model_selection import StratifiedKFold

    x = real_features.double()
    means, precision = _mahalanobis_fit(x, real_labels, num_classes)
    real_d = _mahalanobis(x, real_labels, means, precision)
    counts = torch.bincount(real_labels, minlength=num_classes)
    folds = min(CALIBRATION_FOLDS, int(counts[counts > 1].min()) if (counts > 1).any() else 0)
    if folds >= 2:
        splitter_labels = torch.where(counts[real_labels] > 1, real_labels, -1).numpy()  # singletons: one stratum
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
        for fit_rows, held_rows in splitter.split(x.numpy(), splitter_labels):
            fit, held = torch.as_tensor(fit_rows), torch.as_tensor(held_rows)
            fold_means, fold_precision = _mahalanobis_fit(x[fit], real_labels[fit], num_classes)
            seen = torch.bincount(real_labels[fit], minlength=num_classes)[real_labels[held]] > 0
            d = _mahalanobis(x[held], real_labels[held], fold_means, fold_precision)
            real_d[held[seen]] = d[seen]
    return _mahalanobis(queries, query_labels, means, precision), real_d


def _per_class_quantile(values: Tensor, labels: Tensor, q: float, num_classes: int) -> Tensor:
    """The q-quantile of ``values`` within each class (+inf for a class with no values)."""
    out = torch.full((num_classes,), math.inf, dtype=torch.float64)
    for c in labels.unique().tolist():
        out[c] = torch.quantile(values[labels == c].double(), q)
    return out


def _near_copies(fake: Tensor, labels: Tensor, real: Tensor, threshold: float, alive: np.ndarray) -> np.ndarray:
    """Images among ``alive`` at cosine ≥ threshold to a real image or to an earlier survivor of their class."""
    unit_fake, unit_real = F.normalize(fake.double(), dim=1), F.normalize(real.double(), dim=1)
    to_real = (unit_fake @ unit_real.T).max(dim=1).values.numpy() >= threshold
    dropped = np.zeros(len(fake), dtype=bool)
    kept_by_class: dict[int, list[int]] = {}
    for i in np.flatnonzero(alive):
        label = int(labels[i])
        earlier = kept_by_class.setdefault(label, [])
        duplicate = bool(earlier) and float((unit_fake[earlier] @ unit_fake[i]).max()) >= threshold
        if to_real[i] or duplicate:
            dropped[i] = True
        else:
            earlier.append(int(i))
    return dropped


def apply_filters(
    steps: Sequence[FilterStep],
    *,
    fake_labels: Tensor,
    num_classes: int,
    fake_features: Tensor | None = None,
    fake_logits: Tensor | None = None,
    real_features: Tensor | None = None,
    real_labels: Tensor | None = None,
    real_logits: Tensor | None = None,
) -> pd.DataFrame:
    """Score every synthetic image and decide which filter (if any) drops it.

    Returns:
        one row per synthetic image: the scores the steps used (``confidence``, ``ood_distance``, ``energy``,
        ``nn_cosine``), ``dropped_by`` (the first step that dropped it, or empty) and ``passed``.
    """
    n = len(fake_labels)
    frame = pd.DataFrame(index=range(n))
    dropped_by = np.array([""] * n, dtype=object)
    for step in steps:
        alive = dropped_by == ""
        if step.name in ("confidence", "energy") and fake_logits is None:
            raise ConfigError(f"filter {step} needs the judge classifier's logits of the synthetic images")
        if step.name in ("ood", "dedupe") and (fake_features is None or real_features is None):
            raise ConfigError(f"filter {step} needs real and synthetic features")
        if step.name == "confidence":
            probs = fake_logits.double().softmax(1).gather(1, fake_labels.view(-1, 1)).squeeze(1)
            frame["confidence"] = probs.numpy()
            drop = probs.numpy() < step.value
        elif step.name == "ood":
            fake_d, real_d = mahalanobis_distances(real_features, real_labels, fake_features, fake_labels, num_classes)
            limit = _per_class_quantile(real_d, real_labels, step.value, num_classes)[fake_labels]
            frame["ood_distance"] = fake_d.numpy()
            drop = (fake_d > limit).numpy()
        elif step.name == "energy":
            if real_logits is None:
                raise ConfigError(f"filter {step} needs the judge classifier's logits of the real training images")
            fake_e, real_e = -fake_logits.double().logsumexp(1), -real_logits.double().logsumexp(1)
            limit = _per_class_quantile(real_e, real_labels, step.value, num_classes)[fake_labels]
            frame["energy"] = fake_e.numpy()
            drop = (fake_e > limit).numpy()
        else:  # dedupe
            unit_fake, unit_real = (
                F.normalize(fake_features.double(), dim=1),
                F.normalize(real_features.double(), dim=1),
            )
            frame["nn_cosine"] = (unit_fake @ unit_real.T).max(dim=1).values.numpy()
            drop = _near_copies(fake_features, fake_labels, real_features, step.value, alive)
        dropped_by[alive & drop] = str(step)
    frame["dropped_by"] = dropped_by
    frame["passed"] = dropped_by == ""
    return frame


def select_budget(codes: Sequence[str], passed: Sequence[bool], budget: Mapping[str, int]) -> np.ndarray:
    """Keep the first ``budget[code]`` images that passed, per class, in the given (plan) order."""
    taken: dict[str, int] = {}
    keep = np.zeros(len(codes), dtype=bool)
    for i, (code, ok) in enumerate(zip(codes, passed, strict=True)):
        if ok and taken.get(code, 0) < int(budget.get(code, 0)):
            keep[i] = True
            taken[code] = taken.get(code, 0) + 1
    return keep


def selection_summary(
    codes: Sequence[str], frame: pd.DataFrame, keep: np.ndarray, budget: Mapping[str, int]
) -> pd.DataFrame:
    """Per class: generated, passed, kept, the budget, and how many each filter dropped."""
    data = frame.assign(code=list(codes), kept=keep)
    summary = data.groupby("code", sort=False).agg(generated=("passed", "size"), passed=("passed", "sum"),
                                                   kept=("kept", "sum"))  # fmt: skip
    summary["budget"] = [int(budget.get(code, 0)) for code in summary.index]
    for step in sorted(set(data["dropped_by"]) - {""}):
        summary[f"dropped {step}"] = data[data["dropped_by"] == step].groupby("code").size()
    return summary.fillna(0).astype(int)
