"""Gradcheck cases of the further elementwise math (``lucid.ops.mathops``) and of ``lucid.special``."""

from __future__ import annotations

import operator

from gradcheck_specs import AWAY, CONST, DISTINCT, PROB, N, P, U, _float, add, on_clone

import lucid
import lucid.special as S

ATANH = U
ACOSH = lambda *shape: P(*shape, lo=1.2, hi=3.0)  # noqa: E731
UNIT = lambda *shape: U(*shape, lo=0.1, hi=0.9)  # noqa: E731  (inside (0, 1): logit, ndtri)

# unary: lucid.f, Tensor.f, Tensor.f_ and PyTorch's top-level lucid.f_
UNARY = {
    "asinh": N, "acosh": ACOSH, "atanh": ATANH, "erfc": N, "erfinv": U, "exp2": N, "lgamma": P, "digamma": P,
    "i0": N, "sinc": N, "arcsinh": N, "arccosh": ACOSH, "arctanh": ATANH, "absolute": AWAY, "fix": AWAY,
    "frac": AWAY, "deg2rad": N, "rad2deg": N, "logit": UNIT, "nan_to_num": N,
}
for _n, _dom in UNARY.items():
    add(f"lucid.{_n}", getattr(lucid, _n), _dom(2, 3))
    add(f"Tensor.{_n}", operator.methodcaller(_n), _dom(3))
    add(f"Tensor.{_n}_", on_clone(f"{_n}_"), _dom(3))
for _n in ("negative", "arccos", "arcsin", "arctan"):
    add(f"lucid.{_n}", getattr(lucid, _n), U(3))
    add(f"Tensor.{_n}_", on_clone(f"{_n}_"), U(3))
add("lucid.logit", lambda x: lucid.logit(x, eps=0.2), DISTINCT(6, gap=0.13), variant="eps")
add("lucid.frexp", lambda x: lucid.frexp(x).mantissa, AWAY(2, 3))  # the mantissa; the exponent is an integer
add("Tensor.frexp", lambda x: x.frexp()[0], AWAY(3))

# PyTorch's top-level in-place functions: lucid.f_(x, ...) on a clone
_TOP_DOMAIN = {"acos": U, "arccos": U, "asin": U, "arcsin": U, "acosh": ACOSH, "arccosh": ACOSH, "atanh": ATANH,
               "arctanh": ATANH, "log": P, "log10": P, "log1p": P, "log2": P, "sqrt": P, "rsqrt": P, "reciprocal": P,
               "lgamma": P, "logit": UNIT, "abs": AWAY, "absolute": AWAY, "ceil": AWAY, "floor": AWAY, "round": AWAY,
               "trunc": AWAY, "fix": AWAY, "frac": AWAY, "erfinv": U, "tan": U}
_TOP_ARGS = {"clamp": (-0.5, 0.5), "clip": (-0.5, 0.5), "clamp_min": (0.1,), "clamp_max": (0.1,), "ldexp": (2.0,),
             "xlogy": (1.5,), "fill": (2.0,)}
for _n in lucid.ops.mathops.TOP_INPLACE:
    if _n in ("gcd", "lcm"):
        continue
    _args = _TOP_ARGS.get(_n, ())
    _spec = DISTINCT(3, 2, gap=0.23) if _n.startswith(("clamp", "clip")) else _TOP_DOMAIN.get(_n, N)(2, 3)
    if _n in ("fill", "zero"):
        add(f"lucid.{_n}_", lambda x, n=_n, a=_args: getattr(lucid, f"{n}_")(x.clone(), *a) + x, _spec)
    else:
        add(f"lucid.{_n}_", lambda x, n=_n, a=_args: getattr(lucid, f"{n}_")(x.clone(), *a), _spec)

# special functions only in lucid.special (and their aliases of lucid's ops)
_SPECIAL_UNARY = {
    "erf": N, "erfc": N, "erfcx": N, "erfinv": U, "expit": N, "gammaln": P, "digamma": P, "psi": P, "i0": N,
    "i0e": N, "i1": N, "i1e": N, "ndtr": N, "ndtri": UNIT, "log_ndtr": N, "sinc": N, "entr": P, "log1p": P,
    "expm1": N, "exp2": N, "round": AWAY, "logit": UNIT,
}
for _n, _dom in _SPECIAL_UNARY.items():
    add(f"special.{_n}", getattr(S, _n), _dom(2, 3))
add("special.i0e", S.i0e, _float(lambda r: [-3.0, -0.5, 0.0, 0.7, 40.0]), variant="zero_and_far")
add("special.i1", S.i1, _float(lambda r: [-2.0, 0.0, 1.3]), variant="zero")
add("special.i1e", S.i1e, _float(lambda r: [-2.0, 0.0, 1.3, 35.0]), variant="zero_and_far")
add("special.log_ndtr", S.log_ndtr, _float(lambda r: [-12.0, -3.0, 0.5, 4.0]), variant="tails")
add("special.erfcx", S.erfcx, _float(lambda r: [-1.0, 0.3, 2.5, 30.0]), variant="tails")
add("special.ndtri", S.ndtri, _float(lambda r: [1e-4, 0.02, 0.97]), variant="tails")
add("special.sinc", S.sinc, _float(lambda r: [0.0, 0.4, -1.7]), variant="zero")
add("lucid.sinc", lucid.sinc, _float(lambda r: [0.0, 1e-9]), variant="zero")
add("special.round", lambda x: S.round(x, decimals=1), AWAY(4), variant="decimals")
add("special.logit", lambda x: S.logit(x, eps=0.2), DISTINCT(6, gap=0.13), variant="eps")
add("special.entr", S.entr, _float(lambda r: [0.3, 1.5, 2.0]), variant="positive")
for _n in ("softmax", "log_softmax"):
    add(f"special.{_n}", lambda x, f=_n: getattr(S, f)(x, 1), N(2, 3))
add("special.logsumexp", lambda x: S.logsumexp(x, 1), N(2, 3))

# polygamma, mvlgamma
for _order in (0, 1, 2, 3):
    add("lucid.polygamma", lambda x, n=_order: lucid.polygamma(n, x), P(2, 3), variant=str(_order))
add("lucid.polygamma", lambda x: lucid.polygamma(1, x), _float(lambda r: [-1.5, -0.3, 12.0]), variant="negative")
add("Tensor.polygamma", lambda x: x.polygamma(2), P(3))
add("Tensor.polygamma_", on_clone("polygamma_", 1), P(3))
add("special.polygamma", lambda x: S.polygamma(2, x), P(3))
add("lucid.digamma", lucid.digamma, _float(lambda r: [-2.5, -0.2, 0.01, 30.0]), variant="negative")
add("lucid.lgamma", lucid.lgamma, _float(lambda r: [-2.5, -0.2, 0.01, 30.0]), variant="negative")
for _name, _fn in (("lucid.mvlgamma", lambda x: lucid.mvlgamma(x, 3)), ("Tensor.mvlgamma", lambda x: x.mvlgamma(p=3)),
                   ("Tensor.mvlgamma_", on_clone("mvlgamma_", p=3)), ("special.multigammaln",
                                                                       lambda x: S.multigammaln(x, 3))):
    add(_name, _fn, P(2, 3, lo=1.5, hi=4.0))

# binary: lucid.f, Tensor.f, Tensor.f_
BINARY = {
    "xlogy": (N, P), "hypot": (N, N), "copysign": (AWAY, N), "logaddexp": (N, N), "logaddexp2": (N, N),
    "fmod": (N, lambda *s: P(*s, lo=0.7, hi=1.3)), "fmax": (DISTINCT, N), "fmin": (DISTINCT, N),
    "float_power": (P, N), "ldexp": (N, lambda *s: CONST(AWAY(*s))), "igamma": (lambda *s: CONST(P(*s)), P),
    "igammac": (lambda *s: CONST(P(*s)), P),
}
for _n, (_da, _db) in BINARY.items():
    add(f"lucid.{_n}", getattr(lucid, _n), _da(2, 3), _db(3))
    add(f"Tensor.{_n}", lambda a, b, f=_n: getattr(a, f)(b), _da(3), _db(3))
    if _n not in ("fmax", "fmin", "logaddexp", "logaddexp2"):
        add(f"Tensor.{_n}_", lambda a, b, f=_n: getattr(a.clone(), f + "_")(b), _da(2, 3), _db(3))
add("lucid.fmax", lucid.fmax, _float(lambda r: [1.0, float("nan"), 2.0]), _float(lambda r: [0.5, 3.0, 4.0]),
    variant="nan")
add("lucid.xlogy", lambda x: lucid.xlogy(x, 2.5), N(3), variant="scalar")
add("lucid.xlogy", lambda y: lucid.xlogy(_zero_first(y), y), P(3), variant="zero_x")
add("lucid.xlogy_", lambda a, b: lucid.xlogy_(a.clone(), b), N(3), P(3), variant="tensor")
add("special.xlogy", S.xlogy, N(2, 3), P(3))
add("special.xlog1py", S.xlog1py, N(2, 3), P(3))
add("special.zeta", lambda q: S.zeta(3.0, q), P(2, 3))
add("special.gammainc", S.gammainc, CONST(P(3)), P(2, 3))
add("special.gammaincc", S.gammaincc, CONST(P(3)), P(2, 3))
add("lucid.igamma", lucid.igamma, CONST(P(4, lo=2.0, hi=5.0)), P(4, lo=6.0, hi=9.0), variant="fraction")
add("lucid.arctan2", lucid.arctan2, N(2, 3), N(3))
add("Tensor.arctan2_", lambda a, b: a.clone().arctan2_(b), N(2, 3), N(3))
add("lucid.rsub", lucid.rsub, N(2, 3), N(3))
add("lucid.rsub", lambda a, b: lucid.rsub(a, b, alpha=2.0), N(2, 3), N(3), variant="alpha")
add("lucid.add", lambda a, b: lucid.add(a, b, alpha=-1.5), N(2, 3), N(3), variant="alpha")
add("lucid.sub", lambda a, b: lucid.sub(a, b, alpha=0.5), N(2, 3), N(3), variant="alpha")
add("Tensor.add_", lambda a, b: a.clone().add_(b, alpha=2.0), N(2, 3), N(3), variant="alpha")
for _n in ("multiply", "divide", "true_divide", "subtract"):
    add(f"Tensor.{_n}_", lambda a, b, f=_n: getattr(a.clone(), f + "_")(b), N(2, 3), P(3))

# three operands
add("lucid.lerp", lucid.lerp, N(2, 3), N(3), PROB(2, 3))
add("lucid.lerp", lambda a, b: lucid.lerp(a, b, 0.7), N(2, 3), N(3), variant="scalar")
add("Tensor.lerp", lambda a, b, w: a.lerp(b, w), N(3), N(3), U(3))
add("Tensor.lerp_", lambda a, b: a.clone().lerp_(b, 0.3), N(3), N(3))
for _n in ("addcmul", "addcdiv"):
    add(f"lucid.{_n}", lambda a, b, c, f=_n: getattr(lucid, f)(a, b, c, value=0.5), N(2, 3), N(3), P(2, 3))
    add(f"Tensor.{_n}", lambda a, b, c, f=_n: getattr(a, f)(b, c), N(3), N(3), P(3))
    add(f"Tensor.{_n}_", lambda a, b, c, f=_n: getattr(a.clone(), f + "_")(b, c, value=2.0), N(3), N(3), P(3))

# clamp_min / clamp_max
for _n, _bound in (("clamp_min", 0.1), ("clamp_max", -0.1)):
    add(f"lucid.{_n}", lambda x, f=_n, b=_bound: getattr(lucid, f)(x, b), DISTINCT(3, 2, gap=0.23))
    add(f"Tensor.{_n}", lambda x, f=_n, b=_bound: getattr(x, f)(b), DISTINCT(6, gap=0.23))
    add(f"Tensor.{_n}_", lambda x, f=_n, b=_bound: getattr(x.clone(), f + "_")(b), DISTINCT(6, gap=0.23))
add("lucid.nan_to_num", lambda x: lucid.nan_to_num(_with_non_finite(x), nan=1.0, posinf=2.0, neginf=-3.0), N(4),
    variant="values")


def _zero_first(y):
    """``[0, 1, 1, ...]`` like ``y``: x = 0 at the first place (xlogy's gradient in y is 0 there)."""
    out = lucid.ones_like(y).detach()
    out[0] = 0.0
    return out


def _with_non_finite(x):
    """``x`` with inf, nan and -inf in its last three places (constants: nan_to_num must not pass a gradient)."""
    fill = lucid.tensor([0.0, float("inf"), float("nan"), -float("inf")], dtype=x.dtype, device=x.device)
    keep = lucid.tensor([True, False, False, False], device=x.device)
    return lucid.where(keep, x, fill)


NOT_DIFFERENTIABLE = {
    # bool results (predicates, comparisons), integer ops, and functions without a derivative in PyTorch
    *(f"{ns}.{n}" for ns in ("lucid", "Tensor") for n in (
        "isnan", "isinf", "isfinite", "isposinf", "isneginf", "isreal", "signbit", "gcd", "lcm", "bitwise_left_shift",
        "bitwise_right_shift", "nextafter", "heaviside", "isclose", "allclose", "equal", "greater",
        "greater_equal", "less", "less_equal", "not_equal")),
    *(f"Tensor.{n}_" for n in (
        "gcd", "lcm", "bitwise_left_shift", "bitwise_right_shift", "nextafter", "heaviside", "greater", "greater_equal",
        "less", "less_equal", "not_equal", "lt", "le", "gt", "ge", "ne", "eq", "floor_divide", "bitwise_and",
        "bitwise_or", "bitwise_xor", "bitwise_not", "logical_and", "logical_or", "logical_xor", "logical_not")),
    "lucid.gcd_", "lucid.lcm_",
    *(f"Tensor.__{n}__" for n in ("lshift", "rlshift", "ilshift", "rshift", "rrshift", "irshift")),  # integer shifts
    # lucid.special's Bessel functions and orthogonal polynomials: no gradient, as in PyTorch
    *(f"special.{n}" for n in S.__all__ if n.startswith(("bessel", "modified_bessel", "scaled_modified_bessel",
                                                         "spherical_bessel", "airy")) or "polynomial" in n),
}
