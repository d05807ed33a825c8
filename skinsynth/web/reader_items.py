"""The items of a reader study: the real and synthetic images it shows, drawn once, and its raters' names.

See :mod:`skinsynth.web.reader_study` for the study itself.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from skinsynth.errors import ConfigError, DataError, preview

MAX_RATER_LENGTH = 40


def sanitize_rater(name: str) -> str:
    """A rater's name reduced to letters, digits, spaces and ``-_.`` (at most 40 characters).

    Raises:
        ConfigError: nothing is left (an empty name, or only other characters).
    """
    text = unicodedata.normalize("NFKC", str(name))
    text = re.sub(r"[^\w .-]", "", text, flags=re.UNICODE)
    text = re.sub(r"\s+", " ", text).strip(" .")[:MAX_RATER_LENGTH].strip()
    if not text:
        raise ConfigError(f"rater name {name!r} has no letters or digits; use e.g. your initials")
    return text


def resolve_image(path: str, bases: Sequence[Path]) -> Path | None:
    """``path`` if absolute, else the first of ``bases`` / ``path`` that is a file."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    return next(((base / candidate).resolve() for base in bases if (base / candidate).is_file()), None)


def synthetic_folder(run_dir: Path, generator: str | None) -> Path:
    """The folder of synthetic set ``generator`` of a study (its only one when ``generator`` is None)."""
    from skinsynth.data.synthetic import MANIFEST

    sets = sorted(p.parent.name for p in (run_dir / "synthetic").glob(f"*/{MANIFEST}"))
    if not sets:
        raise DataError(
            f"{str(run_dir)!r} has no synthetic set (synthetic/<generator>/manifest.csv): run a study "
            "with a generator first"
        )
    if generator is None:
        if len(sets) > 1:
            raise ConfigError(
                f"{str(run_dir)!r} has {len(sets)} synthetic sets ({preview(sets)}); choose one with `generator`"
            )
        generator = sets[0]
    if generator not in sets:
        raise ConfigError(f"no synthetic set {generator!r} in {str(run_dir)!r}; it has {preview(sets)}")
    return run_dir / "synthetic" / generator


def draw_items(run_dir: Path, generator: str | None, per_class: int, seed: int) -> pd.DataFrame:
    """``per_class`` real (test split) and as many synthetic images of each class that has synthetic images.

    Returns:
        columns ``id`` (random, opaque), ``truth``, ``code``, ``path`` (resolved file), shuffled.

    Raises:
        DataError: the run directory lacks ``split.csv`` or a synthetic set, or listed files are missing.
    """
    from skinsynth.data.synthetic import read_manifest

    if per_class < 1:
        raise ConfigError(f"`per_class` must be at least 1, got {per_class}")
    folder = synthetic_folder(run_dir, generator)
    split_file = run_dir / "split.csv"
    if not split_file.is_file():
        raise DataError(f"{str(run_dir)!r} has no split.csv: is it a study's run directory?")
    split = pd.read_csv(split_file, dtype=str, keep_default_na=False)
    real = split[split["split"] == "test"]
    synthetic = read_manifest(folder)
    rng = np.random.default_rng(seed)
    rows, missing = [], []
    for code in sorted(set(synthetic["code"])):
        fakes, reals = synthetic[synthetic["code"] == code], real[real["label"] == code]
        n = min(per_class, len(fakes), len(reals))
        # a manifest's paths are relative to its folder (as SyntheticDataset reads them); split.csv's are as the
        # study was given them: relative to the folder it ran in (tried first), or to the run directory
        for truth, frame, bases in (("synthetic", fakes, [folder]), ("real", reals, [Path.cwd(), run_dir])):
            for path in frame["path"].iloc[rng.permutation(len(frame))[:n]]:
                resolved = resolve_image(path, bases)
                if resolved is None:
                    missing.append(path)
                rows.append({"truth": truth, "code": code, "path": str(resolved)})
    if missing:
        raise DataError(
            f"{len(missing)} image(s) listed by {str(run_dir)!r} are not on disk ({preview(missing)}); "
            "run the reader study from the folder the study ran in"
        )
    if not rows:
        raise DataError(f"no class has both synthetic images in {str(folder)!r} and real test images in split.csv")
    items = pd.DataFrame(rows).iloc[rng.permutation(len(rows))].reset_index(drop=True)
    ids: list[str] = []
    while len(set(ids)) < len(items):  # 64-bit random ids: a collision is astronomically rare, but checked
        ids = [secrets.token_hex(8) for _ in range(len(items))]
    items.insert(0, "id", ids)
    return items
