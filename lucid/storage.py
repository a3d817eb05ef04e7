"""Tensor storages, as PyTorch's: ``Tensor.untyped_storage()`` (a :class:`UntypedStorage`, the tensor's memory as
bytes) and the deprecated ``Tensor.storage()`` (a :class:`TypedStorage`, the same memory as elements of the
tensor's dtype). Programs use them to ask which tensors share memory (Hugging Face's shared-tensor detection
compares ``untyped_storage().data_ptr()`` and ``nbytes()``) and how big it is.

A tensor's storage is the whole memory block its array lives in: that of its base tensor when it is a view, and
further the array that owns the memory when the backend array is itself a view (so ``detach()`` and
``.data`` share the storage of what they came from, as in PyTorch; ``from_numpy`` of a NumPy view, as PyTorch's,
starts a storage of its own at the view's first element: ``from_numpy(a[2:])`` has storage offset 0). A backend whose
arrays do not name the array they view (array-api-strict) knows only lucid's own views: there ``detach()`` of a view
has a storage of its own. Storages are
read-only snapshots of that memory: writing through them is not supported, write through the tensor instead.
``data_ptr()`` needs a backend that exposes addresses (NumPy, CuPy), as ``Tensor.data_ptr``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import dtypes as _dt
from ._backend.registry import backend_for
from ._tensor import Tensor, register_methods
from .ops.metadata import data_ptr as _tensor_data_ptr

__all__ = ["UntypedStorage", "TypedStorage", "is_storage"]

_TYPED_STORAGE_DEPRECATION = (
    "TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be the only storage "
    "class. This should only matter to you if you are using storages directly.  To access UntypedStorage "
    "directly, use tensor.untyped_storage() instead of tensor.storage()")


class UntypedStorage:
    """The bytes of the memory block holding a tensor: ``nbytes()``/``size()``/``len()`` count them,
    ``data_ptr()`` is the block's lowest address (equal for every tensor sharing the block), ``s[i]`` and
    ``tolist()`` read bytes as ints 0..255 (copying to the host on a GPU)."""

    def __init__(self, owner, device):
        self._owner, self._device = owner, device  # the backend array that owns the memory

    @property
    def device(self):
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    def nbytes(self) -> int:
        return math.prod(self._owner.shape) * self._device.dtypes[self._owner.dtype].itemsize

    def size(self) -> int:
        """The number of bytes (as PyTorch's ``UntypedStorage.size()``)."""
        return self.nbytes()

    __len__ = size

    def element_size(self) -> int:
        return 1

    def _strides(self) -> tuple:
        """The owner's strides in elements (row-major when the backend hides them, as array-api-strict)."""
        strides = self._device.backend.strides(self._owner)
        return strides if strides is not None else tuple(math.prod(self._owner.shape[d + 1:])
                                                         for d in range(self._owner.ndim))

    def data_ptr(self) -> int:
        """The lowest address of the block (the first element's address when no stride is negative or it is
        empty)."""
        first = _tensor_data_ptr(Tensor._make(self._owner, self._device))
        if not math.prod(self._owner.shape):
            return first
        itemsize = self._device.dtypes[self._owner.dtype].itemsize
        return first + itemsize * sum(min(0, (n - 1) * s) for n, s in zip(self._owner.shape, self._strides()))

    def _bytes(self, start: int, stop: int) -> np.ndarray:
        """Bytes ``start:stop`` of the block, in address order, as a host uint8 array; only the owner's elements
        covering them are copied to the host."""
        xp, owner, strides = self._device.xp, self._owner, self._strides()
        if owner.ndim:
            axes = sorted(range(owner.ndim), key=lambda d: -abs(strides[d]))
            owner = xp.permute_dims(owner, tuple(axes))
            flipped = tuple(i for i, d in enumerate(axes) if strides[d] < 0)
            owner = xp.flip(owner, axis=flipped) if flipped else owner
        itemsize = self._device.dtypes[owner.dtype].itemsize
        first = start // itemsize
        elements = xp.reshape(owner, (-1,))[first:-(-stop // itemsize)]
        host = np.ascontiguousarray(self._device.backend.to_numpy(elements))
        return host.view(np.uint8)[start - first * itemsize:stop - first * itemsize]

    def __getitem__(self, i: int) -> int:
        n = self.nbytes()
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for storage of size {n}")
        i %= n
        return int(self._bytes(i, i + 1)[0])

    def tolist(self) -> list:
        return self._bytes(0, self.nbytes()).tolist()

    def untyped(self) -> UntypedStorage:
        return self

    def __repr__(self) -> str:
        return f"lucid.UntypedStorage(nbytes={self.nbytes()}, device={self._device})"


class TypedStorage:
    """A tensor's memory block as elements of its dtype (PyTorch's deprecated ``Tensor.storage()``):
    ``size()``/``len()`` count elements, ``s[i]`` and ``tolist()`` read them as Python numbers; the bytes are
    ``_untyped_storage`` (also ``untyped()``)."""

    def __init__(self, untyped: UntypedStorage, dtype: _dt.DType):
        self._untyped_storage, self.dtype = untyped, dtype

    @property
    def device(self):
        return self._untyped_storage.device

    @property
    def is_cuda(self) -> bool:
        return self._untyped_storage.is_cuda

    def untyped(self) -> UntypedStorage:
        return self._untyped_storage

    def element_size(self) -> int:
        return self.dtype.itemsize

    def nbytes(self) -> int:
        return self._untyped_storage.nbytes()

    def size(self) -> int:
        """The number of elements of ``dtype``."""
        return self.nbytes() // self.dtype.itemsize

    __len__ = size

    def data_ptr(self) -> int:
        return self._untyped_storage.data_ptr()

    def _host_dtype(self):
        return backend_for("cpu").native_dtype(self.dtype)

    def __getitem__(self, i: int):
        n = self.size()
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for storage of size {n}")
        i = (i % n) * self.dtype.itemsize
        return self._untyped_storage._bytes(i, i + self.dtype.itemsize).view(self._host_dtype())[0].item()

    def tolist(self) -> list:
        return self._untyped_storage._bytes(0, self.size() * self.dtype.itemsize).view(self._host_dtype()).tolist()

    def __repr__(self) -> str:
        return f"lucid.TypedStorage(dtype={self.dtype!r}, size={self.size()}, device={self.device})"


def is_storage(obj) -> bool:
    """Whether ``obj`` is a storage (untyped or typed), as ``torch.is_storage``."""
    return isinstance(obj, (UntypedStorage, TypedStorage))


def untyped_storage(x: Tensor) -> UntypedStorage:
    """The memory block holding ``x`` (see the module docstring), shared with its views, base and detached
    copies."""
    root = x if x._base is None else x._base
    owner = root._writable_data()  # a 0-d array rather than a NumPy scalar, which would be a fresh copy per call
    while isinstance(getattr(owner, "base", None), type(owner)):
        owner = owner.base
    return UntypedStorage(owner, x.device)


def storage_offset(x: Tensor) -> int:
    """Where ``x``'s first element lies in its storage, in elements, as PyTorch's ``storage_offset()``: ``x[1]``
    of a (3, 4) tensor is 4. Needs a backend that exposes addresses (NumPy, CuPy), as ``data_ptr``."""
    return (_tensor_data_ptr(x) - untyped_storage(x).data_ptr()) // x.dtype.itemsize


def storage(x: Tensor) -> TypedStorage:
    """``x.untyped_storage()`` as elements of ``x``'s dtype; warns that TypedStorage is deprecated, as PyTorch
    (PyTorch warns once per process, lucid leaves repeats to Python's warning filters)."""
    warnings.warn(_TYPED_STORAGE_DEPRECATION, UserWarning, stacklevel=2)
    return TypedStorage(untyped_storage(x), x.dtype)


register_methods({"untyped_storage": untyped_storage, "storage": storage, "storage_offset": storage_offset})
