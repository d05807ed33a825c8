"""FID/KID in a classifier's feature space, checked against the closed-form Fréchet distance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import linalg
from torch import nn

from skinsynth.models.backbones import build_backbone
from skinsynth.quality import ClassifierFeatures, feature_distances


class ChannelStats(nn.Module):
    """Per-channel mean and standard deviation of an image: 6 features."""

    num_features = 6

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.cat([images.mean(dim=(2, 3)), images.std(dim=(2, 3))], dim=1)


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def test_fid_matches_the_closed_form_and_kid_separates_shifted_images() -> None:
    generator = torch.Generator().manual_seed(0)
    real = torch.rand(60, 3, 8, 8, generator=generator)
    same = torch.rand(60, 3, 8, 8, generator=generator)
    shifted = (torch.rand(60, 3, 8, 8, generator=generator) * 0.5 + 0.4).clamp(0, 1)
    features = ChannelStats()
    expected = frechet(features(real).double().numpy(), features(shifted).double().numpy())
    far = feature_distances(features, real.split(25), shifted.split(25), kid_subset_size=30)
    near = feature_distances(features, real.split(25), same.split(25), kid_subset_size=30)
    assert far["fid"] == pytest.approx(expected, rel=1e-3)
    assert near["fid"] < far["fid"] / 10
    assert near["kid"] < far["kid"] and far["kid"] > 0
    with pytest.raises(ValueError, match="at least 2 real and 2 fake images, got 1"):
        feature_distances(features, [real], [shifted[:1]])


def test_classifier_features_are_the_pooled_penultimate_layer() -> None:
    torch.manual_seed(0)
    model = build_backbone("resnet18", num_classes=7)
    features = ClassifierFeatures(model)
    images = torch.rand(2, 3, 32, 32)
    out = features(images)
    assert out.shape == (2, 512) and features.num_features == 512
    normalized = (images - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]
    ).view(1, 3, 1, 1)
    with torch.no_grad():
        assert torch.allclose(model.fc(out), model(normalized), atol=1e-5)  # the logits come from these features


def test_inception_features_need_a_local_weights_file(tmp_path) -> None:
    from skinsynth.errors import ConfigError
    from skinsynth.quality.features import InceptionFeatures

    with pytest.raises(ConfigError, match="Inception weights .* do not exist; give the path"):
        InceptionFeatures(tmp_path / "pt_inception.pth")
