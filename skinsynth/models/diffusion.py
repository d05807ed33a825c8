"""Pieces of the denoising objective shared by the pixel-space DDPM and the latent-diffusion generator."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


def denoising_target(scheduler: Any, x0: Tensor, noise: Tensor, timesteps: Tensor) -> Tensor:
    """What the network predicts: the noise ε, or the velocity v for a ``v_prediction`` scheduler."""
    if scheduler.config.prediction_type == "v_prediction":
        return scheduler.get_velocity(x0, noise, timesteps)
    return noise


def min_snr_weights(scheduler: Any, timesteps: Tensor, gamma: float | None) -> Tensor:
    """Per-sample loss weights: 1 without γ, else min-SNR-γ (Hang et al. 2023).

    ``min(SNR, γ) / SNR`` for ε-prediction and ``min(SNR, γ) / (SNR + 1)`` for v-prediction, with
    ``SNR = ᾱ_t / (1 − ᾱ_t)`` from the scheduler's cumulative alphas.
    """
    if not gamma:
        return torch.ones(len(timesteps), device=timesteps.device)
    alphas = scheduler.alphas_cumprod.to(timesteps.device)[timesteps]
    snr = alphas / (1 - alphas)
    clipped = snr.clamp(max=gamma)
    return clipped / (snr + 1) if scheduler.config.prediction_type == "v_prediction" else clipped / snr


def weighted_mse(prediction: Tensor, target: Tensor, weights: Tensor) -> Tensor:
    """Mean over the batch of ``weights`` × the per-sample mean squared error (computed in fp32)."""
    per_sample = F.mse_loss(prediction.float(), target.float(), reduction="none").mean(dim=tuple(range(1, target.ndim)))
    return (per_sample * weights).mean()
