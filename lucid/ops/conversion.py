"""Moving tensors between devices and casting dtypes, as differentiable ops; the Tensor
methods ``to``, ``cpu``, ``cuda``, ``type`` and the cast shorthands (``float()``, ``long()``, ...)."""

from __future__ import annotations

from .. import _typeinfo
from .._backend.device import device as _parse_device
from .._backend.numpy_backend import float_errors_ignored
from .._tensor import Tensor, _move, parse_to_args
from ..autograd.function import Function

# a cast that overflows (float32 -> float16) gives inf without NumPy's warning, as in PyTorch
_astype = float_errors_ignored(lambda xp, x, native: xp.astype(x, native, copy=True))


class ToCopy(Function):
    """``tensor.to(device, dtype)``: the gradient goes back to the source device and dtype."""

    def forward(self, x, device, dtype):
        self.src_dtype = self.backend.lucid_dtype(x.dtype)
        self.out_device = device
        if device is not self.device:
            x = _move(x, self.device, device)
        return _astype(device.xp, x, device.backend.native_dtype(dtype))

    def backward(self, grad):
        if self.src_dtype.kind != "c" and grad.dtype.kind == "c":  # a real source gets the real part, as PyTorch
            grad = grad.real
        return grad.to(self.device, self.src_dtype)


def to(self: Tensor, *args, **kwargs) -> Tensor:
    """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(other_tensor)``.

    Returns ``self`` when nothing changes, else a new tensor (differentiable).
    ``non_blocking`` and ``copy`` are accepted as in PyTorch.
    """
    device, dtype, copy = parse_to_args(args, kwargs)
    device = self._device if device is None else device
    dtype = self.dtype if dtype is None else dtype
    if device is self._device and dtype is self.dtype and not copy:
        return self
    return ToCopy.apply(self, device=device, dtype=dtype)


def cpu(self: Tensor) -> Tensor:
    """A copy on the host (``self`` when already there)."""
    return self.to("cpu")


def cuda(self: Tensor, device=None) -> Tensor:
    """A copy on a CUDA device: ``device`` is an index, ``"cuda:N"`` or a Device (default: current)."""
    if device is None:
        return self.to("cuda")
    return self.to(_parse_device("cuda", device) if isinstance(device, int) else _parse_device(device))


def type(self: Tensor, dtype=None, non_blocking: bool = False):  # noqa: A001  (Tensor.type, as PyTorch's)
    """The legacy type name (``"lucid.FloatTensor"``) without ``dtype``; a cast to ``dtype`` with it: a dtype,
    a legacy type (``lucid.LongTensor``) or its name (``"torch.LongTensor"`` too)."""
    if dtype is None:
        return _typeinfo.legacy_type_name(self)
    legacy = _typeinfo.legacy_dtype(dtype)
    return self.to(dtype if legacy is None else legacy)


def astype(x, dtype):
    """``x`` cast to ``dtype`` (differentiable between floating dtypes)."""
    return x.to(dtype)


def _cast(name: str):
    def method(x):
        return x.to(name)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``self.to(lucid.{name})``."
    return method


__all__: list[str] = []
# PyTorch's cast shorthands: t.float(), t.long(), ... (dtype names from lucid.dtypes)
METHODS = {"to": to, "cpu": cpu, "cuda": cuda, "type": type, "astype": astype} | {
    short: _cast(full) for short, full in {
        "half": "float16", "float": "float32", "double": "float64", "byte": "uint8", "char": "int8",
        "short": "int16", "int": "int32", "long": "int64", "bool": "bool", "bfloat16": "bfloat16",
        "cfloat": "complex64", "cdouble": "complex128"}.items()}
