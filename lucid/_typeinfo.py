"""Facts about dtypes and tensor types, as PyTorch names them: :class:`finfo`/:class:`iinfo`,
``promote_types``/``result_type``/``can_cast``, the legacy tensor types (``lucid.FloatTensor``
...), and the memory-format and layout markers (``lucid.contiguous_format``, ``lucid.strided``)
that PyTorch code passes around. lucid stores every tensor as its backend lays it out, so the
markers are accepted and compared but choose nothing."""

from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from ._backend.device import BackendUnavailableError
from ._backend.device import device as _parse_device
from ._tensor import Size, Tensor

__all__ = [
    "finfo", "iinfo", "promote_types", "result_type", "can_cast", "typename",
    "memory_format", "contiguous_format", "channels_last", "channels_last_3d", "preserve_format",
    "layout", "strided", "jagged",
    *(f"{n}Tensor" for n in ("Float", "Double", "Half", "Byte", "Char", "Short", "Int", "Long", "Bool", "BFloat16")),
]


class finfo:
    """Limits of a floating dtype (default: the default dtype; a complex dtype gives its real part's):
    ``bits``, ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``), ``resolution``, ``dtype`` (its name),
    as ``torch.finfo``."""

    def __init__(self, type=None):  # noqa: A002  (PyTorch's name)
        dtype = (_dt.get_default_dtype() if type is None else _dt.to_dtype(type)).to_real()
        if dtype.kind != "f":
            raise TypeError(f"lucid.finfo() requires a floating point dtype, got lucid.{dtype.name}; "
                            f"use lucid.iinfo for integer dtypes")
        info = np.finfo(dtype.name)
        self.bits, self.dtype = info.bits, dtype.name
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -info.precision

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer (or bool) dtype: ``bits``, ``max``, ``min``, ``dtype`` (its name), as ``torch.iinfo``."""

    def __init__(self, type):  # noqa: A002
        dtype = _dt.to_dtype(type)
        if dtype.kind not in "iub":
            raise TypeError(f"lucid.iinfo() requires an integer dtype, got lucid.{dtype.name}; "
                            f"use lucid.finfo for floating dtypes")
        info = np.iinfo(np.uint8 if dtype.kind == "b" else dtype.name)
        self.bits, self.dtype = info.bits, dtype.name
        self.max, self.min = (1, 0) if dtype.kind == "b" else (int(info.max), int(info.min))

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def promote_types(type1, type2) -> _dt.DType:
    """The dtype both ``type1`` and ``type2`` convert to in a binary op between tensors of them."""
    return _dt.promote_types(_dt.to_dtype(type1), _dt.to_dtype(type2))


def result_type(tensor1, tensor2) -> _dt.DType:
    """The dtype of an elementwise op between two tensors and/or Python numbers (0-d tensors and
    numbers count only when of a higher category: bool < integer < float), as ``torch.result_type``."""
    groups = {"dim": None, "zero_dim": None, "scalar": None}
    for x in (tensor1, tensor2):
        key, dtype = (("dim" if x.ndim else "zero_dim"), x.dtype) if isinstance(x, Tensor) else \
            ("scalar", _dt.scalar_dtype(x))
        groups[key] = dtype if groups[key] is None else _dt.promote_types(groups[key], dtype)
    return _dt.result_type(**groups)


_KIND_ORDER = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def can_cast(from_, to) -> bool:
    """Whether PyTorch's casting rules allow ``from_`` to ``to`` in ops with an ``out``: never to a lower
    category (float to integer, non-bool to bool), any size within a category."""
    return _KIND_ORDER[_dt.to_dtype(from_).kind] <= _KIND_ORDER[_dt.to_dtype(to).kind]


class memory_format:
    """A memory layout request (``contiguous_format``, ``channels_last``, ...): accepted, compared and
    printed; lucid's tensors keep the backend's (C-contiguous) layout whatever is asked."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"{_dt.spelled_as()}.{self.name}"


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")


class layout:
    """A tensor's storage layout; lucid has dense tensors only: :data:`strided`."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"{_dt.spelled_as()}.{self.name}"


strided = layout("strided")
jagged = layout("jagged")  # named so that lucid.nested can refuse it clearly (it has the strided layout only)


def check_memory_format(fmt, ndim: int | None, op: str) -> None:
    """PyTorch's checks of a ``memory_format=`` argument: a :class:`memory_format` or None, and ``channels_last``
    (``channels_last_3d``) only for 4-D (5-D) tensors (``ndim`` None: no rank to check, as for a Module).
    Whatever it asks, lucid's tensors stay row-major."""
    if fmt is None:
        return
    if not isinstance(fmt, memory_format):
        raise TypeError(f"{op}(): argument 'memory_format' must be a lucid.memory_format (lucid.preserve_format, "
                        f"lucid.contiguous_format, lucid.channels_last, ...), not {type(fmt).__name__}")
    rank = {"channels_last": 4, "channels_last_3d": 5}.get(fmt.name)
    if rank is not None and ndim is not None and ndim != rank:
        raise RuntimeError(f"{op}(): required rank {rank} tensor to use {fmt.name} format, got {ndim} dimensions")


def check_strided(lay, op: str) -> None:
    """A factory's ``layout=``: None or :data:`strided` (the dense tensors factories make; sparse ones come from
    ``lucid.sparse_coo_tensor`` and ``Tensor.to_sparse``). PyTorch's ``zeros(layout=sparse_coo)`` is not offered."""
    if lay is None or lay is strided:
        return
    if not isinstance(lay, layout):
        raise TypeError(f"{op}(): argument 'layout' must be a lucid.layout (lucid.strided), not {type(lay).__name__}")
    raise NotImplementedError(f"{op}(): lucid's factories make strided (dense) tensors, got layout={lay}; build "
                              f"a sparse tensor with lucid.sparse_coo_tensor or Tensor.to_sparse()")


class _LegacyType(type):
    """The class of ``lucid.FloatTensor`` and its kin: ``isinstance(x, lucid.FloatTensor)`` holds for a
    float32 tensor on the CPU, ``isinstance(x, lucid.cuda.FloatTensor)`` for one on a GPU (as in PyTorch)."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == cls.device_type

    def __repr__(cls) -> str:
        return f"<class '{cls.__module__}.{cls.__name__}'>"


def _legacy(name: str, dtype: _dt.DType, device_type: str = "cpu") -> type:
    def new(cls, *args, device=None):
        """``T(*sizes)`` (or ``T(lucid.Size)``) is an uninitialised tensor of that size, ``T(data)`` one holding
        ``data`` (a sequence, even a tuple, or a tensor): PyTorch's legacy constructors. A CUDA type on a
        machine without a usable GPU raises TypeError, as PyTorch's."""
        if device_type != "cpu":
            try:
                device = _parse_device(device_type if device is None else device)
                device.backend  # noqa: B018  (raises when the backend cannot run here)
            except BackendUnavailableError as e:
                raise TypeError(f"type {cls.__module__}.{name} not available: {e}") from e
        if len(args) == 1 and not isinstance(args[0], (int, Size)):
            data = args[0]
            return (data.to(device, dtype) if isinstance(data, Tensor) else Tensor(data, dtype=dtype, device=device))
        size = args[0] if len(args) == 1 and isinstance(args[0], Size) else args
        from_shape = Tensor(np.empty(tuple(int(s) for s in size), dtype=dtype.name))
        return from_shape if device is None else from_shape.to(device)

    module = "lucid" if device_type == "cpu" else f"lucid.{device_type}"
    return _LegacyType(name, (), {"dtype": dtype, "device_type": device_type, "__new__": new, "__module__": module,
                                  "__doc__": f"Legacy constructor and isinstance check of {device_type} "
                                             f"{dtype.name} tensors."})


_LEGACY_NAMES = {
    "FloatTensor": _dt.float32, "DoubleTensor": _dt.float64, "HalfTensor": _dt.float16, "ByteTensor": _dt.uint8,
    "CharTensor": _dt.int8, "ShortTensor": _dt.int16, "IntTensor": _dt.int32, "LongTensor": _dt.int64,
    "BoolTensor": _dt.bool_, "BFloat16Tensor": _dt.bfloat16}


def legacy_types(device_type: str) -> dict[str, type]:
    """The legacy tensor types of ``device_type`` by name (``lucid.cuda.FloatTensor`` ... for ``"cuda"``)."""
    return {n: _legacy(n, d, device_type) for n, d in _LEGACY_NAMES.items()}


LEGACY_TYPES = {t.dtype: t for t in legacy_types("cpu").values()}
globals().update({t.__name__: t for t in LEGACY_TYPES.values()})
# Tensor.type() names, also of the dtypes without a legacy class: PyTorch has no torch.UInt16Tensor, yet
# Tensor.type() says "torch.UInt16Tensor" and takes that name back
_TYPE_NAMES = {**{t.dtype: t.__name__ for t in LEGACY_TYPES.values()},
               _dt.uint16: "UInt16Tensor", _dt.uint32: "UInt32Tensor", _dt.uint64: "UInt64Tensor"}
_BY_LEGACY_NAME = {n: d for d, n in _TYPE_NAMES.items()}


def legacy_type_name(tensor: Tensor) -> str:
    """``"lucid.FloatTensor"`` (``"lucid.cuda.FloatTensor"`` on a GPU; ``torch.`` under :mod:`lucid.torch_compat`):
    what ``Tensor.type()`` returns."""
    name = _TYPE_NAMES.get(tensor.dtype, f"{tensor.dtype.name}Tensor")
    module = _dt.spelled_as()
    return f"{module}.{name}" if tensor.device.type == "cpu" else f"{module}.{tensor.device.type}.{name}"


def legacy_dtype(spec):
    """The dtype a legacy type or its name stands for (``lucid.FloatTensor``, ``"torch.cuda.LongTensor"``),
    or None when ``spec`` is neither."""
    target = legacy_target(spec)
    return None if target is None else target[1]


def legacy_target(spec):
    """``(device type, dtype)`` of a legacy type or its name: ``("cuda", float32)`` for ``lucid.cuda.FloatTensor``
    and ``"torch.cuda.FloatTensor"``, ``("cpu", int64)`` for ``lucid.LongTensor``; None when ``spec`` is neither."""
    if isinstance(spec, _LegacyType):
        return spec.device_type, spec.dtype
    if isinstance(spec, str):
        module, _, name = spec.rpartition(".")
        dtype = _BY_LEGACY_NAME.get(name)
        return None if dtype is None else ("cuda" if module.endswith(".cuda") else "cpu", dtype)
    return None


def typename(obj) -> str:
    """The type name PyTorch prints: ``"lucid.FloatTensor"`` for a tensor, else the qualified class name."""
    if isinstance(obj, Tensor):
        return legacy_type_name(obj)
    cls = type(obj)
    return cls.__qualname__ if cls.__module__ in ("builtins", "__builtin__", None) else \
        f"{cls.__module__}.{cls.__qualname__}"
