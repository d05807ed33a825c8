"""Albumentations pipelines for training and evaluation; the resolution is a parameter.

Images are resized first so that every augmentation works on the small image. With ``normalize=True`` the output is
ImageNet-normalized (what timm backbones expect); with ``normalize=False`` it stays in [0, 1] (what generators train
on).
"""

from __future__ import annotations

from typing import Literal

import albumentations as A
import cv2
from albumentations.pytorch import ToTensorV2

Augment = Literal["none", "flip", "dihedral", "standard", "strong"]
AUGMENTS: tuple[str, ...] = ("none", "flip", "dihedral", "standard", "strong")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _finish(normalize: bool) -> list[A.BasicTransform]:
    if normalize:
        return [A.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD, max_pixel_value=255.0), ToTensorV2()]
    return [A.ToFloat(max_value=255.0), ToTensorV2()]


def _augmentations(augment: Augment) -> list[A.BasicTransform]:
    if augment == "none":
        return []
    if augment == "flip":
        return [A.HorizontalFlip(p=0.5)]
    if augment == "dihedral":  # the 8 flips/rotations only: what generators train with (no colour change)
        return [A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5), A.RandomRotate90(p=1.0)]
    # Dermoscopy has no canonical orientation: all eight flips/rotations are label-preserving.
    standard: list[A.BasicTransform] = [
        A.HorizontalFlip(p=0.5),
        A.VerticalFlip(p=0.5),
        A.RandomRotate90(p=1.0),
        A.Affine(
            scale=(0.9, 1.1),
            translate_percent=(-0.05, 0.05),
            rotate=(-15, 15),
            border_mode=cv2.BORDER_REFLECT_101,
            p=0.5,
        ),
        A.ColorJitter(brightness=0.1, contrast=0.1, saturation=0.1, hue=0.02, p=0.5),
    ]
    if augment == "standard":
        return standard
    if augment == "strong":
        return [
            *standard,
            A.OneOf(
                [
                    A.ElasticTransform(alpha=20, sigma=5, border_mode=cv2.BORDER_REFLECT_101),
                    A.GridDistortion(num_steps=5, distort_limit=0.2, border_mode=cv2.BORDER_REFLECT_101),
                    A.OpticalDistortion(distort_limit=0.2),
                ],
                p=0.5,
            ),
            A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=0.5),
            A.HueSaturationValue(hue_shift_limit=10, sat_shift_limit=20, val_shift_limit=10, p=0.5),
            A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.GaussNoise(std_range=(0.02, 0.08))], p=0.3),
            A.CoarseDropout(
                num_holes_range=(1, 4), hole_height_range=(0.05, 0.15), hole_width_range=(0.05, 0.15), p=0.3
            ),
        ]
    raise ValueError(f"unknown augmentation {augment!r}; choose one of {AUGMENTS}")


def train_transform(
    image_size: int, augment: Augment = "standard", normalize: bool = True, seed: int | None = None
) -> A.Compose:
    """Training pipeline: resize to ``image_size``, then augment.

    ``augment`` is ``none``, ``flip``, ``dihedral`` (the eight flips/rotations: what generators train with),
    ``standard`` (flips, 90° rotations, a mild affine and mild colour jitter) or ``strong`` (``standard`` plus
    elastic/grid distortion, stronger colour changes, blur/noise and coarse dropout: the heavy-augmentation
    baseline).
    """
    resize = A.Resize(image_size, image_size, interpolation=cv2.INTER_AREA)
    return A.Compose([resize, *_augmentations(augment), *_finish(normalize)], seed=seed)


def eval_transform(image_size: int, normalize: bool = True) -> A.Compose:
    """Evaluation pipeline: resize and normalize, nothing random."""
    return A.Compose([A.Resize(image_size, image_size, interpolation=cv2.INTER_AREA), *_finish(normalize)])


def contrastive_transform(image_size: int, normalize: bool = True, seed: int | None = None) -> A.Compose:
    """One random view for contrastive self-supervised learning (SimCLR-style, adapted to dermoscopy).

    A random resized crop (30–100 % of the image), the eight flips/rotations, strong colour jitter, occasional
    grey-scale and blur. Two independent draws of this pipeline make a positive pair.
    """
    return A.Compose(
        [
            A.RandomResizedCrop(size=(image_size, image_size), scale=(0.3, 1.0), interpolation=cv2.INTER_AREA),
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.RandomRotate90(p=1.0),
            A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=0.8),
            A.ToGray(p=0.2),
            A.GaussianBlur(blur_limit=(3, 5), p=0.3),
            *_finish(normalize),
        ],
        seed=seed,
    )
