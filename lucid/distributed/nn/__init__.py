"""``lucid.distributed.nn``: collectives that autograd differentiates (``torch.distributed.nn``)."""

from __future__ import annotations

from . import functional

__all__ = ["functional"]
