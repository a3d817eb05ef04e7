"""Reductions and scans. Every one takes ``dim=`` or ``axis=`` and ``keepdim=`` or ``keepdims=``.

Choices shared by all of them, as in PyTorch: ``dim=None`` and ``dim=()`` reduce over every
axis; a 0-d tensor accepts ``dim`` 0 or -1; ``sum``/``prod``/``cumsum``/``cumprod`` of bool
and small integer tensors accumulate in int64; ``max``/``min`` with a ``dim`` return a
``(values, indices)`` named tuple. Non-finite results (the mean of nothing, a sum of ``inf`` and
``-inf``, ``log(0)`` in ``logsumexp``) come out as PyTorch's silent inf/nan, without NumPy's warnings.
"""

from __future__ import annotations

import builtins
import math
import warnings

from .. import dtypes as _dt
from .._backend.arrays import is_half
from .._backend.device import on_input_device
from .._backend.numpy_backend import float_errors_quiet
from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.function import FLOAT32, ComputedFunction, Function, rename_node
from ..return_types import return_type
from . import _axes
from ._fast_path import fast_apply
from .arithmetic import maximum, minimum
from .complexes import refuse_unordered

__all__ = [
    "sum", "mean", "var", "std", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "logsumexp",
    "cumsum", "cumprod", "any", "all",
]

# the named tuples ``max(dim)`` and ``min(dim)`` return, as torch.return_types.max / .min
MaxResult = return_type("max", ["values", "indices"])
MinResult = return_type("min", ["values", "indices"])
_RESULTS = {"max": MaxResult, "min": MinResult}


# ---- argument helpers ---------------------------------------------------------------------
def _check_tensor(x, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}() expects a Tensor, got {type(x).__name__}; wrap it first: lucid.tensor(...)")


def _index(d):
    """``d`` as an int when it is one (numpy integers too, not bools), else None."""
    return None if isinstance(d, bool) or not hasattr(d, "__index__") else d.__index__()


def _reduce_axes(x: Tensor, dim, axis, name: str) -> tuple:
    """The axes a reduction works on: ``dim``/``axis`` (an int or a sequence of them) as sorted
    non-negative axes, all of them for None or ``()`` (as PyTorch), and none for a 0-d tensor (whose
    only element is the result)."""
    _check_tensor(x, name)
    d = _axes.pick(dim, axis)
    if d is not None:
        many = isinstance(d, (tuple, list))
        dims = [_index(v) for v in d] if many else [_index(d)]
        if None in dims:
            raise TypeError(f"{name}(): dim must be an int or a tuple of ints, got {d!r}")
        d = (tuple(dims) or None) if many else dims[0]
    axes = _axes.normalize(d, x.ndim)
    return axes if x.ndim else ()


def _one_axis(x: Tensor, dim, axis, name: str) -> int:
    """The single axis a scan or an index reduction works along (``dim`` or ``axis``, may be negative)."""
    _check_tensor(x, name)
    d = _index(_axes.pick(dim, axis))
    if d is None:
        raise TypeError(f"{name} works along one dimension and needs dim to be an int, got {_axes.pick(dim, axis)!r}")
    return _axes.normalize(d, x.ndim)[0]


def _check_nonempty(x: Tensor, axes, name: str, whole: bool = False, error=IndexError) -> None:
    """PyTorch's error for a max/min-like reduction over a zero-size dimension: IndexError along a dim,
    ``error`` when ``whole`` (no dim given: the whole tensor is reduced)."""
    empty = [a for a in axes if x.shape[a] == 0]
    if not empty:
        return
    if whole:
        raise error(
            f"{name}(): the input of shape {x.shape} has no elements and {name} of nothing is undefined (no "
            f"identity element); pass a dim whose size is not zero, or skip empty tensors"
        )
    raise IndexError(
        f"{name}(): dimension {empty[0]} of the input (shape {x.shape}) is zero-size and {name} of nothing is "
        f"undefined (no identity element); reduce over a dimension whose size is not zero, or skip empty tensors"
    )


def _accumulating(x: Tensor, dtype) -> Tensor:
    """``x`` cast to ``dtype`` when given; else bool and integers narrower than 64 bits widened to
    int64, as PyTorch's sum/prod/cumsum/cumprod do."""
    if dtype is not None:
        return x.to(dtype)
    if x.dtype.kind in "bu" or (x.dtype.kind == "i" and x.dtype.itemsize < 8):
        return x.to(_dt.int64)
    return x


def _floating(x: Tensor, name: str, dtype=None, kinds: str = "f") -> Tensor:
    """``x`` (cast to ``dtype`` when given), which must be floating (or of the other ``kinds``), as PyTorch
    requires."""
    _check_tensor(x, name)
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind not in kinds:
        raise TypeError(
            f"{name} needs a floating tensor, got {x.dtype.name}; pass dtype= or cast first (x.float())"
        )
    return x


def _accumulator(xp, dtype):
    """The dtype to accumulate ``dtype`` in: float32 for float16 and bfloat16, as PyTorch's accumulation type, so
    long sums neither overflow nor drift; else ``dtype`` itself. Told by name: NumPy's namespace has no bfloat16
    attribute (ml_dtypes' bfloat16 is a NumPy dtype named so)."""
    return xp.float32 if is_half(dtype) else dtype


def _narrowed(xp, y, dtype):
    """``y`` (accumulated wider) cast back to ``dtype``; values too big become inf silently, as PyTorch."""
    if y.dtype == dtype:
        return y
    with float_errors_quiet():
        return xp.astype(y, dtype)


def _dropped(shape, axes) -> tuple:
    return tuple(n for i, n in enumerate(shape) if i not in axes)


# ---- Functions --------------------------------------------------------------------------
class _Reduce(Function):
    """Base of reductions over ``axes``: remembers the input shape so that reduced tensors can be
    broadcast back over it in backward."""

    def keep(self, x, axes, keepdims) -> None:
        self.in_shape, self.axes, self.keepdims = x.shape, axes, keepdims

    def unreduce(self, t: Tensor) -> Tensor:
        """A reduced tensor (gradient or output) with the reduced axes back as size 1."""
        return t if self.keepdims else _axes.expand_reduced(t, self.in_shape, self.axes)

    def out(self, y):
        """The keepdims-shaped array ``y`` as the output shape."""
        return y if self.keepdims else self.xp.reshape(y, _dropped(self.in_shape, self.axes))

    def kept_shape(self) -> tuple:
        """The input's shape with the reduced axes as size 1 (the keepdims shape of the result)."""
        return tuple(1 if i in self.axes else n for i, n in enumerate(self.in_shape))

    def filled(self, x, value):
        """The output filled with ``value``: the result of reducing over zero elements."""
        return self.out(self.xp.full(self.kept_shape(), value, dtype=x.dtype, device=self.device.native))


class Sum(ComputedFunction, _Reduce):
    autocast_policy = {"cuda": FLOAT32}  # see lucid.amp.autocast
    kept = ()  # backward needs only the shapes

    @staticmethod
    def compute(xp, x, axes, keepdims):
        with float_errors_quiet():  # inf + -inf is nan, silently, as PyTorch (CuPy never warns)
            total = xp.sum(x, axis=axes, keepdims=keepdims, dtype=_accumulator(xp, x.dtype))
        return _narrowed(xp, total, x.dtype)

    def remember(self, arrays, params) -> None:
        self.keep(arrays[0], params["axes"], params["keepdims"])

    def backward(self, g):
        return self.unreduce(g).expand(self.in_shape)

    def vjp(self, g):
        """One reshape and one broadcast view, no nodes."""
        xp = self.xp
        return xp.broadcast_to(xp.reshape(g, self.kept_shape()), self.in_shape)


def _sum_kept(t: Tensor, axes) -> Tensor:
    return Sum.apply(t, axes=axes, keepdims=True)


class Mean(Sum):
    """The sum divided by the count; float16 accumulates in float32 (as PyTorch, so the mean of large
    halves does not overflow). The mean of nothing is nan, without a warning, as PyTorch."""

    kept = None  # its forward keeps the count too

    def forward(self, x, axes, keepdims):
        self.keep(x, axes, keepdims)
        xp = self.xp
        self.count = math.prod(x.shape[a] for a in axes)
        if not self.count:
            return self.filled(x, math.nan)
        wide = _accumulator(xp, x.dtype)
        with float_errors_quiet():
            total = xp.sum(x, axis=axes, keepdims=keepdims, dtype=wide) / self.count
        return _narrowed(xp, total, x.dtype)

    def backward(self, g):
        return super().backward(g / self.count) if self.count else super().backward(g)

    def vjp(self, g):
        return super().vjp(g / self.count) if self.count else super().vjp(g)


class Var(_Reduce):
    """Variance: the mean first, then the centred sum of squares (no cancellation of E[x²]-E[x]²).
    float16 is computed in float32 and the result cast back, as PyTorch (the float16 sum of squares
    overflows to inf already for a few thousand values of size 10)."""
    autocast_policy = {"cuda": FLOAT32}  # see lucid.amp.autocast

    def forward(self, x, axes, keepdims, correction):
        return _narrowed(self.xp, self.wide_var(x, axes, keepdims, correction), x.dtype)

    def wide_var(self, x, axes, keepdims, correction):
        """The variance in the accumulation dtype (float32 for float16 ``x``; else ``x``'s dtype)."""
        self.keep(x, axes, keepdims)
        xp = self.xp
        count = math.prod(x.shape[a] for a in axes)
        self.denom = builtins.max(count - correction, 0)
        self.save_for_backward(x)
        if not count:  # the variance of nothing: nan, as PyTorch
            return self.filled(x, math.nan)
        wide = _accumulator(xp, x.dtype)
        if wide != x.dtype:
            x = xp.astype(x, wide)
        with float_errors_quiet():  # inf - inf, and x / 0 (inf, or nan for 0 / 0), silently as PyTorch
            d = x - xp.sum(x, axis=axes, keepdims=True) / count
            squares = xp.sum(d * d, axis=axes, keepdims=keepdims)
            return squares / self.denom if self.denom else squares / xp.zeros_like(squares)

    def backward(self, g):
        (x,) = self.saved_tensors
        return self.var_grad(x, g)

    def var_grad(self, x, g):
        centred = x - x.mean(dim=self.axes, keepdim=True)
        return self.unreduce(g) * centred * (2.0 / self.denom if self.denom else math.inf)


class Std(Var):
    """``sqrt(var)``; where the result is 0 the gradient is 0 (PyTorch's choice), not nan."""

    def forward(self, x, axes, keepdims, correction):
        xp = self.xp
        y = _narrowed(xp, xp.sqrt(self.wide_var(x, axes, keepdims, correction)), x.dtype)
        self.save_for_backward(x, y)
        return y

    def backward(self, g):
        x, y = self.saved_tensors
        flat = (y == 0).to(y.dtype)
        return self.var_grad(x, g * (1 - flat) / (2 * (y + flat)))


class Prod(_Reduce):
    """Product. Backward: y/x where x != 0; a lone zero in a reduced slice gets the product of the
    other elements; where a slice holds two or more zeros every gradient is 0. Exact, no division by 0."""
    autocast_policy = FLOAT32  # see lucid.amp.autocast

    def forward(self, x, axes, keepdims):
        self.keep(x, axes, keepdims)
        with float_errors_quiet():  # inf * 0 is nan, silently, as PyTorch
            y = self.xp.prod(x, axis=axes, keepdims=keepdims, dtype=x.dtype)
        self.save_for_backward(x, y)
        return y

    def backward(self, g):
        x, y = self.saved_tensors
        if x.dtype.kind == "c":  # the conjugate derivative, as PyTorch
            x, y = x.conj(), y.conj()
        g = self.unreduce(g)
        if grad_mode.state.enabled:  # create_graph: a form whose own derivatives are right at zeros too
            return g * _products_of_others(x, self.axes)
        zero = (x == 0).to(x.dtype)
        nonzero = 1 - zero
        grad = g * self.unreduce(y) / (x + zero) * nonzero
        lone = zero * (_sum_kept(zero, self.axes) == 1).to(x.dtype)
        others = Prod.apply(x * nonzero + zero, axes=self.axes, keepdims=True)
        return grad + g * others * lone


def _products_of_others(x: Tensor, axes) -> Tensor:
    """For each element, the product of the others in its slice over ``axes``: the exclusive running
    products from both ends (PyTorch's ``prod_safe_zeros_backward``), built from differentiable ops so
    that the gradients of the gradient are exact where ``x`` holds zeros (``y / x`` is not)."""
    from .shape import pad

    rest = [a for a in range(x.ndim) if a not in axes]
    moved = x.permute(*rest, *axes)
    flat = moved.reshape(*moved.shape[: len(rest)], -1)
    last = flat.ndim - 1
    before = Cumprod.apply(pad(flat, (1, -1), value=1), axis=last)
    after = Cumprod.apply(pad(flat, (-1, 1), value=1).flip(last), axis=last).flip(last)
    inverse = sorted(range(x.ndim), key=[*rest, *axes].__getitem__)
    return (before * after).reshape(moved.shape).permute(*inverse)


class Amax(_Reduce):
    """``amax``: the gradient is split evenly among the elements equal to the result (as PyTorch). Where
    the result is NaN no element equals it and the gradient is nan (0/0) over that slice, as PyTorch's amax."""

    pick = "max"
    nan_wins = False  # see MaxAll

    def forward(self, x, axes, keepdims):
        self.keep(x, axes, keepdims)
        y = getattr(self.xp, self.pick)(x, axis=axes, keepdims=keepdims)
        self.save_for_backward(x, y)
        return y

    def backward(self, g):
        x, y = self.saved_tensors
        y = self.unreduce(y)
        if self.nan_wins and x.dtype.kind == "f":  # a NaN result: the NaN elements are the ones it came from
            xp, xd, yd = self.xp, x._data, y._data
            hit = Tensor._make(xp.astype((xd == yd) | (xp.isnan(xd) & xp.isnan(yd)), g._data.dtype), self.device)
        else:
            hit = (x == y).to(g.dtype)
        return hit * (self.unreduce(g) / _sum_kept(hit, self.axes))


class Amin(Amax):
    """``amin``: ties share the gradient evenly."""

    pick = "min"


class MaxAll(Amax):
    """``max(x)`` over all elements: as ``amax``, but a NaN result sends the gradient to the NaN elements
    (shared evenly), as PyTorch's max()."""

    nan_wins = True
    torch_name, torch_overload = "Max", 1


class MinAll(Amin):
    """``min(x)`` over all elements: ties share the gradient; a NaN result sends it to the NaN elements."""

    nan_wins = True
    torch_name, torch_overload = "Min", 1


class MaxDim(Function):
    """``max`` along one axis, with indices; the gradient goes to the chosen index only (as PyTorch)."""

    pick = "max"
    torch_name = "Max"

    def forward(self, x, axis, keepdims):
        xp = self.xp
        self.axis, self.in_shape, self.keepdims = axis, x.shape, keepdims
        index = xp.astype(getattr(xp, "arg" + self.pick)(x, axis=axis, keepdims=True),
                          self.backend.native_dtype(_dt.int64), copy=False)
        values = getattr(xp, self.pick)(x, axis=axis, keepdims=keepdims)
        self.save_for_backward(index)
        return values, (index if keepdims else xp.reshape(index, values.shape))

    def backward(self, g, _):
        (index,) = self.saved_tensors
        xp, n = self.xp, self.in_shape[self.axis]
        positions = xp.reshape(xp.arange(n, device=self.device.native),
                               tuple(n if i == self.axis else 1 for i in range(len(self.in_shape))))
        onehot = Tensor._make(xp.astype(positions == index._data, g._data.dtype), self.device)
        if not self.keepdims:
            g = _axes.expand_reduced(g, self.in_shape, (self.axis,))
        return g * onehot


class MinDim(MaxDim):
    """``min`` along one axis, with indices; the gradient goes to the chosen index only."""

    pick = "min"
    torch_name = "Min"


_EXTREME = {"max": Amax, "min": Amin}
_WHOLE = {"max": MaxAll, "min": MinAll}
_SELECT = {"max": MaxDim, "min": MinDim}


class LogSumExp(_Reduce):
    """``log(sum(exp(x)))`` computed as ``m + log(sum(exp(x - m)))`` with ``m`` the max (0 where the max
    is infinite, so all -inf gives -inf and any +inf gives +inf, as PyTorch). Over zero elements it is
    ``log(0) = -inf``, as PyTorch. Complex ``x``: ``m`` is the max of the real parts (complex numbers have no
    order; PyTorch's choice), and the gradient ``conj(exp(x - y))``, PyTorch's conjugate derivative."""
    torch_name = "Logsumexp"
    autocast_policy = {"cuda": FLOAT32}  # see lucid.amp.autocast

    def forward(self, x, axes, keepdims):
        self.keep(x, axes, keepdims)
        xp = self.xp
        if builtins.any(x.shape[a] == 0 for a in axes):
            y = self.filled(x, -math.inf)
        else:
            m = xp.max(xp.real(x) if self.device.dtypes[x.dtype].kind == "c" else x, axis=axes, keepdims=True)
            m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
            with float_errors_quiet():  # log(0) = -inf for an all -inf slice, silently, as PyTorch
                y = self.out(xp.log(xp.sum(xp.exp(x - m), axis=axes, keepdims=True)) + m)
        self.save_for_backward(x, y)
        return y

    def backward(self, g):
        x, y = self.saved_tensors
        share = (x - self.unreduce(y)).exp()
        return self.unreduce(g) * (share.conj() if share.dtype.kind == "c" else share)


_SCAN_BLOCK = 8  # positions per block of a blocked scan
# a native scan (cumulative_sum/prod) while fewer elements than this follow the axis: it walks the axis element by
# element at the axis's stride, as fast as a blocked scan on the last axis and 1.5-10x slower from 32 elements on
# (NumPy, 1M float32)
_NATIVE_SCAN_BELOW = 32
_SCANS = {"sum": ("add", "cumulative_sum"), "prod": ("multiply", "cumulative_prod"), "max": ("maximum", None),
          "min": ("minimum", None)}


def positions(xp, x, axis: int, dtype):
    """The positions ``0, 1, ...`` along ``axis`` of the array ``x``, shaped to broadcast against it."""
    n = x.shape[axis]
    return xp.reshape(xp.arange(n, dtype=dtype, device=x.device), tuple(n if i == axis else 1 for i in range(x.ndim)))


def cumulative(xp, x, axis: int, kind: str):
    """The inclusive running ``kind`` (``sum``, ``prod``, ``max``, ``min``: NaN, once met, stays) of the array
    ``x`` along ``axis``, in ``x``'s dtype: the native scan where one exists and the axis is (nearly) the
    last, else a blocked scan (``_blocked_scan``); the array API has no running max/min."""
    combine, native = _SCANS[kind]
    if x.shape[axis] == 0:
        return xp.asarray(x, copy=True)
    if native is not None and math.prod(x.shape[axis + 1:]) < _NATIVE_SCAN_BELOW:
        return getattr(xp, native)(x, axis=axis, dtype=x.dtype)
    lines = xp.reshape(x, (math.prod(x.shape[:axis]), x.shape[axis], math.prod(x.shape[axis + 1:])))
    return xp.reshape(_blocked_scan(xp, lines, getattr(xp, combine)), x.shape)


def _blocked_scan(xp, x, combine):
    """The scan of ``x`` (before, n, after) along its middle axis by the associative ``combine`` in about
    ``n / _SCAN_BLOCK + _SCAN_BLOCK`` whole-array steps: the positions form blocks of ``_SCAN_BLOCK``, scanned
    all at once one position at a time; each block is then combined with the scan of the block totals before
    it (found the same way)."""
    p, n, q = x.shape
    b = _SCAN_BLOCK
    if n <= b:
        steps = [x[:, 0, :]]
        for j in range(1, n):
            steps.append(combine(steps[-1], x[:, j, :]))
        return xp.stack(steps, axis=1)
    m = -(-n // b)
    if m * b != n:  # filled with the last position, which no earlier position's result depends on
        x = xp.concat([x, xp.broadcast_to(x[:, n - 1:, :], (p, m * b - n, q))], axis=1)
    blocks = xp.reshape(x, (p, m, b, q))
    steps = [blocks[:, :, 0, :]]
    for j in range(1, b):
        steps.append(combine(steps[-1], blocks[:, :, j, :]))
    before = _blocked_scan(xp, steps[-1], combine)[:, :m - 1, :]  # the blocks before blocks 1, ..., m - 1
    steps = [xp.concat([s[:, :1, :], combine(s[:, 1:, :], before)], axis=1) for s in steps]
    return xp.reshape(xp.stack(steps, axis=2), (p, m * b, q))[:, :n, :]


def _scan_sum(xp, x, axis, reverse):
    """The running sum; float16 accumulates in float32 and is cast back, as PyTorch (no drift)."""
    src = xp.astype(xp.flip(x, axis=axis) if reverse else x, _accumulator(xp, x.dtype), copy=False)
    with float_errors_quiet():  # inf + -inf is nan, silently, as PyTorch
        y = cumulative(xp, src, axis, "sum")
    return _narrowed(xp, xp.flip(y, axis=axis) if reverse else y, x.dtype)


class Cumsum(Function):
    """Cumulative sum along ``axis`` (from the end when ``reverse``); each direction's backward is the other."""
    autocast_policy = {"cuda": FLOAT32}  # see lucid.amp.autocast

    def forward(self, x, axis, reverse=False):
        self.axis, self.reverse = axis, reverse
        return _scan_sum(self.xp, x, axis, reverse)

    def backward(self, g):
        return Cumsum.apply(g, axis=self.axis, reverse=not self.reverse)


class Cumprod(Function):
    """Cumulative product. Backward: the reversed cumsum of g*y divided by x where x != 0 (it is 0 at and after
    a slice's first zero); the first zero gets the sum of g times (the cumprod with that zero set to 1, minus y),
    which is 0 before it and that zero's products after it. Exact for any number of zeros, no division by 0,
    differentiable again; two scans (an argmax, not a third, finds the first zero). float16 accumulates in
    float32, as PyTorch. Complex: the same formula on ``conj(x)`` and ``conj(y)`` (PyTorch's conjugate
    derivative, as Prod's)."""
    autocast_policy = {"cuda": FLOAT32}  # see lucid.amp.autocast

    def forward(self, x, axis):
        self.axis = axis
        xp = self.xp
        with float_errors_quiet():  # inf * 0 is nan, silently, as PyTorch
            y = cumulative(xp, xp.astype(x, _accumulator(xp, x.dtype), copy=False), axis, "prod")
        y = _narrowed(xp, y, x.dtype)
        self.save_for_backward(x, y)
        return y

    def backward(self, g):
        x, y = self.saved_tensors
        xp, axis = x.xp, self.axis
        if not x.shape[axis]:  # nothing to find a first zero in
            return g
        if x.dtype.kind == "c":  # the conjugate derivative, as PyTorch
            x, y = x.conj(), y.conj()
        zero = x._data == 0
        if grad_mode.state.enabled and bool(xp.any(zero)):  # create_graph through zeros: exact again
            return _cumprod_grad_through_zeros(x, g, axis)
        at = xp.argmax(xp.astype(zero, xp.int8), axis=axis, keepdims=True)  # of the first zero (0 for none)
        first = zero & (positions(xp, x._data, axis, xp.int64) == at)
        zero, first = (Tensor._make(xp.astype(a, x._data.dtype), x._device) for a in (zero, first))
        grad = Cumsum.apply(g * y, axis=axis, reverse=True) / (x + zero)
        skipped = Cumprod.apply(x * (1 - first) + first, axis=axis)
        return grad + (g * (skipped - y)).sum(axis, keepdim=True) * first


def _cumprod_grad_through_zeros(x: Tensor, g: Tensor, axis: int) -> Tensor:
    """``cumprod``'s gradient ``sum_{j >= k} g_j prod_{i <= j, i != k} x_i`` in differentiable ops: the running
    products of ``x`` with element ``k`` set to 1, one row per ``k`` (O(n^2) memory, as PyTorch's double
    backward of cumprod; only under create_graph when ``x`` has zeros, where the O(n) form's own derivative
    is wrong)."""
    xp, n = x.xp, x.shape[axis]
    xs, gs = x.movedim(axis, -1), g.movedim(axis, -1)
    k = xp.arange(n, device=x._data.device)
    eye, later = (Tensor._make(xp.astype(m, x._data.dtype), x._device)  # [k, j]: j == k, j >= k
                  for m in (k[None, :] == k[:, None], k[None, :] >= k[:, None]))
    rows = Cumprod.apply(xs.unsqueeze(-2) * (1 - eye) + eye, axis=xs.ndim)  # [..., k, j]
    return (rows * later * gs.unsqueeze(-2)).sum(-1).movedim(-1, axis)


# ---- public functions -------------------------------------------------------------------
def sum(input: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False, dtype=None) -> Tensor:
    """Sum over ``dim`` (all axes when None); bool and integer tensors sum in int64, as PyTorch."""
    axes = _reduce_axes(input, dim, axis, "sum")
    out = fast_apply(Sum, _accumulating(input, dtype), None, {"axes": axes, "keepdims": _axes.keep(keepdim, keepdims)})
    return out if dim is None and axis is None else rename_node(out, "Sum", 1)  # PyTorch's node over dims


def mean(input: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False, dtype=None) -> Tensor:
    """Arithmetic mean over ``dim`` (floating tensors only, as in PyTorch); nan over zero elements."""
    input = _floating(input, "mean", dtype, "fc")
    out = Mean.apply(input, axes=_reduce_axes(input, dim, axis, "mean"), keepdims=_axes.keep(keepdim, keepdims))
    return out if dim is None and axis is None else rename_node(out, "Mean", 1)  # PyTorch's node over dims


def _correction(unbiased, correction) -> float:
    if unbiased is not None and correction is not None and correction != int(bool(unbiased)):
        raise TypeError(f"got unbiased={unbiased} and correction={correction}; pass only one of them")
    if correction is not None:
        return correction
    return 1 if unbiased is None else int(bool(unbiased))


def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None,
        keepdims: bool = False) -> Tensor:
    """Variance over ``dim``, dividing by ``N - correction`` (default 1, Bessel's correction, as PyTorch;
    ``unbiased=False`` means correction 0). ``var(x, False)`` is read as ``unbiased=False``, as in PyTorch."""
    return _spread(Var, input, dim, unbiased, keepdim, correction, axis, keepdims)


def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None,
        keepdims: bool = False) -> Tensor:
    """Standard deviation, ``sqrt(var)`` with the same arguments (correction 1 by default); its gradient
    is 0 where the result is 0, as PyTorch."""
    return _spread(Std, input, dim, unbiased, keepdim, correction, axis, keepdims)


def _spread(fn, x, dim, unbiased, keepdim, correction, axis, keepdims) -> Tensor:
    name = fn.__name__.lower()
    if isinstance(dim, bool):  # PyTorch's legacy var(x, unbiased)
        dim, unbiased = None, dim
    if isinstance(x, Tensor) and x.dtype.kind == "c":  # as PyTorch: the spread of the parts, summed (real)
        re, im = (_spread(Var, part, dim, unbiased, keepdim, correction, axis, keepdims) for part in (x.real, x.imag))
        variance = re + im
        return variance if fn is Var else variance.sqrt()
    x = _floating(x, name)
    axes = _reduce_axes(x, dim, axis, name)
    correction = _correction(unbiased, correction)
    count = math.prod(x.shape[a] for a in axes)
    if count - correction <= 0:  # PyTorch's warning (a UserWarning); the result is then inf or nan
        warnings.warn(
            f"{name}(): degrees of freedom is <= 0 ({count} elements reduced with correction={correction}), so "
            f"the result is inf or nan; reduce over more elements or pass a smaller correction", stacklevel=3
        )
    return fn.apply(x, axes=axes, keepdims=_axes.keep(keepdim, keepdims), correction=correction)


def prod(input: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False, dtype=None) -> Tensor:
    """Product over ``dim`` (all axes when None; a tuple is accepted too). Integer products are int64
    as PyTorch; the gradient is exact where inputs contain zeros (see ``Prod``)."""
    axes = _reduce_axes(input, dim, axis, "prod")
    out = Prod.apply(_accumulating(input, dtype), axes=axes, keepdims=_axes.keep(keepdim, keepdims))
    return out if dim is None and axis is None else rename_node(out, "Prod", 1)  # PyTorch's node over a dim


def _extreme(x: Tensor, dim, axis, keep, pick, name=None) -> Tensor:
    """``amax``/``amin``; with ``name`` given (``max(x)``/``min(x)``) a NaN result's gradient goes to the NaNs."""
    fn = (_WHOLE if name else _EXTREME)[pick]
    name = name or "a" + pick
    refuse_unordered(name, x)
    axes = _reduce_axes(x, dim, axis, name)
    whole = _axes.pick(dim, axis) is None
    _check_nonempty(x, axes, name, whole, RuntimeError)
    if x.dtype is _dt.bool_:  # the array API has no max of bools: take it on uint8
        return fn.apply(x.to(_dt.uint8), axes=axes, keepdims=keep).to(_dt.bool_)
    return fn.apply(x, axes=axes, keepdims=keep)


def amax(input: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False) -> Tensor:
    """Largest value over ``dim`` (one int or a tuple; all axes when None). The gradient is shared
    evenly by the elements that tie for the max, as PyTorch's amax."""
    return _extreme(input, dim, axis, _axes.keep(keepdim, keepdims), "max")


def amin(input: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False) -> Tensor:
    """Smallest value over ``dim`` (one int or a tuple; all axes when None); ties share the gradient."""
    return _extreme(input, dim, axis, _axes.keep(keepdim, keepdims), "min")


def _select(x: Tensor, dim, axis, keep, pick):
    refuse_unordered(pick, x)
    ax = _one_axis(x, dim, axis, pick)
    if x.ndim == 0:
        return _select(x.reshape(1), 0, None, False, pick)
    _check_nonempty(x, (ax,), pick)
    if x.dtype is _dt.bool_:
        values, indices = _select(x.to(_dt.uint8), ax, None, keep, pick)
        return _RESULTS[pick](values.to(_dt.bool_), indices)
    return _RESULTS[pick](*_SELECT[pick].apply(x, axis=ax, keepdims=keep))


def _max_or_min(pick, pairwise):
    def op(input: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False):
        if isinstance(dim, Tensor):
            return pairwise(input, dim)
        keep = _axes.keep(keepdim, keepdims)
        if _axes.pick(dim, axis) is None:
            return _extreme(input, None, None, keep, pick, pick)
        return _select(input, dim, axis, keep, pick)

    op.__name__ = op.__qualname__ = pick
    op.__doc__ = (
        f"``{pick}(x)``: the {pick} of all elements (ties share the gradient, as PyTorch); ``{pick}(x, dim)``: "
        f"a named tuple ``(values, indices)`` along ``dim``, the gradient going to the index; "
        f"``{pick}(x, other_tensor)``: elementwise ``{pick}imum``, as PyTorch."
    )
    return op


def _arg(pick):
    name = "arg" + pick

    @on_input_device
    def op(input: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False) -> Tensor:
        _check_tensor(input, name)
        refuse_unordered(name, input, bools=True)
        xp, d, keep = input.xp, _axes.pick(dim, axis), _axes.keep(keepdim, keepdims)
        src = input.to(_dt.uint8) if input.dtype is _dt.bool_ else input
        shape = None
        if d is None or input.ndim == 0:  # over the flattened tensor
            if d is not None:
                _one_axis(input, d, None, name)
            _check_nonempty(input, range(input.ndim), name, whole=True)
            src, ax, shape = src.reshape(-1), 0, (1,) * input.ndim if keep else ()
        else:
            ax = _one_axis(input, d, None, name)
            _check_nonempty(src, (ax,), name)
        found = getattr(xp, name)(src._data, axis=ax, keepdims=keep and shape is None)
        found = xp.astype(found, input._device.backend.native_dtype(_dt.int64), copy=False)
        return Tensor._make(found if shape is None else xp.reshape(found, shape), input._device)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (
        f"Index (int64) of the first {pick}imum along ``dim``, or in the flattened tensor when ``dim`` is None "
        f"(then ``keepdim`` gives all dims size 1, as PyTorch); bool and complex tensors raise, as in PyTorch."
    )
    return op


max = _max_or_min("max", maximum)
min = _max_or_min("min", minimum)
argmax, argmin = _arg("max"), _arg("min")


def logsumexp(input: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(input)))`` over ``dim`` without overflow (max subtracted first). ``dim=None`` reduces all
    axes (PyTorch requires a dim); integer tensors are computed in the default float dtype, as PyTorch."""
    _check_tensor(input, "logsumexp")
    if input.dtype.kind not in "fc":  # (a complex x stays complex, as PyTorch)
        input = input.to(_dt.get_default_dtype())
    axes = _reduce_axes(input, dim, axis, "logsumexp")
    return LogSumExp.apply(input, axes=axes, keepdims=_axes.keep(keepdim, keepdims))


def _scan(fn, name, doc):
    def op(input: Tensor, dim=None, *, axis=None, dtype=None) -> Tensor:
        ax = _one_axis(input, dim, axis, name)
        input = _accumulating(input, dtype)
        if input.ndim == 0:
            return fn.apply(input.reshape(1), axis=0).reshape(())
        return fn.apply(input, axis=ax)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


cumsum = _scan(Cumsum, "cumsum", "Running sum along ``dim`` (required); bool and integers accumulate in int64, "
               "as PyTorch.")
cumprod = _scan(Cumprod, "cumprod", "Running product along ``dim`` (required); integers in int64 as PyTorch. "
                "The gradient is exact also where inputs are zero (see ``Cumprod``).")


def _truth(name):
    @on_input_device
    def op(input: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False) -> Tensor:
        d = _axes.pick(dim, axis)
        if isinstance(d, (tuple, list)) and not d:  # no dims: each element's truth (PyTorch's any/all(dim=()))
            _check_tensor(input, name)
            result = input.xp.astype(input._data, input.xp.bool)
        else:
            axes = _reduce_axes(input, dim, axis, name)
            result = getattr(input.xp, name)(input._data, axis=axes, keepdims=_axes.keep(keepdim, keepdims))
        if input.dtype is _dt.uint8:  # PyTorch's uint8 in, uint8 out (0 or 1)
            result = input.xp.astype(result, input._data.dtype)
        return Tensor._make(result, input._device)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (
        f"Whether {'any' if name == 'any' else 'every'} element over ``dim`` is nonzero. Always a bool "
        f"tensor without gradient, but uint8 (0 or 1) for a uint8 input, as PyTorch. ``dim=()`` "
        f"reduces nothing (each element's truth), as in PyTorch (where ``sum(dim=())`` reduces everything)."
    )
    return op


any, all = _truth("any"), _truth("all")


# Tensor methods this module provides (name -> function taking the tensor first)
METHODS = {name: globals()[name] for name in __all__}
INPLACE = ["cumsum", "cumprod"]  # Tensor.cumsum_ / cumprod_, as PyTorch
