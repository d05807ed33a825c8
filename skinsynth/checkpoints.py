"""Reading checkpoints safely: tensors and plain values only, with an error a user can act on.

Every checkpoint skinsynth reads (a resumed generator, a classifier, a pretrained generator a colleague shared) goes
through :func:`load_checkpoint`: ``torch.load(weights_only=True)`` never runs code from the file, and any failure —
a truncated download, random bytes, a pickle that asks for arbitrary objects — becomes one :class:`DataError` that
names the file and says what to do. It never suggests turning ``weights_only`` off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from skinsynth.errors import DataError


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The contents of checkpoint ``path`` (a dict), loaded with ``weights_only=True``.

    Raises:
        DataError: the file is missing, unreadable, corrupt, or not made of tensors and plain values only.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"checkpoint {str(path)!r} does not exist")
    try:
        content = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # UnpicklingError, RuntimeError (bad zip), EOFError, OSError, ...
        raise DataError(
            f"checkpoint {str(path)!r} cannot be read safely ({type(error).__name__}): it is truncated or corrupt, "
            "or it holds objects other than tensors and plain values. Delete it and re-run the stage that wrote it "
            "(a study resumes from the previous stage), or ask whoever shared it for a plain Lightning/PyTorch "
            "checkpoint."
        ) from None  # torch's own message would suggest weights_only=False, which runs code from the file
    if not isinstance(content, dict):
        raise DataError(f"checkpoint {str(path)!r} holds a {type(content).__name__}, not a checkpoint dictionary")
    return content
