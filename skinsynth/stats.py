"""Statistics over seeds: mean ± std, bootstrap confidence intervals, and paired comparisons against a baseline arm.

A study run with several seeds gives, per arm, one score per seed. Seeds pair the arms: the same seed makes the same
split and initialization, so ``arm − real`` per seed removes the split-to-split variance that dominates few-shot
results. :func:`paired_comparison` reports those differences with a bootstrap CI of their mean, a paired t-test and
a Wilcoxon signed-rank test (scipy). With 3 seeds every interval is wide and the smallest two-sided Wilcoxon p-value
is 0.25: report the per-seed differences, and do not read "p < 0.05" into three numbers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def bootstrap_ci(
    values: Sequence[float], confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (scipy); (nan, nan) with fewer than 2 values, (v, v) if all are equal."""
    from scipy.stats import bootstrap

    data = np.asarray(values, dtype=float)
    if len(data) < 2:
        return math.nan, math.nan
    if np.all(data == data[0]):
        return float(data[0]), float(data[0])
    options = {"confidence_level": confidence, "n_resamples": resamples, "method": "percentile"}
    try:
        result = bootstrap((data,), np.mean, rng=np.random.default_rng(seed), **options)
    except TypeError:  # scipy < 1.15 names the seed random_state
        result = bootstrap((data,), np.mean, random_state=np.random.default_rng(seed), **options)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def summarize(values: Sequence[float], confidence: float = 0.95) -> dict[str, Any]:
    """``n``, ``mean``, ``std`` (ddof 1; 0 for one value), ``ci_low``/``ci_high`` (bootstrap) and the ``values``."""
    data = np.asarray(values, dtype=float)
    low, high = bootstrap_ci(data, confidence)
    return {
        "n": len(data),
        "mean": float(data.mean()) if len(data) else math.nan,
        "std": float(data.std(ddof=1)) if len(data) > 1 else 0.0,
        "ci_low": low,
        "ci_high": high,
        "values": [float(v) for v in data],
    }


def paired_comparison(arm: Sequence[float], baseline: Sequence[float], confidence: float = 0.95) -> dict[str, Any]:
    """``arm − baseline`` per seed: the differences, their summary, a paired t-test and a Wilcoxon test.

    Raises:
        ValueError: the two sequences differ in length (they must be paired by seed).
    """
    from scipy.stats import ttest_rel, wilcoxon

    a, b = np.asarray(arm, dtype=float), np.asarray(baseline, dtype=float)
    if len(a) != len(b):
        raise ValueError(f"paired comparison needs one value per seed on both sides, got {len(a)} and {len(b)}")
    differences = a - b
    out = summarize(differences, confidence)
    out["differences"] = out.pop("values")
    out["wins"] = int((differences > 0).sum())
    out["t_statistic"] = out["t_pvalue"] = out["wilcoxon_pvalue"] = math.nan
    if len(a) >= 2 and np.any(differences != differences[0]):
        test = ttest_rel(a, b)
        out["t_statistic"], out["t_pvalue"] = float(test.statistic), float(test.pvalue)
    if len(a) >= 1 and np.any(differences != 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns that small samples use the exact distribution
            out["wilcoxon_pvalue"] = float(wilcoxon(differences).pvalue)
    return out


def aggregate(
    per_seed: Mapping[int, Mapping[str, Mapping[str, Any]]],
    class_codes: Sequence[str],
    metrics: Sequence[str] = ("balanced_accuracy", "macro_f1", "accuracy"),
    baseline: str = "real",
) -> dict[str, Any]:
    """Aggregate ``{seed: {arm: metrics}}`` (each arm's ``metrics.json``) over the seeds every arm finished.

    Returns:
        ``{"seeds": [...], "arms": {arm: {metric: summary}}, "paired": {arm: {metric: comparison}},
        "per_class_f1_delta": {arm: {code: comparison}}}``; ``paired`` and the deltas are against ``baseline`` and
        only for seeds where both arms finished.
    """
    seeds = sorted(per_seed)
    arms = list(dict.fromkeys(arm for seed in seeds for arm in per_seed[seed]))
    out: dict[str, Any] = {"seeds": seeds, "baseline": baseline, "arms": {}, "paired": {}, "per_class_f1_delta": {}}
    for arm in arms:
        done = [s for s in seeds if arm in per_seed[s]]
        out["arms"][arm] = {m: summarize([per_seed[s][arm][m] for s in done]) | {"seeds": done} for m in metrics}
        both = [s for s in done if baseline in per_seed[s]]
        if arm == baseline or not both:
            continue
        out["paired"][arm] = {
            m: paired_comparison([per_seed[s][arm][m] for s in both], [per_seed[s][baseline][m] for s in both])
            | {"seeds": both}
            for m in metrics
        }
        out["per_class_f1_delta"][arm] = {
            code: paired_comparison(
                [per_seed[s][arm]["f1"][code] for s in both], [per_seed[s][baseline]["f1"][code] for s in both]
            )
            for code in class_codes
        }
    return out


def _fmt(x: float, digits: int = 3, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def aggregate_markdown(
    result: Mapping[str, Any], class_codes: Sequence[str], headline: str = "balanced_accuracy"
) -> str:
    """The multi-seed report: arms with mean ± std [CI], paired differences against the baseline, per-class ΔF1."""
    seeds, baseline = result["seeds"], result["baseline"]
    lines = [
        f"# Few-shot study over {len(seeds)} seed(s): {', '.join(map(str, seeds))}",
        "",
        "Mean ± std over seeds, with a percentile-bootstrap 95 % CI of the mean in brackets. With few seeds the CIs",
        "are wide and the tests weak (3 seeds: the smallest two-sided Wilcoxon p is 0.25); read the per-seed values.",
        "",
    ]
    metrics = list(next(iter(result["arms"].values()))) if result["arms"] else []
    lines += ["| arm | " + " | ".join(metrics) + " | seeds |", "|---|" + "---|" * (len(metrics) + 1)]
    for arm, by_metric in result["arms"].items():
        cells = [
            f"{_fmt(s['mean'])} ± {_fmt(s['std'])} [{_fmt(s['ci_low'])}, {_fmt(s['ci_high'])}]"
            for s in by_metric.values()
        ]
        lines.append(f"| {arm} | " + " | ".join(cells) + f" | {len(by_metric[metrics[0]]['values'])} |")
    if result["paired"]:
        lines += ["", f"## Paired against `{baseline}` ({headline})", "", paired_markdown(result, headline)]
        lines += ["", f"## Per-class F1 change against `{baseline}` (mean Δ [95 % CI])", ""]
        lines += ["| arm | " + " | ".join(class_codes) + " |", "|---|" + "---|" * len(class_codes)]
        for arm, by_code in result["per_class_f1_delta"].items():
            cells = [
                f"{_fmt(by_code[c]['mean'], sign=True)} [{_fmt(by_code[c]['ci_low'], sign=True)}, "
                f"{_fmt(by_code[c]['ci_high'], sign=True)}]"
                for c in class_codes
            ]
            lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def paired_markdown(result: Mapping[str, Any], metric: str = "balanced_accuracy") -> str:
    """The table of each arm paired with the baseline on ``metric`` (per-seed Δ, mean Δ [CI], wins, t, Wilcoxon)."""
    lines = ["| arm | per-seed Δ | mean Δ [95 % CI] | wins | paired t p | Wilcoxon p |", "|---|---|---|---|---|---|"]
    for arm, by_metric in result["paired"].items():
        c = by_metric[metric]
        per_seed = ", ".join(_fmt(d, sign=True) for d in c["differences"])
        lines.append(
            f"| {arm} | {per_seed} | {_fmt(c['mean'], sign=True)} [{_fmt(c['ci_low'], sign=True)}, "
            f"{_fmt(c['ci_high'], sign=True)}] | {c['wins']}/{c['n']} | {_fmt(c['t_pvalue'])} | "
            f"{_fmt(c['wilcoxon_pvalue'])} |"
        )
    return "\n".join(lines)
