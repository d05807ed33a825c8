"""Shared base for every LightningModule in skinsynth, and the sampling protocol every generator follows.

Following torchgeo's trainer base: ``__init__`` saves the (flat, YAML-friendly) constructor arguments as
hyperparameters, then calls :meth:`configure_models`, :meth:`configure_losses` and :meth:`configure_metrics`, so a
subclass only fills in those hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import lightning as L
import torch
from torch import Tensor


class BaseModule(L.LightningModule):
    """Saves hyperparameters and builds models, losses and metrics through overridable hooks.

    Args:
        ignore: constructor arguments not to save as hyperparameters (large objects).
    """

    def __init__(self, ignore: Sequence[str] | str | None = None) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=ignore)
        self.configure_models()
        self.configure_losses()
        self.configure_metrics()

    def configure_models(self) -> None:
        """Build the networks (required)."""
        raise NotImplementedError

    def configure_losses(self) -> None:
        """Build the loss functions."""

    def configure_metrics(self) -> None:
        """Build the metric collections."""


RandomSource = torch.Generator | Sequence[torch.Generator] | None


@runtime_checkable
class Generator(Protocol):
    """What the callback, filters, metrics and reports need from a generative model.

    ``generator`` is one ``torch.Generator`` for the whole batch, or (as in diffusers pipelines) one per sample, so
    that a sample depends only on its own seed and not on which batch it was drawn in.
    """

    def sample(self, labels: Tensor, generator: RandomSource = None) -> Tensor:
        """Images for ``labels`` (N,), in [0, 1], shape (N, 3, H, W); deterministic for seeded generators."""
        ...


def randn(shape: Sequence[int], generator: RandomSource, device: torch.device | str = "cpu") -> Tensor:
    """Standard normal noise of ``shape``; with a list of generators, row ``i`` comes from generator ``i``.

    Noise is drawn on the CPU and moved to ``device``, so a seed gives the same sample on every device.
    """
    shape = tuple(shape)
    if isinstance(generator, Sequence) and not isinstance(generator, torch.Generator):
        if len(generator) != shape[0]:
            raise ValueError(f"{len(generator)} generators for a batch of {shape[0]}")
        noise = torch.stack([torch.randn(shape[1:], generator=g) for g in generator])
    else:
        noise = torch.randn(shape, generator=generator)
    return noise.to(device)


def check_labels(labels: Tensor, num_classes: int) -> Tensor:
    """Labels as a 1-D long tensor; raises ``ValueError`` naming labels outside ``0..num_classes-1``."""
    labels = torch.as_tensor(labels).long().flatten()
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if len(bad):
        raise ValueError(f"class labels {sorted(set(bad.tolist()))} are outside the vocabulary (0..{num_classes - 1})")
    return labels
