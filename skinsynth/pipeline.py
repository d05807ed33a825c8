"""The study's former single module, kept as an import path: the study is now the package :mod:`skinsynth.study`.

``from skinsynth.pipeline import FewShotStudy, run_seeds`` keeps working; new code imports from
:mod:`skinsynth.study` (``FewShotStudy``, ``run_seeds``) or from the stage modules.
"""

from __future__ import annotations

from skinsynth.study.arm_specs import BASELINE_ARMS, Arm, generator_arms, split_budget
from skinsynth.study.checks import check_config
from skinsynth.study.hardware import (
    device_count,
    generator_checkpoint,
    launched_rank,
    module_trainer_arguments,
    srun_ranks,
)
from skinsynth.study.runner import FewShotStudy, run_seeds

__all__ = [
    "BASELINE_ARMS",
    "Arm",
    "FewShotStudy",
    "check_config",
    "device_count",
    "generator_arms",
    "generator_checkpoint",
    "launched_rank",
    "module_trainer_arguments",
    "run_seeds",
    "split_budget",
    "srun_ranks",
]
