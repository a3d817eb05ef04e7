"""Forward-mode automatic differentiation: ``lucid.autograd.forward_ad`` (``torch.autograd.forward_ad``).

Example::

    with forward_ad.dual_level():
        d = forward_ad.make_dual(x, t)         # x carrying the tangent t
        y = f(d)
        y_p, jvp = forward_ad.unpack_dual(y)   # f(x) and J_f(x) @ t

How it works: true forward mode, eager, one op at a time. While a dual level is open, a
``Function.apply`` interceptor (:func:`lucid.autograd.function.register_interceptor`) is registered;
outside one, ops pay nothing at all. When an input of an op carries a tangent, the op runs on
stand-ins of its floating inputs (identity nodes whose edge to the real input is filled in afterwards),
and the output tangent is that op's Jacobian-vector product, from the op's own backward by the
double-vjp trick applied to that single node: ``u -> backward(u)`` is linear, so
``d/du <backward(u), t> = J t``. Both backward passes stay inside the node (the stand-ins cut the graph),
so each op costs a constant, not its history. PyTorch-style custom Functions supply ``jvp(ctx, *tangents)``
(with ``ctx.save_for_forward``) instead, and, as in PyTorch, raise without one.

Tangents are ordinary differentiable tensors: when grad mode is on and an input (or a tangent) requires
grad, the tangent is recorded as a function of them, so ``lucid.autograd.grad`` of a tangent gives
Hessian-vector products. The other way round too, as in PyTorch: a backward pass run while the level is open
(``autograd.grad`` of a dual output) runs the ops' differentiable backward on tensors that keep their tangents
(an op's stand-ins and its saved outputs get them), so the gradients carry tangents: forward-over-reverse. Leaves'
``.grad`` carry none. Forward AD itself ignores grad mode, as PyTorch's.

Views and in-place ops, as in PyTorch: the tangent of a view is the same view of its base's tangent (views
made while the base had none find it later, through the view chain recorded while a level is open); an
in-place op writes its result's tangent into the tensor's tangent memory (zeros when the result has none),
giving a base without a tangent a zero one first. Integer and bool outputs get no tangent.

Choices where PyTorch differs or leaves it open: a tangent whose dtype differs from the primal's is cast to
it in ``make_dual`` (PyTorch keeps it so and casts at the first op; a complex tangent of a real primal then
loses its imaginary part with the same warning); ``make_dual`` of a non-tensor raises TypeError (PyTorch an
AttributeError); while tangents are recorded for a gradient, an in-place op replaces the tangent by an
updated copy instead of writing into it (the new tangent's graph may have saved the old one); a view made
before the level was entered keeps its own tangent when written in place, without updating its base's;
``lucid.utils.checkpoint`` runs its function without checkpointing while a level is open (PyTorch's
non-reentrant checkpoint passes tangents too). :func:`lucid.func.jvp` stays a whole-function double vjp:
one pair of backward passes per call, which per-op forward mode does not beat in eager Python.
"""

from __future__ import annotations

import collections
import contextlib
import weakref

from .._backend.device import DeviceMismatchError
from .._tensor import Tensor, register_methods
from . import function as _function
from . import grad_mode
from .backprop import grad as _grad
from .function import Function, edge_to
from .views import view_apply

__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor"]

# Tensor's defaults: a tangent (at the one level lucid has); for a view made while a level is open, how to rebuild
# it from its base, ``(parent chain, view op, params, output index)``, and ``(base tangent, the view of it)``: the
# tangent of such a view is always that view of its base's current tangent
register_methods({"_fw_grad": None, "_fw_view_fn": None, "_fw_view_cache": None})


class UnpackedDualTensor(collections.namedtuple("UnpackedDualTensor", ["primal", "tangent"])):
    """What :func:`unpack_dual` returns: the ``primal`` (a view without the tangent) and the ``tangent`` (or None)."""

    __slots__ = ()


class _Level:
    level = None  # 0 while the (only) dual level is open, as PyTorch numbers it
    handle = None  # the Function.apply interceptor's registration
    suspended = 0  # depth of _suspended() blocks: forward AD is off inside them
    opened = 0  # how many levels were opened: tells a node's output tangents of this level from older ones
    duals: weakref.WeakValueDictionary  # id -> tensor carrying a tangent: exiting the level drops them all


_state = _Level()


# ---- levels -------------------------------------------------------------------------------------------------------
def enter_dual_level() -> int:
    """Open the dual level (PyTorch allows one at a time) and return its number, 0."""
    if _state.level is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment: a dual level is already open "
                           "(exit it before entering another)")
    _state.level, _state.duals = 0, weakref.WeakValueDictionary()
    _state.opened += 1
    _resume()
    return 0


def exit_dual_level(*, level=None) -> None:
    """Close the dual level: every tangent made in it is dropped (``unpack_dual`` then gives None)."""
    if _state.level is None:
        raise RuntimeError("exit_dual_level: no dual level is open; enter one first with enter_dual_level() "
                           "(or `with dual_level():`)")
    if level is not None and level != _state.level:
        raise RuntimeError(f"Trying to exit a forward AD level that was not the last one that was created "
                           f"(level {level}; the open one is {_state.level}). This is not supported.")
    _pause()
    for t in list(_state.duals.values()):
        t.__dict__.pop("_fw_grad", None)
        t.__dict__.pop("_fw_view_cache", None)
    _state.level = None
    _state.duals = weakref.WeakValueDictionary()


class dual_level(contextlib.ContextDecorator):
    """``with dual_level():`` (or as a decorator): a dual level for the block; tangents die with it."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc) -> bool:
        exit_dual_level()
        return False


def _checked_level(level, what: str):
    """The open level, after checking ``level`` (None: the open one, if any) names it."""
    if level is not None and level != _state.level:
        raise RuntimeError(f"{what}: invalid level {level}: the open dual level is {_state.level}")
    return _state.level


# ---- dual tensors -------------------------------------------------------------------------------------------------
def make_dual(tensor, tangent, *, level=None) -> Tensor:
    """A view of ``tensor`` carrying ``tangent`` (same shape and device; cast to ``tensor``'s dtype) at the
    open dual level: ops on it compute their Jacobian-vector products along."""
    if _checked_level(level, "make_dual") is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() (or `with dual_level():`) first.")
    for name, t in (("primal", tensor), ("tangent", tangent)):
        if not isinstance(t, Tensor):
            raise TypeError(f"make_dual: the {name} must be a Tensor, got {type(t).__name__}")
        if t.dtype.kind not in "fc":
            raise ValueError(f"Expected {name} to be floating point or complex, but got: {t.dtype.name}")
    if tangent.shape != tensor.shape:
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    if tangent._device is not tensor._device:
        raise DeviceMismatchError(f"make_dual: the tangent is on {tangent._device} but the primal on "
                                  f"{tensor._device}; move the tangent with .to({str(tensor._device)!r})")
    if tangent_of(tensor) is not None:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward gradient at the same "
                           "level 0 is not supported; unpack_dual() it first and use its primal")
    if tangent_of(tangent) is not None:
        raise RuntimeError("Setting a forward grad that itself has a forward gradient at the same level 0 is not "
                           "supported; pass unpack_dual(tangent).primal")
    with _suspended():
        dual = tensor.view_as(tensor)
        if tangent.dtype is not tensor.dtype:
            tangent = tangent.to(tensor.dtype)
    _set_tangent(dual, tangent)
    return dual


def unpack_dual(tensor, *, level=None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor`` at the open level: the primal is a view without the tangent;
    the tangent is None when ``tensor`` carries none (or no level is open)."""
    if _checked_level(level, "unpack_dual") is None or not isinstance(tensor, Tensor):
        return UnpackedDualTensor(tensor, None)
    tangent = tangent_of(tensor)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    with _suspended():
        return UnpackedDualTensor(tensor.view_as(tensor), tangent)


def tangent_of(t: Tensor):
    """``t``'s tangent, or None. A view made while the level is open has the same view of its base's tangent
    (made again when the base's tangent was replaced)."""
    chain = t._fw_view_fn
    if chain is None:
        return t._fw_grad
    base_tangent = t._base._fw_grad
    if base_tangent is None:
        return None
    cache = t._fw_view_cache
    if cache is None or cache[0] is not base_tangent:
        with _suspended():
            cache = t._fw_view_cache = base_tangent, _replay(chain, base_tangent)
        _state.duals[id(t)] = t
    return cache[1]


def _replay(chain, base: Tensor) -> Tensor:
    """The view ``chain`` of ``base``, made by the view ops (so it is a view of ``base`` for autograd too)."""
    parent, cls, params, index = chain
    out = view_apply(cls, base if parent is None else _replay(parent, base), **params)
    return out if index is None else out[index]


def _set_tangent(t: Tensor, tangent: Tensor) -> None:
    t._fw_grad = tangent
    _state.duals[id(t)] = t


def _zeros(t: Tensor) -> Tensor:
    return Tensor._make(t._device.xp.zeros_like(t._data), t._device)


def _resume() -> None:
    """Hand ops to forward AD: the ``Function.apply`` interceptor and the other hooks."""
    _state.handle = _function.register_interceptor(_intercept)
    _function.set_dual_mode(_HOOKS)


def _pause() -> None:
    _state.handle.remove()
    _function.set_dual_mode(None)


@contextlib.contextmanager
def _suspended():
    """Run lucid without forward AD (the primal and tangent computations of one op): tangents propagate
    through no op run inside, and those ops pay nothing for it."""
    outermost = _state.suspended == 0
    if outermost:
        _pause()
    _state.suspended += 1
    try:
        yield
    finally:
        _state.suspended -= 1
        if outermost:
            _resume()


# ---- Function.apply ----------------------------------------------------------------------------------------------
class _StandIn(Function):
    """The identity, standing for one input of an op while its tangent is computed: its edge stays None then
    (the two backward passes end here, not in the input's history) and is set to the input's afterwards."""

    needs_input_grad = (False,)
    _edges = (None,)
    _out_meta = _function._ONE_DIFFERENTIABLE

    def backward(self, grad):
        return grad

    def vjp(self, grad):
        return grad

    def name(self) -> str:
        return "AliasBackward"


def _stand_in(x: Tensor) -> Tensor:
    node = object.__new__(_StandIn)
    node.device = x._device
    return Tensor._make(x._data, x._device, True, node, 0, x._version)


def _intercept(cls, inputs, params):
    """The ``Function.apply`` interceptor while a level is open: runs an op with a dual input and gives
    its floating outputs their tangents (None otherwise: the op runs as it is)."""
    tangents = [tangent_of(t) if isinstance(t, Tensor) else None for t in inputs]
    if all(t is None for t in tangents):
        return None
    with _suspended():
        return _dual_apply(cls, inputs, params, tangents)


def _dual_apply(cls, inputs, params, tangents):
    """``cls.apply(*inputs, **params)`` with the tangents of its outputs (see the module docstring)."""
    record = grad_mode.state.enabled
    stand_ins, wired = [], []
    for x, t in zip(inputs, tangents):
        if isinstance(x, Tensor) and (t is not None or (record and x.requires_grad)):
            s = _stand_in(x)
            if record and x._requires_grad:
                wired.append((s._node, x))
            stand_ins.append(s)
        else:
            stand_ins.append(x)
    higher = record and (bool(wired) or any(t is not None and t._requires_grad for t in tangents))
    with grad_mode.enable_grad():
        out = cls.apply(*stand_ins, **params)
        outs = out if type(out) is tuple else (out,)
        out_tangents = _jvp(outs, stand_ins, tangents, higher)
    for node, x in wired:  # the outputs and the tangents now reach the real inputs' histories
        node._edges, node.needs_input_grad = (edge_to(x),), (True,)
    if not wired:
        outs = tuple(Tensor._make(o._data, o._device) if isinstance(o, Tensor) else o for o in outs)
    for o, tangent in zip(outs, out_tangents):
        if tangent is not None:
            _set_tangent(o, tangent)
    # the saved inputs and outputs carry their tangents, so a backward run in the level differentiates
    # forward too (forward-over-reverse)
    for s, t in zip(stand_ins, tangents):
        if t is not None:
            _set_tangent(s, t)
    node = outs[0]._node if wired and isinstance(outs[0], Tensor) else None
    if node is not None:
        node._fw_out_tangents = _state.opened, out_tangents
    return outs if type(out) is tuple else outs[0]


def _jvp(outs, stand_ins, tangents, higher) -> list:
    """Per output, ``J t`` summed over the dual inputs (None for outputs that are not floating): the
    double-vjp trick on the single node that made ``outs``."""
    floating = [isinstance(o, Tensor) and o._data.dtype in o._device.floating for o in outs]
    pairs = [(s, t) for s, t in zip(stand_ins, tangents) if t is not None]
    linked = [i for i, o in enumerate(outs) if floating[i] and o._requires_grad]
    result = [None] * len(outs)
    if linked:
        us = [Tensor._make(o._device.xp.zeros_like(o._data), o._device, True) for o in (outs[i] for i in linked)]
        vjps = _grad([outs[i] for i in linked], [s for s, _ in pairs], us, create_graph=True, allow_unused=True)
        live = [(g, t) for g, (_, t) in zip(vjps, pairs) if g is not None and g._requires_grad]
        if live:
            jvps = _grad([g for g, _ in live], us, [t for _, t in live], retain_graph=True, create_graph=higher,
                         allow_unused=True)
            for i, j in zip(linked, jvps):
                result[i] = j
    tangent_arrays = [t._data for _, t in pairs]
    for i, o in enumerate(outs):
        if not floating[i]:
            continue
        j = result[i]
        if j is None:  # the output does not depend on the dual inputs (or only piecewise constantly)
            j = _zeros(o)
        elif j.dtype is not o.dtype:
            j = j.to(o.dtype)
        if any(o._device.backend.shares_memory(j._data, a) for a in tangent_arrays):
            j = j.clone()  # an output tangent owns its memory: an in-place op writes into it
        result[i] = j
    return result


# ---- PyTorch-style Functions, views, in-place ops (called through function.dual_mode) ----------------------------
class _JvpCtx:
    """The ``ctx`` a custom Function's ``jvp`` sees: its forward's ctx, whose ``saved_tensors`` are the tensors
    passed to ``save_for_forward``."""

    def __init__(self, ctx):
        object.__setattr__(self, "_ctx", ctx)

    @property
    def saved_tensors(self) -> tuple:
        return tuple(self._ctx._saved_for_forward)

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    def __setattr__(self, name, value):
        setattr(self._ctx, name, value)


class _Hooks:
    """What :mod:`lucid.autograd.function`, :mod:`~lucid.autograd.views` and the in-place ops call (as
    ``function.dual_mode``) while a level is open."""

    @staticmethod
    def apply_custom(cls, args, kwargs):
        """A PyTorch-style Function: forward as usual, then the outputs' tangents from its ``jvp`` (tensor
        inputs without a tangent pass zeros, as in PyTorch)."""
        tangents = [tangent_of(a) if isinstance(a, Tensor) else None for a in args]
        ctx = object.__new__(cls._ctx_class)
        if all(t is None for t in tangents):
            return _function.run_torch_style(cls, ctx, args, kwargs)
        if getattr(cls, "jvp", None) is None:
            raise NotImplementedError(f"You must implement the jvp function for custom autograd.Function "
                                      f"{cls.__name__} to use it with forward mode AD (a staticmethod "
                                      f"jvp(ctx, *tangents) returning one tangent per output)")
        with _suspended():
            output = _function.run_torch_style(cls, ctx, args, kwargs)
            tangents = [t if t is not None or not isinstance(a, Tensor) or a.dtype.kind not in "fc"
                        else _zeros(a) for a, t in zip(args, tangents)]
            result = cls.jvp(_JvpCtx(ctx), *tangents)
        outs = output if isinstance(output, tuple) else (output,)
        result = result if isinstance(result, tuple) else (result,)
        if len(result) != len(outs):
            raise RuntimeError(f"{cls.__name__}.jvp returned {len(result)} tangents for {len(outs)} outputs")
        for i, (o, t) in enumerate(zip(outs, result)):
            if isinstance(o, Tensor) and t is not None and o.dtype.kind in "fc":
                if not isinstance(t, Tensor) or t.shape != o.shape:
                    raise RuntimeError(f"{cls.__name__}.jvp returned a tangent of shape "
                                       f"{getattr(t, 'shape', type(t).__name__)} for output {i} of shape {o.shape}")
                _set_tangent(o, t)
        return output

    @staticmethod
    def view_apply(cls, x, params):
        """A view op. A view of ``x``'s base records its chain from the base: its tangent is that view of the base's
        tangent, whenever the base has one. Other outputs (a copy, or a view of a view made before the level was
        entered) get the same op of ``x``'s tangent."""
        with _suspended():
            out = view_apply(cls, x, **params)
        single = type(out) is not tuple
        outs = (out,) if single else out
        chained = x._base is None or x._fw_view_fn is not None
        loose = []
        for i, o in enumerate(outs):
            if chained and o._base is not None:
                o._fw_view_fn = (x._fw_view_fn, cls, params, None if single else i)
            elif o.dtype.kind in "fc":
                loose.append(i)
        tangent = tangent_of(x) if loose else None
        if tangent is not None:
            with _suspended():
                tangents = view_apply(cls, tangent, **params)
            tangents = (tangents,) if single else tangents
            for i in loose:
                t = tangents[i]
                if outs[i]._base is None and x._device.backend.shares_memory(t._data, tangent._data):
                    t = t.clone()  # the op copied (reshape of a transposed tensor): so does its tangent
                _set_tangent(outs[i], t)
        return out

    @staticmethod
    def detached(t: Tensor) -> Tensor:
        """``t`` without its history, keeping its tangent (also without history): what ``autograd.grad`` without
        ``create_graph`` returns from the recorded backward pass that gave the tangent."""
        tangent = tangent_of(t)
        with _suspended():
            out = t.detach()
            if tangent is not None:
                _set_tangent(out, tangent.detach())
        return out

    @staticmethod
    def saved_output(node, index: int, t: Tensor) -> None:
        """``t`` is output ``index`` of ``node``, rebuilt from what the node saved: it gets the tangent that
        output was given in this level."""
        opened, tangents = getattr(node, "_fw_out_tangents", (None, None))
        if opened == _state.opened and tangents[index] is not None:
            _set_tangent(t, tangents[index])

    @staticmethod
    def reshaped(t: Tensor, out: Tensor) -> None:
        """``t`` just took the shape of its view ``out`` in place (``unsqueeze_``, ``t_`` ...): so does its tangent."""
        if t._fw_view_fn is not None:
            t._fw_view_fn, t._fw_view_cache = out._fw_view_fn, None
        else:
            tangent = tangent_of(out)
            if tangent is not None:
                _set_tangent(t, tangent)

    @staticmethod
    def share_tangent(t: Tensor, copy: Tensor) -> None:
        """``copy`` (of ``t``'s value, made by an in-place op to compute from) carries ``t``'s tangent."""
        tangent = tangent_of(t)
        if tangent is not None:
            _set_tangent(copy, tangent)

    @staticmethod
    def assign(t: Tensor, result: Tensor) -> None:
        """``result`` was just written into ``t`` in place: so is its tangent (zeros without one) into ``t``'s
        tangent, which a view shares with its base's (a base without one gets zeros first). In place in the
        tangent's memory, as PyTorch; but while the tangents are recorded for a gradient, into a copy that
        replaces it (the graph of the new tangent may have saved the old one)."""
        value, target = tangent_of(result), tangent_of(t)
        if value is None and target is None:
            return
        recorded = grad_mode.state.enabled and any(v is not None and v._requires_grad for v in (value, target))
        with _suspended():
            if value is None:
                value = _zeros(t)
            if target is not None and not recorded:
                target.copy_(value)
            elif t._fw_view_fn is None:  # t's own tangent
                _set_tangent(t, value.clone())
            else:
                base = t._base
                tangent = _zeros(base) if base._fw_grad is None else base._fw_grad.clone()
                _replay(t._fw_view_fn, tangent).copy_(value)
                _set_tangent(base, tangent)


_HOOKS = _Hooks()
