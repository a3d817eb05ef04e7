"""``max_unpool1/2/3d`` (the partial inverse of max pooling), the ``*_with_indices`` forms of the max
pools and fractional max pooling, as ``torch.nn.functional``."""

from __future__ import annotations

import math

from ..._tensor import Tensor
from ...amp.autocast import autocast_op
from ...autograd.function import FLOAT32, Function
from ...autograd.grad_mode import no_grad
from ...dtypes import int64
from ...ops.creation import arange, full
from ...ops.indexing import Index, _dim_positions
from ...ops.sampling import rand
from ...ops.shape import cat
from .conv import batched, ntuple
from .pooling import (
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    row_major_steps,
    tied_to_input,
)

__all__ = [
    "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
    "fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d_with_indices",
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


class MaxUnpool(Function):
    """A zero array of ``plan``'s shape with the values of ``x`` written at ``plan``'s positions (the last write
    wins at a repeated position); the gradient is ``g`` read back at every position, a repeated one included (as
    PyTorch)."""
    autocast_policy = {"cpu": FLOAT32}  # see lucid.amp.autocast (CPU only, as PyTorch)

    def forward(self, x, plan):
        self.plan = plan
        return plan.write(self.xp.zeros(plan.shape, dtype=x.dtype, device=plan.device.native), x)

    def backward(self, g):
        return Index.apply(g, plan=self.plan)


def _max_unpool(nd, input, indices, kernel_size, stride, padding, output_size):
    name = f"max_unpool{nd}d"
    x, was_batched = batched(input, nd, name)
    if not isinstance(indices, Tensor) or tuple(indices.shape) != tuple(input.shape):
        raise ValueError(f"{name}: indices must be a Tensor of the input's shape {tuple(input.shape)}, got "
                         f"{getattr(indices, 'shape', type(indices).__name__)}")
    index = indices if was_batched else indices.unsqueeze(0)
    size = _unpool_size(nd, x, kernel_size, stride, padding, output_size, name)
    n, c = x.shape[:2]
    planes = x.reshape(n, c, -1)
    plan = _dim_positions(planes.new_empty((n, c, math.prod(size))), 2, index.reshape(n, c, -1), name)
    out = MaxUnpool.apply(planes, plan=plan).reshape((n, c) + size)
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


# ---- fractional max pooling (Graham, 2014) --------------------------------------------------------------------
def _fractional_starts(sample: Tensor, size: int, out: int, kernel: int) -> Tensor:
    """The first input position of each of the ``out`` windows (``(N, C, out)`` int64), PyTorch's pseudo-random
    sequence: ``floor((i + u) * alpha) - floor(u * alpha)`` with ``alpha = (size - kernel) / (out - 1)``,
    the last window ending at the input's end."""
    last = full(sample.shape + (1,), size - kernel, dtype=int64, device=sample.device)
    if out == 1:
        return last
    alpha = (size - kernel) / (out - 1)
    u = sample.unsqueeze(-1)
    i = arange(out - 1, dtype=sample.dtype, device=sample.device)
    starts = ((i + u) * alpha).floor() - (u * alpha).floor()
    return cat([starts.long(), last], dim=-1)


def _fractional_max_pool(nd, input, kernel_size, output_size, output_ratio, return_indices, _random_samples):
    name = f"fractional_max_pool{nd}d"
    x, was_batched = batched(input, nd, name)
    kernel = ntuple(kernel_size, nd, f"{name}: kernel_size", 1)
    spatial = tuple(x.shape[2:])
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"{name}: give output_size or output_ratio")
        ratio = output_ratio if isinstance(output_ratio, (tuple, list)) else (output_ratio,) * nd
        output_size = tuple(int(n * r) for n, r in zip(spatial, ratio))
    out = ntuple(output_size, nd, f"{name}: output_size", 1)
    if any(o + k - 1 > n for o, k, n in zip(out, kernel, spatial)):
        raise RuntimeError(f"{name}: output_size {out} with kernel {kernel} does not fit the input size {spatial}")
    n, c = x.shape[:2]
    samples = (rand(n, c, nd, dtype=x.dtype, device=x.device) if _random_samples is None else _random_samples)
    if tuple(samples.shape) != (n, c, nd):
        raise ValueError(f"{name}: _random_samples must have shape {(n, c, nd)}, got {tuple(samples.shape)}")
    order = (1, 0) if nd == 2 else tuple(range(nd))  # PyTorch: sample 0 is the width's in 2-D, time's in 3-D
    with no_grad():
        flat = 0
        for d, (size, o, k, step) in enumerate(zip(spatial, out, kernel, row_major_steps(spatial))):
            starts = _fractional_starts(samples[:, :, order[d]].detach(), size, o, k)  # (N, C, o)
            pos = starts.unsqueeze(-1) + arange(k, device=x.device)  # (N, C, o, k)
            shape = [n, c] + [1] * (2 * nd)
            shape[2 + d], shape[2 + nd + d] = o, k
            flat = flat + pos.reshape(shape) * step
        flat = flat.reshape(n, c, math.prod(out), math.prod(kernel))
        planes = x.detach().reshape(n, c, -1)
        windows = planes.gather(2, flat.reshape(n, c, -1)).reshape(flat.shape)
        index = flat.gather(3, windows.argmax(dim=3, keepdim=True)).squeeze(3)  # the first maximum, as PyTorch
    y = tied_to_input(x.reshape(n, c, -1).gather(2, index).reshape((n, c) + out), x)
    result = (y, index.reshape((n, c) + out)) if return_indices else y
    if was_batched:
        return result
    return tuple(r.squeeze(0) for r in result) if return_indices else result.squeeze(0)


def _fractional_fn(nd, with_indices: bool):
    def pool(input, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None):
        return _fractional_max_pool(nd, input, kernel_size, output_size, output_ratio,
                                    return_indices or with_indices, _random_samples)

    pool.__name__ = pool.__qualname__ = f"fractional_max_pool{nd}d" + ("_with_indices" if with_indices else "")
    pool.__doc__ = (
        f"{nd}-D fractional max pooling: ``kernel_size`` windows at pseudo-random positions (from ``_random_samples`` "
        f"``(N, C, {nd})`` in [0, 1), drawn when not given) giving ``output_size`` (or ``output_ratio`` of the input)."
    )
    return autocast_op({"cpu": FLOAT32})(pool)


fractional_max_pool2d, fractional_max_pool3d = (_fractional_fn(d, False) for d in (2, 3))
fractional_max_pool2d_with_indices, fractional_max_pool3d_with_indices = (_fractional_fn(d, True) for d in (2, 3))
