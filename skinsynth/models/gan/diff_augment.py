"""Differentiable augmentation for GANs trained on few images (DiffAugment, Zhao et al., NeurIPS 2020).

The discriminator sees every image, real or generated, through the same random, differentiable transforms, in both
the discriminator and the generator step; gradients flow through them into the generator. This keeps the
discriminator from memorizing a few hundred training images, the main cause of collapse at few-shot data sizes.
Transforms act on images in [-1, 1] and draw their randomness from torch's global generator (seeded by Lightning).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> list[str]:
    """``"color,translation"`` → ``["color", "translation"]``; raises ``ValueError`` naming unknown transforms."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment transform(s) {unknown}; choose from {', '.join(POLICIES)}")
    return names


def random_color(x: Tensor) -> Tensor:
    """Per-image brightness (± 0.5), saturation (× 0–2) and contrast (× 0.5–1.5) changes."""
    n = len(x)
    x = x + (torch.rand(n, 1, 1, 1, device=x.device) - 0.5)
    gray = x.mean(dim=1, keepdim=True)
    x = (x - gray) * (torch.rand(n, 1, 1, 1, device=x.device) * 2) + gray
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device) + 0.5) + mean


def random_translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift every image by up to ``ratio`` of its size in x and y, filling with zeros (bilinear, differentiable)."""
    n = len(x)
    shift = (torch.rand(n, 2, device=x.device) * 2 - 1) * ratio * 2  # in normalized [-1, 1] grid units
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = shift.to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero one random square of side ``ratio`` × image size per image."""
    n, _, h, w = x.shape
    side_h, side_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h - side_h + 1, (n, 1, 1), device=x.device)
    left = torch.randint(0, w - side_w + 1, (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + side_h) & (cols >= left) & (cols < left + side_w)
    return x * (~inside).unsqueeze(1).to(x.dtype)


TRANSFORMS = {"color": random_color, "translation": random_translation, "cutout": random_cutout}


def diff_augment(x: Tensor, policy: list[str]) -> Tensor:
    """Apply the transforms of ``policy`` in order (an empty policy returns ``x`` unchanged)."""
    for name in policy:
        x = TRANSFORMS[name](x)
    return x
