"""The ``skinsynth`` command: sub-command dispatch, help without heavy imports, errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from skinsynth import __version__
from skinsynth.cli import main


def test_help_lists_the_commands(capsys: pytest.CaptureFixture) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: skinsynth COMMAND" in out and "fewshot" in out
    assert main([]) == 2  # no command: usage, and a failing exit code


def test_version_and_unknown_command(capsys: pytest.CaptureFixture) -> None:
    assert main(["--version"]) == 0 and capsys.readouterr().out.strip() == f"skinsynth {__version__}"
    assert main(["fweshot"]) == 2
    assert "unknown command 'fweshot'" in capsys.readouterr().err


def test_fewshot_errors_are_reported_with_exit_code_2(capsys: pytest.CaptureFixture) -> None:
    assert main(["fewshot", "--dataset", "ham10000", "--logger", "none"]) == 2
    assert "needs --data-dir" in capsys.readouterr().err


def test_python_dash_m_runs_the_command_and_help_does_not_import_torch() -> None:
    result = subprocess.run([sys.executable, "-m", "skinsynth", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "fewshot" in result.stdout
    code = (
        "import sys\nfrom skinsynth.cli import main\ntry:\n    main(['fewshot', '--help'])\n"
        "except SystemExit:\n    pass\nprint('TORCH', 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "--generator" in out and out.strip().endswith("TORCH False")
