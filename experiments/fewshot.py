"""Run a few-shot study from a source checkout: the same command as ``skinsynth fewshot`` (``--help`` for options).

A thin wrapper kept for the README's demo command and existing scripts; the CLI lives in
:mod:`skinsynth.cli.fewshot`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout without installing

from skinsynth.cli.fewshot import StudyConfig, build_parser, main, resolve_config

__all__ = ["StudyConfig", "build_parser", "main", "resolve_config"]

if __name__ == "__main__":
    sys.exit(main())
