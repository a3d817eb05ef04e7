"""Tensors from other libraries' memory and back: ``from_numpy``, ``as_tensor``, ``asarray``,
``frombuffer``, ``from_dlpack``/``to_dlpack``, as PyTorch. Each shares memory where PyTorch does
(a NumPy array on the CPU, a DLPack producer on its own device) and copies only when a dtype or
device change asks for it."""

from __future__ import annotations

import warnings

import numpy as np

from . import dtypes as _dt
from ._backend.device import device as _device
from ._tensor import Tensor, as_array, tensor

__all__ = ["from_numpy", "as_tensor", "asarray", "frombuffer", "from_dlpack", "to_dlpack"]

_DLPACK_DEVICE_TYPES = {1: "cpu", 3: "cpu", 2: "cuda"}  # kDLCPU, kDLCUDAHost, kDLCUDA


def _native_cpu(array: np.ndarray, what: str) -> Tensor:
    """A CPU tensor viewing ``array`` (no copy), or a TypeError naming the dtype lucid lacks."""
    try:
        _dt.to_dtype(array.dtype.name)
    except TypeError:
        raise TypeError(f"{what}: can't convert a NumPy array of dtype {array.dtype}; lucid supports "
                        f"{', '.join(d.name for d in _dt.ALL)}") from None
    if not array.dtype.isnative:
        raise TypeError(f"{what}: the array is in non-native byte order ({array.dtype.str}); "
                        f"convert it with array.astype(array.dtype.newbyteorder('='))")
    if any(s < 0 for s in array.strides):
        raise ValueError(f"{what}: at least one stride in the given numpy array is negative, and tensors with "
                         f"negative strides are not supported, as in PyTorch (make a copy first: array.copy())")
    if any(s % array.itemsize for s in array.strides):
        raise ValueError(f"{what}: the given numpy array's strides {array.strides} are not a multiple of the element "
                         f"byte size {array.itemsize}, as PyTorch refuses (make a copy first: array.copy())")
    if not array.flags.writeable:
        warnings.warn(f"{what}: the given buffer is not writable, and lucid does not support non-writable "
                      f"tensors: writing to the tensor will raise", UserWarning, stacklevel=3)
    cpu = _device("cpu")
    return Tensor._make(cpu.backend.from_numpy(_own_storage(array), 0), cpu)


def _own_storage(array: np.ndarray) -> np.ndarray:
    """``array`` as a view of a block starting at its first element and ending at its last (in memory), which
    lucid then takes for its storage (see :mod:`lucid.storage`), as PyTorch does with a NumPy array: a tensor of
    ``a[2:]`` has storage offset 0 and a storage of ``a[2:]``'s bytes, not all of ``a``'s. ``array`` itself when
    it already is such a block (an array owning its memory)."""
    if not isinstance(array.base, np.ndarray) and (array.flags.c_contiguous or array.flags.f_contiguous):
        return array
    span = sum((n - 1) * s for n, s in zip(array.shape, array.strides)) // array.itemsize + 1 if array.size else 0
    # as_strided's array has a non-array base: the storage walk stops at this block
    block = np.lib.stride_tricks.as_strided(array, shape=(span,), strides=(array.itemsize,))
    return np.ndarray(array.shape, array.dtype, buffer=block, strides=array.strides)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``ndarray`` (writes through either show in the other), keeping its dtype."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(ndarray).__name__}")
    return _native_cpu(ndarray, "from_numpy")


def asarray(obj, *, dtype=None, device=None, copy: bool | None = None, requires_grad: bool = False) -> Tensor:
    """``obj`` (a Tensor, a NumPy/backend array, a DLPack producer, Python data) as a tensor; shares its
    memory when dtype and device allow, unless ``copy=True``; ``copy=False`` refuses to copy."""
    dtype = None if dtype is None else _dt.to_dtype(dtype)
    device = None if device is None else _device(device)
    if isinstance(obj, Tensor):
        source = obj
    elif isinstance(obj, np.ndarray) and obj.dtype.name in {d.name for d in _dt.ALL}:
        source = _native_cpu(obj, "asarray")
    else:
        source = None
    if source is None:
        if copy is False and not hasattr(obj, "__array_namespace__"):
            raise ValueError(f"asarray(copy=False): a {type(obj).__name__} can't be used without a copy")
        data, dev = as_array(obj, dtype, device)
        source = Tensor._make(data, dev)
    elif dtype not in (None, source.dtype) or device not in (None, source.device):
        if copy is False:
            raise ValueError(f"asarray(copy=False): the data is {source.dtype.name} on {source.device}, asked for "
                             f"{(dtype or source.dtype).name} on {device or source.device}: that needs a copy")
        source = source.detach().to(device or source.device, dtype or source.dtype)
    elif copy:
        source = tensor(source)
    if requires_grad:
        source = (source.detach() if source is obj else source).requires_grad_(True)
    return source


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory when it already is one (or a NumPy array) of that dtype and
    device: then ``data`` itself is returned for a tensor, as ``torch.as_tensor``."""
    if isinstance(data, Tensor):
        target_dtype = data.dtype if dtype is None else _dt.to_dtype(dtype)
        target_device = data.device if device is None else _device(device)
        return data.to(target_device, target_dtype)
    return asarray(data, dtype=dtype, device=device)


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0, requires_grad: bool = False) -> Tensor:
    """A 1-d CPU tensor viewing ``count`` items of ``dtype`` in a Python buffer (``bytes``, ``bytearray``,
    ``memoryview``, ``array.array``) from byte ``offset``; writes through a writable buffer show in both."""
    dtype = _dt.to_dtype(dtype)
    array = np.frombuffer(buffer, dtype=dtype.name, count=count, offset=offset)
    result = _native_cpu(array, "frombuffer")
    return result.requires_grad_(True) if requires_grad else result


def from_dlpack(ext_tensor) -> Tensor:
    """A tensor sharing memory with any DLPack producer (a NumPy/CuPy array, a torch tensor, ...) on its device."""
    if not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError(f"from_dlpack expects an object with __dlpack__ (a NumPy, CuPy or torch array), "
                        f"got {type(ext_tensor).__name__}")
    if isinstance(ext_tensor, Tensor):
        return ext_tensor.detach()
    kind, index = ext_tensor.__dlpack_device__()
    dev_type = _DLPACK_DEVICE_TYPES.get(int(kind))
    if dev_type is None:
        raise TypeError(f"from_dlpack: lucid has no device for DLPack device type {int(kind)}")
    if dev_type == "cpu":
        return _native_cpu(np.from_dlpack(ext_tensor), "from_dlpack")
    dev = _device(dev_type, int(index))
    return Tensor._make(dev.xp.from_dlpack(ext_tensor), dev)


def to_dlpack(tensor: Tensor):
    """A DLPack capsule of ``tensor``'s memory (``torch.utils.dlpack.to_dlpack``); consumers may also take the
    tensor itself, which has ``__dlpack__``."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack expects a lucid Tensor, got {type(tensor).__name__}")
    return tensor.__dlpack__()
