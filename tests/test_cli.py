"""The ``skinsynth`` command: sub-command dispatch, help without heavy imports, errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from skinsynth import __version__
from skinsynth.cli import main
from skinsynth.cli.wording import cli_wording
from skinsynth.config import StudyConfig
from skinsynth.errors import ConfigError
from skinsynth.study.checks import check_config


def test_help_lists_the_commands(capsys: pytest.CaptureFixture) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: skinsynth COMMAND" in out and "fewshot" in out
    assert main([]) == 2  # no command: usage, and a failing exit code


def test_version_and_unknown_command(capsys: pytest.CaptureFixture) -> None:
    assert main(["--version"]) == 0 and capsys.readouterr().out.strip() == f"skinsynth {__version__}"
    assert main(["fweshot"]) == 2
    assert "unknown command 'fweshot'" in capsys.readouterr().err


def test_fewshot_errors_are_reported_with_exit_code_2_in_the_words_of_the_command_line(
    capsys: pytest.CaptureFixture,
) -> None:
    with pytest.raises(ConfigError, match="'ham10000' needs `data.data_dir`$"):  # the library names the setting's key
        check_config(StudyConfig.from_dict({"data": {"dataset": "ham10000"}}))
    assert main(["fewshot", "--dataset", "ham10000", "--logger", "none"]) == 2
    err = capsys.readouterr().err
    assert "'ham10000' needs --data-dir" in err and "`" not in err  # the command line names its flag
    assert main(["fewshot", "--gen-option", "lr=0.1", "--logger", "none"]) == 2
    assert "--gen-option ['lr'] given without a --generator" in capsys.readouterr().err


def test_cli_wording_turns_only_the_given_keys_into_flags() -> None:
    message = "raise `oversample_factor`, set `gen_options`, call `preview_sample` or `seed`"
    worded = cli_wording(message, {"oversample_factor": "--oversample-factor", "gen_options": "--gen-option"})
    assert worded == "raise --oversample-factor, set --gen-option, call `preview_sample` or `seed`"
    assert cli_wording("no keys here", {"seed": "--seed"}) == "no keys here"


def test_python_dash_m_runs_the_command_and_help_does_not_import_torch() -> None:
    result = subprocess.run([sys.executable, "-m", "skinsynth", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "fewshot" in result.stdout
    code = (
        "import sys\nfrom skinsynth.cli import main\ntry:\n    main(['fewshot', '--help'])\n"
        "except SystemExit:\n    pass\nprint('TORCH', 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "--generator" in out and out.strip().endswith("TORCH False")
