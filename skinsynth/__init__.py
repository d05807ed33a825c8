"""skinsynth: does synthetic data from a generative model help a few-shot or long-tailed skin-lesion classifier?

``skinsynth.data`` (records, readers, splits, the datamodule), ``skinsynth.models`` (classifier and generators),
``skinsynth.callbacks`` (materialization, sample grids), ``skinsynth.budget``, ``skinsynth.study`` (the staged
study) and ``skinsynth.report``. The most used names are exported here; they are imported on first use, so
``import skinsynth`` stays light (torch, lightning, timm and diffusers load only when a model or the datamodule does).
"""

from skinsynth.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "SkinLesionDataModule": "skinsynth.data.datamodule:SkinLesionDataModule",
    "LesionRecords": "skinsynth.data.records:LesionRecords",
    "Split": "skinsynth.data.splits:Split",
    "SyntheticDataset": "skinsynth.data.synthetic:SyntheticDataset",
    "LesionClassifier": "skinsynth.models.classifier:LesionClassifier",
    "CVAEModule": "skinsynth.models.cvae.module:CVAEModule",
    "ConditionalGANModule": "skinsynth.models.gan.module:ConditionalGANModule",
    "DDPMModule": "skinsynth.models.ddpm.module:DDPMModule",
    "LDMLoRAModule": "skinsynth.models.ldm_lora.module:LDMLoRAModule",
    "make_generator": "skinsynth.models.registry:make_generator",
    "load_generator": "skinsynth.models.registry:load_generator",
    "SyntheticDatasetCallback": "skinsynth.callbacks.synthetic_dataset:SyntheticDatasetCallback",
    "SampleGridCallback": "skinsynth.callbacks.sample_grid:SampleGridCallback",
    "materialize": "skinsynth.callbacks.synthetic_dataset:materialize",
    "make_budget": "skinsynth.budget:make_budget",
    "StudyConfig": "skinsynth.config:StudyConfig",
    "FewShotStudy": "skinsynth.study.runner:FewShotStudy",
    "SkinSynthError": "skinsynth.errors:SkinSynthError",
    "ConfigError": "skinsynth.errors:ConfigError",
    "DataError": "skinsynth.errors:DataError",
}
__all__ = [*_EXPORTS, "__version__"]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
