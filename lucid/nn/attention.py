"""``lucid.nn.attention`` (``torch.nn.attention``): :class:`SDPBackend` and the :func:`sdpa_kernel` context that
restricts which kernels ``scaled_dot_product_attention`` may use.

Lucid has one implementation of scaled dot-product attention. It stands in for each kernel PyTorch has on
the device type of the inputs: on the CPU the math and flash kernels (PyTorch's CPU has both), on any other
device also the memory-efficient and cuDNN ones (PyTorch's GPU picks among them by dtype and shape). A
program that allows one of those runs, whatever the GPU would have picked; one that allows none of them (only
``ERROR`` or ``OVERRIDEABLE``, an empty list, or only GPU kernels on the CPU) gets PyTorch's "No viable
backend" RuntimeError at the attention call, as it would from PyTorch on that device. The allowed set is
process-wide, as PyTorch's flags are; ``set_priority`` is accepted and changes nothing (one kernel).
"""

from __future__ import annotations

import contextlib
import enum

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.IntEnum):
    """The kernels of ``scaled_dot_product_attention``, with PyTorch's values (``int(b)``) and names."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __str__(self) -> str:
        return f"SDPBackend.{self.name}"


_CPU_KERNELS = frozenset({SDPBackend.MATH, SDPBackend.FLASH_ATTENTION})
_DEVICE_KERNELS = _CPU_KERNELS | {SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION}
_ALL = (SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH,
        SDPBackend.OVERRIDEABLE)
_enabled: list = [frozenset(_ALL)]  # the kernels allowed now (every one outside an sdpa_kernel block)


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority: bool = False):
    """Allow only ``backends`` (an :class:`SDPBackend` or a list of them) inside the block; the previous set is
    restored on exit. Anything but an SDPBackend or a list raises AssertionError, as in PyTorch."""
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError(f"Backend must be an instance of SDPBackend or a list of SDPBackend instances, "
                             f"got {type(backends).__name__}")
    chosen = frozenset(b for b in ([backends] if isinstance(backends, SDPBackend) else backends) if b in _ALL)
    previous, _enabled[0] = _enabled[0], chosen
    try:
        yield {}
    finally:
        _enabled[0] = previous


def check_kernel(device_type: str) -> None:
    """Raise PyTorch's RuntimeError when the :func:`sdpa_kernel` in force allows no kernel lucid's attention
    stands in for on ``device_type`` (see the module docstring)."""
    runnable = _CPU_KERNELS if device_type == "cpu" else _DEVICE_KERNELS
    if not runnable & _enabled[0]:
        allowed = ", ".join(sorted(b.name for b in _enabled[0])) or "none"
        raise RuntimeError(f"No viable backend for scaled_dot_product_attention was found. This is likely due to "
                           f"turning off both the math kernel and the fused kernels (sdpa_kernel allows: {allowed}; "
                           f"on {device_type} lucid's attention runs as "
                           f"{' or '.join(sorted(b.name for b in runnable))}).")
