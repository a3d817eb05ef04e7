"""Searching, counting and index generation: ``searchsorted``, ``bucketize``, ``isin``, ``bincount``,
``histc``, ``histogram``, ``unique_consecutive``, ``tril_indices``/``triu_indices``, ``unravel_index``,
``argwhere``. None of them is differentiable (their results are indices, counts or bools; the
histograms' bin counts are piecewise constant), as in PyTorch.
"""

from __future__ import annotations

import math
import numbers

from .. import dtypes as _dt
from .._backend import arrays
from .._backend.device import DeviceMismatchError, on_input_device
from .._tensor import Tensor
from ..return_types import return_type
from .complexes import refuse_unordered
from .creation import _place
from .indexing import nonzero

__all__ = [
    "searchsorted", "bucketize", "isin", "bincount", "histc", "histogram", "histogramdd", "unique_consecutive",
    "tril_indices", "triu_indices", "unravel_index", "argwhere",
]

HistogramResult = return_type("histogram", ["hist", "bin_edges"])
HistogramddResult = return_type("histogramdd", ["hist", "bin_edges"])


def _tensor(x, name: str, arg: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): {arg} must be a Tensor, got {type(x).__name__}")
    return x


def _same_device(a: Tensor, b: Tensor, name: str) -> None:
    if a._device is not b._device:
        raise DeviceMismatchError(f"{name}(): the tensors are on {a._device} and {b._device}; move one of them")


def _make(like: Tensor, array) -> Tensor:
    return Tensor._make(array, like._device)


def _index_dtype(like: Tensor, out_int32: bool):
    return like._device.backend.native_dtype(_dt.int32 if out_int32 else _dt.int64)


@on_input_device
def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False, right: bool = False, side=None,
                 sorter=None) -> Tensor:
    """Where ``input`` would be inserted into the innermost dimension of ``sorted_sequence`` to keep it
    sorted: the first such position, or the last with ``right=True`` / ``side='right'``. A 1-D sequence is
    shared by all values; otherwise the leading dimensions of both must match. ``sorter`` sorts it first."""
    seq = _tensor(sorted_sequence, "searchsorted", "sorted_sequence")
    refuse_unordered("searchsorted", seq, input)
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted(): side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise RuntimeError("searchsorted(): side='left' and right=True contradict each other")
        right = side == "right"
    scalar = not isinstance(input, Tensor)
    if scalar:
        input = Tensor(input, dtype=seq.dtype, device=seq._device)
    _same_device(seq, input, "searchsorted")
    if seq.ndim == 0:
        raise RuntimeError("searchsorted(): sorted_sequence must have at least one dimension")
    if sorter is not None:
        sorter = _tensor(sorter, "searchsorted", "sorter")
        if sorter.shape != seq.shape:
            raise RuntimeError(f"searchsorted(): sorter of shape {sorter.shape} must match sorted_sequence "
                               f"of shape {seq.shape}")
        seq = seq.detach().gather(-1, sorter)
    if seq.ndim > 1 and (input.ndim != seq.ndim or input.shape[:-1] != seq.shape[:-1]):
        raise RuntimeError(
            f"searchsorted(): the leading dimensions of sorted_sequence {seq.shape} and values {input.shape} must "
            f"match (or sorted_sequence must be 1-D)")
    xp = seq.xp
    dtype = _dt.promote_types(seq.dtype, input.dtype)
    s, v = seq._data, input._data
    if seq.dtype is not dtype:
        s = xp.astype(s, seq._device.backend.native_dtype(dtype))
    if input.dtype is not dtype:
        v = xp.astype(v, seq._device.backend.native_dtype(dtype))
    if seq.ndim == 1:
        found = xp.reshape(xp.searchsorted(s, xp.reshape(v, (-1,)), side="right" if right else "left"), v.shape)
    else:  # one row per leading index: count the elements before each value
        before = (s[..., None, :] <= v[..., :, None]) if right else (s[..., None, :] < v[..., :, None])
        found = xp.sum(xp.astype(before, xp.int64), axis=-1)
    out = _make(seq, xp.astype(found, _index_dtype(seq, out_int32)))
    return out.reshape(()) if scalar else out


@on_input_device
def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The index of the bucket of each element among the 1-D sorted ``boundaries``: ``i`` with
    ``boundaries[i-1] < x <= boundaries[i]`` (``<=`` and ``<`` swapped for ``right=True``), as PyTorch."""
    boundaries = _tensor(boundaries, "bucketize", "boundaries")
    if boundaries.ndim != 1:
        raise RuntimeError(f"bucketize(): boundaries must be 1-D, got shape {boundaries.shape}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


@on_input_device
def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """A bool tensor of ``elements``' shape: whether each element occurs in ``test_elements`` (either may
    be a number); ``invert`` negates it."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): elements or test_elements must be a Tensor")
    like = elements if isinstance(elements, Tensor) else test_elements
    if not isinstance(elements, Tensor):
        elements = Tensor(elements, device=like._device)
    if not isinstance(test_elements, Tensor):
        test_elements = Tensor(test_elements, device=like._device)
    _same_device(elements, test_elements, "isin")
    refuse_unordered("isin", elements, test_elements)
    xp = like.xp
    dtype = _dt.promote_types(elements.dtype, test_elements.dtype)
    native = like._device.backend.native_dtype(dtype)
    e = xp.reshape(xp.astype(elements._data, native), (-1,))
    t = xp.sort(xp.reshape(xp.astype(test_elements._data, native), (-1,)))
    if t.shape[0] == 0:
        found = xp.zeros(e.shape, dtype=xp.bool, device=like._device.native)
    else:
        j = arrays.clip(xp, xp.searchsorted(t, e), 0, t.shape[0] - 1)
        found = xp.take(t, j) == e
    if invert:
        found = ~found
    return _make(like, xp.reshape(found, elements.shape))


def _nonnegative_ints(x: Tensor, name: str) -> None:
    if x.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): the input must be an integer tensor, got {x.dtype.name}")
    if x.ndim != 1:
        raise RuntimeError(f"{name}(): the input must be 1-D, got shape {x.shape}")
    if x.numel() and bool(x.xp.min(x._data) < 0):  # no bool array of x's size
        raise RuntimeError(f"{name}(): the input must be non-negative")


@on_input_device
def bincount(input: Tensor, weights=None, minlength: int = 0) -> Tensor:
    """How often each value ``0..max`` occurs in the 1-D non-negative integer ``input`` (at least
    ``minlength`` bins), or the sum of ``weights`` per value: float weights keep their dtype, others
    count in float64, as PyTorch."""
    x = _tensor(input, "bincount")
    _nonnegative_ints(x, "bincount")
    if minlength < 0:
        raise RuntimeError(f"bincount(): minlength must be non-negative, got {minlength}")
    xp, dev = x.xp, x._device
    size = max(int(xp.max(x._data)) + 1 if x.numel() else 0, int(minlength))
    if weights is None:
        dtype, values = _dt.int64, None
    else:
        weights = _tensor(weights, "bincount", "weights")
        _same_device(x, weights, "bincount")
        if weights.shape != x.shape:
            raise RuntimeError(f"bincount(): weights of shape {weights.shape} must match the input's {x.shape}")
        dtype = weights.dtype if weights.dtype.kind == "f" else _dt.float64
        values = xp.astype(weights.detach()._data, dev.backend.native_dtype(dtype), copy=False)
    native = dev.backend.native_dtype(dtype)
    out = xp.zeros((size,), dtype=native, device=dev.native)
    if values is None:  # one 1 for all: an array of ones as long as the input costs a third of the time
        values = xp.ones((), dtype=native, device=dev.native)
    dev.backend.add_at(out, xp.astype(x._data, xp.int64, copy=False), values)
    return _make(x, out)


def _count_into(x: Tensor, bins: int, index, keep, weights=None):
    """``bins`` counts (in ``x``'s dtype) of the entries ``index`` (int64) where ``keep``; weighted when given."""
    xp, dev = x.xp, x._device
    out = xp.zeros((bins,), dtype=x._data.dtype, device=dev.native)
    one = xp.ones(index.shape, dtype=out.dtype, device=dev.native) if weights is None else weights
    where = xp.where(keep, index, xp.zeros_like(index))
    dev.backend.add_at(out, where, xp.where(keep, one, xp.zeros_like(one)))
    return out


def _data_range(x: Tensor, lo: float, hi: float, name: str, widen: float, from_data: bool):
    """The bins' range: ``(lo, hi)`` as given, or the data's min and max when ``from_data``; widened by
    ``widen`` each way when the two are equal (as PyTorch: histc takes the data's range whenever its min and
    max are equal and widens by 1; histogram and histogramdd take it when no range is given and widen by 0.5)."""
    if lo > hi:
        raise RuntimeError(f"{name}(): max must be larger than min, got min={lo} and max={hi}")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"{name}(): range of [{lo}, {hi}] is not finite")
    if from_data and x.numel():
        xp = x.xp
        lo, hi = float(xp.min(x._data)), float(xp.max(x._data))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise RuntimeError(f"{name}(): range of [{lo}, {hi}] is not finite")
    if lo == hi:
        lo, hi = lo - widen, hi + widen
    return lo, hi


@on_input_device
def histc(input: Tensor, bins: int = 100, min=0, max=0) -> Tensor:
    """Counts of ``input`` in ``bins`` equal-width bins over ``[min, max]`` (the data's range when both
    are 0); elements outside are ignored and ``max`` itself falls into the last bin. Floating only."""
    x = _tensor(input, "histc")
    if x.dtype.kind != "f":
        raise RuntimeError(f"histc(): the input must be floating, got {x.dtype.name}")
    if bins <= 0:
        raise RuntimeError(f"histc(): bins must be positive, got {bins}")
    lo, hi = _data_range(x, float(min), float(max), "histc", 1.0, float(min) == float(max))
    xp = x.xp
    v = xp.reshape(x._data, (-1,))
    keep = (v >= lo) & (v <= hi)
    index = xp.astype(xp.floor((v - lo) * (bins / (hi - lo))), xp.int64)
    index = arrays.clip(xp, index, 0, bins - 1)
    return _make(x, _count_into(x, bins, index, keep))


def _bin_edges(x: Tensor, column, bins, bounds, name: str):
    """The edges of one dimension: ``bins`` (a 1-D tensor of increasing edges, or a count of equal bins over
    ``bounds``, default the data's min and max) as an array of ``x``'s dtype."""
    xp = x.xp
    if isinstance(bins, Tensor):
        _same_device(x, bins, name)
        if bins.ndim != 1 or bins.shape[0] < 1:
            raise RuntimeError(f"{name}(): bins must be a 1-D tensor of at least one edge, got shape {bins.shape}")
        return xp.astype(bins.detach()._data, x._data.dtype)
    count = int(bins)
    if count <= 0:
        raise RuntimeError(f"{name}(): bins must be positive, got {bins}")
    lo, hi = (0.0, 0.0) if bounds is None else (float(bounds[0]), float(bounds[1]))
    lo, hi = _data_range(_make(x, column), lo, hi, name, 0.5, bounds is None)
    return xp.linspace(lo, hi, count + 1, dtype=x._data.dtype, device=x._device.native)


def _binned(x: Tensor, points, edges: list, weight, weight_shape, density: bool, name: str):
    """The histogram of ``points`` (an (N, D) array) over the per-dimension ``edges``: counts, or the sum of
    ``weight`` (of ``weight_shape``, one per point); the last bin of each dimension includes its right
    edge; ``density`` divides by the total and the bins' volumes."""
    xp, dev = x.xp, x._device
    w = None
    if weight is not None:
        weight = _tensor(weight, name, "weight")
        _same_device(x, weight, name)
        if weight.shape != weight_shape:
            raise RuntimeError(f"{name}(): weight of shape {weight.shape} must have shape {weight_shape}, one per "
                               f"point of the input")
        w = xp.astype(xp.reshape(weight.detach()._data, (-1,)), x._data.dtype)
    sizes = tuple(e.shape[0] - 1 for e in edges)
    keep = xp.ones((points.shape[0],), dtype=xp.bool, device=dev.native)
    flat = xp.zeros((points.shape[0],), dtype=xp.int64, device=dev.native)
    for d, (e, n) in enumerate(zip(edges, sizes)):
        v = points[:, d]
        keep = keep & (v >= e[0]) & (v <= e[-1])
        index = arrays.clip(xp, xp.astype(xp.searchsorted(e, v, side="right"), xp.int64) - 1, 0, max(n - 1, 0))
        flat = flat * n + index
    total = math.prod(sizes)
    hist = _count_into(x, total, flat, keep, w) if total else xp.zeros((0,), dtype=x._data.dtype,
                                                                       device=dev.native)
    hist = xp.reshape(hist, sizes)
    if density and total:
        volume = xp.ones((1,) * len(sizes), dtype=hist.dtype, device=dev.native)
        for d, e in enumerate(edges):
            volume = volume * xp.reshape(e[1:] - e[:-1], tuple(-1 if i == d else 1 for i in range(len(sizes))))
        hist = hist / (xp.sum(hist) * volume)
    return _make(x, hist)


def _floating_input(input, name: str) -> Tensor:
    x = _tensor(input, name)
    if x.dtype.kind != "f":
        raise RuntimeError(f"{name}(): the input must be floating, got {x.dtype.name}")
    return x


@on_input_device
def histogram(input: Tensor, bins=100, *, range=None, weight=None, density: bool = False):
    """``(hist, bin_edges)``: counts (or summed ``weight``) of the flattened ``input`` in ``bins`` (a count
    of equal bins over ``range``, default the data's min and max, or a 1-D tensor of increasing edges).
    The last bin includes its right edge; ``density`` divides by the total and the bin widths."""
    x = _floating_input(input, "histogram")
    points = x.xp.reshape(x._data, (-1, 1))
    edges = _bin_edges(x, points[:, 0], bins, range, "histogram")
    return HistogramResult(_binned(x, points, [edges], weight, x.shape, density, "histogram"), _make(x, edges))


@on_input_device
def histogramdd(input: Tensor, bins=10, *, range=None, weight=None, density: bool = False):
    """``(hist, bin_edges)`` of the points in the last dimension of ``input`` (D coordinates each): ``bins`` is a
    count for every dimension, one count per dimension, or one tensor of edges per dimension; ``range``
    lists ``min, max`` per dimension (flat, as PyTorch). ``bin_edges`` is a tuple of D tensors."""
    x = _floating_input(input, "histogramdd")
    if x.ndim < 1:
        raise RuntimeError("histogramdd(): the input needs at least one dimension (the coordinates)")
    dims = x.shape[-1]
    points = x.xp.reshape(x._data, (-1, dims))
    per_dim = list(bins) if isinstance(bins, (list, tuple)) else [bins] * dims
    if len(per_dim) != dims:
        raise RuntimeError(f"histogramdd(): got {len(per_dim)} bin specifications for {dims} dimensions")
    if range is not None and len(range) != 2 * dims:
        raise RuntimeError(f"histogramdd(): range must list a min and a max for each of the {dims} dimensions, "
                           f"got {len(range)} numbers")
    edges = [_bin_edges(x, points[:, d], b, None if range is None else range[2 * d:2 * d + 2], "histogramdd")
             for d, b in enumerate(per_dim)]
    hist = _binned(x, points, edges, weight, x.shape[:-1], density, "histogramdd")
    return HistogramddResult(hist, tuple(_make(x, e) for e in edges))


@on_input_device
def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """``input`` with each run of equal consecutive values (slices along ``dim`` when given; the
    flattened tensor otherwise) kept once; optionally the run index of each element and the run lengths."""
    x = _tensor(input, "unique_consecutive")
    refuse_unordered("unique_consecutive", x)
    xp, dev = x.xp, x._device
    if dim is None:
        rows, axis = xp.reshape(x._data, (-1, 1)), None
    else:
        if x.ndim == 0:
            raise IndexError("unique_consecutive(): a 0-d tensor has no dimension to work along")
        axis = dim % x.ndim if -x.ndim <= dim < x.ndim else None
        if axis is None:
            raise IndexError(f"unique_consecutive(): dim {dim} is out of range for shape {x.shape}")
        moved = xp.permute_dims(x._data, (axis,) + tuple(i for i in range(x.ndim) if i != axis))
        rows = xp.reshape(moved, (x.shape[axis], -1))
    n = rows.shape[0]
    if n:
        changed = xp.any(rows[1:, ...] != rows[:-1, ...], axis=1) if rows.shape[1] else xp.zeros(
            (n - 1,), dtype=xp.bool, device=dev.native)
        first = xp.concat([xp.ones((1,), dtype=xp.bool, device=dev.native), changed])
    else:
        first = xp.zeros((0,), dtype=xp.bool, device=dev.native)
    starts = xp.astype(xp.nonzero(first)[0], xp.int64)
    if axis is None:
        out = xp.take(xp.reshape(x._data, (-1,)), starts, axis=0)
    else:
        out = xp.take(x._data, starts, axis=axis)
    results = [_make(x, out)]
    if return_inverse:
        group = xp.cumulative_sum(xp.astype(first, xp.int64)) - 1
        results.append(_make(x, xp.reshape(group, x.shape) if axis is None else group))
    if return_counts:
        ends = xp.asarray([n], dtype=xp.int64, device=dev.native)
        results.append(_make(x, xp.concat([starts, ends])[1:] - starts))
    return results[0] if len(results) == 1 else tuple(results)



def _triangle(upper: bool):
    name = "triu_indices" if upper else "tril_indices"

    def op(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None) -> Tensor:
        if row < 0 or col < 0:
            raise RuntimeError(f"{name}(): row and col must be non-negative, got {row} and {col}")
        dev, dt = _place(dtype, device, _dt.int64)
        if dt.kind not in "iu":
            raise RuntimeError(f"{name}(): dtype must be an integer type, got {dt.name}")
        xp, native = dev.xp, dev.native
        i = xp.arange(row, dtype=xp.int64, device=native)
        # row i's first column (upper) or its end (lower), its count of positions and its first position
        edge = arrays.clip(xp, i + (offset if upper else offset + 1), 0, col)
        lo, count = (edge, col - edge) if upper else (xp.zeros_like(i), edge)
        total = int(xp.sum(count))
        # each row repeated over its positions, with its first column less its first position (the position
        # added): no n*n mask (4-5x faster)
        repeated = dev.backend.repeated
        cols = repeated(lo - (xp.cumulative_sum(count) - count), count, total)
        cols += xp.arange(total, dtype=xp.int64, device=native)
        out = xp.stack([repeated(i, count, total), cols])
        return Tensor._make(xp.astype(out, dev.backend.native_dtype(dt), copy=False), dev)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"The (2, N) coordinates of the {'upper' if upper else 'lower'} triangle of a ``row`` x ``col`` "
                  f"matrix ({'on and above' if upper else 'on and below'} the ``offset``-th diagonal), row by row.")
    return op


tril_indices, triu_indices = _triangle(False), _triangle(True)


def unravel_index(indices, shape) -> tuple:
    """The coordinates in a tensor of ``shape`` of the flat ``indices`` (one int64 tensor per dimension);
    negative indices count from the end, as PyTorch."""
    if isinstance(shape, numbers.Integral):
        shape = (int(shape),)
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"unravel_index(): shape {shape} has a negative size")
    if not isinstance(indices, Tensor):
        indices = Tensor(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"unravel_index(): expected an integer tensor of indices, got {indices.dtype.name}")
    xp, total = indices.xp, math.prod(shape)
    flat = xp.astype(indices._data, xp.int64)
    if indices.numel() and bool(xp.any((flat < -total) | (flat >= total))):
        raise RuntimeError(f"unravel_index(): an index is out of bounds for shape {shape} ({total} elements)")
    flat = xp.where(flat < 0, flat + total, flat)
    coords = []
    for size in reversed(shape):
        coords.append(flat % size if size else flat)
        flat = flat // size if size else flat
    return tuple(_make(indices, c) for c in reversed(coords))


def argwhere(input: Tensor) -> Tensor:
    """The (N, ndim) int64 coordinates of the non-zero elements (``nonzero(input)``)."""
    return nonzero(_tensor(input, "argwhere"))


METHODS = {"bincount": bincount, "histc": histc, "histogram": histogram,
           "unique_consecutive": unique_consecutive, "argwhere": argwhere}
