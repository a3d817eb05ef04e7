"""The process group: which transport this process uses, its rank and the world size.

One default group per process, set by :func:`init_process_group` and cleared by
:func:`destroy_process_group`; the collectives find it here.
"""

from __future__ import annotations

from .common import DistributedError

__all__ = ["destroy_process_group", "get_backend", "get_rank", "get_world_size", "init_process_group", "is_initialized",
           "current_transport"]

_transport = None  # the initialised transport (mpi.MpiTransport or nccl.NcclTransport), or None


def is_initialized() -> bool:
    return _transport is not None


def init_process_group(backend: str = "mpi", init_method: str | None = None, world_size: int = -1, rank: int = -1,
                       timeout=None, **unused) -> None:
    """Join the default process group through ``backend`` ("mpi" or "nccl").

    With MPI the world comes from ``mpiexec``; ``world_size``/``rank``, when given, must agree with it.
    NCCL takes the world from MPI when the processes were started by ``mpiexec``, else from
    ``world_size``/``rank`` (or the ``WORLD_SIZE``/``RANK`` variables) with the NCCL id passed through a
    TCP store at ``init_method`` (``tcp://host:port``, default ``MASTER_ADDR``/``MASTER_PORT``).
    ``timeout`` is accepted for torch compatibility (MPI has no per-call timeout).
    """
    global _transport
    if _transport is not None:
        raise DistributedError("the default process group is already initialised; call destroy_process_group() "
                               "first to make a new one")
    if backend == "mpi":
        from .mpi import MpiTransport

        transport = MpiTransport()
    elif backend == "nccl":
        from .nccl import NcclTransport

        transport = NcclTransport(init_method, world_size, rank)
    else:
        raise ValueError(f"unknown distributed backend {backend!r}: lucid has 'mpi' (CPU tensors, mpi4py) and "
                         "'nccl' (CUDA tensors, CuPy)")
    for name, asked, actual in (("world_size", world_size, transport.world_size), ("rank", rank, transport.rank)):
        if asked not in (-1, None) and asked != actual:
            transport.close()
            raise DistributedError(f"init_process_group({name}={asked}) but the launcher started this process "
                                   f"with {name} {actual}")
    _transport = transport


def destroy_process_group(group=None) -> None:
    """Leave the default group (its transport is closed); a later :func:`init_process_group` may join again."""
    global _transport
    if _transport is not None:
        _transport.close()
        _transport = None


def current_transport():
    """The initialised transport; DistributedError when :func:`init_process_group` has not run."""
    if _transport is None:
        raise DistributedError("the default process group is not initialised: call "
                               "lucid.distributed.init_process_group(backend) first")
    return _transport


def get_rank(group=None) -> int:
    return current_transport().rank


def get_world_size(group=None) -> int:
    return current_transport().world_size


def get_backend(group=None) -> str:
    return current_transport().name
