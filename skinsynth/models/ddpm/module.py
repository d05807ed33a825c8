"""DDPMModule: a class-conditional denoising diffusion model with classifier-free guidance and an EMA copy.

Training follows Ho et al. (2020) with diffusers' ``DDPMScheduler`` (T = 1000, linear or cosine betas, ε- or
v-prediction, MSE loss, optional min-SNR-γ weighting of Hang et al. 2023). With ``label_dropout > 0`` a fraction of
the labels is replaced by the null class (index ``num_classes``) so one network learns both the conditional and the
unconditional prediction, which classifier-free guidance combines at sampling time:
``ε = ε_null + s · (ε_class − ε_null)`` (Ho & Salimans 2022).

The EMA copy (``torch.optim.swa_utils.AveragedModel``) is a submodule, so it is saved in every checkpoint and restored
on resume; the optimizer only ever updates the raw U-Net, and :meth:`DDPMModule.sample` uses the EMA weights.

Few-shot protocol with an unlabeled pool: ``unconditional=True`` trains every image as the null class (labels are
never read), which pretrains the U-Net on the pool; ``init_checkpoint`` then starts a class-conditional model from
those weights (the class embeddings start at the trained null embedding) and ``finetune`` adapts either all weights
or only peft LoRA adapters on the U-Net's attention and convolution layers (plus the class embeddings).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from diffusers import DDPMScheduler
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel

from skinsynth.errors import ConfigError
from skinsynth.models.base import GeneratorModule, RandomSource, check_labels, randn
from skinsynth.models.ddpm.networks import build_unet, resolve_preset
from skinsynth.models.ddpm.sampling import check_sampling_options, guided_prediction, sampling_scheduler, step_options
from skinsynth.models.ddpm.weights import add_unet_lora, ema_multi_avg_fn, load_unet_weights
from skinsynth.models.diffusion import denoising_target, min_snr_weights, weighted_mse

PREVIEW_STEPS = 20


class DDPMModule(GeneratorModule):
    """Class-conditional DDPM generator on a diffusers ``UNet2DModel``.

    Args:
        num_classes: number of classes.
        class_codes: class codes in label order.
        image_size: image side length (a multiple of the U-Net's down-sampling factor; 32-128 in practice).
        preset: U-Net size, ``tiny`` (tests), ``small`` (CPU, 32-64 px) or ``base`` (GPU, 128 px).
        block_out_channels: override the preset's channels per level.
        layers_per_block: override the preset's residual blocks per level.
        attention_resolutions: override the feature-map sizes (px) that get self-attention.
        norm_num_groups: override the preset's GroupNorm groups.
        num_train_timesteps: diffusion steps T.
        beta_schedule: ``linear`` or ``cosine`` (``squaredcos_cap_v2`` in diffusers).
        prediction_type: ``epsilon`` or ``v_prediction``.
        label_dropout: probability of training on the null class (0 disables classifier-free guidance).
        min_snr_gamma: γ of min-SNR loss weighting (``None``: plain MSE).
        lr: AdamW learning rate.
        class_embedding_lr: AdamW learning rate of the class-embedding table (``None``: ``lr``). After an
            unconditional pretraining every class starts at the null embedding, and AdamW moves each coordinate by
            about ``lr`` per step at most, so after a few hundred steps at ``lr`` the classes are still close to one
            another and to the null class; a larger rate here (as textual inversion uses for a new token's
            embedding) lets them separate while the U-Net itself changes at ``lr``. (On 50-shot HAM10000 at 32 px,
            20× ``lr`` separated them but did not give the pool DDPM's samples their classes: docs/results.md.)
        weight_decay: AdamW weight decay.
        warmup_steps: optimizer steps of linear learning-rate warm-up.
        grad_clip: gradient-norm clipping (0 disables; a Trainer ``gradient_clip_val`` takes precedence).
        ema_decay: EMA decay (0 disables the EMA; sampling then uses the raw weights).
        sampler: default sampler, ``ddpm`` (ancestral, full chain), ``ddim`` (η from ``eta``) or ``dpm`` (DPM-Solver++).
        sampling_steps: default number of sampling steps (``None``: T for ``ddpm``, 50 otherwise).
        eta: default DDIM η, the share of fresh noise per step: 0 is the deterministic DDIM sampler, 1 the ancestral
            (DDPM-like) one. An under-trained model (few steps on few images, as on a CPU) often leaves visible noise
            with η = 0, because its noise estimates are shrunk towards zero and the deterministic sampler never
            removes the rest; η = 1 corrects that at the same cost per step. Used by ``ddim`` only.
        guidance_scale: default classifier-free guidance scale s (1 = plain conditional model).
        unconditional: train on the null class only, ignoring labels (pretraining on an unlabeled pool; needs
            ``label_dropout > 0`` so that the model has a null class).
        init_checkpoint: a DDPM checkpoint (e.g. pool-pretrained) whose U-Net weights (EMA when present) start this
            model; its architecture settings must match. Loaded with ``weights_only=True``.
        finetune: ``full`` trains every U-Net weight; ``lora`` freezes them and trains LoRA adapters (peft) plus the
            class embeddings.
        lora_rank: LoRA rank r (``finetune="lora"``).
        lora_alpha: LoRA scaling α (the update is scaled by α / r).
        lora_target_modules: U-Net layers that get adapters (matched by name suffix).
    """

    SAMPLING_OPTIONS: ClassVar[tuple[str, ...]] = ("sampler", "sampling_steps", "guidance_scale", "eta")

    def __init__(
        self,
        num_classes: int = 7,
        class_codes: Sequence[str] | None = None,
        image_size: int = 32,
        preset: str = "small",
        block_out_channels: Sequence[int] | None = None,
        layers_per_block: int | None = None,
        attention_resolutions: Sequence[int] | None = None,
        norm_num_groups: int | None = None,
        num_train_timesteps: int = 1000,
        beta_schedule: Literal["linear", "cosine"] = "linear",
        prediction_type: Literal["epsilon", "v_prediction"] = "epsilon",
        label_dropout: float = 0.1,
        min_snr_gamma: float | None = None,
        lr: float = 2e-4,
        class_embedding_lr: float | None = None,
        weight_decay: float = 0.0,
        warmup_steps: int = 100,
        grad_clip: float = 1.0,
        ema_decay: float = 0.999,
        sampler: Literal["ddpm", "ddim", "dpm"] = "ddim",
        sampling_steps: int | None = None,
        guidance_scale: float = 2.0,
        eta: float = 0.0,
        unconditional: bool = False,
        init_checkpoint: str | None = None,
        finetune: Literal["full", "lora"] = "full",
        lora_rank: int = 8,
        lora_alpha: float = 8.0,
        lora_target_modules: Sequence[str] = ("to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2"),
    ) -> None:
        if beta_schedule not in ("linear", "cosine"):
            raise ConfigError(f"beta_schedule must be 'linear' or 'cosine', got {beta_schedule!r}")
        if prediction_type not in ("epsilon", "v_prediction"):
            raise ConfigError(f"prediction_type must be 'epsilon' or 'v_prediction', got {prediction_type!r}")
        if not 0 <= label_dropout < 1:
            raise ConfigError(f"label_dropout must be in [0, 1), got {label_dropout}")
        if not 0 <= ema_decay < 1:
            raise ConfigError(f"ema_decay must be in [0, 1), got {ema_decay}")
        if unconditional and label_dropout <= 0:
            raise ConfigError("unconditional pretraining trains the null class, which needs label_dropout > 0")
        if lr <= 0 or (class_embedding_lr is not None and class_embedding_lr <= 0):
            raise ConfigError(f"lr and class_embedding_lr must be positive, got {lr} and {class_embedding_lr}")
        if finetune not in ("full", "lora"):
            raise ConfigError(f"finetune must be 'full' or 'lora', got {finetune!r}")
        if finetune == "lora" and lora_rank < 1:
            raise ConfigError(f"lora_rank must be at least 1, got {lora_rank}")
        if init_checkpoint is not None and not Path(init_checkpoint).expanduser().is_file():
            raise ConfigError(f"init_checkpoint {init_checkpoint!r} is not a file (a DDPM checkpoint to start from)")
        super().__init__(num_classes, class_codes)
        self.check_sampling(sampler, sampling_steps, guidance_scale, eta)
        self._ema_step = -1

    # -- networks -------------------------------------------------------------------------------------------------
    @property
    def null_class(self) -> int | None:
        """Index of the null ("no label") class, or ``None`` when the model has none (no guidance)."""
        return self.hparams.num_classes if self.hparams.label_dropout > 0 else None

    def configure_models(self) -> None:
        """The U-Net, its EMA copy and the training noise scheduler."""
        hp = self.hparams
        preset = resolve_preset(
            hp.preset, hp.block_out_channels, hp.layers_per_block, hp.attention_resolutions, hp.norm_num_groups
        )
        embeds = hp.num_classes + (1 if hp.label_dropout > 0 else 0)
        self.unet = build_unet(hp.image_size, embeds, preset)
        if hp.get("init_checkpoint"):
            self.load_initial_weights(hp.init_checkpoint)
        if hp.get("finetune", "full") == "lora":
            self.add_lora_adapters()
        self.ema: AveragedModel | None = None
        if hp.ema_decay > 0:
            self.ema = AveragedModel(self.unet, multi_avg_fn=ema_multi_avg_fn(hp.ema_decay), use_buffers=True)
            self.ema.requires_grad_(False)
        self.noise_scheduler = DDPMScheduler(
            num_train_timesteps=hp.num_train_timesteps,
            beta_schedule="squaredcos_cap_v2" if hp.beta_schedule == "cosine" else "linear",
            prediction_type=hp.prediction_type,
            clip_sample=True,
        )

    def load_initial_weights(self, path: str) -> None:
        """Start the U-Net from ``path``'s weights (its EMA copy when it has one); see ``init_checkpoint``."""
        load_unet_weights(self.unet, path, self.hparams.num_classes, self.null_class)

    def add_lora_adapters(self) -> None:
        """Freeze the U-Net and add peft LoRA adapters; the adapters and the class embeddings stay trainable."""
        hp = self.hparams
        add_unet_lora(self.unet, hp.lora_rank, hp.lora_alpha, hp.lora_target_modules)

    @property
    def sampling_unet(self) -> nn.Module:
        """The network used for sampling: the EMA copy when there is one."""
        return self.ema.module if self.ema is not None else self.unet

    # -- training -------------------------------------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, Any]:
        """AdamW on the raw U-Net only (the class embeddings at ``class_embedding_lr``), with a linear warm-up."""
        hp = self.hparams
        optimizer = torch.optim.AdamW(self.parameter_groups(), lr=hp.lr, weight_decay=hp.weight_decay)
        warmup = max(1, hp.warmup_steps)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def parameter_groups(self) -> list[dict[str, Any]]:
        """The trainable U-Net weights (all, or the adapters with LoRA), the class-embedding table in its own group."""
        trainable = [(n, p) for n, p in self.unet.named_parameters() if p.requires_grad]
        embeddings = [p for n, p in trainable if n.startswith("class_embedding.")]
        groups = [{"params": [p for n, p in trainable if not n.startswith("class_embedding.")]}]
        if embeddings:
            groups.append({"params": embeddings, "lr": self.hparams.get("class_embedding_lr") or self.hparams.lr})
        return groups

    def configure_gradient_clipping(
        self, optimizer: torch.optim.Optimizer, gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:  # fmt: skip
        """Clip the gradient norm to ``grad_clip`` unless the Trainer sets its own clipping."""
        value = gradient_clip_val if gradient_clip_val is not None else self.hparams.grad_clip
        if value:
            self.clip_gradients(optimizer, gradient_clip_val=value, gradient_clip_algorithm=gradient_clip_algorithm)

    def loss_weights(self, timesteps: Tensor) -> Tensor:
        """Per-sample loss weights: 1, or min-SNR-γ (``min(SNR, γ) / SNR`` for ε, ``/ (SNR + 1)`` for v)."""
        return min_snr_weights(self.noise_scheduler, timesteps, self.hparams.min_snr_gamma)

    def diffusion_loss(self, images: Tensor, labels: Tensor, drop_labels: bool = True) -> Tensor:
        """The denoising loss of a batch of images in [0, 1] (labels dropped to the null class with p)."""
        x0 = images * 2 - 1
        if drop_labels and self.null_class is not None and self.training:
            drop = torch.rand(len(labels), device=labels.device) < self.hparams.label_dropout
            labels = torch.where(drop, torch.full_like(labels, self.null_class), labels)
        noise = torch.randn_like(x0)
        t = torch.randint(0, self.hparams.num_train_timesteps, (len(x0),), device=x0.device)
        noisy = self.noise_scheduler.add_noise(x0, noise, t)
        prediction = self.unet(noisy, t, class_labels=labels).sample
        return weighted_mse(prediction, denoising_target(self.noise_scheduler, x0, noise, t), self.loss_weights(t))

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        if self.hparams.get("unconditional"):  # pretraining on unlabeled images: the labels are never read
            labels = torch.full((len(batch["image"]),), self.null_class, device=self.device, dtype=torch.long)
            loss = self.diffusion_loss(batch["image"], labels, drop_labels=False)
            self.log("train_loss", loss, prog_bar=True, batch_size=len(labels))
            return loss
        labels = check_labels(batch["label"], self.hparams.num_classes).to(self.device)
        loss = self.diffusion_loss(batch["image"], labels)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(labels))
        return loss

    def on_train_start(self) -> None:
        self._ema_step = self.global_step

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """Update the EMA once per optimizer step (not per accumulated batch)."""
        if self.ema is not None and self.global_step > self._ema_step:
            self.ema.update_parameters(self.unet)
            self._ema_step = self.global_step

    # -- sampling -------------------------------------------------------------------------------------------------
    def check_sampling(self, sampler: str, steps: int | None, guidance_scale: float, eta: float = 0.0) -> None:
        """Raise a :class:`ConfigError` for an unknown sampler, bad step count, guidance scale or η."""
        check_sampling_options(sampler, steps, guidance_scale, eta, timesteps=self.hparams.num_train_timesteps,
                               has_null_class=self.null_class is not None)  # fmt: skip

    def predict_noise(self, unet: nn.Module, x: Tensor, t: Tensor, labels: Tensor, guidance_scale: float) -> Tensor:
        """The model output at ``x``, combined by classifier-free guidance when ``guidance_scale != 1``."""
        return guided_prediction(unet, x, t, labels, guidance_scale, self.null_class)

    def preview_sample(self, labels: Tensor, generator: RandomSource = None) -> Tensor:
        """A cheaper :meth:`sample` for progress grids during training: DDIM with at most ``PREVIEW_STEPS`` steps."""
        steps = min(PREVIEW_STEPS, self.hparams.sampling_steps or PREVIEW_STEPS)
        return self.sample(labels, generator, sampler="ddim", steps=steps)

    def _sample(
        self,
        labels: Tensor,
        generator: RandomSource,
        *,
        sampler: str | None = None,
        steps: int | None = None,
        guidance_scale: float | None = None,
        eta: float | None = None,
    ) -> Tensor:
        """Images for ``labels`` with the EMA weights (:meth:`sample` passes these options through).

        Args:
            labels: class indices (N,).
            generator: one ``torch.Generator`` or one per sample (a sample then depends only on its own seed).
            sampler: ``ddpm``, ``ddim`` or ``dpm`` (default: the ``sampler`` hyperparameter).
            steps: sampling steps (default: ``sampling_steps``, else T for ``ddpm`` and 50 otherwise).
            guidance_scale: classifier-free guidance scale (default: the ``guidance_scale`` hyperparameter).
            eta: DDIM η (default: the ``eta`` hyperparameter; ignored by the other samplers).
        """
        hp = self.hparams
        sampler = sampler or hp.sampler
        steps = steps or hp.sampling_steps or (hp.num_train_timesteps if sampler == "ddpm" else 50)
        scale = hp.guidance_scale if guidance_scale is None else float(guidance_scale)
        eta = float(hp.get("eta", 0.0) if eta is None else eta)  # checkpoints from before η have none
        if hp.get("unconditional"):  # a pool-pretrained model knows only the null class: every label means "any"
            labels, scale = torch.full_like(labels, self.null_class), 1.0
        self.check_sampling(sampler, steps, scale, eta)
        scheduler = sampling_scheduler(self.noise_scheduler.config, sampler)
        scheduler.set_timesteps(steps, device=self.device)
        unet = self.sampling_unet
        was_training = unet.training
        unet.eval()
        size = hp.image_size
        x = randn((len(labels), 3, size, size), generator, self.device) * scheduler.init_noise_sigma
        if isinstance(generator, Sequence) and not isinstance(generator, torch.Generator):
            generator = list(generator)  # diffusers takes per-sample generators as a list only
        options = step_options(sampler, eta, generator)
        for t in scheduler.timesteps:
            model_input = scheduler.scale_model_input(x, t)
            output = self.predict_noise(unet, model_input, t, labels, scale)
            x = scheduler.step(output, t, x, **options).prev_sample
        unet.train(was_training)
        return (x.float() + 1) / 2
