"""Where a study's real images come from: a reader and its folder, or the generated toy set, and an external test set.

The study's data stage and a standalone :class:`~skinsynth.data.datamodule.SkinLesionDataModule` read their records
through :class:`RecordSource` and split them with :func:`readable_split`, so both read and split the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skinsynth.data.images import drop_unreadable
from skinsynth.data.records import LesionRecords
from skinsynth.data.splits import Split
from skinsynth.data.splitting import split_records
from skinsynth.errors import ConfigError


@dataclass(frozen=True)
class RecordSource:
    """A dataset by reader name and folder (``toy``: generated, by default into the shared toy folder).

    Attributes:
        dataset: reader name (``toy``, ``ham10000``, ``isic2019``, ...).
        data_dir: the dataset's folder; for ``toy`` where the set is generated
            (default :func:`~skinsynth.data.sources.toy.default_toy_dir`).
        image_size: side of the toy set's images (other readers resize later).
        toy_options: arguments of the toy set (``total``, ``min_per_class``, ``seed``).
        test_dataset: reader name of an external test set.
        test_data_dir: its folder; ``None``: the test split comes from the data.
    """

    dataset: str = "toy"
    data_dir: str | Path | None = None
    image_size: int = 64
    toy_options: Mapping[str, Any] = field(default_factory=dict)
    test_dataset: str = "isic2018_test"
    test_data_dir: str | Path | None = None

    def toy_dir(self) -> Path:
        """The toy set's folder: ``data_dir``, else the default folder for these toy options."""
        from skinsynth.data.sources.toy import default_toy_dir

        if self.data_dir is not None:
            return Path(self.data_dir).expanduser()
        return default_toy_dir(self.image_size, **self.toy_options)

    def prepare(self) -> None:
        """Generate the toy set if it is the dataset and is not on disk yet."""
        if self.dataset == "toy":
            from skinsynth.data.sources.toy import make_toy_dataset

            make_toy_dataset(self.toy_dir(), image_size=self.image_size, **self.toy_options)

    def read(self) -> LesionRecords:
        """The records, every listed file checked to exist."""
        from skinsynth.data.sources import read_source

        if self.dataset == "toy":
            from skinsynth.data.sources.toy import read_toy

            records = read_toy(self.toy_dir(), image_size=self.image_size, **self.toy_options)
        else:
            if self.data_dir is None:
                raise ConfigError(f"dataset {self.dataset!r} needs `data_dir`")
            records = read_source(self.dataset, Path(self.data_dir).expanduser())
        records.check_files()
        return records

    def read_test(self) -> LesionRecords | None:
        """The external test set's records, or ``None`` without ``test_data_dir``."""
        from skinsynth.data.sources import read_source

        if self.test_data_dir is None:
            return None
        records = read_source(self.test_dataset, Path(self.test_data_dir).expanduser())
        records.check_files()
        return records


def readable_split(
    records: LesionRecords,
    test_records: LesionRecords | None,
    *,
    on_bad_image: str,
    image_size: int,
    **settings: Any,
) -> Split:
    """:func:`~skinsynth.data.splitting.split_records` of ``records`` (``settings``: shots, val_fraction, ...).

    With ``on_bad_image="skip"`` every image is decoded once first and the unreadable ones are left out of the split.
    """
    if on_bad_image == "skip":
        records = drop_unreadable(records, image_size)
        test_records = drop_unreadable(test_records, image_size) if test_records is not None else None
    return split_records(records, test_records, **settings)
