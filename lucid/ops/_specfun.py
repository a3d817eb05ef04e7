"""Array kernels of the special functions (gamma family, zeta, inverse error function, Bessel functions,
incomplete gamma), written once in ``xp`` for float64 arrays: series, recurrences, asymptotic expansions
and trapezoid rules on smooth integrals. ``float64_kernel`` runs one on any floating dtype (float32 and
float16 in float64, rounded once), with NumPy's floating-point warnings off (PyTorch returns inf and
nan silently)."""

from __future__ import annotations

import functools
import math

from .._backend import arrays
from .._backend.fused import _polynomial, chunked
from .._backend.numpy_backend import float_errors_quiet
from .special import erf_generic

_EULER = 0.57721566490153286061
_SQRT_PI = math.sqrt(math.pi)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_EPS = 2.0**-53


_CHUNK = 16384  # elements per pass: the kernels' many float64 temporaries stay in cache (and memory stays bounded)


def float64_kernel(fn):
    """``fn(xp, x, *args)`` on a float64 array, for any floating ``x``: computed in float64 and cast back, over
    runs of 16384 elements of a large ``x`` (several times faster than whole-array passes, whose temporaries
    leave the cache)."""

    def whole(xp, x, *args):
        if x.dtype == xp.float64:
            return fn(xp, x, *args)
        return xp.astype(fn(xp, xp.astype(x, xp.float64), *args), x.dtype)

    @functools.wraps(fn)
    def run(xp, x, *args):
        with float_errors_quiet():
            n = math.prod(x.shape)
            if n <= _CHUNK:
                return whole(xp, x, *args)
            flat = xp.reshape(x, (-1,))
            out = xp.empty((n,), dtype=x.dtype, device=x.device)
            for start in range(0, n, _CHUNK):
                stop = min(start + _CHUNK, n)
                out[start:stop] = whole(xp, flat[start:stop], *args)
            return xp.reshape(out, x.shape)

    return run


def _where(xp, mask, a, b):
    return xp.where(mask, a, b)


# ---- gamma family -------------------------------------------------------------------------------------------------

# Stirling: lgamma(x) = (x - 1/2) log x - x + log sqrt(2 pi) + sum B_2k / (2k (2k - 1) x^(2k - 1)), x >= 10
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400)
_SHIFT = 10.0  # the recurrences shift arguments up to this, where the asymptotic series are exact in float64
# B_2, B_4, ..., B_22: psi(z) = log z - 1/(2z) - sum B_2k / (2k z^2k), psi'(z) = 1/z + 1/(2z^2) + sum B_2k / z^(2k+1),
# exact in float64 from z = 8 on with 9 and 11 terms (highest power first, as _polynomial takes them)
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798, -174611 / 330,
              854513 / 138)
_DIGAMMA_SERIES = tuple(b / (2 * k) for k, b in enumerate(_BERNOULLI[:9], 1))[::-1]
_TRIGAMMA_SERIES = _BERNOULLI[::-1]
_PSI_SHIFT = 8


def _series(z, coefficients):
    """``sum c_k z^(k+1)`` for k = 0, 1, ... (Horner)."""
    out = z * 0.0 + coefficients[-1]
    for c in reversed(coefficients[:-1]):
        out = out * z + c
    return out * z


def _lgamma_positive(xp, x):
    """``log Gamma(x)`` for ``x > 0``: Stirling's series from 10 on; below, the Taylor series of ``lgamma(1 + z)``
    (``_lgamma_near_one``) after ``Gamma(x + 1) = x Gamma(x)`` moves ``x`` into [1/2, 5/2] (exact: the shift
    goes into a product, then one logarithm), so the zeros at 1 and 2 keep full relative precision."""
    large = x >= _SHIFT
    big = _where(xp, large, x, _SHIFT)
    inv = 1.0 / big
    stirling = (big - 0.5) * xp.log(big) - big + _LOG_SQRT_2PI + _series(inv * inv, _STIRLING) * big
    small = _where(xp, large, 1.0, x)
    product = xp.ones_like(x)  # Gamma(small) = Gamma(y) * product, y in (3/2, 5/2]
    y = small
    for _ in range(int(_SHIFT) - 2):
        above = y > 2.5
        product = _where(xp, above, product * (y - 1.0), product)
        y = _where(xp, above, y - 1.0, y)
    tiny = small < 0.5  # Gamma(x) = Gamma(1 + x) / x, with z = x exactly
    upper = (small > 1.5) & ~tiny
    z = _where(xp, tiny, small, _where(xp, upper, y - 2.0, small - 1.0))
    taylor = _lgamma_near_one(xp, z)
    taylor = taylor + _where(xp, upper, xp.log1p(z) + xp.log(product), 0.0)
    taylor = taylor - _where(xp, tiny, xp.log(_where(xp, tiny, small, 1.0)), 0.0)
    return _where(xp, large, stirling, taylor)


# Euler-Maclaurin for the Hurwitz zeta (as Cephes): (2j)! / B_2j
_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
           -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
           1.8152105401943546773e17, -7.1661652561756670113e18)


def _zeta_of_integer(k: int) -> float:
    """Riemann ``zeta(k)`` for an integer ``k >= 2`` in Python floats (Euler-Maclaurin after 9 terms, as ``_zeta``)."""
    n = 10.0
    total = sum(m ** -k for m in range(1, 10)) + n ** (1 - k) / (k - 1) + 0.5 * n**-k
    factor, power = 1.0, n**-k
    for j, coefficient in enumerate(_ZETA_A):
        factor *= (k + 2 * j) * (k + 2 * j - 1) if j else k
        power /= n if j == 0 else n * n
        total += factor * power / coefficient
    return total


# lgamma(1 + z) = -gamma z + sum_k>=2 (-1)^k zeta(k) z^k / k for |z| <= 1/2 (to 1e-17 with 56 terms): full relative
# precision next to the zeros of lgamma at 1 and 2, where Stirling's value after shifting cancels
_LGAMMA_TAYLOR = (*((-1.0) ** k * _zeta_of_integer(k) / k for k in range(57, 1, -1)), -_EULER)  # highest first


def _lgamma_near_one(xp, z):
    """``lgamma(1 + z)`` for ``|z| <= 1/2`` by its Taylor series (Horner in place)."""
    out = _polynomial(z, _LGAMMA_TAYLOR)
    out *= z
    return out


@float64_kernel
def lgamma(xp, x):
    """``log |Gamma(x)|``: inf at 0 and the negative integers, negative ``x`` by the reflection formula (relative
    error ~1e-15 for x > 0, exact zeros at 1 and 2)."""
    positive = x > 0
    out = _lgamma_positive(xp, _where(xp, positive, x, 1.0 - x))  # 1 - x > 1 for the reflected ones
    out = _reflected(xp, x, positive, out, _lgamma_reflected)
    return _where(xp, xp.isinf(x), xp.abs(x), out)


def _lgamma_reflected(xp, x, out, r):
    """``log |Gamma(x)| = log(pi / |sin(pi x)|) - lgamma(1 - x)`` (``sin(pi r)``: exact zeros at the integers)."""
    return math.log(math.pi) - xp.log(xp.abs(xp.sin(math.pi * r))) - out


def _digamma_positive(xp, x):
    """``psi(x)`` for ``x > 0``: ``psi(x + 8)`` by its asymptotic series, less ``sum_k<8 1/(x + k)`` (the
    recurrence unrolled for every element: a few divisions, against a ``where`` pass a step)."""
    z = x + _PSI_SHIFT
    inv = 1.0 / z
    w = inv * inv
    out = _polynomial(w, _DIGAMMA_SERIES)
    out *= w
    out += 0.5 * inv
    for k in range(_PSI_SHIFT):
        out += 1.0 / (x + k) if k else 1.0 / x
    return xp.log(z) - out


def _trigamma_positive(xp, x):
    """``psi'(x)`` for ``x > 0``: ``psi'(x + 8)`` by its asymptotic series, plus ``sum_k<8 1/(x + k)^2``."""
    z = x + _PSI_SHIFT
    inv = 1.0 / z
    w = inv * inv
    out = _polynomial(w, _TRIGAMMA_SERIES)
    out *= w
    out += 0.5 * inv
    out += 1.0
    out *= inv
    for k in reversed(range(_PSI_SHIFT)):
        term = 1.0 / (x + k) if k else 1.0 / x
        term *= term
        out += term
    return out


def _reflected(xp, x, positive, out, fn):
    """``fn(xp, x, out, r)`` where ``x`` is not ``positive`` (``out`` computed at ``1 - x`` there; ``r``: ``x``
    less its nearest integer, exact), ``out`` elsewhere; the reflection's ``tan`` or ``sin`` skipped (host
    read) when every element is positive."""
    if bool(xp.all(positive)):
        return out
    return _where(xp, positive, out, fn(xp, x, out, x - xp.round(x)))


def _digamma_reflected(xp, x, out, r):
    """``psi(x) = psi(1 - x) - pi / tan(pi x)`` (tan has period pi: tan(pi x) = tan(pi r)); nan at the poles."""
    return _where(xp, r == 0, math.nan, out - math.pi / xp.tan(math.pi * r))


def _trigamma_reflected(xp, x, out, r):
    """``psi'(x) = pi^2 / sin^2(pi x) - psi'(1 - x)``: inf at the poles."""
    sine = xp.sin(math.pi * r)
    return math.pi**2 / (sine * sine) - out


@float64_kernel
def digamma(xp, x):
    """``d/dx log Gamma(x)``: -inf at 0 (as PyTorch), nan at the negative integers, reflection below 0."""
    positive = x > 0
    out = _digamma_positive(xp, _where(xp, positive, x, 1.0 - x))
    out = _reflected(xp, x, positive, out, _digamma_reflected)
    out = _where(xp, x == 0, xp.copysign(xp.full_like(x, math.inf), -x), out)  # -inf at +0, inf at -0
    return _where(xp, x == math.inf, math.inf, _where(xp, x == -math.inf, math.nan, out))


@float64_kernel
def trigamma(xp, x):
    """``psi'(x)``, digamma's derivative: inf at 0 and the negative integers, 0 at inf, nan at -inf."""
    positive = x > 0
    out = _trigamma_positive(xp, _where(xp, positive, x, 1.0 - x))
    return _reflected(xp, x, positive, out, _trigamma_reflected)


_ZETA_TERMS = 9


def _zeta(xp, s, q):
    """Hurwitz ``zeta(s, q) = sum_k (q + k)^-s`` of float64 arrays (broadcast): the first terms summed until
    ``q + n > 9``, the rest by Euler-Maclaurin (as Cephes, which PyTorch uses). inf at s == 1 and at the
    non-positive integers q; nan for s < 1 and for q < 0 with a non-integer s."""
    s, q = xp.broadcast_arrays(s, q)
    # terms before Euler-Maclaurin: at least 9, and until q + n > 9 (a host read only when some q is negative)
    count = xp.full_like(q, float(_ZETA_TERMS))
    most = _ZETA_TERMS
    negative = q < 0
    if bool(xp.any(negative)):
        count = xp.maximum(count, xp.floor(9.0 - q) + 1.0)
        most = int(xp.max(_where(xp, xp.isfinite(count), count, 0.0)))
    total = q ** (-s)
    a = q
    for i in range(1, most + 1):
        a = _where(xp, count >= i, q + float(i), a)
        total = total + _where(xp, count >= i, a ** (-s), 0.0)
    w = a
    b = w ** (-s)
    total = total + b * w / (s - 1.0) - 0.5 * b
    factor, k = xp.ones_like(s), 0.0
    for coefficient in _ZETA_A:
        factor = factor * (s + k)
        b = b / w
        total = total + factor * b / coefficient
        k += 1.0
        factor = factor * (s + k)
        b = b / w
        k += 1.0
    pole = (q <= 0) & (q == xp.floor(q))
    total = _where(xp, pole, math.inf, _where(xp, q == math.inf, 0.0, total))
    total = _where(xp, negative & (s != xp.floor(s)) & ~pole, math.nan, total)
    total = _where(xp, s == 1, math.inf, total)
    return _where(xp, s < 1, math.nan, total)


def zeta(xp, s, q):
    """The Hurwitz zeta function of two float arrays of one dtype (float32 in float64)."""
    with float_errors_quiet():
        if s.dtype == xp.float64:
            return _zeta(xp, s, q)
        return xp.astype(_zeta(xp, xp.astype(s, xp.float64), xp.astype(q, xp.float64)), s.dtype)


@float64_kernel
def polygamma(xp, x, n):
    """The ``n``-th derivative of digamma: ``(-1)^(n+1) n! zeta(n + 1, x)`` for ``n >= 1``."""
    if n == 0:
        return digamma(xp, x)
    if n == 1:
        return trigamma(xp, x)
    out = (-1.0) ** (n + 1) * math.gamma(n + 1) * _zeta(xp, xp.full_like(x, n + 1.0), x)
    return _where(xp, x == math.inf, math.nan, out)  # PyTorch: nan above n = 1 (trigamma: 0)


# ---- error functions --------------------------------------------------------------------------------------------

_CF_FROM, _CF_TERMS = 1.5, 80  # erfc by Laplace's continued fraction from 1.5 on (to 1e-16), 1 - erf below


def _erfcx_positive(xp, x):
    """``exp(x^2) erfc(x)`` for ``x >= 1.5`` by Laplace's continued fraction (80 terms: 1e-16 relative)."""
    f = x
    for k in range(_CF_TERMS, 0, -1):
        f = x + (0.5 * k) / f
    return 1.0 / (_SQRT_PI * f)


def _exp_minus_square(xp, t):
    """``exp(-t^2)`` without the rounding error of ``t^2`` (as Cephes' expx2): ``t = m + f`` with ``m`` a multiple
    of 1/32, whose square is exact, and ``exp(-m^2) exp(-f (t + m))``."""
    m = xp.floor(t * 32.0) / 32.0
    return xp.exp(-m * m) * xp.exp(-(t - m) * (t + m))


@float64_kernel
def erfc(xp, x):
    """``1 - erf(x)`` with full relative precision in the right tail (continued fraction from 1.5 on)."""
    far = x >= _CF_FROM
    t = _where(xp, far, x, _CF_FROM)
    tail = _exp_minus_square(xp, t) * _erfcx_positive(xp, t)
    tail = _where(xp, t == math.inf, 0.0, tail)
    return _where(xp, far, tail, 1.0 - erf_generic(xp, x))


@float64_kernel
def erfcx(xp, x):
    """``exp(x^2) erfc(x)``: no overflow for large ``x``; ``2 exp(x^2) - erfcx(-x)`` for negative ``x``
    (inf below about -26.6, as PyTorch)."""
    a = xp.abs(x)
    far = a >= _CF_FROM
    t = _where(xp, far, a, _CF_FROM)
    near = xp.exp(a * a) * (1.0 - erf_generic(xp, a))
    positive = _where(xp, far, _erfcx_positive(xp, t), near)
    positive = _where(xp, a == math.inf, 0.0, positive)
    return _where(xp, x >= 0, positive, 2.0 * xp.exp(x * x) - positive)


# Cody's erfcx (W. J. Cody, Rational Chebyshev approximations for the error function, Math. Comp. 23, 1969; netlib
# specfun CALERF): P(a) / Q(a) on [0.46875, 4], (1/sqrt(pi) - z P(z) / Q(z)) / a with z = 1/a^2 beyond; within 5 ulp
# in float64 (erfcx's continued fraction, with exp(a^2) (1 - erf(a)) below 1.5: 43). Highest power first, Q monic.
_CODY_P = (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
           2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03,
           1.23033935479799725e03)
_CODY_Q = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
           3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03)
_CODY_FAR_P = (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
               1.60837851487422766e-2, 6.58749161529837803e-4)
_CODY_FAR_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1, 6.05183413124413191e-2,
               2.33520497626869185e-3)


def _rational(z, numerator, denominator):
    """``N(z) / D(z)`` (highest power first, ``D`` monic) by Horner's rule in place."""
    p = z * numerator[0]
    p += numerator[1]
    for c in numerator[2:]:
        p *= z
        p += c
    q = z + denominator[0]
    for c in denominator[1:]:
        q *= z
        q += c
    p /= q
    return p


def _erfcx_cody(xp, a):
    """``exp(a^2) erfc(a)`` for ``a >= 0.46875`` by Cody's rationals (see ``_CODY_P``): no cancellation, where
    ``exp(a^2) (1 - erf(a))`` loses digits, and a third of the work of the 80-term continued fraction."""
    near = _rational(arrays.clip(xp, a, None, 4.0), _CODY_P, _CODY_Q)
    far = arrays.clip(xp, a, 4.0, None)
    z = 1.0 / (far * far)
    far = (1.0 / _SQRT_PI - z * _rational(z, _CODY_FAR_P, _CODY_FAR_Q)) / far
    return _where(xp, a <= 4.0, near, far)


# (erfinv(x) / x)^2 as a function of w = -log((1 - x)(1 + x)) on [0, 16] (every |x| < 1 of float32, float16 and
# bfloat16, whose largest is 1 - 2^-24, has w < 16): P(w) / Q(w) of degree 6/6 fitted (minimax in the relative error
# of erfinv(x) / x) to 1.4e-9. Below in the variable log = -w in [-16, 0], highest power first, Q monic: the
# coefficients in w are all positive, so these alternate and Horner's rule never cancels.
_ERFINV_P = (1918.4532057425865, -38156.19527237948, 500354.6307944636, -4359772.463494919, 25312834.61997754,
             -90053793.29499727, 150578661.06856295)
_ERFINV_Q = (-1830.3023547882674, 46301.89697681332, -438156.00615781994, 6617602.951403945, -14274299.575602151,
             191722705.3376445)
_ERFINV_LOG = -16.0  # the rational's end, as log((1 - x)(1 + x))


def _erfinv_rational(xp, log):
    """``erfinv(x) / x`` from ``log = log((1 - x)(1 + x))`` in [-16, 0] (see ``_ERFINV_P``)."""
    return xp.sqrt(_rational(log, _ERFINV_P, _ERFINV_Q))


def _erfinv_narrow(xp, x):
    """``erfinv`` of float32, float16 or bfloat16 ``x``: the rational alone, in float64 (``chunked`` rounds it
    once), within 0.53 ulp of float32's exact value (98.5% correctly rounded). ``1 - x^2`` is exact there (``x^2``
    has at most 48 bits; the difference, Sterbenz's, where it matters), so its log is at most 0; ``x (R(clipped)
    - (log - clipped))`` is +-inf at +-1 (``log = -inf``) and nan past it (``log = nan``)."""
    x = xp.astype(x, xp.float64)
    log = x * x
    log = xp.log(1.0 - log)
    clipped = xp.maximum(log, _ERFINV_LOG)
    log -= clipped
    out = _erfinv_rational(xp, clipped)
    out -= log
    out *= x
    return out


def _erfinv_guess(xp, log, x, log_complement):
    """``erfinv(x)`` from ``log = log((1 - x)(1 + x))`` and ``log(1 - |x|)``: the rational (1.4e-9 relative) down
    to ``log = -16``; past it (``1 - |x|`` below 6e-8), the asymptotic ``erfc(a) = exp(-a^2) / (a sqrt pi)
    exp(-1/(2a^2) + 5/(8a^4) - 37/(24a^6) ...) = 1 - |x|`` solved by fixed-point steps (to 3e-6 relative at
    ``a = 4``, better beyond)."""
    central = x * _erfinv_rational(xp, arrays.clip(xp, log, _ERFINV_LOG, 0.0))
    a = xp.sqrt(-log_complement)
    for _ in range(3):
        inv = 1.0 / (a * a)
        a = xp.sqrt(inv * (-0.5 + inv * (0.625 - inv * (37.0 / 24.0))) - log_complement - xp.log(a * _SQRT_PI))
    return _where(xp, log >= _ERFINV_LOG, central, a * arrays.sign(xp, x))


def _erfinv_refined(xp, y, x, log_complement):
    """One Halley step (cubic: from the guess's 3e-6 to below float64's resolution) on ``erf(a) = |x|`` where
    ``|x| <= 1/2``, and on ``log erfc(a) = log(1 - |x|)`` elsewhere (``1 - |x|`` formed exactly, so the tails keep
    their relative precision; the logarithm makes the step converge from far out in the tail, where ``erfc`` is
    nearly ``exp(-a^2)``)."""
    a = xp.abs(y)
    # erf(a) = |x|: u = f / f', f'' / f' = -2a
    u = (erf_generic(xp, a) - xp.abs(x)) * xp.exp(a * a) * (_SQRT_PI / 2.0)
    central = a - u / (1.0 + a * u)
    # log erfc(a) = log(1 - |x|): g = log erfcx(a) - a^2 - log(1 - |x|), g' = -r, g'' = r (2a - r)
    scaled = _erfcx_cody(xp, a)
    r = 2.0 / (_SQRT_PI * scaled)
    v = (xp.log(scaled) - a * a - log_complement) / r
    tail = a + v / (1.0 - v * (a - 0.5 * r))
    return arrays.sign(xp, x) * _where(xp, xp.abs(x) <= 0.5, central, tail)


@float64_kernel
def _erfinv_float64(xp, x):
    """``erfinv`` of float64 ``x``: the guess polished by one Halley step."""
    complement = 1.0 - xp.abs(x)
    log_complement = xp.log(complement)
    log = xp.log(complement * (1.0 + xp.abs(x)))
    y = _erfinv_refined(xp, _erfinv_guess(xp, log, x, log_complement), x, log_complement)
    y = _where(xp, xp.abs(x) == 1, x * math.inf, y)
    return _where(xp, xp.abs(x) > 1, math.nan, _where(xp, x == 0, x, y))


def erfinv(xp, x):
    """Inverse of ``erf`` on [-1, 1] (+-inf at +-1, nan outside): float64 to full precision (the rational guess
    and one Halley step); narrower floats by the rational alone, computed in float64 and rounded once (within
    0.53 ulp of float32's exact value, the float64 path rounded: 0.5, at an eighth of its cost)."""
    if x.dtype == xp.float64:
        return _erfinv_float64(xp, x)
    with float_errors_quiet():
        return chunked(_erfinv_narrow, xp, x)


@float64_kernel
def ndtri(xp, p):
    """Inverse of the standard normal CDF: ``-sqrt 2 erfcinv(2p)``, with ``1 - |2p - 1|`` formed exactly
    from ``p`` so the lower tail keeps full relative precision."""
    x = 2.0 * p - 1.0
    complement = 2.0 * xp.minimum(p, 1.0 - p)
    log_complement = xp.log(complement)
    log = xp.log(4.0 * p * (1.0 - p))
    y = _erfinv_refined(xp, _erfinv_guess(xp, log, x, log_complement), x, log_complement)
    out = math.sqrt(2.0) * y
    out = _where(xp, p == 0, -math.inf, _where(xp, p == 1, math.inf, out))
    return _where(xp, (p < 0) | (p > 1), math.nan, out)


@float64_kernel
def ndtr(xp, x):
    """Standard normal CDF ``erfc(-x / sqrt 2) / 2`` (full relative precision in the lower tail)."""
    return 0.5 * erfc(xp, -x * (1.0 / math.sqrt(2.0)))


@float64_kernel
def log_ndtr(xp, x):
    """``log ndtr(x)`` as PyTorch: ``log(erfcx(-x / sqrt 2) / 2) - x^2 / 2`` below -1, else
    ``log1p(-erfc(x / sqrt 2) / 2)``."""
    t = x * (1.0 / math.sqrt(2.0))
    low = xp.log(erfcx(xp, -t) / 2.0) - t * t
    high = xp.log1p(-erfc(xp, t) / 2.0)
    return _where(xp, x < -1.0, low, high)


# ---- Bessel functions -------------------------------------------------------------------------------------------

_SERIES_TO, _SERIES_TERMS, _ASYMPTOTIC_TERMS = 30.0, 56, 32


def _i_series_coefficients(nu):
    """``1 / (k! (k + nu)!)`` for k = _SERIES_TERMS down to 0: I_nu's power series in ``(x/2)^2``."""
    return tuple(1.0 / (math.factorial(k) * math.factorial(k + nu)) for k in range(_SERIES_TERMS, -1, -1))


def _asymptotic_coefficients(nu):
    """``prod_j<=k -(4 nu^2 - (2j - 1)^2) / (8j)`` for k = _ASYMPTOTIC_TERMS - 1 down to 0: ``exp(-a) I_nu(a)
    sqrt(2 pi a)`` as a series in ``1/a``."""
    terms = [1.0]
    for k in range(1, _ASYMPTOTIC_TERMS):
        terms.append(terms[-1] * -(4.0 * nu * nu - (2 * k - 1) ** 2) / (8.0 * k))
    return tuple(reversed(terms))


_I_SERIES = {nu: _i_series_coefficients(nu) for nu in (0, 1)}
_I_ASYMPTOTIC = {nu: _asymptotic_coefficients(nu) for nu in (0, 1)}


def _i_series(xp, x, nu):
    """``I_nu(x)`` for nu = 0, 1 by its power series (positive terms; Horner in place on precomputed
    coefficients: two passes a term)."""
    s = _polynomial(x * x * 0.25, _I_SERIES[nu])
    return s if nu == 0 else s * x * 0.5


def _i_asymptotic_scaled(xp, a, nu):
    """``exp(-a) I_nu(a)`` for ``a >= 30``: sum of (-1)^k prod (4 nu^2 - (2j - 1)^2) / (k! (8a)^k)."""
    return _polynomial(1.0 / a, _I_ASYMPTOTIC[nu]) / xp.sqrt(2.0 * math.pi * a)


def _i_parts(xp, x, nu):
    """``(near, |x| there else 0, I_nu(x) there, exp(-|x|) I_nu(x) elsewhere)``: the series to |x| = 30, the scaled
    asymptotic expansion beyond (to ~1e-15 relative), each at arguments where it is finite."""
    a = xp.abs(x)
    near = a <= _SERIES_TO
    small = _where(xp, near, x, 0.0)
    far = _i_asymptotic_scaled(xp, _where(xp, near, _SERIES_TO, a), nu)
    if nu == 1:
        far = arrays.sign(xp, x) * far
    return near, xp.abs(small), _i_series(xp, small, nu), far


def _i_scaled(xp, x, nu):
    """``exp(-|x|) I_nu(x)``."""
    near, small, series, far = _i_parts(xp, x, nu)
    return _where(xp, near, series * xp.exp(-small), far)


@float64_kernel
def i0e(xp, x):
    """``exp(-|x|) I_0(x)``."""
    return _i_scaled(xp, x, 0)


@float64_kernel
def i1e(xp, x):
    """``exp(-|x|) I_1(x)``."""
    return _i_scaled(xp, x, 1)


def _i(xp, x, nu):
    """``I_nu(x)``: the scaled expansion times ``exp(|x|)`` beyond |x| = 30."""
    near, _, series, far = _i_parts(xp, x, nu)
    return _where(xp, near, series, far * xp.exp(xp.abs(x)))


@float64_kernel
def i0(xp, x):
    """Modified Bessel function ``I_0`` (inf beyond |x| ~ 713)."""
    return _i(xp, x, 0)


@float64_kernel
def i1(xp, x):
    """Modified Bessel function ``I_1`` (+-inf beyond |x| ~ 713; nan at +-inf, as PyTorch)."""
    return _i(xp, x, 1)


_K_SERIES_TO, _K_STEP, _K_NODES = 1.0, 0.2, 51


def _k_series(xp, x, nu):
    """``K_nu(x)`` for ``0 < x <= 1`` by the series with logarithms (DLMF 10.31.2 and 10.31.1)."""
    y = x * x * 0.25
    log_half = xp.log(0.5 * x)
    if nu == 0:
        s, harmonic = xp.zeros_like(x), [0.0]
        for k in range(1, 25):
            harmonic.append(harmonic[-1] + 1.0 / k)
        for k in range(24, 0, -1):  # sum_k>=1 H_k y^k / (k!)^2, Horner from the top
            s = (s + harmonic[k]) * y / (k * k)
        return -(log_half + _EULER) * _i_series(xp, x, 0) + s
    # K_1(x) = 1/x + log(x/2) I_1(x) - (x/4) sum_k>=0 (psi(k+1) + psi(k+2)) y^k / (k! (k+1)!)
    psi = [-_EULER]
    for k in range(1, 26):
        psi.append(psi[-1] + 1.0 / k)
    s = xp.zeros_like(x)
    for k in range(24, -1, -1):
        s = s * y / ((k + 1) * (k + 2)) + (psi[k] + psi[k + 1])
    return 1.0 / x + log_half * _i_series(xp, x, 1) - 0.25 * x * s


def _k_scaled_integral(xp, x, nu):
    """``exp(x) K_nu(x) = int_0^inf exp(-x (cosh t - 1)) cosh(nu t) dt`` for ``x >= 1``, by the trapezoid rule
    in ``u = t sqrt(x)`` (the integrand is analytic and decays double-exponentially: error below 1e-16)."""
    root = xp.sqrt(x)
    total = 0.5 * xp.ones_like(x)
    for j in range(1, _K_NODES):
        t = (j * _K_STEP) / root
        half = xp.sinh(0.5 * t)
        term = xp.exp(-2.0 * x * half * half)
        total = total + (term * xp.cosh(nu * t) if nu else term)
    return total * _K_STEP / root


def _k(xp, x, nu, scaled):
    near = x <= _K_SERIES_TO
    small = _where(xp, near & (x > 0), x, 0.5)
    series = _k_series(xp, small, nu)
    if scaled:
        series = series * xp.exp(small)
    large = _where(xp, near, 2.0, x)
    far = _k_scaled_integral(xp, large, nu)
    if not scaled:
        far = far * xp.exp(-large)
    out = _where(xp, near, series, far)
    out = _where(xp, x == math.inf, 0.0, out)
    return _where(xp, x == 0, math.inf, _where(xp, x < 0, math.nan, out))


@float64_kernel
def k0(xp, x):
    """Modified Bessel function of the second kind ``K_0`` (inf at 0, nan below)."""
    return _k(xp, x, 0, False)


@float64_kernel
def k1(xp, x):
    """Modified Bessel function of the second kind ``K_1`` (inf at 0, nan below)."""
    return _k(xp, x, 1, False)


@float64_kernel
def k0e(xp, x):
    """``exp(x) K_0(x)``."""
    return _k(xp, x, 0, True)


@float64_kernel
def k1e(xp, x):
    """``exp(x) K_1(x)``."""
    return _k(xp, x, 1, True)


_J_SERIES_TO, _J_HANKEL_FROM, _J_NODES = 4.0, 25.0, 48


def _j_series(xp, x, nu):
    y = -x * x * 0.25
    s = xp.ones_like(x)
    for k in range(30, 0, -1):
        s = 1.0 + s * y / (k * (k + nu))
    return s if nu == 0 else s * x * 0.5


def _j_trapezoid(xp, x, nu):
    """``J_nu(x) = (1/pi) int_0^pi cos(nu t - x sin t) dt``: a periodic analytic integrand, so the trapezoid
    rule with 48 panels errs by about ``J_96(x)``, nothing for |x| <= 25 (absolute error 1e-16)."""
    total = xp.full_like(x, 0.5 * (1.0 + math.cos(nu * math.pi)))
    for j in range(1, _J_NODES):
        t = math.pi * j / _J_NODES
        total = total + xp.cos(nu * t - x * math.sin(t))
    return total / _J_NODES


def _hankel(xp, x, nu):
    """``(P, Q, chi)`` of Hankel's expansion for ``x >= 25``: ``J = sqrt(2/(pi x)) (P cos chi - Q sin chi)``,
    ``Y = sqrt(2/(pi x)) (P sin chi + Q cos chi)``."""
    mu = 4.0 * nu * nu
    term = xp.ones_like(x)
    p, q = term, xp.zeros_like(x)
    for k in range(1, 40):
        term = term * (mu - (2 * k - 1) ** 2) / (8.0 * k * x)
        sign = -1.0 if (k // 2) % 2 else 1.0
        if k % 2:
            q = q + sign * term
        else:
            p = p + sign * term
    return p, q, x - (0.5 * nu + 0.25) * math.pi


def _j(xp, x, nu):
    a = xp.abs(x)
    near = a <= _J_SERIES_TO
    mid = (a > _J_SERIES_TO) & (a <= _J_HANKEL_FROM)
    series = _j_series(xp, _where(xp, near, a, 0.0), nu)
    trapezoid = _j_trapezoid(xp, _where(xp, mid, a, 10.0), nu)
    far = _where(xp, mid | near, _J_HANKEL_FROM, a)
    p, q, chi = _hankel(xp, far, nu)
    hankel = xp.sqrt(2.0 / (math.pi * far)) * (p * xp.cos(chi) - q * xp.sin(chi))
    out = _where(xp, near, series, _where(xp, mid, trapezoid, hankel))
    return out if nu == 0 else arrays.sign(xp, x) * out


@float64_kernel
def j0(xp, x):
    """Bessel function of the first kind ``J_0``: power series to |x| = 4, trapezoid rule on Bessel's integral
    to 25, Hankel's expansion beyond (absolute error ~1e-16; relative error grows next to the zeros)."""
    return _j(xp, x, 0)


@float64_kernel
def j1(xp, x):
    """Bessel function of the first kind ``J_1`` (as :func:`j0`)."""
    return _j(xp, x, 1)


_MILLER_START = 80  # backward recurrence for J_n(x), 4 < x <= 25: J_80 is negligible there, and no overflow


def _y_series(xp, x, nu):
    """``Y_nu(x)`` for ``0 < x <= 4`` (DLMF 10.8.1/10.8.2): ``(2/pi) log(x/2) J_nu(x)`` plus power series."""
    y = -x * x * 0.25
    psi = [-_EULER]
    for k in range(1, 40):
        psi.append(psi[-1] + 1.0 / k)
    s = xp.zeros_like(x)
    for k in range(30, -1, -1):  # sum_k (psi(k+1) + psi(nu+k+1)) y^k / (k! (nu+k)!), Horner from the top
        s = s * y / ((k + 1) * (k + 1 + nu)) + (psi[k] + psi[k + nu])
    log_term = (2.0 / math.pi) * xp.log(0.5 * x) * _j_series(xp, x, nu)
    if nu == 0:
        return log_term - s / math.pi
    return -2.0 / (math.pi * x) + log_term - (0.5 * x) * s / math.pi


def _y_neumann(xp, x, nu):
    """``Y_nu(x)`` for ``4 < x <= 25`` from Neumann's series in ``J_2k`` (A&S 9.1.88, and its derivative for
    ``Y_1``), the ``J_n`` from Miller's backward recurrence, normalised by ``J_0 + 2 sum J_2k = 1``: every sum is
    linear in the unnormalised ``J_n``, so they accumulate during the recurrence and are divided at the end."""
    upper, current = xp.zeros_like(x), xp.full_like(x, 1e-250)  # J_{n+1}, J_n (unnormalised), n from the top
    norm, neumann = xp.zeros_like(x), xp.zeros_like(x)
    for n in range(_MILLER_START, 0, -1):  # J_{n-1} = (2n/x) J_n - J_{n+1}
        if n % 2 == 0:
            norm = norm + 2.0 * current
            if nu == 0 and n < _MILLER_START:
                neumann = neumann + ((-1.0) ** (n // 2) / (n // 2)) * current
        elif nu == 1:  # J_n with n = 2k - 1 enters term k, with n = 2k + 1 term k (with a minus sign)
            k_below, k_above = (n + 1) // 2, (n - 1) // 2
            if k_below < _MILLER_START // 2:
                neumann = neumann + ((-1.0) ** k_below / k_below) * current
            if k_above >= 1:
                neumann = neumann - ((-1.0) ** k_above / k_above) * current
        if n == 1:
            j1 = current
        upper, current = current, (2.0 * n / x) * current - upper
    norm = norm + current  # + J_0
    log_term = xp.log(0.5 * x) + _EULER
    if nu == 0:
        return (2.0 / math.pi) * (log_term * current - 2.0 * neumann) / norm
    # Y_1 = -Y_0' with J_0' = -J_1 and J_2k' = (J_2k-1 - J_2k+1) / 2
    return (2.0 / math.pi) * (log_term * j1 - current / x + neumann) / norm


def _y(xp, x, nu):
    near = (x > 0) & (x <= _J_SERIES_TO)
    mid = (x > _J_SERIES_TO) & (x <= _J_HANKEL_FROM)
    series = _y_series(xp, _where(xp, near, x, 1.0), nu)
    neumann = _y_neumann(xp, _where(xp, mid, x, 10.0), nu)
    far = _where(xp, x > _J_HANKEL_FROM, x, _J_HANKEL_FROM)
    p, q, chi = _hankel(xp, far, nu)
    hankel = xp.sqrt(2.0 / (math.pi * far)) * (p * xp.sin(chi) + q * xp.cos(chi))
    out = _where(xp, near, series, _where(xp, mid, neumann, hankel))
    out = _where(xp, x == 0, -math.inf, out)
    return _where(xp, (x < 0) | (x == math.inf) | xp.isnan(x), math.nan, out)  # nan at +inf too, as PyTorch


@float64_kernel
def y0(xp, x):
    """Bessel function of the second kind ``Y_0`` (-inf at 0, nan below): series to 4, Neumann's series with
    Miller's recurrence to 25, Hankel's expansion beyond (absolute error ~1e-15)."""
    return _y(xp, x, 0)


@float64_kernel
def y1(xp, x):
    """Bessel function of the second kind ``Y_1`` (as :func:`y0`)."""
    return _y(xp, x, 1)


_AI0, _AI1 = 0.355028053887817239260, 0.258819403792806798405  # Ai(0), -Ai'(0)
_AIRY_SERIES_FROM, _AIRY_TERMS = -7.0, 10


def _airy_series(xp, z):
    """Maclaurin series ``Ai(0) f(z) + Ai'(0) g(z)`` (DLMF 9.4.1), for -7 <= z < 1."""
    z3 = z * z * z
    f, g = xp.ones_like(z), xp.ones_like(z)
    for k in range(60, 0, -1):
        f = 1.0 + f * z3 / ((3 * k - 1) * (3 * k))
        g = 1.0 + g * z3 / ((3 * k) * (3 * k + 1))
    return _AI0 * f - _AI1 * z * g


def _airy_oscillating(xp, a):
    """``Ai(-a)`` for ``a > 7`` by its asymptotic expansion (DLMF 9.7.9), ten terms of each sum."""
    zeta = (2.0 / 3.0) * a * xp.sqrt(a)
    u = [1.0]
    for k in range(1, 2 * _AIRY_TERMS + 1):
        u.append(u[-1] * (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / ((2 * k - 1) * 216 * k))
    inv = 1.0 / zeta
    p, q = xp.zeros_like(a), xp.zeros_like(a)
    for k in range(_AIRY_TERMS - 1, -1, -1):
        p = p * inv * inv + (-1.0) ** k * u[2 * k]
        q = q * inv * inv + (-1.0) ** k * u[2 * k + 1]
    angle = zeta - 0.25 * math.pi
    return (xp.cos(angle) * p + xp.sin(angle) * q * inv) / (_SQRT_PI * xp.sqrt(xp.sqrt(a)))


@float64_kernel
def airy_ai(xp, x):
    """Airy function ``Ai``: ``sqrt(x/3) K_1/3(zeta) / pi`` (``zeta = 2/3 x^1.5``, the K integral) from 1 on, the
    Maclaurin series on [-7, 1), the asymptotic expansion below -7. Relative error ~1e-14 for x >= 1; absolute
    ~1e-13 on [-6, 1), up to 3e-11 around -7, and 1e-16 times |x|^1.5 further out (the phase's rounding)."""
    positive = x >= 1.0
    middle = (x >= _AIRY_SERIES_FROM) & ~positive
    t = _where(xp, positive, x, 1.0)
    zeta = (2.0 / 3.0) * t * xp.sqrt(t)
    decaying = xp.sqrt(t / 3.0) / math.pi * xp.exp(-zeta) * _k_scaled_integral(xp, zeta, 1.0 / 3.0)
    series = _airy_series(xp, _where(xp, middle, x, 0.0))
    oscillating = _airy_oscillating(xp, _where(xp, x < _AIRY_SERIES_FROM, -x, 8.0))
    out = _where(xp, positive, decaying, _where(xp, middle, series, oscillating))
    return _where(xp, xp.isinf(x) | xp.isnan(x), math.nan, out)  # nan at +-inf, as PyTorch


# ---- incomplete gamma -------------------------------------------------------------------------------------------

_GAMMAINC_MAX_TERMS = 2000


def _gammainc(xp, a, x, upper):
    """Regularized incomplete gamma ``P(a, x)`` (``upper``: ``Q = 1 - P``): the series where ``x < a + 1``,
    Legendre's continued fraction (modified Lentz) elsewhere, iterated until every element converges (checked
    on the host every 32 steps)."""
    a, x = xp.broadcast_arrays(a, x)
    use_series = x < a + 1.0
    sa = _where(xp, use_series & (a > 0), a, 1.0)
    sx = _where(xp, use_series & (x >= 0), x, 0.0)
    log_prefix = a * xp.log(x) - x - lgamma(xp, a)
    # series: P = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n))
    term = 1.0 / sa
    total = term
    # continued fraction: Q = x^a e^-x / Gamma(a) / (x + 1 - a - 1 (1 - a) / (x + 3 - a - ...))
    ca = _where(xp, ~use_series & (a > 0), a, 1.0)
    cx = _where(xp, ~use_series & (x > 0), x, 1.0)
    tiny = 1e-300
    b = cx + 1.0 - ca
    c = xp.full_like(b, 1.0 / tiny)
    d = 1.0 / b
    h = d
    for n in range(1, _GAMMAINC_MAX_TERMS):
        term = term * sx / (sa + n)
        total = total + term
        an = -n * (n - ca)
        b = b + 2.0
        d = an * d + b
        d = _where(xp, xp.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = _where(xp, xp.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        delta = d * c
        h = h * delta
        if n % 32 == 0 and not bool(xp.any((xp.abs(term) > total * _EPS) | (xp.abs(delta - 1.0) > _EPS))):
            break
    lower_series = xp.exp(log_prefix) * total
    upper_fraction = xp.exp(log_prefix) * h
    lower = _where(xp, use_series, lower_series, 1.0 - upper_fraction)
    upper_value = _where(xp, use_series, 1.0 - lower_series, upper_fraction)
    out = upper_value if upper else lower
    edge_zero, edge_one = (1.0, 0.0) if upper else (0.0, 1.0)
    out = _where(xp, x == 0, edge_zero, out)
    out = _where(xp, x == math.inf, edge_one, out)
    out = _where(xp, (a == math.inf) & (x < math.inf), edge_zero, out)
    out = _where(xp, (a == 0) & (x > 0), edge_one, out)
    out = _where(xp, (a == 0) & (x == 0), math.nan, out)
    return _where(xp, (a < 0) | (x < 0) | xp.isnan(a) | xp.isnan(x), math.nan, out)


def gammainc(xp, a, x, upper=False):
    """``P(a, x)`` (``upper``: ``Q(a, x)``) of two float arrays of one dtype (float32 in float64)."""
    with float_errors_quiet():
        if a.dtype == xp.float64:
            return _gammainc(xp, a, x, upper)
        return xp.astype(_gammainc(xp, xp.astype(a, xp.float64), xp.astype(x, xp.float64), upper), a.dtype)
