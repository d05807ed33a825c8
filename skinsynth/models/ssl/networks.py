"""SimCLR pieces: the projection head and the NT-Xent contrastive loss (Chen et al., 2020).

Written out rather than taken from a self-supervised library: the loss is a few lines over ``F.cross_entropy``, and
the libraries that provide it bring large dependency trees that the rest of skinsynth does not need.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ProjectionHead(nn.Module):
    """Two-layer MLP from backbone features to the space the contrastive loss works in.

    Args:
        in_features: backbone feature size.
        hidden_features: hidden layer width.
        out_features: projection size.
    """

    def __init__(self, in_features: int, hidden_features: int = 512, out_features: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden_features),
            nn.BatchNorm1d(hidden_features),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_features, out_features),
        )

    def forward(self, features: Tensor) -> Tensor:
        """Projections (N, out_features)."""
        return self.net(features)


def nt_xent_loss(z1: Tensor, z2: Tensor, temperature: float = 0.2) -> Tensor:
    """Normalized-temperature cross-entropy over a batch of positive pairs ``(z1[i], z2[i])``.

    Each of the 2N projections must pick its partner among the other 2N − 1 by cosine similarity / temperature.
    """
    if z1.shape != z2.shape or len(z1) < 2:
        raise ValueError(f"NT-Xent needs two equally shaped batches of at least 2, got {tuple(z1.shape)}, "
                         f"{tuple(z2.shape)}")  # fmt: skip
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    n = len(z1)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))  # an image is not its own positive
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, targets)
