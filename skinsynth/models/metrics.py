"""Classification metrics: one torchmetrics collection, macro and per class.

Balanced accuracy (macro recall) is the headline number: on a test set that is two-thirds nevi, plain accuracy
rewards a classifier that ignores the rare malignant classes. It averages the recall of the classes *present* in the
scored labels, as scikit-learn's ``balanced_accuracy_score`` does: a class with no test images has no recall, and
averaging a 0 in for it (what torchmetrics' macro recall does once the class is predicted) would punish the model for
a gap in the data. :func:`compute_metrics` names such classes in ``absent_classes``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassAUROC,
    MulticlassAveragePrecision,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

PER_CLASS = ("f1", "recall", "precision")


class BalancedAccuracy(MulticlassConfusionMatrix):
    """Mean recall over the classes that occur in the targets (NaN when nothing was scored)."""

    def compute(self) -> Tensor:
        """Balanced accuracy from the accumulated confusion matrix (rows: true classes)."""
        matrix = super().compute().double()
        support = matrix.sum(dim=1)
        present = support > 0
        if not present.any():
            return torch.tensor(float("nan"))
        return (matrix.diagonal()[present] / support[present]).mean().float()


HEADLINE = ("balanced_accuracy", "macro_f1", "accuracy", "auroc", "auprc")


def classification_metrics(num_classes: int) -> MetricCollection:
    """Metrics that take class probabilities (N, C) and labels (N,)."""
    k = num_classes
    return MetricCollection(
        {
            "accuracy": MulticlassAccuracy(k, average="micro"),
            "balanced_accuracy": BalancedAccuracy(k),
            "macro_f1": MulticlassF1Score(k, average="macro"),
            "auroc": MulticlassAUROC(k, average="macro"),
            "auprc": MulticlassAveragePrecision(k, average="macro"),
            "f1": MulticlassF1Score(k, average="none"),
            "recall": MulticlassRecall(k, average="none"),
            "precision": MulticlassPrecision(k, average="none"),
            "confusion_matrix": MulticlassConfusionMatrix(k),
        },
        compute_groups=False,
    )


def flatten_metrics(computed: dict[str, Tensor], class_codes: Sequence[str]) -> dict[str, float]:
    """Scalars for logging: macro values as they are, per-class vectors as ``f1_mel`` …; the matrix is left out."""
    flat: dict[str, float] = {}
    for name, value in computed.items():
        if name.endswith("confusion_matrix"):
            continue
        if value.ndim == 0:
            flat[name] = float(value)
        else:
            for code, item in zip(class_codes, value.tolist(), strict=True):
                flat[f"{name}_{code}"] = float(item)
    return flat


def compute_metrics(probs: Tensor, labels: Tensor, class_codes: Sequence[str]) -> dict[str, object]:
    """Every metric for saved predictions: macro scalars, per-class dicts and the confusion matrix as lists."""
    collection = classification_metrics(len(class_codes))
    computed = collection(probs.float(), labels.long())
    result: dict[str, object] = {name: float(computed[name]) for name in HEADLINE}
    for name in PER_CLASS:
        result[name] = dict(zip(class_codes, computed[name].tolist(), strict=True))
    result["confusion_matrix"] = computed["confusion_matrix"].to(torch.int64).tolist()
    result["support"] = dict(
        zip(class_codes, torch.bincount(labels.long(), minlength=len(class_codes)).tolist(), strict=True)
    )
    result["absent_classes"] = [code for code, n in result["support"].items() if n == 0]
    return result
