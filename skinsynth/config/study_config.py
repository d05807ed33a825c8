"""StudyConfig: a study's settings in five typed sections.

The sections are ``data``, ``classifier``, ``generator``, ``trainer`` and ``study``. Precedence: defaults < ``--config
FILE`` (YAML with the same sections) < command-line flags. The fully resolved config is saved as ``config.yaml`` in the
run directory; a re-run with the same run directory must agree with it on every setting that changes results
(:data:`RESULT_KEYS`). Configurations of earlier skinsynth versions were flat (``image_size: 64``, ``gen_epochs: 50``);
they are still read, each key moved to its section (:data:`FLAT_KEYS`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skinsynth.config.sections import (
    SECTIONS,
    ClassifierSection,
    DataSection,
    GeneratorSection,
    StudySection,
    TrainerSection,
)
from skinsynth.config.values import parse_arms, parse_weights
from skinsynth.errors import ConfigError

#: The flat names of earlier versions (and the short command-line flags) whose section key has another name.
RENAMED = {
    "generator": "generator.name",
    "gen_options": "generator.init_args",
    "gen_epochs": "generator.epochs",
    "gen_batch_size": "generator.batch_size",
    "pretrained_generator": "generator.pretrained_checkpoint",
}


def _flat_keys() -> dict[str, str]:
    renamed = set(RENAMED.values())
    keys = {f.name: f"{section}.{f.name}" for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)
            if f"{section}.{f.name}" not in renamed}  # fmt: skip
    return {**keys, **RENAMED}


#: Every setting by its flat name (earlier versions' keys, the short flags) → its ``section.key``.
FLAT_KEYS: dict[str, str] = _flat_keys()

# Settings that change results: a resumed study must agree on them with the saved config. (Arms are named by their
# synthetic weight and schedule, and synthetic sets by their generator's pretraining, so several of those share one
# run directory; the pool pretraining checks its own epochs.)
NON_RESULT_KEYS = frozenset(
    {
        "study.baselines", "generator.name", "trainer.logger", "trainer.wandb_project", "trainer.progress_bar",
        "data.num_workers", "trainer.accelerator", "trainer.devices", "trainer.num_nodes", "study.seeds",
        "study.filter", "study.synthetic_weight", "study.two_stage", "study.synthetic_only_arm",
        "generator.pretrain_epochs", "generator.pretrained_checkpoint", "study.run_dir", "study.name",
        "generator.sample_batch_size", "generator.grid_every", "generator.init_args", "generator.pretrained_model",
    }
)  # fmt: skip
RESULT_KEYS = frozenset(FLAT_KEYS.values()) - NON_RESULT_KEYS


@dataclass
class StudyConfig:
    """Settings of one study (one run directory), by section: ``config.data.image_size``, ``config.study.seed``.

    The defaults are sized for the demo (the generated toy set, a few minutes on a 2-core CPU): 20 shots, 32 px,
    40 classifier epochs, 100 generator epochs. ``experiments/configs/ham10000_fewshot.yaml`` has the settings of the
    HAM10000 results in ``docs/results.md`` (50 shots, 64 px, 30 epochs).
    """

    data: DataSection = field(default_factory=DataSection)
    classifier: ClassifierSection = field(default_factory=ClassifierSection)
    generator: GeneratorSection = field(default_factory=GeneratorSection)
    trainer: TrainerSection = field(default_factory=TrainerSection)
    study: StudySection = field(default_factory=StudySection)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Nested plain dict, one mapping per section (for YAML and W&B)."""
        return dataclasses.asdict(self)

    def values(self) -> dict[str, Any]:
        """Every setting by its ``section.key``."""
        return {f"{s}.{k}": v for s, section in self.to_dict().items() for k, v in section.items()}

    def replace(self, **changes: Any) -> StudyConfig:
        """A copy with settings changed, by flat name (``seed=1``, ``gen_epochs=5``); checked as :meth:`from_dict`."""
        values = self.to_dict()
        for key, value in changes.items():
            section, _, name = _dotted(key, "replace").partition(".")
            values[section][name] = value
        return StudyConfig.from_dict(values, where="replace")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, where: str = "config") -> StudyConfig:
        """Build a config from sections (``{"data": {"shots": 50}}``) or flat keys of earlier versions, with defaults.

        Raises:
            ConfigError: an unknown section or key (the valid ones are listed), or a value of the wrong type or
                outside its choices (named by its ``section.key``).
        """
        from skinsynth.config.parser import config_parser, parse_sections

        nested = nest(values, where=where)
        return cls.from_sections(parse_sections(config_parser(), nested, where=where))

    @classmethod
    def from_sections(cls, parsed: Mapping[str, Mapping[str, Any]]) -> StudyConfig:
        """A config from every section as the parser returned it (checked and complete); not parsed again."""
        return cls(**{name: SECTIONS[name](**parsed[name]) for name in SECTIONS})

    @classmethod
    def from_yaml(cls, path: str | Path) -> dict[str, dict[str, Any]]:
        """Read a YAML config file into sections (validated; not merged with defaults)."""
        import yaml

        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} does not exist")
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"config file {str(path)!r} is not valid YAML: {error}") from error
        if not isinstance(values, dict):
            raise ConfigError(f"config file {str(path)!r} must hold a mapping of sections to settings")
        nested = nest(values, where=str(path))
        cls.from_dict(nested, where=str(path))
        return nested


def _suggestion(key: str) -> str:
    import difflib

    close = difflib.get_close_matches(key, [*FLAT_KEYS, *FLAT_KEYS.values()], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _dotted(key: str, where: str) -> str:
    dotted = FLAT_KEYS.get(key.replace("-", "_"), key)
    section, _, name = dotted.partition(".")
    if section not in SECTIONS or name not in {f.name for f in dataclasses.fields(SECTIONS[section])}:
        raise ConfigError(f"{where}: unknown key {key!r}{_suggestion(key)}; keys are section.key, e.g. data.shots")
    return dotted


def nest(values: Mapping[str, Any], *, where: str = "config") -> dict[str, dict[str, Any]]:
    """Settings by section: section mappings kept, flat keys of earlier versions moved to their section.

    A flat ``baselines: "real,ssl"`` or a scalar ``synthetic_weight`` (earlier versions) becomes a list.
    """
    nested: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for key, value in values.items():
        key = str(key).replace("-", "_")
        if key in SECTIONS and isinstance(value, Mapping):
            for name, setting in value.items():
                nested[key][_dotted(f"{key}.{str(name).replace('-', '_')}", where).partition(".")[2]] = setting
        elif key in SECTIONS and key not in FLAT_KEYS:
            raise ConfigError(f"{where}: section {key!r} must be a mapping of its settings, got {value!r}")
        elif key in FLAT_KEYS:
            section, _, name = FLAT_KEYS[key].partition(".")
            nested[section][name] = value
        else:
            raise ConfigError(
                f"{where}: unknown key {key!r}{_suggestion(key)}; a config has the sections "
                f"{', '.join(SECTIONS)} (or the flat keys of earlier versions, such as image_size)"
            )
    study = nested["study"]
    if isinstance(study.get("baselines"), str):
        study["baselines"] = parse_arms(study["baselines"])
    if "synthetic_weight" in study:  # one weight (older configs, YAML scalars) or several
        study["synthetic_weight"] = parse_weights(study["synthetic_weight"], where=where)
    return {name: section for name, section in nested.items() if section}
