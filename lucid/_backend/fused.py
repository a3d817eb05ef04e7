"""The fused extras of the backend protocol, with their generic implementation in ``xp``.

:class:`GenericKernels` is a base of :class:`~lucid._backend.registry.Backend`: each method is one hot
composite of the ops (exact GELU and its derivative, softmax and log-softmax along an axis and their
backward, log-softmax + NLL rows of the cross-entropy and its gradient, the statistics and input gradient
of the normalizations, the SGD and Adam/AdamW updates of one parameter or one flattened group) on raw
arrays. The default here is the array-API code the ops ran inline before (moved, not copied: NumPy and
array-api-strict compute exactly as before); a backend with a faster way overrides a method (the CUDA
backend: CuPy kernels, :mod:`.cupy_kernels`), and may call ``super()`` for the cases it does not cover.
"""

from __future__ import annotations

import math
import operator

from . import arrays
from .float_errors import float_errors_ignored, float_errors_quiet

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

# float64 erf: x R(x^2) / S(x^2) on [-6, 6] (erf(6) rounds to 1), a degree-13/13 rational fitted (minimax in
# relative error, in 60-digit arithmetic) to 3e-18; its float64 evaluation errs by at most 1e-15 relative
# (9 ulp, next to +-1; 1.1 ulp on average). No exp: as fast as SciPy's Cephes erf on one core (float32: 2x).
_R64 = (0.019082858445339093, 21.415454960637653, 472.5905158743506, -199898.97971935742, -10470044.549779173,
        -483550061.4678972, -11843201052.592636, -300472864650.1874, -4259483413547.9976, -69679095693512.555,
        -543814111957490.8, -5639867001399137.0, -1.828843237076634e+16, -9.985237066579722e+16)
_S64 = (217.3642069690954, -14358.944209421363, -1538377.7686698318, -75330697.6405985, -2488801914.067124,
        -61497680094.9562, -1179111408668.4988, -17703297400474.86, -206234295221726.84, -1813063621880680.8,
        -1.1384011939202846e+16, -4.570498767606785e+16, -8.849185945431864e+16)

# float32 and float16 erf: one rational x R(x^2) / S(x^2) on [-4, 4] (erf(4) rounds to 1 in float32), fitted
# (minimax in relative error, degree 7/7) to 8.4e-12 relative, evaluated in float64 and rounded once: the
# correctly rounded float32 value but for ~1 in 10^4 halfway cases (1 ulp). Highest power first; S monic.
_R32 = (0.040991750468718495, 10.270604281413044, 297.28059829978895, 6999.849003228275, 67704.7712960016,
        792936.115489178, 2733432.5476416233, 15394659.358022077)
_S32 = (61.66001023957708, 1521.5382705494178, 23402.445280093005, 241753.45264613684, 1661792.577175304,
        6970162.060490321, 13643161.631364793)


# float32 and float16 Phi: with s = |x|, Phi(x) is h for x < 0 and 1 - h for x >= 0, where h = erfc(s / sqrt 2) / 2
# = exp(-x^2 / 2) R(s): R(s) = erfcx(s / sqrt 2) / 2 (erfcx(u) = exp(u^2) erfc(u), smooth, from 1 at 0 down like
# 1 / (u sqrt pi)) is a degree-4/5 rational fitted (minimax in relative error on [0, 13.3]) to 5e-9. Everything is
# float32 but x^2, squared exactly in float64 and split into its float32 rounding and the remainder, so that
# exp(-x^2 / 2) is float32's exp of an exact argument times (1 - remainder / 2): NumPy's float64 exp is a scalar
# loop without AVX-512 (5 ns an element on AVX2; float32: 1.8). Neither side cancels (1 + erf would, for x < 0):
# GELU within 8 ulp of the exact value for x >= -12.9 (0.8 ulp on average; measured over 700,000 values; the
# rounding of the float32 rational is most of it), where PyTorch's float32 GELU errs by up to ~2000 ulp near
# x = -3 and is 0 below -5.5. Past |x| = 14.5 exp(-x^2 / 2) is 0 in float32: s stops there (+-inf stay finite).
# Highest power first; the denominator monic.
_P32 = (0.398947950203924, 3.9678746232507978, 17.992186007793542, 43.23584299910294, 49.61809224215022)
_Q32 = (9.946719198400343, 46.08331898556767, 118.5360379953477, 165.65074062662865, 99.23618399103177)
_TAIL32 = 14.5


def _polynomial(z, coefficients, monic=False):
    """``sum c_k z^k`` (``coefficients`` from the highest power down; ``monic``: after a leading 1) by Horner's
    rule with in-place steps, so no temporary per step."""
    if monic:
        out, rest = z + coefficients[0], coefficients[1:]
    else:
        out, rest = z * coefficients[0], coefficients[2:]
        out += coefficients[1]
    for c in rest:
        out *= z
        out += c
    return out


def _erf_rational(xp, x, bound, numerator, denominator):
    """``x R(x^2) / S(x^2)`` with ``x`` clipped to [-bound, bound] (nan stays nan, +-inf gives +-1)."""
    x = arrays.clip(xp, x, -bound, bound)
    z = x * x
    out = _polynomial(z, numerator)
    out *= x
    out /= _polynomial(z, denominator, monic=True)
    return out


def erf_float(xp, x):
    """``erf`` of a float64, float32 or float16 array by the rationals above (see ``lucid.ops.special.erf_generic``),
    in float64 (``chunked`` rounds a float32 or float16 result to ``x``'s dtype once)."""
    if x.dtype == xp.float64:
        return arrays.clip(xp, _erf_rational(xp, x, 6.0, _R64, _S64), -1.0, 1.0)
    return _erf_rational(xp, xp.astype(x, xp.float64), 4.0, _R32, _S32)


def _gaussian32(xp, s):
    """``exp(-s^2 / 2)`` of a float32 ``s >= 0`` (see ``_P32``): float32's exp of ``-fl(s^2) / 2``, an exact
    argument, times ``1 - r / 2`` for the remainder ``r = s^2 - fl(s^2)`` (|r| < 2^-17: the first-order term
    is all that float32 holds)."""
    square = xp.astype(s, xp.float64)
    square *= square  # exact: 24-bit s
    rounded = xp.astype(square, xp.float32)
    square -= xp.astype(rounded, xp.float64)
    correction = xp.astype(square, xp.float32)
    correction *= -0.5
    correction += 1.0
    rounded *= -0.5
    out = xp.exp(rounded)
    out *= correction
    return out


def _normal_cdf(xp, x):
    """``(Phi(x), exp(-x^2 / 2) or None, x)`` in the dtype they are computed in: float64 for float64 ``x`` (Phi as
    ``(1 + erf(x / sqrt 2)) / 2``, no exp: None); float32 for float32 and float16 ``x`` (see ``_P32``)."""
    if x.dtype == xp.float64:
        out = arrays.clip(xp, _erf_rational(xp, x * _INV_SQRT2, 6.0, _R64, _S64), -1.0, 1.0)  # exactly -1 from -6 on
        out += 1.0
        out *= 0.5
        return out, None, x
    wide = x if x.dtype == xp.float32 else xp.astype(x, xp.float32)
    # the bound as an array: NumPy's minimum against a broadcast number is a scalar loop without AVX-512 (4x slower
    # than against a second array, fill included); nan stays nan
    s = xp.minimum(xp.abs(wide), xp.full_like(wide, _TAIL32))
    half_erfc = _polynomial(s, _P32)
    half_erfc /= _polynomial(s, _Q32, monic=True)
    gaussian = _gaussian32(xp, s)
    half_erfc *= gaussian
    # right - (2 right - 1) h with right = 1 for x >= 0 (and -0.0), 0 for x < 0 and nan: 1 - h or h, one rounding.
    # Arithmetic, not where (NumPy's is slow over irregular masks) nor copysign (a scalar loop in NumPy: 7x a product)
    right = xp.astype(wide >= 0, xp.float32)
    half_erfc *= right + right - 1.0
    return right - half_erfc, gaussian, wide


def _gelu(xp, x):
    """``x Phi(x)`` in float64 or float32 (``chunked`` rounds a float16 result to ``x``'s dtype)."""
    out, _, wide = _normal_cdf(xp, x)
    out *= wide
    return out


def _gelu_and_slope(xp, x):
    """``(x Phi(x), Phi(x) + x phi(x))``: GELU and its derivative from one evaluation of Phi and of
    ``exp(-x^2 / 2)`` (rounded to ``x``'s dtype by ``chunked``). At +-inf the slope is nan (inf * 0), as PyTorch."""
    cdf, gaussian, wide = _normal_cdf(xp, x)
    slope = wide * _INV_SQRT_2PI
    slope *= xp.exp(-0.5 * wide * wide) if gaussian is None else gaussian
    slope += cdf
    return wide * cdf, slope


_CHUNK = 32768  # elements per pass: the float64 temporaries (256 KiB) stay in cache and are reused by malloc
_CHUNK32 = 65536  # the same for float32 temporaries


def scatter_identity(xp, reduce: str, dtype):
    """Where ``scatter_reduced`` without ``include_self`` starts a position: the identity of ``reduce``."""
    if reduce == "prod":
        return 1
    if xp.isdtype(dtype, "bool"):
        return reduce == "amin"
    if xp.isdtype(dtype, "real floating"):
        return -math.inf if reduce == "amax" else math.inf
    info = xp.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


def chunked(fn, xp, x, *more, size=_CHUNK):
    """``fn(xp, x, *more)`` of a pointwise ``fn`` (``more``: arrays of ``x``'s shape; ``fn`` returns an array,
    or a tuple of them, of ``x``'s shape in ``x``'s dtype or a wider float one: the results come in ``x``'s
    dtype, each rounded once, written straight into the output), over runs of ``size`` elements of a large
    ``x``: 1.5-2x as fast on one core as one pass over the whole array, whose many temporaries leave the cache
    and go back to the system (and fault in again) at every call."""
    n = math.prod(x.shape)
    if n <= size or any(m.shape != x.shape for m in more):
        piece = fn(xp, x, *more)
        pieces = tuple(p if p.dtype == x.dtype else xp.astype(p, x.dtype)
                       for p in (piece if isinstance(piece, tuple) else (piece,)))
        return pieces if isinstance(piece, tuple) else pieces[0]
    flat = [xp.reshape(a, (-1,)) for a in (x, *more)]
    outs = None
    for start in range(0, n, size):
        stop = min(start + size, n)
        piece = fn(xp, *(a[start:stop] for a in flat))
        pieces = piece if isinstance(piece, tuple) else (piece,)
        if outs is None:
            outs = [xp.empty((n,), dtype=x.dtype, device=x.device) for _ in pieces]
        for out, p in zip(outs, pieces):
            try:  # rounded to x's dtype by the assignment (NumPy, CuPy), as astype would, without its temporary
                out[start:stop] = p
            except TypeError:  # the standard leaves a mixed-dtype assignment open: array-api-strict refuses it
                out[start:stop] = xp.astype(p, out.dtype)
    results = tuple(xp.reshape(out, x.shape) for out in outs)
    return results if isinstance(piece, tuple) else results[0]


def _gelu_chunk(xp, x):
    """Elements per chunk of GELU: float64 temporaries for float64 ``x``, float32 ones otherwise."""
    return _CHUNK if x.dtype == xp.float64 else _CHUNK32


@float_errors_ignored
def _gelu_array(xp, x):
    return chunked(_gelu, xp, x, size=_gelu_chunk(xp, x))


@float_errors_ignored  # x = +-inf: inf * 0 in the slope is nan silently, as PyTorch
def _gelu_and_slope_array(xp, x):
    return chunked(_gelu_and_slope, xp, x, size=_gelu_chunk(xp, x))


_OUT_OF_PLACE = {operator.imul: operator.mul, operator.iadd: operator.add}


def fresh_op(xp, op, a, b):
    """``op(a, b)`` for an in-place operator ``op`` (``operator.imul`` or ``iadd``) on ``a``, an
    array the caller just made (no allocation); out of place where ``b`` would promote ``a``."""
    return op(a, b) if xp.result_type(a, b) == a.dtype else _OUT_OF_PLACE[op](a, b)


# ---- in-place helpers of the optimizers' updates (lucid.optim.optimizer re-exports them) ----------------
def lerp_(a, b, weight: float) -> None:
    """``a += weight * (b - a)`` in place, rounded as ``torch.lerp_`` does (its form depends on
    whether ``weight < 0.5``); one temporary shaped like ``a``."""
    t = b - a
    if abs(weight) < 0.5:
        t *= weight
        a += t
    else:
        t *= 1 - weight
        a[...] = b
        a -= t


def ema_square_(avg, g, decay: float) -> None:
    """``avg = decay * avg + (1 - decay) * g^2`` in place: the running mean of squares of
    ``Adadelta``, ``RMSprop`` and ``Adam``; one temporary shaped like ``g``."""
    avg *= decay
    t = g * (1 - decay)
    t *= g
    avg += t


_ROW_CHUNK = 1 << 16  # elements per slice of row_chunks


def row_chunks(a) -> list:
    """Index keys splitting ``a`` into slices of whole rows of about ``_ROW_CHUNK`` elements, for an update
    written slice by slice: its temporaries are slice-sized and stay in cache (about twice as fast on
    NumPy as whole-array operations). A single key, ``...``, for a small or 0-d array, or for one on a
    GPU (where each slice would cost kernel launches). Written back with ``a[key] = piece``, which
    NumPy skips when ``piece`` is the view ``a[key]`` itself."""
    size = math.prod(a.shape)
    if a.ndim == 0 or size <= 2 * _ROW_CHUNK or hasattr(a, "__cuda_array_interface__"):
        return [...]
    n = a.shape[0]
    rows = max(1, _ROW_CHUNK // (size // n))
    return [(slice(i, min(i + rows, n)), ...) for i in range(0, n, rows)]


def add_scaled_(a, b, alpha: float) -> None:
    """``a += alpha * b`` in place, rounded exactly so, with ``alpha * b`` computed a slice of rows
    at a time (``row_chunks``): no temporary the size of ``a``."""
    if alpha == 1 or alpha == -1:  # 1 * b and -1 * b are exact: no temporary at all
        if alpha == 1:
            a += b
        else:
            a -= b
        return
    for key in row_chunks(a):
        a[key] += alpha * b[key]


def grad_with_decay(p, g, maximize: bool, weight_decay: float):
    """The gradient an optimizer follows: negated for ``maximize``, plus ``weight_decay * p``
    (L2 penalty), in PyTorch's order. Never changes ``g`` itself; makes one temporary (none
    when there is nothing to add or negate)."""
    if weight_decay != 0:
        d = p * weight_decay
        if maximize:
            d -= g  # -g + wd * p, rounded the same
        else:
            d += g
        return d
    return -g if maximize else g


class GenericKernels:
    """The fused extras of the backend protocol (see the module's docstring), in generic ``xp`` code.

    Arrays in, arrays out, in the inputs' dtype and on their device; the methods that update in place
    say so. Overrides must give the same values up to rounding (the CUDA tests compare them)."""

    xp = None  # the array namespace (set by every backend)

    # ---- exact GELU ------------------------------------------------------------------------
    def gelu(self, x):
        """Exact GELU ``x Phi(x)`` in ``x``'s dtype: float64 from ``1 + erf``; float32 (and float16, rounded
        from it) from ``erfc`` on either side of 0, with no cancellation: within 8 ulp of the exact value for
        x >= -12.9, the left tail included (see ``_P32``)."""
        return _gelu_array(self.xp, x)

    def gelu_and_slope(self, x):
        """``(gelu(x), Phi(x) + x phi(x))``, GELU and its derivative in ``x``'s dtype, for a forward that keeps the
        derivative: the backward is then one product (``phi`` is the normal density)."""
        return _gelu_and_slope_array(self.xp, x)

    # ---- softmax and log-softmax along one axis (None: a 0-d array) ----------------------------------
    def softmax(self, x, axis):
        """``exp(x - max) / sum(exp(x - max))`` along ``axis``; a slice of all ``-inf`` (or holding ``+inf``)
        gives nan silently, as PyTorch."""
        return self._normalized(x, axis, False)

    def log_softmax(self, x, axis):
        """``(x - max) - log(sum(exp(x - max)))`` along ``axis`` (finite for any finite ``x``)."""
        return self._normalized(x, axis, True)

    def _normalized(self, x, axis, log: bool):
        xp = self.xp
        if 0 in x.shape:
            return xp.empty_like(x)
        if getattr(x.dtype, "name", None) in ("float16", "bfloat16"):  # in float32, rounded once, as PyTorch's
            return xp.astype(self._normalized(xp.astype(x, xp.float32), axis, log), x.dtype)
        with float_errors_quiet():  # -inf - -inf and inf - inf are nan, silently, as PyTorch
            shifted = x - xp.max(x, axis=axis, keepdims=True)
            if log:
                return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
            e = xp.exp(shifted)
            e /= xp.sum(e, axis=axis, keepdims=True)
            return e

    def softmax_grad(self, y, g, axis):
        """Softmax's backward from its output ``y``: ``y (g - sum(g y))`` along ``axis``."""
        xp = self.xp
        with float_errors_quiet():
            return y * (g - xp.sum(g * y, axis=axis, keepdims=True))

    def log_softmax_grad(self, y, g, axis):
        """Log-softmax's backward from its output ``y``: ``g - exp(y) sum(g)`` along ``axis``."""
        xp = self.xp
        with float_errors_quiet():
            return g - xp.exp(y) * xp.sum(g, axis=axis, keepdims=True)

    # ---- cross-entropy (log-softmax + NLL) of (M, C) logits --------------------------------------------
    def cross_entropy_rows(self, x, target, weight, smoothing: bool):
        """``(e, total, log_total, picked, weighted)`` of ``(M, C)`` logits ``x`` and ``(M,)`` class indices
        ``target`` (all in range): ``e = exp(x - max)`` per row, ``total`` its row sums ``(M, 1)``,
        ``log_total`` their logs ``(M,)``, ``picked`` the log-softmax at each row's target ``(M,)``, and with
        ``smoothing`` ``weighted`` the row sums of ``x - max`` (weighted by ``weight`` ``(C,)`` if given; else None)."""
        xp = self.xp
        shifted = x - xp.max(x, axis=1, keepdims=True)
        e = xp.exp(shifted)
        total = xp.sum(e, axis=1, keepdims=True)
        log_total = xp.log(total)[:, 0]
        picked = xp.take_along_axis(shifted, target[:, None], axis=1)[:, 0] - log_total
        weighted = None
        if smoothing:
            weighted = xp.sum(shifted, axis=1) if weight is None else xp.matmul(shifted, weight)
        return e, total, log_total, picked, weighted

    def cross_entropy_grad(self, e, total, row_scale, target, target_scale, spread):
        """The cross-entropy's gradient written into ``e`` (from :meth:`cross_entropy_rows`) and returned:
        ``e * row_scale / total - spread``, less ``target_scale`` at each row's ``target`` (``row_scale``,
        ``target_scale``: ``(M,)``; ``spread``: ``(M, C)`` or None)."""
        xp = self.xp
        e *= row_scale[:, None] / total
        if spread is not None:
            e -= spread
        self.add_at(e, (xp.arange(e.shape[0], device=e.device), target), -target_scale)
        return e

    # ---- a gradient routed by a mask ------------------------------------------------------------------
    def masked(self, mask, values):
        """``values`` where the boolean ``mask`` holds, zero elsewhere (max pooling's backward: each window's
        gradient at its maximum); nan and inf stay where the mask holds and never reach the other places."""
        return self.xp.where(mask, values, self.xp.zeros((), dtype=values.dtype, device=values.device))

    def clip(self, x, lo=None, hi=None):
        """``x`` limited to ``[lo, hi]``, as :func:`lucid._backend.arrays.clip` (NumPy: ``np.clip``, 4x faster
        than ``maximum`` against a number, a scalar loop without AVX-512)."""
        return arrays.clip(self.xp, x, lo, hi)

    # ---- elementwise math where NumPy's own is a scalar libm loop (the NumPy backend: .numpy_kernels) ------
    def expm1(self, x):
        """``exp(x) - 1`` in ``x``'s dtype."""
        return self.xp.expm1(x)

    def log1p(self, x):
        """``log(1 + x)`` in ``x``'s dtype."""
        return self.xp.log1p(x)

    def atan(self, x):
        """``atan(x)`` in ``x``'s dtype."""
        return self.xp.atan(x)

    def exp2(self, x):
        """``2^x`` in ``x``'s dtype (the array API has no ``exp2``: a power of the number 2)."""
        return 2.0 ** x

    def sinh(self, x):
        """``sinh(x)`` in ``x``'s dtype."""
        return self.xp.sinh(x)

    def cosh(self, x):
        """``cosh(x)`` in ``x``'s dtype."""
        return self.xp.cosh(x)

    def atanh(self, x):
        """``atanh(x)`` in ``x``'s dtype (nan outside [-1, 1])."""
        return self.xp.atanh(x)

    def atan2(self, y, x):
        """``atan2(y, x)`` of two arrays of one dtype (broadcast), C99's special values."""
        return self.xp.atan2(y, x)

    def hypot(self, a, b):
        """``sqrt(a^2 + b^2)`` of two arrays of one dtype (broadcast), without overflow; inf if either is inf."""
        return self.xp.hypot(a, b)

    def logaddexp(self, a, b):
        """``log(exp(a) + exp(b))`` of two arrays of one dtype (broadcast), without overflow."""
        return self.xp.logaddexp(a, b)

    def floor_divide(self, a, b):
        """``floor(a / b)`` of two arrays or an array and a number (broadcast), as the ``//`` operator."""
        return a // b

    def remainder(self, a, b):
        """``a`` mod ``b`` with ``b``'s sign, of two arrays or an array and a number, as the ``%`` operator."""
        return a % b

    def sign(self, x):
        """-1, 0 or 1 by the sign of the real ``x``, in its dtype (0 at nan and -0.0): :func:`.arrays.sign`."""
        return arrays.sign(self.xp, x)

    # ---- gather and its backward --------------------------------------------------------------------------
    def repeated(self, values, counts, total: int):
        """The 1-D ``values`` with element ``i`` repeated ``counts[i]`` times (``total`` their sum, known to the
        caller): each position's source is a running count of the sources starting at or before it (a scatter-add
        and a cumulative sum; CuPy's ``repeat`` takes only host counts)."""
        xp = self.xp
        first = xp.cumulative_sum(counts) - counts
        starts = xp.zeros((total + 1,), dtype=xp.int64, device=values.device)
        self.add_at(starts, first, xp.ones_like(first))
        return xp.take(values, xp.cumulative_sum(starts[:total]) - 1)

    def gathered(self, x, positions):
        """The elements of ``x`` at the flat positions ``positions`` (an int64 array of any shape, in range) of
        it, in ``positions``' shape."""
        xp = self.xp
        flat = xp.take(xp.reshape(x, (-1,)), xp.reshape(positions, (-1,)), axis=0)
        return xp.reshape(flat, positions.shape)

    def scattered(self, shape, flat, values):
        """A new array of ``shape`` in ``values``' dtype: zeros, with the 1-D ``values`` added at the flat
        positions ``flat`` (1-D, in range) of it in their order, repeated positions accumulating (``add_at``)."""
        xp = self.xp
        out = xp.zeros((math.prod(shape),), dtype=values.dtype, device=values.device)
        self.add_at(out, flat, values)
        return xp.reshape(out, shape)

    def written(self, x, rows, values, stable_order=None):
        """A copy of ``x`` (``(n, ...)``) with row ``rows[k]`` replaced by ``values[k]`` (``rows``: 1-D, in range;
        ``values``: ``(len(rows), ...)``), the last write winning at a repeated row: here each row finds its last
        entry among the entries sorted stably by row (``searchsorted``; no boolean mask, which is a host sync on
        CuPy). ``stable_order``: None, or a function giving that sort (``rows``' stable argsort) from the
        caller's cache, which a backward then reuses."""
        xp = self.xp
        if rows.shape[0] == 0:
            return xp.asarray(x, copy=True)
        order = xp.argsort(rows, stable=True) if stable_order is None else stable_order()
        ordered = xp.take(rows, order)
        every = xp.arange(x.shape[0], dtype=xp.int64, device=rows.device)
        j = xp.maximum(xp.searchsorted(ordered, every, side="right") - 1, 0)
        hit = xp.reshape(xp.take(ordered, j) == every, (-1, *(1,) * (x.ndim - 1)))
        return xp.where(hit, xp.take(values, xp.take(order, j), axis=0), x)

    def scatter_reduced(self, x, flat, values, reduce: str, include_self: bool):
        """``x`` (unchanged) with the 1-D ``values`` combined by ``reduce`` (``"amax"``, ``"amin"``, ``"prod"``) at its
        flat positions ``flat`` (1-D, in range) in their order, as ``ufunc.at``; without ``include_self`` the
        positions named start from the reduction's identity. NaN wins amax and amin, as PyTorch. Here the entries
        are sorted by position (amax/amin: by value first, so a position's last entry is its extreme) and each
        position finds its own by ``searchsorted``: no boolean mask, so no host sync for amax/amin."""
        xp = self.xp
        out = xp.reshape(x, (-1,))
        n = flat.shape[0]
        if n == 0:
            return xp.asarray(x, copy=True)
        floating = xp.isdtype(x.dtype, "real floating")
        order = xp.arange(n, dtype=xp.int64, device=flat.device)
        if reduce != "prod":  # ascending (amin: descending), NaN last
            order = xp.argsort(-values if reduce == "amin" and floating else values, stable=True)
            order = xp.flip(order) if reduce == "amin" and not floating else order
        by_position = xp.take(order, xp.argsort(xp.take(flat, order), stable=True))
        ordered = xp.take(flat, by_position)
        every = xp.arange(out.shape[0], dtype=xp.int64, device=flat.device)
        first = xp.searchsorted(ordered, every)
        count = xp.searchsorted(ordered, every, side="right") - first  # entries at each position

        def entry(rank):  # each position's entry of this rank (any entry where it has none)
            return xp.take(values, xp.take(by_position, self.clip(first + rank, 0, n - 1)))

        if not include_self:
            out = xp.where(count > 0, xp.full_like(out, scatter_identity(xp, reduce, x.dtype)), out)
        if reduce == "prod":  # in rounds: each position's r-th entry in round r, in the entries' order
            for r in range(int(xp.max(count))):
                out = xp.where(count > r, out * entry(r), out)
        else:
            out = xp.where(count > 0, (xp.maximum if reduce == "amax" else xp.minimum)(out, entry(count - 1)), out)
        return xp.reshape(out, x.shape)

    # ---- sorting ------------------------------------------------------------------------------------------
    def stable_argsort(self, a, axis, descending):
        """The permutation that sorts ``a`` along ``axis`` stably (ties keep their order, NaN counts as the largest
        value). Descending without a ``descending=`` argument (NumPy has none): sort the reversed array ascending,
        reverse the order and map the positions back."""
        xp = self.xp
        if not descending:
            return xp.argsort(a, axis=axis, stable=True)
        rev = xp.argsort(xp.flip(a, axis=axis), axis=axis, stable=True)
        return (a.shape[axis] - 1) - xp.flip(rev, axis=axis)

    # ---- normalization statistics and input gradient -----------------------------------------------
    def sum_kept(self, a, axes, times=None):
        """The sum over ``axes`` (kept, as size 1) of ``a``, or of ``a * times`` (``times``: ``a``'s shape)."""
        return self.xp.sum(a if times is None else a * times, axis=axes, keepdims=True)

    def mean_kept(self, a, axes, times=None):
        """The mean over ``axes`` (kept, as size 1) of ``a``, or of ``a * times`` (``times``: ``a``'s shape)."""
        return self.xp.mean(a if times is None else a * times, axis=axes, keepdims=True)

    def normalize(self, v, axes, eps: float, center: bool = True, given=None):
        """``(x̂, mean, var, rstd)`` of ``v`` normalized over ``axes`` (kept, in the statistics):
        ``x̂ = (v - mean) rstd``, ``rstd = 1 / sqrt(var + eps)``, the biased ``var``; ``center=False``: no
        mean (None; RMS normalization); ``given``: constant ``(mean, var)`` to use instead."""
        xp = self.xp
        if given is None:
            mean = self.mean_kept(v, axes) if center else None
            d = v - mean if center else v
            var = self.mean_kept(d, axes, d)
        else:
            mean, var = given
            d = v - mean
        rstd = 1 / xp.sqrt(var + eps)
        d = fresh_op(xp, operator.imul, d, rstd) if d is not v else d * rstd  # d is ours unless it is v
        return d, mean, var, rstd

    # ---- folded normalization (group and instance norm): ``v`` ``(B, K, F)``, statistics per row ``(B, 1, 1)``
    def row_moments(self, v):
        """``(mean, var)`` of each row of ``v``, ``(B, 1, 1)``, by the corrected two-pass algorithm: the rows
        centred on their computed mean, whose own mean ``c`` (that mean's rounding error) corrects both (the
        biased ``var = mean(d²) - c²``, at least 0)."""
        mean = self.mean_kept(v, (1, 2))
        d = v - mean
        c = self.mean_kept(d, (1, 2))
        return mean + c, self.clip(self.mean_kept(d, (1, 2), d) - c * c, 0)

    def row_sums(self, g, v, mean):
        """``(sum(g), sum(g * (v - mean)))`` over the last axis (kept: ``(B, K, 1)``) of ``g`` and ``v``: the sums
        of a normalization's backward."""
        return self.sum_kept(g, (2,)), self.sum_kept(g, (2,), v - mean)

    def centred_affine(self, v, mean, scale, shift=None, g=None, g_scale=None, shape=None):
        """``(v - mean) * scale + shift + g * g_scale`` (``shift`` and ``g``: optional; ``scale``, ``shift`` and
        ``g_scale``: ``(B, K, 1)``), all of ``v``'s dtype: a folded normalization's output or input gradient,
        reshaped to ``shape`` (of ``v``'s size; default ``v``'s)."""
        d = v - mean
        d *= scale
        if shift is not None:
            d += shift
        if g is not None:
            d += g * g_scale
        return d if shape is None else self.xp.reshape(d, shape)

    def normalize_grad_from_sums(self, g, xhat, scale, gw, gb, count: int, center: bool):
        """``gx = scale (g - gb/count - x̂ gw/count)`` (no ``gb`` term without ``center``): the input gradient
        when the statistics are taken per parameter (batch norm), from the parameter gradients' sums
        ``gw = sum(g x̂)``, ``gb = sum(g)`` over the ``count`` elements of each statistic."""
        xp = self.xp
        gx = g - gb / count if center else xp.asarray(g, copy=True)
        gx -= xhat * (gw / count)
        return fresh_op(xp, operator.imul, gx, scale)

    def normalize_grad(self, g, xhat, w, rstd, view, axes, center: bool):
        """The general input gradient ``rstd (gh - mean(gh) - x̂ mean(gh x̂))``, ``gh = g w`` (``w`` None: 1),
        means over ``axes`` of ``view`` (``x̂`` seen in it); no ``mean(gh)`` term without ``center``."""
        xp = self.xp
        gh = arrays.reshaped(xp, g * w if w is not None else xp.asarray(g, copy=True), view)
        xh = arrays.reshaped(xp, xhat, view)
        gh -= xh * self.mean_kept(gh, axes, xh)
        if center:
            gh -= self.mean_kept(gh, axes)
        return arrays.reshaped(xp, fresh_op(xp, operator.imul, gh, rstd), xhat.shape)

    # ---- optimizer updates: one parameter (or one flattened group), in place ----------------------------
    def sgd_update(self, p, g, buf, *, lr: float, momentum: float, dampening: float, weight_decay: float,
                   nesterov: bool, maximize: bool):
        """One SGD step on ``p`` in place, as PyTorch's single-tensor SGD rounds it; returns the momentum
        buffer (updated in place, or new when ``buf`` is None: the first step), None without momentum."""
        # slice by slice (row_chunks), so temporaries are slice-sized; d = sign * g, or g + weight_decay
        # * p (then a temporary of our own, sign 1); rounded as PyTorch's single-tensor SGD, op by op
        xp = self.xp
        own = weight_decay != 0
        sign0 = -1.0 if maximize and not own else 1.0
        first = momentum != 0 and buf is None
        if first:
            buf = xp.empty_like(p)
        for key in row_chunks(p):
            pk, gk, sign = p[key], g[key], sign0
            d = grad_with_decay(pk, gk, maximize, weight_decay) if own else gk
            if own and pk.ndim == 0:
                d = xp.asarray(d)  # NumPy gives a scalar, which += would not change in place
            if momentum != 0:
                bk = buf[key]
                if first:
                    bk[...] = d
                    if sign < 0:
                        bk *= -1.0
                else:
                    bk *= momentum
                    add_scaled_(bk, d, sign * (1 - dampening))
                buf[key] = bk
                if nesterov:  # d + momentum * buf
                    if own:
                        add_scaled_(d, bk, momentum)
                    else:
                        d = bk * momentum
                        if sign > 0:
                            d += gk
                        else:
                            d -= gk
                        sign = 1.0
                else:
                    d, sign = bk, 1.0
            add_scaled_(pk, d, -lr * sign)
            p[key] = pk
        return buf if momentum != 0 else None

    def adam_update(self, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step: int, lr: float, beta1: float,
                    beta2: float, eps: float, weight_decay: float, decoupled: bool, maximize: bool) -> None:
        """One Adam step (``decoupled``: AdamW) on ``p`` and its moments in place, ``step`` counted already
        (1 on the first); ``max_exp_avg_sq`` (AMSGrad's running maximum) or None. Rounded as PyTorch's
        single-tensor Adam, operation by operation."""
        # slice by slice (row_chunks): every temporary (the gradient followed when maximize or L2 weight
        # decay change it, the moments' updates, the denominator) is slice-sized
        xp = self.xp
        step_size = lr / (1 - beta1 ** step)
        root = (1 - beta2 ** step) ** 0.5
        states = [exp_avg, exp_avg_sq] + ([] if max_exp_avg_sq is None else [max_exp_avg_sq])
        for key in row_chunks(p):
            pk = p[key]
            m, v, *v_max = (s[key] for s in states)
            if decoupled and weight_decay != 0:
                pk *= 1 - lr * weight_decay
            gk = g[key]
            d = grad_with_decay(pk, gk, maximize, 0.0 if decoupled else weight_decay)
            lerp_(m, d, 1 - beta1)
            ema_square_(v, d, beta2)
            if v_max:
                v_max[0][...] = xp.maximum(v_max[0], v)
            denom = xp.sqrt(v_max[0] if v_max else v)
            denom /= root
            denom += eps
            # p += (-step_size * exp_avg) / denom, as torch's addcdiv_ rounds it; into d's memory when d
            # is a temporary of ours already (maximize, weight decay)
            if d is gk or pk.ndim == 0:  # (NumPy's 0-d results are scalars, which take no [...] =)
                d = m * -step_size
            else:
                d[...] = m
                d *= -step_size
            d /= denom
            pk += d
            p[key] = pk
            for s, piece in zip(states, (m, v, *v_max)):
                s[key] = piece
