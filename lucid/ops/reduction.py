"""Reductions. Every one takes ``dim=`` or ``axis=`` and ``keepdim=`` or ``keepdims=``."""

from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor
from . import _axes

__all__ = ["sum", "mean"]


class Sum(Function):
    def forward(self, x, axes, keepdims):
        self.in_shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return self.xp.sum(x, axis=axes, keepdims=keepdims)

    def backward(self, g):
        if not self.keepdims:
            g = _axes.expand_reduced(g, self.in_shape, self.axes)
        return g.expand(self.in_shape)


def sum(x: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False, dtype=None) -> Tensor:
    """Sum over ``dim`` (all axes when None)."""
    axes = _axes.normalize(_axes.pick(dim, axis), x.ndim)
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype.kind in "bu" or (x.dtype.kind == "i" and x.dtype.itemsize < 8):
        x = x.to("int64")  # as PyTorch: integer sums accumulate in int64
    return Sum.apply(x, axes=axes, keepdims=_axes.keep(keepdim, keepdims))


def mean(x: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False, dtype=None) -> Tensor:
    """Arithmetic mean over ``dim`` (floating tensors only, as in PyTorch)."""
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind != "f":
        raise TypeError(f"mean needs a floating tensor, got {x.dtype.name}; pass dtype= or cast first")
    axes = _axes.normalize(_axes.pick(dim, axis), x.ndim)
    count = 1
    for a in axes:
        count *= x.shape[a]
    return Sum.apply(x, axes=axes, keepdims=_axes.keep(keepdim, keepdims)) / count


# Tensor methods this module provides (name -> function taking the tensor first)
METHODS = {"sum": sum, "mean": mean}
