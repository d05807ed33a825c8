"""Data layer: records, readers, splits, transforms, synthetic manifests and the LightningDataModule."""

from skinsynth.data.records import LesionRecords
from skinsynth.data.splits import Split, few_shot, predefined, stratified
from skinsynth.data.synthetic import SyntheticDataset

__all__ = ["LesionRecords", "SkinLesionDataModule", "Split", "SyntheticDataset", "few_shot", "predefined", "stratified"]


def __getattr__(name: str):
    if name == "SkinLesionDataModule":
        from skinsynth.data.datamodule import SkinLesionDataModule

        return SkinLesionDataModule
    raise AttributeError(f"module 'skinsynth.data' has no attribute {name!r}")
