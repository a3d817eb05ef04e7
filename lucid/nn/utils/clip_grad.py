"""Gradient clipping, in place on the parameters' ``.grad`` (as ``torch.nn.utils``)."""

from __future__ import annotations

import math

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...ops.creation import zeros
from ...ops.linalg import vector_norm
from ...ops.shape import stack

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Scale all gradients together so that their total ``norm_type``-norm (the norm of the
    per-tensor norms; ``inf`` for the largest magnitude) is at most ``max_norm``; returns the total
    norm before clipping. Grads on several devices are measured each on its own device and
    combined on the first one's. ``foreach`` is accepted for compatibility."""
    grads = _grads(parameters)
    if not grads:
        return zeros(())
    norm_type = float(norm_type)
    first = grads[0]
    with no_grad():
        norms = [vector_norm(g, norm_type).to(first.device, first.dtype) for g in grads]
        total = vector_norm(stack(norms), norm_type)
        if error_if_nonfinite and not math.isfinite(total.item()):
            raise RuntimeError(
                f"the total norm of order {norm_type} of the gradients is non-finite ({total.item()}), so it "
                f"cannot be clipped; pass error_if_nonfinite=False to clip anyway"
            )
        scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.to(g.device, g.dtype))
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)
