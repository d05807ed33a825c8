"""DiffAugment transforms: shapes, exact effects, differentiability, and policy errors."""

from __future__ import annotations

import pytest
import torch

from skinsynth.errors import ConfigError
from skinsynth.models.gan.diff_augment import diff_augment, parse_policy, random_cutout, random_translation
from skinsynth.models.gan.module import ConditionalGANModule


def test_cutout_zeroes_one_square_of_half_the_side_per_image() -> None:
    torch.manual_seed(0)
    x = torch.ones(4, 3, 16, 16)
    out = random_cutout(x)
    zeros = (out == 0).all(dim=1)  # (4, 16, 16): a pixel is cut in every channel or none
    assert ((out == 0) | (out == 1)).all()
    assert zeros.sum(dim=(1, 2)).tolist() == [64] * 4  # an 8 × 8 square each
    assert len({tuple(z.nonzero()[0].tolist()) for z in zeros}) > 1  # at different places


def test_translation_moves_content_and_pads_with_zeros() -> None:
    torch.manual_seed(1)
    x = torch.zeros(8, 1, 16, 16)
    x[:, :, 6:10, 6:10] = 1.0
    out = random_translation(x)
    assert torch.allclose(out.sum(dim=(1, 2, 3)), x.sum(dim=(1, 2, 3)), atol=1e-4)  # the square stays inside
    centres = [(o[0] > 0.5).nonzero().float().mean(0) for o in out]
    assert any((c - torch.tensor([7.5, 7.5])).abs().max() > 0.9 for c in centres)  # some moved by a pixel or more
    assert all((c - torch.tensor([7.5, 7.5])).abs().max() <= 2.01 for c in centres)  # at most 1/8 of 16 px


def test_policy_is_differentiable_and_an_empty_policy_is_the_identity() -> None:
    x = torch.rand(2, 3, 8, 8, requires_grad=True)
    out = diff_augment(x, parse_policy("color,translation,cutout"))
    assert out.shape == x.shape
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert diff_augment(x, parse_policy("")) is x


def test_unknown_transform_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown DiffAugment transform\(s\) \['flip'\]; choose from color"):
        parse_policy("color, flip")
    with pytest.raises(ConfigError, match="flip"):
        ConditionalGANModule(7, image_size=32, diff_augment="flip")


def test_registry_entry_turns_the_full_policy_on() -> None:
    from skinsynth.models.registry import make_generator

    gan = make_generator("gan-diffaug", class_codes=["mel", "nv"], image_size=32)
    assert gan.augment_policy == ["color", "translation", "cutout"]
    assert make_generator("gan", class_codes=["mel", "nv"], image_size=32).augment_policy == []
