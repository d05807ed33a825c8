"""A study's configuration: five typed sections, the :class:`StudyConfig` that holds them, one parser.

:mod:`skinsynth.config.sections` has the sections, :mod:`skinsynth.config.parser` the jsonargparse parser every route
in goes through, :mod:`skinsynth.config.values` the text values of the command line.
"""

from skinsynth.config.sections import (
    SECTIONS,
    ClassifierSection,
    DataSection,
    GeneratorSection,
    StudySection,
    TrainerSection,
    section_arguments,
)
from skinsynth.config.study_config import FLAT_KEYS, NON_RESULT_KEYS, RESULT_KEYS, StudyConfig, nest
from skinsynth.config.values import ARM_SEPARATOR, parse_arms, parse_option, parse_value, parse_weights

__all__ = [
    "ARM_SEPARATOR",
    "FLAT_KEYS",
    "NON_RESULT_KEYS",
    "RESULT_KEYS",
    "SECTIONS",
    "ClassifierSection",
    "DataSection",
    "GeneratorSection",
    "StudyConfig",
    "StudySection",
    "TrainerSection",
    "nest",
    "parse_arms",
    "parse_option",
    "parse_value",
    "parse_weights",
    "section_arguments",
]
