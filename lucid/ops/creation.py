"""Factories: new tensors from a shape (zeros, ones, full, empty, eye, arange, linspace,
the ``*_like`` forms) and random ones (rand, randn, randint, normal, uniform, ...)."""

from __future__ import annotations

from .. import dtypes as _dt
from .._backend.device import device as _device
from .._tensor import Tensor


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _place(dtype, device, default=None):
    dev = _device(device)
    dt = _dt.to_dtype(dtype) if dtype is not None else (default or _dt.get_default_dtype())
    return dev, dt


def _finish(array, dev, requires_grad):
    t = Tensor._make(array, dev)
    return t.requires_grad_(True) if requires_grad else t


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from it when not given)."""
    if dtype is None:
        dtype = _dt.bool_ if isinstance(fill_value, bool) else _dt.int64 if isinstance(fill_value, int) else None
    dev, dt = _place(dtype, device)
    arr = dev.xp.full(_shape((size,)) if isinstance(size, int) else _shape(size), fill_value,
                      dtype=dev.backend.native_dtype(dt), device=dev.native)
    return _finish(arr, dev, requires_grad)


def _constant(fill):
    def make(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        dev, dt = _place(dtype, device)
        xp = dev.xp
        fn = xp.zeros if fill == 0 else xp.ones if fill == 1 else xp.empty
        return _finish(fn(_shape(size), dtype=dev.backend.native_dtype(dt), device=dev.native), dev, requires_grad)

    return make


zeros, ones, empty = _constant(0), _constant(1), _constant(None)
zeros.__name__, ones.__name__, empty.__name__ = "zeros", "ones", "empty"
zeros.__doc__ = "A tensor of zeros with the given size (default dtype float32)."
ones.__doc__ = "A tensor of ones with the given size (default dtype float32)."
empty.__doc__ = "An uninitialised tensor with the given size."


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The ``n x m`` identity matrix."""
    dev, dt = _place(dtype, device)
    arr = dev.xp.eye(n, m, dtype=dev.backend.native_dtype(dt), device=dev.native)
    return _finish(arr, dev, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless a bound is a float."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = _dt.int64 if all(isinstance(v, int) for v in (start, end, step)) else None
    dev, dt = _place(dtype, device)
    arr = dev.xp.arange(start, end, step, dtype=dev.backend.native_dtype(dt), device=dev.native)
    return _finish(arr, dev, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    dev, dt = _place(dtype, device)
    arr = dev.xp.linspace(start, end, steps, dtype=dev.backend.native_dtype(dt), device=dev.native)
    return _finish(arr, dev, requires_grad)


def _like_kwargs(x, dtype, device):
    return {"dtype": dtype if dtype is not None else x.dtype, "device": device if device is not None else x.device}


def zeros_like(x: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and, unless given, dtype and device) of ``x``."""
    return zeros(x.shape, **_like_kwargs(x, dtype, device), requires_grad=requires_grad)


def ones_like(x: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and, unless given, dtype and device) of ``x``."""
    return ones(x.shape, **_like_kwargs(x, dtype, device), requires_grad=requires_grad)


def empty_like(x: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor with the shape (and dtype, device) of ``x``."""
    return empty(x.shape, **_like_kwargs(x, dtype, device), requires_grad=requires_grad)


def full_like(x: Tensor, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere, with the shape (and dtype, device) of ``x``."""
    return full(x.shape, fill_value, **_like_kwargs(x, dtype, device), requires_grad=requires_grad)


# ---- random -------------------------------------------------------------------------
def _random(kind, size, dtype, device, requires_grad, default=None, **params):
    dev, dt = _place(dtype, device, default)
    if kind != "integers" and dt.kind != "f":
        raise TypeError(f"{kind} random numbers need a floating dtype, got {dt.name}")
    arr = dev.backend.random(kind, size, dt, dev.index or 0, **params)
    return _finish(arr, dev, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform random numbers in [0, 1)."""
    return _random("uniform", _shape(size), dtype, device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal random numbers."""
    return _random("normal", _shape(size), dtype, device, requires_grad)


def uniform(low=0.0, high=1.0, size=(), *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform random numbers in [low, high)."""
    return _random("uniform", _shape((size,)) if isinstance(size, int) else _shape(size), dtype, device,
                   requires_grad, low=low, high=high)


def normal(mean=0.0, std=1.0, size=(), *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Normal random numbers with ``mean`` and ``std``."""
    if std < 0:
        raise ValueError(f"normal needs std >= 0, got {std}")
    return _random("normal", _shape((size,)) if isinstance(size, int) else _shape(size), dtype, device,
                   requires_grad, mean=mean, std=std)


def randint(low, high=None, size=(), *, dtype=None, device=None) -> Tensor:
    """Random integers in [low, high) (``randint(high, size)`` starts at 0); int64 by default."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint needs low < high, got low={low}, high={high}")
    return _random("integers", _shape((size,)) if isinstance(size, int) else _shape(size), dtype, device,
                   False, default=_dt.int64, low=low, high=high)


def randperm(n: int, *, dtype=None, device=None) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64)."""
    dev, dt = _place(dtype, device, _dt.int64)
    return _finish(dev.backend.random("permutation", (n,), dt, dev.index or 0, n=n), dev, False)


def rand_like(x: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) random numbers with the shape (and, unless given, dtype and device) of ``x``."""
    return rand(x.shape, **_like_kwargs(x, dtype, device), requires_grad=requires_grad)


def randn_like(x: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal random numbers with the shape (and dtype, device) of ``x``."""
    return randn(x.shape, **_like_kwargs(x, dtype, device), requires_grad=requires_grad)


__all__ = [
    "full", "zeros", "ones", "empty", "eye", "arange", "linspace", "zeros_like", "ones_like", "empty_like",
    "full_like", "rand", "randn", "uniform", "normal", "randint", "randperm", "rand_like", "randn_like",
]
