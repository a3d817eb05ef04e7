"""Order statistics and other reductions PyTorch has beyond the basic ones in ``reduction``: median,
quantile, mode, kthvalue, running max/min, nan-ignoring sums, ``var_mean``, ``aminmax``, counting,
covariance and correlation.

Differentiable results are composites: the positions an order statistic picks are found on the arrays
(no gradient), then the values are read with ``gather`` so that the gradient goes to the picked
element, as PyTorch's (``median(x)`` without ``dim`` splits it evenly among the elements equal to the
result, as PyTorch's ``median()``). Sorting is stable and puts NaN last, so among equal values the
first in the input is picked; PyTorch picks some equal element too but does not document which.
"""

from __future__ import annotations

import math
import warnings

from .. import dtypes as _dt
from .._backend.device import DeviceMismatchError, on_input_device
from .._tensor import Tensor
from ..amp.autocast import autocast_op
from ..autograd.function import FLOAT32, rename_node
from ..return_types import return_type
from .complexes import complex as complex_from_parts
from .complexes import refuse_unordered
from .indexing import Index, _dim_positions, gather, sort, where
from .linalg import matmul
from .mathops import logaddexp
from .reduction import (
    MaxAll,
    _check_tensor,
    _correction,
    _floating,
    _one_axis,
    amax,
    amin,
    cumulative,
    mean,
    positions,
    std,
    var,
)
from .shape import cat, diagonal, movedim

__all__ = [
    "median", "nanmedian", "quantile", "nanquantile", "mode", "kthvalue", "var_mean", "std_mean", "cummax",
    "cummin", "logcumsumexp", "aminmax", "count_nonzero", "nansum", "nanmean", "msort", "cov", "corrcoef",
]

MedianResult = return_type("median", ["values", "indices"])
NanMedianResult = return_type("nanmedian", ["values", "indices"])
ModeResult = return_type("mode", ["values", "indices"])
KthvalueResult = return_type("kthvalue", ["values", "indices"])
CummaxResult = return_type("cummax", ["values", "indices"])
CumminResult = return_type("cummin", ["values", "indices"])
AminmaxResult = return_type("aminmax", ["min", "max"])


def _const(x: Tensor, array) -> Tensor:
    return Tensor._make(array, x._device)


def _int64(x: Tensor, array):
    return x.xp.astype(array, x._device.backend.native_dtype(_dt.int64), copy=False)


def _nan_count(x: Tensor, axis: int):
    """How many NaNs each slice along ``axis`` holds (an int64 array with ``axis`` kept)."""
    xp = x.xp
    if x.dtype.kind != "f":
        return xp.zeros(tuple(1 if i == axis else n for i, n in enumerate(x.shape)), dtype=xp.int64,
                        device=x._device.native)
    return xp.sum(_int64(x, xp.isnan(x._data)), axis=axis, keepdims=True)


def _counting(xp, n: int):
    """An integer dtype for counts and positions up to ``n``: int32 (half of int64's memory traffic) if it fits."""
    return xp.int32 if n < 2**31 else xp.int64


def _ranked(x: Tensor, axis: int, rank):
    """The positions (int64, ``axis`` kept) of the elements of stable sorted rank ``rank`` (an int64 array,
    ``axis`` kept as size 1) along ``axis``, NaN sorted last: without an argsort (about 10x slower than a sort
    of values), the value at the rank comes from a plain sort, and its position is the occurrence of that value
    that a stable sort puts there, after as many equal elements as the sorted values hold before the rank."""
    xp, a, n = x.xp, x._data, x.shape[axis]
    ordered = xp.sort(a, axis=axis)
    value = xp.take_along_axis(ordered, rank, axis=axis)
    nan = xp.isnan(value) if x.dtype.kind == "f" else None

    def same(u):  # equal to the value (NaN to NaN)
        return u == value if nan is None else (u == value) | (xp.isnan(u) & nan)

    count = _counting(xp, n)
    before = xp.sum(xp.astype(same(ordered) & (positions(xp, a, axis, xp.int64) < rank), count), axis=axis,
                    keepdims=True)
    seen = cumulative(xp, xp.astype(same(a), count), axis, "sum")
    return xp.sum(xp.astype(seen <= before, xp.int64), axis=axis, keepdims=True)


def _pick_along(x: Tensor, axis: int, rank, keep: bool):
    """``(values, indices)`` of the element of sorted rank ``rank`` (see ``_ranked``) along ``axis``: the indices
    point into ``x``; the values are ``x`` gathered there (differentiable)."""
    idx = _const(x, _ranked(x, axis, rank))
    values = gather(x, axis, idx)
    if not keep:
        values, idx = values.squeeze(axis), idx.squeeze(axis)
    return values, idx


class _PickedAll(MaxAll):
    """An order statistic of all elements (``value``, found on the arrays); as ``max()`` the gradient is
    shared evenly by the elements equal to it, or by the NaNs when it is NaN."""

    def forward(self, x, axes, keepdims, value):
        self.keep(x, axes, keepdims)
        self.save_for_backward(x, value)
        return value


def _median(x: Tensor, dim, keepdim: bool, ignore_nan: bool, result):
    name = result.__name__
    _check_tensor(x, name)
    refuse_unordered(name, x, bools=True)
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            raise IndexError(f"{name}(): the input has no elements, so it has no {name}")
        values, _ = _median(flat, 0, False, ignore_nan, result)
        return _PickedAll.apply(x, axes=tuple(range(x.ndim)), keepdims=False, value=values.detach()._data)
    axis = _one_axis(x, dim, None, name)
    if x.ndim == 0:
        values, idx = _median(x.reshape(1), 0, False, ignore_nan, result)
        return result(values.reshape(()), idx.reshape(()))
    n = x.shape[axis]
    if n == 0:
        raise IndexError(f"{name}(): dimension {axis} of the input (shape {x.shape}) is empty; it has no {name}")
    xp, nans = x.xp, _nan_count(x, axis)
    valid = n - nans
    if ignore_nan:  # the lower median of the non-NaN values (the first NaN when all are NaN)
        rank = xp.maximum((valid - 1) // 2, xp.zeros_like(valid))
    else:  # NaN when the slice has one (sorted last: the first NaN is at position ``valid``)
        rank = xp.where(nans > 0, valid, xp.full_like(valid, (n - 1) // 2))
    return result(*_pick_along(x, axis, rank, keepdim))


@on_input_device
def median(input: Tensor, dim=None, keepdim: bool = False):
    """The lower median (of an even count, the smaller middle value, as PyTorch). Without ``dim``: a 0-d
    tensor of all elements; with ``dim``: ``(values, indices)``. NaN wherever a reduced slice has one."""
    return _as_node(_median(input, dim, keepdim, False, MedianResult), "Median", int(dim is not None))


@on_input_device
def nanmedian(input: Tensor, dim=None, keepdim: bool = False):
    """``median`` ignoring NaNs (NaN only where a slice holds nothing else)."""
    return _as_node(_median(input, dim, keepdim, True, NanMedianResult), "Nanmedian", int(dim is not None))


def _as_node(result, name: str, overload: int = 0):
    """``result`` (a tensor, or a tuple whose first entry is the values) recorded as PyTorch's node ``name``."""
    rename_node(result if isinstance(result, Tensor) else result[0], name, overload)
    return result


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(x: Tensor, q, dim, keepdim: bool, interpolation: str, ignore_nan: bool, name: str) -> Tensor:
    x = _floating(x, name)
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{name}(): interpolation must be one of {', '.join(_INTERPOLATIONS)}, got {interpolation!r}")
    scalar = not isinstance(q, Tensor)
    if scalar:
        q = Tensor(float(q), dtype=x.dtype, device=x._device)
    if q.ndim > 1:
        raise RuntimeError(f"{name}(): q must be a number or a 0-D or 1-D tensor, got shape {q.shape}")
    if q.dtype is not x.dtype:
        raise RuntimeError(f"{name}(): q ({q.dtype.name}) and the input ({x.dtype.name}) must have the same dtype")
    if q._device is not x._device:
        raise DeviceMismatchError(f"{name}(): q is on {q._device} but the input on {x._device}; move one of them")
    xp = x.xp
    qd = q._data
    if q.numel() and bool(xp.any((qd < 0) | (qd > 1) | xp.isnan(qd))):
        raise RuntimeError(f"{name}(): q values must be in the range [0, 1]")
    one_q = scalar or q.ndim == 0
    if dim is None:
        src, axis = x.reshape(-1), 0
    else:
        axis = _one_axis(x, dim, None, name)
        src = x.reshape(1) if x.ndim == 0 else x
    if src.shape[axis] == 0:
        raise IndexError(f"{name}(): the reduced dimension of the input (shape {x.shape}) is empty")
    s = movedim(src, axis, -1)
    n = s.shape[-1]
    ordered = s.sort(-1).values
    nans = _nan_count(s, s.ndim - 1)
    count = (n - nans) if ignore_nan else xp.full_like(nans, n)
    span = xp.astype(xp.maximum(count - 1, xp.zeros_like(count)), q._data.dtype)
    rank = xp.reshape(q.detach()._data, (1,) * (s.ndim - 1) + (-1,)) * span
    if interpolation == "nearest":
        rank = xp.round(rank)
    lo, hi = xp.floor(rank), xp.ceil(rank)
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    lo_v = ordered.gather(-1, _const(x, _int64(x, lo)))
    hi_v = ordered.gather(-1, _const(x, _int64(x, hi)))
    if interpolation == "midpoint":
        out = lo_v + (hi_v - lo_v) * 0.5
    elif interpolation == "linear":
        # the weight is differentiable in q too, as PyTorch's (the positions are constants)
        out = lo_v + (hi_v - lo_v) * (q.reshape((1,) * (s.ndim - 1) + (-1,)) * _const(x, span) - _const(x, lo))
    else:
        out = lo_v
    if not ignore_nan:  # a slice with a NaN has NaN quantiles
        out = where(_const(x, nans > 0), math.nan, out)
    out = movedim(out, -1, 0)  # the q dimension first, as PyTorch
    if keepdim:
        kept = (1,) * x.ndim if dim is None else tuple(1 if i == axis else m for i, m in enumerate(x.shape))
        out = out.reshape((out.shape[0],) + kept)
    return out[0] if one_q else out


@on_input_device
@autocast_op({"cpu": FLOAT32})
def quantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear") -> Tensor:
    """The ``q``-quantiles (a number or a 1-D tensor of them, in [0, 1]) over ``dim`` (flattened when
    None); a 1-D ``q`` adds a leading dimension. Between two values ``interpolation`` picks one of
    linear, lower, higher, midpoint, nearest (ties to even), as PyTorch. NaN where a slice holds NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


@on_input_device
@autocast_op({"cpu": FLOAT32})
def nanquantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear") -> Tensor:
    """``quantile`` ignoring NaNs (NaN only where a slice holds nothing else)."""
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


def _along_last(x: Tensor, dim, name: str):
    """``x`` with ``dim`` moved last (a 0-d tensor as one element) and that dim's position."""
    axis = _one_axis(x, dim, None, name)
    src = x.reshape(1) if x.ndim == 0 else x
    if src.shape[axis] == 0:
        raise IndexError(f"{name}(): dimension {axis} of the input (shape {x.shape}) is empty")
    return src, axis


def _finish(x: Tensor, src: Tensor, axis: int, idx, keepdim: bool, result):
    """``(values, indices)`` read at ``idx`` (an int64 array, ``axis`` kept) of ``src``, shaped as PyTorch."""
    idx = _const(x, idx)
    values = gather(src, axis, idx)
    if not keepdim or x.ndim == 0:
        values, idx = values.squeeze(axis), idx.squeeze(axis)
    if x.ndim == 0:
        values, idx = values.reshape(()), idx.reshape(())
    return result(values, idx)


@on_input_device
def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest of equally frequent ones) and the index of
    its last occurrence, as PyTorch; the gradient goes to that element. NaNs count as equal to each other
    (greater than every number): a row of NaNs has the mode NaN (PyTorch's CPU result with NaNs depends on
    its sort)."""
    _check_tensor(input, "mode")
    refuse_unordered("mode", input)
    src, axis = _along_last(input, dim, "mode")
    xp = input.xp
    a = xp.permute_dims(src._data, tuple(i for i in range(src.ndim) if i != axis) + (axis,))
    if input.dtype is _dt.bool_:  # (the standard sorts no bools)
        a = xp.astype(a, xp.uint8)
    n = a.shape[-1]
    s = xp.sort(a, axis=-1)
    # the length of the run of equal values each sorted element belongs to (runs never cross rows: each
    # row starts one), found on the flattened rows in a few vectorised steps
    dev = input._device.native
    floating = input.dtype.kind in "fc"
    # NaNs (sorted last) count as equal values: one run, so a row of NaNs has the mode NaN
    new_run = s[..., 1:] != s[..., :-1]
    if floating:
        new_run = new_run & ~(xp.isnan(s[..., 1:]) & xp.isnan(s[..., :-1]))
    first = xp.concat([xp.ones(s.shape[:-1] + (1,), dtype=xp.bool, device=dev), new_run], axis=-1)
    first = xp.reshape(first, (-1,))
    starts = xp.astype(xp.nonzero(first)[0], xp.int64)
    ends = xp.concat([starts[1:], xp.asarray([first.shape[0]], dtype=xp.int64, device=dev)])
    group = xp.cumulative_sum(xp.astype(first, xp.int64)) - 1
    run = xp.reshape(xp.take(ends - starts, group), s.shape)
    longest = xp.astype(run == xp.max(run, axis=-1, keepdims=True), xp.int8)
    best = xp.argmax(longest, axis=-1, keepdims=True)  # first: smallest value
    value = xp.take_along_axis(s, best, axis=-1)
    positions = xp.arange(n, dtype=xp.int64, device=input._device.native)
    hit = (a == value) | (xp.isnan(a) & xp.isnan(value)) if floating else a == value
    last = xp.max(xp.where(hit, positions, xp.full_like(positions, -1)), axis=-1, keepdims=True)
    return _as_node(_finish(input, src, axis, _back(xp, last, axis), keepdim, ModeResult), "Mode")


def _back(xp, a, axis):
    """Undo moving ``axis`` last."""
    order = list(range(a.ndim - 1))
    order.insert(axis, a.ndim - 1)
    return xp.permute_dims(a, tuple(order))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest element (1-based) along ``dim`` and its index; the gradient goes there. Among tied
    elements the index is the stable sort's ``k``-th (PyTorch's quickselect may return another of the ties)."""
    _check_tensor(input, "kthvalue")
    refuse_unordered("kthvalue", input, bools=True)
    src, axis = _along_last(input, dim, "kthvalue")
    n = src.shape[axis]
    if not 1 <= k <= n:
        raise IndexError(f"kthvalue(): k={k} is out of range for dimension {axis} of size {n}")
    rank = input.xp.full(tuple(1 if i == axis else m for i, m in enumerate(src.shape)), k - 1, dtype=input.xp.int64,
                     device=input._device.native)
    return _as_node(_finish(input, src, axis, _ranked(src, axis, rank), keepdim, KthvalueResult), "Kthvalue")


def var_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(var, mean)`` over ``dim`` in one call, with ``var``'s arguments (correction 1 by default)."""
    if isinstance(dim, bool):  # PyTorch's legacy var_mean(x, unbiased)
        dim, unbiased = None, dim
    c = _correction(unbiased, correction)
    return tuple(_as_node(t, "VarMean") for t in (var(input, dim, keepdim=keepdim, correction=c),
                                                 mean(input, dim, keepdim)))


def std_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(std, mean)`` over ``dim`` in one call, with ``std``'s arguments (correction 1 by default)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    c = _correction(unbiased, correction)
    return tuple(_as_node(t, "StdMean") for t in (std(input, dim, keepdim=keepdim, correction=c),
                                                 mean(input, dim, keepdim)))


def _running(pick: str, result):
    name = "cum" + pick

    @on_input_device
    def op(input: Tensor, dim: int, *, axis=None):
        _check_tensor(input, name)
        refuse_unordered(name, input)
        ax = _one_axis(input, dim, axis, name)
        src = input.reshape(1) if input.ndim == 0 else input
        xp, a, n = input.xp, src._data, src.shape[ax]
        if input.dtype is _dt.bool_:  # the array API has no max/min of bools
            a = xp.astype(a, xp.uint8)
        # the running best (NaN, once met, stays); its index is the latest position up to here whose element
        # equals it (the latest NaN after one): a running max of those positions, found by a second scan
        best = cumulative(xp, a, ax, pick)
        hit = (a == best) | xp.isnan(a) if input.dtype.kind == "f" else a == best
        at = positions(xp, a, ax, _counting(xp, n))
        last = cumulative(xp, xp.where(hit, at, xp.zeros_like(at)), ax, "max")
        indices = _const(input, _int64(input, last))
        values = Index.apply(src, plan=_dim_positions(src, ax, indices, name, check=False))
        if input.ndim == 0:
            values, indices = values.reshape(()), indices.reshape(())
        return _as_node(result(values, indices), f"Cum{pick}")

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"The running {pick}imum along ``dim`` and the index where it was reached (the latest of equal "
                  f"values; NaN, once met, stays), as PyTorch; the gradient goes to that index.")
    return op


cummax = _running("max", CummaxResult)
cummin = _running("min", CumminResult)


def _logaddexp(a: Tensor, b: Tensor) -> Tensor:
    """``log(exp(a) + exp(b))`` without overflow (shifted by the larger, a constant for the gradient); complex
    ones by ``logaddexp``, whose imaginary part adds up along a scan, as PyTorch's (no wrap into (-pi, pi])."""
    if a.dtype.kind == "c":
        return logaddexp(a, b)
    xp = a.xp
    md = xp.maximum(a._data, b._data)
    shift = _const(a, xp.where(xp.isfinite(md), md, xp.zeros_like(md)))
    return ((a - shift).exp() + (b - shift).exp()).log() + shift


def logcumsumexp(input: Tensor, dim: int, *, axis=None) -> Tensor:
    """``log(cumsum(exp(input)))`` along ``dim`` of a floating or complex tensor (integers raise, as in PyTorch)
    without overflow or early underflow: a doubling scan of pairwise log-add-exps (log2(n) steps), each shifted
    by its own max."""
    _check_tensor(input, "logcumsumexp")
    ax = _one_axis(input, dim, axis, "logcumsumexp")
    if input.dtype.kind not in "fc":
        raise TypeError(f"logcumsumexp is not implemented for {input.dtype.name} tensors (as in PyTorch, where "
                        f"logsumexp takes them); cast first (x.float())")
    if input.ndim == 0:
        return rename_node(input.clone(), "Logcumsumexp")
    n, step, y = input.shape[ax], 1, input
    lead = (slice(None),) * ax
    while step < n:
        head, tail = y[lead + (slice(0, step),)], y[lead + (slice(step, n),)]
        y = cat([head, _logaddexp(tail, y[lead + (slice(0, n - step),)])], ax)
        step *= 2
    return rename_node(y if n > 1 else y.clone(), "Logcumsumexp")


def aminmax(input: Tensor, *, dim=None, keepdim: bool = False):
    """``(min, max)`` over ``dim`` (all elements when None), as ``amin`` and ``amax``."""
    refuse_unordered("aminmax", input)
    return AminmaxResult(*(_as_node(t, "Aminmax") for t in (amin(input, dim, keepdim), amax(input, dim, keepdim))))


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """How many elements over ``dim`` (an int or a tuple; all when None) are not zero, as int64."""
    _check_tensor(input, "count_nonzero")
    return (input != 0).sum(dim)


def _not_nan(x: Tensor) -> Tensor:
    return x == x


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``sum`` with NaNs counted as zero (their gradient is 0)."""
    _check_tensor(input, "nansum")
    if input.dtype.kind == "f":
        input = where(_not_nan(input).detach(), input, 0.0)
    return rename_node(input.sum(dim, keepdim, dtype=dtype), "Nansum")


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean of the non-NaN elements over ``dim`` (NaN where there are none; there lucid's gradient is 0
    where PyTorch's is NaN)."""
    input = _floating(input, "nanmean", dtype)
    keep = _not_nan(input).detach()
    return nansum(input, dim, keepdim) / keep.sum(dim, keepdim).to(input.dtype)


def msort(input: Tensor) -> Tensor:
    """``input`` sorted along its first dimension (``sort(input, 0).values``)."""
    _check_tensor(input, "msort")
    refuse_unordered("msort", input)
    return input.clone() if input.ndim == 0 else sort(input, 0).values


def cov(input: Tensor, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in the columns; a 1-D
    input is one variable), with ``correction`` (1: unbiased), integer frequency weights ``fweights`` and
    observation weights ``aweights``, as PyTorch (and NumPy's ``cov``)."""
    _check_tensor(input, "cov")
    if input.ndim > 2:
        raise RuntimeError(f"cov(): input must have 2 or fewer dimensions, got shape {input.shape}")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if x.dtype.kind not in "fc":
        x = x.to(_dt.get_default_dtype())
    n, real = x.shape[1], x.dtype.to_real()  # weights and the degrees of freedom are real
    w = None
    for name, wt in (("fweights", fweights), ("aweights", aweights)):
        if wt is None:
            continue
        _check_tensor(wt, "cov")
        if wt._device is not x._device:
            raise DeviceMismatchError(f"cov(): {name} is on {wt._device} but the input on {x._device}")
        if wt.ndim > 1 or wt.numel() != n:
            raise RuntimeError(f"cov(): {name} must be 0-D or 1-D with {n} elements, got shape {wt.shape}")
        if name == "fweights" and wt.dtype.kind not in "iu":
            raise RuntimeError(f"cov(): fweights must be integral, got {wt.dtype.name}")
        if wt.numel() and bool(x.xp.any(wt._data < 0)):
            raise RuntimeError(f"cov(): {name} cannot be negative")
        wt = wt.reshape(-1).to(real)
        w = wt if w is None else w * wt
    if w is None:
        total = Tensor(float(n), dtype=real, device=x._device)
        avg = x.mean(1)
        factor = total - correction
    else:
        total = w.sum()
        avg = (x * w).sum(1) / total
        if correction == 0:
            factor = total
        elif aweights is None:
            factor = total - correction
        else:
            factor = total - correction * (w * aweights.reshape(-1).to(real)).sum() / total
    if bool(factor.detach() <= 0):
        warnings.warn("cov(): degrees of freedom is <= 0; the result is inf or nan", stacklevel=2)
        factor = factor * 0
    centred = x - avg.unsqueeze(1)
    weighted = centred if w is None else centred * w
    c = matmul(weighted, centred.mH if centred.dtype.kind == "c" else centred.mT) / factor
    return c.reshape(()) if x.shape[0] == 1 else c  # one variable: a 0-d result, as PyTorch


def corrcoef(input: Tensor) -> Tensor:
    """The Pearson correlation matrix of the rows of ``input`` (``cov`` normalised by the standard
    deviations), clipped to [-1, 1] as PyTorch (a complex one in each part)."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    sd = diagonal(c).real.sqrt()
    c = c / sd.unsqueeze(1) / sd.unsqueeze(0)
    if c.dtype.kind == "c":
        return complex_from_parts(c.real.clamp(-1, 1), c.imag.clamp(-1, 1))
    return c.clamp(-1, 1)


METHODS = {name: globals()[name] for name in __all__ if name not in ("var_mean", "std_mean")}  # as torch.Tensor
