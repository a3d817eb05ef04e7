"""``torch.cpu``: the CPU device module (``torch.cpu.is_available()``, ``torch.cpu.synchronize()``, ...)
and its ``amp`` submodule (``torch.cpu.amp.autocast``, PyTorch's older spelling of
``torch.autocast("cpu", dtype=torch.bfloat16)``, see :mod:`lucid.torch_compat.cpu_amp`)."""

from __future__ import annotations

__all__ = ["is_available", "is_initialized", "device_count", "current_device", "set_device", "synchronize"]


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
