"""The class-conditional U-Net of the DDPM generator: diffusers ``UNet2DModel`` built from a named preset.

Class conditioning uses ``num_class_embeds``: one learned embedding per class plus, when classifier-free guidance is
trained, one extra "null" class (index ``num_classes``) that stands for "no label". The embedding is added to the
sinusoidal timestep embedding in every residual block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from diffusers import UNet2DModel

from skinsynth.errors import ConfigError


@dataclass(frozen=True)
class UNetPreset:
    """Width, depth and attention of a U-Net.

    Attributes:
        block_out_channels: channels per resolution level (the number of levels sets the down-sampling factor).
        layers_per_block: residual blocks per level.
        attention_resolutions: feature-map sizes (px) at which the blocks get self-attention.
        norm_num_groups: GroupNorm groups (must divide every channel count).
        attention_head_dim: channels per attention head.
    """

    block_out_channels: tuple[int, ...]
    layers_per_block: int
    attention_resolutions: tuple[int, ...]
    norm_num_groups: int
    attention_head_dim: int = 8


PRESETS: dict[str, UNetPreset] = {
    # unit tests: about 40 k parameters
    "tiny": UNetPreset((8, 16), 1, attention_resolutions=(4,), norm_num_groups=4, attention_head_dim=4),
    # CPU studies at 32-64 px (about 2.7 M parameters)
    "small": UNetPreset((32, 64, 128), 1, attention_resolutions=(16, 8), norm_num_groups=8),
    # GPU runs at 128 px (about 74 M parameters)
    "base": UNetPreset(
        (128, 256, 256, 512), 2, attention_resolutions=(32, 16), norm_num_groups=32, attention_head_dim=64
    ),
}


COMMON_SIZES = (16, 32, 48, 64, 96, 128, 160, 192, 224, 256)


def downsampling_factor(levels: int) -> int:
    """The total down-sampling of a U-Net with ``levels`` resolution levels (one 2× step between levels)."""
    return 2 ** (levels - 1)


def check_image_size(image_size: int, levels: int) -> None:
    """Raise a :class:`ConfigError` naming the valid sizes when ``image_size`` does not fit the U-Net."""
    factor = downsampling_factor(levels)
    if image_size < factor or image_size % factor:
        valid = ", ".join(str(s) for s in COMMON_SIZES if s % factor == 0)
        raise ConfigError(
            f"image size {image_size} px does not fit a U-Net with {levels} resolution levels: it halves the image "
            f"{levels - 1} time(s), so the size must be a multiple of {factor} (e.g. {valid})"
        )


def resolve_preset(
    preset: str,
    block_out_channels: Sequence[int] | None = None,
    layers_per_block: int | None = None,
    attention_resolutions: Sequence[int] | None = None,
    norm_num_groups: int | None = None,
) -> UNetPreset:
    """The preset ``preset`` with any of its fields overridden; raises :class:`ConfigError` on bad values."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown U-Net preset {preset!r}; choose one of {', '.join(PRESETS)}")
    base = PRESETS[preset]
    resolved = UNetPreset(
        tuple(int(c) for c in block_out_channels) if block_out_channels else base.block_out_channels,
        int(layers_per_block) if layers_per_block is not None else base.layers_per_block,
        tuple(int(r) for r in attention_resolutions) if attention_resolutions is not None
        else base.attention_resolutions,
        int(norm_num_groups) if norm_num_groups is not None else base.norm_num_groups,
        base.attention_head_dim,
    )  # fmt: skip
    bad = [c for c in resolved.block_out_channels if c % resolved.norm_num_groups]
    if bad:
        raise ConfigError(
            f"U-Net channels {bad} are not divisible by norm_num_groups={resolved.norm_num_groups}; "
            "choose channel counts that are multiples of it"
        )
    if resolved.layers_per_block < 1:
        raise ConfigError(f"layers_per_block must be at least 1, got {resolved.layers_per_block}")
    return resolved


def build_unet(
    image_size: int,
    num_class_embeds: int,
    preset: UNetPreset,
) -> UNet2DModel:
    """A class-conditional diffusers ``UNet2DModel`` for RGB images of side ``image_size``.

    Args:
        image_size: input and output side length (a multiple of the down-sampling factor).
        num_class_embeds: rows of the class embedding (classes, plus one for the null class when guidance is used).
        preset: width, depth and attention (see :data:`PRESETS`).
    """
    levels = len(preset.block_out_channels)
    check_image_size(image_size, levels)
    resolutions = [image_size // 2**i for i in range(levels)]
    attention = [r in preset.attention_resolutions for r in resolutions]
    down = tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in attention)
    up = tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attention))
    return UNet2DModel(
        sample_size=image_size,
        in_channels=3,
        out_channels=3,
        down_block_types=down,
        up_block_types=up,
        block_out_channels=preset.block_out_channels,
        layers_per_block=preset.layers_per_block,
        norm_num_groups=preset.norm_num_groups,
        attention_head_dim=preset.attention_head_dim,
        num_class_embeds=num_class_embeds,
    )
