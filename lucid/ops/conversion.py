"""Moving tensors between devices and casting dtypes, as differentiable ops."""

from __future__ import annotations

from ..autograd.function import Function
from .._tensor import _move


class ToCopy(Function):
    """``tensor.to(device, dtype)``: the gradient goes back to the source device and dtype."""

    def forward(self, x, device, dtype):
        self.src_dtype = self.backend.lucid_dtype(x.dtype)
        self.out_device = device
        if device is not self.device:
            x = _move(x, self.device, device)
        return device.xp.astype(x, device.backend.native_dtype(dtype), copy=True)

    def backward(self, grad):
        return grad.to(self.device, self.src_dtype)


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
METHODS = {"astype": astype} | {short: _cast(full) for short, full in {
    "half": "float16", "float": "float32", "double": "float64", "byte": "uint8", "char": "int8",
    "short": "int16", "int": "int32", "long": "int64", "bool": "bool"}.items()}
