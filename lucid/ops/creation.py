"""Factories: new tensors from a shape (zeros, ones, full, empty, eye, arange, linspace,
the ``*_like`` forms); random ones are in :mod:`lucid.ops.sampling`.

PyTorch's memory keywords are taken and checked: ``layout`` must be ``lucid.strided``, ``memory_format``
(``empty`` and the ``*_like`` forms) is checked as PyTorch does and leaves the tensor row-major, and
``pin_memory=True`` gives :meth:`Tensor.pin_memory`'s result (the tensor itself where nothing can pin)."""

from __future__ import annotations

import math
import numbers
import operator
import struct

from .. import _typeinfo
from .. import dtypes as _dt
from .._backend.arrays import fused_multiply_add
from .._backend.device import device as _device
from .._tensor import Tensor, fitted


def _count(value, name: str, what: str) -> int:
    """``value`` as a non-negative int (an int, or an integer scalar/tensor: anything with ``__index__``);
    a float, bool or string is a TypeError naming ``what``, a negative number a RuntimeError, as PyTorch."""
    try:
        if isinstance(value, bool):
            raise TypeError
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}(): {what} must be an int, got {type(value).__name__} {value!r}; "
                        f"pass a whole number (e.g. int(n))") from None
    if n < 0:
        raise RuntimeError(f"{name}(): {what} must be >= 0, got {n}")
    return n


def _shape(size, name: str) -> tuple:
    """The sizes given one by one or as one tuple/list, as a tuple of non-negative ints."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(_count(s, name, f"every entry of argument 'size' {tuple(size)!r}") for s in size)


def _size(size, name: str) -> tuple:
    """A ``size=`` argument (one int or a tuple/list of them) as a tuple of non-negative ints."""
    return _shape(size if isinstance(size, (tuple, list)) else (size,), name)


def _place(dtype, device, default=None):
    dev = _device(device)
    dt = _dt.to_dtype(dtype) if dtype is not None else (default or _dt.get_default_dtype())
    return dev, dt


def _finish(array, dev, requires_grad, pin_memory=False):
    t = Tensor._make(array, dev)
    if pin_memory:
        t = t.pin_memory()
    return t.requires_grad_(True) if requires_grad else t


def full(size, fill_value, *, dtype=None, layout=None, device=None, pin_memory: bool = False,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from it when not given: a complex value,
    Python, NumPy or a complex tensor's, gives the default complex dtype, as PyTorch). A complex value fills a
    real dtype only when its imaginary part is 0 (PyTorch's rule; NumPy would drop the part silently)."""
    complex_fill = (isinstance(fill_value, numbers.Complex) and not isinstance(fill_value, numbers.Real)) or (
        isinstance(fill_value, Tensor) and fill_value.dtype.kind == "c")
    if isinstance(fill_value, (str, bytes)) or not (hasattr(fill_value, "__float__") or complex_fill):
        raise TypeError(f"full(): fill_value must be a number, got {type(fill_value).__name__} {fill_value!r}")
    if dtype is None:
        dtype = (_dt.bool_ if isinstance(fill_value, bool) else _dt.int64 if isinstance(fill_value, int)
                 else _dt.get_default_dtype().to_complex() if complex_fill else None)
    dev, dt = _place(dtype, device)
    if complex_fill and dt.kind != "c":
        value = complex(fill_value)
        if value.imag != 0:
            raise TypeError(f"full(): the complex fill value {value} cannot be converted to {dt.name}; pass a complex "
                            f"dtype (lucid.complex64) or the real part (fill_value.real)")
        fill_value = value.real
    if dt.kind in "iu" and not isinstance(fill_value, Tensor):  # as PyTorch: no wrapping but of negatives to unsigned
        fill_value = fitted(fill_value, dt.name)
    _typeinfo.check_strided(layout, "full")
    arr = dev.create("full", _size(size, "full"), fill_value, dtype=dev.backend.native_dtype(dt))
    return _finish(arr, dev, requires_grad, pin_memory)


def _constant(name, memory_formats: bool = False):
    """The factory ``name`` (``zeros``, ``ones``, ``empty``): the namespace function of that name on a shape.
    Only ``empty`` takes ``memory_format=`` (``memory_formats``), as in PyTorch."""

    def make(*sizes, size=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
             requires_grad: bool = False, memory_format=None) -> Tensor:
        if memory_format is not None and not memory_formats:
            raise TypeError(f"{name}() got an unexpected keyword argument 'memory_format'")
        if size is not None:  # PyTorch's keyword form, zeros(size=(2, 3))
            if sizes:
                raise TypeError(f"{name}() got the size both as arguments {sizes} and as size={size!r}; pass one")
            sizes = (size,)
        shape = _shape(sizes, name)
        _typeinfo.check_strided(layout, name)
        _typeinfo.check_memory_format(memory_format, len(shape), name)
        dev, dt = _place(dtype, device)
        return _finish(dev.create(name, shape, dtype=dev.backend.native_dtype(dt)), dev, requires_grad, pin_memory)

    make.__name__ = make.__qualname__ = name
    return make


zeros, ones, empty = _constant("zeros"), _constant("ones"), _constant("empty", memory_formats=True)
empty.__doc__ = "An uninitialised tensor with the given size."
zeros.__doc__ = "A tensor of zeros with the given size (default dtype float32)."
ones.__doc__ = "A tensor of ones with the given size (default dtype float32)."


def eye(n: int, m: int | None = None, *, dtype=None, layout=None, device=None, pin_memory: bool = False,
        requires_grad: bool = False) -> Tensor:
    """The ``n x m`` identity matrix."""
    n, m = _count(n, "eye", "argument 'n'"), None if m is None else _count(m, "eye", "argument 'm'")
    _typeinfo.check_strided(layout, "eye")
    dev, dt = _place(dtype, device)
    arr = dev.create("eye", n, m, dtype=dev.backend.native_dtype(dt))
    return _finish(arr, dev, requires_grad, pin_memory)


def arange(start, end=None, step=1, *, dtype=None, layout=None, device=None, pin_memory: bool = False,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless a bound is a float."""
    if end is None:
        start, end = 0, start
    start, end, step = (_bound(v, name) for v, name in ((start, "start"), (end, "end"), (step, "step")))
    _check_range(start, end, step)
    _typeinfo.check_strided(layout, "arange")
    if dtype is None:
        dtype = _dt.int64 if all(isinstance(v, int) for v in (start, end, step)) else None
    dev, dt = _place(dtype, device)
    arr = dev.create("arange", start, end, step, dtype=dev.backend.native_dtype(dt))
    return _finish(arr, dev, requires_grad, pin_memory)


def _bound(value, name: str):
    """An ``arange`` bound as a Python number: an integer one (a NumPy integer, a 0-d integer tensor such as
    ``lengths.max()``) as an int, so that it counts as one for the int64 result, as in PyTorch; another number
    as a float. A tensor with dimensions is a TypeError, as in PyTorch; bools and strings are left to
    ``_check_range``."""
    if isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, Tensor) and value.ndim != 0:
        raise TypeError(f"arange(): {name} must be a number or a 0-d tensor, got a tensor of shape {value.shape}")
    try:
        return operator.index(value)
    except TypeError:
        return float(value) if hasattr(value, "__float__") else value


def _check_range(start, end, step) -> None:
    """PyTorch's RuntimeErrors for an ``arange`` that would not end, or that runs the wrong way."""
    for name, v in (("start", start), ("end", end), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) and not hasattr(v, "__float__"):
            raise TypeError(f"arange(): {name} must be a number, got {type(v).__name__} {v!r}")
        if not math.isfinite(v):
            raise RuntimeError(f"arange(): {name} must be finite, got {v}")
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange(): the range from start={start} to end={end} runs the other way from step={step}; "
                           f"flip the sign of step or swap start and end")


def linspace(start, end, steps: int, *, dtype=None, layout=None, device=None, pin_memory: bool = False,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    steps = _count(steps, "linspace", "argument 'steps'")
    _typeinfo.check_strided(layout, "linspace")
    dev, dt = _place(dtype, device)
    if (dt in (_dt.float32, _dt.float64) or dt.kind in "iu") and steps > 1 and all(
            isinstance(v, numbers.Real) for v in (start, end)):
        with dev.context():
            arr = _from_both_ends(dev, float(start), float(end), steps, dt)
    else:
        arr = dev.create("linspace", start, end, steps, dtype=dev.backend.native_dtype(dt))
    return _finish(arr, dev, requires_grad, pin_memory)


def _float32(value: float) -> float:
    """``value`` rounded to the nearest float32 (a host number: the bounds and step of ``linspace``); beyond
    float32's range, an infinity, as a cast gives."""
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def _from_both_ends(dev, start: float, end: float, steps: int, dt):
    """PyTorch's float32/float64 ``linspace``, bit for bit: the step taken in the dtype, the first half of the
    values counted up from ``start`` and the rest down from ``end``, each by one fused multiply-add. An integer
    dtype takes its bounds truncated to integers and the float64 values between them truncated toward zero, as
    PyTorch's (``linspace(-2, -3, 50)`` is -2 but for the last)."""
    xp = dev.xp
    index = dev.create("arange", steps, dtype=xp.float64)
    back = (steps - 1) - index
    if dt is not _dt.float32:
        if dt is not _dt.float64:  # an integer dtype: the bounds are cast to it first
            start, end = float(math.trunc(start)), float(math.trunc(end))
        step = (end - start) / (steps - 1)
        up, down = fused_multiply_add(index, step, start), fused_multiply_add(back, -step, end)
    else:  # a float32 product is exact in float64, so one float64 sum rounded to float32 is the float32 FMA
        start, end = _float32(start), _float32(end)  # float32 - and / done in float64 and rounded: exact roundings
        step = _float32(_float32(end - start) / _float32(steps - 1))
        up, down = start + step * index, end - step * back
    return xp.astype(xp.where(index < steps // 2, up, down), dev.backend.native_dtype(dt))


def _like(x, dtype, device, name, layout=None, memory_format=None):
    """``x``'s shape, and the dtype and device arguments: the given ones, else ``x``'s (``layout`` and
    ``memory_format`` checked)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}() expects a Tensor to take the shape of, got {type(x).__name__}; pass a tensor, "
                        f"or call {name.removesuffix('_like')}(size) with the size")
    _typeinfo.check_strided(layout, name)
    _typeinfo.check_memory_format(memory_format, x.ndim, name)
    return x.shape, {"dtype": x.dtype if dtype is None else dtype, "device": x.device if device is None else device}


def zeros_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    """Zeros with the shape (and, unless given, dtype and device) of ``input``."""
    shape, kwargs = _like(input, dtype, device, "zeros_like", layout, memory_format)
    return zeros(shape, **kwargs, requires_grad=requires_grad)


def ones_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    """Ones with the shape (and, unless given, dtype and device) of ``input``."""
    shape, kwargs = _like(input, dtype, device, "ones_like", layout, memory_format)
    return ones(shape, **kwargs, requires_grad=requires_grad)


def empty_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    """An uninitialised tensor with the shape (and dtype, device) of ``input``."""
    shape, kwargs = _like(input, dtype, device, "empty_like", layout, memory_format)
    return empty(shape, **kwargs, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    """``fill_value`` everywhere, with the shape (and dtype, device) of ``input``."""
    shape, kwargs = _like(input, dtype, device, "full_like", layout, memory_format)
    return full(shape, fill_value, **kwargs, requires_grad=requires_grad)


__all__ = [
    "full", "zeros", "ones", "empty", "eye", "arange", "linspace", "zeros_like", "ones_like", "empty_like",
    "full_like",
]
