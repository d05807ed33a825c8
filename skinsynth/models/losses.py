"""Classification losses that accept hard labels or soft (MixUp/CutMix) targets.

One formula covers cross-entropy, class-weighted cross-entropy, focal loss and label smoothing::

    loss = Σ_i Σ_c s_i · t_ic · w_c · (1 - p_ic)^γ · (-log p_ic)  /  Σ_i Σ_c s_i · t_ic · w_c

where ``s_i`` is an optional per-sample weight (e.g. a lower weight for synthetic images).

With γ = 0 and hard targets this is exactly ``torch.nn.functional.cross_entropy`` (with ``weight`` and
``label_smoothing``), which the tests check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LossName = Literal["ce", "weighted_ce", "focal"]
LOSSES: tuple[str, ...] = ("ce", "weighted_ce", "focal")


class ClassificationLoss(nn.Module):
    """Cross-entropy family loss.

    Args:
        num_classes: number of classes.
        class_weights: per-class weights ``w_c`` (``None`` = all ones).
        gamma: focal exponent (0 = plain cross-entropy).
        label_smoothing: mass moved uniformly over all classes for hard targets.
    """

    def __init__(
        self,
        num_classes: int,
        class_weights: Sequence[float] | None = None,
        gamma: float = 0.0,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__()
        if class_weights is not None and len(class_weights) != num_classes:
            raise ValueError(f"got {len(class_weights)} class weights for {num_classes} classes")
        weights = (
            torch.ones(num_classes) if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float)
        )
        self.register_buffer("class_weights", weights)
        self.num_classes = num_classes
        self.gamma = gamma
        self.label_smoothing = label_smoothing

    def forward(self, logits: Tensor, target: Tensor, sample_weights: Tensor | None = None) -> Tensor:
        """Weighted mean loss for ``logits`` (N, C) and ``target``: labels (N,) or a probability matrix (N, C).

        ``sample_weights`` (N,) scales each sample's share of the loss (``None``: all 1).
        """
        if target.ndim == 1:
            target = F.one_hot(target, self.num_classes).to(logits.dtype)
            if self.label_smoothing:
                target = target * (1 - self.label_smoothing) + self.label_smoothing / self.num_classes
        log_p = F.log_softmax(logits.float(), dim=1)
        per_class = -log_p
        if self.gamma:
            per_class = per_class * (1 - log_p.exp()).pow(self.gamma)
        weighted_target = target.float() * self.class_weights
        if sample_weights is not None:
            weighted_target = weighted_target * sample_weights.float().view(-1, 1)
        return (weighted_target * per_class).sum() / weighted_target.sum().clamp_min(1e-12)


def build_loss(
    name: LossName,
    num_classes: int,
    *,
    class_weights: Sequence[float] | None = None,
    focal_gamma: float = 2.0,
    label_smoothing: float = 0.0,
) -> ClassificationLoss:
    """``ce``, ``weighted_ce`` (needs ``class_weights``) or ``focal`` (γ = ``focal_gamma``)."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {LOSSES}")
    if name == "weighted_ce" and class_weights is None:
        raise ValueError("loss 'weighted_ce' needs class_weights (SkinLesionDataModule.class_weights())")
    return ClassificationLoss(
        num_classes,
        class_weights=class_weights if name == "weighted_ce" else None,
        gamma=focal_gamma if name == "focal" else 0.0,
        label_smoothing=label_smoothing,
    )
