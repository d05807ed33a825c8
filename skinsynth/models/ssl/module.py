"""SimCLRModule: contrastive pretraining of a timm backbone on unlabeled images; exports the backbone's weights.

The study's ``ssl`` arm pretrains on the unlabeled pool (and the few-shot images, without labels), saves the backbone
with :meth:`SimCLRModule.save_backbone`, and fine-tunes :class:`~skinsynth.models.classifier.LesionClassifier` from
that file (``weights_path``). It is the fair baseline for generators pretrained on the same pool: without it, a gain
from synthetic data could just be "the model saw more images".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from skinsynth.models.backbones import build_backbone
from skinsynth.models.base import BaseModule
from skinsynth.models.ssl.networks import ProjectionHead, nt_xent_loss


class SimCLRModule(BaseModule):
    """SimCLR on batches of ``{"view1", "view2"}`` (:class:`~skinsynth.data.views.TwoViewDataset`).

    Args:
        backbone: timm model name (the classifier's backbone).
        hidden_dim: projection head hidden width.
        projection_dim: projection size.
        temperature: NT-Xent temperature.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        pretrained: start from the backbone's ImageNet weights in the timm cache (domain-adaptive pretraining).
        weights_path: start from a local weights file of the same backbone (see
            :func:`~skinsynth.models.backbones.build_backbone`); never touches the network.
    """

    def __init__(
        self,
        backbone: str = "resnet18",
        hidden_dim: int = 512,
        projection_dim: int = 128,
        temperature: float = 0.2,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        pretrained: bool = False,
        weights_path: str | None = None,
    ) -> None:
        if temperature <= 0 or hidden_dim < 1 or projection_dim < 1:
            raise ValueError("temperature, hidden_dim and projection_dim must be positive")
        super().__init__()

    def configure_models(self) -> None:
        """The backbone without a head (pooled features) and the projection head."""
        hp = self.hparams
        self.backbone = build_backbone(hp.backbone, num_classes=0, pretrained=hp.get("pretrained", False),
                                       weights_path=hp.get("weights_path"))  # fmt: skip
        self.projector = ProjectionHead(int(self.backbone.num_features), hp.hidden_dim, hp.projection_dim)

    def forward(self, images: Tensor) -> Tensor:
        """Projections (N, projection_dim) of normalized images."""
        return self.projector(self.backbone(images))

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss = nt_xent_loss(self(batch["view1"]), self(batch["view2"]), self.hparams.temperature)
        self.log("ssl_loss", loss, prog_bar=True, batch_size=len(batch["view1"]))
        return loss

    def configure_optimizers(self) -> Any:
        """AdamW with a cosine schedule over the run's epochs."""
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        epochs = max(int(self.trainer.max_epochs or 1), 1)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}

    def save_backbone(self, path: str | Path) -> Path:
        """Write the backbone's weights (no head) as safetensors, loadable as a classifier's ``weights_path``."""
        from safetensors.torch import save_file

        from skinsynth.io import atomic_write_bytes

        path = Path(path)
        state = {k: v.detach().cpu().contiguous() for k, v in self.backbone.state_dict().items()}
        tmp = path.with_name(f".{path.name}.partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(state, str(tmp))
        atomic_write_bytes(tmp.read_bytes(), path)
        tmp.unlink()
        return path
