"""Moving tensors between devices and casting dtypes, as differentiable ops; the Tensor
methods ``to``, ``cpu``, ``cuda``, ``type``, the cast shorthands (``float()``, ``long()``, ...) and
``pin_memory``/``is_pinned`` (page-locked host memory, from which ``to("cuda", non_blocking=True)``
copies without waiting)."""

from __future__ import annotations

from .. import _typeinfo
from .._backend.device import BackendUnavailableError
from .._backend.device import device as _parse_device
from .._backend.numpy_backend import float_errors_ignored
from .._backend.registry import Backend
from .._tensor import Tensor, _move, parse_to_args
from ..autograd.function import Function

# a cast that overflows (float32 -> float16) gives inf without NumPy's warning, as in PyTorch
_astype = float_errors_ignored(lambda xp, x, native: xp.astype(x, native, copy=True))


class ToCopy(Function):
    """``tensor.to(device, dtype)``: the gradient goes back to the source device and dtype. ``non_blocking``
    lets a copy from pinned host memory to another backend's device return before it is done (the backend's
    ``from_numpy``); copies to the host always wait, so the array read back is complete."""

    def forward(self, x, device, dtype, non_blocking=False):
        self.src_dtype = self.backend.lucid_dtype(x.dtype)
        self.out_device = device
        if device is not self.device:
            if non_blocking and device.backend is not self.backend:
                x = device.backend.from_numpy(self.backend.to_numpy(x), device.index or 0, non_blocking=True)
            else:
                x = _move(x, self.device, device)
        with device.context():  # the cast's copy on the target (the op itself runs on the source's device)
            return _astype(device.xp, x, device.backend.native_dtype(dtype))

    def backward(self, grad):
        if self.src_dtype.kind != "c" and grad.dtype.kind == "c":  # a real source gets the real part, as PyTorch
            grad = grad.real
        return grad.to(self.device, self.src_dtype)


def to(self: Tensor, *args, **kwargs) -> Tensor:
    """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(other_tensor)``, then optionally
    ``non_blocking`` and ``copy`` (by keyword or, as in PyTorch, positionally after them).

    Returns ``self`` when nothing changes, else a new tensor (differentiable). ``non_blocking=True`` from
    pinned memory (:func:`pin_memory`) to a GPU queues the copy and returns at once. ``memory_format`` is
    checked as PyTorch does (``channels_last`` needs a 4-D tensor); ``contiguous_format`` gives a row-major
    result, any other leaves it as it is (lucid's tensors stay row-major).
    """
    device, dtype, non_blocking, copy, memory_format = parse_to_args(args, kwargs)
    _typeinfo.check_memory_format(memory_format, self.ndim, "to")
    device = self._device if device is None else device
    dtype = self.dtype if dtype is None else dtype
    if device is self._device and dtype is self.dtype and not copy:
        out = self
    else:
        out = ToCopy.apply(self, device=device, dtype=dtype, non_blocking=non_blocking)
    return out.contiguous() if memory_format is _typeinfo.contiguous_format else out


def cpu(self: Tensor, memory_format=None) -> Tensor:
    """A copy on the host (``self`` when already there); ``memory_format`` as in :func:`to`."""
    return self.to("cpu", memory_format=memory_format)


def cuda(self: Tensor, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
    """A copy on a CUDA device: ``device`` is an index, ``"cuda:N"`` or a Device (default: current);
    ``non_blocking`` and ``memory_format`` as in :func:`to`."""
    if device is None:
        return self.to("cuda", non_blocking=non_blocking, memory_format=memory_format)
    target = _parse_device("cuda", device) if isinstance(device, int) else _parse_device(device)
    return self.to(target, non_blocking=non_blocking, memory_format=memory_format)


class PinMemory(Function):
    """``pin_memory``: a copy of the host array in the pinning backend's page-locked memory (gradient unchanged)."""

    def forward(self, x, backend):
        return backend.pin(x)

    def backward(self, grad):
        return grad


def _pinning_backend(device):
    """The backend whose pinned host memory speeds up copies to ``device`` (default ``"cuda"``), or None
    where it cannot run here (no CuPy, no GPU) or cannot pin."""
    try:
        backend = _parse_device("cuda" if device is None else device).backend
    except BackendUnavailableError:
        return None
    return backend if backend.__class__.pin is not Backend.pin else None


def pin_memory(self: Tensor, device=None) -> Tensor:
    """A copy of this CPU tensor in page-locked host memory, from which ``to("cuda", non_blocking=True)``
    copies asynchronously (already pinned: itself). Where no backend can pin (no CuPy or no GPU) it returns
    the tensor itself, since pinning only speeds up copies to a GPU: lucid's choice, where PyTorch raises.
    A tensor on a device raises, as in PyTorch (one in host memory on another backend: itself)."""
    if not self._device.host:
        raise RuntimeError(f"pin_memory: only CPU tensors can be pinned, this one is on {self.device}")
    backend = _pinning_backend(device) if self.device.type == "cpu" else None
    if backend is None or backend.is_pinned(self._data):
        return self
    return PinMemory.apply(self, backend=backend)


def is_pinned(self: Tensor, device=None) -> bool:
    """Whether this tensor's memory is page-locked (made by :func:`pin_memory`; always False without a
    backend that pins, and for tensors on a device)."""
    if self.device.type != "cpu":  # pinned memory is the CPU backend's (another host backend's is never pinned)
        return False
    backend = _pinning_backend(device)
    return backend is not None and backend.is_pinned(self._data)


def type(self: Tensor, dtype=None, non_blocking: bool = False):  # noqa: A001  (Tensor.type, as PyTorch's)
    """The legacy type name (``"lucid.FloatTensor"``) without ``dtype``; a cast to ``dtype`` with it: a dtype,
    a legacy type (``lucid.LongTensor``) or its name (``"torch.LongTensor"`` too). A legacy type of another
    device type also moves the tensor, as PyTorch: ``lucid.cuda.FloatTensor`` to the current GPU (the error of
    ``.to("cuda")`` without one), ``lucid.FloatTensor`` to the CPU; a tensor on a GPU stays on its GPU."""
    if dtype is None:
        return _typeinfo.legacy_type_name(self)
    target = _typeinfo.legacy_target(dtype)
    if target is None:
        return self.to(dtype, non_blocking=non_blocking)
    device_type, legacy = target
    if device_type == self.device.type:
        return self.to(legacy, non_blocking=non_blocking)
    return self.to(device_type, legacy, non_blocking=non_blocking)


def astype(x, dtype):
    """``x`` cast to ``dtype`` (differentiable between floating dtypes)."""
    return x.to(dtype)


def _cast(name: str):
    def method(x, memory_format=None):
        return x.to(name, memory_format=memory_format)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``self.to(lucid.{name}, memory_format=memory_format)``."
    return method


__all__: list[str] = []
# PyTorch's cast shorthands: t.float(), t.long(), ... (dtype names from lucid.dtypes)
METHODS = {"to": to, "cpu": cpu, "cuda": cuda, "type": type, "astype": astype, "pin_memory": pin_memory,
           "is_pinned": is_pinned} | {
    short: _cast(full) for short, full in {
        "half": "float16", "float": "float32", "double": "float64", "byte": "uint8", "char": "int8",
        "short": "int16", "int": "int32", "long": "int64", "bool": "bool", "bfloat16": "bfloat16",
        "cfloat": "complex64", "cdouble": "complex128"}.items()}
