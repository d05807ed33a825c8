"""The ``skinsynth`` command: ``fewshot`` runs a study; ``page`` and ``reader-study`` show one in the browser.

``skinsynth COMMAND --help`` lists a command's options.

Each sub-command lives in its own module and is imported only when it runs, so ``skinsynth --help`` is instant.
"""

from __future__ import annotations

import importlib
import sys

from skinsynth import __version__

COMMANDS = {
    "fewshot": ("skinsynth.cli.fewshot", "run a few-shot study: split, baselines, generator, synthetic arms, report"),
    "page": ("skinsynth.cli.page", "write a study's page (RUN_DIR/index.html) from its run directory"),
    "reader-study": ("skinsynth.cli.reader_study", "serve a blinded real-vs-synthetic reader study on 127.0.0.1"),
}


def usage() -> str:
    """The top-level help text."""
    lines = ["usage: skinsynth COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<13} {summary}" for name, (_, summary) in COMMANDS.items()]
    lines += ["", "skinsynth COMMAND --help lists a command's options; skinsynth --version prints the version."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a sub-command; returns its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    if args[0] == "--version":
        print(f"skinsynth {__version__}")
        return 0
    if args[0] not in COMMANDS:
        print(f"skinsynth: unknown command {args[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[args[0]][0])
    return int(module.main(args[1:]))


def fewshot() -> int:
    """Entry point of the ``skinsynth-fewshot`` script (the same as ``skinsynth fewshot``)."""
    return main(["fewshot", *sys.argv[1:]])
