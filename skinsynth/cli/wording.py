"""Error messages in the command line's words.

The library names a setting by its key, in backticks (`` `data_dir` ``), so a message reads the same from Python, a
YAML config or the command line. A command turns the keys it has flags for into those flags (``--data-dir``) before
it prints the message; any other backticked word is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_KEY = re.compile(r"`([a-z][a-z0-9_.]*)`")


def cli_wording(message: str, flags: Mapping[str, str]) -> str:
    """``message`` with every backticked key of ``flags`` written as its flag (``{"data_dir": "--data-dir"}``)."""
    return _KEY.sub(lambda match: flags.get(match.group(1), match.group(0)), message)
