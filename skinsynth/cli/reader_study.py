"""``skinsynth reader-study RUN_DIR``: a blinded real-vs-synthetic reader study in the browser (127.0.0.1).

Raters open the printed address, enter a name and answer real/synthetic for each image. Answers go to
``RUN_DIR/reader_study/answers.sqlite`` (rows are only ever added); ``--report`` prints per-rater and per-class
accuracy and the raters' agreement instead of serving, and writes ``RUN_DIR/reader_study/results.md`` and
``answers.csv`` (every answer with the image's truth and class).
"""

from __future__ import annotations

import argparse
import sys

from skinsynth.cli.wording import cli_wording
from skinsynth.errors import SkinSynthError

FLAGS = {"generator": "--generator", "per_class": "--per-class", "seed": "--seed"}  # ReaderStudy.open's keys


def build_parser() -> argparse.ArgumentParser:
    """The command's options."""
    parser = argparse.ArgumentParser(
        prog="skinsynth reader-study", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", help="a study's run directory with a synthetic set and split.csv")
    parser.add_argument("--generator", default=None, help="the synthetic set (default: the only one)")
    parser.add_argument("--per-class", type=int, default=10, help="real and synthetic images per class (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="which images are drawn and each rater's order")
    parser.add_argument("--ask-class", action="store_true", help="also ask raters for the lesion's class")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--report", action="store_true", help="print the results instead of serving")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serve the study (until Ctrl-C) or report it; returns the exit code (2 for a bad run directory)."""
    args = build_parser().parse_args(argv)
    from skinsynth.io import atomic_write_csv, atomic_write_text
    from skinsynth.web.reader_study import ReaderStudy

    try:
        study = ReaderStudy.open(args.run_dir, args.generator, args.per_class, args.seed)
    except SkinSynthError as error:
        print(f"error: {cli_wording(str(error), FLAGS)}", file=sys.stderr)
        return 2
    if args.report:
        text = study.results_markdown()
        atomic_write_text(text, study.folder / "results.md")
        atomic_write_csv(study.answers(), study.folder / "answers.csv")
        print(text)
        print(f"[skinsynth] {study.folder / 'results.md'}; every answer with its truth: {study.folder / 'answers.csv'}")
        return 0
    from skinsynth.web.reader_app import create_app

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"[skinsynth] warning: serving on {args.host}: other machines can see these images", file=sys.stderr)
    print(
        f"[skinsynth] reader study of {len(study.items)} images: http://{args.host}:{args.port}/ (answers: "
        f"{study.database}; results: skinsynth reader-study {args.run_dir} --report)"
    )
    app = create_app(study, ask_class=args.ask_class, host=args.host)
    app.run(host=args.host, port=args.port, debug=False, load_dotenv=False)  # never the debugger, whatever the env
    return 0
