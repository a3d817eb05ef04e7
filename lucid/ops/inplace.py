"""In-place tensor updates (``add_``, ``+=``, ``zero_``, ``copy_``, ``fill_``, ...).

Without autograd recording (under ``no_grad``, or on tensors that need no grad) the
backend array is changed in place, so views and aliases see it. When the graph must
record the change, the out-of-place result is written into the same storage and the
tensor takes the new node (as PyTorch's in-place ops do); version counters make any
backward that saved the old value fail loudly.
"""

from __future__ import annotations

from .. import dtypes as _dt
from .._tensor import Tensor
from ..autograd import grad_mode

__all__: list[str] = []  # Tensor methods only (METHODS below, and the in-place forms other families ask for)


def _check_target(t: Tensor, recording: bool, what: str) -> None:
    if recording and t._node is None and t._requires_grad:
        raise RuntimeError(
            f"a leaf tensor that requires grad is used in an in-place operation ({what}); "
            f"wrap it in `with lucid.no_grad():` or use an out-of-place operation"
        )


def assign(t: Tensor, result: Tensor, what: str, cast: bool = False) -> Tensor:
    """Make ``t`` hold ``result`` in place (its storage, and its node when recording).

    ``cast`` allows any dtype change (``copy_``); otherwise a result of a higher kind (a float
    result for an integer tensor) is refused, as PyTorch does.
    """
    recording = grad_mode.state.enabled and (t._requires_grad or result._requires_grad)
    _check_target(t, recording, what)
    if result._device is not t._device:
        from .._backend.device import DeviceMismatchError

        raise DeviceMismatchError(f"{what}: the value is on {result._device} but the tensor is on {t._device}")
    target = t.dtype
    if result.dtype is not target:
        if not cast and _dt.promote_types(result.dtype, target) is not target and result.dtype.kind != target.kind:
            raise TypeError(
                f"{what}: the result has dtype {result.dtype.name}, which can't be stored in place in a "
                f"{target.name} tensor; cast the tensor first (x = x.to({result.dtype!r}))"
            )
        result = result.to(target)
    data = result._data
    if data.shape != t._data.shape:
        data = t.xp.broadcast_to(data, t._data.shape)
    t._data[...] = data
    t._version[0] += 1
    if recording:
        t._node, t._out_idx, t._requires_grad = result._node, result._out_idx, True
    return t


def _recording(t: Tensor, args) -> bool:
    if not grad_mode.state.enabled:
        return False
    return t._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args)


def inplace(op, name: str):
    """``t.name(*args)``: ``op(t, *args)`` written into ``t``'s storage.

    When the graph records, ``op`` sees a copy of ``t``'s current value (carrying its history),
    so whatever ``op`` saves for backward is not clobbered by the write.
    """

    def method(self: Tensor, *args, **kwargs) -> Tensor:
        source = self
        if _recording(self, args):
            _check_target(self, True, name)
            source = Tensor._make(self.xp.asarray(self._data, copy=True), self._device, self._requires_grad,
                                  self._node, self._out_idx)
        return assign(self, op(source, *args, **kwargs), name)

    method.__name__ = name
    method.__doc__ = f"In-place form of ``{op.__name__}``: writes the result into this tensor."
    return method


def zero_(t: Tensor) -> Tensor:
    """Fill with zeros in place."""
    return fill_(t, 0)


def fill_(t: Tensor, value) -> Tensor:
    """Fill with ``value`` in place (a number or a one-element tensor)."""
    _check_target(t, grad_mode.state.enabled and t._requires_grad, "fill_")
    if isinstance(value, Tensor):
        value = value.item()
    t._data[...] = t.xp.asarray(value, dtype=t._data.dtype, device=t._device.native)
    t._version[0] += 1
    return t


def copy_(t: Tensor, src) -> Tensor:
    """Copy ``src`` (broadcastable) into this tensor in place, casting to its dtype. ``src`` may
    be on another device: ``copy_`` is an explicit transfer, as in PyTorch."""
    src = src if isinstance(src, Tensor) else Tensor(src, device=t._device)
    return assign(t, src.to(t._device), "copy_", cast=True)


METHODS = {"zero_": zero_, "fill_": fill_, "copy_": copy_}
