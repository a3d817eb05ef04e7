"""The process group: which transport this process uses, its rank and the world size.

One default group per process, set by :func:`init_process_group` and cleared by
:func:`destroy_process_group`; the collectives find it here.
"""

from __future__ import annotations

import importlib.util
import os

__all__ = [
    "DistributedError", "destroy_process_group", "get_backend", "get_node_local_rank", "get_rank", "get_world_size",
    "group", "init_process_group", "is_available", "is_initialized", "is_mpi_available", "is_nccl_available",
    "current_transport",
]

# environment variables that launchers set to the rank on this node (ours, MPICH/Hydra, Open MPI, Slurm)
_LOCAL_RANK_VARIABLES = ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID")

_transport = None  # the initialised transport (mpi.MpiTransport or nccl.NcclTransport), or None


class DistributedError(RuntimeError):
    """A collective or the process group was used wrongly (not initialised, mismatched shapes, ...)."""


class group:  # noqa: N801  (torch.distributed.group)
    """The default group: ``group.WORLD`` names all processes (the only group lucid has)."""

    WORLD = "WORLD"


def is_available() -> bool:
    """True: the package is importable (a transport may still be missing, see ``is_mpi_available``)."""
    return True


def is_mpi_available() -> bool:
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        from cupy.cuda import nccl  # noqa: F401
    except ImportError:
        return False
    return True


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


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank among the processes on its machine, from the launcher's environment.

    Read before any CUDA work to pick the GPU (``lucid.cuda.set_device(get_node_local_rank())``).
    """
    for name in _LOCAL_RANK_VARIABLES:
        if name in os.environ:
            return int(os.environ[name])
    if fallback_rank is not None:
        return fallback_rank
    raise DistributedError(f"no local rank in the environment (looked for {', '.join(_LOCAL_RANK_VARIABLES)}); "
                           "start the processes with mpiexec or python -m lucid.distributed.run")
