"""Finite differences and integrals along one dimension: ``diff``, ``gradient``, ``trapezoid`` (``trapz``)
and ``cumulative_trapezoid``. All are composites of slicing and arithmetic (differentiable to any order).
"""

from __future__ import annotations

import numbers

from .. import dtypes as _dt
from .._tensor import Tensor
from .shape import _dim, cat

__all__ = ["diff", "gradient", "trapezoid", "trapz", "cumulative_trapezoid"]


def _part(x: Tensor, axis: int, start=None, stop=None) -> Tensor:
    """``x[start:stop]`` along ``axis`` (a view)."""
    return x[(slice(None),) * axis + (slice(start, stop),)]


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``x[i+1] - x[i]``, repeated), after joining
    ``prepend``/``append`` at the ends; bool tensors give ``x[i+1] != x[i]``, as PyTorch."""
    if not isinstance(input, Tensor):
        raise TypeError(f"diff(): input must be a Tensor, got {type(input).__name__}")
    if input.ndim == 0:
        raise RuntimeError("diff(): expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"diff(): order must be non-negative, got {n}")
    axis = _dim(dim, input.ndim, "diff")
    parts = []
    for name, extra in (("prepend", prepend), ("append", append)):
        if extra is None:
            parts.append(None)
            continue
        if not isinstance(extra, Tensor):
            extra = Tensor(extra, dtype=input.dtype, device=input._device)
        if extra.ndim == 0:
            extra = extra.expand(tuple(1 if i == axis else m for i, m in enumerate(input.shape)))
        if extra.ndim != input.ndim or any(a != b for i, (a, b) in enumerate(zip(extra.shape, input.shape))
                                           if i != axis):
            raise RuntimeError(f"diff(): {name} of shape {extra.shape} must match the input's shape "
                               f"{input.shape} except in dimension {axis}")
        parts.append(extra)
    x = cat([t for t in (parts[0], input, parts[1]) if t is not None], axis) if any(
        p is not None for p in parts) else input
    for _ in range(n):
        if x.shape[axis] == 0:
            break
        later, earlier = _part(x, axis, 1), _part(x, axis, None, -1)
        x = (later != earlier) if x.dtype is _dt.bool_ else later - earlier
    return x


def _spacings(spacing, dims, x: Tensor):
    """One spacing per differentiated dim: a number or a 1-D coordinate tensor."""
    if isinstance(spacing, numbers.Number) or (isinstance(spacing, Tensor) and spacing.ndim == 0):
        spacing = [spacing] * len(dims)
    spacing = list(spacing)
    if len(spacing) == 1 and len(dims) > 1:
        spacing = spacing * len(dims)
    if len(spacing) != len(dims):
        raise RuntimeError(f"gradient(): expected spacing to be a number or a list of {len(dims)} entries, got "
                           f"{len(spacing)}")
    out = []
    for s, d in zip(spacing, dims):
        if isinstance(s, Tensor) and s.ndim == 1:
            if s.shape[0] != x.shape[d]:
                raise RuntimeError(f"gradient(): the coordinates for dimension {d} have {s.shape[0]} entries but "
                                   f"the dimension has size {x.shape[d]}")
            out.append(s.to(x.dtype))
        else:
            out.append(float(s.item() if isinstance(s, Tensor) else s))
    return out


def _along(c: Tensor, axis: int, ndim: int) -> Tensor:
    """A 1-D tensor along ``axis`` of an ``ndim``-dimensional tensor (for broadcasting)."""
    return c.reshape(tuple(-1 if i == axis else 1 for i in range(ndim)))


def _gradient_1d(f: Tensor, axis: int, h, edge_order: int) -> Tensor:
    nd = f.ndim
    at = (lambda a, b=None: _part(f, axis, a, b))
    if isinstance(h, Tensor):  # coordinates: second-order accurate inside, as NumPy and PyTorch
        dx = h[1:] - h[:-1]
        hl, hr = _along(dx[:-1], axis, nd), _along(dx[1:], axis, nd)
        inner = (at(None, -2) * (-hr / (hl * (hl + hr))) + at(1, -1) * ((hr - hl) / (hl * hr))
                 + at(2) * (hl / (hr * (hl + hr))))
        if edge_order == 1:
            first = (at(1, 2) - at(0, 1)) / dx[0]
            last = (at(-1) - at(-2, -1)) / dx[-1]
        else:
            a, b = dx[0], dx[1]
            first = (at(0, 1) * (-(2 * a + b) / (a * (a + b))) + at(1, 2) * ((a + b) / (a * b))
                     + at(2, 3) * (-a / (b * (a + b))))
            a, b = dx[-2], dx[-1]
            last = (at(-3, -2) * (b / (a * (a + b))) + at(-2, -1) * (-(a + b) / (a * b))
                    + at(-1) * ((a + 2 * b) / (b * (a + b))))
    else:
        inner = (at(2) - at(None, -2)) / (2 * h)
        if edge_order == 1:
            first = (at(1, 2) - at(0, 1)) / h
            last = (at(-1) - at(-2, -1)) / h
        else:
            first = (at(0, 1) * -1.5 + at(1, 2) * 2 - at(2, 3) * 0.5) / h
            last = (at(-3, -2) * 0.5 - at(-2, -1) * 2 + at(-1) * 1.5) / h
    return cat([first, inner, last], axis)


def gradient(input: Tensor, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """The derivative estimated by central differences along each dim in ``dim`` (all when None): one
    tensor per dim. ``spacing`` is a number (None: 1), a list of numbers, or a list of 1-D coordinate tensors;
    the edges use one-sided differences of order ``edge_order`` (1 or 2), as PyTorch and NumPy."""
    if not isinstance(input, Tensor):
        raise TypeError(f"gradient(): input must be a Tensor, got {type(input).__name__}")
    if edge_order not in (1, 2):
        raise RuntimeError(f"gradient(): edge_order must be 1 or 2, got {edge_order}")
    if dim is None:
        dims = list(range(input.ndim))
    else:
        dims = [_dim(d, input.ndim, "gradient") for d in ((dim,) if isinstance(dim, int) else dim)]
    f = input if input.dtype.kind == "f" else input.to(_dt.get_default_dtype())
    out = []
    for d, h in zip(dims, _spacings(1 if spacing is None else spacing, dims, f)):
        if f.shape[d] < edge_order + 1:
            raise RuntimeError(f"gradient(): each differentiated dimension needs at least edge_order + 1 = "
                               f"{edge_order + 1} points, dimension {d} of shape {input.shape} has {f.shape[d]}")
        out.append(_gradient_1d(f, d, h, edge_order))
    return tuple(out)


def _widths_and_means(y: Tensor, x, dx, axis: int):
    """The interval widths (a number or a tensor along ``axis``) and the means of neighbouring ``y``."""
    means = (_part(y, axis, 1) + _part(y, axis, None, -1)) / 2
    if x is None:
        return (1 if dx is None else dx), means
    if dx is not None:
        raise RuntimeError("trapezoid(): pass x or dx, not both")
    if not isinstance(x, Tensor):
        return x, means  # a number: the spacing, as PyTorch's trapezoid(y, 0.5)
    widths = x[1:] - x[:-1] if x.ndim == 1 else _part(x, axis, 1) - _part(x, axis, None, -1)
    if x.ndim == 1:
        if x.shape[0] != y.shape[axis]:
            raise RuntimeError(f"trapezoid(): x has {x.shape[0]} points but dimension {axis} of y has "
                               f"{y.shape[axis]}")
        widths = _along(widths, axis, y.ndim)
    return widths, means


def _floating(y: Tensor, name: str) -> Tensor:
    if not isinstance(y, Tensor):
        raise TypeError(f"{name}(): y must be a Tensor, got {type(y).__name__}")
    if y.ndim == 0:
        raise RuntimeError(f"{name}(): y must have at least one dimension")
    return y if y.dtype.kind == "f" else y.to(_dt.get_default_dtype())


def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The integral of ``y`` along ``dim`` by the trapezoidal rule, at points ``x`` (a 1-D tensor, or a
    tensor shaped as ``y``) or evenly ``dx`` (default 1) apart."""
    y = _floating(y, "trapezoid")
    axis = _dim(dim, y.ndim, "trapezoid")
    widths, means = _widths_and_means(y, x, dx, axis)
    return (means * widths).sum(axis)


def trapz(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """PyTorch's older name for ``trapezoid``."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The running trapezoidal integral of ``y`` along ``dim`` (one element fewer than ``y`` there)."""
    y = _floating(y, "cumulative_trapezoid")
    axis = _dim(dim, y.ndim, "cumulative_trapezoid")
    widths, means = _widths_and_means(y, x, dx, axis)
    return (means * widths).cumsum(axis)


METHODS = {"diff": diff}
