"""Writes at indices and their relatives: the ``index_*`` family (``index_add``, ``index_copy``,
``index_fill``, ``index_reduce``, ``index_put``), ``scatter_reduce``, ``put``/``take``, ``masked_scatter``,
``masked_select``, the ``*_scatter`` ops that embed a tensor into a region of another (diagonal, select,
slice), ``diag``, ``diag_embed``, ``diagflat``, ``fill_diagonal_`` and ``nonzero_static``.

They are built on indexing's plans (``Index``/``IndexAdd``/``IndexPut``), so repeated indices accumulate
or keep the last write as there, and gradients of any order work. ``scatter_reduce``'s ``amax``/``amin``
split the gradient evenly among the elements equal to the result and ``prod`` follows PyTorch's
formula, exact where inputs are zero.
"""

from __future__ import annotations

import numbers
import operator
import warnings

from .. import dtypes as _dt
from .._backend.device import on_input_device
from .._tensor import Tensor
from ..amp.autocast import autocast_op
from ..autograd.function import PROMOTE, Function, rename_node
from .creation import full
from .indexing import (
    Index,
    IndexAdd,
    IndexPut,
    _cast_scalar,
    _dim_positions,
    _fit_value,
    _in_range,
    _index_arg,
    _Key,
    _mask_arg,
    _Positions,
    _src_arg,
    getitem,
    nonzero,
    where,
)
from .reshaping import broadcast_shapes
from .shape import DiagonalScatter, _dim, cat, flatten
from .shape import diagonal as _diagonal

__all__ = [
    "scatter", "index_add", "index_copy", "index_fill", "index_reduce", "index_put", "index_put_", "scatter_reduce",
    "put", "take", "masked_scatter", "masked_select", "diagonal_scatter", "select_scatter", "slice_scatter", "diag",
    "diag_embed", "diagflat", "nonzero_static",
]

_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _const(like: Tensor, array) -> Tensor:
    return Tensor._make(array, like._device)


# ---- scatter ----------------------------------------------------------------------------------
_SCATTER_REDUCTIONS = {"add": "sum", "multiply": "prod"}


def scatter(input: Tensor, dim: int, index, src=None, *, value=None, reduce: str | None = None) -> Tensor:
    """``input`` with ``src[i]`` (or the number ``value``) written at ``index[i]`` along ``dim`` (out of
    place; ``scatter_`` in place). Where ``index`` repeats a position the last write wins
    (PyTorch leaves it unspecified) and only that element of ``src`` gets a gradient.

    ``reduce="add"``/``"multiply"`` combines instead of writing: ``scatter_reduce``'s ``sum``/``prod`` with
    ``input``'s own values included. PyTorch deprecates it for a tensor ``src`` (the same warning here) and
    has no gradient for it; lucid differentiates it as ``scatter_reduce``."""
    if isinstance(src, numbers.Number):
        src, value = None, src
    if (src is None) == (value is None):
        raise TypeError("scatter takes either src (a tensor) or value (a number)")
    if reduce is not None and reduce not in _SCATTER_REDUCTIONS:
        raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got {reduce!r} "
                           f"(scatter_reduce takes sum, prod, mean, amax, amin)")
    dim = _dim(dim, max(input.ndim, 1), "scatter")
    index = _index_arg(index, input, "scatter")
    if reduce is not None:
        if src is None:
            src = full(index.shape, _cast_scalar(value, input.dtype), dtype=input.dtype, device=input._device)
        else:
            warnings.warn("The reduce argument of scatter with Tensor src is deprecated, as in PyTorch: use "
                          "scatter_reduce instead for more reduction options", UserWarning, stacklevel=2)
        return scatter_reduce(input, dim, index, src, _SCATTER_REDUCTIONS[reduce])
    v = _cast_scalar(value, input.dtype) if src is None else _src_arg(src, input, index, "scatter")
    return rename_node(IndexPut.apply(input, v, plan=_dim_positions(input, dim, index, "scatter")), "Scatter")


# ---- scatter_reduce ---------------------------------------------------------------------------
class ScatterExtreme(Function):
    """``amax``/``amin`` of ``src`` at planned positions, with ``x`` (``include_self``) or replacing it. The
    gradient is shared evenly among the elements (of ``x`` and ``src``) equal to the result."""

    def forward(self, x, src, plan, pick, include_self):
        written = self.backend.scatter_reduced(x, plan.index, self.xp.reshape(src, (-1,)), pick, include_self)
        self.plan, self.include_self = plan, include_self
        self.save_for_backward(x, src, written)
        return written

    def backward(self, g):
        x, src, out = self.saved_tensors
        plan = self.plan
        self_hit = (x == out).to(g.dtype)  # counted even without include_self, as PyTorch does
        src_hit = (src == Index.apply(out, plan=plan)).to(g.dtype)
        share = g / (self_hit + IndexAdd.apply(None, src_hit, plan=plan))
        need = self.needs_input_grad
        gx = gs = None
        if need[0]:
            gx = share * self_hit
            if not self.include_self:  # written positions do not depend on x
                gx = where(IndexAdd.apply(None, src.detach() * 0 + 1, plan=plan) > 0, 0.0, gx)
        if need[1]:
            gs = Index.apply(share, plan=plan) * src_hit
        return gx, gs


class ScatterProd(Function):
    """The product of ``src`` at planned positions, times ``x`` (``include_self``) or replacing it. Backward
    as PyTorch's: exact for zeros, by products with the zeros replaced by 1."""

    def forward(self, x, src, plan, include_self):
        out = self.backend.scatter_reduced(x, plan.index, self.xp.reshape(src, (-1,)), "prod", include_self)
        self.plan, self.include_self = plan, include_self
        self.save_for_backward(x, src, out)
        return out

    def backward(self, g):
        x, src, out = self.saved_tensors
        plan, include_self = self.plan, self.include_self
        need = self.needs_input_grad
        gx = gs = None
        if need[0]:
            if include_self:
                zero = (x == 0).detach()
                masked = where(zero, 1.0, x)
                gx = g * ScatterProd.apply(masked, src, plan=plan, include_self=True) / masked
            else:
                touched = IndexAdd.apply(None, src.detach() * 0 + 1, plan=plan) > 0
                gx = where(touched, 0.0, g)
        if need[1]:
            zero = (src == 0).detach()
            zeros_here = Index.apply(IndexAdd.apply(None, zero.to(src.dtype), plan=plan), plan=plan)
            single = zero & (zeros_here == 1)
            without = ScatterProd.apply(x, where(single, 1.0, src), plan=plan, include_self=include_self)
            gs = where(single, Index.apply(g * without, plan=plan),
                       Index.apply(g * out, plan=plan) / where(zero, 1.0, src))
        return gx, gs


def scatter_reduce(input: Tensor, dim: int, index, src: Tensor, reduce: str, *, include_self: bool = True) -> Tensor:
    """``input`` with each ``src[i]`` combined at ``index[i]`` along ``dim`` by ``reduce`` (``sum``,
    ``prod``, ``mean``, ``amax``, ``amin``), counting ``input``'s own value when ``include_self``;
    positions no index names keep ``input``'s value. Integer ``mean`` rounds down, as PyTorch."""
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"scatter_reduce(): reduce must be one of {', '.join(_REDUCTIONS)}, got {reduce!r}")
    d = _dim(dim, max(input.ndim, 1), "scatter_reduce")
    index = _index_arg(index, input, "scatter_reduce")
    src = _src_arg(src, input, index, "scatter_reduce")
    plan = _dim_positions(input, d, index, "scatter_reduce")
    if reduce == "amax" or reduce == "amin":
        return ScatterExtreme.apply(input, src, plan=plan, pick=reduce, include_self=include_self)
    if reduce == "prod":
        return ScatterProd.apply(input, src, plan=plan, include_self=include_self)
    xp = input.xp
    hits = plan.scatter(xp.ones(src.shape, dtype=xp.int64, device=input._device.native))
    base = input if include_self else where(_const(input, hits > 0), 0, input)
    total = IndexAdd.apply(base, src, plan=plan)
    if reduce == "sum":
        return total
    count = hits + 1 if include_self else xp.where(hits > 0, hits, xp.ones_like(hits))
    count = _const(input, xp.astype(count, input._data.dtype))
    return total / count if input.dtype.kind == "f" else total // count


def _along(index: Tensor, dim: int, source: Tensor) -> Tensor:
    """A 1-D ``index`` along ``dim`` spread over ``source``'s shape (what gather/scatter take)."""
    return index.reshape(tuple(-1 if i == dim else 1 for i in range(max(source.ndim, 1)))).expand(
        source.shape if source.ndim else (index.shape[0],))


def _source(source, x: Tensor, dim: int, name: str) -> Tensor:
    if not isinstance(source, Tensor):
        raise TypeError(f"{name}(): source must be a Tensor, got {type(source).__name__}")
    if source.ndim != x.ndim or any(a != b for i, (a, b) in enumerate(zip(source.shape, x.shape)) if i != dim):
        raise RuntimeError(f"{name}(): source of shape {source.shape} must match the tensor's shape {x.shape} in "
                           f"every dimension but {dim}")
    return source


def _index_op(name: str):
    def prepare(x: Tensor, dim, index, source):
        """``(dim, index as 1-D, source)``, checked."""
        d = _dim(dim, max(x.ndim, 1), name)
        index = _index_arg(index, x, name)
        source = _source(source, x, d, name)
        if index.ndim > 1:
            raise IndexError(f"the index must be 0-D or 1-D, got shape {index.shape}")
        index = index.reshape(-1)
        if source.ndim and source.shape[d] != index.shape[0]:
            raise RuntimeError(f"the source has {source.shape[d]} slices along dimension {d} but the index "
                               f"{index.shape[0]} entries; they must match")
        return d, index, source

    return prepare


def index_add(input: Tensor, dim: int, index, source: Tensor, *, alpha=1) -> Tensor:
    """``input`` with ``alpha * source[..., i, ...]`` added to slice ``index[i]`` along ``dim`` (repeats add up)."""
    d, index, source = _index_op("index_add")(input, dim, index, source)
    if source.dtype is not input.dtype:
        raise TypeError(f"index_add(): source has dtype {source.dtype.name} but the tensor has {input.dtype.name}; "
                        f"cast one of them")
    if input.ndim == 0:
        return index_add(input.reshape(1), 0, index, source.reshape(1), alpha=alpha).reshape(())
    _in_range(input._device, index._data, input.shape[d], "index_add", d, negative=False)
    plan = _Key(input, (slice(None),) * d + (index,))  # that of input[..., index]: whole slices, not every element
    return IndexAdd.apply(input, source if alpha == 1 else source * alpha, plan=plan)


@autocast_op({"cpu": PROMOTE})
def index_copy(input: Tensor, dim: int, index, source: Tensor) -> Tensor:
    """``input`` with slice ``index[i]`` along ``dim`` replaced by ``source``'s slice ``i`` (of repeats the
    last wins; PyTorch leaves that undefined)."""
    d, index, source = _index_op("index_copy")(input, dim, index, source)
    if input.ndim == 0:
        return index_copy(input.reshape(1), 0, index, source.reshape(1)).reshape(())
    return scatter(input, d, _along(index, d, source), source)


def index_reduce(input: Tensor, dim: int, index, source: Tensor, reduce: str, *, include_self: bool = True) -> Tensor:
    """``input`` with ``source``'s slices combined into slice ``index[i]`` along ``dim`` by ``reduce`` (``prod``,
    ``mean``, ``amax``, ``amin``), as ``scatter_reduce``."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): reduce must be one of prod, mean, amax, amin, got {reduce!r}")
    d, index, source = _index_op("index_reduce")(input, dim, index, source)
    if input.ndim == 0:
        flat = index_reduce(input.reshape(1), 0, index, source.reshape(1), reduce, include_self=include_self)
        return flat.reshape(())
    return scatter_reduce(input, d, _along(index, d, source), source, reduce, include_self=include_self)


def index_fill(input: Tensor, dim: int, index, value) -> Tensor:
    """``input`` with the slices at ``index`` along ``dim`` set to ``value`` (a number or a 0-d tensor, which
    then gets their gradient); negative indices count from the end."""
    d = _dim(dim, max(input.ndim, 1), "index_fill")
    index = _index_arg(index, input, "index_fill")
    if index.ndim > 1:
        raise IndexError(f"index_fill(): the index must be 0-D or 1-D, got shape {index.shape}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"index_fill(): only a 0-dimensional value tensor is supported, got shape {value.shape}")
    n = input.shape[d] if input.ndim else 1
    xp = input.xp
    idx = xp.reshape(xp.astype(index._data, xp.int64), (1, -1))
    if index.numel() and bool(xp.any((idx < -n) | (idx >= n))):
        raise IndexError(f"index_fill(): an index is out of range for dimension {d} of size {n}")
    idx = xp.where(idx < 0, idx + n, idx)
    hit = xp.any(xp.reshape(xp.arange(n, dtype=xp.int64, device=input._device.native), (-1, 1)) == idx, axis=1)
    mask = _const(input, xp.reshape(hit, tuple(n if i == d else 1 for i in range(input.ndim))))
    value = value.to(input.dtype) if isinstance(value, Tensor) else {"f": float, "b": bool}.get(
        input.dtype.kind, int)(value)
    return where(mask, value, input)


@on_input_device
def index_put(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """``input`` with ``values`` (broadcast) written at ``input[indices]`` (a tuple of index tensors, as
    ``x[indices] = values``), or added there with ``accumulate`` (repeated indices add up)."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put(): indices must be a tuple of tensors, got {type(indices).__name__}")
    plan = _Key(input, tuple(indices))
    value = _fit_value(input, values, plan.region)
    if not accumulate:
        return IndexPut.apply(input, value, plan=plan)
    if not isinstance(value, Tensor):
        value = full((), value, dtype=input.dtype, device=input._device)
    return IndexAdd.apply(input, value.expand(plan.region), plan=plan)


@on_input_device
def index_put_(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """``input.index_put_(indices, values)``: ``index_put`` written into ``input`` (also a function in PyTorch)."""
    return input.index_put_(indices, values, accumulate)


def put(input: Tensor, index, source: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` (seen flat) with ``source``'s elements written (or added, ``accumulate``) at the flat
    positions ``index``; negative positions count from the end."""
    index = _index_arg(index, input, "put")
    if not isinstance(source, Tensor) or source.numel() != index.numel():
        got = source.shape if isinstance(source, Tensor) else type(source).__name__
        raise RuntimeError(f"put(): source must be a Tensor with as many elements as index ({index.numel()}), "
                           f"got {got}")
    flat = index_put(input.reshape(-1), (index.reshape(-1),), source.reshape(-1).to(input.dtype), accumulate)
    return flat.reshape(input.shape)


def take(input: Tensor, index) -> Tensor:
    """The elements of ``input`` (seen flat) at ``index``, shaped as ``index``."""
    index = _index_arg(index, input, "take")
    return rename_node(getitem(input.reshape(-1), index), "Take")


def masked_scatter(input: Tensor, mask, source: Tensor) -> Tensor:
    """``input`` with the positions where ``mask`` is true filled, in order, with the first elements of
    ``source``; ``input`` and ``mask`` broadcast to one shape, as PyTorch's (``masked_scatter_`` keeps its
    tensor's shape, so there only the mask broadcasts)."""
    mask = _mask_arg(mask, input, "masked_scatter")
    if not isinstance(source, Tensor):
        raise TypeError(f"masked_scatter(): source must be a Tensor, got {type(source).__name__}")
    shape = broadcast_shapes(input.shape, mask.shape)
    input, mask = input.expand(shape), mask.expand(shape)
    xp = input.xp
    # the source element each place would take: the number of true places before it (a gather and a where,
    # 5x faster than writing at the true places, whose positions must be found first)
    taken = xp.cumulative_sum(xp.reshape(xp.astype(mask._data, xp.int64), (-1,)))
    count = int(taken[-1]) if taken.shape[0] else 0
    if source.numel() < count:
        raise RuntimeError(f"masked_scatter(): the mask selects {count} elements but source has only "
                           f"{source.numel()}")
    if source.numel() == 0:  # nothing to take: the mask is all false
        return where(mask, 0, input)
    plan = _Positions(input._device, xp.reshape(xp.maximum(taken - 1, 0), input.shape), (source.numel(),))
    return where(mask, Index.apply(source.reshape(-1).to(input.dtype), plan=plan), input)


def masked_select(input: Tensor, mask) -> Tensor:
    """The elements of ``input`` where ``mask`` is true, the two broadcast to one shape, in order (1-D); the
    gradient goes back to the selected places (summed over what the broadcast repeated)."""
    mask = _mask_arg(mask, input, "masked_select")
    shape = broadcast_shapes(input.shape, mask.shape)
    return rename_node(getitem(input.expand(shape), mask.expand(shape)), "MaskedSelect")


def _embed(name: str, input: Tensor, src: Tensor, region) -> Tensor:
    """``input`` with the view ``region(copy)`` of a copy replaced by ``src`` (whose shape must match)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"{name}(): src must be a Tensor, got {type(src).__name__}")
    out = input.clone()
    view = region(out)
    if view.shape != src.shape:
        raise RuntimeError(f"{name}(): src has shape {src.shape} but the region it replaces has shape {view.shape}")
    view.copy_(src)
    return out


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """``input`` with its ``offset``-th diagonal over ``dim1``, ``dim2`` replaced by ``src``."""
    return _embed("diagonal_scatter", input, src, lambda t: _diagonal(t, offset, dim1, dim2))


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """``input`` with the slice at ``index`` along ``dim`` replaced by ``src``."""
    return _embed("select_scatter", input, src, lambda t: t.select(dim, index))


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    """``input`` with ``input[start:end:step]`` along ``dim`` replaced by ``src``."""
    d = _dim(dim, input.ndim, "slice_scatter")
    return _embed("slice_scatter", input, src, lambda t: t[(slice(None),) * d + (slice(start, end, step),)])


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices with the last dimension of ``input`` on their ``offset``-th diagonal over the new
    dimensions ``dim1`` and ``dim2``, zeros elsewhere."""
    if not isinstance(input, Tensor):
        raise TypeError(f"diag_embed(): input must be a Tensor, got {type(input).__name__}")
    src = input.reshape(1) if input.ndim == 0 else input
    nd = src.ndim + 1
    d1, d2 = _dim(dim1, nd, "diag_embed"), _dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diag_embed(): dim1 and dim2 must differ, both are {d1}")
    offset = operator.index(offset)
    n = src.shape[-1] + abs(offset)
    rest = iter(src.shape[:-1])
    shape = tuple(n if i in (d1, d2) else next(rest) for i in range(nd))
    return DiagonalScatter.apply(src, shape=shape, offset=offset, axes=(d1, d2))


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D input as the ``diagonal``-th diagonal of a square matrix; a 2-D input's ``diagonal``-th diagonal
    (a copy)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"diag(): input must be a Tensor, got {type(input).__name__}")
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return _diagonal(input, diagonal).clone()
    raise RuntimeError(f"diag(): expects a 1-D or 2-D tensor, got shape {input.shape}")


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The flattened ``input`` as the ``offset``-th diagonal of a square matrix."""
    return diag_embed(flatten(input), offset, 0, 1)


def fill_diagonal_(input: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Set the main diagonal (all indices equal) to ``fill_value`` in place. ``input`` has at least 2
    dimensions, all of one size beyond 2; a tall matrix restarts the diagonal every ``cols + 1`` rows with
    ``wrap``, as NumPy and PyTorch."""
    if input.ndim < 2:
        raise RuntimeError(f"fill_diagonal_(): dimensions must be larger than 1, got shape {input.shape}")
    if input.ndim > 2 and len(set(input.shape)) != 1:
        raise RuntimeError(f"fill_diagonal_(): all dimensions of the input must be of equal length, got "
                           f"{input.shape}")
    xp, dev = input.xp, input._device
    rows, cols = input.shape[0], input.shape[-1]
    if input.ndim == 2:
        end = rows * cols if wrap else min(rows, cols) * cols
        flat = xp.arange(0, end, cols + 1, dtype=xp.int64, device=dev.native)
        key = (_const(input, flat // cols), _const(input, flat % cols))
    else:
        key = (_const(input, xp.arange(rows, dtype=xp.int64, device=dev.native)),) * input.ndim
    input[key] = fill_value
    return input


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """``nonzero(input)`` cut or padded with ``fill_value`` rows to exactly ``size`` rows (a shape known in
    advance, as PyTorch's)."""
    if size < 0:
        raise RuntimeError(f"nonzero_static(): size must be non-negative, got {size}")
    found = nonzero(input)
    if found.shape[0] >= size:
        return found[:size]
    pad = full((size - found.shape[0], found.shape[1]), int(fill_value), dtype=_dt.int64, device=input._device)
    return cat([found, pad], 0)


METHODS = {name: globals()[name] for name in __all__ if name != "index_put_"}  # that one comes from INPLACE
METHODS["fill_diagonal_"] = fill_diagonal_  # in place only, as torch.Tensor
INPLACE = ["scatter", "index_add", "index_copy", "index_fill", "index_reduce", "index_put", "scatter_reduce", "put",
           "masked_scatter"]
