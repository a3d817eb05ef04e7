"""What every part of lucid.distributed shares: the error type, reduction ops, the default group's name,
which transports are installed and the launcher's local rank."""

from __future__ import annotations

import enum
import importlib.util
import os

__all__ = ["DistributedError", "ReduceOp", "group", "is_available", "is_mpi_available", "is_nccl_available",
           "get_node_local_rank"]

# environment variables that launchers set to the rank on this node (ours, MPICH/Hydra, Open MPI, Slurm)
_LOCAL_RANK_VARIABLES = ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID")


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


class ReduceOp(enum.Enum):
    """How a reducing collective combines the processes' values."""

    SUM = "sum"
    AVG = "avg"  # SUM, then divided by the world size (floating tensors only)
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


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
