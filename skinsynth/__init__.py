"""skinsynth: does synthetic data from a generative model help a few-shot or long-tailed skin-lesion classifier?

The package is organised as DESIGN.md describes: ``skinsynth.data`` (records, readers, splits, the datamodule),
``skinsynth.models`` (classifier and generators), ``skinsynth.pipeline`` (the staged study) and ``skinsynth.report``.
Heavy dependencies (torch, lightning, timm, diffusers) are imported by the sub-modules that need them, not here.
"""

__version__ = "0.1.0"
