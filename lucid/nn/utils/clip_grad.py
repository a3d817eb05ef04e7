"""Gradient clipping, in place on the parameters' ``.grad`` (as ``torch.nn.utils``)."""

from __future__ import annotations

import math
import warnings

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...ops.creation import zeros
from ...ops.linalg import vector_norm
from ...ops.shape import stack

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_", "clip_grad_norm"]


def _grads(parameters) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The ``norm_type``-norm of ``tensors`` taken together (the norm of the per-tensor norms; ``inf``
    for the largest magnitude). Tensors on several devices are measured each on its own device and
    combined on the first one's, in the promoted dtype of their norms (as PyTorch). ``foreach`` is accepted
    for compatibility. ``error_if_nonfinite`` reads the norm on the host (a device sync, as in PyTorch);
    without it nothing waits."""
    tensors = [tensors] if isinstance(tensors, Tensor) else [t for t in tensors if t is not None]
    if not tensors:
        return zeros(())
    norm_type = float(norm_type)
    first = tensors[0]
    with no_grad():
        # each norm keeps its own dtype and stack promotes (float16 and float32 gradients give a float32
        # total, as in PyTorch); casting to the first tensor's dtype could overflow to inf and zero them all
        norms = [vector_norm(t, norm_type).to(first.device) for t in tensors]
        total = vector_norm(stack(norms), norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(
            f"the total norm of order {norm_type} of the gradients is non-finite ({total.item()}), so it "
            f"cannot be clipped; pass error_if_nonfinite=False to clip anyway"
        )
    return total


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor, foreach=None) -> None:
    """Scale the gradients of ``parameters`` in place by ``max_norm / (total_norm + 1e-6)`` when that
    is below 1 (``total_norm`` from ``get_total_norm``)."""
    grads = _grads(parameters)
    with no_grad():
        scale = (max_norm / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.to(g.device, g.dtype))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Scale all gradients together so that their total ``norm_type``-norm (``get_total_norm``) is at
    most ``max_norm``; returns the total norm before clipping."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    total = get_total_norm(_grads(params), norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    """Deprecated alias of :func:`clip_grad_norm_` (warns, as PyTorch)."""
    warnings.warn("lucid.nn.utils.clip_grad_norm is now deprecated in favor of lucid.nn.utils.clip_grad_norm_.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)
