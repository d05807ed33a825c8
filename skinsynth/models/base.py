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


@runtime_checkable
class Generator(Protocol):
    """What the callback, filters, metrics and reports need from a generative model."""

    def sample(self, labels: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Images for ``labels`` (N,), in [0, 1], shape (N, 3, H, W); deterministic for a seeded ``generator``."""
        ...
