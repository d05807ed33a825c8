"""Data layer: records, readers, splits, transforms, synthetic manifests and the LightningDataModule."""

from skinsynth.data.records import LesionRecords
from skinsynth.data.splits import Split
from skinsynth.data.splitting import few_shot, predefined, split_records, stratified
from skinsynth.data.synthetic import SyntheticDataset
from skinsynth.lazy import lazy_exports

__all__ = [
    "LesionRecords",
    "SkinLesionDataModule",
    "Split",
    "SyntheticDataset",
    "few_shot",
    "predefined",
    "split_records",
    "stratified",
]
# the datamodule imports lightning and torch: loaded on first use
_DATAMODULE = {"SkinLesionDataModule": "skinsynth.data.datamodule:SkinLesionDataModule"}
__getattr__, _ = lazy_exports(__name__, _DATAMODULE)


def __dir__() -> list[str]:
    return sorted(__all__)
