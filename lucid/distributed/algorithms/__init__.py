"""``lucid.distributed.algorithms``: DistributedDataParallel's communication hooks (``ddp_comm_hooks``) and the join
context for uneven inputs (``join``: ``Join``, ``Joinable``, ``JoinHook``)."""

from __future__ import annotations

from . import ddp_comm_hooks, join
from .join import Join, Joinable, JoinHook

__all__ = ["Join", "JoinHook", "Joinable", "ddp_comm_hooks", "join"]
