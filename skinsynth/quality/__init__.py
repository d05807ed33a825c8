"""Evidence about synthetic images: distances, fidelity/diversity, memorization, in a named feature space."""

from skinsynth.quality.distances import feature_distances
from skinsynth.quality.features import ClassifierFeatures, InceptionFeatures, embed, feature_space_name

__all__ = ["ClassifierFeatures", "InceptionFeatures", "embed", "feature_distances", "feature_space_name"]
