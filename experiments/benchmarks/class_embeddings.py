"""How far apart a trained DDPM's class embeddings are: the mechanism behind a conditional model without classes.

The diffusers U-Net adds the class embedding to the time embedding, so a class can only change the prediction as far
as its row differs from the others. After an unconditional pool pretraining every class row starts at the null
row; this prints, per checkpoint, each class row's distance to the null row and the mean distance between class
rows, both relative to the null row's norm (the EMA weights, which the sampler uses)::

    python experiments/benchmarks/class_embeddings.py \
        runs/pool-cel32/ham50_seed0/checkpoints/pretrain-ddpm/last.ckpt \
        runs/pool-cel32/ham50_seed0/checkpoints/generator-ddpm-pool/last.ckpt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from skinsynth.checkpoints import load_checkpoint
from skinsynth.errors import ConfigError
from skinsynth.report import markdown_table


def class_table(path: Path) -> tuple[torch.Tensor, list[str]]:
    """The EMA (else raw) class-embedding table of DDPM checkpoint ``path`` (null row last) and its class codes."""
    saved = load_checkpoint(path)
    state = saved.get("state_dict", {})
    for key in ("ema.module.class_embedding.weight", "unet.class_embedding.weight"):
        if key in state:
            codes = list(saved.get("hyper_parameters", {}).get("class_codes") or [])
            if len(state[key]) != len(codes) + 1:
                raise ConfigError(f"{str(path)!r} has no null class (label_dropout 0): nothing to measure against")
            return state[key].float(), codes
    raise ConfigError(f"{str(path)!r} holds no DDPM class embeddings (no class_embedding.weight in its state_dict)")


def separation(table: torch.Tensor, codes: list[str]) -> dict[str, object]:
    """Distances of the class rows to the null row and to one another, relative to the null row's norm."""
    classes, null = table[: len(codes)], table[len(codes)]
    scale = float(null.norm())
    to_null = (classes - null).norm(dim=1) / scale
    pairwise = torch.cdist(classes, classes)[~torch.eye(len(codes), dtype=torch.bool)] / scale
    return {
        "to null (mean)": round(float(to_null.mean()), 3),
        "between classes (mean)": round(float(pairwise.mean()), 3),
        "between classes (min)": round(float(pairwise.min()), 3),
        **{code: round(float(d), 3) for code, d in zip(codes, to_null, strict=True)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path)
    args = parser.parse_args()
    rows = []
    for path in args.checkpoints:
        table, codes = class_table(path)
        rows.append({"checkpoint": str(path), **separation(table, codes)})
    print(markdown_table(pd.DataFrame(rows).set_index("checkpoint")))


if __name__ == "__main__":
    main()
