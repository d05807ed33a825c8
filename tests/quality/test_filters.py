"""Post-selection filters: parsing, each filter's decision on hand-made features, budget selection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skinsynth.errors import ConfigError
from skinsynth.quality.filters import (
    FilterStep,
    _mahalanobis,
    _mahalanobis_fit,
    apply_filters,
    mahalanobis_distances,
    parse_filters,
    select_budget,
    selection_summary,
)


def test_parse_filters_composes_steps_and_names_bad_ones() -> None:
    assert parse_filters("confidence:0.5+ood:0.95+dedupe:0.98") == [
        FilterStep("confidence", 0.5), FilterStep("ood", 0.95), FilterStep("dedupe", 0.98)
    ]  # fmt: skip
    assert parse_filters(None) == [] and parse_filters("none") == []
    for spec, message in [
        ("sharpness:0.5", "unknown filter 'sharpness'"),
        ("confidence", "needs a number"),
        ("confidence:nan", "finite number"),
        ("ood:1.5", r"must lie in \(0, 1\]"),
        ("dedupe:0", r"must lie in \(0, 1\]"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_filters(spec)


def test_confidence_filter_keeps_images_the_judge_assigns_to_their_class() -> None:
    logits = torch.tensor([[4.0, 0.0], [0.0, 4.0], [0.0, 0.0]])  # p(intended) = 0.98, 0.018, 0.5
    frame = apply_filters([FilterStep("confidence", 0.5)], fake_labels=torch.tensor([0, 0, 1]), num_classes=2,
                          fake_logits=logits)  # fmt: skip
    assert frame["passed"].tolist() == [True, False, True]
    assert frame["confidence"].round(3).tolist() == [0.982, 0.018, 0.5]
    assert frame["dropped_by"].tolist() == ["", "confidence:0.5", ""]


def test_ood_filter_drops_samples_far_from_their_class() -> None:
    g = torch.Generator().manual_seed(0)
    real = torch.cat([torch.randn(100, 4, generator=g), torch.randn(100, 4, generator=g) + 10])
    real_labels = torch.tensor([0] * 100 + [1] * 100)
    fake = torch.stack([torch.zeros(4), torch.full((4,), 10.0), torch.full((4,), 10.0)])
    frame = apply_filters([FilterStep("ood", 0.95)], fake_labels=torch.tensor([0, 1, 0]), num_classes=2,
                          fake_features=fake, real_features=real, real_labels=real_labels)  # fmt: skip
    # a class-1-looking image meant as class 0 is out of its class's distribution
    assert frame["passed"].tolist() == [True, True, False]
    assert frame.loc[2, "ood_distance"] > 5 * frame.loc[0, "ood_distance"] + 1


def test_ood_threshold_is_calibrated_out_of_fold_so_held_out_real_images_pass() -> None:
    # few images per class in many dimensions (20 in 200, like 50 in 512 judge features): in-sample distances are
    # smaller than a new image's, so a threshold calibrated on them rejects new real images of the same classes
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 200, generator=g) * 3

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.arange(3).repeat_interleave(n)
        return centres[labels] + torch.randn(len(labels), 200, generator=g), labels

    real, real_labels = draw(20)
    held_out, held_labels = draw(20)
    held_d, _ = mahalanobis_distances(real, real_labels, held_out, held_labels, 3)
    in_sample = _mahalanobis(real.double(), real_labels, *_mahalanobis_fit(real.double(), real_labels, 3))
    assert (held_d <= torch.quantile(in_sample, 0.95)).float().mean() < 0.1  # what the in-sample rule kept
    frame = apply_filters([FilterStep("ood", 0.95)], fake_labels=held_labels, num_classes=3, fake_features=held_out,
                          real_features=real, real_labels=real_labels)  # fmt: skip
    assert frame["passed"].mean() > 0.8
    swapped = (held_labels + 1) % 3  # the same images meant as another class are still dropped
    frame = apply_filters([FilterStep("ood", 0.95)], fake_labels=swapped, num_classes=3, fake_features=held_out,
                          real_features=real, real_labels=real_labels)  # fmt: skip
    assert not frame["passed"].any()


def test_energy_filter_uses_the_real_images_quantile() -> None:
    real_logits = torch.tensor([[5.0, 0.0], [6.0, 0.0], [7.0, 0.0]])  # energies ≈ -5.0, -6.0, -7.0
    fake_logits = torch.tensor([[6.5, 0.0], [1.0, 0.0]])  # ≈ -6.5 (in), ≈ -1.3 (out)
    frame = apply_filters(
        [FilterStep("energy", 1.0)], fake_labels=torch.tensor([0, 0]), num_classes=2,
        fake_logits=fake_logits, real_logits=real_logits, real_labels=torch.tensor([0, 0, 0]),
    )  # fmt: skip
    assert frame["passed"].tolist() == [True, False]


def test_dedupe_drops_copies_of_real_images_and_repeated_samples() -> None:
    real = torch.tensor([[1.0, 0.0, 0.0]])
    fake = torch.tensor([[1.0, 0.01, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.01], [0.0, 0.0, 1.0]])
    frame = apply_filters([FilterStep("dedupe", 0.99)], fake_labels=torch.tensor([0, 0, 0, 1]), num_classes=2,
                          fake_features=fake, real_features=real, real_labels=torch.tensor([0]))  # fmt: skip
    # 0 copies the real image, 2 repeats 1; 3 is new
    assert frame["passed"].tolist() == [False, True, False, True]


def test_steps_apply_in_order_and_budget_selection_takes_survivors_in_plan_order() -> None:
    logits = torch.tensor([[0.0, 5.0], [5.0, 0.0], [5.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0]])
    labels = torch.tensor([0, 0, 0, 0, 1])
    steps = parse_filters("confidence:0.5+dedupe:0.999")
    frame = apply_filters(steps, fake_labels=labels, num_classes=2, fake_logits=logits, fake_features=features,
                          real_features=torch.tensor([[-1.0, 0.0]]), real_labels=torch.tensor([0]))  # fmt: skip
    assert frame["dropped_by"].tolist() == ["confidence:0.5", "", "dedupe:0.999", "", ""]
    codes = ["mel", "mel", "mel", "mel", "df"]
    keep = select_budget(codes, frame["passed"], {"mel": 1, "df": 3})
    assert keep.tolist() == [False, True, False, False, True]
    summary = selection_summary(codes, frame, keep, {"mel": 1, "df": 3})
    assert summary.loc["mel"].to_dict() == {"generated": 4, "passed": 2, "kept": 1, "budget": 1,
                                            "dropped confidence:0.5": 1, "dropped dedupe:0.999": 1}  # fmt: skip
    assert summary.loc["df", "kept"] == 1 and summary.loc["df", "budget"] == 3
    assert np.array_equal(select_budget([], [], {}), np.zeros(0, dtype=bool))
