"""Shared base for every LightningModule in skinsynth, and the sampling protocol every generator follows.

Following torchgeo's trainer base: ``__init__`` saves the (flat, YAML-friendly) constructor arguments as
hyperparameters, then calls :meth:`configure_models`, :meth:`configure_losses` and :meth:`configure_metrics`, so a
subclass only fills in those hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

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
        # Lightning collects the arguments of every __init__ in the class chain, this one's ``ignore`` too: it is not a
        # setting of the model, and a subclass taking **kwargs (InpaintModule) would be handed it back on loading
        skipped = [ignore] if isinstance(ignore, str) else list(ignore or ())
        self.save_hyperparameters(ignore=["ignore", *skipped])
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

    def trainer_arguments(self, processes: int, precision: str) -> dict[str, Any]:
        """Trainer arguments this module needs, merged over the runner's own (as anomalib's Engine does).

        Args:
            processes: training processes (devices × nodes) the runner will start.
            precision: the runner's Lightning precision; a module that cannot train in it raises ``ConfigError``.

        The default needs nothing.
        """
        return {}


RandomSource = torch.Generator | Sequence[torch.Generator] | None


class GeneratorModule(BaseModule):
    """Base of every generator: its class codes and the one sampling interface (:class:`Generator`).

    :meth:`sample` is a template: it checks the labels and moves them to the model's device, switches to eval mode
    without gradients (and back), calls the subclass's :meth:`_sample`, then resizes to ``hparams.image_size`` when
    the network drew another size and clamps to [0, 1]. Subclasses implement :meth:`_sample` and may override
    :meth:`preview_sample` (a cheaper draw for progress grids) and :meth:`set_training_records`.

    Args:
        num_classes: classes the generator is conditioned on.
        class_codes: their codes in label order (default ``"0"``, ``"1"``, …); checked against the data when a
            checkpoint is reused.
        ignore: constructor arguments not to save as hyperparameters.
    """

    #: constructor options that change only how the trained model samples (a study may sample a finished
    #: checkpoint with other values of these, never of the rest)
    SAMPLING_OPTIONS: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, num_classes: int, class_codes: Sequence[str] | None = None, ignore: Sequence[str] | str | None = None
    ) -> None:
        from skinsynth.errors import ConfigError

        codes = [str(i) for i in range(num_classes)] if class_codes is None else list(class_codes)
        if len(codes) != num_classes:
            raise ConfigError(f"{len(codes)} class codes ({', '.join(codes)}) for a generator of {num_classes} classes")
        self.class_codes = codes  # before the hooks: a subclass's configure_models may read them
        super().__init__(ignore=ignore)

    @torch.no_grad()
    def sample(self, labels: Tensor, generator: RandomSource = None, **options: Any) -> Tensor:
        """Images for ``labels`` (N,), in [0, 1], shape (N, 3, image_size, image_size).

        Args:
            labels: class indices; a label outside the vocabulary raises ``ValueError`` naming it.
            generator: one ``torch.Generator`` for the batch, or one per sample.
            **options: sampler settings of the subclass (e.g. the DDPM's ``steps``, ``eta``).
        """
        labels = check_labels(labels, self.hparams.num_classes).to(self.device)
        was_training = self.training
        self.eval()
        try:
            images = self._sample(labels, generator, **options).float()
        finally:
            self.train(was_training)
        size = self.hparams.get("image_size")
        if size and images.shape[-2:] != (size, size):
            images = torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear", antialias=True)
        return images.clamp(0, 1)

    def _sample(self, labels: Tensor, generator: RandomSource, **options: Any) -> Tensor:
        """Images for checked ``labels`` (on the model's device), roughly in [0, 1]; called in eval mode."""
        raise NotImplementedError

    def preview_sample(self, labels: Tensor, generator: RandomSource = None) -> Tensor:
        """The draw for progress grids during training (default: :meth:`sample`)."""
        return self.sample(labels, generator)

    def set_training_records(self, records: Any, pool: Any = None) -> None:
        """Called with the training split's records (and the unlabeled pool's, if any) before fitting and sampling.

        The default ignores them; the LDM builds per-image captions, the inpainting generator takes its context images.
        """

    def write_figures(self, folder: Path, seed: int = 0) -> list[Path]:
        """Figures of how this generator makes its images, written to ``folder`` (default: none)."""
        return []


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
