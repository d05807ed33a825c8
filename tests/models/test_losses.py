from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from skinsynth.models.losses import ClassificationLoss, build_loss


@pytest.fixture
def logits_labels() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(16, 5, generator=generator), torch.randint(0, 5, (16,), generator=generator)


def test_ce_matches_torch(logits_labels) -> None:
    logits, labels = logits_labels
    assert torch.allclose(build_loss("ce", 5)(logits, labels), F.cross_entropy(logits, labels), atol=1e-6)


def test_weighted_ce_matches_torch(logits_labels) -> None:
    logits, labels = logits_labels
    weights = [0.5, 1.0, 2.0, 3.0, 0.1]
    expected = F.cross_entropy(logits, labels, weight=torch.tensor(weights))
    assert torch.allclose(build_loss("weighted_ce", 5, class_weights=weights)(logits, labels), expected, atol=1e-6)


def test_label_smoothing_matches_torch(logits_labels) -> None:
    logits, labels = logits_labels
    expected = F.cross_entropy(logits, labels, label_smoothing=0.1)
    assert torch.allclose(build_loss("ce", 5, label_smoothing=0.1)(logits, labels), expected, atol=1e-6)


def test_focal_loss_by_hand(logits_labels) -> None:
    logits, labels = logits_labels
    p = logits.softmax(1)[torch.arange(16), labels]
    expected = (-((1 - p) ** 2) * p.log()).mean()
    focal = build_loss("focal", 5, focal_gamma=2.0)(logits, labels)
    assert torch.allclose(focal, expected, atol=1e-6)
    assert focal < F.cross_entropy(logits, labels)  # easy examples are down-weighted


def test_soft_targets_equal_hard_for_one_hot(logits_labels) -> None:
    logits, labels = logits_labels
    loss = ClassificationLoss(5)
    assert torch.allclose(loss(logits, F.one_hot(labels, 5).float()), loss(logits, labels), atol=1e-6)


def test_bad_loss_arguments() -> None:
    with pytest.raises(ValueError, match="needs class_weights"):
        build_loss("weighted_ce", 3)
    with pytest.raises(ValueError, match="unknown loss"):
        build_loss("hinge", 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2 class weights for 3 classes"):
        ClassificationLoss(3, class_weights=[1.0, 2.0])


def test_sample_weights_scale_each_samples_share(logits_labels) -> None:
    logits, labels = logits_labels
    per_sample = F.cross_entropy(logits, labels, reduction="none")
    weights = torch.tensor([0.25] * 8 + [1.0] * 8)
    expected = (weights * per_sample).sum() / weights.sum()
    assert torch.allclose(build_loss("ce", 5)(logits, labels, weights), expected, atol=1e-6)
    zero_first_half = build_loss("ce", 5)(logits, labels, torch.tensor([0.0] * 8 + [1.0] * 8))
    assert torch.allclose(zero_first_half, per_sample[8:].mean(), atol=1e-6)
