"""SkinLesionDataModule: records → split → datasets and loaders, in one of five modes.

=========== ==========================================================================================
``fewshot``  train on ``shots`` real images per class
``real``     train on every real training image (stratified split)
``synthetic`` train on generated images only (val/test stay real)
``mixed``    train on real (few-shot when ``shots`` is set) plus generated images
``unlabeled`` train on the few-shot images and the unlabeled pool, every label hidden (-1): for pretraining
=========== ==========================================================================================

Synthetic images only ever enter the training split. Batches are dicts ``{"image", "label", "is_synthetic",
"index"}``; ``index`` is the row of the split's records, so predictions map back to image ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from skinsynth.classes import ClassVocabulary
from skinsynth.data.dataset import LesionDataset, seed_worker_transform
from skinsynth.data.images import ImageReader
from skinsynth.data.record_source import RecordSource, readable_split
from skinsynth.data.records import LesionRecords
from skinsynth.data.splits import Split
from skinsynth.data.synthetic import SyntheticDataset
from skinsynth.data.training_set import class_balanced_sampler, training_records
from skinsynth.data.transforms import AUGMENTS, Augment, eval_transform, train_transform
from skinsynth.errors import ConfigError

Mode = Literal["fewshot", "real", "synthetic", "mixed", "unlabeled"]
MODES: tuple[str, ...] = ("fewshot", "real", "synthetic", "mixed", "unlabeled")


class SkinLesionDataModule(L.LightningDataModule):
    """Data for one arm of a study.

    Args:
        dataset: reader name (``toy``, ``ham10000``, ``isic2019``, ``isic2024``, ``imagefolder``, ``dermamnist``);
            ignored when ``records`` is given.
        data_dir: the dataset's folder. For ``toy`` it is where the set is generated (default:
            :func:`~skinsynth.data.sources.toy.default_toy_dir`, as in a study).
        records: already-read records to use instead of ``dataset``/``data_dir``.
        split: the split to use (e.g. :meth:`Split.load <skinsynth.data.splits.Split.load>` of a study's
            ``split.csv``); the datamodule then never splits, and its records are the split's. ``None``: split the
            records as ``shots``, ``val_fraction``, ``pool_fraction`` and ``seed`` say.
        mode: ``fewshot``, ``real``, ``synthetic``, ``mixed`` or ``unlabeled`` (module docstring).
        shots: training images per class (required for ``fewshot``; optional for ``mixed``/``synthetic``).
        val_fraction: share of the non-training data (few-shot) or of all groups (stratified) that goes to val.
        test_fraction: share of all groups for test in a stratified split (``real`` mode without a test set), and
            in a few-shot split with a pool.
        pool_fraction: few-shot only: keep ``pool_fraction`` (0–1, 1 = all) of the training-side groups outside the
            few-shot set as an unlabeled pool (:func:`~skinsynth.data.splitting.few_shot`); ``None``: no pool.
        test_dataset: reader name of an external test set (e.g. ``isic2018_test``); used with ``test_data_dir``.
        test_data_dir: folder of the external test set; when given, the test split is that set.
        test_records: already-read external test records (instead of ``test_dataset``/``test_data_dir``).
        synthetic_dirs: materialized synthetic folders (``manifest.csv`` + PNGs) for ``synthetic``/``mixed``.
        image_size: side length images are resized to.
        batch_size: training batch size (evaluation uses ``eval_batch_size`` or twice this).
        eval_batch_size: evaluation batch size.
        num_workers: DataLoader worker processes.
        augment: training augmentation (``none``, ``flip``, ``standard``, ``strong``).
        normalize: ImageNet-normalize (classifiers) or keep [0, 1] (generators).
        balanced_sampling: draw training batches class-balanced (oversampling with replacement).
        on_bad_image: ``error`` stops at the first unreadable image naming it; ``skip`` decodes every image once at
            set-up and leaves unreadable ones out with a warning that counts them.
        seed: split and sampling seed.
        run_dir: when given, ``split.csv`` is written there.
        toy_options: arguments for the toy generator (``total``, ``min_per_class``, ``seed``; size = image_size).
    """

    def __init__(
        self,
        dataset: str = "toy",
        data_dir: str | Path | None = None,
        records: LesionRecords | None = None,
        *,
        split: Split | None = None,
        mode: Mode = "fewshot",
        shots: int | None = None,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        pool_fraction: float | None = None,
        test_dataset: str = "isic2018_test",
        test_data_dir: str | Path | None = None,
        test_records: LesionRecords | None = None,
        synthetic_dirs: Sequence[str | Path] = (),
        image_size: int = 64,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        augment: Augment = "standard",
        normalize: bool = True,
        balanced_sampling: bool = False,
        on_bad_image: Literal["error", "skip"] = "error",
        seed: int = 0,
        run_dir: str | Path | None = None,
        toy_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ConfigError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if mode == "fewshot" and not shots:
            raise ConfigError("mode 'fewshot' needs shots (images per class), e.g. shots=50")
        if mode == "real" and shots:
            raise ConfigError("mode 'real' trains on all real training images; use mode='fewshot' for n shots")
        if mode == "unlabeled" and (balanced_sampling or not shots):
            raise ConfigError("mode 'unlabeled' needs a few-shot split (shots) and hides labels, so it cannot balance "
                              "classes (balanced_sampling=False)")  # fmt: skip
        if mode in ("synthetic", "mixed") and not synthetic_dirs:
            raise ConfigError(f"mode {mode!r} needs synthetic_dirs (folders with a manifest.csv)")
        if augment not in AUGMENTS:
            raise ConfigError(f"unknown augment {augment!r}; choose one of {', '.join(AUGMENTS)}")
        if on_bad_image not in ("error", "skip"):
            raise ConfigError(f"on_bad_image must be 'error' or 'skip', got {on_bad_image!r}")
        if pool_fraction is not None and (not shots or test_data_dir is not None or test_records is not None):
            raise ConfigError("an unlabeled pool needs a few-shot split (shots) with the test set taken from the data")
        if image_size < 8:
            raise ConfigError(f"image_size must be at least 8, got {image_size}")
        # Plain strings in the hyperparameters keep checkpoints loadable with torch.load(weights_only=True).
        data_dir = str(data_dir) if data_dir is not None else None
        test_data_dir = str(test_data_dir) if test_data_dir is not None else None
        run_dir = str(run_dir) if run_dir is not None else None
        synthetic_dirs = [str(d) for d in synthetic_dirs]
        self.save_hyperparameters(ignore=["records", "test_records", "split"])
        self.dataset_name = dataset
        self.data_dir = Path(data_dir).expanduser() if data_dir is not None else None
        self.mode = mode
        self.shots = shots
        self.synthetic_dirs = [Path(d) for d in synthetic_dirs]
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._records = split.records if split is not None else records
        self._test_records = None if split is not None else test_records
        self._given_split = split
        self.split: Split | None = None
        self.synthetic: list[SyntheticDataset] = []
        self.train_records: LesionRecords | None = None
        self.datasets: dict[str, LesionDataset] = {}

    # -- data -------------------------------------------------------------------------------------------------------
    @property
    def source(self) -> RecordSource:
        """Where the records come from (``dataset``, ``data_dir``, the toy options, the external test set)."""
        hp = self.hparams
        return RecordSource(self.dataset_name, self.data_dir, hp.image_size, hp.toy_options or {}, hp.test_dataset,
                            hp.test_data_dir)  # fmt: skip

    def prepare_data(self) -> None:
        """Generate the toy set if it is the dataset and does not exist yet (rank 0 only under DDP)."""
        if self._records is None:
            self.source.prepare()

    def load_records(self) -> LesionRecords:
        """The real records (read once)."""
        if self._records is None:
            self._records = self.source.read()
        return self._records

    def make_split(self) -> Split:
        """The split given to the constructor, else the real records split as the options say (deterministic)."""
        if self._given_split is not None:
            return self._given_split
        if self._test_records is None:
            self._test_records = self.source.read_test()
        hp = self.hparams
        return readable_split(self.load_records(), self._test_records, on_bad_image=hp.on_bad_image,
                              image_size=hp.image_size, shots=self.shots, val_fraction=hp.val_fraction,
                              test_fraction=hp.test_fraction, pool=hp.pool_fraction, seed=hp.seed)  # fmt: skip

    def setup(self, stage: str | None = None) -> None:
        """Read, split and build the datasets (idempotent)."""
        if self.split is not None:
            return
        split = self.make_split()
        split.audit()
        if self.run_dir is not None:
            split.to_csv(self.run_dir / "split.csv")
        vocabulary = split.records.vocabulary
        self.synthetic = [SyntheticDataset(d, vocabulary) for d in self.synthetic_dirs]
        train = training_records(self.mode, split, [s.records for s in self.synthetic])
        self.split, self.train_records = split, train
        hp = self.hparams
        reader = ImageReader(draft_size=hp.image_size)
        self.datasets = {
            "train": LesionDataset(
                train,
                train_transform(hp.image_size, hp.augment, hp.normalize, seed=hp.seed),
                reader,
                hide_labels=self.mode == "unlabeled",
            ),
            "val": LesionDataset(split.records_for("val"), eval_transform(hp.image_size, hp.normalize), reader),
            "test": LesionDataset(split.records_for("test"), eval_transform(hp.image_size, hp.normalize), reader),
        }

    # -- facts for models ---------------------------------------------------------------------------------------------
    @property
    def vocabulary(self) -> ClassVocabulary:
        """The class vocabulary of the data (reads the records if needed)."""
        return self.load_records().vocabulary

    @property
    def num_classes(self) -> int:
        """Number of classes in the vocabulary."""
        return len(self.vocabulary)

    @property
    def pool_records(self) -> LesionRecords:
        """The unlabeled pool (empty without ``pool_fraction``); its labels are for the oracle control only."""
        self._require_setup()
        return self.split.records_for("pool")

    def class_counts(self, split: str = "train") -> pd.Series:
        """Images per class in ``split`` (``train`` includes synthetic images in synthetic/mixed modes)."""
        self._require_setup()
        records = self.train_records if split == "train" else self.split.records_for(split)
        return records.class_counts()

    def class_weights(self) -> list[float]:
        """Inverse-frequency weights of the training set (scikit-learn's ``"balanced"``: n / (k · n_c)).

        Classes absent from the training set get weight 0 (they contribute no loss terms anyway).
        """
        from sklearn.utils.class_weight import compute_class_weight

        self._require_setup()
        labels = self.train_records.frame["label"].to_numpy()
        present = np.unique(labels)
        weights = np.zeros(self.num_classes)
        weights[present] = compute_class_weight("balanced", classes=present, y=labels)
        return weights.tolist()

    def _require_setup(self) -> None:
        if self.split is None:
            raise RuntimeError("call setup() before using the datamodule's splits")

    # -- loaders ------------------------------------------------------------------------------------------------------
    def _loader(
        self, dataset: Dataset, batch_size: int, *, shuffle: bool = False, sampler: Any = None, drop_last: bool = False
    ) -> DataLoader:
        workers = self.hparams.num_workers
        generator = torch.Generator().manual_seed(self.hparams.seed)
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle if sampler is None else False,
            sampler=sampler,
            num_workers=workers,
            persistent_workers=workers > 0,
            worker_init_fn=seed_worker_transform if workers > 0 else None,
            generator=generator,
            drop_last=drop_last,
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled (or class-balanced) training batches; the ragged last batch is dropped."""
        self._require_setup()
        dataset = self.datasets["train"]
        sampler = None
        if self.hparams.balanced_sampling:
            sampler = class_balanced_sampler(dataset.labels, self.num_classes, self.hparams.seed)
        # A last batch of one image breaks batch norm; dropping the ragged batch costs nothing as order reshuffles.
        # Under DDP each rank sees 1/world of the set: drop only when a rank still has more than one batch.
        world = self.trainer.world_size if self.trainer is not None else 1
        drop_last = len(dataset) // max(world, 1) > self.hparams.batch_size
        return self._loader(dataset, self.hparams.batch_size, shuffle=True, sampler=sampler, drop_last=drop_last)

    def _eval_batch(self) -> int:
        return self.hparams.eval_batch_size or 2 * self.hparams.batch_size

    def val_dataloader(self) -> DataLoader:
        """Validation batches (real images only)."""
        self._require_setup()
        return self._loader(self.datasets["val"], self._eval_batch())

    def test_dataloader(self) -> DataLoader:
        """Test batches (real images only)."""
        self._require_setup()
        return self._loader(self.datasets["test"], self._eval_batch())

    def predict_dataloader(self) -> DataLoader:
        """The test split, for saving predictions."""
        return self.test_dataloader()
