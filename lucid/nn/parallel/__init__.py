"""``lucid.nn.parallel``: data parallelism across processes (``DistributedDataParallel``), and the
single-process ``DataParallel`` stand-in (also ``lucid.nn.DataParallel``)."""

from __future__ import annotations

from ..layers.parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
