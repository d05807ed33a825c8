"""The few-shot study as a package of stages sharing one :class:`~skinsynth.study.context.StudyContext`.

``context`` (the shared state), ``data_stage`` (read and split), ``generator_stage`` (pretrain, train, materialize),
``evidence_stage`` (quality, memorization, post-selection), ``arms`` (train and test a classifier per arm),
``report`` (tables, figures, page) and ``runner`` (:class:`FewShotStudy` runs them in order; :func:`run_seeds`);
``arm_specs``, ``checks``, ``hardware``, ``run_dir`` and ``pretraining`` hold what the stages share.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FewShotStudy", "run_seeds"]


def __getattr__(name: str) -> Any:  # lazy: importing a stage module must not import every stage and its libraries
    if name in __all__:
        from skinsynth.study import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'skinsynth.study' has no attribute {name!r}")
