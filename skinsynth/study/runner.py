"""FewShotStudy, the staged experiment behind ``skinsynth fewshot``, and :func:`run_seeds` over several seeds.

:func:`run_seeds` runs one study per seed and aggregates them.

Stages, each a module of this package sharing one :class:`~skinsynth.study.context.StudyContext` and each leaving
files in the run directory (``runs/<name>/``) so that a re-run resumes instead of redoing:

1. **data** (:mod:`~skinsynth.study.data_stage`) — read the dataset (generate the toy set), split it;
   ``split.csv``, ``config.yaml``, a grid of training images per class.
2. **generator** (:mod:`~skinsynth.study.generator_stage`) — pretrain on the pool (optional), train on the few-shot
   split, materialize the synthetic set; then **evidence** (:mod:`~skinsynth.study.evidence_stage`) — its quality,
   diversity and memorization, and the post-selections.
3. **arms** (:mod:`~skinsynth.study.arms`) — for every arm, train a classifier, select the epoch with the best
   validation balanced accuracy, test it; ``arms/<arm>/metrics.json`` and ``predictions.csv``. A finished arm is
   skipped on re-run.
4. **report** (:mod:`~skinsynth.study.report`) — ``metrics.json``, ``report.md``, figures, ``index.html``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from skinsynth.config import StudyConfig
from skinsynth.errors import ConfigError
from skinsynth.io import atomic_write_json, atomic_write_text
from skinsynth.study import arms, data_stage, evidence_stage, generator_stage
from skinsynth.study.arm_specs import Arm, study_arms
from skinsynth.study.checks import check_config
from skinsynth.study.context import StudyContext
from skinsynth.study.hardware import barrier, join_launched_processes, launched_rank
from skinsynth.study.report import write_study_report
from skinsynth.study.run_dir import RUN_MARKER, mark_run_dir


class FewShotStudy(StudyContext):
    """Run the study described by ``config``; :meth:`run` returns the per-arm metrics.

    The methods below run one stage each (the benchmark scripts call them one by one); :meth:`run` runs them all.
    """

    def __init__(self, config: StudyConfig) -> None:
        check_config(config)
        super().__init__(config)

    def prepare_data(self) -> None:
        """Stage 1: read and split the data (:func:`~skinsynth.study.data_stage.prepare_data`)."""
        data_stage.prepare_data(self)

    def run_generator(self) -> Path:
        """Stage 2: train the generator and materialize its set; returns the folder."""
        return generator_stage.run_generator(self)

    def run_evidence(self, generator: str) -> dict[str, Any] | None:
        """The evidence about ``generator``'s set (``None`` without a real arm to judge it)."""
        return evidence_stage.run_evidence(self, generator)

    def run_selection(self, generator: str, spec: str) -> None:
        """Post-select ``generator``'s set with ``spec`` (``synthetic/<gen>-<spec>``)."""
        evidence_stage.run_selection(self, generator, spec)

    def run_arm(self, arm: Arm) -> dict[str, Any]:
        """Stage 3 for one arm: train, select, test; returns its metrics (cached on disk)."""
        return arms.run_arm(self, arm)

    def arms(self) -> list[Arm]:
        """The arms this study runs, in order: the baselines, then the generator's arms."""
        return study_arms(self)

    def run(self) -> dict[str, dict[str, Any]]:
        """Run every stage; returns ``{arm: metrics}`` of this run's arms and writes the report.

        The report covers every finished arm in the run directory (:func:`~skinsynth.study.report.write_study_report`).
        """
        join_launched_processes(
            self.config.trainer.accelerator, self.config.trainer.devices, self.config.trainer.num_nodes
        )
        self.prepare_data()
        barrier()  # launched peers read what rank 0 wrote
        results = {arm.name: self.run_arm(arm) for arm in self.arms() if arm.generator is None}
        if self.config.generator.name != "none":
            self.run_generator()
            self.run_evidence(self.set_name())
            if self.selection_spec():
                self.run_selection(self.set_name(), self.selection_spec())
            barrier()
            results |= {arm.name: self.run_arm(arm) for arm in self.arms() if arm.generator is not None}
        if not all(results.values()):  # non-zero DDP ranks stop here
            return results
        write_study_report(self, results)
        return results


def run_seeds(config: StudyConfig) -> dict[str, Any]:
    """One study per seed of ``config.study.seeds`` (``<run_dir>/seed-<k>``), then the aggregate over the seeds.

    Writes ``<run_dir>/aggregate.json`` and ``aggregate.md``: mean ± std with bootstrap CIs per arm, and each arm
    paired with ``real`` seed by seed (differences, paired t, Wilcoxon, per-class F1 deltas). Every seed's study
    resumes like a single study.
    """
    from skinsynth.stats import aggregate, aggregate_markdown

    seeds = list(dict.fromkeys(config.study.seeds or []))
    if not seeds:
        raise ConfigError("`study.seeds` needs at least one seed, e.g. 0,1,2")
    root = Path(config.study.run_dir)
    if launched_rank() == 0:
        if root.is_dir() and any(root.iterdir()) and not (root / RUN_MARKER).is_file():
            raise ConfigError(
                f"run directory {str(root)!r} is not empty and is not a skinsynth study; choose a new or empty "
                "`study.run_dir`"
            )
        mark_run_dir(root)
    per_seed: dict[int, dict[str, Any]] = {}
    class_codes: list[str] = []
    for seed in seeds:
        study = FewShotStudy(config.replace(seed=seed, seeds=None, run_dir=str(root / f"seed-{seed}")))
        results = study.run()
        if launched_rank() != 0:
            continue
        class_codes = study.class_codes
        finished = json.loads((study.run_dir / "metrics.json").read_text())["arms"]
        per_seed[seed] = {arm: finished[arm] for arm in results}
    if launched_rank() != 0:
        return {}
    result = aggregate(per_seed, class_codes)
    atomic_write_json(result, root / "aggregate.json")
    atomic_write_text(aggregate_markdown(result, class_codes), root / "aggregate.md")
    from skinsynth.web.page import write_study_page

    print(f"[skinsynth] aggregate over seeds {seeds}: {root / 'aggregate.md'}; page: {write_study_page(root)}")
    return result
