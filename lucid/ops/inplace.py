"""In-place tensor updates (``add_``, ``+=``, ``zero_``, ``copy_``, ``fill_``, ...).

Each writes its result into the tensor's memory (so every view of it sees the change) and
bumps the version counter it shares with its views, so a backward that saved the old value
fails loudly. When autograd records, the op runs out of place on a copy of the old value,
and :func:`lucid.autograd.views.rebase` records the write: the tensor (or, for a view, its
base) takes a node that sends gradients to the old history and to the written value, as
PyTorch's in-place ops and ``CopySlices`` do.
"""

from __future__ import annotations

from .._backend.device import DeviceMismatchError
from .._tensor import Tensor, fitted
from ..autograd import function as _function
from ..autograd import grad_mode
from ..autograd.views import check_writable, rebase

__all__: list[str] = []  # Tensor methods only (METHODS below, and the in-place forms other families ask for)


# PyTorch's can_cast for in-place results: bool < integers (signed and unsigned alike) < floating < complex;
# a result may be stored in a tensor of its own category or a higher one (int16 into uint8 too, wrapping)
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _fit(t: Tensor, result: Tensor, what: str, cast: bool) -> Tensor:
    """``result`` as a value ``t`` can hold in place: same device, ``t``'s dtype and shape."""
    if result._device is not t._device:
        raise DeviceMismatchError(f"{what}: the value is on {result._device} but the tensor is on {t._device}")
    target = t.dtype
    if result.dtype is not target:
        if not cast and _CATEGORY[result.dtype.kind] > _CATEGORY[target.kind]:
            raise TypeError(
                f"{what}: the result has dtype {result.dtype.name}, which can't be stored in place in a "
                f"{target.name} tensor; cast the tensor first (x = x.to({result.dtype!r}))"
            )
        result = result.to(target)
    if result.shape != t.shape:
        shape, out = result.shape, t.shape
        if len(shape) > len(out) or any(n not in (1, m) for n, m in zip(reversed(shape), reversed(out))):
            raise RuntimeError(
                f"{what}: a value of shape {shape} can't be written into a tensor of shape {out} (it must "
                f"broadcast to {out} without growing it); reshape or expand the value, or write out of place"
            )
        result = result.expand(out)
    return result


def assign(t: Tensor, result: Tensor, what: str, cast: bool = False, overwrites: bool = False,
           node: tuple | None = None) -> Tensor:
    """Make ``t`` hold ``result`` in place: its memory, and its history when recording.

    ``cast`` allows any dtype change (``copy_``); otherwise a result of a higher kind (a float
    result for an integer tensor) is refused, as PyTorch does. ``result`` must broadcast to ``t``.
    ``overwrites``: ``result`` does not depend on ``t``'s old value (``copy_``, ``fill_``). ``node``: PyTorch's
    node of the write (see :func:`lucid.autograd.views.rebase`).
    """
    recording = grad_mode.state.enabled and (tracked(t) or result._requires_grad)
    check_writable(t, recording, what)
    result = _fit(t, result, what, cast)
    try:
        t._data[...] = result._data
    except ValueError as e:  # a read-only array the backend gave for a view (NumPy's broadcast_to)
        raise RuntimeError(f"{what}: this tensor's memory can't be written ({e}); clone() it first") from None
    t._version[0] += 1
    if recording:
        rebase(t, result, overwrites, node)
    if _function.dual_mode is not None:  # forward AD: the tangent is written in place too
        _function.dual_mode.assign(t, result)
    return t


def tracked(t: Tensor) -> bool:
    """Whether writing into ``t`` must be recorded for ``t``'s sake: it (or its base) requires grad."""
    return t.requires_grad or (t._base is not None and t._base._requires_grad)


def _recording(t: Tensor, args) -> bool:
    if not grad_mode.state.enabled:
        return False
    return tracked(t) or any(isinstance(a, Tensor) and a._requires_grad for a in args)


def inplace(op, name: str):
    """``t.name(*args)``: ``op(t, *args)`` written into ``t``'s storage.

    When the graph records, ``op`` sees a copy of ``t``'s current value (carrying its history),
    so whatever ``op`` saves for backward is not clobbered by the write.
    """

    def method(self: Tensor, *args, **kwargs) -> Tensor:
        source = self
        if _recording(self, args):  # assign() refuses what may not be written, before anything changes
            source = Tensor._make(self._device.create("asarray", self._data, copy=True), self._device,
                                  self._requires_grad, self._node, self._out_idx)
            if _function.dual_mode is not None:
                _function.dual_mode.share_tangent(self, source)
        return assign(self, op(source, *args, **kwargs), name)

    method.__name__ = name
    method.__doc__ = f"In-place form of ``{op.__name__}``: writes the result into this tensor."
    return method


def zero_(t: Tensor) -> Tensor:
    """Fill with zeros in place."""
    return _fill(t, 0, ("Zero", 0))


def fill_(t: Tensor, value) -> Tensor:
    """Fill with ``value`` in place: a number, or a one-element tensor (which then gets the sum of
    the gradient, as in PyTorch)."""
    return _fill(t, value, ("Fill", 3 if isinstance(value, Tensor) else 2))


def _fill(t: Tensor, value, node: tuple) -> Tensor:
    """``fill_`` recorded as PyTorch's ``node`` (its overload for a number or a tensor; ``zero_``'s own)."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise RuntimeError(f"fill_ takes a number or a one-element tensor, got a tensor of shape {value.shape}")
        value = value.reshape(())
    else:
        if t.dtype.kind in "iu" and isinstance(value, (int, float)):
            value = fitted(value, t.dtype.name)
        value = Tensor._make(t._device.create("asarray", value, dtype=t._data.dtype), t._device)
    return assign(t, value, "fill_", cast=True, overwrites=True, node=node)


def copy_(t: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcastable) into this tensor in place, casting to its dtype; the gradient
    flows to ``src``. ``src`` may be on another device: ``copy_`` is an explicit transfer, as in PyTorch.
    ``non_blocking`` is accepted for PyTorch's signature; the copy is complete when ``copy_`` returns."""
    src = src if isinstance(src, Tensor) else Tensor(src, device=t._device)
    return assign(t, src.to(t._device), "copy_", cast=True, overwrites=True,
                  node=("torch::autograd::CopyBackwards", None))


METHODS = {"zero_": zero_, "fill_": fill_, "copy_": copy_}
