"""Self-supervised pretraining: NT-Xent by hand, a training step, and the backbone handed to the classifier."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from skinsynth.data.transforms import contrastive_transform
from skinsynth.data.views import TwoViewDataset
from skinsynth.models.classifier import LesionClassifier
from skinsynth.models.ssl.module import SimCLRModule
from skinsynth.models.ssl.networks import nt_xent_loss


def test_nt_xent_matches_a_hand_computed_two_pair_batch() -> None:
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # every row's partner is identical (cosine 1) and the two other rows are orthogonal (cosine 0)
    t = 0.5
    positive, other = 1 / t, 0.0
    expected = -math.log(math.exp(positive) / (math.exp(positive) + 2 * math.exp(other)))
    assert nt_xent_loss(z1, z2, t).item() == pytest.approx(expected, rel=1e-6)
    # perfect pairs far apart score lower than pairs that disagree
    assert nt_xent_loss(z1, z2, t) < nt_xent_loss(z1, z2.flip(0), t)
    with pytest.raises(ValueError, match="at least 2"):
        nt_xent_loss(z1[:1], z2[:1])


def test_two_view_dataset_gives_two_different_views(toy_dir: Path) -> None:
    from skinsynth.data.sources import read_source

    records = read_source("ham10000", toy_dir)
    dataset = TwoViewDataset(records, contrastive_transform(16, seed=0))
    item = dataset[0]
    assert set(item) == {"view1", "view2", "index"} and item["view1"].shape == (3, 16, 16)
    assert not torch.equal(item["view1"], item["view2"])


def test_a_step_changes_the_backbone_and_the_saved_weights_start_a_classifier(toy_dir: Path, tmp_path: Path) -> None:
    from skinsynth.data.sources import read_source

    torch.manual_seed(0)
    records = read_source("ham10000", toy_dir)
    loader = DataLoader(TwoViewDataset(records, contrastive_transform(16, seed=0)), batch_size=8, shuffle=True)
    model = SimCLRModule(backbone="resnet18", hidden_dim=32, projection_dim=16)
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    L.Trainer(max_steps=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False).fit(model, loader)  # fmt: skip
    after = model.backbone.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if before[k].is_floating_point())
    path = model.save_backbone(tmp_path / "ssl" / "backbone.safetensors")
    assert path.is_file() and not list(path.parent.glob(".*partial"))
    classifier = LesionClassifier(num_classes=7, backbone="resnet18", weights_path=str(path))
    assert torch.equal(classifier.model.conv1.weight, after["conv1.weight"])
    assert classifier.model.fc.out_features == 7
    # a further SimCLR pretraining can start from such a file (a user's --weights-path), not only from scratch
    resumed = SimCLRModule(backbone="resnet18", hidden_dim=32, projection_dim=16, weights_path=str(path))
    assert torch.equal(resumed.backbone.conv1.weight, after["conv1.weight"])
    assert not torch.equal(SimCLRModule(backbone="resnet18").backbone.conv1.weight, after["conv1.weight"])


def test_a_finished_backbone_is_reused_only_with_the_same_start(tmp_path: Path) -> None:
    from skinsynth.errors import ConfigError
    from skinsynth.study.pretraining import pretrain_ssl_backbone

    out = tmp_path / "ssl" / "backbone.safetensors"
    out.parent.mkdir()
    out.write_bytes(b"weights")  # a backbone from before the start was recorded: it started from scratch

    def never(**_: object) -> None:
        raise AssertionError("a finished backbone is not trained again")

    common = {"backbone": "resnet18", "image_size": 16, "epochs": 1, "batch_size": 4, "seed": 0, "make_trainer": never}
    assert pretrain_ssl_backbone([], out, **common) == out
    local = str(tmp_path / "imagenet.safetensors")  # a local weights file: refused before any model is built
    with pytest.raises(ConfigError, match=f"pretrained from scratch; this study starts it from {local}"):
        pretrain_ssl_backbone([], out, weights_path=local, **common)
