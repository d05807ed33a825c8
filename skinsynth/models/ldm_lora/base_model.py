"""Loading the frozen base model of the latent-diffusion generator (Stable Diffusion 1.5 layout, diffusers format).

A local directory is checked first (missing files are named) and loaded with ``local_files_only=True``; anything else
that looks like a Hugging Face hub id (``org/name``) is handed to ``from_pretrained`` for users with network or a
cache. A fingerprint of the configurations and of two small weight tensors identifies the base model, so an adapter
checkpoint is never applied to a different one.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skinsynth.errors import ConfigError, DataError

REQUIRED_FILES = (
    "model_index.json",
    "unet/config.json",
    "vae/config.json",
    "text_encoder/config.json",
    "scheduler/scheduler_config.json",
)
TOKENIZER_FILES = (("tokenizer.json",), ("vocab.json", "merges.txt"))
HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
STORAGE_DTYPES = ("float32", "bfloat16", "float16")  # the frozen weights' storage dtypes (``base_dtype``)


@dataclass
class StableDiffusionParts:
    """The components of a Stable Diffusion checkpoint."""

    tokenizer: Any
    text_encoder: Any
    vae: Any
    unet: Any
    noise_scheduler: Any


def storage_dtype(name: str) -> Any:
    """The torch dtype the frozen base weights are stored in (``float32``, ``bfloat16`` or ``float16``)."""
    import torch

    if name not in STORAGE_DTYPES:
        raise ConfigError(f"base_dtype must be one of {', '.join(STORAGE_DTYPES)}, got {name!r}")
    return getattr(torch, name)


def require_base_model(pretrained_model: str) -> None:
    """Raise ``ConfigError`` when no base model is set (the generator cannot start without one)."""
    if not pretrained_model:
        raise ConfigError(
            "the ldm-lora generator needs a base model: set `pretrained_model` to a local diffusers Stable "
            "Diffusion 1.5 directory (skinsynth.models.ldm_lora.tiny writes a tiny one for smoke runs)"
        )


def check_diffusers_dir(path: str | Path) -> Path:
    """Raise a :class:`DataError` naming the files a Stable Diffusion diffusers directory lacks."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DataError(f"`pretrained_model` {str(path)!r} is not a directory")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    tokenizer = folder / "tokenizer"
    if not any(all((tokenizer / f).is_file() for f in option) for option in TOKENIZER_FILES):
        missing.append("tokenizer/tokenizer.json (or tokenizer/vocab.json + tokenizer/merges.txt)")
    weights = [sub for sub in ("unet", "vae", "text_encoder") if not _has_weights(folder / sub)]
    missing += [f"{sub}/ weights (*.safetensors or *.bin)" for sub in weights]
    if missing:
        raise DataError(
            f"{str(folder)!r} is not a Stable Diffusion directory in diffusers format; missing: {', '.join(missing)}. "
            "Point `pretrained_model` at the folder that holds model_index.json (e.g. a save_pretrained output)."
        )
    return folder


def _has_weights(folder: Path) -> bool:
    return any(folder.glob("*.safetensors")) or any(folder.glob("*.bin"))


def load_base_model(name_or_path: str | Path, dtype: Any = None) -> StableDiffusionParts:
    """Load tokenizer, text encoder, VAE, U-Net and noise scheduler from a local directory or a hub id.

    Args:
        name_or_path: the diffusers directory (or hub id).
        dtype: the ``torch.dtype`` of the loaded weights (default float32, whatever dtype the files hold).
    """
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    dtype = dtype or torch.float32

    text = str(name_or_path)
    local = Path(text).expanduser()
    if local.exists() or not HUB_ID.match(text):
        source, options = str(check_diffusers_dir(local)), {"local_files_only": True}
    else:
        source, options = text, {}
    try:
        return StableDiffusionParts(
            tokenizer=CLIPTokenizer.from_pretrained(source, subfolder="tokenizer", **options),
            text_encoder=CLIPTextModel.from_pretrained(source, subfolder="text_encoder", dtype=dtype, **options),
            vae=AutoencoderKL.from_pretrained(source, subfolder="vae", torch_dtype=dtype, **options),
            unet=UNet2DConditionModel.from_pretrained(source, subfolder="unet", torch_dtype=dtype, **options),
            noise_scheduler=DDPMScheduler.from_pretrained(source, subfolder="scheduler", **options),
        )
    except OSError as error:
        hint = "" if options else f" (there is no local directory {text!r} either)"
        raise DataError(f"cannot load the Stable Diffusion model {text!r}{hint}: {error}") from error


IGNORED_CONFIG_KEYS = {
    "_name_or_path",
    "_diffusers_version",
    "_commit_hash",
    "transformers_version",
    "_use_default_values",
}


def fingerprint(parts: StableDiffusionParts) -> str:
    """A short hash of the U-Net, VAE and text-encoder configurations and two small weight tensors."""
    digest = hashlib.sha256()
    for config in (dict(parts.unet.config), dict(parts.vae.config), parts.text_encoder.config.to_dict()):
        kept = {k: v for k, v in config.items() if k not in IGNORED_CONFIG_KEYS}
        digest.update(json.dumps(kept, sort_keys=True, default=str).encode())
    digest.update(parts.unet.conv_in.weight.detach().float().cpu().numpy().tobytes())
    digest.update(parts.text_encoder.get_input_embeddings().weight[:8].detach().float().cpu().numpy().tobytes())
    digest.update(str(len(parts.tokenizer)).encode())
    return digest.hexdigest()[:16]


def native_resolution(vae: Any, unet: Any) -> int:
    """The image size the base model was trained at (U-Net sample size × VAE down-sampling; 512 for SD 1.5)."""
    return int(unet.config.sample_size) * 2 ** (len(vae.config.block_out_channels) - 1)


def check_resolution(vae: Any, unet: Any, resolution: int) -> None:
    """Raise a :class:`ConfigError` when the VAE and U-Net cannot process ``resolution`` px images."""
    vae_factor = 2 ** (len(vae.config.block_out_channels) - 1)
    unet_factor = 2 ** (len(unet.config.block_out_channels) - 1)
    factor = vae_factor * unet_factor
    if resolution < factor or resolution % factor:
        raise ConfigError(
            f"resolution {resolution} px does not fit this model: the VAE downsamples {vae_factor}× and the U-Net "
            f"{unet_factor}× more, so use a multiple of {factor} (e.g. the generator option resolution="
            f"{native_resolution(vae, unet)}, the base model's own resolution)"
        )
