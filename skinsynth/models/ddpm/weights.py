"""The DDPM U-Net's weights: its EMA update, starting it from a pretraining checkpoint, LoRA adapters on it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from skinsynth.errors import ConfigError


def ema_multi_avg_fn(decay: float, warmup: bool = True) -> Any:
    """An ``AveragedModel`` update: ``avg ← avg + (1 − d)(param − avg)`` with ``d = min(decay, (1 + n) / (10 + n))``.

    The warm-up keeps early EMA weights close to the raw ones (n = updates so far), as in diffusers' ``EMAModel``.
    """

    def update(averaged: list[Tensor], current: list[Tensor], num_averaged: Tensor) -> None:
        n = int(num_averaged)
        d = min(decay, (1 + n) / (10 + n)) if warmup else decay
        torch._foreach_lerp_(averaged, current, 1.0 - d)

    return update


def load_unet_weights(unet: nn.Module, path: str, num_classes: int, null_class: int | None) -> None:
    """Load ``path``'s U-Net weights into ``unet`` (its EMA copy when it has one), checked tensor by tensor.

    After an unconditional pretraining (``hyper_parameters.unconditional``) every class embedding starts at the
    trained null-class embedding: the class rows were never trained, the null row learned "any image".

    Raises:
        ConfigError: the checkpoint holds no DDPM U-Net, or one of another shape (preset, image size, classes).
    """
    from skinsynth.checkpoints import load_checkpoint

    saved = load_checkpoint(path)
    state = saved.get("state_dict", {})
    prefix = "ema.module." if any(k.startswith("ema.module.") for k in state) else "unet."
    weights = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    if not weights:
        raise ConfigError(f"init_checkpoint {path!r} holds no DDPM U-Net weights")
    own = unet.state_dict()
    mismatched = sorted(k for k in own if k not in weights or weights[k].shape != own[k].shape)
    if mismatched:
        raise ConfigError(
            f"init_checkpoint {path!r} does not fit this U-Net ({len(mismatched)} tensors differ, e.g. "
            f"{mismatched[0]!r}); use the same preset, image size and number of classes as the pretraining run"
        )
    unet.load_state_dict({k: weights[k] for k in own})
    if saved.get("hyper_parameters", {}).get("unconditional") and null_class is not None:
        with torch.no_grad():
            table = unet.class_embedding.weight
            table[:num_classes] = table[null_class]


def add_unet_lora(unet: nn.Module, rank: int, alpha: float, target_modules: Sequence[str]) -> None:
    """Freeze ``unet`` and inject peft LoRA adapters; the adapters and the class embeddings stay trainable."""
    from peft import LoraConfig, inject_adapter_in_model

    unet.requires_grad_(False)
    inject_adapter_in_model(LoraConfig(r=rank, lora_alpha=alpha, target_modules=list(target_modules)), unet)
    for name, parameter in unet.named_parameters():
        if "lora_" in name or name.startswith("class_embedding."):
            parameter.requires_grad_(True)
