"""Weights files read safely: at most a size checked before opening, then weights only."""

from __future__ import annotations

import io
import os
from typing import Any

import torch

from mammad_envs.file_limits import read_bounded

__all__ = ["load_weights"]


def load_weights(path: str | os.PathLike, max_bytes: int, what: str, limit: str,
                 raise_it: str, not_it: str) -> Any:
    """``torch.load(weights_only=True)`` of a file of at most ``max_bytes`` (never unpickled).

    Args:
        path: The file.
        max_bytes: The largest file read, checked from its size before it is opened.
        what: What the file is, for messages ("Note-RNN weights file").
        limit: Where the limit is set, for messages.
        raise_it: How to read a larger file, for messages.
        not_it: The message when torch cannot read it ("... is not a ..."), after the path.

    Raises:
        FileNotFoundError: If there is no such file.
        ValueError: If the file is too large, not a regular file, or not a weights-only file.
    """
    if not os.path.lexists(path):
        raise FileNotFoundError(f"{what} not found: {path}")
    data = read_bounded(path, max_bytes, what, limit, raise_it)
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 (torch raises many kinds for a foreign file)
        raise ValueError(f"{path} {not_it}: torch.load(weights_only=True) failed "
                         f"({type(error).__name__}: {error})") from error
