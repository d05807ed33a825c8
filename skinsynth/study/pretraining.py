"""Pretraining on the unlabeled pool: a SimCLR backbone for the ``ssl`` arms, an unconditional generator.

Both see the few-shot training images and the pool with every label hidden (the datamodule's ``unlabeled`` mode), so
an arm that uses them has seen exactly the images a pool-pretrained generator saw: the fair baseline for a synthetic
gain ("the model saw more images" is ruled out by ``ssl``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
from torch.utils.data import DataLoader

from skinsynth.data.records import LesionRecords
from skinsynth.data.transforms import contrastive_transform
from skinsynth.data.views import TwoViewDataset

TrainerFactory = Callable[..., L.Trainer]  # keyword Trainer arguments → a Trainer with the study's hardware settings


def finished_epochs(checkpoint: Path) -> int:
    """How many epochs the Lightning checkpoint ``checkpoint`` completed (0 when it does not exist)."""
    from skinsynth.checkpoints import load_checkpoint

    return int(load_checkpoint(checkpoint).get("epoch", -1)) + 1 if checkpoint.is_file() else 0


def pretrain_ssl_backbone(
    records: LesionRecords,
    out: Path,
    *,
    backbone: str,
    image_size: int,
    epochs: int,
    batch_size: int,
    seed: int,
    make_trainer: TrainerFactory,
    num_workers: int = 0,
    pretrained: bool = False,
    weights_path: str | None = None,
) -> Path:
    """SimCLR on ``records`` (labels unused) for ``epochs``; the backbone's weights go to ``out`` (safetensors).

    The backbone starts from random weights, or from ImageNet (``pretrained``) or a local file (``weights_path``),
    as the study's classifiers do; ``<out>.json`` records which. Returns ``out`` at once when it exists with the same
    start (a resumed study). The returned file is a classifier's ``weights_path``.

    Raises:
        ConfigError: ``out`` exists but started otherwise (a backbone without a record started from scratch).
    """
    import json

    from skinsynth.errors import ConfigError
    from skinsynth.io import atomic_write_json
    from skinsynth.models.ssl.module import SimCLRModule

    start = f"from {weights_path}" if weights_path else "from ImageNet weights" if pretrained else "from scratch"
    record = out.with_suffix(".json")
    if out.is_file():
        saved = json.loads(record.read_text()).get("start") if record.is_file() else "from scratch"
        if saved != start:
            raise ConfigError(f"the SimCLR backbone {str(out)!r} was pretrained {saved}; this study starts it {start}: "
                              f"delete {str(out.parent)!r} to pretrain it again")  # fmt: skip
        return out
    L.seed_everything(seed, workers=True, verbose=False)
    dataset = TwoViewDataset(records, contrastive_transform(image_size, seed=seed))
    loader = DataLoader(dataset, batch_size=min(batch_size, len(dataset)), shuffle=True, drop_last=True,
                        num_workers=num_workers)  # fmt: skip
    model = SimCLRModule(backbone=backbone, pretrained=pretrained, weights_path=weights_path)
    trainer = make_trainer(max_epochs=epochs)
    print(f"[skinsynth] ssl: SimCLR pretraining of {backbone} ({start}) on {len(dataset)} unlabeled images for "
          f"{epochs} epochs")  # fmt: skip
    trainer.fit(model, loader)
    if trainer.global_rank == 0:
        atomic_write_json({"start": start, "epochs": epochs}, record)
        model.save_backbone(out)
    return out


PRETRAINING_FILE = "pretraining.json"  # beside a pretrained checkpoint: its epochs and the images it saw


def pretrain_generator(
    model: L.LightningModule,
    datamodule: Any,
    ckpt_dir: Path,
    *,
    epochs: int,
    make_trainer: TrainerFactory,
) -> Path:
    """Train an unconditional ``model`` on the ``unlabeled`` ``datamodule`` for ``epochs``; returns ``last.ckpt``.

    Writes ``pretraining.json`` (the generator, the epochs and the id of every image it trained on) beside the
    checkpoint, so a study that reuses it (``--pretrained-generator``) can check that none of them is in its val or
    test split. Resumes an interrupted pretraining and returns a finished one without training.

    Raises:
        ConfigError: ``ckpt_dir`` holds a pretraining with other epochs or other images.
    """
    from skinsynth.errors import ConfigError
    from skinsynth.io import atomic_write_json
    from skinsynth.study.hardware import generator_checkpoint

    datamodule.setup("fit")
    settings = {"epochs": epochs, "images": sorted(datamodule.train_records.frame["image_id"].astype(str))}
    last, record = ckpt_dir / "last.ckpt", ckpt_dir / PRETRAINING_FILE
    if record.is_file():
        import json

        saved = json.loads(record.read_text())
        if saved.get("epochs") != epochs or saved.get("images") != settings["images"]:
            raise ConfigError(
                f"{str(ckpt_dir)!r} holds a pretraining of {saved.get('epochs')} epochs on "
                f"{len(saved.get('images', []))} images; this study asks for {epochs} epochs on "
                f"{len(settings['images'])}: use a new `study.run_dir`"
            )
    if finished_epochs(last) >= epochs:
        return last
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(settings, record)
    trainer = make_trainer(max_epochs=epochs, callbacks=[generator_checkpoint(ckpt_dir)])
    trainer.fit(model, datamodule=datamodule, ckpt_path=str(last) if last.is_file() else None)
    return last


def check_pretrained_images(checkpoint: Path, held_out: set[str]) -> int | None:
    """How many images a pretrained checkpoint saw (from its ``pretraining.json``), or ``None`` if it has no record.

    Raises:
        ConfigError: some of them are in ``held_out`` (this study's val and test image ids): the generator would
            have seen test images.
    """
    import json

    from skinsynth.errors import ConfigError, preview

    record = checkpoint.parent / PRETRAINING_FILE
    if not record.is_file():
        return None
    seen = set(json.loads(record.read_text()).get("images", []))
    leaked = sorted(seen & held_out)
    if leaked:
        raise ConfigError(
            f"`generator.pretrained_checkpoint` {str(checkpoint)!r} was pretrained on {len(leaked)} image(s) that are "
            f"in this study's val or test split ({preview(leaked)}): its split differs (another seed or pool?). "
            "Pretrain on this study's pool instead (`generator.pretrain_epochs` > 0)"
        )
    return len(seen)


def supports_pretraining(model_class: type) -> bool:
    """Whether generators of ``model_class`` can pretrain unconditionally and start from a checkpoint."""
    from skinsynth.models.registry import init_parameters

    parameters = init_parameters(model_class)
    return "unconditional" in parameters and "init_checkpoint" in parameters
