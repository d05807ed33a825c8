"""Stages of the few-shot study that live outside :mod:`skinsynth.pipeline`: pretraining on the unlabeled pool."""
