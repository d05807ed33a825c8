"""The study report: tables, deltas against the real-only arm, and notes on what the numbers cannot say."""

from __future__ import annotations

import torch

from skinsynth.models.metrics import compute_metrics
from skinsynth.report import results_markdown

CODES = ["a", "b", "c"]


def arm_metrics(predicted: list[int], labels: list[int]) -> dict:
    probs = torch.nn.functional.one_hot(torch.tensor(predicted), 3).float() * 0.9 + 0.1 / 3
    return compute_metrics(probs, torch.tensor(labels), CODES)


def test_report_names_classes_without_test_images_and_shows_deltas() -> None:
    labels = [0, 0, 1, 1]
    results = {"real": arm_metrics([0, 0, 1, 2], labels), "real+gan": arm_metrics([0, 0, 1, 1], labels)}
    text = results_markdown(results, CODES)
    assert "**No test images of c**" in text
    assert "| real+gan | 1.000 (+0.250)" in text  # balanced accuracy 1.0 against real's 0.75
    complete = {"real": arm_metrics([0, 1, 2], [0, 1, 2])}
    assert "No test images" not in results_markdown(complete, CODES)
