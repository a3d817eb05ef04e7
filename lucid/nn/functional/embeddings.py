"""Look-up tables: ``embedding``, ``embedding_bag`` and ``one_hot``.

Rows are read with lucid's indexing (``weight[indices]``), whose backward scatter-adds, so an
index that occurs several times gets the sum of its gradients (upstream Lucid 2.5.8 kept one).
On host devices ``embedding_bag`` is one fused op over contiguous bags (see ``_segment_reduce``).
``sparse=True`` gives a leaf weight a sparse COO gradient (:class:`SparseEmbedding`), as PyTorch's.
"""

from __future__ import annotations

import math

from ... import dtypes as _dt
from ..._backend.device import DeviceMismatchError, on_input_device
from ..._backend.float_errors import float_errors_quiet
from ..._tensor import Tensor
from ...autograd import grad_mode
from ...autograd.function import Function, rename_node
from ...autograd.grad_mode import no_grad
from ...ops.creation import arange, zeros
from ...ops.indexing import unique, where
from ...ops.linalg import vector_norm
from ...ops.scatters import index_add
from ...sparse._coo import sparse_gradient

__all__ = ["embedding", "embedding_bag", "one_hot"]


class _ScaleGrad(Function):
    """Identity forward; backward multiplies the gradient by a constant ``factor`` (zero for the
    padding index, ``1 / count`` for ``scale_grad_by_freq``)."""

    def forward(self, x, factor):
        self.factor = factor
        return x

    def backward(self, g):
        return g * Tensor._make(self.factor, self.device)


def _indices(input, like: Tensor, name: str) -> Tensor:
    """``input`` as an integer tensor on ``like``'s device."""
    if not isinstance(input, Tensor):
        input = Tensor(input, device=like.device)
    if input.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: indices must be an integer tensor, got {input.dtype.name}")
    if input.device is not like.device:
        raise DeviceMismatchError(f"{name}: indices are on {input.device} but the weight is on {like.device}")
    return input


def _padding(padding_idx, num: int, name: str):
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise ValueError(f"{name}: padding_idx {padding_idx} must be within num_embeddings ({num})")
    return padding_idx % num


def _check_range(idx: Tensor, num: int, name: str) -> None:
    """IndexError naming the first index outside ``[0, num)``; on host devices only (see ``Backend.is_host``):
    elsewhere the read would sync every call, and PyTorch checks on CUDA with an asynchronous device assert."""
    if idx._device.host and idx.numel() and (bool((idx < 0).any()) or bool((idx >= num).any())):
        bad = idx[(idx < 0) | (idx >= num)].reshape(-1)[0].item()
        raise IndexError(f"{name}: index {bad} is out of range for a table of {num} rows")


def _renorm_(weight: Tensor, idx: Tensor, max_norm: float, norm_type: float) -> None:
    """Scale the rows of ``weight`` named in ``idx`` whose ``norm_type``-norm exceeds ``max_norm`` down
    to ``max_norm`` (in place, not recorded; PyTorch's ``embedding_renorm_``). Only those rows are written."""
    with no_grad():
        rows = unique(idx.reshape(-1))
        values = weight[rows]
        norms = vector_norm(values, norm_type, dim=1, keepdim=True)
        scale = where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        delta = values * scale - values
        weight.device.backend.add_at(weight._data, rows._data, delta._data)
        weight._version[0] += 1


class SparseEmbedding(Function):
    """``weight[index]`` whose backward gives the (leaf) weight a sparse COO gradient, as PyTorch's
    ``sparse=True``: one uncoalesced entry per looked-up index in input order (``padding_idx``'s left out),
    each the output's gradient there. ``scale_grad_by_freq`` raises in backward, as PyTorch's."""

    def forward(self, weight, index, padding_idx, scale_grad_by_freq):
        xp = self.xp
        self.flat = xp.reshape(xp.astype(index, xp.int64), (-1,))
        self.padding_idx, self.size, self.scale_grad_by_freq = padding_idx, weight.shape, scale_grad_by_freq
        return xp.reshape(xp.take(weight, self.flat, axis=0), index.shape + (weight.shape[1],))

    def backward(self, g):
        if self.scale_grad_by_freq:
            raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse gradients; pass "
                               "sparse=False (a dense gradient) or scale_grad_by_freq=False")
        xp, dev, flat = self.xp, self.device, self.flat
        values = g.reshape(-1, self.size[1])
        if self.padding_idx is not None:
            keep = xp.nonzero(flat != self.padding_idx)[0]
            flat, values = xp.take(flat, keep), values[Tensor._make(keep, dev)]
        return sparse_gradient(Tensor._make(xp.reshape(flat, (1, -1)), dev), values, self.size)

    def vjp(self, g):  # the gradient is a sparse Tensor, not an array: the engine stores it as it is
        return self.backward(Tensor._make(g, self.device))


def _checked(input, weight: Tensor, padding_idx, sparse: bool, name: str):
    """The checks ``embedding`` and ``embedding_bag`` share: a 2-D weight, integer indices in range;
    returns the indices and the normalised ``padding_idx``."""
    if weight.ndim != 2:
        raise RuntimeError(f"{name}: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    num = weight.shape[0]
    input = _indices(input, weight, name)
    padding_idx = _padding(padding_idx, num, name)
    _check_range(input, num, name)
    return input, padding_idx


@on_input_device
def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` ``(num_embeddings, dim)`` at the integer ``input`` (any shape): output
    ``input.shape + (dim,)``. The ``padding_idx`` row gets no gradient; ``max_norm`` first rescales
    the looked-up rows in place to at most that norm; ``scale_grad_by_freq`` divides each row's
    gradient by how often it occurs in ``input``. ``sparse``: a leaf weight's gradient is a sparse COO
    tensor (see :class:`SparseEmbedding`); lucid gives a non-leaf weight a dense one."""
    input, padding_idx = _checked(input, weight, padding_idx, sparse, "embedding")
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    return rename_node(_lookup(weight, input, input, padding_idx, scale_grad_by_freq, sparse), "Embedding")


def _lookup(weight: Tensor, index: Tensor, counted: Tensor, padding_idx, scale_grad_by_freq: bool,
            sparse: bool = False) -> Tensor:
    """``weight[index]`` with the gradient of the ``padding_idx`` row dropped and, for
    ``scale_grad_by_freq``, each row's gradient divided by how often it occurs in ``counted``;
    ``sparse``: a leaf weight's gradient is sparse COO."""
    if sparse and weight.requires_grad and weight.is_leaf and grad_mode.state.enabled:
        return SparseEmbedding.apply(weight, index=index._data, padding_idx=padding_idx,
                                     scale_grad_by_freq=scale_grad_by_freq)
    out = weight[index]
    if not out.requires_grad or (padding_idx is None and not scale_grad_by_freq):
        return out
    xp, dev = index.xp, index.device
    dtype = weight._data.dtype
    flat = xp.reshape(xp.astype(index._data, xp.int64), (-1,))
    factor = xp.ones(flat.shape, dtype=dtype, device=dev.native)
    if scale_grad_by_freq:
        c = xp.take(_frequencies(counted._data, weight.shape[0], dtype, dev), flat)
        factor = xp.where(c > 0, 1 / xp.maximum(c, 1), xp.zeros_like(c))
    if padding_idx is not None:
        factor = xp.where(flat == padding_idx, xp.zeros_like(factor), factor)
    return _ScaleGrad.apply(out, factor=xp.reshape(factor, index.shape + (1,)))


def _frequencies(index, num: int, dtype, dev):
    """How often each of the ``num`` rows occurs in the integer array ``index`` (``dtype`` counts)."""
    xp = dev.xp
    seen = xp.reshape(xp.astype(index, xp.int64), (-1,))
    counts = xp.zeros((num,), dtype=dtype, device=dev.native)
    dev.backend.add_at(counts, seen, xp.ones(seen.shape, dtype=dtype, device=dev.native))
    return counts


def _bags(input: Tensor, offsets, include_last_offset: bool):
    """``(entries, bag, valid, starts, ends)``: the indices as one 1-D array, the bag of each entry (0 where
    it is in none), whether it is in one (with ``include_last_offset``, entries past the last offset are
    not), and the entries ``starts[b] <= e < ends[b]`` of each bag. Bags come from ``searchsorted`` on the
    device: the offsets are never read back (a host sync every call on a GPU); they are checked on host
    devices only (see ``Backend.is_host``)."""
    xp, dev = input.xp, input.device
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: offsets must be None for a 2-D input (each row is a bag)")
        bags, length = input.shape
        rows = xp.arange(bags, dtype=xp.int64, device=dev.native)
        bag = xp.reshape(xp.broadcast_to(xp.reshape(rows, (-1, 1)), input.shape), (-1,))
        valid = xp.ones(bag.shape, dtype=xp.bool, device=dev.native)
        return xp.reshape(input._data, (-1,)), bag, valid, rows * length, (rows + 1) * length
    if input.ndim != 1 or offsets is None:
        raise ValueError(
            f"embedding_bag: expected a 2-D input (bags as rows), or a 1-D input with 1-D offsets; got input "
            f"shape {input.shape} and offsets {'None' if offsets is None else tuple(offsets.shape)}"
        )
    offsets = _indices(offsets, input, "embedding_bag")
    if offsets.ndim != 1:
        raise ValueError(f"embedding_bag: offsets must be 1-D, got shape {offsets.shape}")
    n = input.shape[0]
    starts = xp.astype(offsets._data, xp.int64)
    end = xp.asarray(n, dtype=xp.int64, device=dev.native)
    if include_last_offset and starts.shape[0]:
        end, starts = starts[-1], starts[:-1]
    ends = xp.concat([starts[1:], xp.reshape(end, (1,))]) if starts.shape[0] else starts
    if dev.host and starts.shape[0]:
        if int(starts[0]) != 0 or bool(xp.any(ends < starts)) or int(ends[-1]) > n:
            raise ValueError("embedding_bag: offsets must start at 0, never decrease and stay within the input")
    position = xp.arange(n, dtype=xp.int64, device=dev.native)
    bag = xp.searchsorted(starts, position, side="right") - 1  # the last bag starting at or before each entry
    valid = (bag >= 0) & (position < end)
    return input._data, xp.where(valid, bag, 0), valid, starts, ends


def _pieces(xp, starts, lengths, total: int):
    """Segments of entries (host arrays ``starts``, ``lengths``) cut into pieces of equal ``size``: each piece's
    entry positions ``(pieces, size)`` (slots past its end repeat its last entry), which slots it holds, each
    segment's first piece and piece count. ``size``: the longest segment if padding all to it costs at most 3x
    the ``total`` entries, else the mean length (at least 2; longer segments take more levels)."""
    longest, filled = int(xp.max(lengths)), int(xp.sum(xp.astype(lengths > 0, xp.int64)))
    size = max(1, longest if filled * longest <= 3 * total else max(2, -(-total // filled)))
    count = (lengths + (size - 1)) // size
    ends = xp.cumulative_sum(count)
    first = ends - count
    piece = xp.arange(int(ends[-1]), dtype=xp.int64, device=starts.device)
    seg = xp.searchsorted(ends, piece, side="right")
    begin = xp.take(starts, seg) + (piece - xp.take(first, seg)) * size
    last = xp.minimum(begin + size, xp.take(starts + lengths, seg))[:, None] - 1
    slots = begin[:, None] + xp.arange(size, dtype=xp.int64, device=starts.device)[None, :]
    return xp.minimum(slots, last), slots <= last, first, count


_CHUNK = 1 << 18  # gathered elements per step of _segment_reduce: its temporaries stay in cache (1 MiB float32)


def _segment_reduce(xp, op: str, table, index, starts, lengths, keep=None, coef=None):
    """Per segment of entries ``starts[s] <= e < starts[s] + lengths[s]`` (host arrays): the sum of ``coef[e]
    table[index[e]]`` over its kept entries, or (``op="max"``) each column's maximum and the entry holding it.
    ``index``/``keep``/``coef`` None: the rows themselves, all, 1. Padded pieces are reduced a chunk at a time,
    level by level. Returns ``(out, source, nonempty)``: results (zeros where nothing is kept), and for "max"
    the entries holding them and which segments keep any."""
    total, width = (table.shape[0] if index is None else index.shape[0]), table.shape[1]
    if int(xp.max(lengths)) == 0:  # no entries in any segment
        nothing = xp.zeros((lengths.shape[0], width), dtype=table.dtype, device=table.device)
        return nothing, xp.astype(nothing, xp.int64) if op == "max" else None, lengths > 0
    source = None
    while True:
        positions, inside, first, count = _pieces(xp, starts, lengths, total)
        if keep is not None:
            inside = inside & xp.reshape(xp.take(keep, xp.reshape(positions, (-1,))), positions.shape)
        n, step = positions.shape[0], max(1, _CHUNK // (positions.shape[1] * width))
        parts = [_reduce_pieces(xp, op, table, index, coef, source, positions[i:min(i + step, n), :],
                                inside[i:min(i + step, n), :]) for i in range(0, n, step)]
        table = xp.concat([part[0] for part in parts])
        if op == "max":
            source = xp.concat([part[1] for part in parts])
        keep = None if op == "sum" else xp.any(inside, axis=1)  # max: the pieces that keep an entry
        if int(xp.max(count)) <= 1:
            break
        starts, lengths, total, index, coef = first, count, table.shape[0], None, None
    at = xp.minimum(first, table.shape[0] - 1)
    nonempty = count > 0 if keep is None else (count > 0) & xp.take(keep, at)
    out = xp.take(table, at, axis=0)
    out[xp.logical_not(nonempty)] = 0
    return out, None if source is None else xp.take(source, at, axis=0), nonempty


def _reduce_pieces(xp, op: str, table, index, coef, source, positions, inside):
    """``(sums or maxima, their entries or None)`` over the slots ``inside`` of pieces ``positions``. Sums: one
    batched matmul (NumPy scatter-adds rows 4x slower). Maxima: the first kept slot not below each column's
    maximum, by a max over ranks (an argmax could pick a left-out slot, and NumPy's along the middle axis is 3x
    slower for short pieces); its entry from ``source`` (None: the slot's position)."""
    flat = xp.reshape(positions, (-1,))
    rows = xp.reshape(xp.take(table, flat if index is None else xp.take(index, flat), axis=0),
                      positions.shape + (table.shape[1],))
    outside = xp.logical_not(inside)
    if op == "sum":
        c = xp.astype(inside, table.dtype)
        if coef is not None:
            c *= xp.reshape(xp.take(coef, flat), positions.shape)
        summed = xp.matmul(c[:, None, :], rows)[:, 0, :]
        if not bool(xp.all(xp.isfinite(summed))):  # maybe an inf or nan left out: zero it (0 * inf is nan)
            rows[outside] = 0
            c[outside] = 0
            summed = xp.matmul(c[:, None, :], rows)[:, 0, :]
        return summed, None
    rows[outside] = -math.inf
    top = xp.max(rows, axis=1)
    size = positions.shape[1]
    rank = xp.astype(inside, xp.int32) * (size - xp.arange(size, dtype=xp.int32, device=rows.device))
    score = xp.astype(xp.logical_not(rows < top[:, None, :]), xp.int32) * rank[:, :, None]
    slot = xp.minimum(size - xp.max(score, axis=1), size - 1)[:, None, :]  # a piece keeping none: any slot
    held = (xp.broadcast_to(positions[:, :, None], rows.shape) if source is None
            else xp.reshape(xp.take(source, flat, axis=0), rows.shape))
    return top, xp.take_along_axis(held, slot, axis=1)[:, 0, :]


class EmbeddingBag(Function):
    """``embedding_bag`` on a host device: bags are contiguous segments, reduced by ``_segment_reduce``; so is
    the weight gradient over the entries sorted by row (``max``: one scatter to the rows holding the maxima).
    Under ``create_graph`` the backward is recorded ops."""

    def forward(self, weight, per_sample_weights, **params):
        with float_errors_quiet():  # inf - inf in a bag, or a left-out inf (0 * inf, then redone): silently, as PyTorch
            return self._forward(weight, per_sample_weights, **params)

    def _forward(self, weight, per_sample_weights, entries, bag, keep, starts, lengths, mode, scale_grad_by_freq):
        xp = self.xp
        coef = None if per_sample_weights is None else xp.astype(keep, weight.dtype) * per_sample_weights
        out, source, nonempty = _segment_reduce(xp, "max" if mode == "max" else "sum", weight, entries, starts,
                                                lengths, keep, coef)
        self.count = None
        if mode == "mean":  # the kept entries of each bag
            kept = xp.cumulative_sum(xp.astype(keep, xp.int64), include_initial=True)
            self.count = xp.astype(xp.maximum(xp.take(kept, starts + lengths) - xp.take(kept, starts), 1),
                                   weight.dtype)
            out /= self.count[:, None]
        if self.needs_input_grad:
            self.save_for_backward(weight, *(() if per_sample_weights is None else (per_sample_weights,)))
            self.entries, self.bag, self.keep, self.source, self.nonempty = entries, bag, keep, source, nonempty
            self.mode, self.scale_grad_by_freq = mode, scale_grad_by_freq
        return out

    def backward(self, g):
        with float_errors_quiet():
            return self._backward(g)

    def _backward(self, g):
        weight, *psw = self.saved_tensors
        psw = psw[0] if psw else None
        xp, dev = self.xp, self.device
        num = weight.shape[0]
        rows = coef = None
        if self.mode == "max":  # the rows holding each bag's maxima, (bags, width)
            rows = xp.reshape(xp.take(self.entries, xp.reshape(self.source, (-1,))), self.source.shape)
        else:  # each entry's share of its bag's gradient (per_sample_weights aside)
            coef = xp.astype(self.keep, weight._data.dtype)
            if self.count is not None:
                coef = coef / xp.take(self.count, self.bag)
        scale = None  # scale_grad_by_freq: 1 / how often each row is looked up
        if self.scale_grad_by_freq:
            scale = (1 / xp.maximum(_frequencies(self.entries, num, weight._data.dtype, dev), 1))[:, None]
        if grad_mode.state.enabled:
            return self._recorded(g, weight, psw, rows, coef, scale)
        g, gw, gp = g._data, None, None
        if self.needs_input_grad[0]:
            if rows is None:  # the entries sorted by row, reduced as the bags are
                c = coef if psw is None else coef * psw._data
                order = xp.argsort(self.entries, stable=False)
                bounds = xp.searchsorted(xp.take(self.entries, order),
                                         xp.arange(num + 1, dtype=self.entries.dtype, device=dev.native))
                gw, _, _ = _segment_reduce(xp, "sum", g, xp.take(self.bag, order), bounds[:-1],
                                           bounds[1:] - bounds[:-1], xp.take(self.keep, order), xp.take(c, order))
            else:
                gw = xp.zeros((num, g.shape[1]), dtype=g.dtype, device=dev.native)
                columns = xp.arange(g.shape[1], dtype=rows.dtype, device=dev.native)[None, :]
                dev.backend.add_at(gw, (rows, columns), dev.backend.masked(self.nonempty[:, None], g))
            gw = Tensor._make(gw if scale is None else gw * scale, dev)
        if psw is not None and self.needs_input_grad[1]:
            dot = xp.vecdot(xp.take(weight._data, self.entries, axis=0), xp.take(g, self.bag, axis=0), axis=-1)
            gp = Tensor._make(dev.backend.masked(self.keep, dot), dev)
        return gw, gp

    def _recorded(self, g, weight, psw, rows, coef, scale):
        """The backward as recorded ops, for ``create_graph``."""
        xp, dev, (num, width) = self.xp, self.device, weight.shape
        gp = None
        if rows is not None:  # max: each bag's gradient to the rows holding its maxima
            flat = xp.reshape(rows * width + xp.arange(width, dtype=rows.dtype, device=dev.native), (-1,))
            kept = where(Tensor._make(self.nonempty[:, None], dev), g, 0.0).reshape(-1)
            gw = zeros(num * width, dtype=weight.dtype, device=dev).scatter_add(0, Tensor._make(flat, dev), kept)
            gw = gw.reshape(num, width)
        else:
            entries, bag = Tensor._make(self.entries, dev), Tensor._make(self.bag, dev)
            c = Tensor._make(coef, dev) if psw is None else Tensor._make(coef, dev) * psw
            picked = g[bag]
            gw = index_add(zeros(num, width, dtype=weight.dtype, device=dev), 0, entries, picked * c.unsqueeze(1))
            if psw is not None:
                gp = (weight[entries] * picked).sum(dim=1) * Tensor._make(coef, dev)
        return (gw if scale is None else gw * Tensor._make(scale, dev)), gp


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embeddings: a 2-D ``input`` holds one bag per row; a 1-D
    ``input`` is cut into bags at ``offsets``. On a host device one fused op (``EmbeddingBag``); elsewhere
    each looked-up row is scatter-added (or, for ``max``, scatter-maxed) into its bag, with no host sync
    (the bag sizes are never read). Entries equal to ``padding_idx`` are left out of their bag; an empty
    bag gives zeros. ``per_sample_weights`` (``mode="sum"`` only) weight each looked-up row; of equal
    maxima the first entry gets the gradient on a host device, all share it elsewhere. ``sparse``: the weight's
    gradient is sparse COO, an entry per looked-up index (not with ``mode="max"``, as PyTorch)."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights only work with mode='sum', not {mode!r}")
    if sparse and mode == "max":
        raise ValueError("max mode does not support sparse weights")
    input, padding_idx = _checked(input, weight, padding_idx, sparse, "embedding_bag")
    if per_sample_weights is not None and per_sample_weights.shape != input.shape:
        raise ValueError(
            f"embedding_bag: per_sample_weights of shape {per_sample_weights.shape} must match the input "
            f"shape {input.shape}"
        )
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    entries, bag, valid, starts, ends = _bags(input, offsets, include_last_offset)
    xp, dev, width = input.xp, input.device, weight.shape[1]
    if padding_idx is not None:
        valid = valid & (entries != padding_idx)
    bags = starts.shape[0]
    if bags == 0 or entries.shape[0] == 0:
        return zeros(bags, width, dtype=weight.dtype, device=weight.device)
    if dev.host and not (sparse and weight.requires_grad):
        return EmbeddingBag.apply(weight, None if per_sample_weights is None else per_sample_weights.reshape(-1),
                                  entries=xp.astype(entries, xp.int64), bag=bag, keep=valid, starts=starts,
                                  lengths=ends - starts, mode=mode, scale_grad_by_freq=scale_grad_by_freq)
    rows = _lookup(weight, Tensor._make(entries, dev), input, padding_idx if sparse else None, scale_grad_by_freq,
                   sparse)  # (entries, width)
    live = Tensor._make(valid[:, None], dev)
    target = Tensor._make(bag, dev)  # entries of no bag go to bag 0, left out
    count = zeros(bags, dtype=weight.dtype, device=weight.device).scatter_add(
        0, target, Tensor._make(xp.astype(valid, weight._data.dtype), dev)).unsqueeze(1)
    target = target.unsqueeze(1).expand(-1, width)
    if mode == "max":
        rows = where(live, rows, -float("inf"))
        best = zeros(bags, width, dtype=weight.dtype, device=weight.device).scatter_reduce(
            0, target, rows, "amax", include_self=False)
        return where(count > 0, best, 0.0)
    rows = where(live, rows, 0.0)  # a left-out inf or nan reaches no bag
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    total = zeros(bags, width, dtype=weight.dtype, device=weight.device).scatter_add(0, target, rows)
    return total if mode == "sum" else total / count.clamp(min=1)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``(..., num_classes)`` int64 tensor with a 1 at each value of the integer ``tensor``;
    ``num_classes=-1`` means ``max + 1``."""
    if not isinstance(tensor, Tensor) or tensor.dtype.kind not in "iu":
        got = tensor.dtype.name if isinstance(tensor, Tensor) else type(tensor).__name__
        raise RuntimeError(f"one_hot is only applicable to integer (index) tensors, got {got}")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("one_hot: can not infer the number of classes from an empty tensor")
        num_classes = int(tensor.max().item()) + 1
    if tensor.numel() and (bool((tensor < 0).any()) or bool((tensor >= num_classes).any())):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes}) (num_classes={num_classes})")
    classes = arange(num_classes, device=tensor.device)
    return (tensor.to(_dt.int64).unsqueeze(-1) == classes).to(_dt.int64)  # (uint16 and int64 would not promote)
