"""``torch.cpu``: the CPU device module (``torch.cpu.is_available()``, ``torch.cpu.synchronize()``, ...)
and its ``amp`` submodule (``torch.cpu.amp.autocast``, PyTorch's older spelling of
``torch.autocast("cpu", dtype=torch.bfloat16)``, see :mod:`lucid.torch_compat.cpu_amp`)."""

from __future__ import annotations

import os
import platform

__all__ = ["is_available", "is_initialized", "device_count", "current_device", "set_device", "synchronize",
           "Stream", "Event", "StreamContext", "stream", "current_stream", "get_capabilities"]


def is_available() -> bool:
    """Always ``True``: the CPU is there."""
    return True


def is_initialized() -> bool:
    """Always ``True``, as PyTorch's."""
    return True


def device_count() -> int:
    """``1``: PyTorch counts the CPU as one device."""
    return 1


def current_device() -> str:
    """``"cpu"``, as PyTorch's."""
    return "cpu"


def set_device(device) -> None:
    """Does nothing, as PyTorch's (there is one CPU device)."""


def synchronize(device=None) -> None:
    """Does nothing: CPU work is done when the call that asked for it returns."""


class Stream:
    """``torch.cpu.Stream``: exists so that device-agnostic code runs; CPU work has no queues to order."""

    def __init__(self, priority: int = -1) -> None:
        pass

    def wait_stream(self, stream) -> None:
        """Does nothing."""

    def record_event(self) -> None:
        """Does nothing."""

    def wait_event(self, event) -> None:
        """Does nothing."""


class Event:
    """``torch.cpu.Event``: always complete (CPU work is done when its call returns)."""

    def query(self) -> bool:
        """``True``."""
        return True

    def record(self, stream=None) -> None:
        """Does nothing."""

    def synchronize(self) -> None:
        """Does nothing."""

    def wait(self, stream=None) -> None:
        """Does nothing."""


_default_stream = Stream()
_current_stream = _default_stream


def current_stream(device=None) -> Stream:
    """The stream made current by :func:`stream` (a default one outside any), as PyTorch's."""
    return _current_stream


class StreamContext:
    """``torch.cpu.StreamContext``: ``stream`` is what :func:`current_stream` returns inside the block
    (None changes nothing); nothing else changes."""

    def __init__(self, stream: Stream | None):
        self.stream = stream
        self.prev_stream = _default_stream

    def __enter__(self) -> None:
        global _current_stream
        if self.stream is not None:
            self.prev_stream, _current_stream = _current_stream, self.stream

    def __exit__(self, *exc) -> None:
        global _current_stream
        if self.stream is not None:
            _current_stream = self.prev_stream


def stream(stream: Stream | None) -> StreamContext:
    """``StreamContext(stream)``."""
    return StreamContext(stream)


def get_capabilities() -> dict:
    """What PyTorch reports of the CPU: ``architecture``, ``cpu_name`` and the core counts lucid can read
    (PyTorch adds its instruction-set flags, which lucid does not detect)."""
    cores = os.cpu_count() or 1
    return {"architecture": platform.machine(), "cpu_name": platform.processor() or platform.machine(),
            "num_logical_cores": cores}
