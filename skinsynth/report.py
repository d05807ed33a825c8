"""Results of a study as files a researcher reads and cites: ``metrics.json``, ``report.md`` and figures.

``metrics.json`` holds every arm's metrics (macro, per class, confusion matrix, wall time). ``report.md`` has a table
of arms × {balanced accuracy, macro-F1, accuracy, AUROC} and a per-class F1 table with the change (Δ) against the
real-only arm. Figures: ``confusion_<arm>.png`` and ``per_class_f1.png``. :func:`aggregate_seeds` turns several
studies (one per seed) into mean ± std tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skinsynth.io import atomic_write_json, atomic_write_text

SUMMARY_COLUMNS = {
    "balanced_accuracy": "balanced acc.",
    "macro_f1": "macro-F1",
    "accuracy": "accuracy",
    "auroc": "AUROC",
    "auprc": "AUPRC",
}
REFERENCE_ARM = "real"


def _matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path, dpi: int = 120) -> Path:
    """Lay out, save (creating the folder) and close a matplotlib figure; returns the path."""
    plt = _matplotlib()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def plot_confusion(matrix: Sequence[Sequence[int]], class_codes: Sequence[str], path: str | Path, title: str) -> Path:
    """Confusion matrix: colour = row-normalized recall, text = counts."""
    plt = _matplotlib()
    counts = np.asarray(matrix, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    normalized = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    size = 1.0 + 0.6 * len(class_codes)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(normalized, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(class_codes)), class_codes, rotation=45, ha="right")
    ax.set_yticks(range(len(class_codes)), class_codes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(class_codes)):
        for j in range(len(class_codes)):
            colour = "white" if normalized[i, j] > 0.5 else "black"
            ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=8, color=colour)
    fig.colorbar(image, ax=ax, fraction=0.046, label="recall (row-normalized)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_per_class_f1(results: Mapping[str, Mapping[str, Any]], class_codes: Sequence[str], path: str | Path) -> Path:
    """Grouped bars: per-class F1 of every arm."""
    plt = _matplotlib()
    arms = list(results)
    width = 0.8 / max(len(arms), 1)
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(class_codes), 4))
    x = np.arange(len(class_codes))
    for i, arm in enumerate(arms):
        values = [results[arm]["f1"][c] for c in class_codes]
        ax.bar(x + (i - (len(arms) - 1) / 2) * width, values, width, label=arm)
    ax.set_xticks(x, class_codes)
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1 (test)")
    ax.legend(fontsize=8, ncols=min(len(arms), 4))
    ax.set_title("per-class F1 by arm")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def _delta(value: float, reference: float | None) -> str:
    if reference is None:
        return f"{value:.3f}"
    return f"{value:.3f} ({value - reference:+.3f})"


def summary_table(results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Arms × headline metrics (and wall time)."""
    rows = {arm: {label: m[key] for key, label in SUMMARY_COLUMNS.items()} for arm, m in results.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["wall time (s)"] = [m.get("wall_time_s", float("nan")) for m in results.values()]
    return table


def per_class_table(
    results: Mapping[str, Mapping[str, Any]], class_codes: Sequence[str], metric: str = "f1"
) -> pd.DataFrame:
    """Arms × classes for a per-class metric."""
    return pd.DataFrame({arm: [m[metric][c] for c in class_codes] for arm, m in results.items()}, index=class_codes).T


def _markdown(table: pd.DataFrame) -> str:
    header = "| " + " | ".join([table.index.name or "arm", *map(str, table.columns)]) + " |"
    rule = "|" + "---|" * (len(table.columns) + 1)
    lines = [header, rule]
    for index, row in table.iterrows():
        lines.append("| " + " | ".join([str(index), *map(str, row.tolist())]) + " |")
    return "\n".join(lines)


def results_markdown(
    results: Mapping[str, Mapping[str, Any]], class_codes: Sequence[str], title: str = "Few-shot study"
) -> str:
    """The study report: headline table and per-class F1, each value with Δ vs the real-only arm."""
    reference = results.get(REFERENCE_ARM)
    summary = summary_table(results)
    shown = summary.copy().astype(object)
    for key, label in SUMMARY_COLUMNS.items():
        ref = reference[key] if reference else None
        shown[label] = [_delta(v, ref if arm != REFERENCE_ARM else None) for arm, v in summary[label].items()]
    shown["wall time (s)"] = [f"{v:.0f}" for v in summary["wall time (s)"]]
    f1 = per_class_table(results, class_codes).astype(object)
    for arm in f1.index:
        for code in class_codes:
            ref = reference["f1"][code] if reference and arm != REFERENCE_ARM else None
            f1.loc[arm, code] = _delta(results[arm]["f1"][code], ref)
    support = next(iter(results.values())).get("support", {})
    lines = [
        f"# {title}",
        "",
        "Test-split metrics of every arm. Balanced accuracy (macro recall) is the headline metric; values in brackets",
        f"are the change against the real-only arm (`{REFERENCE_ARM}`).",
        "",
        _markdown(shown.rename_axis("arm")),
        "",
        "## Per-class F1",
        "",
        _markdown(f1.rename_axis("arm")),
        "",
    ]
    if support:
        lines += ["Test images per class: " + ", ".join(f"{c} {support[c]}" for c in class_codes), ""]
    absent = sorted({code for m in results.values() for code in m.get("absent_classes", [])})
    if absent:
        lines += [
            f"**No test images of {', '.join(absent)}**: balanced accuracy averages the recall of the other classes "
            "only, and the per-class numbers of the absent classes are not measurements.",
            "",
        ]
    lines += ["Figures: `per_class_f1.png`, " + ", ".join(f"`confusion_{arm}.png`" for arm in results), ""]
    return "\n".join(lines)


def write_report(
    run_dir: str | Path,
    results: Mapping[str, Mapping[str, Any]],
    class_codes: Sequence[str],
    extra: Mapping[str, Any] | None = None,
    title: str = "Few-shot study",
    sections: Sequence[str] = (),
) -> dict[str, Path]:
    """Write ``metrics.json``, ``report.md``, ``per_class_f1.png`` and ``confusion_<arm>.png`` into ``run_dir``.

    ``sections`` are Markdown sections appended to the report (e.g. the evidence about each synthetic set).
    """
    run_dir = Path(run_dir)
    files = {
        "metrics": atomic_write_json(
            {**(extra or {}), "class_codes": list(class_codes), "arms": results}, run_dir / "metrics.json"
        ),
        "report": atomic_write_text(
            "\n".join([results_markdown(results, class_codes, title), *sections]), run_dir / "report.md"
        ),
        "per_class_f1": plot_per_class_f1(results, class_codes, run_dir / "per_class_f1.png"),
    }
    for arm, metrics in results.items():
        files[f"confusion_{arm}"] = plot_confusion(
            metrics["confusion_matrix"], class_codes, run_dir / f"confusion_{arm}.png", f"{arm}: test confusion"
        )
    return files


def aggregate_seeds(metrics_files: Sequence[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean ± std over studies (one ``metrics.json`` per seed).

    Returns:
        (summary, per_class_f1): strings ``"0.512 ± 0.031"``; rows are arms, columns metrics or class codes.
    """
    runs = [json.loads(Path(f).read_text()) for f in metrics_files]
    codes = runs[0]["class_codes"]
    arms = [a for a in runs[0]["arms"] if all(a in r["arms"] for r in runs)]

    def mean_std(values: list[float], digits: int = 3) -> str:
        array = np.asarray(values, dtype=float)
        std = array.std(ddof=1) if len(array) > 1 else 0.0
        return f"{array.mean():.{digits}f} ± {std:.{digits}f}"

    summary = pd.DataFrame(
        {
            **{
                label: [mean_std([r["arms"][a][k] for r in runs]) for a in arms] for k, label in SUMMARY_COLUMNS.items()
            },
            "wall time (s)": [mean_std([r["arms"][a].get("wall_time_s", np.nan) for r in runs], 0) for a in arms],
        },
        index=arms,
    ).rename_axis("arm")
    per_class = pd.DataFrame(
        {c: [mean_std([r["arms"][a]["f1"][c] for r in runs]) for a in arms] for c in codes}, index=arms
    ).rename_axis("arm")
    return summary, per_class


def markdown_table(table: pd.DataFrame) -> str:
    """A DataFrame as a GitHub Markdown table (index first)."""
    return _markdown(table)


def evidence_markdown(generator: str, summary: dict[str, Any]) -> str:
    """The report section of one generator's evidence."""
    table = pd.DataFrame.from_dict(summary["quality"], orient="index")
    memo = pd.DataFrame.from_dict(summary["memorization"], orient="index")
    columns = ["real", "synthetic", "fid", "kid", "precision", "recall", "density", "coverage",
               "diversity_real", "diversity_synthetic", "diversity_ratio"]  # fmt: skip
    shown = table[columns].copy()
    shown["judge confidence"] = [summary["mean_confidence"].get(code, float("nan")) for code in shown.index]
    shown["near copies"] = [memo["near_copy_fraction"].get(code, float("nan")) for code in shown.index]
    shown.loc["all", "near copies"] = summary["near_copy_fraction"]
    lines = [
        f"## Synthetic data: `{generator}`",
        "",
        f"Feature space: **{summary['feature_space']}**. FID/KID (lower is closer), precision/recall/density/coverage "
        "(k-NN, k = 5), within-class diversity (mean feature cosine distance; ratio = synthetic / real of the same "
        "class), the judge's mean probability for the intended class, and the share of near-copies of a real "
        "training image (feature cosine ≥ 0.95 and SSIM ≥ 0.9 to its nearest real image). "
        f"Files: `quality/{generator}/`.",
        "",
        "| class | " + " | ".join(shown.columns) + " |",
        "|---|" + "---|" * len(shown.columns),
    ]
    for code, row in shown.iterrows():
        cells = [f"{int(v)}" if name in ("real", "synthetic") else f"{v:.3g}" for name, v in row.items()]
        lines.append(f"| {code} | " + " | ".join(cells) + " |")
    if summary["warnings"]:
        lines += ["", *[f"- {w}" for w in summary["warnings"]]]
    return "\n".join(lines) + "\n"
