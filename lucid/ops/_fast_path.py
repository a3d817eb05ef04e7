"""``fast_apply``: the small ops' one way to skip the Function object when there is no graph to record."""

from __future__ import annotations

from .._tensor import Tensor
from ..autograd import function as _function
from ..autograd import grad_mode

_make = Tensor._make  # bound once: at this size the wrapping is a good part of the op's cost
_NO_PARAMS: dict = {}


def fast_apply(cls, a, b=None, params=_NO_PARAMS):
    """``cls.apply(a, **params)`` for a one-operand op, ``cls.apply(a, b)`` for a two-operand one (either operand
    may then be a Python scalar), where ``cls.compute(xp, *arrays, **params)`` is the forward on arrays. With no
    interceptor (autocast, device switch), nothing to record (no input requires grad, or grad is off) and one
    device, ``compute`` runs without the Function object: half the cost of a small op. The one-operand case
    is decided on its own: it is the commonest and the cheapest."""
    if not _function.interceptors:
        if b is None:
            if a._base is not None:
                a._refresh_view()  # a view's requires_grad is current only after this (see autograd.views)
            if not (a._requires_grad and grad_mode.state.enabled):
                return _make(cls.compute(a._device.xp, a._data, **params), a._device)
        else:
            ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
            if ta and a._base is not None:
                a._refresh_view()
            if tb and b._base is not None:
                b._refresh_view()
            if not ((ta and a._requires_grad or tb and b._requires_grad) and grad_mode.state.enabled):
                device = a._device if ta else b._device
                if not (ta and tb) or b._device is device:
                    return _make(cls.compute(device.xp, a._data if ta else a, b._data if tb else b), device)
    return cls.apply(a, **params) if b is None else cls.apply(a, b)
