from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from skinsynth.models.metrics import classification_metrics, compute_metrics, flatten_metrics

CODES = ["a", "b", "c", "d"]


@pytest.fixture
def predictions() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    labels = torch.tensor([0] * 20 + [1] * 10 + [2] * 6 + [3] * 4)
    logits = torch.randn(40, 4, generator=generator) + 1.5 * torch.nn.functional.one_hot(labels, 4)
    return logits.softmax(1), labels


def test_every_metric_matches_scikit_learn(predictions) -> None:
    probs, labels = predictions
    result = compute_metrics(probs, labels, CODES)
    y, p, pred = labels.numpy(), probs.numpy(), probs.argmax(1).numpy()
    assert result["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-6)
    assert result["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred), abs=1e-6)
    assert result["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=1e-6)
    assert result["auroc"] == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr", average="macro"), abs=1e-6)
    one_hot = np.eye(4)[y]
    assert result["auprc"] == pytest.approx(skm.average_precision_score(one_hot, p, average="macro"), abs=1e-6)
    for name, function in (("f1", skm.f1_score), ("recall", skm.recall_score), ("precision", skm.precision_score)):
        expected = function(y, pred, average=None, zero_division=0)
        assert list(result[name].values()) == pytest.approx(expected.tolist(), abs=1e-6)
    assert result["confusion_matrix"] == skm.confusion_matrix(y, pred).tolist()
    assert result["support"] == {"a": 20, "b": 10, "c": 6, "d": 4}


def test_balanced_accuracy_is_not_plain_accuracy() -> None:
    # always predicting the majority class: accuracy 0.75, balanced accuracy 0.5
    labels = torch.tensor([0, 0, 0, 1])
    probs = torch.tensor([[0.9, 0.1]] * 4)
    result = compute_metrics(probs, labels, ["x", "y"])
    assert result["accuracy"] == pytest.approx(0.75)
    assert result["balanced_accuracy"] == pytest.approx(0.5)


def test_flatten_names_per_class_values(predictions) -> None:
    probs, labels = predictions
    collection = classification_metrics(4).clone(prefix="val_")
    flat = flatten_metrics(collection(probs, labels), CODES)
    assert "val_confusion_matrix" not in flat
    assert {"val_balanced_accuracy", "val_f1_a", "val_recall_d", "val_precision_c"} <= set(flat)
    assert all(isinstance(v, float) for v in flat.values())


def test_balanced_accuracy_averages_only_the_classes_present_in_the_labels() -> None:
    # class c has no test images but is predicted once: recall a = 1, b = 1/2, c undefined
    probs = torch.tensor([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])
    labels = torch.tensor([0, 0, 1, 1])
    result = compute_metrics(probs, labels, ["a", "b", "c"])
    assert result["balanced_accuracy"] == pytest.approx((1 + 0.5) / 2)
    assert result["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(labels, probs.argmax(1)))
    assert result["absent_classes"] == ["c"]
    assert compute_metrics(probs[:3], labels[:3], ["a", "b", "c"])["absent_classes"] == ["c"]
    collection = classification_metrics(3)
    assert float(collection(probs, labels)["balanced_accuracy"]) == pytest.approx(0.75)  # what training logs too
