"""``lucid.Tensor``: a backend array, the device it lives on, and its place in the autograd graph.

This file holds the data model (construction, dtype, device, grad bookkeeping, host
conversion, printing) and imports nothing above the backend layer. The layers above give
Tensor its math through :func:`register_methods`: ``backward`` from :mod:`lucid.autograd`,
operators and methods such as ``+``, ``exp()`` or ``to()`` from the ``METHODS`` table of each
:mod:`lucid.ops` family. ``_tensor.pyi`` lists them all for readers and IDEs (a test keeps it
in sync: regenerate it with ``python -m lucid._stubgen``).
"""

from __future__ import annotations

import functools
import threading
import warnings
import weakref

import numpy as np

from . import _printing
from . import dtypes as _dt
from ._backend.device import Device
from ._backend.device import device as _parse_device
from ._backend.device import device_of as _owner  # the device of a backend-native array, or None

__all__ = ["Tensor", "tensor", "Size"]


class Size(tuple):
    """A tensor's shape (``torch.Size``): a tuple of ints with :meth:`numel`. It prints as the plain tuple,
    so shapes in lucid's messages read ``(2, 3)``. Unlike PyTorch's, a slice or a sum of a Size is a plain
    tuple: indexing stays at tuple speed (``x.shape[-1]`` is on every op's path), at the cost of
    ``x.shape[1:].numel()`` (write ``math.prod(x.shape[1:])``). Under :mod:`lucid.torch_compat` a Size is
    PyTorch's: it prints as ``torch.Size([2, 3])`` and its slices are Sizes (see :func:`sizes_as_torch`)."""

    __slots__ = ()

    def numel(self) -> int:
        """The number of elements of a tensor of this shape."""
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        if _dt.spelled_as() == "torch":
            return f"torch.Size([{', '.join(str(s) for s in self)}])"
        return tuple.__repr__(self)


def _slice_as_size(self: Size, index):
    """``Size.__getitem__`` under :mod:`lucid.torch_compat`: a slice of a Size is a Size, as in PyTorch."""
    item = tuple.__getitem__(self, index)
    return Size(item) if isinstance(index, slice) else item


def sizes_as_torch(on: bool) -> None:
    """Make slices of a :class:`Size` Sizes (``on``), as PyTorch's are, or plain tuples at tuple speed (the
    default); :mod:`lucid.torch_compat` turns this on for the programs it runs."""
    if on:
        Size.__getitem__ = _slice_as_size
    elif "__getitem__" in Size.__dict__:
        del Size.__getitem__



class _InferenceState(threading.local):
    """Per thread: whether ``inference_mode`` is on."""

    on = False


_inference = _InferenceState()
_inference_threads = 0  # how many threads are inside inference mode: the one global the hot path reads


leaf_hooks_registered = 0  # hooks on leaves (grad and post-accumulate) alive: backward looks for them only then
inference_tensors_made = False  # whether inference_mode was ever entered: autograd checks for inference tensors then


def set_inference_mode(on: bool) -> bool:
    """Mark tensors created from now on in this thread as inference tensors (``lucid.inference_mode``
    calls it); returns the previous setting."""
    global _inference_threads, inference_tensors_made
    inference_tensors_made = inference_tensors_made or bool(on)
    prev, _inference.on = _inference.on, bool(on)
    _inference_threads += int(bool(on)) - int(prev)
    return prev


def is_inference_mode_enabled() -> bool:
    """Whether this thread is inside ``lucid.inference_mode()``."""
    return _inference.on


_PYTHON_NUMBERS = {bool, int, float, complex}
_NON_LEAF_GRAD = ("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
                  "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
                  "for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf "
                  "Tensor by mistake, make sure you access the leaf Tensor instead.")


def _sequence_dtype(seq):
    """The dtype PyTorch gives a (nested) list or tuple holding NumPy scalars or arrays or Tensors: the promotion
    of its leaves' dtypes, a Python float counting as the default float dtype, an int as int64 (``[np.float64(1),
    2.0]`` is float64, ``[np.int32(1), np.int32(2)]`` int32). None when every leaf is a Python number."""
    found, numbers, stack = [], set(), [seq]
    while stack:
        items = stack.pop()
        types = set(map(type, items))
        if types <= _PYTHON_NUMBERS:  # the common case, without a Python loop over the numbers
            numbers |= types
            continue
        for item in items:
            if isinstance(item, (list, tuple)):
                stack.append(item)
            elif isinstance(item, Tensor):
                found.append(item.dtype)
            elif isinstance(item, (np.ndarray, np.generic)):
                found.append(_dt.to_dtype(item.dtype.name))
            else:
                numbers.add(type(item))
    if not found:
        return None
    return functools.reduce(_dt.promote_types, found + [_dt.scalar_dtype(t()) for t in numbers & _PYTHON_NUMBERS])


def _host_array(data, dtype):
    """Python data (numbers, nested lists, NumPy arrays) as a NumPy array of a lucid dtype. Python numbers
    that do not fit the integer dtype they become raise OverflowError (as PyTorch), NumPy arrays are cast;
    a list holding NumPy data or Tensors takes their promoted dtype (:func:`_sequence_dtype`)."""
    python = not isinstance(data, (np.ndarray, np.generic))
    arr = np.asarray(data)
    if python and arr.size and (dtype is None and arr.dtype.kind in "uO" or dtype is not None and dtype.kind in "iu"):
        check_fits(arr, np.int64 if dtype is None else dtype.name)
    if dtype is None and isinstance(data, (list, tuple)):
        dtype = _sequence_dtype(data)
    if python and dtype is _dt.uint64 and arr.dtype.kind == "f" and arr.size and np.abs(arr).max() >= 2**63:
        arr = np.asarray(data, dtype=object) % 2**64  # NumPy took ints past int64 as float64: exact, negatives wrapped
    if dtype is not None:
        return arr.astype(dtype.name, copy=False)
    if python:
        if arr.dtype == np.float64:  # Python floats take the default float dtype
            return arr.astype(_dt.get_default_dtype().name)
        if arr.dtype == np.complex128:  # Python complex numbers its complex dtype, as in PyTorch
            return arr.astype(_dt.get_default_dtype().to_complex().name)
        if arr.dtype.kind in "iu" and arr.dtype != np.uint8:
            return arr.astype(np.int64, copy=False)
    try:
        _dt.to_dtype(arr.dtype.name)
    except TypeError:
        raise TypeError(
            f"cannot make a Tensor from data of NumPy dtype {arr.dtype}; lucid supports "
            f"{', '.join(d.name for d in _dt.ALL)}"
        ) from None
    return arr


def check_fits(data, name) -> None:
    """OverflowError unless every number of ``data`` (Python numbers, or an array of them) is finite and within
    the integer dtype ``name``, as PyTorch checks Python numbers: an unsigned dtype also takes ``-max..-1``
    (within int64), which wrap (-1 is 255 in uint8)."""
    arr = np.asarray(data)
    info = np.iinfo(name)
    low = max(-info.max, np.iinfo(np.int64).min) if info.dtype.kind == "u" else info.min
    if arr.dtype.kind == "O":  # ints beyond 64 bits (or not numbers: the caller's TypeError follows)
        bad = [v for v in arr.ravel().tolist() if isinstance(v, (int, float)) and not low <= v <= info.max]
    elif arr.dtype.kind in "iuf":
        bad = arr[~((arr >= low) & (arr <= info.max))].tolist()  # nan fails both comparisons
    else:
        bad = []
    if bad:
        raise OverflowError(f"the Python number {bad[0]} cannot be converted to {info.dtype} without overflow")


def fitted(value, name):
    """The Python number ``value`` ready to store in the integer dtype ``name``: checked by :func:`check_fits`,
    a negative int wrapped into an unsigned dtype (-1 is 65535 in uint16) as PyTorch stores it."""
    check_fits(value, name)
    if isinstance(value, int) and value < 0 and np.dtype(name).kind == "u":
        return value + (int(np.iinfo(name).max) + 1)
    return value


def as_array(data, dtype=None, device=None):
    """``(array, Device)`` for any Tensor input: a Tensor, a backend array or Python data.

    ``dtype`` and ``device`` (already resolved, or None) are applied when given; a move
    between devices happens only because the caller asked for ``device``.
    """
    if isinstance(data, Tensor):
        arr, dev = data._data, data._device
    else:
        dev = _owner(data) if not isinstance(data, (list, tuple, int, float, bool)) else None
        if dev is None or (dev.type == "cpu" and isinstance(data, (np.ndarray, np.generic))):
            host = _host_array(data, dtype)
            target = device or _parse_device(None)  # the default device
            return target.backend.from_numpy(host, target.index or 0), target
        arr = data
    if device is not None and device is not dev:
        arr = _move(arr, dev, device)
        dev = device
    if dtype is not None and dev.backend.lucid_dtype(arr.dtype) is not dtype:
        arr = dev.xp.astype(arr, dev.backend.native_dtype(dtype))
    return arr, dev


def _move(array, src: Device, dst: Device):
    if src.backend is dst.backend:
        return dst.backend.move(array, dst.index or 0)
    return dst.backend.from_numpy(src.backend.to_numpy(array), dst.index or 0)


def _never(self) -> bool:
    """False: lucid has no tensors of this device, layout or kind (the getter of ``Tensor.is_xpu`` and kin)."""
    return False


class Tensor:
    """An n-dimensional array on a device, with autograd.

    ``Tensor(data, requires_grad=False, dtype=None, device=None)``: ``data`` is a number, a
    (nested) list, a NumPy array, a backend array (CuPy, ...) or a Tensor (whose storage is
    then shared, detached). Python floats become the default float dtype (float32), Python
    ints int64; NumPy arrays keep their dtype.
    """

    __slots__ = ("_data", "_device", "_requires_grad", "_version", "__weakref__", "__dict__")

    # rarely set per tensor, so class-level defaults keep tensor creation cheap
    _node = None  # the Function that produced this tensor (None for leaves)
    _out_idx = 0  # which output of _node this is
    _grad = None
    _hooks = None  # gradient hooks of a leaf
    _post_hooks = None  # post-accumulate-grad hooks of a leaf
    _is_inference = False  # created under inference_mode
    # views (lucid.autograd.views): the tensor owning the memory, how to rebuild this view from it,
    # and the base's node when this view's history was last set
    _base = None
    _view_fn = None
    _view_stamp = None

    is_sparse = False  # True on lucid.sparse's COO tensors
    is_sparse_csr = False  # True on lucid.sparse's CSR tensors
    _sparse = False  # True on every lucid.sparse tensor: the few ops that take them (matmul) ask this first

    __array_priority__ = 1000  # make ndarray (op) Tensor defer to Tensor's reflected operators

    def __init__(self, data, requires_grad: bool = False, dtype=None, device=None):
        dtype = None if dtype is None else _dt.to_dtype(dtype)
        device = None if device is None else _parse_device(device)
        self._data, self._device = as_array(data, dtype, device)
        self._version = [0]
        self._requires_grad = False
        if _inference_threads and _inference.on:
            self._is_inference = True
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, device, requires_grad=False, node=None, index=0, version=None):
        """Wrap a backend array without checks (the hot path of every op)."""
        t = object.__new__(Tensor)
        t._data = data
        t._device = device
        t._requires_grad = requires_grad
        t._version = version or [0]
        if _inference_threads and _inference.on:
            t._is_inference = True
        if node is not None:
            t._node = node
            t._out_idx = index
        return t

    # ---- metadata -------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> _dt.DType:
        return self._device.dtypes[self._data.dtype]

    @property
    def device(self) -> Device:
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    # devices, layouts and kinds lucid has no tensors of: PyTorch's predicates for them, always False
    is_xpu = is_mps = is_mtia = is_ipu = is_xla = is_vulkan = is_maia = is_mkldnn = is_nested = is_quantized = \
        property(_never)

    @property
    def output_nr(self) -> int:
        """Which output of the op that made it this tensor is (0 for leaves and single outputs), as PyTorch's."""
        return self._out_idx

    def as_subclass(self, cls: type) -> Tensor:
        """This tensor as an instance of ``cls`` (a Tensor subclass): same data, version counter and autograd
        history, so gradients reach this tensor through it, as PyTorch's."""
        if not (isinstance(cls, type) and issubclass(cls, Tensor)):
            raise TypeError(f"Creating a Tensor subclass from a class that does not inherit from Tensor is not "
                            f"possible ({cls!r}). Make sure your class inherits from Tensor.")
        alias = self.view_as(self)
        alias.__class__ = cls
        return alias

    @property
    def xp(self):
        """The array namespace computing on this tensor's device."""
        return self._device.xp

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        n = 1
        for s in self._data.shape:
            n *= s
        return n

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    def element_size(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.numel() * self.dtype.itemsize

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        """The slices ``self[0]``, ``self[1]``, ... along the first dimension; TypeError for a 0-d tensor, as
        PyTorch (Python's fallback through ``__getitem__`` would give an empty iteration)."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    # ---- autograd state -----------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        if self._base is not None:
            self._refresh_view()
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Turn gradient tracking on or off for a leaf tensor (in place); returns self."""
        requires_grad = bool(requires_grad)
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError(
                "requires_grad can only be turned off on leaf tensors; this tensor is the result of "
                f"{self._node.name()}. Use detach() to get a tensor without history."
            )
        if requires_grad and self._is_inference and not _inference.on:
            raise RuntimeError("Setting requires_grad=True on inference tensor outside InferenceMode is not "
                               "allowed; clone() it outside inference_mode first")
        if requires_grad and self.dtype.kind not in "fc":
            raise RuntimeError(f"only floating point and complex tensors can require gradients, not {self.dtype.name}")
        self._requires_grad = requires_grad or self._node is not None
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad_fn(self):
        if self._base is not None:
            self._refresh_view()
        return self._node

    @property
    def grad(self):
        """The accumulated gradient (None until a backward reaches it). Reading it on a non-leaf that does not
        ``retain_grad()`` warns, as PyTorch: backward never fills it."""
        g = self._grad
        if g is None and (self._node is not None or self._base is not None) and not self.is_leaf \
                and not self.retains_grad:
            warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad must be a Tensor or None, not {type(value).__name__}")
            if value.shape != self.shape or value._device is not self._device or value.dtype != self.dtype:
                raise RuntimeError(
                    f"assigned grad has shape {value.shape}, dtype {value.dtype.name} on {value._device}, "
                    f"but the tensor has shape {self.shape}, dtype {self.dtype.name} on {self._device}"
                )
        self._grad = value

    @property
    def data(self) -> Tensor:
        """A tensor sharing this one's storage, without history, and (unlike ``detach()``) with a version
        counter of its own, as in PyTorch: changing ``x.data`` in place is not seen by autograd's checks."""
        return Tensor._make(self._writable_data(), self._device)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be set to a Tensor, not {type(value).__name__}")
        self._data, self._device = value._data, value._device

    def detach(self) -> Tensor:
        """A tensor sharing storage (and version counter) with this one, cut from the graph."""
        return Tensor._make(self._writable_data(), self._device, version=self._version)

    def _writable_data(self):
        """``self._data``, first turned from a NumPy scalar (what a full reduction returns) into a 0-d array,
        so that a tensor sharing it sees what is written into either (a scalar can't be written in place)."""
        if not hasattr(self._data, "__setitem__"):
            self._data = self._device.create("asarray", self._data, copy=True)
        return self._data

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph in place (it becomes a leaf that does not require grad). A view
        can't be detached in place, as in PyTorch: its history is its base's; use ``detach()``."""
        if self._base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._node, self._requires_grad = None, False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on a tensor that does not require grad")
        if self._node is None:
            return
        hooks = self._node._out_hooks
        if hooks is None:
            hooks = self._node._out_hooks = {}
        chain = hooks.setdefault(self._out_idx, [])
        if not any(isinstance(h, RetainGradHook) and h.ref() is self for h in chain):
            chain.append(RetainGradHook(self))

    @property
    def retains_grad(self) -> bool:
        chain = (self._node._out_hooks or {}).get(self._out_idx, ()) if self._node is not None else ()
        return any(isinstance(h, RetainGradHook) and h.ref() is self for h in chain)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a non-None return
        replaces the gradient. Returns a handle whose ``remove()`` unregisters the hook."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        global leaf_hooks_registered
        if self._node is None:  # a leaf: backward sums all its gradient contributions, then calls the hook once
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            leaf_hooks_registered += 1
            return _LeafHookHandle(self._hooks, hook)
        if self._node._out_hooks is None:
            self._node._out_hooks = {}
        chain = self._node._out_hooks.setdefault(self._out_idx, [])
        chain.append(hook)
        return _HookHandle(chain, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` once per backward, after this leaf's ``.grad`` has been accumulated
        (distributed data parallel starts reducing a gradient there). Returns a handle with ``remove()``."""
        if self._node is not None or self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        global leaf_hooks_registered
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(hook)
        leaf_hooks_registered += 1
        return _LeafHookHandle(self._post_hooks, hook)

    def is_inference(self) -> bool:
        """Whether this tensor was created under ``lucid.inference_mode()`` (it cannot join autograd later)."""
        return self._is_inference

    # ---- host conversion ------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a NumPy array. On the CPU it shares memory with the tensor (as in
        PyTorch); elsewhere pass ``force=True`` to copy to the host (a sync point)."""
        if self._requires_grad and not force:
            raise RuntimeError("can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()")
        if self._device.type != "cpu" and not force:
            raise TypeError(
                f"can't convert a {self._device} tensor to NumPy directly; copy it to the host with "
                f".cpu() first (or call numpy(force=True))"
            )
        return np.asarray(self._device.backend.to_numpy(self._data))

    def item(self):
        """The single value of a one-element tensor as a Python number (a sync point on GPUs)."""
        if self.numel() != 1:
            raise RuntimeError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self._device.backend.to_numpy(self._data).reshape(()).item()

    def tolist(self):
        return self._device.backend.to_numpy(self._data).tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, not {self.dtype.name}")
        return int(self.item())

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.numel()} elements is ambiguous; use .any() or .all()"
            )
        return bool(self.item())

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    __hash__ = object.__hash__

    # ---- printing -----------------------------------------------------------------
    def __repr__(self) -> str:
        """PyTorch's format (see :mod:`lucid._printing`); ``grad_fn`` names read ``AddBackward0`` as PyTorch's."""
        return self._repr(type(self).__name__)

    def _repr(self, type_name: str) -> str:
        """The repr with ``type_name`` where PyTorch's reads ``tensor``."""
        node = self.grad_fn
        host = np.asarray(self._device.backend.to_numpy(self._data))
        if self.dtype is _dt.bfloat16:  # NumPy prints ml_dtypes' bfloat16 without its decimal point
            host = host.astype(np.float32)
        default = _dt.get_default_dtype()
        return _printing.tensor_repr(
            host, type_name=type_name, dtype=self.dtype,
            default_dtypes=(default, default.to_complex(), _dt.int64, _dt.bool_), device=self._device,
            grad_fn=None if node is None else node.name(), requires_grad=self._requires_grad)

    def __format__(self, format_spec: str) -> str:
        """``f"{loss:.4f}"`` formats a 0-d tensor's value; an n-d tensor takes no format spec (as PyTorch)."""
        if self.ndim == 0:
            return format(self.item(), format_spec)
        return object.__format__(self, format_spec)

    # ---- copying and pickling ---------------------------------------------------------
    def __deepcopy__(self, memo):
        if self._node is not None:
            raise RuntimeError(
                "only leaf tensors support deepcopy; detach() the tensor first or copy a module "
                "whose parameters are leaves"
            )
        new = object.__new__(type(self))
        memo[id(self)] = new
        new._data = self._device.create("asarray", self._data, copy=True)
        new._device = self._device
        new._version = [0]
        new._requires_grad = self._requires_grad
        new._grad = None if self._grad is None else self._grad.__deepcopy__(memo)
        import copy

        for key, value in _user_state(self).items():
            setattr(new, key, copy.deepcopy(value, memo))
        return new

    def __reduce_ex__(self, proto):
        host = np.array(self._device.backend.to_numpy(self._data), copy=True)
        return (_rebuild, (type(self), host, str(self._device), self._requires_grad, _user_state(self)))


_AUTOGRAD_STATE = ("_node", "_out_idx", "_grad", "_hooks", "_base", "_view_fn", "_view_stamp", "_post_hooks",
                   "_is_inference")


def _user_state(t) -> dict:
    """Attributes set on a tensor (or subclass) other than its autograd bookkeeping."""
    return {k: v for k, v in getattr(t, "__dict__", {}).items() if k not in _AUTOGRAD_STATE}


def _rebuild(cls, host, device, requires_grad, state):
    dev = _parse_device(device)
    t = object.__new__(cls)
    t._data, t._device = dev.backend.from_numpy(host, dev.index or 0), dev
    t._version = [0]
    t._requires_grad = requires_grad
    for key, value in state.items():
        setattr(t, key, value)
    return t


def parse_to_args(args, kwargs):
    """``(device, dtype, non_blocking, copy, memory_format)`` from the arguments of ``Tensor.to`` /
    ``Module.to``: a device, a dtype, both, or a tensor to match, then optionally ``non_blocking`` and ``copy``
    (by keyword or, as in PyTorch, positionally after them); ``device=``, ``dtype=`` and ``memory_format=`` too
    (the caller checks the format). Device and dtype are resolved (None where not given)."""
    n = len(args)
    while n and isinstance(args[n - 1], bool):
        n -= 1
    if len(args) - n > 2:
        raise TypeError(f"to() takes (device, dtype, non_blocking, copy) or (tensor, non_blocking, copy), got {args}")
    kwargs = dict(kwargs)
    for name, value in zip(("non_blocking", "copy"), args[n:]):
        if name in kwargs:
            raise TypeError(f"to() got multiple values for argument {name!r}")
        kwargs[name] = value
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    non_blocking, copy = bool(kwargs.pop("non_blocking", False)), kwargs.pop("copy", False)
    memory_format = kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for arg in args[:n]:
        if arg is None:  # to(device, None): no dtype given
            continue
        if isinstance(arg, Tensor):
            device, dtype = arg._device, arg.dtype
        elif _is_dtype_like(arg):
            dtype = arg
        else:
            device = arg
    device = None if device is None else _parse_device(device)
    return device, None if dtype is None else _dt.to_dtype(dtype), non_blocking, copy, memory_format


def _is_dtype_like(arg) -> bool:
    if isinstance(arg, (_dt.DType, type, np.dtype)):
        return True
    if isinstance(arg, Device) or not (isinstance(arg, str) or hasattr(arg, "kind")):
        return False
    try:
        _dt.to_dtype(arg)
    except TypeError:
        # a name shaped like a dtype ("float128", "torch.uint16") is a dtype lucid lacks, not a device:
        # to() then reports the unknown dtype and lists the valid ones
        name = arg.removeprefix("torch.").removeprefix("lucid.") if isinstance(arg, str) else ""
        return name.rstrip("0123456789") in {"float", "int", "uint", "bool", "complex", "bfloat", "half", "double",
                                             "long", "short", "cfloat", "cdouble"}
    return True


class RetainGradHook:
    """The hook ``Tensor.retain_grad`` puts on a non-leaf tensor: the engine stores the gradient
    that reaches it in its ``.grad``. Holds the tensor weakly, so the graph does not keep it alive."""

    def __init__(self, tensor):
        self.ref = weakref.ref(tensor)

    def retain(self, g, sink):
        tensor = self.ref()
        if tensor is not None:  # autograd.grad() fills it too, as in PyTorch
            sink.store(tensor, g)


class _HookHandle:
    """Returned by ``register_hook``: ``remove()`` takes the hook out again."""

    def __init__(self, chain, hook):
        self._chain, self._hook = chain, hook

    def remove(self) -> None:
        if self._hook in self._chain:
            self._chain.remove(self._hook)


class _LeafHookHandle(_HookHandle):
    """The handle of a hook on a leaf: removing it also updates ``leaf_hooks_registered``."""

    def remove(self) -> None:
        global leaf_hooks_registered
        if self._hook in self._chain:
            self._chain.remove(self._hook)
            leaf_hooks_registered -= 1


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (as ``torch.tensor``; ``Tensor(array)`` shares it)."""
    source = data._data if isinstance(data, Tensor) else data
    result = Tensor(data.detach() if isinstance(data, Tensor) else data, dtype=dtype, device=device)
    if result._data is source:
        result._data = result._device.create("asarray", source, copy=True)
    return result.requires_grad_(True) if requires_grad else result


def register_methods(table: dict) -> None:
    """Make each ``name: function`` of ``table`` a Tensor method (``function(self, ...)``): the one way
    the layers above this file (autograd, ops) give Tensor its math. A name Tensor already has is
    refused, so no table silently replaces another's method."""
    taken = sorted(name for name in table if name in Tensor.__dict__)
    if taken:
        raise ValueError(f"Tensor already has {', '.join(taken)}; a method table may not replace one")
    for name, fn in table.items():
        setattr(Tensor, name, fn)
