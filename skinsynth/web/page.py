"""The static study page: ``index.html`` in a run directory, from the files the study wrote.

It shows the arms table (mean ± std [bootstrap CI] and the paired comparison against ``real`` when the directory
holds a multi-seed study), per-class F1 with its change against ``real``, the confusion matrices, the real-vs-
synthetic grids, the quality and memorization figures and tables of every synthetic set, the post-selection
summaries and the generators' sample grids. Figures are linked by relative path, so the page opens from disk
(``file://``) or from any static file server, and nothing leaves the machine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from skinsynth.errors import DataError
from skinsynth.io import atomic_write_text

PAGE_FILE = "index.html"
HEADLINE = ("balanced_accuracy", "macro_f1", "accuracy", "auroc", "auprc")
LABELS = {
    "balanced_accuracy": "balanced acc.",
    "macro_f1": "macro-F1",
    "accuracy": "accuracy",
    "auroc": "AUROC",
    "auprc": "AUPRC",
}
QUALITY_COLUMNS = (
    "real",
    "synthetic",
    "fid",
    "kid",
    "precision",
    "recall",
    "density",
    "coverage",
    "diversity_real",
    "diversity_synthetic",
    "diversity_ratio",
)
FIGURE_CAPTIONS = {
    "real_vs_synthetic": "Real (upper row) and synthetic (lower row) images of each class",
    "closest_pairs": "The synthetic images closest to a real training image (memorization audit)",
    "tsne": "t-SNE of real and synthetic features per class",
}


def _number(value: Any, digits: int = 3, sign: bool = False) -> str:
    """A table cell: ``digits`` decimals below 10, fewer above (FID 74.7, 1200 images), ``–`` for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if sign:
        return f"{value:+.{digits}f}"
    whole = isinstance(value, int) or abs(value) >= 100  # counts print as counts
    places = 0 if whole else 1 if abs(value) >= 10 else digits
    return f"{value:.{places}f}"


def _cell(column: str, value: Any) -> str:
    """A quality-table cell: image counts as whole numbers (pandas rows hold them as floats)."""
    if column in ("real", "synthetic") and value is not None and not math.isnan(value):
        return str(int(value))
    return _number(value)


def _tone(delta: float | None) -> str:
    """The CSS class of a change against the reference: ``better``, ``worse`` or none when it rounds to zero."""
    if delta is None or abs(delta) < 0.0005:
        return ""
    return "better" if delta > 0 else "worse"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DataError(f"{str(path)!r} is not valid JSON ({error}); re-run the study to rewrite it") from None


def _arms_table(arms: Mapping[str, Mapping[str, Any]], reference: str = "real") -> dict[str, Any]:
    """Rows of (arm, cells): each headline metric with its change against ``reference``."""
    ref = arms.get(reference)
    metrics = [m for m in HEADLINE if all(m in a for a in arms.values())]
    rows = []
    for arm, values in arms.items():
        cells = []
        for m in metrics:
            delta = None if ref is None or arm == reference else values[m] - ref[m]
            cells.append(
                {
                    "value": _number(values[m]),
                    "delta": None if delta is None else _number(delta, sign=True),
                    "tone": _tone(delta),
                }
            )
        wall = values.get("wall_time_s")
        rows.append({"arm": arm, "cells": cells, "wall": "–" if wall is None else f"{wall:.0f}"})
    return {"columns": [LABELS[m] for m in metrics], "rows": rows}


def _per_class_table(arms: Mapping[str, Mapping[str, Any]], codes: Sequence[str], reference: str = "real") -> dict:
    ref = arms.get(reference)
    rows = []
    for arm, values in arms.items():
        cells = []
        for code in codes:
            value = values.get("f1", {}).get(code)
            delta = None if ref is None or arm == reference or value is None else value - ref["f1"][code]
            cells.append(
                {
                    "value": _number(value),
                    "delta": None if delta is None else _number(delta, sign=True),
                    "tone": _tone(delta),
                }
            )
        rows.append({"arm": arm, "cells": cells})
    return {"columns": list(codes), "rows": rows}


def _aggregate_tables(result: Mapping[str, Any], codes: Sequence[str]) -> dict[str, Any]:
    """The multi-seed tables of ``aggregate.json`` (see :func:`skinsynth.stats.aggregate`)."""

    def spread(s: Mapping[str, Any]) -> str:
        return f"{_number(s['mean'])} ± {_number(s['std'])} [{_number(s['ci_low'])}, {_number(s['ci_high'])}]"

    metrics = list(next(iter(result["arms"].values()))) if result.get("arms") else []
    arms = [
        {"arm": arm, "cells": [spread(v[m]) for m in metrics], "seeds": len(v[metrics[0]]["values"])}
        for arm, v in result.get("arms", {}).items()
    ]
    paired = []
    for arm, by_metric in result.get("paired", {}).items():
        c = by_metric["balanced_accuracy"]
        paired.append(
            {
                "arm": arm,
                "per_seed": ", ".join(_number(d, sign=True) for d in c["differences"]),
                "mean": f"{_number(c['mean'], sign=True)} [{_number(c['ci_low'], sign=True)}, "
                f"{_number(c['ci_high'], sign=True)}]",
                "tone": _tone(c["mean"]),
                "wins": f"{c['wins']}/{c['n']}",
                "t": _number(c.get("t_pvalue")),
                "wilcoxon": _number(c.get("wilcoxon_pvalue")),
            }
        )
    deltas = [
        {
            "arm": arm,
            "cells": [
                {"value": _number(by_code[code]["mean"], sign=True), "tone": _tone(by_code[code]["mean"])}
                for code in codes
            ],
        }
        for arm, by_code in result.get("per_class_f1_delta", {}).items()
    ]
    return {
        "seeds": result.get("seeds", []),
        "baseline": result.get("baseline", "real"),
        "columns": [LABELS.get(m, m) for m in metrics],
        "codes": list(codes),
        "arms": arms,
        "paired": paired,
        "deltas": deltas,
    }


def _synthetic_sets(run_dir: Path) -> list[dict[str, Any]]:
    """Every scored synthetic set: its evidence table, figures, post-selections and sample grids."""
    sets = []
    for quality_dir in sorted(p for p in (run_dir / "quality").glob("*") if p.is_dir()):
        name = quality_dir.name
        entry: dict[str, Any] = {"name": name, "figures": [], "selections": [], "grid": None, "table": None}
        evidence = quality_dir / "evidence.json"
        if evidence.is_file():
            summary = _read_json(evidence)
            table = pd.DataFrame.from_dict(summary.get("quality", {}), orient="index")
            shown = [c for c in QUALITY_COLUMNS if c in table.columns]
            near = {code: row.get("near_copy_fraction") for code, row in summary.get("memorization", {}).items()}
            near["all"] = summary.get("near_copy_fraction")
            entry["feature_space"] = summary.get("feature_space", "")
            entry["warnings"] = summary.get("warnings", [])
            entry["table"] = {
                "columns": [*shown, "near copies"],
                "rows": [
                    {"code": code, "cells": [*(_cell(c, row[c]) for c in shown), _number(near.get(code))]}
                    for code, row in table.iterrows()
                ],
            }
        for stem, caption in FIGURE_CAPTIONS.items():
            if (quality_dir / f"{stem}.png").is_file():
                entry["figures"].append({"src": f"quality/{name}/{stem}.png", "caption": caption})
        for path in sorted(quality_dir.glob("selection-*-summary.csv")):
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
            entry["selections"].append(
                {
                    "spec": path.name.removeprefix("selection-").removesuffix("-summary.csv"),
                    "columns": list(table.columns),
                    "rows": table.values.tolist(),
                }
            )
        grids = sorted((run_dir / "grids" / name).glob("samples_epoch*.png"))
        if grids:
            entry["grid"] = grids[-1].relative_to(run_dir).as_posix()
        sets.append(entry)
    return sets


def study_page_context(run_dir: str | Path) -> dict[str, Any]:
    """Everything the page shows, read from ``run_dir`` (a study, or a multi-seed study's root).

    Raises:
        DataError: ``run_dir`` holds neither ``metrics.json`` (a finished study) nor ``aggregate.json`` (a finished
            multi-seed study).
    """
    run_dir = Path(run_dir)
    metrics_file, aggregate_file = run_dir / "metrics.json", run_dir / "aggregate.json"
    if not metrics_file.is_file() and not aggregate_file.is_file():
        raise DataError(
            f"{str(run_dir)!r} holds no metrics.json or aggregate.json: point `skinsynth page` at the run directory "
            "of a finished study (or the root of a `seeds` study)"
        )
    context: dict[str, Any] = {"title": run_dir.resolve().name, "aggregate": None, "seed_pages": [], "study": None}
    if aggregate_file.is_file():
        result = _read_json(aggregate_file)
        seed_dirs = sorted(p.parent for p in run_dir.glob("seed-*/metrics.json"))
        codes = _read_json(seed_dirs[0] / "metrics.json").get("class_codes", []) if seed_dirs else []
        if not codes and result.get("per_class_f1_delta"):
            codes = list(next(iter(result["per_class_f1_delta"].values())))
        context["aggregate"] = _aggregate_tables(result, codes)
        context["seed_pages"] = [f"{p.name}/{PAGE_FILE}" for p in seed_dirs]
    if metrics_file.is_file():
        metrics = _read_json(metrics_file)
        arms, codes = metrics.get("arms", {}), metrics.get("class_codes", [])
        config = metrics.get("config", {})
        context["study"] = {
            "config": {
                k: config[k]
                for k in ("dataset", "shots", "image_size", "backbone", "epochs", "seed", "budget", "unlabeled_pool")
                if k in config
            },
            "arms": _arms_table(arms),
            "per_class": _per_class_table(arms, codes),
            "support": next(iter(arms.values()), {}).get("support", {}),
            "confusions": [
                {"arm": arm, "src": f"confusion_{arm}.png"}
                for arm in arms
                if (run_dir / f"confusion_{arm}.png").is_file()
            ],
            "per_class_figure": "per_class_f1.png" if (run_dir / "per_class_f1.png").is_file() else None,
            "train_grid": "train_grid.png" if (run_dir / "train_grid.png").is_file() else None,
            "synthetic": _synthetic_sets(run_dir),
        }
    return context


def render_study_page(context: Mapping[str, Any]) -> str:
    """The page's HTML (Jinja2, autoescaped) for a :func:`study_page_context`."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(loader=PackageLoader("skinsynth.web", "templates"), autoescape=select_autoescape())
    return environment.get_template("study.html").render(**context)


def write_study_page(run_dir: str | Path) -> Path:
    """Write ``run_dir/index.html`` (atomically; also one per ``seed-<k>`` of a multi-seed study) and return it."""
    run_dir = Path(run_dir)
    for seed_dir in sorted(p.parent for p in run_dir.glob("seed-*/metrics.json")):
        atomic_write_text(render_study_page(study_page_context(seed_dir)), seed_dir / PAGE_FILE)
    return atomic_write_text(render_study_page(study_page_context(run_dir)), run_dir / PAGE_FILE)
