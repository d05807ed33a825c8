"""The sampling pipeline of the latent-diffusion generator: diffusers' ``StableDiffusionPipeline`` over its networks."""

from __future__ import annotations

from typing import Any

from skinsynth.errors import ConfigError


def make_pipeline(vae: Any, text_encoder: Any, tokenizer: Any, unet: Any, noise_scheduler: Any, sampler: str) -> Any:
    """A ``StableDiffusionPipeline`` over the (adapted) networks, with no safety checker and no progress bar.

    ``sampler`` is ``ddim`` or ``dpm`` (DPM-Solver++), made from the training scheduler's config.
    """
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, StableDiffusionPipeline

    config = noise_scheduler.config
    if sampler == "ddim":
        scheduler = DDIMScheduler.from_config(config)
    elif sampler == "dpm":
        scheduler = DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++")
    else:
        raise ConfigError(f"unknown sampler {sampler!r}; choose ddim or dpm")
    pipeline = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    pipeline.set_progress_bar_config(disable=True)
    return pipeline
