"""Lightning callbacks and the image-grid helpers they use."""

from skinsynth.lazy import lazy_exports

_EXPORTS = {
    "SyntheticDatasetCallback": "skinsynth.callbacks.synthetic_dataset:SyntheticDatasetCallback",
    "materialize": "skinsynth.callbacks.synthetic_dataset:materialize",
    "SampleGridCallback": "skinsynth.callbacks.sample_grid:SampleGridCallback",
    "class_grid": "skinsynth.callbacks.sample_grid:class_grid",
    "save_grid": "skinsynth.callbacks.sample_grid:save_grid",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
