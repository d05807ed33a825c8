"""``skinsynth page RUN_DIR``: write the study page ``RUN_DIR/index.html`` (open it in any browser, no server)."""

from __future__ import annotations

import argparse
import sys

from skinsynth.cli.wording import cli_wording
from skinsynth.errors import SkinSynthError


def main(argv: list[str] | None = None) -> int:
    """Write the page; returns the exit code (2 when the folder holds no finished study)."""
    parser = argparse.ArgumentParser(prog="skinsynth page", description=__doc__)
    parser.add_argument("run_dir", help="a study's run directory, or the root of a --seeds study")
    args = parser.parse_args(argv)
    from skinsynth.web.page import write_study_page

    try:
        path = write_study_page(args.run_dir)
    except SkinSynthError as error:
        print(f"error: {cli_wording(str(error), {'seeds': '--seeds'})}", file=sys.stderr)  # of skinsynth fewshot
        return 2
    print(f"[skinsynth] study page: {path}")
    return 0
