"""PyTorch's questions about a tensor (``nelement``, ``stride``, ``is_contiguous``, ``is_signed``,
``get_device`` ...), its ``new_*`` factories (and the legacy ``new``), which make a tensor on the same device with
the same dtype unless told otherwise, ``positive``, ``detach_`` and the element-by-element Python callbacks
``apply_``/``map_``/``map2_``. Nothing here is differentiable except ``type_as`` (a cast) and ``positive``."""

from __future__ import annotations

import numbers

from .. import _typeinfo
from .. import dtypes as _dt
from .._tensor import Size, Tensor, tensor
from . import creation


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a lucid Tensor (a Parameter or Buffer counts)."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """The number of elements of ``input``."""
    return input.numel()


def detach(input: Tensor) -> Tensor:
    """``input.detach()``: the same storage, cut from the graph."""
    return input.detach()


def is_floating_point(input: Tensor) -> bool:
    """Whether ``input`` has a floating dtype."""
    return input.is_floating_point()


def is_signed(input: Tensor) -> bool:
    """Whether ``input``'s dtype holds negative numbers (false for bool and the unsigned dtypes)."""
    return input.dtype.kind in "if"


def is_nonzero(input: Tensor) -> bool:
    """The truth of a one-element tensor; a RuntimeError for any other number of elements (as PyTorch)."""
    if input.numel() != 1:
        raise RuntimeError(f"is_nonzero: a tensor with {input.numel()} elements has no single truth value; "
                           f"it needs exactly one element")
    return bool(input.item())


def is_same_size(input: Tensor, other: Tensor) -> bool:
    """Whether ``input`` and ``other`` have the same shape."""
    return input.shape == other.shape


def scalar_tensor(s, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A 0-d tensor of ``s`` (default float dtype whatever ``s`` is, as ``torch.scalar_tensor``)."""
    return tensor(s, dtype=_dt.get_default_dtype() if dtype is None else dtype, device=device,
                  requires_grad=requires_grad)


def nelement(x: Tensor) -> int:
    """``numel()``'s other name."""
    return x.numel()


def ndimension(x: Tensor) -> int:
    """``dim()``'s other name."""
    return x.ndim


def _c_strides(shape) -> tuple:
    strides, step = [], 1
    for s in reversed(shape):
        strides.append(step)
        step *= max(s, 1)
    return tuple(reversed(strides))


def stride(x: Tensor, dim: int | None = None):
    """Element steps between neighbours along each dimension (``stride(dim)``: one of them), read from the
    backend's array; a backend that hides strides (array-api-strict) is C-contiguous by construction."""
    native = getattr(x._data, "strides", None)
    steps = _c_strides(x.shape) if native is None else tuple(s // x.dtype.itemsize for s in native)
    return steps if dim is None else steps[dim]


def is_contiguous(x: Tensor, memory_format=None) -> bool:
    """Whether ``x``'s elements lie in row-major order without gaps (dimensions of size 1 do not count; an
    empty tensor is contiguous)."""
    steps = zip(x.shape, stride(x), _c_strides(x.shape))
    return x.numel() == 0 or all(size == 1 or got == want for size, got, want in steps)


def get_device(input: Tensor) -> int:
    """The CUDA device index of ``input``, -1 for a CPU tensor (as PyTorch)."""
    return -1 if input.device.type == "cpu" else (input.device.index or 0)


def dim_order(x: Tensor) -> tuple:
    """The dimensions from outermost to innermost in memory (``(0, 1, ..., n-1)`` for a row-major tensor)."""
    steps = stride(x)
    return tuple(sorted(range(x.ndim), key=lambda d: -steps[d]))


def data_ptr(x: Tensor) -> int:
    """The address of ``x``'s first element (host or GPU memory), from the backend's array interface."""
    interface = getattr(x._data, "__array_interface__", None) or getattr(x._data, "__cuda_array_interface__", None)
    if interface is None:
        raise RuntimeError(f"data_ptr: the {x.device.type} backend does not expose memory addresses")
    return interface["data"][0]


def is_set_to(x: Tensor, tensor: Tensor) -> bool:
    """Whether ``x`` and ``tensor`` view the same memory the same way (device, address, sizes and strides), as
    PyTorch's; needs a backend that exposes addresses, as ``data_ptr``."""
    return (x.device == tensor.device and x.shape == tensor.shape and stride(x) == stride(tensor)
            and data_ptr(x) == data_ptr(tensor))


def _new(make):
    def method(x: Tensor, *size, dtype=None, device=None, requires_grad: bool = False, **extra):
        if make is creation.full:
            size, extra = (size[0],), {"fill_value": size[1] if len(size) > 1 else extra.pop("fill_value")}
        extra.pop("layout", None), extra.pop("pin_memory", None)
        return make(*size, dtype=x.dtype if dtype is None else dtype, device=x.device if device is None else device,
                    requires_grad=requires_grad, **extra)

    method.__name__ = method.__qualname__ = f"new_{make.__name__}"
    method.__doc__ = f"``lucid.{make.__name__}`` with this tensor's dtype and device unless given."
    return method


def new_tensor(x: Tensor, data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A copy of ``data`` with this tensor's dtype and device unless given (as ``Tensor.new_tensor``)."""
    return tensor(data, dtype=x.dtype if dtype is None else dtype, device=x.device if device is None else device,
                  requires_grad=requires_grad)


def new_empty_strided(x: Tensor, size, stride, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``new_empty(size)``: lucid lays tensors out row-major whatever ``stride`` asks."""
    return creation.empty(size, dtype=x.dtype if dtype is None else dtype,
                          device=x.device if device is None else device, requires_grad=requires_grad)


def new(x: Tensor, *args, device=None) -> Tensor:
    """PyTorch's legacy constructor, with ``x``'s dtype and device (``device=`` may change the latter): ``x.new()``
    an empty 1-d tensor, ``x.new(2, 3)`` or ``x.new(lucid.Size([2, 3]))`` an uninitialised one of that shape,
    ``x.new(sequence)`` the data cast to ``x``'s dtype (a tuple is data too, as in PyTorch), ``x.new(tensor)`` that
    tensor's storage (its dtype must be ``x``'s). ``dtype=`` and ``requires_grad=`` are refused, as in PyTorch."""
    device = x.device if device is None else device
    if not args:
        return creation.empty(0, dtype=x.dtype, device=device)
    if len(args) == 1 and isinstance(args[0], Tensor):
        other = args[0]
        if other.dtype is not x.dtype:
            raise TypeError(f"new(): expected a tensor of dtype lucid.{x.dtype.name} (this tensor's), got "
                            f"lucid.{other.dtype.name}; use other.to(x.dtype) or x.new_tensor(other)")
        return other.detach()
    size = args[0] if len(args) == 1 and isinstance(args[0], Size) else args
    if all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in size):
        return creation.empty(*size, dtype=x.dtype, device=device)
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return tensor(args[0], dtype=x.dtype, device=device)
    if len(args) == 1:
        raise TypeError(f"new(): data must be a sequence (got {type(args[0]).__name__})")
    raise TypeError(f"new() takes sizes (ints), one lucid.Size, one sequence of data or one tensor, got "
                    f"({', '.join(type(a).__name__ for a in args)})")


def positive(input: Tensor) -> Tensor:
    """``input`` itself, as ``torch.positive`` and unary ``+``; a bool tensor raises, as in PyTorch."""
    if input.dtype is _dt.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def detach_(input: Tensor) -> Tensor:
    """``input.detach_()``: cut ``input`` from the graph in place (PyTorch's top-level ``torch.detach_``)."""
    return input.detach_()


_PYTHON_TYPES = {"b": bool, "i": int, "u": int, "f": float, "c": complex}


def _host_map(x: Tensor, name: str, fn, *others: Tensor) -> Tensor:
    """Replace each element of ``x`` by ``fn(element, *the elements of others at that place)``: the Python callback
    runs on the host, one element at a time, with Python numbers, and its results are cast to ``x``'s dtype.
    ``others`` broadcast to ``x``'s shape and must have its dtype, as in PyTorch. PyTorch runs these on the CPU
    only; lucid also on a device, by copying to the host and back (lucid's choice: the callback is Python anyway)."""
    if x.requires_grad:
        raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use var.detach().{name}() instead.")
    for other in others:
        if other.dtype is not x.dtype:
            raise TypeError(f"{name}: expected lucid.{x.dtype.name} for 'other' (got lucid.{other.dtype.name})")
    columns = [t.expand(x.shape).reshape(-1).tolist() for t in (x, *others)]
    cast = _PYTHON_TYPES[x.dtype.kind]
    results = []
    for values in zip(*columns):
        value = fn(*values)
        if not isinstance(value, numbers.Number):
            raise TypeError(f"{name}: the callable must return a number, not {type(value).__name__}")
        results.append(cast(value))
    return x.copy_(tensor(results, dtype=x.dtype, device=x.device).reshape(x.shape))


def apply_(x: Tensor, callable) -> Tensor:
    """Apply ``callable`` to each element in place (a Python number in, a number out); see :func:`_host_map`."""
    return _host_map(x, "apply_", callable)


def map_(x: Tensor, other: Tensor, callable) -> Tensor:
    """``x[i] = callable(x[i], other[i])`` in place, ``other`` broadcast to ``x``'s shape; see :func:`_host_map`."""
    return _host_map(x, "map_", callable, other)


def map2_(self: Tensor, x: Tensor, y: Tensor, callable) -> Tensor:
    """``self[i] = callable(self[i], x[i], y[i])`` in place; see :func:`_host_map`."""
    return _host_map(self, "map2_", callable, x, y)


def type_as(x: Tensor, other: Tensor) -> Tensor:
    """``x`` cast to ``other``'s dtype (differentiable between floating dtypes)."""
    return x.to(other.dtype)


def is_distributed(input: Tensor) -> bool:
    """False: a lucid tensor lives on one device (``lucid.distributed`` moves copies between processes)."""
    return False


__all__ = ["is_tensor", "numel", "detach", "is_floating_point", "is_signed", "is_nonzero", "is_same_size",
           "scalar_tensor", "get_device", "is_distributed", "positive", "detach_"]
METHODS = {
    "nelement": nelement, "ndimension": ndimension, "stride": stride, "is_contiguous": is_contiguous,
    "get_device": get_device, "is_distributed": is_distributed,
    "is_signed": is_signed, "is_nonzero": is_nonzero, "is_same_size": is_same_size,
    "dim_order": dim_order, "data_ptr": data_ptr, "const_data_ptr": data_ptr, "is_set_to": is_set_to,
    "is_meta": property(lambda x: False, doc="False: lucid has no meta (data-less) tensors."),
    "new_tensor": new_tensor, "new_empty_strided": new_empty_strided, "type_as": type_as, "new": new,
    "positive": positive, "__pos__": positive, "apply_": apply_, "map_": map_, "map2_": map2_,
    "is_cpu": property(lambda x: x.device.type == "cpu", doc="Whether the tensor is on the CPU."),
    "itemsize": property(lambda x: x.dtype.itemsize, doc="Bytes per element."),
    "layout": property(lambda x: _typeinfo.strided, doc="``lucid.strided``: lucid's tensors are dense."),
    **{f"new_{m.__name__}": _new(m) for m in (creation.zeros, creation.ones, creation.empty, creation.full)},
}
