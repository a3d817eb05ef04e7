"""``lucid.special``: PyTorch's ``torch.special`` namespace.

The differentiable functions are lucid's own ops (``lucid.ops.mathops`` and the core families) under
torch.special's names, with PyTorch's derivatives. The Bessel functions of ``bessel_*``, ``airy_ai``,
``modified_bessel_*``, ``scaled_modified_bessel_*``, ``spherical_bessel_j0`` and the orthogonal
polynomials carry no gradient, as in PyTorch (their outputs do not require grad).
"""

from __future__ import annotations

import math

from ._backend.device import on_input_device
from ._tensor import Tensor
from .ops import _specfun as K
from .ops._out import add_out_argument as _add_out_argument
from .ops.elementwise import FUNCTIONS as _BASIC
from .ops.mathops import (
    _SPECIAL,
    _float_input,
    digamma,
    entr,
    erfc,
    erfinv,
    exp2,
    i0,
    igamma,
    igammac,
    lgamma,
    logit,
    mvlgamma,
    polygamma,
    sinc,
    xlog1py,
    xlogy,
    zeta,
)
from .ops.reduction import logsumexp
from .ops.softmaxes import log_softmax, softmax

erf, expm1, log1p, expit = _BASIC["erf"], _BASIC["expm1"], _BASIC["log1p"], _BASIC["sigmoid"]
erfcx, i0e, i1, i1e = _SPECIAL["erfcx"], _SPECIAL["i0e"], _SPECIAL["i1"], _SPECIAL["i1e"]
ndtr, ndtri, log_ndtr = _SPECIAL["ndtr"], _SPECIAL["ndtri"], _SPECIAL["log_ndtr"]
psi, gammaln, multigammaln, gammainc, gammaincc = digamma, lgamma, mvlgamma, igamma, igammac


def round(input: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001  (torch.special.round)
    """Round half to even; with ``decimals``, ``round(x * 10^d) / 10^d`` (as PyTorch)."""
    if decimals == 0:
        return input.round()
    scale = 10.0**decimals
    return (input * scale).round() / scale


def _no_grad(kernel, name, doc):
    """A special function without gradient (as PyTorch's): ``kernel(xp, array)`` on a float tensor."""
    @on_input_device
    def fn(input: Tensor) -> Tensor:
        x = _float_input(input, name)
        return Tensor._make(kernel(x.xp, x._data), x._device)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc + " No gradient, as in PyTorch."
    return fn


def _spherical_j0(xp, x):
    out = xp.where(x == 0, xp.ones_like(x), xp.sin(x) / xp.where(x == 0, xp.ones_like(x), x))
    return xp.where(xp.isinf(x), xp.zeros_like(x), out)


bessel_j0 = _no_grad(K.j0, "bessel_j0", "Bessel function of the first kind of order 0 (absolute error ~1e-16).")
bessel_j1 = _no_grad(K.j1, "bessel_j1", "Bessel function of the first kind of order 1 (absolute error ~1e-16).")
bessel_y0 = _no_grad(K.y0, "bessel_y0", "Bessel function of the second kind of order 0 (-inf at 0, nan below).")
bessel_y1 = _no_grad(K.y1, "bessel_y1", "Bessel function of the second kind of order 1 (-inf at 0, nan below).")
airy_ai = _no_grad(K.airy_ai, "airy_ai", "Airy function ``Ai`` (absolute error up to 3e-11 near -7).")
modified_bessel_i0 = _no_grad(K.i0, "modified_bessel_i0", "Modified Bessel function ``I_0``.")
modified_bessel_i1 = _no_grad(K.i1, "modified_bessel_i1", "Modified Bessel function ``I_1``.")
modified_bessel_k0 = _no_grad(K.k0, "modified_bessel_k0", "Modified Bessel function ``K_0`` (inf at 0, nan below).")
modified_bessel_k1 = _no_grad(K.k1, "modified_bessel_k1", "Modified Bessel function ``K_1`` (inf at 0, nan below).")
scaled_modified_bessel_k0 = _no_grad(K.k0e, "scaled_modified_bessel_k0", "``exp(x) K_0(x)``.")
scaled_modified_bessel_k1 = _no_grad(K.k1e, "scaled_modified_bessel_k1", "``exp(x) K_1(x)``.")
spherical_bessel_j0 = _no_grad(K.float64_kernel(_spherical_j0), "spherical_bessel_j0",
                               "``sin(x) / x`` (1 at 0, 0 at +-inf).")


# ---- orthogonal polynomials by their three-term recurrences: (p0(x), p1(x), p_{k+1} from k, x, p_k, p_{k-1}) --
def _shifted(x):
    return 2.0 * x - 1.0


_POLYNOMIALS = {
    "chebyshev_polynomial_t": (lambda x: 1.0 * x, lambda k, x, p, q: 2.0 * x * p - q, None),
    "chebyshev_polynomial_u": (lambda x: 2.0 * x, lambda k, x, p, q: 2.0 * x * p - q, None),
    "chebyshev_polynomial_v": (lambda x: 2.0 * x - 1.0, lambda k, x, p, q: 2.0 * x * p - q, None),
    "chebyshev_polynomial_w": (lambda x: 2.0 * x + 1.0, lambda k, x, p, q: 2.0 * x * p - q, None),
    "hermite_polynomial_h": (lambda x: 2.0 * x, lambda k, x, p, q: 2.0 * x * p - 2.0 * k * q, None),
    "hermite_polynomial_he": (lambda x: 1.0 * x, lambda k, x, p, q: x * p - k * q, None),
    "laguerre_polynomial_l": (lambda x: 1.0 - x, lambda k, x, p, q: ((2.0 * k + 1.0 - x) * p - k * q) / (k + 1.0),
                              None),
    "legendre_polynomial_p": (lambda x: 1.0 * x, lambda k, x, p, q: ((2.0 * k + 1.0) * x * p - k * q) / (k + 1.0),
                              None),
}
for _kind in "tuvw":
    _row = _POLYNOMIALS[f"chebyshev_polynomial_{_kind}"]
    _POLYNOMIALS[f"shifted_chebyshev_polynomial_{_kind}"] = (_row[0], _row[1], _shifted)


def _polynomial(name, first, step, transform):
    @on_input_device
    def fn(input, n) -> Tensor:
        if not isinstance(input, Tensor):
            input = Tensor(input, device=n._device) if isinstance(n, Tensor) else Tensor(input)
        x = _float_input(input, name)
        xp, dev = x.xp, x._device
        if isinstance(n, Tensor):
            if n._device is not dev:
                raise RuntimeError(f"{name}: x is on {dev} and n on {n._device}")
            degree = xp.astype(n._data, x._data.dtype)
        else:
            degree = xp.asarray(float(n), dtype=x._data.dtype, device=dev.native)
        with K.float_errors_quiet():
            z = x._data if transform is None else transform(x._data)
            z, degree = xp.broadcast_arrays(z, degree)
            degree = xp.trunc(degree)  # a fractional degree counts as its integer part (toward 0), as PyTorch
            high = int(xp.max(degree)) if math.prod(degree.shape) else 0
            before, current = xp.ones_like(z), first(z)
            out = xp.where(degree == 0, before, current)
            for k in range(1, high):
                before, current = current, step(float(k), z, current, before)
                out = xp.where(degree == k + 1, current, out)
            out = xp.where(degree < 0, xp.zeros_like(out), out)
        return Tensor._make(out, dev)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"``{name.replace('_', ' ')}`` of degree ``n`` (a number or a tensor; 0 below degree 0) by "
                  f"its three-term recurrence (no gradient, as PyTorch).")
    return fn


globals().update({name: _polynomial(name, *row) for name, row in _POLYNOMIALS.items()})

__all__ = [
    "erf", "erfc", "erfcx", "erfinv", "expit", "logit", "xlogy", "xlog1py", "gammaln", "digamma", "psi", "polygamma",
    "multigammaln", "i0", "i0e", "i1", "i1e", "log_ndtr", "ndtr", "ndtri", "sinc", "entr", "log1p", "expm1", "exp2",
    "round", "softmax", "log_softmax", "logsumexp", "zeta", "gammainc", "gammaincc", "bessel_j0", "bessel_j1",
    "bessel_y0", "bessel_y1", "airy_ai",
    "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
    "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0", *_POLYNOMIALS,
]

_add_out_argument(globals())  # torch's out= where torch takes it
