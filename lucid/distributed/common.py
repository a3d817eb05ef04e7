"""What every part of lucid.distributed shares: the error type, reduction ops, which transports are
installed, the launcher's local rank and the pickling of object collectives."""

from __future__ import annotations

import datetime
import enum
import importlib.util
import os
import pickle

import numpy  # pickled objects are bytes on the host

__all__ = ["DistributedError", "ReduceOp", "is_available", "is_backend_available", "is_gloo_available",
           "is_mpi_available", "is_nccl_available", "get_node_local_rank"]

default_pg_timeout = datetime.timedelta(minutes=30)  # torch's default process-group timeout
_MPI_WORLD_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")  # set by MPICH/Hydra and Open MPI launchers
# environment variables that launchers set to the rank on this node (ours, MPICH/Hydra, Open MPI, Slurm)
_LOCAL_RANK_VARIABLES = ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID")


class DistributedError(RuntimeError):
    """A collective or the process group was used wrongly (not initialised, mismatched shapes, ...)."""


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


def is_gloo_available() -> bool:
    """Whether ``init_process_group("gloo")`` can work: lucid serves PyTorch's CPU backend name with its MPI
    transport, so exactly when mpi4py is installed."""
    return is_mpi_available()


def started_by_mpiexec() -> bool:
    """Whether an MPI launcher (MPICH/Hydra or Open MPI) started this process."""
    return any(v in os.environ for v in _MPI_WORLD_VARIABLES)


def is_backend_available(backend: str) -> bool:
    """Whether ``init_process_group(backend)`` can work here: "gloo" and "mpi" (both the MPI transport) when
    mpi4py is installed, "nccl" when CuPy's NCCL is; any other name (ucc, ...) is a backend lucid does not have."""
    return {"gloo": is_gloo_available, "mpi": is_mpi_available,
            "nccl": is_nccl_available}.get(str(backend).lower(), lambda: False)()


class ReduceOp(enum.Enum):
    """How a reducing collective combines the processes' values."""

    SUM = "sum"
    AVG = "avg"  # SUM, then divided by the group size (floating tensors only)
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"
    PREMUL_SUM = "premul_sum"  # SUM of factor * input (floating tensors only): make one with _make_nccl_premul_sum


class _PremulSum:
    """``ReduceOp.PREMUL_SUM`` with its factor (a Python number or a one-element tensor on the tensors' device)."""

    op = ReduceOp.PREMUL_SUM

    def __init__(self, factor):
        self.factor = factor

    def __repr__(self):
        return f"ReduceOp.PREMUL_SUM({self.factor!r})"


def _make_nccl_premul_sum(factor):
    """A reduction that sums ``factor * input`` over the processes (torch's name; torch offers it with NCCL
    only, lucid with every backend, computed as the scaling then a SUM)."""
    return _PremulSum(factor)


def pickled(obj) -> numpy.ndarray:
    """``obj`` as pickle bytes in a uint8 host array (object collectives: trusted peers only)."""
    return numpy.frombuffer(bytearray(pickle.dumps(obj)), numpy.uint8)  # writable: MPI's broadcast root writes too


def unpickled(host_bytes) -> object:
    return pickle.loads(numpy.asarray(host_bytes, numpy.uint8).tobytes())


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
