"""NumPy kernels of the elementwise math extras of :class:`~lucid._backend.fused.GenericKernels` (``expm1``,
``log1p``, ``atan``, ``atan2``, ``hypot``, ``logaddexp``, ``sinh``, ``cosh``, ``atanh``, ``sign``) for the NumPy
backend.

NumPy's float32 ``expm1``, ``log1p``, ``arctan``, ``arctan2`` and ``hypot`` are scalar libm loops (14-30 ms for
10^6 elements on one core, against 2 ms for ``exp``). Here float32 arrays are computed by runs of 65536 elements
(``chunked``, the temporaries stay in cache) in vectorized passes: a range reduction and a minimax polynomial in
float32, with the float32 bit patterns where they are the cheap way (2^k, a float's exponent, the sign of -0.0);
``hypot`` in float64 (exact squares, no overflow). Measured against the correctly rounded value over the whole range
(tests/ops/test_elementwise.py): expm1 and atan within 1.3 ulp, log1p 0.82, atan2 1.73, hypot 0.5. Inputs a kernel
does not reach (overflow, poles, 0/0 in atan2) are rare and go to NumPy's own function, as do small arrays and
other dtypes.
"""

from __future__ import annotations

import numpy as np

from . import arrays
from .float_errors import float_errors_quiet
from .fused import _CHUNK, _CHUNK32, _polynomial, chunked

_F32 = np.float32
_SIGN = np.uint32(0x80000000)
_SMALL = 4096  # elements below which NumPy's own loop is as fast as the kernels' passes

# expm1(r) = r + r^2 q(r) on |r| <= ln2 / 2: q of degree 4 fitted (minimax in relative error of expm1) to 1.3e-8
_EXPM1_Q = (0.001388251199387014, 0.008366519585251808, 0.04166720062494278, 0.1666654348373413, 0.4999999701976776)
_LN2_HI, _LN2_LO = 0.693145751953125, 1.428606765330187e-06  # ln 2 = HI + LO; k * HI exact for |k| < 2^8
_INV_LN2 = 1.4426950408889634
_ROUNDER = 12582912.0  # 1.5 * 2^23: v + _ROUNDER - _ROUNDER rounds v to an integer (+0.0, never -0.0)
_EXPONENT_BIAS = np.int32(127 - 0x4B400000)  # the bits of k + _ROUNDER, plus this, are k + 127
_EXPM1_MAX = 88.37  # from 88.376 on 2^k overflows float32: NumPy's expm1 takes the (rare) elements there

# log(1 + f) = f - f^2 / 2 + s (f^2 / 2 + z P(z)), s = f / (2 + f), z = s^2, on sqrt(1/2) - 1 <= f < sqrt(2) - 1:
# musl's logf polynomial (highest power first)
_LOG_P = (0.24279078841, 0.28498786688, 0.40000972152, 0.66666662693)
_SQRT_HALF_BITS = 0x3F3504F3  # the bits of float32 sqrt(1/2): mantissas split there, into [sqrt(1/2), sqrt(2))

# atan(z) = z + z w Q(w), w = z^2, on |z| <= 1: Q of degree 7 fitted (minimax in relative error of atan) to 1.7e-8
_ATAN_Q = (0.0029205086175352335, -0.016367197036743164, 0.043210677802562714, -0.07552114874124527,
           0.10665958374738693, -0.1421104371547699, 0.19993771612644196, -0.33333152532577515)
_HALF_PI_HI, _HALF_PI_LO = 1.5707963705062866, -4.371139000186243e-08  # pi / 2 = HI + LO


def _with_sign_of(out, x):
    """``out`` (float32) with the sign bit of ``x`` set where ``x``'s is, in place: the odd functions' kernels end in
    a sum, which turns -0.0 into +0.0."""
    bits = out.view(np.uint32)
    bits |= x.view(np.uint32) & _SIGN
    return out


def _expm1(xp, x):
    """``2^k (r + r^2 q(r) + e) + (2^k - 1)`` for ``x = k ln2 + r`` (Cody-Waite; ``e``: what rounding ``r`` lost),
    the first product and sum rounded once each; ``x`` clipped to [-30, _EXPM1_MAX] (expm1(-30) is -1)."""
    c = np.clip(x, _F32(-30.0), _F32(_EXPM1_MAX))
    t = c * _F32(_INV_LN2)
    t += _F32(_ROUNDER)
    k = t - _F32(_ROUNDER)
    r0 = k * _F32(_LN2_HI)
    np.subtract(c, r0, out=r0)  # exact
    k *= _F32(_LN2_LO)
    r = r0 - k
    r0 -= r
    r0 -= k
    scale = t.view(np.int32)  # 2^k from its exponent bits, in t's memory
    scale += _EXPONENT_BIAS
    scale <<= 23
    scale = scale.view(_F32)
    q = _polynomial(r, _EXPM1_Q)
    q *= r
    q *= r
    q += r0
    q *= scale
    r *= scale
    r -= _F32(1.0) - scale
    r += q
    return _with_sign_of(r, x)


def _sinh(xp, x):
    """``(t + t / (t + 1)) / 2`` for ``t = expm1(|x|)`` (musl's sinhf: no cancellation near 0), in float64 from the
    kernel's ``t``, with ``x``'s sign."""
    t = _expm1(xp, np.abs(x)).astype(np.float64)
    out = t + 1.0
    np.divide(t, out, out=out)
    out += t
    out *= 0.5
    return _with_sign_of(out.astype(_F32), x)


def _cosh(xp, x):
    """``(u + 1 / u) / 2`` for ``u = expm1(|x|) + 1`` in float64 (an error in ``u`` cancels to first order near 0)."""
    u = _expm1(xp, np.abs(x)).astype(np.float64)
    u += 1.0
    out = 1.0 / u
    out += u
    out *= 0.5
    return out


def _log1p(xp, x):
    """``k ln2 + log(m) + c`` for ``1 + x = 2^k m`` rounded to ``u`` (``m`` in [sqrt(1/2), sqrt(2)), taken from the
    bits of ``u``) and ``c = (x - (u - 1)) / u``, the first-order correction for that rounding (musl's log1pf)."""
    u = x + _F32(1.0)
    c = u - _F32(1.0)
    np.subtract(x, c, out=c)
    c /= u
    bits = u.view(np.uint32)
    bits += np.uint32(0x3F800000 - _SQRT_HALF_BITS)
    k = (bits >> 23).view(np.int32).astype(_F32)
    k -= _F32(127.0)
    bits &= np.uint32(0x7FFFFF)
    bits += np.uint32(_SQRT_HALF_BITS)
    f = u  # m - 1, in u's memory
    f -= _F32(1.0)
    s = f + _F32(2.0)
    np.divide(f, s, out=s)
    z = s * s
    out = _polynomial(z, _LOG_P)
    out *= z
    half_square = f * f
    half_square *= _F32(0.5)
    out += half_square
    out *= s
    out += c  # the small terms first, then f and k ln2
    c = k * _F32(_LN2_LO)
    out += c
    out -= half_square
    out += f
    k *= _F32(_LN2_HI)
    out += k
    return _with_sign_of(out, x)


def _atanh(xp, x):
    """``log1p(y) / 2`` for ``y = 2x / (1 - x)`` (musl's atanhf), ``y`` in float64 rounded to float32 for the
    ``_log1p`` kernel and what that rounding lost added back as ``(y - fl(y)) / (1 + fl(y))``; for ``|x| < 1``."""
    a = np.abs(x).astype(np.float64)
    y = 1.0 - a
    np.divide(a, y, out=y)
    y *= 2.0
    rounded = y.astype(_F32)
    out = _log1p(xp, rounded).astype(np.float64)
    y -= rounded
    rounded += _F32(1.0)
    y /= rounded
    out += y
    out *= 0.5
    return _with_sign_of(out.astype(_F32), x)


def _atan_parts(x):
    """``(units, z, tail)``, ``atan(x) = units pi/2 + z + tail``: the polynomial for ``z = x`` where ``|x| <= 1``, else
    ``pi/2 sign(x) - atan(1/x)``, without a branch: ``z = clip(x, -1, 1) / max(|x|, 1)``; ``tail``: the polynomial's
    terms past ``z`` and the low part of ``pi/2``."""
    a = np.abs(x)
    units = np.clip(x, _F32(-1.0), _F32(1.0))
    z = np.maximum(a, _F32(1.0))
    np.divide(units, z, out=z)
    w = z * z
    tail = _polynomial(w, _ATAN_Q)
    tail *= w
    big = (a > _F32(1.0)).astype(_F32)
    units *= big
    big *= _F32(-2.0)
    big += _F32(1.0)
    z *= big
    tail *= z
    tail += units * _F32(_HALF_PI_LO)
    return units, z, tail


def _sum_of_parts(units, z, tail, sign):
    """``units pi/2 + z + tail`` (``units`` small integers: ``units pi/2`` exact in float32) rounded twice, with
    ``sign``'s sign bit."""
    units *= _F32(_HALF_PI_HI)
    units += z
    units += tail
    return _with_sign_of(units, sign)


def _atan(xp, x):
    return _sum_of_parts(*_atan_parts(x), x)


def _atan2(xp, y, x):
    """``atan(y / x)``, plus ``pi`` with ``y``'s sign where ``x``'s sign bit is set (-0.0 included)."""
    units, z, tail = _atan_parts(y / x)
    turn = np.signbit(x).astype(_F32)
    _with_sign_of(turn, y)
    turn *= _F32(2.0)
    units += turn
    turn *= _F32(_HALF_PI_LO)
    tail += turn
    return _sum_of_parts(units, z, tail, y)


def _logaddexp(xp, a, b):
    """``max(a, b) + log1p(exp(-|a - b|))``, NumPy's own float32 formula, with its vectorized ``exp`` and the
    ``_log1p`` kernel in place of the scalar libm loops (``a == b`` needs no branch: ``log1p(1)`` is ``ln 2``
    rounded); ``nan`` where both are the same infinity (``_nan`` redoes those)."""
    e = a - b
    np.abs(e, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)
    out = _log1p(xp, e)
    out += np.maximum(a, b)
    return out


def _hypot(xp, a, b):
    """``sqrt(a^2 + b^2)`` in float64: exact squares, no overflow, one rounding each for the sum and the root."""
    out = a.astype(np.float64)
    out *= out
    square = b.astype(np.float64)
    square *= square
    out += square
    return np.sqrt(out, out=out)


def _floor_divide(xp, a, b):
    """``floor(a / b)`` in float64: exact for float32 operands whose quotient is below 2^29 in magnitude (the float64
    rounding of ``a / b`` cannot reach the next integer there)."""
    q = a.astype(np.float64)
    q /= b
    return np.floor(q, out=q)


def _remainder(xp, a, b):
    """``a - floor(a / b) b`` in float64: ``n b`` exact (two 24-bit factors), the difference (``fmod(a, b)``, or it
    plus ``b``) rounded once, so to float32 as PyTorch's ``fmod`` then ``+ b``; with ``b``'s sign, zeros too (as
    NumPy's ``remainder``)."""
    out = _floor_divide(xp, a, b)
    out *= b
    np.subtract(a, out, out=out)
    return np.copysign(out, b, out=out)


def _far_quotient(out, a, b):
    """Where the float64 forms above are not NumPy's and PyTorch's divmod: quotients of 2^21 and more (theirs rounds
    ``a - fmod(a, b)`` to float32: from ~2^22 on it can miss the floor by one), nan, a divisor 0 or +-inf, an
    infinite dividend."""
    return ~(np.abs(a) < np.abs(b) * _F32(2.0**21)) | (np.abs(b) == _F32(np.inf))


def _float32(kernel, native, size=_CHUNK32, redo=None):
    """``native(*arrays)`` (NumPy's function), computed by ``kernel`` over runs of ``size`` elements for float32
    arrays of 4096 elements or more (a Python number next to them taken in float32, as NumPy and PyTorch do);
    ``redo(out, *arrays)``: the mask of the elements ``native`` computes instead."""

    def run(*arrays):
        if any(getattr(a, "dtype", None) == _F32 for a in arrays):
            arrays = tuple(_F32(a) if isinstance(a, (int, float)) else a for a in arrays)
        if any(getattr(a, "dtype", None) != _F32 for a in arrays) or max(np.size(a) for a in arrays) < _SMALL:
            return native(*arrays)
        arrays = np.broadcast_arrays(*arrays)
        with float_errors_quiet():
            out = chunked(kernel, np, *arrays, size=size)
            if redo is not None:
                mask = redo(out, *arrays)
                if mask.any():
                    out[mask] = native(*(a[mask] for a in arrays))
        return out

    run.__name__ = run.__qualname__ = native.__name__
    return run


def _nan(out, *arrays):
    return np.isnan(out)


expm1 = _float32(_expm1, np.expm1, redo=lambda out, x: x > _F32(_EXPM1_MAX))
log1p = _float32(_log1p, np.log1p, redo=lambda out, x: ~(x > _F32(-1.0)) | (x == _F32(np.inf)))
atan = _float32(_atan, np.arctan)
sinh = _float32(_sinh, np.sinh, size=_CHUNK, redo=lambda out, x: np.abs(x) > _F32(_EXPM1_MAX))
cosh = _float32(_cosh, np.cosh, size=_CHUNK, redo=lambda out, x: np.abs(x) > _F32(_EXPM1_MAX))
atanh = _float32(_atanh, np.arctanh, size=_CHUNK, redo=lambda out, x: ~(np.abs(x) < _F32(1.0)))
atan2 = _float32(_atan2, np.arctan2, redo=_nan)  # 0/0 and inf/inf (and nan inputs)
hypot = _float32(_hypot, np.hypot, size=_CHUNK, redo=_nan)  # hypot(+-inf, nan) is inf
logaddexp = _float32(_logaddexp, np.logaddexp, redo=_nan)  # inf and inf, -inf and -inf (and nan inputs)
floor_divide = _float32(_floor_divide, np.floor_divide, size=_CHUNK, redo=_far_quotient)
remainder = _float32(_remainder, np.remainder, size=_CHUNK, redo=_far_quotient)


_SIGN_DTYPES = tuple(np.dtype(t) for t in (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
                                           np.uint8, np.uint16, np.uint32, np.uint64))


def sign(x):
    """-1, 0 or 1 by the sign of the real ``x``, in its dtype; 0 at nan and -0.0, as ``torch.sign``: the masks'
    difference taken in int8 and cast once (twice as fast as two casts and a float difference, and as np.sign,
    which keeps nan and -0.0)."""
    if x.dtype not in _SIGN_DTYPES:
        return arrays.sign(np, x)
    out = np.empty_like(x)
    np.subtract(np.greater(x, 0).view(np.int8), np.less(x, 0).view(np.int8), out=out, casting="unsafe")
    return out
