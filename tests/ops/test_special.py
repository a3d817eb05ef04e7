"""lucid.special against torch.special: values over wide ranges and edge values (0, +-inf, nan, poles) in
float32 and float64, integer inputs, gradients, and the functions PyTorch gives no gradient."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
import lucid.special as S

torch = pytest.importorskip("torch")

INF, NAN = math.inf, math.nan
EDGES = [0.0, -0.0, 1.0, -1.0, 2.0, 0.5, -0.5, 1e-30, -1e-30, INF, -INF, NAN]


def _wide(lo, hi, n=401):
    return list(np.linspace(lo, hi, n))


def _logs(lo, hi, n=121, sign=1.0):
    return list(sign * np.geomspace(lo, hi, n))


# name: (inputs, float64 rtol, float64 atol); float32 gets rtol 2e-6 and atol 1e-6 (times the value scale)
UNARY = {
    "erf": (_wide(-7, 7) + EDGES, 1e-14, 0),
    "erfc": (_wide(-7, 27) + _logs(1e-10, 1e3) + EDGES, 1e-13, 0),
    "erfcx": (_wide(-26, 30) + _logs(1, 1e300) + EDGES, 1e-13, 0),
    "erfinv": (_wide(-1, 1) + [1 - 2**-52, -1 + 2**-53, 1 - 1e-12, 1.5, -1.5] + EDGES, 1e-13, 0),
    "expit": (_wide(-40, 40) + EDGES, 1e-15, 0),
    "gammaln": (_wide(-20.25, 40) + _logs(1e-300, 1e300) + EDGES, 1e-13, 1e-14),
    "digamma": (_wide(-20.25, 40) + _logs(1e-300, 1e300) + EDGES, 1e-12, 1e-13),
    "psi": (_wide(-5.25, 5) + EDGES, 1e-12, 1e-13),
    "i0": (_wide(-100, 100) + EDGES + [700.0, -710.0, 800.0], 1e-14, 0),
    "i0e": (_wide(-100, 100) + _logs(100, 1e300) + EDGES, 1e-14, 0),
    "i1": (_wide(-100, 100) + EDGES + [700.0, -710.0], 1e-14, 0),
    "i1e": (_wide(-100, 100) + _logs(100, 1e300) + EDGES, 1e-14, 0),
    # PyTorch's ndtr is (1 + erf(x / sqrt 2)) / 2: absolute error 1e-16, 0 below -8.4; ours keeps the lower
    # tail's relative precision (checked against mpmath below)
    "ndtr": (_wide(-38, 9) + EDGES, 1e-12, 1e-16),
    "ndtri": (_wide(0, 1) + _logs(1e-300, 0.5) + [1 - 1e-12, 1.5, -0.5] + EDGES, 1e-13, 0),
    "log_ndtr": (_wide(-100, 40) + EDGES, 1e-12, 0),
    "sinc": (_wide(-10, 10) + [1e-9, -1e-20, 0.999999] + EDGES, 1e-14, 1e-15),
    "entr": (_wide(-1, 10) + EDGES, 1e-14, 0),
    "log1p": (_wide(-0.99, 10) + EDGES, 1e-15, 0),
    "expm1": (_wide(-10, 10) + EDGES, 1e-15, 0),
    "exp2": (_wide(-100, 100) + EDGES, 1e-15, 0),
    # PyTorch's J0 and J1 err by up to 3e-7 (absolute) for 5 < |x| < 25 and large |x|: mpmath checks ours below
    "bessel_j0": (_wide(-80, 80) + _logs(1e-10, 1e6) + EDGES, 1e-13, 5e-7),
    "bessel_j1": (_wide(-80, 80) + _logs(1e-10, 1e6) + EDGES, 1e-13, 5e-7),
    "bessel_y0": (_wide(0, 80) + _logs(1e-300, 1e6) + EDGES + [-1.0], 1e-13, 1e-6),  # PyTorch's: 2e-7 abs
    "bessel_y1": (_wide(0, 80) + _logs(1e-300, 1e6) + EDGES + [-1.0], 1e-13, 1e-6),  # PyTorch's: 9e-7 abs
    "airy_ai": (_wide(-60, 100) + EDGES, 1e-7, 3e-6),  # PyTorch's: 3e-6 absolute, 2e-8 relative (mpmath below)
    "modified_bessel_i0": (_wide(-100, 100) + EDGES, 1e-14, 0),
    "modified_bessel_i1": (_wide(-100, 100) + EDGES, 1e-14, 0),
    "modified_bessel_k0": (_wide(-1, 100) + _logs(1e-300, 700) + EDGES, 1e-14, 0),
    "modified_bessel_k1": (_wide(-1, 100) + _logs(1e-300, 700) + EDGES, 1e-14, 0),
    "scaled_modified_bessel_k0": (_wide(-1, 100) + _logs(1e-300, 1e300) + EDGES, 1e-14, 0),
    "scaled_modified_bessel_k1": (_wide(-1, 100) + _logs(1e-300, 1e300) + EDGES, 1e-14, 0),
    "spherical_bessel_j0": (_wide(-50, 50) + [1e-9, 1e-20] + EDGES, 1e-14, 1e-16),
}


def _ours(name, values, dtype, device, *args, **kwargs):
    x = lucid.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, device=device)
    return getattr(S, name)(x, *args, **kwargs)


def _theirs(name, values, dtype, *args, **kwargs):
    x = torch.tensor(np.asarray(values, dtype=np.float64), dtype=dtype)
    return getattr(torch.special, name)(x, *args, **kwargs)


def _close(ours, theirs, rtol, atol):
    np.testing.assert_allclose(ours.numpy(force=True), theirs.numpy(), rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float64_matches_torch(name, device):
    values, rtol, atol = UNARY[name]
    out = _ours(name, values, lucid.float64, device)
    assert out.dtype == lucid.float64
    _close(out, _theirs(name, values, torch.float64), rtol, atol)


# PyTorch's float32 arithmetic loses more than ours (computed in float64, rounded once) in these tails
FLOAT32_TOLERANCE = {"log_ndtr": (1e-5, 3e-45), "ndtr": (2e-6, 3e-8)}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float32_matches_torch(name, device):
    values, _, atol = UNARY[name]
    rtol, atol = FLOAT32_TOLERANCE.get(name, (3e-6, max(atol * 1e8, 1e-30)))
    values = [v for v in values if not (0 < abs(v) < 1e-30 or abs(v) > 1e30)]  # inside float32's range
    # where the float32 result nears overflow, PyTorch's float32 arithmetic overflows sooner than ours
    values = [v for v in values if not abs(_theirs(name, [v], torch.float64).item()) > 1e37]
    out = _ours(name, values, lucid.float32, device)
    assert out.dtype == lucid.float32
    _close(out, _theirs(name, values, torch.float32), rtol, atol)


@pytest.mark.parametrize("name", ["erf", "gammaln", "i0", "ndtr", "sinc", "expit", "bessel_j0", "modified_bessel_k0",
                                  "entr", "exp2"])
def test_integer_input_computes_in_the_default_float_dtype(name, device):
    x = lucid.tensor([0, 1, 2, 5], device=device)
    out = getattr(S, name)(x)
    ref = getattr(torch.special, name)(torch.tensor([0, 1, 2, 5]))
    assert out.dtype == lucid.float32 and ref.dtype == torch.float32
    _close(out, ref, 2e-6, 1e-7)


DIFFERENTIABLE = {
    "erf": _wide(-3, 3, 9), "erfc": _wide(-3, 3, 9), "erfcx": _wide(-3, 30, 9), "erfinv": _wide(-0.99, 0.99, 9),
    "expit": _wide(-5, 5, 9), "gammaln": _wide(0.1, 20, 9) + [-2.5, -0.3], "digamma": _wide(0.1, 20, 9) + [-2.5],
    "i0": _wide(-40, 40, 9), "i0e": _wide(-40, 40, 9), "i1": _wide(-40, 40, 9), "i1e": _wide(-40, 40, 9),
    "ndtr": _wide(-10, 10, 9), "ndtri": _wide(0.01, 0.99, 9), "log_ndtr": _wide(-30, 10, 9),
    "sinc": _wide(-3, 3, 9), "entr": _wide(0.1, 3, 9), "log1p": _wide(-0.5, 3, 9), "expm1": _wide(-3, 3, 9),
    "exp2": _wide(-3, 3, 9), "logit": _wide(0.05, 0.95, 9),
}


def _both_grads(fn_ours, fn_theirs, values):
    x = lucid.tensor(np.asarray(values), dtype=lucid.float64, requires_grad=True)
    fn_ours(x).sum().backward()
    t = torch.tensor(np.asarray(values), dtype=torch.float64, requires_grad=True)
    fn_theirs(t).sum().backward()
    return x.grad.numpy(), t.grad.numpy()


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_gradient_matches_torch(name):
    ours, theirs = _both_grads(getattr(S, name), getattr(torch.special, name), DIFFERENTIABLE[name])
    # PyTorch's trigamma (digamma's derivative) errs by up to 4e-10 relative; ours by 1e-15 (mpmath test below)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9 if name == "digamma" else 1e-10, atol=1e-12)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 6])
def test_polygamma_values_and_gradient(n, device):
    values = _wide(0.05, 30, 61) + [-0.5, -1.5, -2.3, INF, NAN]
    _close(S.polygamma(n, lucid.tensor(values, dtype=lucid.float64, device=device)),
           torch.special.polygamma(n, torch.tensor(values, dtype=torch.float64)), 1e-9, 1e-13)  # PyTorch: 5e-10
    ours, theirs = _both_grads(lambda x: S.polygamma(n, x), lambda t: torch.special.polygamma(n, t), [0.3, 2.0, 7.5])
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)  # PyTorch's trigamma: 4e-10


def test_polygamma_rejects_a_negative_order():
    with pytest.raises(ValueError, match="non-negative"):
        S.polygamma(-1, lucid.tensor([1.0]))


def test_multigammaln_matches_torch_and_checks_its_domain(device):
    x = [1.6, 2.5, 10.0]
    _close(S.multigammaln(lucid.tensor(x, dtype=lucid.float64, device=device), 3),
           torch.special.multigammaln(torch.tensor(x, dtype=torch.float64), 3), 1e-13, 1e-13)
    with pytest.raises(RuntimeError, match="greater than"):
        S.multigammaln(lucid.tensor([0.9, 2.0], device=device), 3)


def test_zeta_matches_torch(device, rng):
    s = np.concatenate([rng.uniform(1, 12, 200), np.round(rng.uniform(1, 12, 200)), [1.0, 0.5, 2.0, 2.0, 2.5, INF]])
    q = np.concatenate([rng.uniform(-8, 30, 400), [1.0, 1.0, -1.0, -1.5, -1.5, 2.0]])
    ours = S.zeta(lucid.tensor(s, device=device, dtype=lucid.float64), lucid.tensor(q, device=device,
                                                                                      dtype=lucid.float64))
    _close(ours, torch.special.zeta(torch.tensor(s), torch.tensor(q)), 1e-12, 1e-300)
    # a number on either side
    _close(S.zeta(2.0, lucid.tensor([1.0, 3.0], device=device)), torch.special.zeta(2.0, torch.tensor([1.0, 3.0])),
           1e-6, 0)


def test_zeta_gradient_in_q_and_none_in_s():
    ours, theirs = _both_grads(lambda q: S.zeta(3.5, q), lambda q: torch.special.zeta(3.5, q), [0.5, 2.0, 9.0])
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    s = lucid.tensor([3.0], dtype=lucid.float64, requires_grad=True)
    with pytest.raises(NotImplementedError, match="first argument"):
        S.zeta(s, lucid.tensor([2.0], dtype=lucid.float64)).sum().backward()


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_incomplete_gamma_matches_torch(name, device, rng):
    a = np.concatenate([rng.uniform(0, 60, 400), rng.uniform(0, 2, 100), [0.0, 1.0, -1.0, 0.0, 1.0, NAN, 2.0]])
    x = np.concatenate([rng.uniform(0, 90, 400), rng.uniform(0, 3, 100), [1.0, 0.0, 1.0, 0.0, INF, 1.0, -1.0]])
    # PyTorch's float64 errs by up to 2e-9 relative here; ours by 1e-14 (mpmath test below)
    for dtype, tdtype, rtol in ((lucid.float64, torch.float64, 1e-8), (lucid.float32, torch.float32, 1e-4)):
        ours = getattr(S, name)(lucid.tensor(a, dtype=dtype, device=device), lucid.tensor(x, dtype=dtype,
                                                                                            device=device))
        _close(ours, getattr(torch.special, name)(torch.tensor(a, dtype=tdtype), torch.tensor(x, dtype=tdtype)),
               rtol, 1e-30)
    ours, theirs = _both_grads(lambda t: getattr(S, name)(lucid.tensor([2.5, 0.7, 9.0], dtype=lucid.float64), t),
                               lambda t: getattr(torch.special, name)(torch.tensor([2.5, 0.7, 9.0],
                                                                                   dtype=torch.float64), t),
                               [1.5, 0.2, 12.0])
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_incomplete_gamma_refuses_a_gradient_in_a():
    a = lucid.tensor([2.0], dtype=lucid.float64, requires_grad=True)
    with pytest.raises(NotImplementedError, match="first argument"):
        S.gammainc(a, lucid.tensor([1.0], dtype=lucid.float64)).backward()


@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
def test_xlogy_family_matches_torch(name, device):
    x = [0.0, 0.0, 0.0, 1.5, -2.0, 3.0, NAN, 0.0, 2.0]
    y = [0.0, NAN, -1.0, 2.0, 0.5, INF, 1.0, INF, -0.5]
    _close(getattr(S, name)(lucid.tensor(x, dtype=lucid.float64, device=device),
                            lucid.tensor(y, dtype=lucid.float64, device=device)),
           getattr(torch.special, name)(torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)),
           1e-15, 0)
    _close(getattr(S, name)(2.0, lucid.tensor([1.5, 3.0], device=device)),
           getattr(torch.special, name)(2.0, torch.tensor([1.5, 3.0])), 1e-6, 0)
    xv, yv = [0.0, 0.0, 0.0, 0.0, 1.5, -2.0], [0.0, 0.3, -1.0, -0.5, 2.0, 0.5]
    for which in (0, 1):
        a = lucid.tensor(xv, dtype=lucid.float64, requires_grad=True)
        b = lucid.tensor(yv, dtype=lucid.float64, requires_grad=True)
        getattr(S, name)(a, b).sum().backward()
        ta = torch.tensor(xv, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(yv, dtype=torch.float64, requires_grad=True)
        getattr(torch.special, name)(ta, tb).sum().backward()
        np.testing.assert_allclose((a, b)[which].grad.numpy(), (ta, tb)[which].grad.numpy(), rtol=1e-12,
                                   equal_nan=True)


POLYNOMIALS = [n for n in S.__all__ if "polynomial" in n]


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_match_torch(name, device):
    x = _wide(-1.5, 1.5, 61) + [0.0, 1.0, -1.0, 2.0]  # (PyTorch's result at nan depends on the previous element)
    for n in (-1, 0, 1, 2, 3, 5, 6):
        _close(_ours(name, x, lucid.float64, device, n), _theirs(name, x, torch.float64, n), 1e-11, 1e-11)
    degrees = [0.0, 1.0, 2.0, 3.0, 4.0, 2.5, -1.0, -0.5, -1.5]  # a degree in (-1, 0) truncates to 0, as PyTorch
    xs = [0.3, -0.7, 1.2, 0.9, -1.1, 0.5, 0.2, 0.4, 0.6]
    ours = getattr(S, name)(lucid.tensor(xs, dtype=lucid.float64, device=device),
                            lucid.tensor(degrees, dtype=lucid.float64, device=device))
    _close(ours, getattr(torch.special, name)(torch.tensor(xs, dtype=torch.float64),
                                              torch.tensor(degrees, dtype=torch.float64)), 1e-12, 1e-12)
    assert getattr(S, name)(lucid.tensor([1, 2], device=device), 3).dtype == lucid.float32


@pytest.mark.parametrize("name", [n for n in S.__all__ if "bessel" in n or "polynomial" in n or n == "airy_ai"])
def test_functions_without_gradient_in_torch_give_none(name):
    x = lucid.tensor([0.3, 0.8], dtype=lucid.float64, requires_grad=True)
    args = (2,) if "polynomial" in name else ()
    assert not getattr(S, name)(x, *args).requires_grad


def test_round_with_decimals_and_logit_eps(device):
    x = [1.2345, -2.5, 0.125, 3.5]
    _close(S.round(lucid.tensor(x, dtype=lucid.float64, device=device), decimals=2),
           torch.special.round(torch.tensor(x, dtype=torch.float64), decimals=2), 1e-15, 0)
    _close(S.round(lucid.tensor(x, dtype=lucid.float64, device=device)),
           torch.special.round(torch.tensor(x, dtype=torch.float64)), 0, 0)
    p = [0.0, 1.0, 0.3, 1e-9]
    _close(S.logit(lucid.tensor(p, dtype=lucid.float64, device=device), eps=1e-6),
           torch.special.logit(torch.tensor(p, dtype=torch.float64), eps=1e-6), 1e-14, 0)
    _close(S.logit(lucid.tensor(p, dtype=lucid.float64, device=device)),
           torch.special.logit(torch.tensor(p, dtype=torch.float64)), 1e-14, 0)


def test_softmax_family_is_torch_compatible(device, rng):
    x = rng.standard_normal((3, 4))
    for name in ("softmax", "log_softmax"):
        _close(getattr(S, name)(lucid.tensor(x, device=device), 1), getattr(torch.special, name)(torch.tensor(x), 1),
               1e-12, 1e-14)
    _close(S.logsumexp(lucid.tensor(x, device=device), 1), torch.special.logsumexp(torch.tensor(x), 1), 1e-12, 0)


def test_namespace_lists_every_function():
    assert lucid.special is S
    for name in S.__all__:
        assert callable(getattr(S, name)), name
    functions = {n for n in dir(torch.special) if not n.startswith("_") and callable(getattr(torch.special, n))
                 and not isinstance(getattr(torch.special, n), type)}
    assert functions <= set(S.__all__)


MPMATH = {  # lucid.special name: (mpmath function of one mpf, inputs)
    "bessel_j0": (lambda m, v: m.besselj(0, v), [-17.6, 5.0, 12.0, 24.9, 60.0, 1e4]),
    "bessel_j1": (lambda m, v: m.besselj(1, v), [-17.6, 5.0, 12.0, 24.9, 60.0, 1e4]),
    "bessel_y0": (lambda m, v: m.bessely(0, v), [1e-5, 0.9, 3.9, 4.1, 4.986, 12.0, 24.9, 25.1, 60.0]),
    "bessel_y1": (lambda m, v: m.bessely(1, v), [1e-5, 0.9, 3.9, 4.1, 4.853, 12.0, 24.9, 25.1, 60.0]),
    "airy_ai": (lambda m, v: m.airyai(v), [-30.0, -7.5, -6.9, -3.0, 0.0, 0.7, 1.0, 5.0, 40.0], 3e-11),
    "gammaln": (lambda m, v: m.loggamma(v).real, [0.1, 3.7, 50.0, 1 + 1e-10, 2 - 1e-9, 1.4616, 2.6, 9.9]),
    "digamma": (lambda m, v: m.digamma(v), [0.1, 3.7, -2.5, 50.0, 7.9, 8.0, 1e-5, -7.3, 1e8]),
    "modified_bessel_k0": (lambda m, v: m.besselk(0, v), [0.01, 0.9, 1.1, 7.0, 300.0]),
    "modified_bessel_k1": (lambda m, v: m.besselk(1, v), [0.01, 0.9, 1.1, 7.0, 300.0]),
    "erfinv": (lambda m, v: m.erfinv(v), [-0.999999, 0.3, 0.9999999999, 1e-300, -1e-10, 0.49, 0.5, 0.51, 0.97,
                                          1 - 1e-7, 1 - 2**-52]),
    "ndtri": (lambda m, v: m.sqrt(2) * m.erfinv(2 * v - 1), [1e-12, 0.02, 0.3, 0.7, 0.999]),
    "ndtr": (lambda m, v: m.ncdf(v), [-37.0, -20.0, -8.5, 0.3, 5.0]),
}


@pytest.mark.parametrize("name", sorted(MPMATH))
def test_float64_accuracy_against_mpmath(name):
    mpmath = pytest.importorskip("mpmath")
    fn, values, *atol = MPMATH[name]
    ours = getattr(S, name)(lucid.tensor(values, dtype=lucid.float64)).numpy()
    with mpmath.workdps(30):  # the references themselves must not cancel (log Gamma next to its zeros)
        reference = [float(fn(mpmath.mp, mpmath.mpf(v))) for v in values]
    np.testing.assert_allclose(ours, reference, rtol=2e-14,
                               atol=atol[0] if atol else 3e-15)


def test_lgamma_is_exactly_zero_at_one_and_two(device):
    for dtype in (lucid.float32, lucid.float64):
        assert S.gammaln(lucid.tensor([1.0, 2.0], dtype=dtype, device=device)).tolist() == [0.0, 0.0]


def test_trigamma_and_incomplete_gamma_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    x = [0.3, 2.0, 7.5, 40.0]  # (negative x: the shifted sum cancels, ~1e-12 for n = 6, as PyTorch's)
    for n in (1, 2, 3, 6):
        np.testing.assert_allclose(S.polygamma(n, lucid.tensor(x, dtype=lucid.float64)).numpy(),
                                   [float(mpmath.psi(n, v)) for v in x], rtol=1e-14)
    # trigamma by its own series, reflected below 0: inf at the poles, nan at -inf (as PyTorch)
    x = [-7.3, -2.5, -0.6, -1e-8, 1e-8, 0.3, 1.4616, 2.0, 7.5, 8.0, 12.0, 1e4]
    np.testing.assert_allclose(S.polygamma(1, lucid.tensor(x, dtype=lucid.float64)).numpy(),
                               [float(mpmath.psi(1, v)) for v in x], rtol=2e-15)
    edges = S.polygamma(1, lucid.tensor([0.0, -0.0, -3.0, math.inf, -math.inf, math.nan], dtype=lucid.float64))
    np.testing.assert_array_equal(edges.numpy(), [math.inf, math.inf, math.inf, 0.0, math.nan, math.nan])
    a, z = [35.178, 0.5, 3.0, 20.0], [24.6786, 2.0, 0.1, 30.0]
    np.testing.assert_allclose(S.gammainc(lucid.tensor(a, dtype=lucid.float64), lucid.tensor(z, dtype=lucid.float64))
                               .numpy(), [float(mpmath.gammainc(p, 0, q, regularized=True)) for p, q in zip(a, z)],
                               rtol=1e-13)


@pytest.mark.parametrize("name", ["gammaln", "erfinv", "i1e", "bessel_y1"])
def test_large_inputs_run_in_chunks_with_the_same_values(name, device, rng):
    """More elements than one kernel chunk (16384), in a 2-D shape: the same values as PyTorch's."""
    values = rng.uniform(-0.99, 0.99, (150, 250)) if name == "erfinv" else rng.uniform(0.01, 30, (150, 250))
    out = getattr(S, name)(lucid.tensor(values, device=device))
    assert out.shape == (150, 250)
    atol = 1e-6 if name == "bessel_y1" else 1e-14  # PyTorch's Y1 errs by ~1e-6
    _close(out, getattr(torch.special, name)(torch.tensor(values)), 1e-12, atol)


def _float32_erfinv_grid():
    """Every 509th float32 in [2^-30, 1), each of the last 65536 below 1 (the tail, down to 1 - 2^-8), and their
    negatives."""
    one = np.float32(1.0).view(np.int32)
    bits = np.concatenate([np.arange(np.float32(2.0**-30).view(np.int32), one, 509, dtype=np.int32),
                           np.arange(one - 65536, one, dtype=np.int32)])
    x = bits.view(np.float32)
    return np.concatenate([x, -x])


def test_erfinv_float32_is_within_0_55_ulp_of_the_exact_value(device):
    """float32 erfinv (a rational to 1.4e-9, computed in float64 and rounded once) against the float64 path (checked
    against mpmath and PyTorch above) over the whole range, tails included: within 0.55 ulp."""
    x = _float32_erfinv_grid()
    ours = S.erfinv(lucid.tensor(x, device=device)).numpy(force=True)
    exact = S.erfinv(lucid.tensor(x.astype(np.float64), device=device)).numpy(force=True)
    assert ours.dtype == np.float32
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(ours - exact) / ulp) < 0.55


def test_erfinv_float32_special_values(device):
    """+-0 keep their sign, +-1 give +-inf, anything past them nan; the largest float32 below 1 and subnormals are
    the float64 value rounded."""
    x = [0.0, -0.0, 1.0, -1.0, 1.5, -1.5, INF, -INF, NAN, 1 - 2**-24, -(1 - 2**-24), 1e-45, -1e-45, 1e-38]
    out = S.erfinv(lucid.tensor(x, dtype=lucid.float32, device=device)).numpy(force=True)
    assert out[:4].tolist() == [0.0, 0.0, INF, -INF] and np.signbit(out[:2]).tolist() == [False, True]
    assert np.isnan(out[4:9]).all()
    wide = S.erfinv(lucid.tensor(np.float32(x[9:]).astype(np.float64), device=device)).numpy(force=True)
    np.testing.assert_array_equal(out[9:], wide.astype(np.float32))


def test_erfinv_float16_is_the_float64_value_rounded_once():
    """Every float16 in [-1, 1]: the float64 value rounded to float16, bit for bit (-0.0 and +-inf included)."""
    half = np.arange(0, 0x3C01, dtype=np.uint16).view(np.float16)
    half = np.concatenate([half, -half])
    out = S.erfinv(lucid.tensor(half)).numpy()
    assert out.dtype == np.float16
    wide = S.erfinv(lucid.tensor(half.astype(np.float64))).numpy().astype(np.float16)
    np.testing.assert_array_equal(out.view(np.uint16), wide.view(np.uint16))
