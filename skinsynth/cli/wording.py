"""Error messages in the command line's words.

The library names a setting by its key, in backticks (`` `data_dir` ``), so a message reads the same from Python, a
YAML config or the command line. A command turns the keys it has flags for into those flags (``--data-dir``) before
it prints the message; any other backticked word is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_KEY = re.compile(r"`([a-z][a-z0-9_]*)`")


def cli_wording(message: str, keys: Iterable[str], renamed: Mapping[str, str] | None = None) -> str:
    """``message`` with every backticked key of ``keys`` written as its flag.

    A key's flag is ``--`` and the key with dashes (``on_bad_image`` → ``--on-bad-image``) unless ``renamed`` gives
    another (``{"gen_options": "--gen-option"}``).
    """
    known = set(keys)
    flags = dict(renamed or {})

    def flag(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in flags:
            return flags[key]
        return "--" + key.replace("_", "-") if key in known else match.group(0)

    return _KEY.sub(flag, message)
