"""Feature spaces for judging synthetic images: a trained lesion classifier's, or Inception's from a local file.

Inception weights for the standard FID cannot be assumed (offline machines, and ImageNet features are a poor fit for
dermoscopy); a lesion classifier trained on the study's real images gives a domain-specific feature space, and it is
the default. Numbers from different feature spaces are not comparable with each other, nor with published Inception
FIDs: every score skinsynth reports names the space it was computed in (:attr:`FeatureSpace.name`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from torch import Tensor, nn

from skinsynth.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from skinsynth.errors import ConfigError


class ClassifierFeatures(nn.Module):
    """Pooled penultimate features of a timm classifier for images in [0, 1] (normalized as in training).

    Args:
        model: a timm model (``LesionClassifier.model``).
        name: how reports name this feature space (e.g. ``"resnet18 real-arm penultimate"``).
    """

    def __init__(self, model: nn.Module, name: str = "classifier penultimate") -> None:
        super().__init__()
        self.model = model.eval()
        self.name = name
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.num_features = int(model.num_features)

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """Features (N, num_features) of images (N, 3, H, W) in [0, 1]."""
        x = (images.float() - self.mean) / self.std
        return self.model.forward_head(self.model.forward_features(x), pre_logits=True)


class InceptionFeatures(nn.Module):
    """The 2048-d pool features of the FID Inception-v3, from a local weights file (never downloaded).

    Needs ``torch-fidelity`` (``pip install "skinsynth[inception]"``) and the ``pt_inception-2015-12-05`` weights
    file that torch-fidelity / pytorch-fid use, given by path.

    Args:
        weights_path: the Inception weights file.
    """

    def __init__(self, weights_path: str | Path) -> None:
        super().__init__()
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"Inception weights {str(path)!r} do not exist; give the path of the FID Inception-v3 weights file "
                "(pt_inception-2015-12-05-*.pth), or use the classifier feature space (the default)"
            )
        from torchmetrics.image.fid import NoTrainInceptionV3

        try:
            self.net = NoTrainInceptionV3(
                name="inception-v3-compat", features_list=["2048"], feature_extractor_weights_path=str(path)
            )
        except ModuleNotFoundError as error:  # torchmetrics raises this when torch-fidelity is missing
            raise ConfigError(
                f"Inception features need torch-fidelity: pip install 'skinsynth[inception]' ({error})"
            ) from error
        self.name = "Inception-v3 pool (FID)"
        self.num_features = 2048

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """Features (N, 2048) of images (N, 3, H, W) in [0, 1]."""
        return self.net((images.clamp(0, 1) * 255).round().to(torch.uint8)).reshape(len(images), -1)


def feature_space_name(features: nn.Module) -> str:
    """The name reports print beside every score computed with ``features``."""
    return str(getattr(features, "name", type(features).__name__))


@torch.no_grad()
def embed(features: nn.Module, images: Tensor | Iterable[Tensor], batch_size: int = 128) -> Tensor:
    """Features (N, D) as float32 on the CPU of images (N, 3, H, W) in [0, 1], given as one tensor or batches."""
    batches = images.split(batch_size) if isinstance(images, Tensor) else images
    device = next((p.device for p in features.parameters()), torch.device("cpu"))
    out = [features(batch.to(device)).float().cpu() for batch in batches]
    if not out:
        raise ValueError("no images to embed")
    return torch.cat(out)
