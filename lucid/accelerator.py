"""``lucid.accelerator``: the device-neutral accelerator API (``torch.accelerator``). lucid's one
accelerator type is CUDA, so each function answers for it and works, quietly, on a machine
without a GPU (no accelerator: ``current_accelerator()`` is None, ``device_count()`` 0)."""

from __future__ import annotations

from . import cuda
from ._backend.device import Device
from ._backend.device import device as _device
from .backends.cuda import is_built as _cuda_built

__all__ = ["current_accelerator", "is_available", "device_count", "current_device_index", "set_device_index",
           "synchronize"]


def is_available() -> bool:
    """Whether a CUDA GPU is usable."""
    return cuda.is_available()


def device_count() -> int:
    """How many CUDA GPUs are usable (0 without one)."""
    return cuda.device_count()


def current_accelerator(check_available: bool = False) -> Device | None:
    """``lucid.device("cuda")`` where CuPy is installed (and, with ``check_available``, a GPU is
    usable), else None, as PyTorch on a build without an accelerator."""
    if not _cuda_built() or (check_available and not is_available()):
        return None
    return _device("cuda", cuda.current_device() if is_available() else 0)


def current_device_index() -> int:
    """The current CUDA device's index; -1 without a GPU (PyTorch's answer then)."""
    return cuda.current_device() if is_available() else -1


def set_device_index(device) -> None:
    """Make ``device`` (an index, ``"cuda:N"`` or a Device) the current CUDA device."""
    cuda.set_device(device)


def synchronize(device=None) -> None:
    """Wait for the GPU's queued work (nothing to wait for without one)."""
    cuda.synchronize(device)
