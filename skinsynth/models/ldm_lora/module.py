"""LDMLoRAModule: LoRA fine-tuning of a pretrained Stable Diffusion (1.5 layout) on the few-shot images.

The VAE, U-Net and text encoder are frozen; peft LoRA adapters are added to the U-Net's attention projections (and
optionally to the text encoder), and optional new class tokens (``<mel>``) get learned embeddings. Training is the
usual latent noise-prediction loss (optional min-SNR-γ weighting). Checkpoints hold only the trainable tensors plus a
reference to the base model and its fingerprint; loading one rebuilds the base model from ``pretrained_model`` and
refuses a different base. Sampling goes through diffusers' ``StableDiffusionPipeline`` with the adapters in place.

Precision: the frozen weights may be stored in bf16/fp16 (``base_dtype``) to save memory while the trainable tensors
stay fp32; use a mixed Trainer precision (``bf16-mixed`` recommended on A100s, or ``16-mixed``). The ``*-true``
precisions would cast the adapters too and are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from skinsynth.errors import ConfigError
from skinsynth.models.base import GeneratorModule, RandomSource, check_labels
from skinsynth.models.diffusion import denoising_target, min_snr_weights, weighted_mse
from skinsynth.models.ldm_lora.adapters import (
    add_lora_adapters,
    base_reference,
    check_adapter_precision,
    check_two_phase_strategy,
    is_token_vector,
    is_trainable,
    restore_frozen_weights,
)
from skinsynth.models.ldm_lora.base_model import (
    check_resolution,
    fingerprint,
    load_base_model,
    native_resolution,
    require_base_model,
    storage_dtype,
)
from skinsynth.models.ldm_lora.networks import add_class_tokens
from skinsynth.models.ldm_lora.pipeline import make_pipeline
from skinsynth.models.ldm_lora.prompts import (
    DEFAULT_TEMPLATE,
    batch_prompts,
    build_captions,
    class_names,
    class_prompts,
    class_token,
    read_attributes,
)

PREVIEW_STEPS = 10


class LDMLoRAModule(GeneratorModule):
    """Stable Diffusion + LoRA generator with class prompts.

    Args:
        num_classes: number of classes.
        class_codes: class codes in label order.
        image_size: side length of the images the study uses (training images arrive at this size; samples are
            resized to it).
        pretrained_model: local diffusers Stable Diffusion directory (or a hub id, with network or a cache).
        resolution: the diffusion resolution (default: ``image_size``); a multiple of the VAE and U-Net down-sampling.
        prompt_template: per-class prompt with ``{class_name}``, ``{class_code}``, ``{token}``.
        class_names: names for ``{class_name}`` (default: the diagnosis names of the known vocabularies).
        class_tokens: add a learned token per class (``<mel>``), initialized from the class name's embeddings.
        caption_template: per-image training caption with ``{prompt}`` and metadata columns (``None``: class prompts).
        attributes_csv: optional CSV of per-image attributes (``image_id`` + columns) for the caption template.
        lora_rank: LoRA rank r.
        lora_alpha: LoRA α (the update is scaled by α / r).
        lora_dropout: dropout inside the adapters.
        target_modules: U-Net modules that get adapters.
        text_encoder_lora: also adapt the text encoder.
        text_target_modules: text-encoder modules that get adapters.
        text_encoder_start_step: two-phase schedule: the text-encoder adapters train from this optimizer step on.
        init_lora_weights: peft's initialization (``False`` makes a fresh adapter change the output; for tests).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay (never applied to the class-token vectors).
        min_snr_gamma: γ of min-SNR loss weighting (``None``: plain MSE).
        base_dtype: storage dtype of the frozen weights: ``float32``, ``bfloat16`` or ``float16``.
        gradient_checkpointing: trade compute for memory in the U-Net (and text encoder).
        sampler: ``ddim`` or ``dpm`` (DPM-Solver++) for sampling.
        sampling_steps: inference steps.
        guidance_scale: classifier-free guidance scale; the unconditional branch is the (adapted) model's response to
            the empty prompt, which fine-tuning does not train, so it stays close to the base model's.
        negative_prompt: negative prompt for sampling.
    """

    def __init__(
        self,
        num_classes: int = 7,
        class_codes: Sequence[str] | None = None,
        image_size: int = 64,
        pretrained_model: str = "",
        resolution: int | None = None,
        prompt_template: str = DEFAULT_TEMPLATE,
        class_names: Sequence[str] | None = None,
        class_tokens: bool = False,
        caption_template: str | None = None,
        attributes_csv: str | None = None,
        lora_rank: int = 4,
        lora_alpha: float = 4.0,
        lora_dropout: float = 0.0,
        target_modules: Sequence[str] = ("to_q", "to_k", "to_v", "to_out.0"),
        text_encoder_lora: bool = False,
        text_target_modules: Sequence[str] = ("q_proj", "k_proj", "v_proj", "out_proj"),
        text_encoder_start_step: int = 0,
        init_lora_weights: bool = True,
        lr: float = 1e-4,
        weight_decay: float = 1e-2,
        min_snr_gamma: float | None = None,
        base_dtype: Literal["float32", "bfloat16", "float16"] = "float32",
        gradient_checkpointing: bool = False,
        sampler: Literal["ddim", "dpm"] = "ddim",
        sampling_steps: int = 30,
        guidance_scale: float = 5.0,
        negative_prompt: str = "",
    ) -> None:
        require_base_model(pretrained_model)
        storage_dtype(base_dtype)  # checks the name early; configure_models converts it
        if sampler not in ("ddim", "dpm"):
            raise ConfigError(f"unknown sampler {sampler!r}; choose ddim or dpm")
        if lora_rank < 1:
            raise ConfigError(f"lora_rank must be at least 1, got {lora_rank}")
        super().__init__(num_classes, class_codes)
        self.captions: list[str] | None = None

    # -- networks -------------------------------------------------------------------------------------------------
    def configure_models(self) -> None:
        """Load and freeze the base model, add class tokens and LoRA adapters, and build the class prompts."""
        hp = self.hparams
        parts = load_base_model(hp.pretrained_model, storage_dtype(hp.base_dtype))
        self.base_fingerprint = fingerprint(parts)
        self.tokenizer = parts.tokenizer
        self.noise_scheduler = parts.noise_scheduler
        self.vae, self.text_encoder, self.unet = parts.vae, parts.text_encoder, parts.unet
        for network in (self.vae, self.text_encoder, self.unet):
            network.requires_grad_(False)
        self.resolution = int(hp.resolution or native_resolution(self.vae, self.unet))
        check_resolution(self.vae, self.unet, self.resolution)
        names = class_names(self.class_codes, hp.class_names)
        if hp.class_tokens:
            add_class_tokens(self.tokenizer, self.text_encoder, [class_token(code) for code in self.class_codes], names)
        self.prompts = class_prompts(hp.prompt_template, self.class_codes, names, hp.class_tokens)
        add_lora_adapters(
            self.unet, self.text_encoder, rank=hp.lora_rank, alpha=hp.lora_alpha, dropout=hp.lora_dropout,
            init_weights=hp.init_lora_weights, unet_targets=hp.target_modules,
            text_targets=hp.text_target_modules if hp.text_encoder_lora else None,
        )  # fmt: skip
        self.upcast_trainable()
        if hp.gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()
            if hp.text_encoder_lora or hp.class_tokens:
                self.text_encoder.activation_checkpointing_enable()

    def trainable_names(self) -> list[str]:
        """Names of the tensors that train and are checkpointed: the adapters and the class-token vectors."""
        return [name for name, _ in self.named_parameters() if is_trainable(name)]

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        """The adapter and class-token parameters (the only ones the optimizer sees)."""
        named = dict(self.named_parameters())
        return [named[n] for n in self.trainable_names()]

    def upcast_trainable(self) -> None:
        """Make the adapters and class-token vectors trainable and fp32 (peft may create them in the base dtype)."""
        for parameter in self.trainable_parameters():
            parameter.requires_grad_(True)
            if parameter.dtype != torch.float32:
                parameter.data = parameter.data.float()

    # -- training -------------------------------------------------------------------------------------------------
    def trainer_arguments(self, processes: int, precision: str) -> dict[str, Any]:
        """Refuses the ``*-true`` half precisions; asks for DDP that finds unused parameters when it must.

        That is the two-phase schedule on several processes: the text-encoder adapters are idle in phase 1.
        """
        check_adapter_precision(precision)
        if self.two_phase() and processes > 1:
            return {"strategy": "ddp_find_unused_parameters_true"}
        return {}

    def two_phase(self) -> bool:
        """Whether the text-encoder adapters join later than the U-Net's (``text_encoder_start_step > 0``)."""
        return bool(self.hparams.text_encoder_lora and self.hparams.text_encoder_start_step > 0)

    def setup(self, stage: str) -> None:
        """Refuse Trainer settings that would break fp32 adapters or the two-phase schedule."""
        trainer = self.trainer
        check_adapter_precision(str(trainer.precision))
        if self.two_phase():
            check_two_phase_strategy(trainer.world_size, getattr(trainer.strategy, "_ddp_kwargs", None))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """AdamW over the adapters (weight decay) and the class-token vectors (no weight decay)."""
        self.upcast_trainable()
        named = dict(self.named_parameters())
        tokens = [named[n] for n in self.trainable_names() if is_token_vector(n)]
        adapters = [named[n] for n in self.trainable_names() if not is_token_vector(n)]
        groups = [{"params": adapters, "weight_decay": self.hparams.weight_decay}]
        if tokens:
            groups.append({"params": tokens, "weight_decay": 0.0})
        return torch.optim.AdamW(groups, lr=self.hparams.lr)

    def set_training_records(self, records: Any, pool: Any = None) -> None:
        """Build the per-image captions for the training records (a no-op without ``caption_template``; no pool).

        ``records`` is the training split's records (their row order is the dataset order, i.e. ``batch["index"]``).
        """
        hp = self.hparams
        if not hp.caption_template:
            return
        attributes = read_attributes(hp.attributes_csv) if hp.attributes_csv else None
        self.captions = build_captions(records.frame, self.prompts, hp.caption_template, attributes)

    def text_lora_active(self) -> bool:
        """Whether the text-encoder adapters train at the current step (two-phase schedule)."""
        return bool(self.hparams.text_encoder_lora) and self.global_step >= self.hparams.text_encoder_start_step

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        active = self.text_lora_active()
        for name, parameter in self.text_encoder.named_parameters():
            if "lora_" in name:
                parameter.requires_grad_(active)

    def encode_prompts(self, prompts: Sequence[str]) -> Tensor:
        """Text-encoder hidden states (N, 77, dim) of ``prompts``."""
        ids = self.tokenizer(
            list(prompts), padding="max_length", max_length=self.tokenizer.model_max_length, truncation=True,
            return_tensors="pt",
        ).input_ids.to(self.device)  # fmt: skip
        return self.text_encoder(ids)[0]

    def loss_weights(self, timesteps: Tensor) -> Tensor:
        """Per-sample weights: 1, or min-SNR-γ."""
        return min_snr_weights(self.noise_scheduler, timesteps, self.hparams.min_snr_gamma)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        labels = check_labels(batch["label"], self.hparams.num_classes).to(self.device)
        images = batch["image"] * 2 - 1
        if images.shape[-1] != self.resolution or images.shape[-2] != self.resolution:
            images = F.interpolate(images, size=(self.resolution, self.resolution), mode="bilinear", antialias=True)
        with torch.no_grad():
            latents = self.vae.encode(images.to(self.vae.dtype)).latent_dist.sample()
            latents = latents.float() * self.vae.config.scaling_factor
        noise = torch.randn_like(latents)
        t = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (len(latents),), device=latents.device)
        noisy = self.noise_scheduler.add_noise(latents, noise, t)
        text_trains = self.text_lora_active() or bool(self.hparams.class_tokens)
        with torch.set_grad_enabled(text_trains):
            hidden = self.encode_prompts(batch_prompts(self.prompts, self.captions, batch.get("index"), labels))
        prediction = self.unet(noisy.to(self.unet.dtype), t, encoder_hidden_states=hidden.to(self.unet.dtype)).sample
        target = denoising_target(self.noise_scheduler, latents, noise, t)
        loss = weighted_mse(prediction, target, self.loss_weights(t))
        self.log("train_loss", loss, prog_bar=True, batch_size=len(labels))
        return loss

    # -- checkpoints ----------------------------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep only the trainable tensors, plus the base model's reference and fingerprint."""
        keep = set(self.trainable_names())
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in keep}
        checkpoint["base_model"] = base_reference(self.hparams.pretrained_model, self.base_fingerprint)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse adapters trained on another base model or missing tensors; add the frozen base weights."""
        restore_frozen_weights(checkpoint, self.state_dict(), self.trainable_names(), self.hparams.pretrained_model,
                               self.base_fingerprint)  # fmt: skip

    # -- sampling -------------------------------------------------------------------------------------------------
    def pipeline(self, sampler: str) -> Any:
        """A ``StableDiffusionPipeline`` over this module's (adapted) networks with the ``sampler`` scheduler."""
        return make_pipeline(self.vae, self.text_encoder, self.tokenizer, self.unet, self.noise_scheduler, sampler)

    def preview_sample(self, labels: Tensor, generator: RandomSource = None) -> Tensor:
        """A cheaper :meth:`sample` for progress grids: at most ``PREVIEW_STEPS`` steps."""
        return self.sample(labels, generator, steps=min(PREVIEW_STEPS, self.hparams.sampling_steps))

    def _sample(
        self,
        labels: Tensor,
        generator: RandomSource,
        *,
        sampler: str | None = None,
        steps: int | None = None,
        guidance_scale: float | None = None,
    ) -> Tensor:
        """Images for ``labels`` from their class prompts (:meth:`sample` resizes them to ``image_size``)."""
        hp = self.hparams
        scale = hp.guidance_scale if guidance_scale is None else float(guidance_scale)
        if scale < 0:
            raise ConfigError(f"guidance scale must be >= 0, got {scale}")
        prompts = [self.prompts[int(label)] for label in labels]
        return self.pipeline(sampler or hp.sampler)(
            prompt=prompts,
            negative_prompt=[hp.negative_prompt] * len(prompts) if hp.negative_prompt else None,
            height=self.resolution,
            width=self.resolution,
            num_inference_steps=steps or hp.sampling_steps,
            guidance_scale=scale,
            generator=list(generator) if isinstance(generator, Sequence) else generator,
            output_type="pt",
        ).images
