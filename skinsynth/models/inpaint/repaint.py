"""RePaint (Lugmayr et al. 2022) with a class-conditional noise predictor: a new lesion inside a mask.

At every reverse step the known region (``keep = 1``) is the source image noised to that step, and the unknown region
is the model's denoised sample; "jumps" go back ``jump_length`` steps (re-noising) ``jump_n_sample - 1`` times so the
two regions harmonize. diffusers' ``RePaintScheduler`` does the arithmetic; at the last step the known region is the
source itself, so pixels outside the mask come out unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from diffusers import RePaintScheduler
from torch import Tensor

NoisePredictor = Callable[[Tensor, Tensor], Tensor]


def repaint_scheduler(training: Any) -> RePaintScheduler:
    """A RePaint scheduler with the noise schedule of a diffusers ``DDPMScheduler`` (ε-prediction)."""
    config = training.config
    return RePaintScheduler(num_train_timesteps=config.num_train_timesteps, beta_start=config.beta_start,
                            beta_end=config.beta_end, beta_schedule=config.beta_schedule,
                            clip_sample=config.clip_sample)  # fmt: skip


def repaint(
    predict_noise: NoisePredictor,
    scheduler: RePaintScheduler,
    source: Tensor,
    keep: Tensor,
    *,
    steps: int,
    jump_length: int,
    jump_n_sample: int,
    eta: float,
    noise: Tensor,
    generator: torch.Generator | Sequence[torch.Generator] | None,
) -> Tensor:
    """Inpaint ``source`` (N, 3, H, W) in [-1, 1] where ``keep`` (N, 1, H, W) is 0; returns [-1, 1] images.

    Args:
        predict_noise: ``(x_t, t) -> ε`` with ``t`` a 0-d tensor; class conditioning and guidance are inside it.
        scheduler: a RePaint scheduler with the model's training noise schedule.
        source: the real images whose context is kept.
        keep: 1 where the source is kept, 0 where a lesion is painted.
        steps: reverse steps (before jumps).
        jump_length: how many steps each jump goes back.
        jump_n_sample: how many times each jumped interval is sampled (1: no resampling).
        eta: the share of fresh noise per step (1: DDPM-like, 0: DDIM-like).
        noise: the starting noise, shaped like ``source``.
        generator: one generator, or one per image (a list), for the noise of every step.
    """
    scheduler.set_timesteps(steps, jump_length=jump_length, jump_n_sample=jump_n_sample, device=source.device)
    scheduler.eta = eta
    generators = list(generator) if isinstance(generator, Sequence) else generator
    x = noise.to(source.device, source.dtype)
    keep = keep.to(source.device, source.dtype)
    t_last = int(scheduler.timesteps[0]) + 1
    for t in scheduler.timesteps:
        t = int(t)
        if t < t_last:
            epsilon = predict_noise(x, torch.as_tensor(t, device=x.device))
            x = scheduler.step(epsilon, t, x, source, keep, generators).prev_sample
        else:  # a jump: diffuse forward again from t_last to t
            x = scheduler.undo_step(x, t_last, generators)
        t_last = t
    return x
