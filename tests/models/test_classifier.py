from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import timm
import torch
from safetensors.torch import save_file
from torch.utils.data import DataLoader

from skinsynth.errors import ConfigError
from skinsynth.models.backbones import build_backbone
from skinsynth.models.classifier import LesionClassifier
from tests.helpers import BatchDataset

CODES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]


def random_lesions(n: int = 28, size: int = 16) -> BatchDataset:
    """Seeded random 16 px images whose mean colour depends on the class (so a step of training matters)."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 7
    return BatchDataset(torch.randn(n, 3, size, size, generator=generator) + labels.view(-1, 1, 1, 1) / 3, labels)


def _trainer(tmp_path: Path, **kwargs) -> L.Trainer:
    kwargs.setdefault("max_epochs", 1)
    return L.Trainer(
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        num_sanity_val_steps=0,
        **kwargs,
    )


@pytest.mark.parametrize("backbone", ["resnet18", "efficientnet_b0", "resnet50"])
def test_backbones_give_one_logit_per_class(backbone: str) -> None:
    model = LesionClassifier(7, CODES, backbone=backbone).eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 7)


@pytest.mark.parametrize(
    ("loss", "extra"),
    [
        ("ce", {}),
        ("weighted_ce", {"class_weights": [1.0, 2.0, 1.0, 3.0, 1.0, 0.2, 2.0]}),
        ("focal", {}),
        ("ce", {"mixup_alpha": 0.4, "cutmix_alpha": 1.0, "label_smoothing": 0.1}),
    ],
)
def test_each_loss_trains_a_step_and_changes_weights(tmp_path: Path, loss: str, extra: dict) -> None:
    torch.manual_seed(0)
    model = LesionClassifier(7, CODES, loss=loss, **extra)
    before = [p.detach().clone() for p in model.parameters()]
    loader = DataLoader(random_lesions(), batch_size=14)
    trainer = _trainer(tmp_path, limit_train_batches=2, enable_checkpointing=False)
    trainer.fit(model, train_dataloaders=loader, val_dataloaders=loader)
    assert torch.isfinite(trainer.callback_metrics["train_loss"])
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert {"val_balanced_accuracy", "val_f1_mel", "val_auroc", "train_macro_f1"} <= set(trainer.callback_metrics)


def test_test_predictions_and_checkpoint_reload_give_the_same_outputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = LesionClassifier(7, CODES, lr=1e-2)
    loader = DataLoader(random_lesions(), batch_size=10)
    trainer = _trainer(tmp_path, limit_train_batches=2)
    trainer.fit(model, train_dataloaders=loader, val_dataloaders=loader)
    trainer.test(model, dataloaders=loader, verbose=False)
    predictions = model.test_predictions
    assert predictions["probs"].shape == (28, 7)
    assert torch.equal(predictions["index"], torch.arange(28))
    assert torch.allclose(predictions["probs"].sum(1), torch.ones(28), atol=1e-5)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    reloaded = LesionClassifier.load_checkpoint(path)
    assert reloaded.hparams.class_codes == CODES
    images = random_lesions().images
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(images), reloaded.eval()(images))


@pytest.mark.parametrize(("optimizer", "scheduler"), [("adam", "onecycle"), ("adamw", "none"), ("adamw", "cosine")])
def test_optimizers_and_schedulers(tmp_path: Path, optimizer: str, scheduler: str) -> None:
    model = LesionClassifier(7, CODES, optimizer=optimizer, scheduler=scheduler, lr=1e-2)
    trainer = _trainer(tmp_path, limit_train_batches=2, enable_checkpointing=False, max_epochs=2)
    loader = DataLoader(random_lesions(), batch_size=14)
    trainer.fit(model, train_dataloaders=loader, val_dataloaders=loader)
    optimizer_class = type(trainer.optimizers[0]).__name__
    assert optimizer_class == {"adam": "Adam", "adamw": "AdamW"}[optimizer]
    final_lr = trainer.optimizers[0].param_groups[0]["lr"]
    if scheduler == "none":
        assert final_lr == pytest.approx(1e-2)
    else:
        assert final_lr < 1e-2  # both schedules end below the peak


def test_unknown_backbone_lists_close_matches() -> None:
    with pytest.raises(ConfigError, match="unknown backbone 'resnet81'.*resnet18"):
        LesionClassifier(7, CODES, backbone="resnet81")


def test_local_weights_file_loads_backbone_and_replaces_head(tmp_path: Path) -> None:
    source = timm.create_model("resnet18", num_classes=1000)
    path = tmp_path / "resnet18.safetensors"
    save_file(source.state_dict(), str(path))
    model = build_backbone("resnet18", 7, weights_path=path)
    assert torch.equal(model.conv1.weight, source.conv1.weight)
    assert model.fc.out_features == 7
    with pytest.raises(ConfigError, match="does not exist"):
        build_backbone("resnet18", 7, weights_path=tmp_path / "missing.pth")
    with pytest.raises(ConfigError, match="does not fit backbone 'resnet50'"):
        build_backbone("resnet50", 7, weights_path=path)


def test_class_code_count_must_match() -> None:
    with pytest.raises(ValueError, match="3 class codes given for 7 classes"):
        LesionClassifier(7, ["a", "b", "c"])


def test_synthetic_weight_scales_the_loss_of_synthetic_samples() -> None:
    torch.manual_seed(0)
    model = LesionClassifier(num_classes=7, class_codes=CODES, backbone="resnet18", synthetic_weight=0.0)
    model.eval()  # fixed BatchNorm statistics: the same logits in both calls
    data = random_lesions(8)
    batch = {
        "image": data.images,
        "label": data.labels,
        "is_synthetic": torch.tensor([True, False] * 4),
        "index": torch.arange(8),
    }
    weights = model.sample_weights(batch)
    assert weights.tolist() == [0.0, 1.0] * 4
    with torch.no_grad():
        logits = model(batch["image"])
        real_only = torch.nn.functional.cross_entropy(logits[1::2], batch["label"][1::2])
        assert torch.allclose(model.criterion(logits, batch["label"], weights), real_only, atol=1e-6)
    assert LesionClassifier(num_classes=7, class_codes=CODES).sample_weights(batch) is None
    with pytest.raises(ValueError, match="synthetic_weight must be ≥ 0, got nan"):
        LesionClassifier(num_classes=7, class_codes=CODES, synthetic_weight=float("nan"))
