"""``fast_apply``: the small ops' one way to skip the Function object when there is no graph to record."""

from __future__ import annotations

from .._tensor import Tensor
from ..autograd import function as _function
from ..autograd import grad_mode

_make = Tensor._make  # bound once: at this size the wrapping is a good part of the op's cost
_NO_PARAMS: dict = {}
_ONE_NEEDS = (True,)
_new = object.__new__
_edge_to = _function.edge_to


def fast_apply(cls, a, b=None, params=_NO_PARAMS):
    """``cls.apply(a, **params)`` for a one-operand op, ``cls.apply(a, b)`` for a two-operand one (either operand
    may then be a Python scalar), where ``cls.compute(xp, *arrays, **params)`` is the forward on arrays. With no
    interceptor (autocast, device switch) and one device, ``compute`` runs without the Function object when
    there is nothing to record (no input requires grad, or grad is off): half the cost of a small op; when
    there is, the node is recorded directly (``ComputedFunction._record_computed``), without ``apply``'s
    general scan of its inputs. The one-operand case is decided on its own: it is the commonest and the cheapest."""
    if not _function.interceptors:
        if b is None:
            if a._base is not None:
                a._refresh_view()  # a view's requires_grad is current only after this (see autograd.views)
            if not (a._requires_grad and grad_mode.state.enabled):
                return _make(cls.compute(a._device.xp, a._data, **params), a._device)
            ctx = _new(cls)
            ctx.device = a._device
            return ctx._record_computed((a,), (a._data,), _ONE_NEEDS, (_edge_to(a),), params)
        ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
        if ta and a._base is not None:
            a._refresh_view()
        if tb and b._base is not None:
            b._refresh_view()
        device = a._device if ta else b._device
        if not (ta and tb) or b._device is device:
            need_a, need_b = ta and a._requires_grad, tb and b._requires_grad
            if not ((need_a or need_b) and grad_mode.state.enabled):
                return _make(cls.compute(device.xp, a._data if ta else a, b._data if tb else b), device)
            ctx = _new(cls)
            ctx.device = device
            return ctx._record_computed((a, b), (a._data if ta else a, b._data if tb else b), (need_a, need_b),
                               (_edge_to(a) if need_a else None, _edge_to(b) if need_b else None), _NO_PARAMS)
    return cls.apply(a, **params) if b is None else cls.apply(a, b)
