r"""Run a few-shot study: split → baseline arms (→ generator → synthetic set → augmented arms) → report.

Examples::

    skinsynth fewshot                                               # toy data, real-only arm
    skinsynth fewshot --baselines real,oversample,weighted,focal,strong-aug
    skinsynth fewshot --dataset ham10000 --data-dir ../shared/data/ham10000 --shots 50 --image-size 64
    skinsynth fewshot --config experiments/configs/ham10000_fewshot.yaml --generator gan --study.seed 1
    skinsynth fewshot --config experiments/configs/ham10000_fewshot.yaml \\
        --config experiments/configs/ddp-a100-bf16.yaml --generator gan
    skinsynth fewshot --config experiments/configs/ham10000_fewshot.yaml --print_config   # the resolved config

(``python experiments/fewshot.py ...`` is the same command from a source checkout.)

Settings come from the defaults, then ``--config FILE`` (YAML with the sections data, classifier, generator,
trainer and study), then the flags given here, wherever they stand. Every ``--<section>.<key>`` option below also
has a short form, the flat name of earlier versions: --shots for --data.shots, --generator for --generator.name,
--gen-epochs for --generator.epochs, --pretrained-generator for --generator.pretrained_checkpoint, --gen-option
KEY=VALUE for --generator.init_args.KEY VALUE, and --pretrained / --no-pretrained for booleans. --shots all and
--unlabeled-pool all, and comma lists for --seeds, --baselines and --synthetic-weight, work in both forms.
"""

from __future__ import annotations

import sys

from skinsynth.cli.wording import cli_wording
from skinsynth.config import FLAT_KEYS, StudyConfig, parse_option
from skinsynth.errors import ConfigError, SkinSynthError

#: Settings written as comma-separated lists on the command line.
LIST_KEYS = ("study.seeds", "study.baselines", "study.synthetic_weight")
#: Settings that take ``all``, and what it stands for.
ALL_VALUES = {"data.shots": "null", "data.unlabeled_pool": "1"}
BOOLEAN_KEYS = ("classifier.pretrained", "trainer.progress_bar", "study.synthetic_only_arm")
_SHORT = {dotted: flat for flat, dotted in FLAT_KEYS.items()}


def flag_of(key: str) -> str:
    """The short flag of a setting: ``data.on_bad_image`` or ``on_bad_image`` → ``--on-bad-image``.

    (``generator.init_args`` and ``gen_options``: ``--gen-option``.)
    """
    flat = _SHORT.get(key, key)
    return "--gen-option" if flat == "gen_options" else "--" + flat.replace("_", "-")


def in_flags(message: str) -> str:
    """A library message with the study settings it names written as this command's flags."""
    return cli_wording(message, {**{k: flag_of(k) for k in FLAT_KEYS}, **{k: flag_of(k) for k in _SHORT}})


def build_parser() -> object:
    """The jsonargparse parser of ``skinsynth fewshot`` (sections from :mod:`skinsynth.config.sections`)."""
    from skinsynth.config.parser import config_parser

    return config_parser("skinsynth fewshot", __doc__)


def _cli_value(dotted: str, text: str) -> str:
    """A flag's text in the parser's YAML: ``all`` for a count, ``0,1,2`` for a list."""
    if dotted in ALL_VALUES and text.strip().lower() == "all":
        return ALL_VALUES[dotted]
    if dotted in LIST_KEYS and not text.strip().startswith("["):
        return "[" + text + "]"
    return text


def _long_form(flag: str) -> tuple[str | None, bool]:
    """A flag's setting and whether it is a ``--no-`` flag: ``--image-size`` → (``data.image_size``, False).

    ``--no-pretrained`` → (``classifier.pretrained``, True); ``--data.shots`` → (``data.shots``, False); an unknown
    flag → (None, False).
    """
    name = flag[2:].replace("-", "_")
    if name == "gen_option":
        return "generator.init_args", False
    if name in FLAT_KEYS:
        return FLAT_KEYS[name], False
    if name.startswith("no_") and FLAT_KEYS.get(name[3:]) in BOOLEAN_KEYS:
        return FLAT_KEYS[name[3:]], True
    dotted = flag[2:]
    return (dotted, False) if dotted in _SHORT else (None, False)


def to_parser_args(argv: list[str]) -> tuple[list[str], dict[str, object]]:
    """The command line in the parser's own ``--<section>.<key>=VALUE`` form, config files first; ``--gen-option``s.

    The ``--gen-option`` values are returned apart (merged over the files' ``generator.init_args`` later;
    :func:`~skinsynth.config.parse_value` reads them). Config files are read here (flat files of earlier versions are
    moved into sections), so that the flags win over every file wherever they stand.
    """
    import yaml

    configs: list[str] = []
    flags: list[str] = []
    options: dict[str, object] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        flag, has_value, inline = arg.partition("=")
        value = inline if has_value else None
        takes_next = value is None and i + 1 < len(argv) and not argv[i + 1].startswith("--")
        if flag == "--config":
            if value is None and not takes_next:
                raise ConfigError("--config needs a YAML file")
            path = value if value is not None else argv[i + 1]
            configs += ["--config", yaml.safe_dump(StudyConfig.from_yaml(path), sort_keys=False)]
            i += 1 if value is not None else 2
            continue
        dotted, negated = _long_form(flag) if flag.startswith("--") else (None, False)
        if dotted in BOOLEAN_KEYS and value is None:
            flags.append(f"--{dotted}={'false' if negated else 'true'}")
            i += 1
        elif dotted == "generator.init_args" and flag == "--gen-option":
            if value is None and not takes_next:
                raise ConfigError("--gen-option needs KEY=VALUE, e.g. --gen-option sampling_steps=25")
            key, option = parse_option(value if value is not None else argv[i + 1])
            options[key] = option
            i += 1 if value is not None else 2
        elif dotted is not None and (value is not None or takes_next):
            flags.append(f"--{dotted}={_cli_value(dotted, value if value is not None else argv[i + 1])}")
            i += 1 if value is not None else 2
        else:
            flags.append(arg)
            i += 1
    return configs + flags, options


def resolve_config(argv: list[str] | None = None) -> StudyConfig:
    """Defaults < --config files < flags. ``--print_config`` prints the resolved config and exits."""
    from jsonargparse import ArgumentError

    from skinsynth.config.parser import config_error

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, options = to_parser_args(argv)
    try:
        namespace = parser.parse_args(args)
    except ArgumentError as error:
        raise config_error(error, "command line") from None
    values = namespace.as_dict()
    values["generator"]["init_args"] = {**(values["generator"]["init_args"] or {}), **options}
    return StudyConfig.from_sections(values)


def main(argv: list[str] | None = None) -> int:
    """Run the study the arguments describe; returns the exit code (2 for a configuration or data error)."""
    try:
        config = resolve_config(argv)
        from skinsynth.study.runner import FewShotStudy, run_seeds

        if config.study.seeds:
            run_seeds(config)
        else:
            FewShotStudy(config).run()
    except SkinSynthError as error:
        print(f"error: {in_flags(str(error))}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
