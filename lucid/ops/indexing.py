"""Indexing: ``x[key]``, ``x[key] = value``, gather/scatter, masks, selection and sorting.

Every indexing op first makes a *plan* of the elements it touches in an input of a given
shape. A plan can ``gather`` them (read), ``scatter`` values into them in a zeros array
(repeated positions accumulate, through the backend's ``add_at``) and ``write`` them
(replace; of repeated positions the last write wins). Three Functions run plans: ``Index``
(read), ``IndexAdd`` (accumulate) and ``IndexPut`` (replace). ``Index`` and ``IndexAdd``
are each other's backward, so gradients of any order work and repeated indices add up.

Two kinds of plan:

- ``_Key`` for ``x[key]``: the basic part of the key (ints, slices, None) is one standard
  ``x[...]`` (a view), then the advanced part (integer arrays, boolean masks as their
  ``nonzero``) is one ``xp.take`` along a merged axis, because the array API standard does
  not allow integer arrays mixed with slices in ``x[...]``. Order of result dims follows
  PyTorch: ints are applied first, then the advanced result dims go where the indexed axes
  were if those are adjacent, else in front.
- ``_Positions``, flat positions into the input, for gather/scatter and for the writes of
  advanced ``x[key] = value``: the standard has no integer-array setitem, so a write is a
  ``where`` over the whole array that finds each position's value with ``searchsorted``.

Host syncs: integer-array indexing, gather, scatter and writes wait for nothing (index ranges are
checked on host devices only, see ``_in_range``); boolean masks, ``nonzero`` and ``unique`` do, as
in PyTorch, because the size of their result is data.
"""

from __future__ import annotations

import functools
import math
import numbers
import operator

from .. import dtypes as _dt
from .._backend import arrays
from .._backend.device import DeviceMismatchError, on_input_device
from .._tensor import Tensor
from .._typeinfo import iinfo
from ..autograd import function as _function
from ..autograd import grad_mode
from ..autograd.function import Function, rename_node
from ..autograd.views import CopySlices, check_writable, view_apply
from ..return_types import return_type
from . import _axes
from .arithmetic import operands, unbroadcast
from .complexes import refuse_unordered
from .inplace import assign, tracked
from .reshaping import broadcast_shapes

__all__ = [
    "gather", "scatter_add", "index_select", "take_along_dim", "masked_fill", "where",
    "nonzero", "topk", "sort", "argsort", "unique",
]


# ---- small helpers ----------------------------------------------------------------------
def _dim(dim, ndim: int) -> int:
    return _axes.normalize(int(dim), ndim)[0]


def _strides(shape) -> list[int]:
    """Row-major strides, in elements."""
    out, step = [], 1
    for n in reversed(shape):
        out.append(step)
        step *= n
    return out[::-1]


def _inverse(perm):
    return [perm.index(i) for i in range(len(perm))]


def _int64(xp, arr):
    return arr if arr.dtype == xp.int64 else xp.astype(arr, xp.int64)


def _value_array(v, like, device):
    """``v`` (an array or a Python number) as an array of ``like``'s dtype."""
    return v if hasattr(v, "shape") else device.xp.asarray(v, dtype=like.dtype, device=device.native)


def _cast_scalar(value, dtype: _dt.DType):
    """A Python number converted to ``dtype``'s kind (PyTorch casts values written into a tensor)."""
    return {"f": float, "i": int, "u": int, "b": bool, "c": complex}[dtype.kind](value)


def _in_range(device, idx, n: int, what: str, dim: int, negative: bool, error: type = RuntimeError):
    """``idx`` (int64) with negative entries wrapped when ``negative`` is allowed; ``error`` (PyTorch's class:
    IndexError for ``x[i]``, RuntimeError for gather/scatter/index_add) naming the first bad index if any is out
    of range. The check reads the indices, so it runs on
    host devices only: elsewhere it would sync every call, and bad indices are the caller's error
    (PyTorch checks them on CUDA with an asynchronous device assert)."""
    xp = device.xp
    low = -n if negative else 0
    if device.host and math.prod(idx.shape):
        least = int(xp.min(idx))  # the extremes: two reductions, no temporaries
        if least < low or int(xp.max(idx)) >= n:
            bad = idx[(idx < low) | (idx >= n)]
            raise error(f"{what}: index {int(bad[0])} is out of bounds for dimension {dim} with size {n}")
        negative = negative and least < 0  # nothing to wrap
    return xp.where(idx < 0, idx + n, idx) if negative else idx


def _slice(s: slice, n: int) -> tuple[slice, int]:
    """``s`` on an axis of size ``n`` in a form every backend accepts (array-api-strict refuses
    out-of-bounds stops), and the number of elements it selects. Negative steps work (as NumPy)."""
    start, stop, step = s.indices(n)
    count = len(range(start, stop, step))
    if count == 0:
        return slice(0, 0), 0
    end = start + count * step
    if (start, end, step) == (0, n, 1):
        return slice(None), n
    return slice(start, end if 0 <= end < n else None, step), count


def _same_device(t: Tensor, x: Tensor, what: str) -> None:
    if t._device is not x._device:
        raise DeviceMismatchError(
            f"{what}: the index/mask is on {t._device} but the tensor is on {x._device}; move it there "
            f"first with .to('{x._device}')"
        )


def _index_arg(index, x: Tensor, what: str) -> Tensor:
    """An integer index tensor on ``x``'s device (lists are placed there)."""
    if not isinstance(index, Tensor):
        index = Tensor(index, device=x._device)
    _same_device(index, x, what)
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"{what}: the index must be an integer tensor, got {index.dtype.name}")
    return index


def _mask_arg(mask, x: Tensor, what: str) -> Tensor:
    if not isinstance(mask, Tensor):
        mask = Tensor(mask, device=x._device)
    _same_device(mask, x, what)
    if mask.dtype is not _dt.bool_:
        raise TypeError(f"{what}: the mask must be a bool tensor, got {mask.dtype.name} (compare first, e.g. m != 0)")
    return mask


def _boundaries(xp, ordered, device):
    """``ordered[1:] != ordered[:-1]``: where a sorted 1-D array changes value (length n - 1)."""
    if ordered.shape[0] < 2:
        return xp.zeros((0,), dtype=xp.bool, device=device.native)
    return ordered[1:] != ordered[:-1]


# ---- plans ------------------------------------------------------------------------------
class _RowWrites:
    """Writes of whole rows (along axis 0) at the 1-D int64 ``index``, the last write to a repeated row
    winning. The plans below set ``index``; its stable sort is made once, when the generic ``written`` of a
    forward or :meth:`_last_wins` of its backward first asks (NumPy's ``written`` needs none)."""

    device = index = None
    _sorted = None

    def _order(self):
        if self._sorted is None:
            self._sorted = self.device.backend.stable_argsort(self.index, 0, False)
        return self._sorted

    def _write_rows(self, rows, values):
        """A copy of ``rows`` (``(n, ...)``) with ``values[k]`` written at row ``index[k]``."""
        return self.device.backend.written(rows, self.index, values, self._order)

    def _last_wins(self, n: int):
        """Bool ``(len(index),)``: whether each entry is the last write to its row (of ``n`` rows); the entries'
        numbers are written as values are, then read back at each entry's row."""
        xp, native = self.device.xp, self.device.native
        entries = xp.arange(self.index.shape[0], dtype=xp.int64, device=native)
        last = self._write_rows(xp.full((n,), -1, dtype=xp.int64, device=native), entries)
        return xp.take(last, self.index) == entries


class _Positions(_RowWrites):
    """The elements at flat positions ``pos`` (an in-range int64 array of any shape) of an array
    of ``shape``; the result of ``gather`` has ``pos``'s shape."""

    views = False  # gather returns a new array

    def __init__(self, device, pos, shape):
        self.device, self.shape, self.region = device, tuple(shape), tuple(pos.shape)
        self.pos, self.index = pos, device.xp.reshape(pos, (-1,))

    def gather(self, x):
        return self.device.backend.gathered(x, self.pos)

    def scatter(self, src):
        return self.device.backend.scattered(self.shape, self.index, self.device.xp.reshape(src, (-1,)))

    def write(self, x, v):
        xp = self.device.xp
        values = xp.reshape(xp.broadcast_to(_value_array(v, x, self.device), self.region), (-1,))
        return xp.reshape(self._write_rows(xp.reshape(x, (-1,)), values), self.shape)

    def winners(self):
        """Bool array of ``pos``'s shape: which entries' writes survive (the last of each repeat)."""
        return self.device.xp.reshape(self._last_wins(math.prod(self.shape)), self.region)


def _parse(e, x: Tensor):
    """One entry of an index key as ``(kind, payload)``."""
    if e is None:
        return "new", None
    if e is Ellipsis:
        return "ellipsis", None
    if isinstance(e, slice):
        return "slice", e
    if isinstance(e, bool):
        return "bool", e
    if isinstance(e, (list, tuple)):
        t = Tensor(e, device=x._device)
        if t.numel() == 0 and t.dtype.kind == "f":  # x[[]] selects nothing
            t = t.to(_dt.int64)
    elif isinstance(e, Tensor):
        t = e
    else:
        try:
            return "int", operator.index(e)
        except TypeError:
            if not hasattr(e, "__array__") and not hasattr(e, "__dlpack__"):
                raise IndexError(
                    f"only integers, slices, ellipsis (...), None, lists and integer or bool tensors are "
                    f"valid indices, got {type(e).__name__}"
                ) from None
        t = Tensor(e)
    _same_device(t, x, "indexing")
    if t.dtype.kind == "b":
        return ("bool", bool(t)) if t.ndim == 0 else ("mask", t._data)
    if t.dtype.kind in "iu":
        return "index", t._data
    raise IndexError(f"tensors used as indices must be integer or bool tensors, got {t.dtype.name}")


def _expand_ellipsis(items, ndim: int):
    consumed = sum(1 if k in ("int", "slice", "index") else p.ndim if k == "mask" else 0 for k, p in items)
    ellipses = [i for i, (k, _) in enumerate(items) if k == "ellipsis"]
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > ndim:
        raise IndexError(f"too many indices for a tensor of dimension {ndim} (the index uses {consumed})")
    fill = [("slice", slice(None))] * (ndim - consumed)
    if ellipses:
        return items[:ellipses[0]] + fill + items[ellipses[0] + 1:]
    return items + fill


class _Key(_RowWrites):
    """``x[key]`` as a plan (see the module docstring)."""

    def __init__(self, x: Tensor, key):
        self.device, self.shape = x._device, x.shape
        xp, shape = x.xp, x.shape
        items = _expand_ellipsis([_parse(e, x) for e in (key if isinstance(key, tuple) else (key,))], x.ndim)
        basic, y_shape, new_axes, adv = [], [], set(), []
        a = 0  # the axis of x the next entry indexes
        for kind, p in items:
            if kind in ("new", "bool"):
                if kind == "bool":  # as PyTorch: a new axis, kept (True) or emptied (False)
                    adv.append((len(y_shape), xp.arange(int(p), dtype=xp.int64, device=self.device.native)))
                new_axes.add(len(y_shape))
                basic.append(None)
                y_shape.append(1)
            elif kind == "int":
                n = shape[a]
                if not -n <= p < n:
                    raise IndexError(f"index {p} is out of bounds for dimension {a} with size {n}")
                basic.append(p % n)
                a += 1
            elif kind == "slice":
                s, count = _slice(p, shape[a])
                basic.append(s)
                y_shape.append(count)
                a += 1
            elif kind == "index":
                p = _in_range(self.device, _int64(xp, p), shape[a], "indexing", a, negative=True, error=IndexError)
                adv.append((len(y_shape), p))
                basic.append(slice(None))
                y_shape.append(shape[a])
                a += 1
            else:  # a boolean mask over the next p.ndim axes
                covered = shape[a:a + p.ndim]
                if tuple(p.shape) != covered:
                    raise IndexError(
                        f"the boolean mask of shape {tuple(p.shape)} does not match the shape {covered} of the "
                        f"indexed tensor (shape {shape}) at dimension {a}"
                    )
                for idx in xp.nonzero(p):
                    adv.append((len(y_shape), _int64(xp, idx)))
                    basic.append(slice(None))
                    y_shape.append(shape[a])
                    a += 1
        self.basic = tuple(basic) + (Ellipsis,) if any(b != slice(None) for b in basic) else None
        self.set_key = tuple(b for b in basic if b is not None) + (Ellipsis,)
        self.set_shape = tuple(n for i, n in enumerate(y_shape) if i not in new_axes)
        self.region = self.y_shape = tuple(y_shape)
        self.views = not adv  # basic indexing gives views of x
        if adv:
            self._plan_advanced(adv)

    def _plan_advanced(self, adv):
        """The merged-axis ``take`` for the integer arrays ``adv`` = [(axis of the basic result, array)]."""
        xp, y_shape = self.device.xp, self.y_shape
        axes = [p for p, _ in adv]
        arrays = xp.broadcast_arrays(*[arr for _, arr in adv]) if len(adv) > 1 else [adv[0][1]]
        linear = arrays[0]
        for p, arr in zip(axes[1:], arrays[1:]):
            linear = linear * y_shape[p] + arr
        self.linear = self.index = xp.reshape(linear, (-1,))  # the rows of the merged axes (_RowWrites' index)
        rest = [i for i in range(len(y_shape)) if i not in axes]
        order = axes + rest
        self.perm_in = order if order != sorted(order) else None
        self.unmerged = tuple(y_shape[i] for i in order)
        rest_shape = tuple(y_shape[i] for i in rest)
        self.merged = (math.prod(y_shape[p] for p in axes), *rest_shape)
        batch = tuple(linear.shape)
        self.taken = (*batch, *rest_shape)
        lead = axes[0] if axes == list(range(axes[0], axes[0] + len(axes))) else 0
        b, r = len(batch), len(rest)
        self.perm_out = [*range(b, b + lead), *range(b), *range(b + lead, b + r)] if lead else None
        self.region = (*rest_shape[:lead], *batch, *rest_shape[lead:])
        self.batch_in_region = (*(1,) * lead, *batch, *(1,) * (r - lead))  # batch's place among region's axes

    def gather(self, x):
        xp = self.device.xp
        y = x[self.basic] if self.basic is not None else x
        if self.views:
            return y
        if self.perm_in:
            y = xp.permute_dims(y, self.perm_in)
        y = arrays.reshaped(xp, xp.take(xp.reshape(y, self.merged), self.linear, axis=0), self.taken)
        return xp.permute_dims(y, self.perm_out) if self.perm_out else y

    def scatter(self, src):
        xp, dev = self.device.xp, self.device
        y = src
        if not self.views:
            if self.perm_out:
                y = xp.permute_dims(y, _inverse(self.perm_out))
            rows = xp.zeros(self.merged, dtype=src.dtype, device=dev.native)
            dev.backend.add_at(rows, self.linear, xp.reshape(y, (self.linear.shape[0], *self.merged[1:])))
            y = arrays.reshaped(xp, rows, self.unmerged)
            if self.perm_in:
                y = xp.permute_dims(y, _inverse(self.perm_in))
        if self.basic is None:
            return y
        out = xp.zeros(self.shape, dtype=src.dtype, device=dev.native)
        out[self.set_key] = xp.reshape(y, self.set_shape)
        return out

    def write_into(self, x, v) -> None:
        """Replace the planned elements of the array ``x`` by ``v``, in place."""
        if not self.views:
            x[...] = self.write(x, v)
            return
        xp = self.device.xp
        x[self.set_key] = xp.reshape(xp.broadcast_to(_value_array(v, x, self.device), self.region), self.set_shape)

    def write(self, x, v):
        """A copy of ``x`` with the planned elements replaced by ``v``. Advanced keys write whole rows of the
        merged axes (``x[basic]`` permuted and reshaped as ``gather`` reads it), then put them back."""
        xp = self.device.xp
        if self.views:
            out = xp.asarray(x, copy=True)
            self.write_into(out, v)
            return out
        values = xp.broadcast_to(_value_array(v, x, self.device), self.region)
        if self.perm_out:
            values = xp.permute_dims(values, _inverse(self.perm_out))
        block = x[self.basic] if self.basic is not None else x
        if self.perm_in:
            block = xp.permute_dims(block, self.perm_in)
        rows = self._write_rows(xp.reshape(block, self.merged), xp.reshape(values, (-1, *self.merged[1:])))
        block = xp.reshape(rows, self.unmerged)
        if self.perm_in:
            block = xp.permute_dims(block, _inverse(self.perm_in))
        if self.basic is None:
            return block
        out = xp.asarray(x, copy=True)
        out[self.set_key] = xp.reshape(block, self.set_shape)
        return out

    def winners(self):
        """None for views, else bool, broadcasting to ``region``: which entries' writes survive (the last of
        each repeated row of the merged axes)."""
        if self.views:
            return None
        return self.device.xp.reshape(self._last_wins(self.merged[0]), self.batch_in_region)


# ---- the Functions ------------------------------------------------------------------------
class Index(Function):
    """Read the planned elements. Backward scatters the gradient into zeros (``IndexAdd``)."""

    def forward(self, x, plan):
        self.plan = plan
        return plan.gather(x)

    def backward(self, g):
        return IndexAdd.apply(None, g, plan=self.plan)


class IndexAdd(Function):
    """``base + scatter(src)`` (``base`` None: zeros); repeated positions accumulate."""

    def forward(self, base, src, plan):
        self.plan = plan
        out = plan.scatter(src)
        return out if base is None else base + out

    def backward(self, g):
        need = self.needs_input_grad
        return (g if need[0] else None), (Index.apply(g, plan=self.plan) if need[1] else None)


class IndexPut(Function):
    """``x`` with the planned elements replaced by ``v`` (an array broadcast to them, or a
    number). Of repeated positions the last write wins, and only it gets a gradient."""

    def forward(self, x, v, plan):
        self.plan, self.v_shape = plan, getattr(v, "shape", ())
        return plan.write(x, v)

    def backward(self, g):
        need = self.needs_input_grad
        gx = IndexPut.apply(g, 0.0, plan=self.plan) if need[0] else None
        gv = None
        if need[1]:
            gv = Index.apply(g, plan=self.plan)
            winners = self.plan.winners()
            if winners is not None:
                gv = Where.apply(gv, 0.0, cond=winners)
            gv = unbroadcast(gv, self.v_shape)
        return gx, gv


class Where(Function):
    """``cond ? a : b`` elementwise, broadcasting; ``a``/``b`` may be Python numbers."""

    def forward(self, a, b, cond):
        self.cond, self.shapes = cond, (getattr(a, "shape", ()), getattr(b, "shape", ()))
        out = self.xp.where(cond, a, b)
        # NumPy widens ml_dtypes' bfloat16 against a Python number that comes first; the number is weak
        like = b if isinstance(a, (int, float, complex)) else a
        return out if out.dtype == getattr(like, "dtype", out.dtype) else self.xp.astype(out, like.dtype)

    def backward(self, g):
        need, (sa, sb) = self.needs_input_grad, self.shapes
        ga = unbroadcast(Where.apply(g, 0.0, cond=self.cond), sa) if need[0] else None
        gb = unbroadcast(Where.apply(0.0, g, cond=self.cond), sb) if need[1] else None
        return ga, gb


# ---- x[key] and x[key] = value ------------------------------------------------------------
@on_input_device
def getitem(x: Tensor, key) -> Tensor:
    """``x[key]`` with PyTorch's rules: ints, slices (negative steps too, as NumPy), None,
    ``...``, integer tensors/lists (several broadcast together) and bool masks. Differentiable;
    repeated indices accumulate their gradients. Basic indices (ints, slices, None, ``...``) give
    a view sharing storage and version counter with ``x``; advanced indices give a copy."""
    plan = _Key(x, key)
    if not plan.views:
        return Index.apply(x, plan=plan)
    return rename_node(view_apply(Index, x, plan=plan), _basic_index_node(key))


def _basic_index_node(key) -> str:
    """PyTorch's node for ``x[key]`` with basic indices: that of the last int (select), slice or None (unsqueeze) in
    ``key`` that does something (a full ``:`` and ``...`` do nothing; with nothing at all, an alias)."""
    name = "Alias"
    for k in key if isinstance(key, tuple) else (key,):
        if k is None:
            name = "Unsqueeze"
        elif isinstance(k, slice):
            name = "Slice" if k != slice(None) else name
        elif k is not Ellipsis:
            name = "Select"
    return name


def _fit_value(x: Tensor, value, region):
    """The value of ``x[key] = value`` as a number or a Tensor of ``x``'s dtype that broadcasts to ``region``."""
    if isinstance(value, numbers.Number):
        return _cast_scalar(value, x.dtype)
    if not isinstance(value, Tensor):
        value = Tensor(value, dtype=x.dtype, device=x._device)
    if value._device is not x._device:
        raise DeviceMismatchError(f"x[...] = value: the value is on {value._device} but the tensor is on {x._device}")
    if value.dtype is not x.dtype:
        value = value.to(x.dtype)
    shape = value.shape
    extra = max(len(shape) - len(region), 0)  # leading size-1 dims are dropped, as PyTorch does
    if any(n != 1 for n in shape[:extra]) or not all(
            n in (1, m) for n, m in zip(reversed(shape[extra:]), reversed(region))):
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {shape} cannot be broadcast to indexing result of shape {region}"
        )
    return value.reshape(shape[extra:]) if extra else value


@on_input_device
def setitem(x: Tensor, key, value) -> None:
    """``x[key] = value``: writes ``value`` (a number or tensor, broadcast, cast to ``x``'s dtype)
    into ``x`` in place and bumps its version. When autograd records, ``x`` takes a node whose
    gradient is zero on the written region and flows into ``value`` from it; a leaf that
    requires grad raises (use ``no_grad``). Integer-array keys write through ``_Positions``."""
    plan = _Key(x, key)
    value = _fit_value(x, value, plan.region)
    recording = grad_mode.state.enabled and (tracked(x) or getattr(value, "_requires_grad", False))
    if recording or _function.dual_mode is not None:  # (forward AD: assign() writes the tangent too)
        out = IndexPut.apply(x, value, plan=plan)
        if plan.views:  # PyTorch writes a basic key through a view of x (its CopySlices), others by index_put_
            rename_node(out, CopySlices.torch_name, None)
        assign(x, out, "x[...] = value")
        return
    check_writable(x, False, "x[...] = value")
    plan.write_into(x._data, value._data if isinstance(value, Tensor) else value)
    x._version[0] += 1


# ---- gather / scatter family --------------------------------------------------------------
def _dim_positions(x: Tensor, dim: int, index: Tensor, what: str, negative: bool = False,
                   check: bool = True) -> _Positions:
    """Positions for gather/scatter: entry ``i`` of ``index`` names position ``index[i]`` along
    ``dim`` and its own coordinates along every other dim."""
    xp, dev = x.xp, x._device
    if index.ndim != x.ndim:
        raise RuntimeError(f"{what}: index has {index.ndim} dimensions but the tensor has {x.ndim}; they must match")
    for d, (n, m) in enumerate(zip(index.shape, x.shape)):
        if d != dim and n > m:
            raise RuntimeError(
                f"{what}: index has size {n} in dimension {d} but the tensor (shape {x.shape}) only {m}")
    strides = _strides(x.shape)
    along, step = (x.shape[dim], strides[dim]) if x.ndim else (1, 1)  # a 0-d tensor has one position, as in torch
    pos = _int64(xp, index._data)
    if check:
        pos = _in_range(dev, pos, along, what, dim, negative)
    # the offsets of the other coordinates, summed over a small array (1 along dim) first: then one pass
    # over the index (two for a stride other than 1 along dim)
    offsets = xp.zeros((), dtype=xp.int64, device=dev.native)
    for d, n in enumerate(index.shape):
        if d != dim:
            coord = xp.arange(n, dtype=xp.int64, device=dev.native) * strides[d]
            offsets = offsets + xp.reshape(coord, tuple(n if e == d else 1 for e in range(x.ndim)))
    return _Positions(dev, (pos * step if step != 1 else pos) + offsets, x.shape)


def _src_arg(src, x: Tensor, index: Tensor, what: str) -> Tensor:
    """``src`` checked against ``x`` and cut to ``index``'s shape (PyTorch uses only that corner)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"{what}: src must be a Tensor, got {type(src).__name__}")
    if src._device is not x._device:
        raise DeviceMismatchError(f"{what}: src is on {src._device} but the tensor is on {x._device}")
    if src.dtype is not x.dtype:
        raise TypeError(f"{what}: src has dtype {src.dtype.name} but the tensor has {x.dtype.name}; cast one of them")
    if src.ndim != index.ndim or any(n < m for n, m in zip(src.shape, index.shape)):
        raise RuntimeError(f"{what}: src of shape {src.shape} is smaller than index of shape {index.shape}")
    return src if src.shape == index.shape else getitem(src, tuple(slice(0, n) for n in index.shape))


def gather(input: Tensor, dim: int, index, *, sparse_grad: bool = False) -> Tensor:
    """Values of ``input`` along ``dim`` at ``index`` (as many dims as ``input``; for dim 1,
    ``out[i][j] = input[i][index[i][j]]``). Differentiable in ``input``; repeated indices accumulate.
    ``sparse_grad`` is accepted for PyTorch's signature; the gradient is dense either way (same values)."""
    dim = _dim(dim, input.ndim)
    index = _index_arg(index, input, "gather")
    return rename_node(Index.apply(input, plan=_dim_positions(input, dim, index, "gather")), "Gather")


def scatter_add(input: Tensor, dim: int, index, src: Tensor) -> Tensor:
    """``input`` with ``src[i]`` added at ``index[i]`` along ``dim`` (out of place; ``scatter_add_``
    is the in-place form). Repeated indices add up. Differentiable in ``input`` and ``src``."""
    dim = _dim(dim, input.ndim)
    index = _index_arg(index, input, "scatter_add")
    src = _src_arg(src, input, index, "scatter_add")
    return IndexAdd.apply(input, src, plan=_dim_positions(input, dim, index, "scatter_add"))


def index_select(input: Tensor, dim: int, index) -> Tensor:
    """The slices of ``input`` along ``dim`` at the positions in the 1-D ``index`` (repeats allowed and
    their gradients add up; negative positions count from the end, where PyTorch raises)."""
    dim = _dim(dim, input.ndim)
    index = _index_arg(index, input, "index_select")
    if index.ndim > 1:
        raise IndexError(f"index_select: index must be 0-D or 1-D, got shape {index.shape}")
    if input.ndim == 0:  # a 0-d tensor is selected from as a 1-element one, as PyTorch
        return index_select(input.reshape(1), 0, index).reshape(())
    return rename_node(getitem(input, (slice(None),) * dim + (index.reshape(-1),)), "IndexSelect")


@on_input_device
def take_along_dim(input: Tensor, indices, dim: int | None = None) -> Tensor:
    """``gather`` with ``input`` and ``indices`` broadcast against each other outside ``dim``; with
    ``dim=None`` both are flattened. Negative indices count from the end, as in PyTorch."""
    indices = _index_arg(indices, input, "take_along_dim")
    if dim is None:
        input, indices, dim = input.reshape(-1), indices.reshape(-1), 0
    dim = _dim(dim, input.ndim)
    if indices.ndim != input.ndim:
        raise RuntimeError(
            f"take_along_dim: indices has {indices.ndim} dimensions but the tensor has {input.ndim}; they must match")
    common = []
    for d, (a, b) in enumerate(zip(input.shape, indices.shape)):
        if d != dim and a != b and 1 not in (a, b):
            raise RuntimeError(
                f"take_along_dim: shapes {input.shape} and {indices.shape} do not broadcast outside dimension {dim}")
        common.append(a if b == 1 else b)
    input = input.expand(tuple(input.shape[dim] if d == dim else n for d, n in enumerate(common)))
    indices = indices.expand(tuple(indices.shape[dim] if d == dim else n for d, n in enumerate(common)))
    out = Index.apply(input, plan=_dim_positions(input, dim, indices, "take_along_dim", negative=True))
    return rename_node(out, "Gather")  # PyTorch's take_along_dim is a gather


# ---- masks and where ----------------------------------------------------------------------
def where(condition: Tensor, input=None, other=None):
    """Elementwise ``input`` where ``condition`` is true, else ``other`` (broadcasting; either may
    be a number). Differentiable in both. ``where(condition)`` is ``nonzero(condition, as_tuple=True)``."""
    if not isinstance(condition, Tensor) or condition.dtype is not _dt.bool_:
        got = condition.dtype.name if isinstance(condition, Tensor) else type(condition).__name__
        raise TypeError(f"where expects a bool tensor as condition, got {got}")
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where takes a condition and both input and other (or the condition alone)")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = Tensor(input, device=condition._device)  # two numbers: the first sets the dtype
    a, b = operands(input, other)
    for t, number in ((a, b), (b, a)):
        if isinstance(t, Tensor):
            _same_device(condition, t, "where")
            limits = iinfo(t.dtype) if type(number) is int and t.dtype.kind in "iu" else None
            if limits is not None and not limits.min <= number <= limits.max:
                raise OverflowError(f"where: the Python int {number} does not fit the tensor's dtype {t.dtype.name} "
                                    f"(shape {t.shape}); cast the tensor to a wider dtype first or use a value in "
                                    f"its range")
    broadcast_shapes(condition.shape, *(t.shape for t in (a, b) if isinstance(t, Tensor)))  # PyTorch's RuntimeError
    return Where.apply(a, b, cond=condition._data)


def masked_fill(input: Tensor, mask, value) -> Tensor:
    """``input`` with ``value`` (a number or a 0-d tensor, cast to ``input``'s dtype) where the bool
    ``mask`` (broadcastable to ``input``) is true. Differentiable in ``input`` and a tensor ``value``. A complex
    ``input``
    takes any Python number as a complex one (as PyTorch; no kind of number is a complex dtype's)."""
    mask = _mask_arg(mask, input, "masked_fill")
    m, s = mask.shape, input.shape
    if len(m) > len(s) or not all(a in (1, b) for a, b in zip(reversed(m), reversed(s))):
        raise RuntimeError(f"masked_fill: the mask of shape {m} does not broadcast to the tensor's shape {s}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, got shape {value.shape}")
        value = value.to(input.dtype)
    else:
        value = complex(value) if input.dtype.kind == "c" else _cast_scalar(value, input.dtype)
    return rename_node(where(mask, value, input), "MaskedFill")


def _where_method(x: Tensor, condition: Tensor, other) -> Tensor:
    """``x.where(condition, other)`` is ``where(condition, x, other)``, as in PyTorch."""
    return where(condition, x, other)


@on_input_device
def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an ``(n, input.ndim)`` int64 tensor, or with ``as_tuple``
    one 1-D tensor per dimension (a 0-d input counts as 1-D there, as PyTorch)."""
    xp, dev = input.xp, input._device
    if input.ndim == 0:
        (idx,) = xp.nonzero(xp.reshape(input._data, (1,)))
        if as_tuple:
            return (Tensor._make(_int64(xp, idx), dev),)
        return Tensor._make(xp.zeros((idx.shape[0], 0), dtype=xp.int64, device=dev.native), dev)
    found = [_int64(xp, i) for i in xp.nonzero(input._data)]
    if as_tuple:
        return tuple(Tensor._make(i, dev) for i in found)
    return Tensor._make(xp.stack(found, axis=1), dev)


# ---- sorting and selection ----------------------------------------------------------------
SortResult = return_type("sort", ["values", "indices"])
TopKResult = return_type("topk", ["values", "indices"])


@on_input_device
def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """Indices that sort ``input`` along ``dim``. The sort is always stable (ties keep their order),
    which is also a valid answer for ``stable=False``; NaNs count as the largest value. Complex tensors
    raise, as in PyTorch."""
    refuse_unordered("argsort", input)
    if input.ndim == 0:
        return argsort(input.reshape(1), _dim(dim, 0), descending).reshape(())
    xp = input.xp
    data = xp.astype(input._data, xp.uint8) if input.dtype is _dt.bool_ else input._data  # (standard: no bool sort)
    return Tensor._make(input._device.backend.stable_argsort(data, _dim(dim, input.ndim), descending), input._device)


@on_input_device
def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """``(values, indices)`` of ``input`` sorted along ``dim`` (always stable, see ``argsort``);
    ``values`` is differentiable."""
    refuse_unordered("sort", input)
    dim = _dim(dim, input.ndim)
    if input.ndim == 0:
        values, indices = sort(input.reshape(1), 0, descending)
        return SortResult(values.reshape(()), indices.reshape(()))
    indices = argsort(input, dim, descending)
    values = Index.apply(input, plan=_dim_positions(input, dim, indices, "sort", check=False))
    return SortResult(rename_node(values, "Sort"), indices)


_FEW_CANDIDATES = 2  # topk sorts candidate blocks instead of whole rows when they hold at most half a row


def _leading(backend, a, kind: str, k: int, largest: bool):
    """Positions (along the last axis) of the first ``k`` elements of ``a`` (of dtype kind ``kind``) in stable
    order, descending when ``largest``: the first ``k`` of a stable argsort. For small ``k`` without sorting
    whole rows (the array API has no partition): with each row cut into blocks of ``b`` (about sqrt(n/k)), the
    ``k`` blocks whose best elements come first in that order hold the answer, so only the blocks' best elements
    and the ``k * b`` elements of those blocks, taken in row order, are sorted."""
    xp, n = backend.xp, a.shape[-1]
    b = 2 ** round(math.log2(math.sqrt(n / k))) if k else 1
    if not k or k * b * _FEW_CANDIDATES > n or kind not in "fiu":
        return backend.stable_argsort(a, a.ndim - 1, largest)[..., :k]
    m, floating = -(-n // b), kind == "f"
    if m * b != n:  # filled with values that sort after every element of the row
        info = xp.finfo(a.dtype) if floating else xp.iinfo(a.dtype)
        fill = (-math.inf if floating else info.min) if largest else (math.nan if floating else info.max)
        a = xp.concat([a, xp.full(a.shape[:-1] + (m * b - n,), fill, dtype=a.dtype, device=a.device)], axis=-1)
    if largest:  # the best of a block is its max, NaN if it has one
        best = functools.reduce(xp.maximum, (a[..., j::b] for j in range(b)))
    elif floating:  # its min, ignoring NaNs unless it holds nothing else
        nan = xp.isnan(a)
        best = functools.reduce(xp.minimum, (xp.where(nan[..., j::b], math.inf, a[..., j::b]) for j in range(b)))
        best = xp.where(functools.reduce(xp.logical_and, (nan[..., j::b] for j in range(b))), math.nan, best)
    else:
        best = functools.reduce(xp.minimum, (a[..., j::b] for j in range(b)))
    blocks = xp.sort(backend.stable_argsort(best, best.ndim - 1, largest)[..., :k], axis=-1)
    picked = blocks[..., None] * b + xp.arange(b, dtype=blocks.dtype, device=a.device)
    picked = xp.reshape(picked, a.shape[:-1] + (-1,))
    order = backend.stable_argsort(xp.take_along_axis(a, picked, axis=-1), a.ndim - 1, largest)[..., :k]
    return xp.take_along_axis(picked, order, axis=-1)


@on_input_device
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """``(values, indices)`` of the ``k`` largest (or smallest) elements along ``dim``, always in
    sorted order (allowed for ``sorted=False`` too); ties keep their order. ``values`` is differentiable.
    Bool and complex tensors raise, as in PyTorch."""
    refuse_unordered("topk", input, bools=True)
    dim = _dim(dim, input.ndim)
    if input.ndim == 0:  # k = 0 or 1 gives the element, as PyTorch
        if k not in (0, 1):
            raise RuntimeError(f"topk: k={k} is out of range for a 0-d tensor (0 or 1)")
        values, indices = topk(input.reshape(1), 1, 0, largest)
        return TopKResult(values.reshape(()), indices.reshape(()))
    n = input.shape[dim]
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k={k} is out of range for dimension {dim} of size {n}")
    xp = input.xp
    first = _leading(input._device.backend, xp.moveaxis(input._data, dim, -1), input.dtype.kind, k, largest)
    indices = Tensor._make(_int64(xp, xp.moveaxis(first, -1, dim)), input._device)
    values = Index.apply(input, plan=_dim_positions(input, dim, indices, "topk", check=False))
    return TopKResult(rename_node(values, "Topk"), indices)


@on_input_device
def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """The distinct values of ``input`` (flattened) in ascending order (also for ``sorted=False``, as
    PyTorch does on the CPU); with ``return_inverse`` the index of each element's value (shape of
    ``input``), with ``return_counts`` how often each value occurs. With ``dim``: the distinct slices along
    ``dim``, in lexicographic order, and the inverse/counts per slice. Not differentiable; complex tensors
    raise, as in PyTorch."""
    refuse_unordered("unique", input)
    xp, dev = input.xp, input._device
    if dim is not None:
        return _unique_slices(input, _dim(dim, input.ndim), return_inverse, return_counts)
    flat = xp.reshape(input._data, (-1,))
    n = flat.shape[0]
    order = xp.argsort(flat, stable=True)
    ordered = xp.take(flat, order)
    first = xp.concat([xp.ones((min(n, 1),), dtype=xp.bool, device=dev.native), _boundaries(xp, ordered, dev)])
    return _unique_results(input, Tensor._make(ordered[first], dev), order, first, input.shape, return_inverse,
                           return_counts)


def _unique_results(x: Tensor, values: Tensor, order, first, inverse_shape, return_inverse, return_counts):
    """``values`` and, as asked, the inverse (each input's group, from the sorting ``order`` and the group
    starts ``first`` in sorted order) and the group sizes."""
    xp, dev = x.xp, x._device
    results = [values]
    if return_inverse:
        group = xp.cumulative_sum(xp.astype(first, xp.int64)) - 1
        results.append(Tensor._make(xp.reshape(xp.take(group, xp.argsort(order)), inverse_shape), dev))
    if return_counts:
        starts = _int64(xp, xp.nonzero(first)[0])
        ends = xp.asarray([first.shape[0]], dtype=xp.int64, device=dev.native)
        results.append(Tensor._make(xp.diff(xp.concat([starts, ends])), dev))
    return results[0] if len(results) == 1 else tuple(results)


def _unique_slices(x: Tensor, dim: int, return_inverse: bool, return_counts: bool):
    """``unique(x, dim=dim)``: the slices sorted lexicographically (a stable sort per column, last first)."""
    xp, dev = x.xp, x._device
    rows = xp.reshape(xp.permute_dims(x._data, (dim, *(i for i in range(x.ndim) if i != dim))), (x.shape[dim], -1))
    n = rows.shape[0]
    order = xp.arange(n, dtype=xp.int64, device=dev.native)
    for c in range(rows.shape[1] - 1, -1, -1):
        order = xp.take(order, xp.argsort(xp.take(rows[:, c], order), stable=True))
    ordered = xp.take(rows, order, axis=0)
    changed = xp.any(ordered[1:, ...] != ordered[:-1, ...], axis=1) if rows.shape[1] else xp.zeros(
        (max(n - 1, 0),), dtype=xp.bool, device=dev.native)
    first = xp.concat([xp.ones((min(n, 1),), dtype=xp.bool, device=dev.native), changed])
    picks = xp.take(order, _int64(xp, xp.nonzero(first)[0]))
    values = Tensor._make(xp.take(x._data, picks, axis=dim), dev)
    return _unique_results(x, values, order, first, (n,), return_inverse, return_counts)


METHODS = {
    "__getitem__": getitem, "__setitem__": setitem, "gather": gather,
    "scatter_add": scatter_add, "index_select": index_select, "take_along_dim": take_along_dim,
    "masked_fill": masked_fill, "where": _where_method, "nonzero": nonzero, "topk": topk, "sort": sort,
    "argsort": argsort, "unique": unique,
}
INPLACE = ["scatter_add", "masked_fill"]
