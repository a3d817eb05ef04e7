"""Special functions the array API lacks, written once in ``xp`` (used where a backend has
no native version: CuPy and SciPy provide ``erf``, see ``Backend.erf``)."""

from __future__ import annotations

import math

from .._backend.numpy_backend import float_errors_ignored

_SERIES_TERMS = 60  # 2**n x**(2n+1) / (2n+1)!! reaches 1e-17 of the sum for |x| <= 3
_FRACTION_DEPTH = 60  # continued fraction of erfc, accurate to float64 for |x| >= 3


@float_errors_ignored  # huge or infinite x overflow x * x silently, as erf(inf) = 1 needs
def erf_generic(xp, x):
    """Error function to float64 accuracy from basic array ops.

    |x| < 3: erf(x) = 2/sqrt(pi) exp(-x^2) sum 2^n x^(2n+1) / (1*3*...*(2n+1)) (no cancellation);
    |x| >= 3: erfc(|x|) from its continued fraction, erf = sign(x) (1 - erfc).
    """
    a = xp.abs(x)
    small = xp.minimum(a, 3.0)
    s2 = small * small
    term = small
    total = small
    for n in range(1, _SERIES_TERMS):
        term = term * (2.0 * s2 / (2 * n + 1))
        total = total + term
    series = (2.0 / math.sqrt(math.pi)) * xp.exp(-s2) * total

    big = xp.maximum(a, 3.0)
    frac = big
    for k in range(_FRACTION_DEPTH, 0, -1):
        frac = big + (k / 2.0) / frac
    erfc = xp.exp(-big * big) / (math.sqrt(math.pi) * frac)
    return xp.sign(x) * xp.where(a < 3.0, series, 1.0 - erfc)


def erf_array(xp, x):
    """``erf`` of an array on the backend that owns ``xp`` (its native one when it has one), in
    ``x``'s dtype (SciPy computes float16 in float32)."""
    native = _native_erf(xp)
    if native is None:
        return erf_generic(xp, x)
    out = native(x)
    return out if out.dtype == x.dtype else xp.astype(out, x.dtype)


_NATIVE: dict[int, object] = {}


def _native_erf(xp):
    key = id(xp)
    if key not in _NATIVE:
        _NATIVE[key] = None
        name = getattr(xp, "__name__", "")
        try:
            if name == "numpy":
                from scipy.special import erf as found
            elif "cupy" in name:
                from cupyx.scipy.special import erf as found
            else:
                found = None
        except ImportError:
            found = None
        _NATIVE[key] = found
    return _NATIVE[key]
