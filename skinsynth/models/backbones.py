"""Classifier networks: timm backbones by name, random, pretrained or from a local weights file.

Nothing here downloads unless the user asks for ``pretrained=True`` without a ``weights_path``; when that fails for
lack of network, the error says how to work offline.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import timm
from torch import nn

from skinsynth.errors import ConfigError


def check_backbone_name(name: str) -> None:
    """Raise :class:`ConfigError` with close timm matches when ``name`` is not a timm model."""
    if timm.is_model(name):
        return
    close = difflib.get_close_matches(name, timm.list_models(), n=5, cutoff=0.6)
    hint = f" Did you mean {', '.join(close)}?" if close else " See timm.list_models() for names."
    raise ConfigError(f"unknown backbone {name!r}: timm has no such model.{hint}")


def build_backbone(
    name: str,
    num_classes: int,
    *,
    pretrained: bool = False,
    weights_path: str | Path | None = None,
    drop_rate: float = 0.0,
) -> nn.Module:
    """A timm model with a ``num_classes`` head.

    Args:
        name: timm model name (``resnet18``, ``efficientnet_b0``, ``resnet50`` …).
        num_classes: output logits.
        pretrained: load ImageNet weights from the timm / Hugging Face cache (downloads if allowed and missing).
        weights_path: a local weights file (``.safetensors``, ``.pth``, ``.bin``) for the same architecture; its
            classifier head is replaced. Implies pretrained weights and never touches the network.
        drop_rate: dropout before the classifier.
    """
    check_backbone_name(name)
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"weights file {str(path)!r} does not exist (`weights_path`)")
        try:
            return timm.create_model(
                name,
                pretrained=True,
                num_classes=num_classes,
                drop_rate=drop_rate,
                pretrained_cfg_overlay={"file": str(path)},
            )
        except (RuntimeError, KeyError, ValueError) as error:
            raise ConfigError(
                f"weights file {str(path)!r} does not fit backbone {name!r}: {str(error)[:300]}"
            ) from error
    try:
        return timm.create_model(name, pretrained=pretrained, num_classes=num_classes, drop_rate=drop_rate)
    except Exception as error:
        if not pretrained:
            raise
        raise ConfigError(
            f"could not load pretrained weights for {name!r} ({type(error).__name__}: {str(error)[:200]}). "
            "Without network, download the weights elsewhere and set `weights_path` to the local file, or put them "
            "in the Hugging Face cache (HF_HOME) and set HF_HUB_OFFLINE=1, or train from scratch without `pretrained`."
        ) from error
