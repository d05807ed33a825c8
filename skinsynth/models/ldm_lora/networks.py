"""Network pieces of the latent-diffusion generator: a token embedding with learned rows for new class tokens.

:func:`add_class_tokens` adds such tokens to a tokenizer and its text encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from skinsynth.errors import ConfigError, DataError


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


def add_class_tokens(tokenizer: Any, text_encoder: Any, tokens: Sequence[str], names: Sequence[str]) -> None:
    """Add ``tokens`` (``<mel>``) whose learned vectors start at the mean embedding of each class name's tokens.

    The text encoder's input embedding becomes an :class:`ExtendedEmbedding` over the frozen table.

    Raises:
        ConfigError: a token already exists in the tokenizer.
        DataError: the tokenizer and the text encoder disagree on the vocabulary size.
    """
    clashes = [t for t in tokens if t in tokenizer.get_vocab()]
    if clashes:
        raise ConfigError(f"class token(s) {clashes} already exist in the base tokenizer; rename the classes")
    embedding = text_encoder.get_input_embeddings()
    with torch.no_grad():
        start = torch.stack([
            embedding.weight[tokenizer(name, add_special_tokens=False).input_ids].float().mean(0) for name in names
        ])  # fmt: skip
    first = embedding.num_embeddings
    tokenizer.add_tokens(list(tokens))
    ids = tokenizer.convert_tokens_to_ids(list(tokens))
    if ids != list(range(first, first + len(tokens))):
        raise DataError(
            f"the base tokenizer has {len(tokenizer) - len(tokens)} tokens but the "
            f"text encoder embeds {first}; class tokens need them to agree (is the tokenizer from this model?)"
        )
    text_encoder.set_input_embeddings(ExtendedEmbedding(embedding, start))
