"""``lucid.nn.parallel``: data parallelism across processes (``DistributedDataParallel``)."""

from __future__ import annotations

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
