"""``lucid.amp``: automatic mixed precision, as ``torch.amp``: :class:`autocast` runs the ops
that gain from it in a 16-bit float (bfloat16 on the CPU, float16 on CUDA, as PyTorch), :class:`GradScaler` scales
the loss so float16 gradients do not underflow and skips steps whose gradients overflowed."""

from .autocast import (
    FLOAT32,
    LOWER,
    PROMOTE,
    autocast,
    autocast_op,
    clear_autocast_cache,
    custom_bwd,
    custom_fwd,
    get_autocast_dtype,
    is_autocast_available,
    is_autocast_cache_enabled,
    is_autocast_enabled,
    policy_for,
    set_autocast_cache_enabled,
    set_autocast_dtype,
    set_autocast_enabled,
)
from .grad_scaler import GradScaler

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype", "LOWER", "FLOAT32", "PROMOTE",
           "autocast_op", "policy_for",
           "set_autocast_enabled", "set_autocast_dtype", "is_autocast_cache_enabled", "set_autocast_cache_enabled",
           "clear_autocast_cache", "custom_fwd", "custom_bwd", "is_autocast_available"]
