"""The jsonargparse parser of a study's configuration, built from the section dataclasses.

One parser checks every route in: the command line (``skinsynth fewshot``), YAML files and Python dicts
(:meth:`StudyConfig.from_dict <skinsynth.config.StudyConfig.from_dict>`). Its errors become :class:`ConfigError`
messages that name the setting by its ``section.key``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from skinsynth.config.sections import SECTIONS
from skinsynth.errors import ConfigError


def config_parser(prog: str = "skinsynth fewshot", description: str | None = None) -> Any:
    """A ``jsonargparse.ArgumentParser`` of the five sections; it raises instead of exiting.

    It has ``--config`` (YAML, repeatable), ``--print_config`` and one group of ``--<section>.<key>`` options per
    section.
    """
    from jsonargparse import ActionConfigFile, ArgumentParser

    parser = ArgumentParser(prog=prog, description=description, exit_on_error=False)
    parser.add_argument(
        "--config", action=ActionConfigFile, help="YAML file with any of the sections below; repeat to layer files"
    )
    for name, section in SECTIONS.items():
        parser.add_class_arguments(section, name)
    return parser


_PARSER_KEY = re.compile(r'(?:Parser key|Key) "([^"]+)":\s*(.*)', re.DOTALL)


def config_error(error: Exception, where: str = "config", key_words: str = "`{key}`") -> ConfigError:
    """A jsonargparse error as a :class:`ConfigError` that names the setting and the problem.

    ``key_words`` says how the setting is named; ``{key}`` is its parser key (`` `data.shots` `` by default, ``option
    {key}`` for a generator's options).
    """
    text = " ".join(str(error).split())
    found = _PARSER_KEY.search(text)
    if found:
        key, detail = found.groups()
        return ConfigError(f"{where}: {key_words.format(key=key)}: {_plain(detail)}")
    return ConfigError(f"{where}: {text}")


def _plain(detail: str) -> str:
    """Jsonargparse's type message in a few words: ``expected one of toy, ham10000; got 'foo'``."""
    given = re.search(r"(?:Got value|Given value): (.*?)$", detail)
    got = f"; got {given.group(1).strip()}" if given else ""
    choices = re.search(r"typing\.Literal\[([^\]]*)\]", detail)
    if choices:
        return "expected one of " + choices.group(1).replace("'", "") + got
    subtypes = re.search(r"Subtypes: \[(.*?)\] Errors:", detail)
    kinds = _type_names(subtypes.group(1) if subtypes else detail.split("Got value")[0])
    if kinds:
        return "expected " + " or ".join(kinds) + got
    return detail.strip()


def _type_names(text: str) -> list[str]:
    """``"typing.Sequence[int], <class 'NoneType'>"`` → ``["Sequence[int]", "null"]``."""
    text = re.sub(r"<class '(?:\w+\.)*(\w+)'>", r"\1", text).replace("typing.", "").replace("collections.abc.", "")
    text = text.replace("NoneType", "null")
    names, depth, current = [], 0, ""
    for char in text.removeprefix("Expected a ").strip().rstrip("."):
        depth += char == "["
        depth -= char == "]"
        if char == "," and depth == 0:
            names.append(current.strip())
            current = ""
        else:
            current += char
    return [n for n in dict.fromkeys([*names, current.strip()]) if n]


def parse_sections(parser: Any, nested: Mapping[str, Any], *, where: str = "config") -> dict[str, dict[str, Any]]:
    """``nested`` checked by ``parser`` and completed with the defaults, as plain dicts by section."""
    from jsonargparse import ArgumentError

    try:
        namespace = parser.parse_object(dict(nested))
    except (ArgumentError, TypeError, ValueError) as error:
        raise config_error(error, where) from None
    values = namespace.as_dict()
    return {name: values[name] for name in SECTIONS}
