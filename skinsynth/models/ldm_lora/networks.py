"""Network pieces of the latent-diffusion generator: a token embedding with learned rows for new class tokens."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ExtendedEmbedding(nn.Module):
    """A frozen token embedding plus trainable vectors for tokens added after it (textual-inversion style).

    Token ids below ``base.num_embeddings`` read the frozen table; the ids after it read :attr:`new`, the only
    trainable part. The base table is shared, never copied or resized.

    Args:
        base: the text encoder's original input embedding.
        new_vectors: initial vectors of the added tokens (k, dim).
    """

    def __init__(self, base: nn.Embedding, new_vectors: Tensor) -> None:
        super().__init__()
        self.base = base
        self.first_new = base.num_embeddings
        self.new = nn.Parameter(new_vectors.detach().clone().float())

    @property
    def weight(self) -> Tensor:
        """The frozen base table (what code asking for ``get_input_embeddings().weight`` expects)."""
        return self.base.weight

    @property
    def num_embeddings(self) -> int:
        """Size of the extended vocabulary."""
        return self.first_new + len(self.new)

    def forward(self, ids: Tensor) -> Tensor:
        """Embeddings of ``ids`` (any shape) → (*ids.shape, dim)."""
        is_new = ids >= self.first_new
        out = self.base(ids.clamp(max=self.first_new - 1))
        if bool(is_new.any()):
            added = self.new[(ids - self.first_new).clamp(min=0, max=len(self.new) - 1)].to(out.dtype)
            out = torch.where(is_new.unsqueeze(-1), added, out)
        return out
