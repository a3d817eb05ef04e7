"""Shape ops: views and rearrangements of the same elements."""

from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor

__all__ = ["reshape", "view", "broadcast_to", "expand"]


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


class Reshape(Function):
    def forward(self, x, shape):
        self.in_shape = x.shape
        return self.xp.reshape(x, shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


def reshape(x: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (one entry may be -1)."""
    shape = _shape_arg(shape)
    if shape == x.shape:
        return x
    n, known, unknown = x.numel(), 1, [i for i, s in enumerate(shape) if s == -1]
    for s in shape:
        if s != -1:
            known *= s
    if len(unknown) > 1 or (unknown and (known == 0 or n % known)) or (not unknown and known != n):
        raise RuntimeError(f"shape {shape} is invalid for a tensor of shape {x.shape} ({n} elements)")
    if unknown:
        shape = tuple(n // known if s == -1 else s for s in shape)
    return Reshape.apply(x, shape=shape)


view = reshape


class BroadcastTo(Function):
    def forward(self, x, shape):
        self.in_shape = x.shape
        return self.xp.broadcast_to(x, shape)

    def backward(self, g):
        from .arithmetic import unbroadcast

        return unbroadcast(g, self.in_shape)


def broadcast_to(x: Tensor, *shape) -> Tensor:
    """``x`` broadcast to ``shape`` (a read-only view; -1 keeps a dimension, as ``expand``)."""
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise RuntimeError(f"cannot broadcast a tensor of shape {x.shape} to fewer dimensions {shape}")
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    if shape == x.shape:
        return x
    for i, n in enumerate(x.shape):
        if n != 1 and n != shape[lead + i]:
            raise RuntimeError(f"cannot broadcast a tensor of shape {x.shape} to {shape}")
    return BroadcastTo.apply(x, shape=shape)


expand = broadcast_to


METHODS = {"reshape": reshape, "view": view, "expand": expand, "broadcast_to": broadcast_to}
