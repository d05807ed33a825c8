"""Materialize a generator's class-aware budget to disk: PNGs plus ``manifest.csv``, resumable and rank-sharded.

Every planned image has a fixed identity — (class, index) — and a seed derived from (study seed, class, index); it
is drawn with its own ``torch.Generator``, so it is the same image whatever the batch size, the number of ranks or
how often the run was interrupted. Files are written under a temporary name and renamed, the manifest is written
last and atomically, so an interrupted run leaves only complete PNGs and no manifest; running again generates exactly
the missing images.

Under DDP each rank generates ``plan[rank::world_size]`` and writes ``manifest.part<rank>.csv``; after a barrier
rank 0 merges the parts, checks every class has exactly its budget, and writes ``manifest.csv``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from PIL import Image
from tqdm.auto import tqdm

from skinsynth.data.synthetic import MANIFEST, read_manifest, write_manifest
from skinsynth.errors import DataError
from skinsynth.io import atomic_write_json

STATE_FILE = "materialization.json"


@dataclass(frozen=True)
class PlannedImage:
    """One image of the budget: its class, index within the class, seed and file (relative to the folder)."""

    code: str
    label: int
    index: int
    seed: int

    @property
    def path(self) -> str:
        """File path relative to the synthetic folder."""
        return f"{self.code}/{self.code}_{self.index:05d}.png"


def sample_seed(study_seed: int, label: int, index: int) -> int:
    """A 63-bit seed for image ``index`` of class ``label``, derived from the study seed."""
    state = np.random.SeedSequence([study_seed, label, index]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def plan_images(budget: Mapping[str, int], class_codes: Sequence[str], study_seed: int) -> list[PlannedImage]:
    """Every image of ``budget`` in class order, with its seed."""
    unknown = sorted(set(budget) - set(class_codes))
    if unknown:
        raise DataError(f"the budget names class(es) {unknown} that are not in the vocabulary {list(class_codes)}")
    plan = []
    for label, code in enumerate(class_codes):
        count = int(budget.get(code, 0))
        if count < 0:
            raise DataError(f"the budget for class {code!r} is negative ({count})")
        plan += [PlannedImage(code, label, i, sample_seed(study_seed, label, i)) for i in range(count)]
    return plan


def _save_png(array: np.ndarray, path: Path) -> None:
    """Write a PNG under a temporary name and rename it into place (never a half-written file)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            Image.fromarray(array).save(handle, format="PNG", compress_level=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _to_uint8(images: torch.Tensor, expected: int, image_size: int | None) -> np.ndarray:
    if images.ndim != 4 or images.shape[0] != expected or images.shape[1] != 3:
        raise RuntimeError(f"sample() returned shape {tuple(images.shape)}; expected ({expected}, 3, H, W)")
    if image_size is not None and tuple(images.shape[2:]) != (image_size, image_size):
        raise RuntimeError(f"sample() returned {tuple(images.shape[2:])} images; the study uses {image_size} px")
    return (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def _check_state(folder: Path, state: dict[str, Any]) -> None:
    """Refuse to add to a folder that holds images of another generator, checkpoint, seed or budget."""
    manifest = folder / MANIFEST
    if manifest.is_file():
        generators = sorted(set(read_manifest(folder)["generator"]))
        if generators != [state["generator"]]:
            raise DataError(
                f"{str(folder)!r} holds a manifest from generator(s) {generators}, not {state['generator']!r}; "
                "refusing to mix synthetic sets. Use another folder or delete this one."
            )
    saved = folder / STATE_FILE
    if saved.is_file():
        previous = json.loads(saved.read_text())
        changed = sorted(k for k in state if previous.get(k) != state[k] and not _same_checkpoint(k, previous, state))
        if changed:
            details = ", ".join(f"{k}: {previous.get(k)!r} → {state[k]!r}" for k in changed)
            raise DataError(
                f"{str(folder)!r} holds synthetic images made with other settings ({details}); refusing to mix them. "
                "Use another folder or delete this one."
            )


def _same_checkpoint(key: str, previous: Mapping[str, Any], state: Mapping[str, Any]) -> bool:
    """Studies record the checkpoint relative to the run directory; older ones recorded it absolute."""
    if key != "checkpoint" or not previous.get(key) or not state.get(key) or Path(state[key]).is_absolute():
        return False
    return Path(str(previous[key])).as_posix().endswith("/" + Path(str(state[key])).as_posix())


def _check_complete(folder: Path, plan: Sequence[PlannedImage], manifest: pd.DataFrame) -> None:
    """Raise unless ``manifest`` lists exactly the planned images and every file exists."""
    expected = pd.Series([p.code for p in plan]).value_counts()
    found = manifest["code"].astype(str).value_counts()
    if not expected.sort_index().equals(found.sort_index()):
        raise DataError(
            f"{str(folder)!r}: per-class counts {found.to_dict()} do not match the budget {expected.to_dict()}"
        )
    paths = manifest["path"].astype(str)
    if paths.duplicated().any():
        raise DataError(f"{str(folder)!r}: the manifest lists {int(paths.duplicated().sum())} image(s) twice")
    missing = [p for p in paths if not (folder / p).is_file()]
    if missing:
        raise DataError(f"{str(folder)!r}: {len(missing)} listed image(s) are missing, e.g. {missing[:3]}")


def materialize(
    model: Any,
    budget: Mapping[str, int],
    output_dir: str | Path,
    *,
    generator_name: str,
    class_codes: Sequence[str],
    study_seed: int = 0,
    batch_size: int = 64,
    checkpoint: str = "",
    image_size: int | None = None,
    rank: int = 0,
    world_size: int = 1,
    barrier: Callable[[], None] | None = None,
    progress: bool = False,
) -> Path:
    """Generate the missing images of ``budget`` with ``model.sample`` and write the manifest.

    Args:
        model: anything with the generator ``sample(labels, generator)`` method.
        budget: images per class code.
        output_dir: the synthetic folder (``synthetic/<generator>/`` in a run directory).
        generator_name: recorded in the manifest; a folder of another generator is refused.
        class_codes: the vocabulary, in label order.
        study_seed: base of the per-image seeds.
        batch_size: images per ``sample`` call.
        checkpoint: the checkpoint the images come from (recorded; part of the folder's identity).
        image_size: expected image side (checked on every batch) and part of the folder's identity.
        rank: this process's rank.
        world_size: number of processes.
        barrier: called to wait for every rank (e.g. ``trainer.strategy.barrier``); required when world_size > 1.
        progress: show a progress bar (tqdm, on rank 0) while images are generated.

    Returns:
        The path of ``manifest.csv``.
    """
    folder = Path(output_dir)
    if world_size > 1 and barrier is None:
        raise ValueError("materialize with world_size > 1 needs a barrier")
    wait = barrier or (lambda: None)
    plan = plan_images(budget, class_codes, study_seed)
    state = {
        "generator": generator_name,
        "checkpoint": str(checkpoint),
        "seed": int(study_seed),
        "budget": {c: int(budget.get(c, 0)) for c in class_codes},
        "image_size": image_size,
        "class_codes": list(class_codes),
    }
    if folder.exists():
        _check_state(folder, state)
    manifest_path = folder / MANIFEST
    if manifest_path.is_file() and len(read_manifest(folder)) == len(plan):
        listed = read_manifest(folder)["path"]
        if all((folder / p).is_file() for p in listed):  # finished; a deleted image is made again below
            _check_complete(folder, plan, read_manifest(folder))
            return manifest_path
    if rank == 0:
        for code in {p.code for p in plan}:
            (folder / code).mkdir(parents=True, exist_ok=True)
        atomic_write_json(state, folder / STATE_FILE)
        manifest_path.unlink(missing_ok=True)  # a stale manifest of a smaller budget would describe the wrong set
    wait()
    mine = plan[rank::world_size]
    for tmp in folder.glob("*/.*.tmp"):  # leftovers of an interrupted write: never a finished image
        if any(tmp.name.startswith(f".{Path(p.path).stem}.") for p in mine):
            tmp.unlink(missing_ok=True)
    todo = [p for p in mine if not (folder / p.path).is_file()]
    bar = tqdm(total=len(todo), desc=f"materializing {generator_name}", unit="img", disable=not progress or rank != 0)
    with bar, ThreadPoolExecutor(max_workers=2) as writer:
        pending: list[Any] = []
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            labels = torch.tensor([p.label for p in chunk])
            generators = [torch.Generator().manual_seed(p.seed) for p in chunk]
            arrays = _to_uint8(model.sample(labels, generators), len(chunk), image_size)
            for future in pending:  # keep at most one batch of writes in flight
                future.result()
            pending = [writer.submit(_save_png, a, folder / p.path) for a, p in zip(arrays, chunk, strict=True)]
            bar.update(len(chunk))
        for future in pending:
            future.result()
    rows = pd.DataFrame(
        {
            "path": [p.path for p in mine],
            "label": [p.label for p in mine],
            "code": [p.code for p in mine],
            "generator": generator_name,
            "checkpoint": str(checkpoint),
            "seed": [p.seed for p in mine],
            "index": [p.index for p in mine],
        }
    )
    rows.to_csv(folder / f"manifest.part{rank}.csv", index=False)
    wait()
    if rank == 0:
        parts = [folder / f"manifest.part{r}.csv" for r in range(world_size)]
        missing = [str(p) for p in parts if not p.is_file()]
        if missing:
            raise DataError(f"materialization parts are missing after the barrier: {missing}")
        merged = pd.concat([pd.read_csv(p, dtype={"checkpoint": str}, keep_default_na=False) for p in parts])
        merged = merged.sort_values(["label", "index"], kind="stable").reset_index(drop=True)
        _check_complete(folder, plan, merged)
        write_manifest(merged, folder)
        for part in parts:
            part.unlink()
    wait()
    return manifest_path


class SyntheticDatasetCallback(L.Callback):
    """After generator training, materialize the budget into ``output_dir`` (every rank takes its shard).

    Args:
        output_dir: the synthetic folder.
        budget: images per class code.
        generator_name: name recorded in the manifest.
        class_codes: the vocabulary in label order.
        study_seed: base of the per-image seeds.
        batch_size: images per ``sample`` call.
        checkpoint: checkpoint path recorded in the manifest.
        progress: show a progress bar while materializing; ``None`` follows the Trainer (a bar when it shows one).
    """

    def __init__(
        self,
        output_dir: str | Path,
        budget: Mapping[str, int],
        generator_name: str,
        class_codes: Sequence[str],
        study_seed: int = 0,
        batch_size: int = 64,
        checkpoint: str = "",
        progress: bool | None = None,
    ) -> None:
        super().__init__()
        self.progress = progress
        self.output_dir = Path(output_dir)
        self.budget = dict(budget)
        self.generator_name = generator_name
        self.class_codes = list(class_codes)
        self.study_seed = study_seed
        self.batch_size = batch_size
        self.checkpoint = checkpoint
        self.manifest: Path | None = None

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.manifest = materialize(
            pl_module,
            self.budget,
            self.output_dir,
            generator_name=self.generator_name,
            class_codes=self.class_codes,
            study_seed=self.study_seed,
            batch_size=self.batch_size,
            checkpoint=self.checkpoint,
            image_size=getattr(pl_module.hparams, "image_size", None),
            rank=trainer.global_rank,
            world_size=trainer.world_size,
            barrier=trainer.strategy.barrier,
            progress=self.progress if self.progress is not None else trainer.progress_bar_callback is not None,
        )
