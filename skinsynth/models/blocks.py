"""Convolutional building blocks shared by the CVAE and the GAN: an up-sampling decoder and a down-sampling encoder.

Both work at any resolution of the form ``s · 2^k`` with a start size ``s`` between 4 and 7 (32, 48, 64, 96, 128,
224 …): the decoder starts from an ``s × s`` map and doubles it ``k`` times; the encoder halves it ``k`` times.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn
from torch.nn.utils import spectral_norm as with_spectral_norm


def upsampling_plan(image_size: int) -> tuple[int, int]:
    """``(start size, number of doublings)`` for ``image_size``; raises ``ValueError`` for sizes that do not fit."""
    size, steps = image_size, 0
    while size % 2 == 0 and size // 2 >= 4:
        size //= 2
        steps += 1
    if size > 7 or steps < 2:
        valid = ", ".join(str(s * 2**k) for k in range(2, 7) for s in (4, 5, 6, 7) if 16 <= s * 2**k <= 256)
        raise ValueError(f"image size {image_size} is not supported; use s·2^k with 4 ≤ s ≤ 7, e.g. {valid}")
    return size, steps


def _channels(base: int, step: int, steps: int, max_channels: int) -> int:
    return min(base * 2 ** (steps - step), max_channels)


class UpsamplingDecoder(nn.Module):
    """Vector → image: linear to an ``s × s`` map, then blocks that double the size (upsampling conv, norm, ReLU).

    ``upsample="transpose"`` uses a 4×4 stride-2 transposed convolution (DCGAN; about 4× faster on a CPU than the
    alternative); ``"nearest"`` uses nearest-neighbour upsampling followed by a 3×3 convolution (no checkerboard
    artefacts, more compute).

    Args:
        in_features: input vector length.
        image_size: output side length.
        base_channels: channels of the last block (earlier blocks double it, up to ``max_channels``).
        max_channels: channel cap.
        output: ``tanh`` (images in [-1, 1]) or ``sigmoid`` (images in [0, 1]).
        upsample: ``transpose`` or ``nearest`` (see above).
    """

    def __init__(
        self,
        in_features: int,
        image_size: int,
        base_channels: int = 16,
        max_channels: int = 128,
        output: Literal["tanh", "sigmoid"] = "tanh",
        upsample: Literal["transpose", "nearest"] = "transpose",
    ) -> None:
        super().__init__()
        start, steps = upsampling_plan(image_size)
        self.start, self.first_channels = start, _channels(base_channels, 0, steps, max_channels)
        self.project = nn.Sequential(
            nn.Linear(in_features, self.first_channels * start * start),
            nn.Unflatten(1, (self.first_channels, start, start)),
            nn.BatchNorm2d(self.first_channels),
            nn.ReLU(inplace=True),
        )
        blocks: list[nn.Module] = []
        channels = self.first_channels
        for step in range(1, steps + 1):
            out = _channels(base_channels, step, steps, max_channels)
            if upsample == "transpose":
                blocks.append(nn.ConvTranspose2d(channels, out, 4, stride=2, padding=1, bias=False))
            else:
                blocks += [
                    nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv2d(channels, out, 3, padding=1, bias=False),
                ]
            blocks += [nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            channels = out
        blocks += [nn.Conv2d(channels, 3, 3, padding=1), nn.Tanh() if output == "tanh" else nn.Sigmoid()]
        self.blocks = nn.Sequential(*blocks)

    def forward(self, features: Tensor) -> Tensor:
        """Images (N, 3, image_size, image_size)."""
        return self.blocks(self.project(features))


class DownsamplingEncoder(nn.Module):
    """Image → vector: (conv 4×4 stride 2, norm, LeakyReLU) blocks down to ``s × s``, flattened.

    Args:
        image_size: input side length.
        base_channels: channels of the first block (later blocks double it, up to ``max_channels``).
        max_channels: channel cap.
        norm: ``batch`` (CVAE encoder) or ``none`` (discriminators, which often use spectral norm instead).
        spectral_norm: wrap every convolution in spectral normalization.
    """

    def __init__(
        self,
        image_size: int,
        base_channels: int = 16,
        max_channels: int = 128,
        norm: Literal["batch", "none"] = "batch",
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        start, steps = upsampling_plan(image_size)
        wrap = with_spectral_norm if spectral_norm else (lambda module: module)
        layers: list[nn.Module] = []
        channels = 3
        for step in range(steps):
            out = min(base_channels * 2**step, max_channels)
            layers.append(wrap(nn.Conv2d(channels, out, 4, stride=2, padding=1, bias=norm == "none")))
            if norm == "batch" and step > 0:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            channels = out
        layers.append(nn.Flatten())
        self.layers = nn.Sequential(*layers)
        self.out_features = channels * start * start

    def forward(self, images: Tensor) -> Tensor:
        """Features (N, out_features)."""
        return self.layers(images)
