"""LesionClassifier: a timm backbone trained with a cross-entropy-family loss and balanced metrics.

Validation balanced accuracy (``val_balanced_accuracy``) is the number to monitor for checkpoint selection and early
stopping. After ``trainer.test`` the module holds :attr:`LesionClassifier.test_predictions` (dataset index, label,
class probabilities) so any metric can be recomputed later.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor

from skinsynth.models.backbones import build_backbone
from skinsynth.models.base import BaseModule
from skinsynth.models.losses import LossName, build_loss
from skinsynth.models.metrics import classification_metrics, flatten_metrics


class LesionClassifier(BaseModule):
    """Skin-lesion classifier.

    Args:
        num_classes: number of classes.
        class_codes: class codes in label order (metric names, and a check against the data's vocabulary).
        backbone: timm model name.
        pretrained: start from ImageNet weights (needs them in the cache or network).
        weights_path: local weights file for the backbone (offline alternative to ``pretrained``).
        drop_rate: dropout before the head.
        loss: ``ce``, ``weighted_ce`` or ``focal``.
        class_weights: per-class weights for ``weighted_ce`` (from ``SkinLesionDataModule.class_weights()``).
        focal_gamma: focal-loss exponent.
        label_smoothing: label smoothing for hard targets (and for MixUp/CutMix targets).
        mixup_alpha: MixUp α (0 disables).
        cutmix_alpha: CutMix α (0 disables).
        optimizer: ``adamw`` or ``adam``.
        lr: learning rate.
        weight_decay: weight decay.
        scheduler: ``cosine`` (stepped once per epoch), ``onecycle`` (per step) or ``none``.
        steps_per_epoch: when set, an "epoch" for the cosine schedule is this many optimizer steps rather than one
            pass over the training set. Studies set it to one pass over the *real* training set, so that arms with
            more (synthetic) images get the same number of updates and the same schedule as the real-only arm.
        synthetic_weight: loss weight of synthetic images relative to real ones (batches say which is which in
            ``is_synthetic``); 1 treats them alike, 0 ignores them. With MixUp/CutMix a mixed sample takes the weight
            of its first image.
    """

    def __init__(
        self,
        num_classes: int = 7,
        class_codes: Sequence[str] | None = None,
        backbone: str = "resnet18",
        pretrained: bool = False,
        weights_path: str | None = None,
        drop_rate: float = 0.0,
        loss: LossName = "ce",
        class_weights: Sequence[float] | None = None,
        focal_gamma: float = 2.0,
        label_smoothing: float = 0.0,
        mixup_alpha: float = 0.0,
        cutmix_alpha: float = 0.0,
        optimizer: Literal["adamw", "adam"] = "adamw",
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        scheduler: Literal["cosine", "onecycle", "none"] = "cosine",
        steps_per_epoch: int | None = None,
        synthetic_weight: float = 1.0,
    ) -> None:
        if not synthetic_weight >= 0:  # also rejects nan
            raise ValueError(f"synthetic_weight must be ≥ 0, got {synthetic_weight}")
        if class_codes is not None and len(class_codes) != num_classes:
            raise ValueError(f"{len(class_codes)} class codes given for {num_classes} classes")
        self.class_codes = list(class_codes) if class_codes is not None else [str(i) for i in range(num_classes)]
        super().__init__()
        self.test_predictions: dict[str, Tensor] | None = None
        self._test_outputs: list[dict[str, Tensor]] = []

    # -- hooks --------------------------------------------------------------------------------------------------------
    def configure_models(self) -> None:
        """The timm backbone with a ``num_classes`` head."""
        hp = self.hparams
        self.model = build_backbone(
            hp.backbone, hp.num_classes, pretrained=hp.pretrained, weights_path=hp.weights_path, drop_rate=hp.drop_rate
        )

    def configure_losses(self) -> None:
        """The loss and, when enabled, timm's MixUp/CutMix."""
        hp = self.hparams
        self.criterion = build_loss(
            hp.loss,
            hp.num_classes,
            class_weights=hp.class_weights,
            focal_gamma=hp.focal_gamma,
            label_smoothing=hp.label_smoothing,
        )
        self.mixup = None
        if hp.mixup_alpha > 0 or hp.cutmix_alpha > 0:
            from timm.data import Mixup

            self.mixup = Mixup(
                mixup_alpha=hp.mixup_alpha,
                cutmix_alpha=hp.cutmix_alpha,
                label_smoothing=hp.label_smoothing,
                num_classes=hp.num_classes,
            )

    def configure_metrics(self) -> None:
        """One metric collection cloned per stage."""
        metrics = classification_metrics(self.hparams.num_classes)
        self.train_metrics = metrics.clone(prefix="train_")
        self.val_metrics = metrics.clone(prefix="val_")
        self.test_metrics = metrics.clone(prefix="test_")

    def configure_optimizers(self) -> Any:
        """AdamW/Adam with an optional cosine or one-cycle schedule."""
        hp = self.hparams
        optimizer_class = torch.optim.AdamW if hp.optimizer == "adamw" else torch.optim.Adam
        optimizer = optimizer_class(self.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
        if hp.scheduler == "none":
            return optimizer
        if hp.scheduler == "cosine":
            if hp.steps_per_epoch:
                epochs = math.ceil(int(self.trainer.estimated_stepping_batches) / hp.steps_per_epoch)
                schedule = {"interval": "step", "frequency": hp.steps_per_epoch}
            else:
                epochs, schedule = int(self.trainer.max_epochs or 1), {"interval": "epoch"}
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, **schedule}}
        total = int(self.trainer.estimated_stepping_batches)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=hp.lr, total_steps=max(total, 1))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # -- steps --------------------------------------------------------------------------------------------------------
    def forward(self, images: Tensor) -> Tensor:
        """Logits (N, num_classes)."""
        return self.model(images)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        images, labels = batch["image"], batch["label"]
        targets: Tensor = labels
        if self.mixup is not None and len(images) % 2 == 0:  # timm's batch MixUp needs an even batch
            images, targets = self.mixup(images, labels)
        logits = self(images)
        loss = self.criterion(logits, targets, self.sample_weights(batch))
        self.log("train_loss", loss, prog_bar=True, batch_size=len(labels))
        self.train_metrics.update(logits.detach().float().softmax(1), labels)
        return loss

    def sample_weights(self, batch: dict[str, Tensor]) -> Tensor | None:
        """Per-sample loss weights: ``synthetic_weight`` for synthetic images, 1 for real ones (``None`` if all 1)."""
        weight = float(self.hparams.synthetic_weight)
        if weight == 1.0 or "is_synthetic" not in batch:
            return None
        synthetic = batch["is_synthetic"].bool()
        return torch.where(synthetic, torch.full_like(synthetic, weight, dtype=torch.float), 1.0)

    def on_train_epoch_end(self) -> None:
        self._log_epoch(self.train_metrics)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        logits = self(batch["image"])
        self.log("val_loss", self.criterion(logits, batch["label"]), batch_size=len(logits))
        self.val_metrics.update(logits.float().softmax(1), batch["label"])

    def on_validation_epoch_end(self) -> None:
        self._log_epoch(self.val_metrics, prog_bar=("val_balanced_accuracy",))

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        probs = self(batch["image"]).float().softmax(1)
        self.test_metrics.update(probs, batch["label"])
        self._test_outputs.append({"index": batch["index"], "label": batch["label"], "probs": probs})

    def on_test_epoch_start(self) -> None:
        self._test_outputs = []

    def on_test_epoch_end(self) -> None:
        outputs = {k: torch.cat([o[k] for o in self._test_outputs]) for k in ("index", "label", "probs")}
        distributed = self.trainer.world_size > 1
        if distributed:  # the distributed sampler pads ranks with repeats: gather, then de-duplicate
            gathered = self.all_gather(outputs)
            outputs = {k: v.flatten(0, 1) for k, v in gathered.items()}
        order = torch.argsort(outputs["index"], stable=True)
        outputs = {k: v[order] for k, v in outputs.items()}
        keep = torch.ones_like(outputs["index"], dtype=torch.bool)
        keep[1:] = outputs["index"][1:] != outputs["index"][:-1]
        outputs = {k: v[keep] for k, v in outputs.items()}
        if distributed:
            # the metric states counted the padding repeats; every rank now holds each prediction once, so the logged
            # test metrics are recomputed from those (a forward call computes without syncing the ranks)
            self.test_metrics.reset()
            self._log_values(self.test_metrics(outputs["probs"], outputs["label"]))
            self.test_metrics.reset()
        else:
            self._log_epoch(self.test_metrics)
        self.test_predictions = {k: v.cpu() for k, v in outputs.items()}
        self._test_outputs = []

    def predict_step(self, batch: dict[str, Tensor], batch_idx: int) -> dict[str, Tensor]:
        return {"index": batch["index"], "label": batch["label"], "probs": self(batch["image"]).float().softmax(1)}

    def _log_epoch(self, metrics: Any, prog_bar: Sequence[str] = ()) -> None:
        if not any(metric.update_called for metric in metrics.values()):
            return
        self._log_values(metrics.compute(), prog_bar)
        metrics.reset()

    def _log_values(self, computed: dict[str, Tensor], prog_bar: Sequence[str] = ()) -> None:
        for name, value in flatten_metrics(computed, self.class_codes).items():
            self.log(name, value, prog_bar=name in prog_bar, sync_dist=False)

    @classmethod
    def load_checkpoint(cls, path: str | Path, map_location: str = "cpu") -> LesionClassifier:
        """Load a checkpoint safely (tensors and plain values only; no pickled code); damaged files raise DataError."""
        from skinsynth.checkpoints import load_checkpoint

        load_checkpoint(path)
        return cls.load_from_checkpoint(path, map_location=map_location, weights_only=True)
