"""Multi-seed statistics against hand-computed values and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from skinsynth.stats import aggregate, aggregate_markdown, bootstrap_ci, paired_comparison, summarize

CODES = ["mel", "nv"]


def arm(ba: float, f1_mel: float, f1_nv: float = 0.5) -> dict:
    return {"balanced_accuracy": ba, "macro_f1": ba - 0.1, "accuracy": ba + 0.1, "f1": {"mel": f1_mel, "nv": f1_nv}}


def test_summarize_gives_mean_sample_std_and_a_ci_around_the_mean() -> None:
    s = summarize([0.5, 0.6, 0.7])
    assert s["n"] == 3 and s["mean"] == pytest.approx(0.6) and s["std"] == pytest.approx(0.1)
    assert 0.5 <= s["ci_low"] <= 0.6 <= s["ci_high"] <= 0.7
    assert summarize([0.4])["std"] == 0.0 and math.isnan(summarize([0.4])["ci_low"])
    assert bootstrap_ci([0.3, 0.3, 0.3]) == (0.3, 0.3)
    assert bootstrap_ci([0.1, 0.2, 0.9]) == bootstrap_ci([0.1, 0.2, 0.9])  # seeded


def test_paired_comparison_matches_scipy_and_counts_wins() -> None:
    real, gen = [0.50, 0.48, 0.52], [0.53, 0.47, 0.58]
    c = paired_comparison(gen, real)
    assert c["differences"] == pytest.approx([0.03, -0.01, 0.06])
    assert c["mean"] == pytest.approx(np.mean([0.03, -0.01, 0.06])) and c["wins"] == 2
    assert c["t_pvalue"] == pytest.approx(scipy_stats.ttest_rel(gen, real).pvalue)
    assert c["wilcoxon_pvalue"] == pytest.approx(0.5)  # ranks 2, 1, 3 with one negative: exact p = 4/8
    with pytest.raises(ValueError, match="one value per seed on both sides, got 2 and 3"):
        paired_comparison([0.1, 0.2], real)


def test_identical_arms_have_zero_difference_and_undefined_tests() -> None:
    c = paired_comparison([0.5, 0.6], [0.5, 0.6])
    assert c["mean"] == 0 and math.isnan(c["t_pvalue"]) and math.isnan(c["wilcoxon_pvalue"])


def test_aggregate_pairs_by_seed_and_skips_unfinished_seeds() -> None:
    per_seed = {
        0: {"real": arm(0.50, 0.2), "real+gan": arm(0.55, 0.4)},
        1: {"real": arm(0.40, 0.3), "real+gan": arm(0.42, 0.2)},
        2: {"real": arm(0.45, 0.1)},  # real+gan did not finish for seed 2
    }
    result = aggregate(per_seed, CODES)
    assert result["arms"]["real"]["balanced_accuracy"]["n"] == 3
    assert result["arms"]["real+gan"]["balanced_accuracy"]["seeds"] == [0, 1]
    paired = result["paired"]["real+gan"]["balanced_accuracy"]
    assert paired["differences"] == pytest.approx([0.05, 0.02]) and paired["seeds"] == [0, 1]
    assert result["per_class_f1_delta"]["real+gan"]["mel"]["differences"] == pytest.approx([0.2, -0.1])
    assert "real" not in result["paired"]
    text = aggregate_markdown(result, CODES)
    assert "over 3 seed(s): 0, 1, 2" in text and "| real+gan | +0.050, +0.020 |" in text
    assert "## Per-class F1 change against `real`" in text
