"""The per-class quality table: a collapsed class is told apart from a healthy one."""

from __future__ import annotations

import math

import pytest
import torch

from skinsynth.quality.distances import distances_from_features, feature_distances
from skinsynth.quality.evaluate import synthetic_quality


class Flatten(torch.nn.Module):
    num_features = 3 * 8 * 8

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


def test_distances_from_features_equal_those_from_images() -> None:
    g = torch.Generator().manual_seed(0)
    real, fake = torch.rand(30, 3, 8, 8, generator=g), torch.rand(30, 3, 8, 8, generator=g) * 0.5
    from_images = feature_distances(Flatten(), [real], [fake], kid_subset_size=20)
    from_features = distances_from_features(real.flatten(1), fake.flatten(1), kid_subset_size=20)
    assert from_features["fid"] == pytest.approx(from_images["fid"], rel=1e-6)


def test_collapsed_class_has_low_diversity_ratio_and_recall() -> None:
    g = torch.Generator().manual_seed(0)
    real = torch.rand(24, 3, 16, 16, generator=g)
    real_codes = ["mel"] * 12 + ["df"] * 12
    healthy = torch.rand(12, 3, 16, 16, generator=g)
    collapsed = real[:1].repeat(12, 1, 1, 1) + 0.01 * torch.rand(12, 3, 16, 16, generator=g)
    fake = torch.cat([collapsed, healthy]).clamp(0, 1)
    fake_codes = ["mel"] * 12 + ["df"] * 12
    result = synthetic_quality(
        real.flatten(1), real_codes, fake.flatten(1), fake_codes, real, fake,
        class_codes=["akiec", "mel", "df"], feature_space="pixels", k=3,
    )  # fmt: skip
    table = result.table
    assert list(table.index) == ["mel", "df", "all"]  # akiec has no synthetic images: no row
    assert table.loc["mel", "diversity_ratio"] < 0.05 and table.loc["df", "diversity_ratio"] > 0.8
    assert table.loc["mel", "recall"] < table.loc["df", "recall"]
    assert table.loc["mel", "ms_ssim_diversity_synthetic"] < table.loc["mel", "ms_ssim_diversity_real"] / 5
    assert table.loc["all", "real"] == 24 and table.loc["all", "synthetic"] == 24
    assert result.feature_space == "pixels"
    assert len(result.warnings) == 2 and result.warnings[0].startswith("mel: 12 real and 12 synthetic")


def test_a_class_with_one_synthetic_image_gets_nan_scores_not_an_error() -> None:
    g = torch.Generator().manual_seed(1)
    real = torch.rand(8, 3, 16, 16, generator=g)
    fake = torch.rand(1, 3, 16, 16, generator=g)
    result = synthetic_quality(real.flatten(1), ["df"] * 8, fake.flatten(1), ["df"], real, fake, ["df"], "pixels")
    row = result.table.loc["df"]
    assert row["synthetic"] == 1 and math.isnan(row["fid"]) and math.isnan(row["precision"])
    assert row["diversity_real"] > 0
