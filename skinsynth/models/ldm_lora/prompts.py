"""Prompts for the latent-diffusion generator: per-class templates, learned class tokens, structured captions.

* A class prompt comes from a template with the placeholders ``{class_name}`` (``"melanoma"``), ``{class_code}``
  (``"mel"``) and ``{token}`` (the learned token ``"<mel>"`` when class tokens are on, else the class name).
* A structured caption describes one training image: a template with ``{prompt}`` (its class prompt) and any metadata
  column of the records (``{localization}``, ``{age}``, ``{sex}``, ``{dx_type}`` for HAM10000) or of a user CSV of
  attributes keyed by ``image_id`` (colour, border, size, skin tone ...). Missing values read ``unknown``.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from skinsynth.classes import VOCABULARIES
from skinsynth.errors import ConfigError, DataError

DEFAULT_TEMPLATE = "a dermoscopic image of {class_name}"
PROMPT_FIELDS = ("class_name", "class_code", "token")


def placeholders(template: str) -> list[str]:
    """The ``{names}`` used in ``template`` (raises :class:`ConfigError` for a malformed template)."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as error:
        raise ConfigError(f"prompt template {template!r} is malformed: {error}") from error


def check_template(template: str, allowed: Sequence[str], what: str = "prompt template") -> None:
    """Raise a :class:`ConfigError` naming the placeholders of ``template`` that are not in ``allowed``."""
    names = placeholders(template)
    unknown = [n for n in names if n not in allowed]
    if unknown or any(n == "" for n in names):
        raise ConfigError(
            f"{what} {template!r} uses unknown placeholder(s) {['{' + n + '}' for n in unknown or ['']]}; "
            f"available: {', '.join('{' + a + '}' for a in allowed)}"
        )


def class_token(code: str) -> str:
    """The learned token of class ``code``: ``"<mel>"``."""
    return f"<{code}>"


def class_names(codes: Sequence[str], names: Sequence[str] | None = None) -> list[str]:
    """The classes' names: the user's ``names`` (one per code), else the known vocabularies' diagnosis names.

    A code no vocabulary knows is its own name.

    Raises:
        ConfigError: ``names`` has not one name per code.
    """
    if names:
        if len(names) != len(codes):
            raise ConfigError(f"{len(names)} class names for {len(codes)} classes")
        return list(names)
    known = {c.code: c.name for vocabulary in VOCABULARIES.values() for c in vocabulary.classes}
    return [known.get(code, code) for code in codes]


def batch_prompts(
    prompts: Sequence[str], captions: Sequence[str] | None, indices: Sequence[int] | None, labels: Sequence[int]
) -> list[str]:
    """The text of every image of a batch: its structured caption (by dataset index) when built, else its class prompt.

    Raises:
        DataError: captions are built but the batch has no dataset indices.
    """
    if captions is not None:
        if indices is None:
            raise DataError("structured captions need the datamodule's 'index' key in every batch")
        return [captions[int(i)] for i in indices]
    return [prompts[int(label)] for label in labels]


def class_prompts(template: str, codes: Sequence[str], names: Sequence[str], use_tokens: bool) -> list[str]:
    """One prompt per class (label order) from ``template``.

    Raises:
        ConfigError: unknown placeholders, or class tokens without a ``{token}`` placeholder to put them in.
    """
    check_template(template, PROMPT_FIELDS)
    if use_tokens and "token" not in placeholders(template):
        raise ConfigError(
            f"class tokens are on but the prompt template {template!r} has no {{token}} placeholder; use e.g. "
            "'a dermoscopic image of {token}'"
        )
    return [
        template.format(class_name=name, class_code=code, token=class_token(code) if use_tokens else name)
        for code, name in zip(codes, names, strict=True)
    ]


def read_attributes(path: str | Path) -> pd.DataFrame:
    """A user CSV of per-image attributes with an ``image_id`` column, indexed by it."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"attributes CSV {str(path)!r} does not exist")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "image_id" not in frame.columns:
        raise DataError(f"attributes CSV {str(path)!r} needs an 'image_id' column; it has {list(frame.columns)}")
    duplicated = frame["image_id"][frame["image_id"].duplicated()].tolist()
    if duplicated:
        raise DataError(f"attributes CSV {str(path)!r} lists image(s) {duplicated[:5]} more than once")
    return frame.set_index("image_id")


def build_captions(
    records: pd.DataFrame,
    prompts: Sequence[str],
    template: str,
    attributes: pd.DataFrame | None = None,
) -> list[str]:
    """One structured caption per row of ``records`` (a records frame with ``image_id`` and ``label``).

    Args:
        records: the training records (their metadata columns are available to the template).
        prompts: the class prompts, in label order (``{prompt}`` in the template).
        template: e.g. ``"{prompt}, on the {localization}, {age} year old {sex}"``.
        attributes: optional per-image attributes indexed by ``image_id`` (columns override record columns).

    Raises:
        ConfigError: the template names a column neither the records nor the attributes have.
    """
    frame = records.reset_index(drop=True).copy()
    if attributes is not None:
        joined = attributes.reindex(frame["image_id"].astype(str))
        for column in attributes.columns:
            frame[column] = joined[column].to_numpy()
    allowed = ["prompt", *[c for c in frame.columns if c != "prompt"]]
    check_template(template, allowed, what="caption template")
    captions = []
    for row in frame.to_dict("records"):
        values = {k: _caption_value(v) for k, v in row.items()}
        values["prompt"] = prompts[int(row["label"])]
        captions.append(template.format(**values))
    return captions


def _caption_value(value: object) -> object:
    """Missing values read ``unknown``; whole floats (ages) lose their ``.0``."""
    if value is None or value == "" or (isinstance(value, float) and pd.isna(value)):
        return "unknown"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
