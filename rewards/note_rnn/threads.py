"""Torch's thread count, set for a block of code."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Temporarily sets torch's intra-op thread count (``None``: leave it alone).

    Args:
        threads: Number of threads inside the block.

    Yields:
        Nothing.
    """
    if threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
