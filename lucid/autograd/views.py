"""Views and in-place autograd, as PyTorch does it.

A view shares storage and version counter with its *base* (the tensor that owns the memory; a
view of a view points at the same base) and remembers how to rebuild itself from the base
(a :class:`ViewFn`: the chain of view ops with their parameters). Two things follow:

* An in-place op on a view writes into the base's memory, and :func:`rebase` rewrites the
  base's history with a :class:`CopySlices` node: the gradient of the base is the incoming
  gradient with the view's region zeroed, plus, inside the region, the gradient of the value
  written there. The view's own history becomes "the view of the new base".
* Every other view of that base is then stale. It notices lazily: its ``_view_stamp`` (the base's
  node when its history was last set) no longer matches, and :func:`refresh` replays its
  ``ViewFn`` on the base the next time its history is read (by an op, ``grad_fn``, backward).

The cost: one attribute read per op input (is it a view?), a small ``ViewFn`` per view op, and,
for an in-place op on a view while recording, one replay of the view chain. Views made under
``no_grad`` share storage but carry no ``ViewFn``; changing them in place while recording is an
error, as in PyTorch.
"""

from __future__ import annotations

from .._tensor import RetainGradHook, Tensor, is_inference_mode_enabled, register_methods
from . import function as _function
from . import grad_mode
from .function import Function, rename_node

__all__ = ["ViewFn", "CopySlices", "view_apply", "rebase", "refresh", "check_writable"]


class ViewFn(tuple):
    """How a view is rebuilt from its base: ``(parent, cls, params, index)``: ``parent`` is the ViewFn
    of the tensor it was taken from (None for the base itself), then ``cls.apply(x, **params)`` and
    output ``index`` (None for a single output). A tuple: one is made per view op, so it must be cheap."""

    __slots__ = ()

    def __call__(self, base: Tensor) -> Tensor:
        parent, cls, params, index = self
        out = cls.apply(base if parent is None else parent(base), **params)
        return out if index is None else out[index]

    def _chain(self):
        vf = self
        while vf is not None:
            yield vf
            vf = vf[0]

    @property
    def overlapping(self) -> bool:
        """Several elements of the view may share one memory location (expand, unfold): no writes."""
        return any(vf[1].overlapping for vf in self._chain())

    @property
    def multi(self) -> bool:
        """One of several views one op returned (split, chunk, unbind): no recorded writes, as PyTorch."""
        return any(vf[3] is not None for vf in self._chain())


_new_view_fn = tuple.__new__


def view_apply(cls, x: Tensor, **params):
    """``cls.apply(x, **params)`` for a view op: each output that shares ``x``'s memory becomes a
    view of ``x``'s base (an op may fall back to a copy, as ``reshape`` of a transposed tensor does). A NumPy
    scalar in ``x`` (what a full reduction returns) becomes a 0-d array first, so that the view shares it."""
    if _function.dual_mode is not None:  # forward AD: the view's tangent is the same view of x's tangent
        return _function.dual_mode.view_apply(cls, x, params)
    x._writable_data()
    out = cls.apply(x, **params)
    if type(out) is tuple:
        for i, o in enumerate(out):
            _mark(o, x, cls, params, i)
    else:
        _mark(out, x, cls, params, None)
    return out


def _mark(out: Tensor, x: Tensor, cls, params, index) -> None:
    if cls.may_copy and not x._device.backend.shares_memory(out._data, x._data):
        return
    base = x._base
    if base is None:
        base, parent, tracked = x, None, True
    else:
        parent = x._view_fn
        tracked = parent is not None
    out._base, out._version, out._view_stamp = base, base._version, base._node
    if base._is_inference:  # a view of an inference tensor is one too (PyTorch): no writes outside the mode
        out._is_inference = True
    if tracked and grad_mode.state.enabled:
        out._view_fn = _new_view_fn(ViewFn, (parent, cls, params, index))


def refresh(t: Tensor) -> Tensor:
    """Bring a view's history up to date after its base was changed in place (no-op otherwise)."""
    base = t._base
    if base is not None and t._view_stamp is not base._node and t._view_fn is not None:
        with grad_mode.enable_grad():
            rebuilt = t._view_fn(base)
        if rebuilt._node is not base._node and rebuilt.dtype is base.dtype:  # PyTorch rebuilds it by as_strided
            rename_node(rebuilt, "AsStrided")
        old = t._node, t._out_idx
        t._node, t._out_idx, t._requires_grad = rebuilt._node, rebuilt._out_idx, rebuilt._requires_grad
        t._view_stamp = base._node
        _carry_retain_grad(t, *old)
    return t


def _carry_retain_grad(t: Tensor, node, index) -> None:
    """``t``'s history just changed from output ``index`` of ``node``: a ``retain_grad`` of ``t`` moves to the
    new history, as in PyTorch, so that ``t.grad`` is the gradient of the value ``t`` holds now (hooks from
    ``register_hook`` stay where they were: they see the gradient of the old value)."""
    chain = node._out_hooks.get(index) if node is not None and node._out_hooks else None
    for hook in chain or ():
        if isinstance(hook, RetainGradHook) and hook.ref() is t:
            chain.remove(hook)
            t.retain_grad()
            return


def check_writable(t: Tensor, recording: bool, what: str) -> None:
    """Refuse an in-place write that PyTorch refuses: into a view whose elements overlap in memory;
    and while recording, into a leaf that requires grad (or a view of one), through a view made under
    no_grad, or into one of several views returned by one op. A tensor holding a NumPy scalar (what a
    full reduction returns) gets a 0-d array in its place, so that it can be written."""
    if not hasattr(t._data, "__setitem__"):
        t._data = t._device.create("asarray", t._data, copy=True)
    base = t._base if t._base is not None else t
    if t._is_inference and not is_inference_mode_enabled():
        raise RuntimeError(f"{what}: Inplace update to inference tensor outside InferenceMode is not allowed; "
                           f"clone() it first")
    if t._base is not None and t._view_fn is not None and t._view_fn.overlapping:
        raise RuntimeError(
            f"{what}: unsupported operation: more than one element of the written-to tensor (a view made by "
            f"expand/broadcast_to/unfold) refers to a single memory location. Please clone() the tensor first."
        )
    if not recording:
        return
    if base._node is None and base._requires_grad:
        whose = "a view of a leaf tensor" if t._base is not None else "a leaf tensor"
        raise RuntimeError(
            f"{whose} that requires grad is used in an in-place operation ({what}); wrap it in "
            f"`with lucid.no_grad():` or use an out-of-place operation"
        )
    if t._view_fn is not None and t._view_fn.multi:
        raise RuntimeError(
            f"{what}: this tensor is one of several views returned by one op (split, chunk, unbind) and is "
            f"being modified in place while autograd records; as in PyTorch this is not allowed. Use an "
            f"out-of-place operation, or clone() the piece first."
        )
    if t._base is not None and t._view_fn is None:
        raise RuntimeError(
            f"{what}: a view was created in no_grad mode and is being modified in place with grad mode "
            f"enabled. Create the view and modify it both inside the no_grad block (not recorded) or both "
            f"outside it (recorded)."
        )


class CopySlices(Function):
    """The base after ``value`` was written into the region ``view`` of it (``view`` None: all of
    it). Forward returns the base's array, already written; backward sends the gradient outside the
    region to the old base and the gradient inside it to ``value``."""

    torch_name, torch_overload = "torch::autograd::CopySlices", None  # PyTorch's node (a whole name, unnumbered)

    def forward(self, base, value, view, layout):
        self.view, self.layout = view, layout
        return base

    def backward(self, g):
        need = self.needs_input_grad
        g_base = g_value = None
        if self.view is None:  # all of it overwritten: zeros for the old value, as PyTorch
            if need[0]:
                g_base = Tensor._make(self.xp.zeros_like(g._data), self.device)
            return g_base, g if need[1] else None
        if need[0]:
            mask = self._outside_mask()
            if self.xp.isdtype(mask._data.dtype, "complex floating"):  # each part masked on its own: a write
                xp = self.xp  # through z.real keeps the imaginary part's gradient
                parts = [Tensor._make(f(mask._data), self.device) for f in (xp.real, xp.imag)]
                g_base = g.real * parts[0] + (g.imag * parts[1]) * 1j
            else:
                g_base = g * mask
        if need[1]:
            g_value = self.view(g)
        return g_base, g_value

    def _outside_mask(self) -> Tensor:
        """Ones with the base's memory layout, zero inside the region (so the view replays as a view); for a
        complex base ``1 + 1j``, so that a view of one part (``z.real``) zeroes only that part."""
        mask = Tensor._make(self.xp.ones_like(self.layout), self.device)
        if self.xp.isdtype(mask._data.dtype, "complex floating"):  # 1 + 1j: the parts of the region zero apart
            mask._data = mask._data * (1 + 1j)
        with grad_mode.no_grad():
            region = self.view(mask)
            region._data[...] = 0
        return mask


def rebase(t: Tensor, value: Tensor, overwrites: bool, node: tuple | None = None) -> None:
    """Record that ``value`` (shaped as ``t``) was just written into ``t``'s memory. ``overwrites``:
    ``value`` was not computed from ``t`` (``copy_``, ``fill_``), so ``t``'s old history gets zeros.
    ``node``: PyTorch's node of the op (``rename_node``'s name and overload) where ``t`` is no view; ``t`` then
    takes a node of its own, else it takes ``value``'s where it can (``add_``'s ``AddBackward0``)."""
    base = t._base
    if base is None:
        old = t._node, t._out_idx
        if value._node is not None and node is None and not (overwrites and t._requires_grad):
            t._node, t._out_idx = value._node, value._out_idx
        else:
            new = CopySlices.apply(t, value, view=None, layout=None)
            t._node, t._out_idx = rename_node(new, *node)._node if node else new._node, 0
        t._requires_grad = True
        _carry_retain_grad(t, *old)
        return
    new = CopySlices.apply(base, value, view=t._view_fn, layout=base._data)
    old = base._node, base._out_idx
    base._node, base._out_idx, base._requires_grad = new._node, 0, True
    _carry_retain_grad(base, *old)
    refresh(t)


def _is_view(t: Tensor) -> bool:
    """Whether this tensor shares its base's storage as a view (``t._base`` is the base)."""
    return t._base is not None


register_methods({"_refresh_view": refresh, "_is_view": _is_view})
