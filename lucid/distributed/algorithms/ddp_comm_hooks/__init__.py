"""DistributedDataParallel communication hooks: ``DistributedDataParallel.register_comm_hook(state, hook)`` makes
DDP hand each gradient bucket to ``hook(state, bucket)`` instead of averaging it itself; the hook returns a
future whose ``wait()`` gives the bucket's reduced flat gradient (see :mod:`.default_hooks`)."""

from __future__ import annotations

from . import default_hooks
from .default_hooks import GradBucket

__all__ = ["GradBucket", "default_hooks"]
