"""The trainable part of the latent-diffusion generator: peft LoRA adapters, class-token vectors, their checkpoints.

A checkpoint of :class:`~skinsynth.models.ldm_lora.module.LDMLoRAModule` holds only these tensors plus a reference to
the base model and its fingerprint; :func:`restore_frozen_weights` refuses adapters trained on another base model and
adds the frozen base weights back, so Lightning's strict loading still rejects unknown tensors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor

from skinsynth.errors import ConfigError, DataError

TOKEN_VECTORS = "token_embedding.new"  # the name suffix of the learned class-token vectors (ExtendedEmbedding.new)


def check_adapter_precision(precision: str) -> None:
    """Raise ``ConfigError`` for a precision that would cast the fp32 LoRA adapters to half precision."""
    if precision in ("16-true", "bf16-true"):
        raise ConfigError(
            f"precision {precision!r} would cast the LoRA adapters to half precision; use 'bf16-mixed' (or "
            "'16-mixed') with base_dtype='bfloat16' ('float16') to store the frozen weights in half precision while "
            "the adapters stay fp32"
        )


def check_two_phase_strategy(world_size: int, ddp_kwargs: Mapping[str, Any] | None) -> None:
    """Raise ``ConfigError`` when DDP on several processes would reject the idle text-encoder adapters of phase 1.

    Call it only when the two-phase schedule is on (``text_encoder_start_step > 0``).
    """
    if world_size > 1 and not (ddp_kwargs or {}).get("find_unused_parameters"):
        raise ConfigError(
            "the two-phase schedule (text_encoder_start_step > 0) leaves the text-encoder adapters unused in "
            "phase 1, which DDP rejects; use strategy 'ddp_find_unused_parameters_true' or text_encoder_start_step=0"
        )


def is_trainable(name: str) -> bool:
    """Whether the parameter ``name`` is an adapter or a class-token vector (what trains and is checkpointed)."""
    return "lora_" in name or is_token_vector(name)


def is_token_vector(name: str) -> bool:
    """Whether the parameter ``name`` holds learned class-token vectors (trained without weight decay)."""
    return name.endswith(TOKEN_VECTORS)


def add_lora_adapters(
    unet: Any,
    text_encoder: Any,
    *,
    rank: int,
    alpha: float,
    dropout: float,
    init_weights: bool,
    unet_targets: Sequence[str],
    text_targets: Sequence[str] | None,
) -> None:
    """Add peft LoRA adapters to the U-Net's ``unet_targets`` and (unless None) the text encoder's ``text_targets``."""
    from peft import LoraConfig, inject_adapter_in_model

    def config(targets: Sequence[str]) -> LoraConfig:
        return LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, init_lora_weights=init_weights,
                          target_modules=list(targets))  # fmt: skip

    unet.add_adapter(config(unet_targets))
    if text_targets is not None:
        # peft's own injection, not transformers' ``add_adapter``: that wrapper gates on its own minimum peft
        # version, which newer transformers releases raise past what the registry offers (issue #11).
        inject_adapter_in_model(config(text_targets), text_encoder)


def base_reference(pretrained_model: str, base_fingerprint: str) -> dict[str, str]:
    """What an adapter checkpoint records about the base model it was trained on."""
    return {"pretrained_model": str(pretrained_model), "fingerprint": base_fingerprint}


def restore_frozen_weights(
    checkpoint: dict[str, Any],
    full_state: Mapping[str, Tensor],
    trainable: Sequence[str],
    pretrained_model: str,
    base_fingerprint: str,
) -> None:
    """Check an adapter checkpoint, then add the frozen tensors of ``full_state`` to its state dict.

    The checkpoint must come from the base model with ``base_fingerprint`` and hold every ``trainable`` tensor; the
    frozen tensors are those of ``full_state`` not in ``trainable``.

    Raises:
        DataError: the adapters were trained on another base model, or the checkpoint lacks adapter tensors.
    """
    base = checkpoint.get("base_model") or {}
    if base.get("fingerprint") != base_fingerprint:
        raise DataError(
            f"this adapter checkpoint was trained on base model {base.get('pretrained_model')!r} (fingerprint "
            f"{base.get('fingerprint')}), but {str(pretrained_model)!r} has fingerprint {base_fingerprint}; load "
            "it with the base model it was trained on"
        )
    missing = sorted(set(trainable) - set(checkpoint.get("state_dict", {})))
    if missing:
        raise DataError(f"the adapter checkpoint lacks {len(missing)} adapter tensor(s), e.g. {missing[:3]}")
    kept = set(trainable)
    frozen = {name: tensor for name, tensor in full_state.items() if name not in kept}
    checkpoint["state_dict"] = {**frozen, **checkpoint["state_dict"]}
