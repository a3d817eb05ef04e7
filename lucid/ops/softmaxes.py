"""Softmax and log-softmax along one dimension, each one fused op (the backend's kernel, see
:mod:`lucid._backend.fused`) with a hand-written backward.

Both subtract the max before ``exp`` so extreme logits (±1e4) stay finite. Backward is written
in lucid ops on the saved output, so double backward works. As PyTorch: a slice of all ``-inf`` (or
one holding ``+inf``) gives nan silently, and a zero-length dimension gives an empty result.
"""

from __future__ import annotations

from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.function import FLOAT32, Function
from . import _axes

__all__ = ["softmax", "log_softmax"]


class _Normalized(Function):
    """Shared by both: the forward is the backend's fused ``kernel`` along ``axis``; the backward its
    fused ``grad_kernel`` on arrays, or with ``create_graph`` the ``differentiable`` form in lucid ops."""

    def forward(self, x, axis):
        self.axis = axis
        y = getattr(self.backend, self.kernel)(x, axis)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        (y,) = self.saved_tensors
        if grad_mode.is_grad_enabled():  # create_graph: in lucid ops, so that it is differentiable again
            return self.differentiable(y, g, self.axis)
        return Tensor._make(getattr(self.backend, self.grad_kernel)(y._data, g._data, self.axis), g._device)


class SoftmaxFunction(_Normalized):
    """``y = exp(x - max) / sum(exp(x - max))``; backward ``y * (g - sum(g * y))``."""
    autocast_policy = {"cuda": FLOAT32}  # see lucid.amp.autocast
    kernel, grad_kernel = "softmax", "softmax_grad"

    @staticmethod
    def differentiable(y, g, axis):
        return y * (g - (g * y).sum(dim=axis, keepdim=True))


class LogSoftmaxFunction(_Normalized):
    """``y = (x - max) - log(sum(exp(x - max)))``; backward ``g - exp(y) * sum(g)``."""
    autocast_policy = {"cuda": FLOAT32}  # see lucid.amp.autocast
    kernel, grad_kernel = "log_softmax", "log_softmax_grad"

    @staticmethod
    def differentiable(y, g, axis):
        return g - y.exp() * g.sum(dim=axis, keepdim=True)


def _prepare(fn, name: str, x: Tensor, dim, axis, dtype):
    """Validate the arguments and run ``fn`` along the single requested axis (``name`` is for errors)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} expects a Tensor, got {type(x).__name__}; wrap it first: lucid.tensor(...)")
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind != "f":
        raise TypeError(
            f"{name} needs a floating tensor, got {x.dtype.name}; pass dtype= or cast first"
        )
    d = _axes.pick(dim, axis)
    if d is None:
        d = -1
    if isinstance(d, bool) or not isinstance(d, int):
        raise TypeError(f"{name} works along one dimension and needs dim to be an int, got {d!r}")
    ax = _axes.normalize(d, x.ndim)[0]
    return fn.apply(x, axis=ax if x.ndim else None)


def softmax(input: Tensor, dim=None, dtype=None, *, axis=None) -> Tensor:
    """Softmax along ``dim``, numerically stable. ``dim=None`` means the last dimension (PyTorch's
    implicit-dim rule is deprecated; lucid always takes -1). ``dtype`` casts the input first."""
    return _prepare(SoftmaxFunction, "softmax", input, dim, axis, dtype)


def log_softmax(input: Tensor, dim=None, dtype=None, *, axis=None) -> Tensor:
    """``log(softmax(input))`` along ``dim`` computed directly (finite for any finite logits). ``dim=None``
    means the last dimension; ``dtype`` casts the input first."""
    return _prepare(LogSoftmaxFunction, "logsoftmax", input, dim, axis, dtype)


METHODS = {"softmax": softmax, "log_softmax": log_softmax}
