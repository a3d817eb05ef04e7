"""``max_unpool1/2/3d`` (the partial inverse of max pooling) and the ``*_with_indices`` forms of the
max pools, as ``torch.nn.functional``."""

from __future__ import annotations

import math

from ..._tensor import Tensor
from ...ops.creation import zeros
from .conv import batched, ntuple
from .pooling import (
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)

__all__ = [
    "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
]


def _unpool_size(nd, x, kernel_size, stride, padding, output_size, name) -> tuple:
    """The spatial output size: ``(in - 1) * stride - 2 * padding + kernel``, or ``output_size`` (its last
    ``nd`` entries) when given, which must lie within one stride of that."""
    kernel = ntuple(kernel_size, nd, f"{name}: kernel_size", 1)
    stride = kernel if stride is None else ntuple(stride, nd, f"{name}: stride", 1)
    padding = ntuple(padding, nd, f"{name}: padding")
    default = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(x.shape[2:], stride, padding, kernel))
    if output_size is None:
        return default
    size = tuple(int(n) for n in output_size)
    if len(size) == nd + 2:
        size = size[2:]
    if len(size) != nd:
        raise ValueError(f"{name}: output_size must have {nd} or {nd + 2} entries, got {tuple(output_size)}")
    for n, d, s in zip(size, default, stride):
        if not d - s < n < d + s:
            raise ValueError(f"{name}: output_size {size} is not within one stride {stride} of the default {default}")
    return size


def _max_unpool(nd, input, indices, kernel_size, stride, padding, output_size):
    name = f"max_unpool{nd}d"
    x, was_batched = batched(input, nd, name)
    if not isinstance(indices, Tensor) or tuple(indices.shape) != tuple(input.shape):
        raise ValueError(f"{name}: indices must be a Tensor of the input's shape {tuple(input.shape)}, got "
                         f"{getattr(indices, 'shape', type(indices).__name__)}")
    index = indices if was_batched else indices.unsqueeze(0)
    size = _unpool_size(nd, x, kernel_size, stride, padding, output_size, name)
    n, c = x.shape[:2]
    out = zeros((n, c, math.prod(size)), dtype=x.dtype, device=x.device)
    out = out.scatter(2, index.reshape(n, c, -1), x.reshape(n, c, -1)).reshape((n, c) + size)
    return out if was_batched else out.squeeze(0)


def _max_unpool_fn(nd):
    def max_unpool(input, indices, kernel_size, stride=None, padding=0, output_size=None):
        return _max_unpool(nd, input, indices, kernel_size, stride, padding, output_size)

    max_unpool.__name__ = max_unpool.__qualname__ = f"max_unpool{nd}d"
    max_unpool.__doc__ = (
        f"The partial inverse of ``max_pool{nd}d``: each value of ``input`` goes to its flat position in "
        f"``indices`` (``return_indices=True`` of the pool) of a zero output; the gradient is read back there."
    )
    return max_unpool


def _with_indices(pool):
    def with_indices(*args, **kwargs):
        kwargs["return_indices"] = True
        return pool(*args, **kwargs)

    with_indices.__name__ = with_indices.__qualname__ = f"{pool.__name__}_with_indices"
    with_indices.__doc__ = f"``{pool.__name__}(..., return_indices=True)``: the output and the int64 positions."
    return with_indices


max_unpool1d, max_unpool2d, max_unpool3d = (_max_unpool_fn(d) for d in (1, 2, 3))
max_pool1d_with_indices, max_pool2d_with_indices, max_pool3d_with_indices = (
    _with_indices(p) for p in (max_pool1d, max_pool2d, max_pool3d))
adaptive_max_pool1d_with_indices, adaptive_max_pool2d_with_indices, adaptive_max_pool3d_with_indices = (
    _with_indices(p) for p in (adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d))
