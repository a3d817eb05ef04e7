"""The families added to lucid.distributions with the transforms (Gamma, Chi2, Beta, Dirichlet, StudentT, Cauchy,
Gumbel, HalfNormal, HalfCauchy, Geometric, Binomial, NegativeBinomial, VonMises, RelaxedBernoulli,
RelaxedOneHotCategorical, MixtureSameFamily) against torch.distributions (float64): values and parameter
gradients of log_prob/cdf/icdf/entropy/moments and of kl_divergence; validation, repr, expand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from dist_helpers import compare, host

import lucid
import lucid.distributions as D

torch = pytest.importorskip("torch")
TD = torch.distributions


def _t(values, device, dtype=lucid.float64, requires_grad=False):
    return lucid.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, device=device, requires_grad=requires_grad)


def _pos(r, *shape, low=0.5, high=3.0):
    return r.uniform(low, high, shape)


UNIVARIATE = ["mean", "mode", "variance", "stddev", "entropy"]
# name: (build(module, *params), params(rng), value(rng, params), icdf probabilities(rng) or None, methods)
CASES = {
    "Gamma": (lambda m, a, b: m.Gamma(a, b), lambda r: [_pos(r, 3, 1, low=0.3), _pos(r, 4)],
              lambda r, p: r.gamma(2.0, 1.0, (2, 3, 4)), None, ["log_prob", *UNIVARIATE]),
    "Chi2": (lambda m, a: m.Chi2(a), lambda r: [_pos(r, 3, 4, high=6)], lambda r, p: r.chisquare(3, (2, 3, 4)), None,
             ["log_prob", "df", *UNIVARIATE]),
    "Beta": (lambda m, a, b: m.Beta(a, b), lambda r: [_pos(r, 3, 1), _pos(r, 4)],
             lambda r, p: r.beta(2, 2, (2, 3, 4)), None, ["log_prob", "concentration1", "concentration0", *UNIVARIATE]),
    "Dirichlet": (lambda m, a: m.Dirichlet(a), lambda r: [_pos(r, 3, 4, low=1.2)],
                  lambda r, p: r.dirichlet(np.ones(4), (2, 3)), None, ["log_prob", *UNIVARIATE]),
    "StudentT": (lambda m, a, b, c: m.StudentT(a, b, c), lambda r: [_pos(r, 3, 1, low=2.5, high=6),
                                                                    r.standard_normal(4), _pos(r, 4)],
                 lambda r, p: r.standard_t(3, (2, 3, 4)), None, ["log_prob", *UNIVARIATE]),
    "Cauchy": (lambda m, a, b: m.Cauchy(a, b), lambda r: [r.standard_normal((3, 1)), _pos(r, 4)],
               lambda r, p: r.standard_cauchy((2, 3, 4)), lambda r: r.uniform(0.05, 0.95, (3, 4)),
               ["log_prob", "cdf", "icdf", "mode", "entropy", "mean", "variance"]),
    "Gumbel": (lambda m, a, b: m.Gumbel(a, b), lambda r: [r.standard_normal((3, 1)), _pos(r, 4)],
               lambda r, p: r.gumbel(0, 1, (2, 3, 4)), lambda r: r.uniform(0.05, 0.95, (3, 4)),
               ["log_prob", "cdf", "icdf", *UNIVARIATE]),
    "HalfNormal": (lambda m, a: m.HalfNormal(a), lambda r: [_pos(r, 3, 4)], lambda r, p: np.abs(
        r.standard_normal((2, 3, 4))), lambda r: r.uniform(0.05, 0.95, (3, 4)),
        ["log_prob", "cdf", "icdf", *UNIVARIATE]),
    "HalfCauchy": (lambda m, a: m.HalfCauchy(a), lambda r: [_pos(r, 3, 4)], lambda r, p: np.abs(
        r.standard_cauchy((2, 3, 4))), lambda r: r.uniform(0.05, 0.95, (3, 4)),
        ["log_prob", "cdf", "icdf", "mean", "mode", "variance", "entropy"]),
    "Geometric(probs)": (lambda m, a: m.Geometric(probs=a), lambda r: [r.uniform(0.1, 0.9, (3, 4))],
                         lambda r, p: r.geometric(0.4, (2, 3, 4)) - 1.0, None, ["log_prob", "logits", *UNIVARIATE]),
    "Geometric(logits)": (lambda m, a: m.Geometric(logits=a), lambda r: [r.standard_normal((3, 4))],
                          lambda r, p: r.geometric(0.4, (2, 3, 4)) - 1.0, None, ["log_prob", "probs", *UNIVARIATE]),
    "Binomial(probs)": (lambda m, n, a: m.Binomial(n, probs=a), lambda r: [np.array(6), r.uniform(0.1, 0.9, (3, 4))],
                        lambda r, p: r.integers(0, 7, (2, 3, 4)).astype(float), None,
                        ["log_prob", "logits", "mean", "mode", "variance", "entropy"]),
    "Binomial(logits)": (lambda m, n, a: m.Binomial(n, logits=a), lambda r: [r.integers(5, 9, (3, 4)),
                                                                             r.standard_normal((3, 4))],
                         lambda r, p: r.integers(0, 5, (2, 3, 4)).astype(float), None,
                         ["log_prob", "probs", "mean", "mode", "variance"]),
    "NegativeBinomial": (lambda m, n, a: m.NegativeBinomial(n, logits=a), lambda r: [_pos(r, 3, 4, high=6),
                                                                                     r.standard_normal((3, 4))],
                         lambda r, p: r.integers(0, 9, (2, 3, 4)).astype(float), None,
                         ["log_prob", "probs", "mean", "mode", "variance"]),
    "VonMises": (lambda m, a, b: m.VonMises(a, b), lambda r: [r.uniform(-3, 3, (3, 1)), _pos(r, 4, low=0.2, high=20)],
                 lambda r, p: r.uniform(-math.pi, math.pi, (2, 3, 4)), None, ["log_prob", "mean", "mode", "variance"]),
    "RelaxedBernoulli": (lambda m, t, a: m.RelaxedBernoulli(t, logits=a), lambda r: [np.array(0.7),
                                                                                     r.standard_normal((3, 4))],
                         lambda r, p: r.uniform(0.05, 0.95, (2, 3, 4)), None, ["log_prob", "probs"]),
    "RelaxedOneHotCategorical": (lambda m, t, a: m.RelaxedOneHotCategorical(t, probs=a),
                                 lambda r: [np.array(0.7), _pos(r, 3, 4)], lambda r, p: r.dirichlet(np.ones(4), (2, 3)),
                                 None, ["log_prob", "logits"]),
    "MixtureSameFamily": (lambda m, w, a, b: m.MixtureSameFamily(m.Categorical(logits=w), m.Normal(a, b)),
                          lambda r: [r.standard_normal((3, 4)), r.standard_normal((3, 4)), _pos(r, 3, 4)],
                          lambda r, p: r.standard_normal((2, 3)), None, ["log_prob", "cdf", "mean", "variance"]),
    "MixtureSameFamily(MVN)": (lambda m, w, a, b: m.MixtureSameFamily(
        m.Categorical(logits=w), m.Independent(m.Normal(a, b), 1)), lambda r: [r.standard_normal(4),
                                                                             r.standard_normal((3, 4, 2)),
                                                                             _pos(r, 3, 4, 2)],
        lambda r, p: r.standard_normal((5, 3, 2)), None, ["log_prob", "mean", "variance"]),
}
RTOL = {"VonMises": 2e-5}  # torch's log I0 is a polynomial approximation (1e-7 relative, 5e-6 in the variance)


def _method(name):
    if name in ("log_prob", "cdf", "icdf"):
        return lambda d, v: getattr(d, name)(v)
    if name == "entropy":
        return lambda d: d.entropy()
    return lambda d: getattr(d, name)


@pytest.mark.parametrize("case", CASES)
def test_against_torch(case, device, rng):
    build, params, value, probabilities, methods = CASES[case]
    arrays = params(rng)
    rtol = RTOL.get(case, 1e-10)
    for name in methods:
        at = None
        if name in ("log_prob", "cdf", "icdf"):
            at = probabilities(rng) if name == "icdf" else value(rng, arrays)
        fn = _method(name)
        extra = [] if at is None else [at]
        compare(torch, lambda *ps, fn=fn: fn(build(D, *ps[: len(arrays)]), *ps[len(arrays):]),
                lambda *ps, fn=fn: fn(build(TD, *ps[: len(arrays)]), *ps[len(arrays):]), arrays + extra, device,
                rtol=rtol, atol=1e-12 if rtol == 1e-10 else 1e-8)


def test_gamma_cdf_against_torch(device, rng):
    """Differentiable in rate and value; not in concentration (neither is torch's igamma)."""
    a = rng.uniform(0.3, 5, (3, 4))
    compare(torch, lambda b, v: D.Gamma(_t(a, device), b).cdf(v),
            lambda b, v: TD.Gamma(torch.tensor(a), b).cdf(v), [rng.uniform(0.5, 2, 4), rng.gamma(2, 1, (2, 3, 4))],
            device, rtol=1e-9)
    with pytest.raises(NotImplementedError, match="igamma"):
        D.Gamma(_t(a, device, requires_grad=True), 1.0).cdf(_t(1.0, device)).sum().backward()


def test_binomial_entropy_and_enumerate_support(device):
    p = np.array([[0.2, 0.5], [0.9, 0.4]])
    ours, theirs = D.Binomial(3, _t(p, device)), TD.Binomial(3, torch.tensor(p))
    np.testing.assert_allclose(host(ours.entropy()), theirs.entropy().numpy(), rtol=1e-12)
    for expand in (True, False):
        np.testing.assert_array_equal(host(ours.enumerate_support(expand)), theirs.enumerate_support(expand).numpy())
    with pytest.raises(NotImplementedError, match="Inhomogeneous total count not supported by `entropy`"):
        D.Binomial(_t([2.0, 3.0], device), _t([0.5, 0.5], device)).entropy()


def test_negative_binomial_zero_count(device):
    d = D.NegativeBinomial(_t([0.0, 2.0], device), logits=_t([0.3, 0.3], device), validate_args=False)
    want = TD.NegativeBinomial(torch.tensor([0.0, 2.0], dtype=torch.float64),
                               logits=torch.tensor([0.3, 0.3], dtype=torch.float64), validate_args=False)
    v = [0.0, 1.0]
    np.testing.assert_allclose(host(d.log_prob(_t(v, device))), want.log_prob(torch.tensor(v)).numpy(), rtol=1e-12)


def test_dirichlet_mode_below_one(device):
    c = np.array([[0.5, 0.7, 0.3], [2.0, 3.0, 1.5]])
    np.testing.assert_allclose(host(D.Dirichlet(_t(c, device)).mode), TD.Dirichlet(torch.tensor(c)).mode.numpy())


def test_student_t_moments_by_df(device):
    df = np.array([0.5, 1.0, 1.5, 2.0, 3.0])
    ours, theirs = D.StudentT(_t(df, device), 1.0, 2.0), TD.StudentT(torch.tensor(df), 1.0, 2.0)
    np.testing.assert_allclose(host(ours.mean), theirs.mean.numpy(), equal_nan=True)
    np.testing.assert_allclose(host(ours.variance), theirs.variance.numpy(), equal_nan=True)


# p case, q case, q parameters from p's (None: fresh) for the pairs torch registers
KL_SAME = ["Gamma", "Beta", "Dirichlet", "Gumbel", "Geometric(probs)", "HalfNormal", "Cauchy", "Chi2"]
KL_CASES = {
    "Binomial": (lambda m, n, a: m.Binomial(n, probs=a), lambda r: [np.array(6), r.uniform(0.1, 0.9, (3, 4))]),
    "Exponential": (lambda m, a: m.Exponential(a), lambda r: [_pos(r, 3, 4)]),
    "Normal": (lambda m, a, b: m.Normal(a, b), lambda r: [r.standard_normal((3, 4)), _pos(r, 3, 4)]),
    "Uniform": (lambda m, a, b: m.Uniform(a, a + b),
                lambda r: [r.uniform(0.1, 0.4, (3, 4)), r.uniform(0.1, 0.5, (3, 4))]),
    "Uniform(wide)": (lambda m, a, b: m.Uniform(a, b),
                      lambda r: [r.uniform(-1, 0.4, (3, 4)), r.uniform(0.5, 2, (3, 4))]),
    "Laplace": (lambda m, a, b: m.Laplace(a, b), lambda r: [r.standard_normal((3, 4)), _pos(r, 3, 4)]),
    "Poisson": (lambda m, a: m.Poisson(a), lambda r: [_pos(r, 3, 4)]),
    "Bernoulli": (lambda m, a: m.Bernoulli(a), lambda r: [r.uniform(0.1, 0.9, (3, 4))]),
    "LogNormal": (lambda m, a, b: m.LogNormal(a, b), lambda r: [r.standard_normal((3, 4)), _pos(r, 3, 4)]),
    "Transformed": (lambda m, a, b: m.TransformedDistribution(m.Normal(a, b), [m.transforms.TanhTransform()]),
                    lambda r: [r.standard_normal((3, 4)), _pos(r, 3, 4)]),
}
for _name in KL_SAME:
    KL_CASES[_name] = (CASES[_name][0], lambda r, _n=_name: CASES[_n][1](r))
KL_PAIRS = [(n, n) for n in KL_SAME + ["Binomial", "Transformed"]] + [
    ("Bernoulli", "Poisson"), ("Beta", "Exponential"), ("Beta", "Gamma"), ("Beta", "Normal"), ("Beta", "Uniform"),
    ("Beta", "Uniform(wide)"), ("Exponential", "Beta"), ("Exponential", "Uniform"), ("Exponential", "Gamma"),
    ("Exponential", "Gumbel"), ("Exponential", "Normal"), ("Gamma", "Beta"), ("Gamma", "Uniform"),
    ("Gamma", "Exponential"), ("Gamma", "Gumbel"), ("Gamma", "Normal"), ("Gumbel", "Beta"), ("Gumbel", "Exponential"),
    ("Gumbel", "Gamma"), ("Gumbel", "Uniform"), ("Gumbel", "Normal"), ("Laplace", "Beta"), ("Normal", "Beta"),
    ("Normal", "Exponential"), ("Normal", "Gamma"), ("Normal", "Uniform"), ("Normal", "Gumbel"), ("Normal", "Laplace"),
    ("Poisson", "Bernoulli"), ("Poisson", "Binomial"), ("Uniform", "Beta"), ("Uniform(wide)", "Beta"),
    ("Uniform", "Exponential"), ("Uniform(wide)", "Exponential"), ("Uniform", "Gamma"), ("Uniform(wide)", "Gamma"),
    ("Uniform", "Gumbel"), ("Uniform", "Normal"), ("Chi2", "Gamma"),
]


@pytest.mark.parametrize("p_case, q_case", KL_PAIRS, ids=[f"{p}-{q}" for p, q in KL_PAIRS])
def test_kl_divergence_against_torch(p_case, q_case, device, rng):
    (build_p, params_p), (build_q, params_q) = KL_CASES[p_case], KL_CASES[q_case]
    p_arrays, q_arrays = params_p(rng), params_q(rng)
    if p_case == "Binomial" and q_case == "Binomial":
        q_arrays[0] = np.array([[6, 5, 6, 4]] * 3)  # q.total_count <= p's: inf where smaller
    k = len(p_arrays)
    compare(torch, lambda *ps: D.kl_divergence(build_p(D, *ps[:k]), build_q(D, *ps[k:])),
            lambda *ps: TD.kl_divergence(build_p(TD, *ps[:k]), build_q(TD, *ps[k:])), p_arrays + q_arrays, device,
            rtol=1e-9)


def test_kl_errors(device):
    t = lambda v: _t(v, device)  # noqa: E731
    with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
        D.kl_divergence(D.Binomial(t(2.0), t(0.5)), D.Binomial(t(3.0), t(0.5)))
    with pytest.raises(NotImplementedError):  # different transforms
        D.kl_divergence(D.TransformedDistribution(D.Normal(t(0.0), t(1.0)), [D.ExpTransform()]),
                        D.TransformedDistribution(D.Normal(t(0.0), t(1.0)), [D.TanhTransform()]))


BAD_PARAMETERS = [
    ("concentration", lambda t: D.Gamma(t(-1.0), t(1.0))), ("rate", lambda t: D.Gamma(t(1.0), t(0.0))),
    ("df", lambda t: D.Chi2(t(0.0))),
    ("concentration", lambda t: D.Beta(t(0.0), t(1.0))),  # (from its Dirichlet, as torch's)
    ("concentration", lambda t: D.Beta(t(1.0), t(-1.0))), ("concentration", lambda t: D.Dirichlet(t([1.0, -1.0]))),
    ("df", lambda t: D.StudentT(t(-1.0))), ("scale", lambda t: D.StudentT(t(1.0), t(0.0), t(0.0))),
    ("scale", lambda t: D.Cauchy(t(0.0), t(-1.0))), ("scale", lambda t: D.Gumbel(t(0.0), t(0.0))),
    ("scale", lambda t: D.HalfNormal(t(-1.0))), ("scale", lambda t: D.HalfCauchy(t(0.0))),
    ("probs", lambda t: D.Geometric(t(1.5))), ("probs", lambda t: D.Geometric(t(0.0))),
    ("total_count", lambda t: D.Binomial(t(2.5), t(0.5))), ("probs", lambda t: D.Binomial(t(2.0), t(-0.5))),
    ("total_count", lambda t: D.NegativeBinomial(t(-1.0), t(0.5))),
    ("probs", lambda t: D.NegativeBinomial(t(1.0), t(1.0))),
    ("concentration", lambda t: D.VonMises(t(0.0), t(0.0))), ("probs", lambda t: D.RelaxedBernoulli(t(0.5), t(2.0))),
    ("probs", lambda t: D.RelaxedOneHotCategorical(t(0.5), t([-0.5, 1.5]))),
]


@pytest.mark.parametrize("param, build", BAD_PARAMETERS, ids=[f"{i}-{p}" for i, (p, _) in enumerate(BAD_PARAMETERS)])
def test_invalid_parameters_raise(param, build, device):
    t = lambda v: _t(v, device)  # noqa: E731
    with pytest.raises(ValueError, match=f"Expected parameter {param} .* to (satisfy the constraint|be positive)"):
        build(t)


OUT_OF_SUPPORT = [
    (lambda t: D.Gamma(t(1.0), t(1.0)), -1.0), (lambda t: D.Beta(t(1.0), t(1.0)), 1.5),
    (lambda t: D.Dirichlet(t([1.0, 1.0])), [0.5, 0.6]), (lambda t: D.StudentT(t(2.0)), math.nan),
    (lambda t: D.Cauchy(t(0.0), t(1.0)), math.nan), (lambda t: D.HalfNormal(t(1.0)), -1.0),
    (lambda t: D.HalfCauchy(t(1.0)), -0.5), (lambda t: D.Geometric(t(0.5)), 1.5),
    (lambda t: D.Binomial(t(3.0), t(0.5)), 4.0), (lambda t: D.NegativeBinomial(t(3.0), t(0.5)), -1.0),
    (lambda t: D.RelaxedBernoulli(t(0.5), t(0.5)), 1.5),
    (lambda t: D.RelaxedOneHotCategorical(t(0.5), t([0.5, 0.5])), [0.5, 0.6]),
    (lambda t: D.MixtureSameFamily(D.Categorical(t([0.5, 0.5])), D.Gamma(t([1.0, 2.0]), t(1.0))), -1.0),
]


@pytest.mark.parametrize("build, value", OUT_OF_SUPPORT, ids=[str(i) for i in range(len(OUT_OF_SUPPORT))])
def test_values_outside_the_support_raise(build, value, device):
    t = lambda v: _t(v, device)  # noqa: E731
    with pytest.raises(ValueError, match="to be within the support"):
        build(t).log_prob(t(value))


def test_constructor_errors(device):
    t = lambda v: _t(v, device)  # noqa: E731
    with pytest.raises(ValueError, match="`concentration` parameter must be at least one-dimensional"):
        D.Dirichlet(t(1.0))
    for cls in (D.Geometric, D.RelaxedBernoulli.__init__):
        with pytest.raises((ValueError, TypeError)):
            cls(t(0.5), t(0.5)) if cls is D.Geometric else D.RelaxedBernoulli(t(0.5))
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both"):
        D.Binomial(2, t(0.5), t(0.5))
    with pytest.raises(ValueError, match="needs to be an  instance of torch.distributions.Categorical"):
        D.MixtureSameFamily(D.Normal(t(0.0), t(1.0)), D.Normal(t([0.0, 1.0]), t(1.0)))
    with pytest.raises(ValueError, match="does not equal `component_distribution.batch_shape\\[-1\\]`"):
        D.MixtureSameFamily(D.Categorical(t([0.5, 0.5])), D.Normal(t([0.0, 1.0, 2.0]), t(1.0)))
    with pytest.raises(ValueError, match="is not compatible with `component_distribution.batch_shape`"):
        D.MixtureSameFamily(D.Categorical(t([[0.5, 0.5]] * 2)), D.Normal(t(np.zeros((3, 2))), t(1.0)))


def test_repr_as_torch():
    pairs = [(D.Gamma(1.0, 2.0), TD.Gamma(1.0, 2.0)), (D.Beta(1.0, 2.0), TD.Beta(1.0, 2.0)),
             (D.Chi2(lucid.tensor(3.0)), TD.Chi2(torch.tensor(3.0))), (D.StudentT(3.0), TD.StudentT(3.0)),
             (D.Cauchy(0.0, 1.0), TD.Cauchy(0.0, 1.0)), (D.Gumbel(0.0, 1.0), TD.Gumbel(0.0, 1.0)),
             (D.HalfNormal(1.0), TD.HalfNormal(1.0)), (D.HalfCauchy(1.0), TD.HalfCauchy(1.0)),
             (D.Geometric(0.5), TD.Geometric(0.5)), (D.VonMises(0.0, 1.0), TD.VonMises(0.0, 1.0)),
             (D.NegativeBinomial(2.0, 0.5), TD.NegativeBinomial(2.0, 0.5))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs), (ours, theirs)
        assert repr(ours.support) == repr(theirs.support)
        assert ours.has_rsample == theirs.has_rsample and ours.has_enumerate_support == theirs.has_enumerate_support
        assert ({k: repr(v) for k, v in ours.arg_constraints.items()}
                == {k: repr(v) for k, v in theirs.arg_constraints.items()})
    assert repr(D.Dirichlet(lucid.ones(3))) == "Dirichlet(concentration: (3,))"
    assert repr(D.MixtureSameFamily(D.Categorical(lucid.ones(2)), D.Normal(lucid.zeros(2), 1.0))) == \
        "MixtureSameFamily(\n  Categorical(probs: (2,), logits: (2,)),\n  Normal(loc: (2,), scale: (2,)))"


@pytest.mark.parametrize("case", ["Gamma", "Beta", "Dirichlet", "StudentT", "Gumbel", "HalfNormal", "Geometric(probs)",
                                  "Binomial(probs)", "VonMises", "RelaxedOneHotCategorical", "MixtureSameFamily"])
def test_expand_against_torch(case, device, rng):
    build, params, value, *_ = CASES[case]
    arrays = params(rng)
    v = value(rng, arrays)[:1]
    base = build(TD, *[torch.tensor(a) for a in arrays])
    shape = (5,) + tuple(base.batch_shape)
    ours = build(D, *[_t(a, device) if np.asarray(a).dtype.kind == "f" else lucid.tensor(a, device=device)
                      for a in arrays]).expand(shape)
    assert ours.batch_shape == shape and tuple(ours.sample((2,)).shape) == (2,) + tuple(base.expand(shape).sample(
    ).shape)
    compare(torch, lambda *ps: build(D, *ps[:-1]).expand(shape).log_prob(ps[-1]),
            lambda *ps: build(TD, *ps[:-1]).expand(shape).log_prob(ps[-1]), arrays + [v], device,
            rtol=RTOL.get(case, 1e-10), atol=1e-12 if case != "VonMises" else 1e-8)
