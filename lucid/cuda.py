"""``lucid.cuda``: is a GPU usable, how many, and waiting for queued GPU work."""

from __future__ import annotations

from ._backend.device import BackendUnavailableError
from ._backend.registry import backend_for

__all__ = ["is_available", "device_count", "synchronize", "current_device"]


def _backend():
    return backend_for("cuda")


def is_available() -> bool:
    """True when CuPy imports and sees at least one CUDA GPU (never raises)."""
    try:
        return _backend().device_count() > 0
    except BackendUnavailableError:
        return False


def device_count() -> int:
    """Number of usable CUDA GPUs (0 without CuPy or a GPU)."""
    try:
        return _backend().device_count()
    except BackendUnavailableError:
        return 0


def current_device() -> int:
    return _backend().current_index()


def synchronize(device=None) -> None:
    """Wait until all queued work on ``device`` (default: the current one) has finished."""
    if not is_available():
        return
    from ._backend.device import device as parse

    dev = parse(device if device is not None else "cuda")
    _backend().synchronize(dev.index or 0)
