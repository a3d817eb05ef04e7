"""What every part of lucid.distributed shares: the error type, reduction ops, which transports are
installed, the launcher's local rank and the pickling of object collectives."""

from __future__ import annotations

import datetime
import enum
import importlib.util
import os
import pickle
import warnings

import numpy  # pickled objects are bytes on the host

__all__ = ["Backend", "DebugLevel", "DistBackendError", "DistError", "DistNetworkError", "DistStoreError",
           "DistributedError", "QueueEmptyError", "ReduceOp", "get_debug_level", "get_default_backend_for_device",
           "get_node_local_rank", "is_available", "is_backend_available", "is_gloo_available", "is_mpi_available",
           "is_nccl_available", "is_torchelastic_launched", "reduce_op", "set_debug_level", "set_debug_level_from_env"]

default_pg_timeout = datetime.timedelta(minutes=30)  # torch's default process-group timeout
_MPI_WORLD_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")  # set by MPICH/Hydra and Open MPI launchers
# environment variables that launchers set to the rank on this node (ours, MPICH/Hydra, Open MPI, Slurm)
_LOCAL_RANK_VARIABLES = ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID")


class DistError(RuntimeError):
    """The base of the errors the distributed package raises (torch's ``DistError``: a ``RuntimeError``)."""


class DistBackendError(DistError):
    """A transport (MPI, NCCL) failed while running a collective."""


class DistNetworkError(DistError):
    """A network operation (a store connection) failed."""


class DistributedError(DistError):
    """A collective or the process group was used wrongly (not initialised, mismatched shapes, ...)."""


class DistStoreError(DistributedError):
    """A store operation failed: a key did not appear in time, or the store could not be reached."""


class QueueEmptyError(DistStoreError):
    """torch's error for popping an empty store queue; lucid's stores have no queues, so it is exported for
    ``except`` clauses only."""


class Backend(str):
    """A backend name: ``Backend("GLOO")`` is ``"gloo"`` (a plain str, as torch's), and the constants ``GLOO``,
    ``NCCL``, ``MPI``, ``UCC``... compare equal to ``get_backend()``'s answers. Unlike torch, which passes an unknown
    name through for third-party backends, lucid refuses it (it has no backend registration)."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    XCCL = "xccl"
    UCC = "ucc"
    MPI = "mpi"
    FAKE = "fake"
    backend_list = [UNDEFINED, GLOO, NCCL, XCCL, UCC, MPI, FAKE]
    default_device_backend_map = {"cpu": GLOO, "cuda": NCCL, "xpu": XCCL, "mps": GLOO}

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, not {type(name).__name__}")
        if name.lower() not in cls.backend_list:
            raise ValueError(f"unknown distributed backend {name!r}: the names are {cls.backend_list} (lucid runs "
                             "'gloo' and 'mpi' over MPI and 'nccl' through CuPy)")
        return name.lower()


def get_default_backend_for_device(device) -> str:
    """The backend torch picks for ``device`` (a str like "cuda:1" or a device): "gloo" for cpu, "nccl" for cuda."""
    kind = str(getattr(device, "type", device)).split(":")[0]
    if kind not in Backend.default_device_backend_map:
        raise ValueError(f"Default backend not registered for device : {kind} (the devices with one are "
                         f"{sorted(Backend.default_device_backend_map)})")
    return Backend.default_device_backend_map[kind]


def is_torchelastic_launched() -> bool:
    """Whether torchelastic (torchrun) started this process: it sets ``TORCHELASTIC_RUN_ID``."""
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


class DebugLevel(enum.Enum):
    """How much checking and logging the package does (``TORCH_DISTRIBUTED_DEBUG``); lucid records the level for
    programs that read it and does not change its behaviour with it."""

    OFF = 0
    INFO = 1
    DETAIL = 2

    def __int__(self):
        return self.value


_debug_level: DebugLevel | None = None  # None: not set yet, read from the environment on first use


def set_debug_level(level: DebugLevel) -> None:
    global _debug_level
    if not isinstance(level, DebugLevel):
        raise TypeError(f"set_debug_level takes a lucid.distributed.DebugLevel (OFF, INFO, DETAIL), not {level!r}")
    _debug_level = level


def set_debug_level_from_env() -> None:
    """Set the level from ``TORCH_DISTRIBUTED_DEBUG`` (OFF, INFO or DETAIL, any case; OFF when unset)."""
    value = os.environ.get("TORCH_DISTRIBUTED_DEBUG", "OFF")
    if value.upper() not in DebugLevel.__members__:
        raise ValueError(f"The value of TORCH_DISTRIBUTED_DEBUG must be OFF, INFO, or DETAIL, not {value!r}.")
    set_debug_level(DebugLevel[value.upper()])


def get_debug_level() -> DebugLevel:
    if _debug_level is None:
        set_debug_level_from_env()
    return _debug_level


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


class _DeprecatedReduceOp:
    """``reduce_op``: torch's deprecated alias of :class:`ReduceOp` (each attribute warns)."""

    def __getattr__(self, name):
        if name not in ReduceOp.__members__:  # inspect and pickle probe dunders: no warning for them
            raise AttributeError(f"reduce_op has no attribute {name!r} (the ReduceOp members are "
                                 f"{list(ReduceOp.__members__)})")
        warnings.warn("`lucid.distributed.reduce_op` is deprecated, please use `lucid.distributed.ReduceOp` "
                      "instead", FutureWarning, stacklevel=2)
        return getattr(ReduceOp, name)


reduce_op = _DeprecatedReduceOp()


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
