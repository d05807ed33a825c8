"""The report stage of a study: ``metrics.json``, ``report.md``, figures and the study page (``index.html``).

It covers every finished arm in the run directory, the evidence about each synthetic set and its post-selections.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from skinsynth.study.context import StudyContext
from skinsynth.study.evidence_stage import finished_evidence
from skinsynth.study.run_dir import read_arm_metrics


def write_study_report(ctx: StudyContext, results: dict[str, dict[str, Any]]) -> None:
    """Report ``results`` (this run's arms) with every other finished arm of the run directory.

    A study run with ``--generator gan`` and again with ``--generator cvae`` in the same directory reports both
    (their settings agree; ``config.yaml`` checks).
    """
    from skinsynth.report import evidence_markdown, markdown_table, write_report
    from skinsynth.web.page import write_study_page

    everything = dict(results)
    for path in sorted((ctx.run_dir / "arms").glob("*/metrics.json")):
        if path.parent.name not in everything:
            metrics = read_arm_metrics(path, ctx.class_codes)
            if metrics is not None:
                everything[path.parent.name] = metrics
    evidence = finished_evidence(ctx)
    sections = [evidence_markdown(name, summary) for name, summary in evidence.items()]
    for path in sorted((ctx.run_dir / "quality").glob("*/selection-*-summary.csv")):
        spec = path.name.removeprefix("selection-").removesuffix("-summary.csv")
        table = pd.read_csv(path).set_index("code")
        sections.append(
            f"## Post-selection `{spec}` of `{path.parent.name}`\n\nPer class: images generated, "
            f"passing every filter, kept for training (at most the budget), and dropped by each "
            f"filter.\n\n{markdown_table(table)}\n"
        )
    extra = {"config": ctx.config.to_dict(), "synthetic": evidence}
    files = write_report(ctx.run_dir, everything, ctx.class_codes, extra=extra, sections=sections)
    print(f"[skinsynth] report: {files['report']}; page: {write_study_page(ctx.run_dir)}")
