"""Special functions the array API lacks, written once in ``xp`` (used where a backend has
no faster native version: CuPy's ``erf`` kernel, see ``erf_array``)."""

from __future__ import annotations

import math

from .._backend import arrays
from .._backend.numpy_backend import float_errors_ignored

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


def _erf(xp, x):
    if x.dtype == xp.float64:
        return arrays.clip(xp, _erf_rational(xp, x, 6.0, _R64, _S64), -1.0, 1.0)
    return xp.astype(_erf_rational(xp, xp.astype(x, xp.float64), 4.0, _R32, _S32), x.dtype)


def _normal_cdf(xp, x):
    """``Phi(x) = (1 + erf(x / sqrt 2)) / 2`` in float64 (float32 and float16 ``x`` too)."""
    if x.dtype == xp.float64:
        out = arrays.clip(xp, _erf_rational(xp, x * _INV_SQRT2, 6.0, _R64, _S64), -1.0, 1.0)  # exactly -1 from -6 on
    else:  # the float32 fit is 1.5e-8 above -1 at its bound -4: Phi is 0 from there on (Phi(-4 sqrt 2) = 8e-9)
        t = xp.astype(x, xp.float64) * _INV_SQRT2
        out = xp.where(t < -4.0, -1.0, _erf_rational(xp, t, 4.0, _R32, _S32))
    out += 1.0
    out *= 0.5
    return out


def _gelu(xp, x):
    """``x Phi(x)``; float32 and float16 in float64, rounded once."""
    out = _normal_cdf(xp, x)
    out *= x if x.dtype == xp.float64 else xp.astype(x, xp.float64)
    return out if x.dtype == xp.float64 else xp.astype(out, x.dtype)


def _gelu_and_cdf(xp, x):
    """``(x Phi(x), Phi(x))`` in ``x``'s dtype, from one evaluation of Phi (float32 and float16 in float64)."""
    cdf = _normal_cdf(xp, x)
    if x.dtype == xp.float64:
        return x * cdf, cdf
    return xp.astype(cdf * xp.astype(x, xp.float64), x.dtype), xp.astype(cdf, x.dtype)


def _gelu_grad(xp, x, cdf, g):
    """``g (Phi(x) + x phi(x))`` from ``Phi(x)`` (kept by the forward), the density in ``x``'s dtype (as PyTorch)."""
    density = x * x
    density *= -0.5
    density = xp.exp(density)
    density *= x
    density *= _INV_SQRT_2PI
    density += cdf
    density *= g
    return density


_CHUNK = 16384  # elements per pass: the float64 temporaries (128 KiB) stay in cache and are reused by malloc


def _chunked(fn, xp, x, *more):
    """``fn(xp, x, *more)`` of a pointwise ``fn`` (``more``: arrays of ``x``'s shape; ``fn`` returns an array
    of ``x``'s dtype, or a tuple of them), over runs of ``_CHUNK`` elements of a large ``x``: twice as fast on
    one core as one pass over the whole array, whose many temporaries leave the cache and go back to the
    system (and fault in again) at every call."""
    n = math.prod(x.shape)
    if n <= _CHUNK or any(m.shape != x.shape for m in more):
        return fn(xp, x, *more)
    flat = [xp.reshape(a, (-1,)) for a in (x, *more)]
    outs = None
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        piece = fn(xp, *(a[start:stop] for a in flat))
        pieces = piece if isinstance(piece, tuple) else (piece,)
        if outs is None:
            outs = [xp.empty((n,), dtype=x.dtype, device=x.device) for _ in pieces]
        for out, p in zip(outs, pieces):
            out[start:stop] = p
    results = tuple(xp.reshape(out, x.shape) for out in outs)
    return results if isinstance(piece, tuple) else results[0]


@float_errors_ignored  # nothing overflows (clipped first), but nan and inf inputs must stay silent
def erf_generic(xp, x):
    """Error function from basic array ops (no exp, no branches), in ``x``'s dtype: float64 to 1e-15
    relative, and never beyond +-1; float32 and float16 computed in float64 with a lower-degree rational
    and rounded once (the correctly rounded value but for about 1 in 10^4 halfway cases, 1 ulp off)."""
    return _chunked(_erf, xp, x)


def erf_array(xp, x):
    """``erf`` of an array on the backend that owns ``xp``, in ``x``'s dtype: CuPy's own kernel on GPUs,
    :func:`erf_generic` elsewhere (on NumPy it is twice as fast as SciPy's ``erf``, and the same with or
    without SciPy)."""
    native = _native_erf(xp)
    if native is None:
        return erf_generic(xp, x)
    out = native(x)
    return out if out.dtype == x.dtype else xp.astype(out, x.dtype)


_NATIVE: dict[int, object] = {}


def _native_erf(xp):
    key = id(xp)
    if key not in _NATIVE:
        found = None
        if "cupy" in getattr(xp, "__name__", ""):
            try:
                from cupyx.scipy.special import erf as found
            except ImportError:
                found = None
        _NATIVE[key] = found
    return _NATIVE[key]


@float_errors_ignored
def gelu_array(xp, x):
    """Exact GELU ``x Phi(x)`` of an array, in ``x``'s dtype: float32 and float16 computed in float64 and rounded
    once (``1 + erf`` would cancel in float32 for x < -3), 0 below -4 sqrt 2 (where |x Phi(x)| < 4e-8)."""
    if _native_erf(xp) is None:
        return _chunked(_gelu, xp, x)
    return 0.5 * x * (1 + erf_array(xp, x * _INV_SQRT2))


@float_errors_ignored
def gelu_and_cdf_array(xp, x):
    """``(gelu(x), Phi(x))`` as :func:`gelu_array` computes them, for a forward that keeps Phi for backward."""
    if _native_erf(xp) is None:
        return _chunked(_gelu_and_cdf, xp, x)
    cdf = 0.5 * (1 + erf_array(xp, x * _INV_SQRT2))
    return x * cdf, cdf


def gelu_grad_array(xp, x, cdf, g):
    """GELU's derivative times ``g``: ``g (Phi(x) + x phi(x))``, in ``x``'s dtype, given ``cdf`` = Phi(x)
    (no erf: the forward kept it)."""
    return _quiet_gelu_grad(xp, x, (cdf, g))


@float_errors_ignored  # x = +-inf: inf * 0 in the density is nan silently, as PyTorch
def _quiet_gelu_grad(xp, x, cdf_and_g):
    if _native_erf(xp) is None:
        return _chunked(_gelu_grad, xp, x, *cdf_and_g)
    return _gelu_grad(xp, x, *cdf_and_g)
