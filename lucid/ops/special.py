"""Special functions the array API lacks, written once in ``xp`` (used where a backend has
no faster native version: CuPy's ``erf`` kernel, see ``erf_array``)."""

from __future__ import annotations

from .._backend.float_errors import float_errors_ignored
from .._backend.fused import chunked, erf_float


@float_errors_ignored  # nothing overflows (clipped first), but nan and inf inputs must stay silent
def erf_generic(xp, x):
    """Error function from basic array ops (no exp, no branches), in ``x``'s dtype: float64 to 1e-15
    relative, and never beyond +-1; float32 and float16 computed in float64 with a lower-degree rational
    and rounded once (the correctly rounded value but for about 1 in 10^4 halfway cases, 1 ulp off)."""
    return chunked(erf_float, xp, x)


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
