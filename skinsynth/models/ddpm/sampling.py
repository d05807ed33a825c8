"""Sampling pieces of the class-conditional DDPM: sampler choice, option checks and classifier-free guidance.

The sampling schedulers are diffusers' DDPM (ancestral), DDIM (η from 0, deterministic, to 1, ancestral-like) and
DPM-Solver++, each built from the training noise schedule's configuration.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from torch import Tensor, nn

from skinsynth.errors import ConfigError

SAMPLERS = ("ddpm", "ddim", "dpm")


def check_sampling_options(
    sampler: str, steps: int | None, guidance_scale: float, eta: float, *, timesteps: int, has_null_class: bool
) -> None:
    """Raise a :class:`ConfigError` for an unknown sampler, a bad step count, guidance scale or η.

    Args:
        sampler: one of :data:`SAMPLERS`.
        steps: sampling steps, or ``None`` when not set (the module then uses T for ``ddpm`` and 50 otherwise).
        guidance_scale: classifier-free guidance scale s (1 = plain conditional model).
        eta: DDIM η in [0, 1].
        timesteps: the model's diffusion steps T (the most a sampler can take).
        has_null_class: whether the model learned the null class that guidance needs (``label_dropout > 0``).
    """
    if sampler not in SAMPLERS:
        raise ConfigError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
    if steps is not None and not 1 <= steps <= timesteps:
        raise ConfigError(f"sampling steps must be in 1..{timesteps}, got {steps}")
    if not 0 <= eta <= 1:
        raise ConfigError(f"DDIM eta must be in [0, 1] (0 deterministic, 1 ancestral), got {eta}")
    if guidance_scale < 0:
        raise ConfigError(f"guidance scale must be >= 0 (1 = no guidance), got {guidance_scale}")
    if guidance_scale != 1 and not has_null_class:
        raise ConfigError(
            f"guidance scale {guidance_scale} needs the null class of classifier-free guidance, but this model "
            "was trained with label_dropout=0; sample with guidance_scale=1 or train with label_dropout > 0"
        )


def sampling_scheduler(training_config: Any, sampler: str) -> SchedulerMixin:
    """A fresh scheduler of kind ``sampler`` (see :data:`SAMPLERS`) on the training noise schedule."""
    if sampler == "ddpm":
        return DDPMScheduler.from_config(training_config)
    if sampler == "ddim":
        return DDIMScheduler.from_config(training_config)
    return DPMSolverMultistepScheduler.from_config(training_config, algorithm_type="dpmsolver++")


def step_options(sampler: str, eta: float, generator: Any) -> dict[str, Any]:
    """Keyword arguments of the scheduler's ``step``: the noise generator where the step adds noise, and DDIM's η."""
    options: dict[str, Any] = {}
    if sampler == "ddpm" or (sampler == "ddim" and eta > 0):  # DDIM with η = 0 and DPM-Solver++ add no noise
        options["generator"] = generator
    if sampler == "ddim":
        options["eta"] = eta
    return options


def guided_prediction(
    unet: nn.Module, x: Tensor, t: Tensor, labels: Tensor, guidance_scale: float, null_class: int | None
) -> Tensor:
    """The U-Net's output at ``x``: conditional, or ``ε_null + s · (ε_class − ε_null)`` when ``guidance_scale != 1``."""
    dtype = next(unet.parameters()).dtype
    if guidance_scale == 1:
        return unet(x.to(dtype), t, class_labels=labels).sample.float()
    null = torch.full_like(labels, null_class)
    both = unet(torch.cat([x, x]).to(dtype), t, class_labels=torch.cat([labels, null])).sample.float()
    conditional, unconditional = both.chunk(2)
    return unconditional + guidance_scale * (conditional - unconditional)
