"""The oracle control: a "generator" that returns real images of the right class from the unlabeled pool.

It is the positive control of a study: a perfect class-conditional generator could at best add new real images of
the asked-for class. The oracle draws the budget from the pool (training-side images outside the few-shot set, never
in val or test) and writes them as a synthetic set (PNGs at the study's resolution + ``manifest.csv`` with
``generator = oracle`` and the ``source_image_id`` of each image). If the pipeline cannot show a gain with the
oracle, it cannot show one with any generator. When a class's pool is smaller than its budget, images repeat (each
pool image is used once before any is used twice) and the manifest's ``repeat`` column says so.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from skinsynth.data.images import ImageReader
from skinsynth.data.records import LesionRecords
from skinsynth.data.synthetic import MANIFEST, read_manifest, write_manifest
from skinsynth.data.transforms import eval_transform
from skinsynth.errors import DataError
from skinsynth.io import atomic_write_bytes

GENERATOR_NAME = "oracle"


def plan_oracle(pool: LesionRecords, budget: Mapping[str, int], seed: int) -> pd.DataFrame:
    """Which pool image fills each slot of the budget: columns ``code``, ``label``, ``index``, ``row``, ``repeat``.

    Deterministic for ``seed``: each class's pool is shuffled once and cycled through.
    """
    frame = pool.frame.reset_index(drop=True)
    rows = []
    for label, code in enumerate(pool.vocabulary.codes):
        count = int(budget.get(code, 0))
        if count <= 0:
            continue
        candidates = np.flatnonzero(frame["code"].to_numpy() == code)
        if len(candidates) == 0:
            raise DataError(
                f"the oracle needs pool images of class {code!r} for its budget of {count} but the pool has none; "
                "use a larger pool fraction or leave the class out of the budget"
            )
        order = np.random.default_rng([seed, label]).permutation(candidates)
        rows += [
            {"code": code, "label": label, "index": i, "row": int(order[i % len(order)]), "repeat": i // len(order)}
            for i in range(count)
        ]
    return pd.DataFrame(rows, columns=["code", "label", "index", "row", "repeat"])


def materialize_oracle(
    pool: LesionRecords, budget: Mapping[str, int], folder: str | Path, image_size: int, seed: int
) -> Path:
    """Write the oracle's synthetic set for ``budget`` into ``folder``; returns the folder.

    A finished folder with the same plan is left as it is; anything else in it is rewritten (each PNG atomically,
    the manifest last).
    """
    folder = Path(folder)
    plan = plan_oracle(pool, budget, seed)
    if plan.empty:
        raise DataError("the oracle's budget is empty: every class has 0 images to draw")
    frame = pool.frame.reset_index(drop=True)
    plan["path"] = [f"{c}/{c}_{i:05d}.png" for c, i in zip(plan["code"], plan["index"], strict=True)]
    plan["source_image_id"] = frame["image_id"].to_numpy()[plan["row"].to_numpy()]
    plan["generator"] = GENERATOR_NAME
    plan["seed"] = seed
    manifest = plan[["path", "label", "code", "generator", "seed", "source_image_id", "repeat"]]
    if (folder / MANIFEST).is_file():
        existing = read_manifest(folder)
        same = existing.get("source_image_id") is not None and existing[["path", "source_image_id"]].equals(
            manifest[["path", "source_image_id"]].astype(str)
        )
        if same and all((folder / p).is_file() for p in manifest["path"]):
            return folder
    repeats = plan.groupby("code")["repeat"].max()
    short = repeats[repeats > 0]
    if len(short):
        warnings.warn(
            "the pool holds fewer images than the oracle's budget for "
            + ", ".join(f"{code} (each image used up to {int(r) + 1}×)" for code, r in short.items()),
            stacklevel=2,
        )
    reader, resize = ImageReader(draft_size=image_size), eval_transform(image_size, normalize=False)
    try:
        for row, path in zip(plan["row"], plan["path"], strict=True):
            tensor = resize(image=reader.read(frame.loc[row, "path"]))["image"]  # as the study's loaders resize
            pixels = (tensor.permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy()
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
            atomic_write_bytes(buffer.getvalue(), folder / path)
    finally:
        reader.close()
    write_manifest(manifest, folder)
    return folder
