"""Precision/recall/density/coverage, diversity and the memorization audit against hand-computed values."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from skinsynth.quality.diversity import feature_diversity, ms_ssim_diversity, ms_ssim_settings
from skinsynth.quality.manifold import prdc
from skinsynth.quality.memorization import memorization_audit, plot_closest_pairs


def column(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64).unsqueeze(1)


def test_prdc_on_a_line_matches_the_hand_computed_values() -> None:
    # real 0,1,2,3 → k=1 radii all 1; fake 0.5, 10, 11 → radii 9.5, 1, 1
    scores = prdc(column(0, 1, 2, 3), column(0.5, 10, 11), k=1)
    assert scores["precision"] == pytest.approx(1 / 3)  # only 0.5 lies in a real ball
    assert scores["recall"] == pytest.approx(1.0)  # the outlier's 9.5-wide ball swallows every real point
    assert scores["density"] == pytest.approx(2 / 3)  # 0.5 lies in the balls of 0 and 1: 2 / (k · 3)
    assert scores["coverage"] == pytest.approx(0.5)  # reals 0 and 1 have a fake within their radius


def test_prdc_of_a_distribution_with_itself_is_high_and_of_a_collapsed_one_low() -> None:
    g = torch.Generator().manual_seed(0)
    real = torch.randn(200, 8, generator=g)
    same = torch.randn(200, 8, generator=g)
    collapsed = real[:1].repeat(200, 1) + 1e-3 * torch.randn(200, 8, generator=g)
    good, bad = prdc(real, same), prdc(real, collapsed)
    assert good["precision"] > 0.6 and good["recall"] > 0.6 and good["coverage"] > 0.8
    assert bad["recall"] < 0.05 and bad["coverage"] < 0.05
    with pytest.raises(ValueError, match="more than 5 real and synthetic images, got 200 real and 3 synthetic"):
        prdc(real, same[:3])


def test_feature_diversity_is_zero_for_copies_and_one_for_orthogonal_features() -> None:
    assert feature_diversity(torch.ones(4, 3)) == pytest.approx(0.0, abs=1e-12)
    assert feature_diversity(torch.eye(3)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 2 images"):
        feature_diversity(torch.ones(1, 3))


def test_ms_ssim_settings_shrink_with_the_image() -> None:
    assert ms_ssim_settings(256) == (pytest.approx((0.0448, 0.2856, 0.3001, 0.2363, 0.1333), rel=1e-3), 11)
    weights, kernel = ms_ssim_settings(16)
    assert len(weights) == 3 and kernel == 3 and sum(weights) == pytest.approx(1.0)


def test_ms_ssim_diversity_separates_copies_from_noise() -> None:
    g = torch.Generator().manual_seed(0)
    noise = torch.rand(6, 3, 32, 32, generator=g)
    assert ms_ssim_diversity(noise[:1].repeat(6, 1, 1, 1)) == pytest.approx(0.0, abs=1e-4)
    jittered = (noise[:1] + 0.05 * torch.rand(6, 3, 32, 32, generator=g)).clamp(0, 1)
    assert 0.0 < ms_ssim_diversity(jittered) < ms_ssim_diversity(noise)
    assert ms_ssim_diversity(noise) > 0.3


def test_memorization_audit_flags_the_copy_and_names_its_source(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    real = torch.rand(5, 3, 16, 16, generator=g)
    fake = torch.cat([real[2:3], torch.rand(3, 3, 16, 16, generator=g)])
    flatten = lambda x: x.flatten(1)  # noqa: E731 - pixels as features
    audit = memorization_audit(
        flatten(fake), flatten(real), fake, real,
        fake_codes=["mel", "mel", "df", "df"], real_codes=["nv", "nv", "mel", "df", "df"],
    )  # fmt: skip
    first = audit.per_image.iloc[0]
    assert first["nearest_real"] == 2 and first["nearest_real_code"] == "mel"
    assert first["cosine"] == pytest.approx(1.0) and first["ssim"] == pytest.approx(1.0, abs=1e-4)
    assert audit.per_image["near_copy"].tolist() == [True, False, False, False]
    assert audit.per_class.loc["mel", "near_copy_fraction"] == 0.5
    assert audit.per_class.loc["df", "near_copy_fraction"] == 0.0
    # close in feature space alone is not a copy: a blurred version of a real image keeps its features, not its pixels
    blurred = torch.nn.functional.avg_pool2d(real[:1], 3, stride=1, padding=1)
    loose = memorization_audit(flatten(real[:1]), flatten(real), blurred, real, ["nv"], ["nv"] * 5,
                               cosine_threshold=0.5, ssim_threshold=0.99)  # fmt: skip
    row = loose.per_image.iloc[0]
    assert row["cosine_above"] and not row["ssim_above"] and not row["near_copy"]
    figure = plot_closest_pairs(audit, fake, real, tmp_path / "pairs.png", pairs=3)
    assert figure.is_file() and figure.stat().st_size > 1000
