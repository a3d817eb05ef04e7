"""``torch.backends.cuda``: :mod:`lucid.backends.cuda` (``matmul.allow_tf32``, ``is_built``) and PyTorch's
switches of the attention kernels, kept here because their state is :mod:`lucid.nn.attention`'s (a layer above
lucid.backends): ``flash_sdp_enabled()``/``enable_flash_sdp(False)`` and kin read and change the set of kernels
that :func:`lucid.nn.attention.sdpa_kernel` restricts, and the deprecated :func:`sdp_kernel` context is
``sdpa_kernel`` of the kernels it switches on. lucid has one attention implementation standing in for each kernel
(see :mod:`lucid.nn.attention`)."""

from __future__ import annotations

import warnings

from ..backends.cuda import is_built, matmul
from ..nn import attention

__all__ = ["matmul", "is_built", "sdp_kernel", "flash_sdp_enabled", "enable_flash_sdp", "mem_efficient_sdp_enabled",
           "enable_mem_efficient_sdp", "math_sdp_enabled", "enable_math_sdp", "cudnn_sdp_enabled", "enable_cudnn_sdp"]

_B = attention.SDPBackend


def _enable(kernel: attention.SDPBackend, enabled: bool) -> None:
    now = attention._enabled[0]
    attention._enabled[0] = now | {kernel} if enabled else now - {kernel}


def flash_sdp_enabled() -> bool:
    """Whether attention may use the flash kernel."""
    return _B.FLASH_ATTENTION in attention._enabled[0]


def enable_flash_sdp(enabled: bool) -> None:
    """Allow or forbid the flash kernel."""
    _enable(_B.FLASH_ATTENTION, enabled)


def mem_efficient_sdp_enabled() -> bool:
    """Whether attention may use the memory-efficient kernel."""
    return _B.EFFICIENT_ATTENTION in attention._enabled[0]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    """Allow or forbid the memory-efficient kernel."""
    _enable(_B.EFFICIENT_ATTENTION, enabled)


def math_sdp_enabled() -> bool:
    """Whether attention may use the math kernel."""
    return _B.MATH in attention._enabled[0]


def enable_math_sdp(enabled: bool) -> None:
    """Allow or forbid the math kernel."""
    _enable(_B.MATH, enabled)


def cudnn_sdp_enabled() -> bool:
    """Whether attention may use the cuDNN kernel."""
    return _B.CUDNN_ATTENTION in attention._enabled[0]


def enable_cudnn_sdp(enabled: bool) -> None:
    """Allow or forbid the cuDNN kernel."""
    _enable(_B.CUDNN_ATTENTION, enabled)


def sdp_kernel(enable_flash: bool = True, enable_math: bool = True, enable_mem_efficient: bool = True,
               enable_cudnn: bool = True):
    """PyTorch's deprecated context, warning FutureWarning as PyTorch's does: ``sdpa_kernel`` of the kernels
    switched on."""
    warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager will be "
                  "removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context manager, with "
                  "updated signature.", FutureWarning, stacklevel=2)
    flags = {_B.FLASH_ATTENTION: enable_flash, _B.EFFICIENT_ATTENTION: enable_mem_efficient, _B.MATH: enable_math,
             _B.CUDNN_ATTENTION: enable_cudnn}
    return attention.sdpa_kernel([kernel for kernel, on in flags.items() if on])
