"""A tiny Stable-Diffusion-1.5-layout model built in code, for offline tests, smoke runs and CPU benchmarks.

It has every component of the real model (CLIP tokenizer and text encoder, KL autoencoder, cross-attention U-Net,
DDPM noise scheduler) at a few hundred thousand parameters, and is written with ``save_pretrained`` so it is loaded
exactly like a downloaded checkpoint directory (``--pretrained-model PATH``). Its images are noise: it exists to
exercise code paths, not to generate lesions.
"""

from __future__ import annotations

import json
from pathlib import Path


def _byte_characters() -> list[str]:
    """The 256 printable characters CLIP's byte-level BPE maps bytes to (the GPT-2 table)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    codes, extra = printable[:], 0
    for b in range(256):
        if b not in printable:
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def write_tiny_tokenizer(folder: str | Path) -> Path:
    """A character-level CLIP tokenizer (``vocab.json`` + ``merges.txt`` without merges), ``model_max_length`` 77."""
    from transformers import CLIPTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    characters = _byte_characters()
    tokens = characters + [c + "</w>" for c in characters] + ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)
    tokenizer.save_pretrained(folder)
    return folder


def write_tiny_stable_diffusion(folder: str | Path, sample_size: int = 16, seed: int = 0) -> Path:
    """Write a tiny Stable Diffusion pipeline directory (diffusers layout) to ``folder`` and return it.

    Args:
        folder: output directory.
        sample_size: the U-Net's latent size (images are ``2 × sample_size`` px: the VAE halves once).
        seed: initialization seed.
    """
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    folder = Path(folder)
    tokenizer_dir = write_tiny_tokenizer(folder / "_tokenizer_source")
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=sample_size, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(8, 16),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32, attention_head_dim=4, norm_num_groups=4,
    )  # fmt: skip
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), block_out_channels=(8, 16), latent_channels=4,
        norm_num_groups=4, sample_size=2 * sample_size,
    )  # fmt: skip
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=77, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        )
    )  # fmt: skip
    scheduler = DDPMScheduler(
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, clip_sample=False, steps_offset=1
    )
    pipeline = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    pipeline.save_pretrained(folder)
    import shutil

    shutil.rmtree(tokenizer_dir)
    return folder
