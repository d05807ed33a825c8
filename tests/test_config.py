"""The typed configuration: five sections, one parser for every route in, flat configs of earlier versions."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from skinsynth.config import (
    FLAT_KEYS,
    RESULT_KEYS,
    SECTIONS,
    DataSection,
    StudyConfig,
    nest,
)
from skinsynth.errors import ConfigError


def test_every_setting_has_one_section_key_and_one_flat_name() -> None:
    dotted = [f"{name}.{f.name}" for name, cls in SECTIONS.items() for f in dataclasses.fields(cls)]
    assert sorted(FLAT_KEYS.values()) == sorted(dotted)  # a bijection: no setting lost, none twice
    assert len(set(FLAT_KEYS)) == len(dotted)
    assert FLAT_KEYS["gen_epochs"] == "generator.epochs" and FLAT_KEYS["epochs"] == "classifier.epochs"
    assert set(dotted) >= RESULT_KEYS and "data.image_size" in RESULT_KEYS and "study.run_dir" not in RESULT_KEYS


def test_the_choices_of_the_sections_are_the_registries() -> None:
    from skinsynth.data.sources import READERS
    from skinsynth.data.transforms import AUGMENTS
    from skinsynth.models.registry import GENERATORS
    from skinsynth.study.arm_specs import BASELINE_ARMS

    hints = {name: typing.get_type_hints(cls) for name, cls in SECTIONS.items()}
    assert set(typing.get_args(hints["data"]["dataset"])) == set(READERS) - {"isic2018_test"}
    assert typing.get_args(hints["data"]["augment"]) == AUGMENTS
    assert typing.get_args(typing.get_args(hints["study"]["baselines"])[0]) == tuple(BASELINE_ARMS)
    assert typing.get_args(hints["generator"]["name"]) == tuple(GENERATORS)


def test_flat_and_nested_dicts_give_the_same_config() -> None:
    flat = {"shots": 5, "generator": "gan", "gen_options": {"ngf": 8}, "gen_epochs": 3, "seed": 2, "baselines": "real"}
    nested = {
        "data": {"shots": 5},
        "generator": {"name": "gan", "init_args": {"ngf": 8}, "epochs": 3},
        "study": {"seed": 2, "baselines": ["real"]},
    }
    assert nest(flat) == nest(nested) == nested
    config = StudyConfig.from_dict(flat)
    assert config == StudyConfig.from_dict(nested)
    assert (config.data.shots, config.generator.epochs, config.study.seed) == (5, 3, 2)
    assert config.data.image_size == DataSection().image_size  # the rest: defaults
    assert config.values()["generator.epochs"] == 3  # the flat gen_epochs, in its section
    assert config.values()["generator.init_args"] == {"ngf": 8}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"data": {"augment": "magic"}}, "`data.augment`: expected one of none, flip, dihedral, standard, strong"),
        ({"shots": "x"}, "`data.shots`: expected int or null; got x"),
        ({"study": {"seeds": [0, "x"]}}, "`study.seeds`"),
        ({"data": 3}, "section 'data' must be a mapping"),
        ({"imagesize": 3}, "unknown key 'imagesize' (did you mean 'image_size'?)"),
        ({"trainer": {"precison": "bf16-mixed"}}, "unknown key 'trainer.precison' (did you mean 'trainer.precision'?)"),
    ],
)
def test_bad_settings_are_named_by_section_and_key(values: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        StudyConfig.from_dict(values, where="study.yaml")
    assert str(error.value).startswith("study.yaml: ") and message in str(error.value)


def test_a_config_built_in_python_is_checked_by_the_same_parser() -> None:
    from skinsynth.study.checks import check_config

    config = StudyConfig(data=DataSection(augment="magic"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="`data.augment`: expected one of"):
        check_config(config)
    changed = StudyConfig().replace(seed=3, gen_epochs=2, image_size=24)
    assert (changed.study.seed, changed.generator.epochs, changed.data.image_size) == (3, 2, 24)
    with pytest.raises(ConfigError, match="`classifier.optimizer`"):
        StudyConfig().replace(optimizer="sgd")


def test_help_comes_from_the_section_docstrings(capsys: pytest.CaptureFixture) -> None:
    from skinsynth.cli.fewshot import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--data.shots SHOTS real training images per class" in out
    assert "{toy,ham10000,isic2019,isic2024,imagefolder,dermamnist}" in out  # choices from the Literal
    assert "--print_config" in out and "short form" in out


def test_section_arguments_are_the_settings_a_constructor_takes_by_name() -> None:
    from skinsynth.config import section_arguments
    from skinsynth.data.datamodule import SkinLesionDataModule

    data = DataSection(shots=7, image_size=48, batch_size=5)
    arguments = section_arguments(data, SkinLesionDataModule, skip=("dataset",))
    assert (arguments["shots"], arguments["image_size"], arguments["batch_size"]) == (7, 48, 5)
    assert "dataset" not in arguments  # skipped
    assert "unlabeled_pool" not in arguments  # the datamodule calls it pool_fraction: passed by hand
