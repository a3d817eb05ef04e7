"""The families, transforms, constraints and KL pairs of torch.distributions added to lucid.distributions after
the first thirty (ContinuousBernoulli, FisherSnedecor, GeneralizedPareto, InverseGamma, Kumaraswamy,
LKJCholesky, LogisticNormal, LowRankMultivariateNormal, Multinomial, Pareto, Weibull, Wishart; Cat, Stack,
CorrCholesky, CumulativeDistribution, PositiveDefinite and Reshape transforms): values and gradients against
torch (float64), shapes and expand, sample moments, reparameterised gradients, and the errors of validation."""

from __future__ import annotations

import numpy as np
import pytest
from dist_helpers import compare, host, lucid_params, moments_close

import lucid
import lucid.distributions as LD
from lucid.distributions import constraints as C
from lucid.distributions import transforms as LT
from lucid.distributions.gamma import _draw_standard_gamma

torch = pytest.importorskip("torch")
TD = torch.distributions


def _spd(r, *batch, n=3):
    a = r.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _corr_cholesky(r, *batch, n=3):
    s = _spd(r, *batch, n=n)
    d = np.sqrt(np.diagonal(s, axis1=-2, axis2=-1))
    return np.linalg.cholesky(s / d[..., :, None] / d[..., None, :])


def _counts(r, probs, n, k):
    p = probs / probs.sum(-1, keepdims=True)
    return np.stack([r.multinomial(n, pp, (k,)) for pp in p], 1).astype(float)


def _gpd_values(r, p):
    """Points inside the support of GeneralizedPareto(loc, scale, concentration): its quantiles."""
    loc, scale, c = np.broadcast_arrays(*p)
    u = r.uniform(0.05, 0.95, (2,) + loc.shape)
    safe = np.where(c == 0, 1.0, c)
    return np.where(c == 0, loc - scale * np.log1p(-u), loc + scale / safe * np.expm1(-safe * np.log1p(-u)))


GPD_CONCENTRATION = np.array([-0.3, 0.0, 0.2, 0.45])  # the exponential limit (0) and both signs
UNIVARIATE = ["mean", "variance", "stddev", "entropy"]

# name: (build(module, *params), params(rng), value(rng, params), icdf probabilities(rng) or None, methods)
CASES = {
    "ContinuousBernoulli(probs)": (
        lambda m, p: m.ContinuousBernoulli(probs=p),
        lambda r: [np.concatenate([[0.5, 0.4995, 0.2], r.uniform(0.05, 0.95, 9)]).reshape(3, 4)],
        lambda r, p: r.uniform(0, 1, (2, 3, 4)), lambda r: r.uniform(0.05, 0.95, (3, 4)),
        ["log_prob", "cdf", "icdf", "logits", *UNIVARIATE]),
    "ContinuousBernoulli(logits)": (
        lambda m, p: m.ContinuousBernoulli(logits=p), lambda r: [2 * r.standard_normal((3, 4))],
        lambda r, p: r.uniform(0, 1, (2, 3, 4)), lambda r: r.uniform(0.05, 0.95, (3, 4)),
        ["log_prob", "cdf", "icdf", "probs", *UNIVARIATE]),
    "FisherSnedecor": (
        lambda m, a, b: m.FisherSnedecor(a, b), lambda r: [r.uniform(2.5, 6, (3, 1)), r.uniform(4.5, 9, 4)],
        lambda r, p: r.exponential(1, (2, 3, 4)), None, ["log_prob", "mean", "mode", "variance"]),
    "GeneralizedPareto": (
        lambda m, a, b, c: m.GeneralizedPareto(a, b, c),
        lambda r: [r.standard_normal((3, 1)), r.uniform(0.5, 2, 4), GPD_CONCENTRATION], _gpd_values,
        lambda r: r.uniform(0.05, 0.95, (3, 4)), ["icdf", "mean", "mode", "variance", "entropy"]),
    "InverseGamma": (
        lambda m, a, b: m.InverseGamma(a, b), lambda r: [r.uniform(2.5, 5, (3, 1)), r.uniform(0.5, 2, 4)],
        lambda r, p: 1 / r.gamma(3, 1, (2, 3, 4)), None, ["log_prob", "mean", "mode", "variance", "entropy"]),
    "Kumaraswamy": (
        lambda m, a, b: m.Kumaraswamy(a, b), lambda r: [r.uniform(0.5, 3, (3, 1)), r.uniform(0.5, 3, 4)],
        lambda r, p: r.uniform(0.01, 0.99, (2, 3, 4)), lambda r: r.uniform(0.05, 0.95, (3, 4)),
        ["log_prob", "cdf", "icdf", *UNIVARIATE]),
    "Pareto": (
        lambda m, a, b: m.Pareto(a, b), lambda r: [r.uniform(0.5, 2, (3, 1)), r.uniform(2.5, 5, 4)],
        lambda r, p: p[0] * np.exp(r.exponential(1, (2, 3, 4))), lambda r: r.uniform(0.05, 0.95, (3, 4)),
        ["log_prob", "cdf", "icdf", "mode", *UNIVARIATE]),
    "Weibull": (
        lambda m, a, b: m.Weibull(a, b), lambda r: [r.uniform(0.5, 2, (3, 1)), r.uniform(1.2, 3, 4)],
        lambda r, p: r.exponential(1, (2, 3, 4)), lambda r: r.uniform(0.05, 0.95, (3, 4)),
        ["log_prob", "cdf", "icdf", "mode", *UNIVARIATE]),
    "LogisticNormal": (
        lambda m, a, b: m.LogisticNormal(a, b), lambda r: [r.standard_normal((2, 3)), r.uniform(0.5, 2, (2, 3))],
        lambda r, p: r.dirichlet(np.ones(4), (5, 2)), None, ["log_prob"]),
    "LowRankMultivariateNormal": (
        lambda m, a, w, d: m.LowRankMultivariateNormal(a, w, d),
        lambda r: [r.standard_normal((2, 3)), r.standard_normal((3, 2)), r.uniform(0.5, 2, (2, 3))],
        lambda r, p: r.standard_normal((4, 2, 3)), None,
        ["log_prob", "mean", "mode", "variance", "entropy", "scale_tril", "covariance_matrix", "precision_matrix"]),
    "Multinomial(probs)": (
        lambda m, p: m.Multinomial(10, probs=p), lambda r: [r.uniform(0.1, 1, (3, 5))],
        lambda r, p: _counts(r, p[0], 10, 2), None, ["log_prob", "mean", "variance", "probs", "logits"]),
    "Multinomial(logits)": (
        lambda m, p: m.Multinomial(7, logits=p), lambda r: [r.standard_normal((3, 5))],
        lambda r, p: _counts(r, np.exp(p[0]), 7, 2), None, ["log_prob", "mean", "variance", "probs"]),
    "LKJCholesky": (
        lambda m, c: m.LKJCholesky(3, c), lambda r: [r.uniform(0.5, 3, 2)],
        lambda r, p: _corr_cholesky(r, 4, 2), None, ["log_prob"]),
    "Wishart(covariance)": (
        lambda m, df, s: m.Wishart(df, covariance_matrix=s), lambda r: [r.uniform(3.5, 6, 2), _spd(r)],
        lambda r, p: _spd(r, 4, 2), None,
        ["log_prob", "entropy", "mean", "mode", "variance", "precision_matrix", "scale_tril"]),
    "Wishart(precision)": (
        lambda m, df, s: m.Wishart(df, precision_matrix=s), lambda r: [r.uniform(4.5, 6, 2), _spd(r, 2)],
        lambda r, p: _spd(r, 4, 2), None, ["log_prob", "entropy", "mean", "covariance_matrix"]),
    "Wishart(scale_tril)": (
        # (tril: PyTorch's cholesky_solve also differentiates the zero upper triangle of scale_tril)
        lambda m, df, s: m.Wishart(df, scale_tril=s.tril()),
        lambda r: [r.uniform(2.5, 6, 2), np.linalg.cholesky(_spd(r))],
        lambda r, p: _spd(r, 4, 2), None, ["log_prob", "entropy", "variance", "precision_matrix"]),
}


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
    for name in methods:
        extra = []
        if name in ("log_prob", "cdf"):
            extra = [value(rng, arrays)]
        elif name == "icdf":
            extra = [probabilities(rng)]
        fn = _method(name)
        compare(torch, lambda *ps, fn=fn: fn(build(LD, *ps[: len(arrays)]), *ps[len(arrays):]),
                lambda *ps, fn=fn: fn(build(TD, *ps[: len(arrays)]), *ps[len(arrays):]), arrays + extra, device)


def test_multinomial_entropy(device, rng):
    """PyTorch takes ``lgamma(n + 1)`` of an int64 tensor, in float32: equal to float32 precision."""
    arrays = [rng.uniform(0.1, 1, (3, 5))]
    compare(torch, lambda p: LD.Multinomial(10, p).entropy(), lambda p: TD.Multinomial(10, p).entropy(), arrays,
            device, rtol=1e-7)


def test_generalized_pareto_densities(device, rng):
    """PyTorch's GeneralizedPareto.log_prob and cdf compare its concentration with a float32 zero and fail for
    float64 parameters: lucid (float64) against torch in float32."""
    arrays = [rng.standard_normal((3, 1)), rng.uniform(0.5, 2, 4), GPD_CONCENTRATION]
    x = _gpd_values(rng, arrays)
    ours = LD.GeneralizedPareto(*lucid_params(arrays, device, requires_grad=False))
    theirs = TD.GeneralizedPareto(*(torch.tensor(a, dtype=torch.float32) for a in arrays))
    for name in ("log_prob", "cdf", "log_cdf", "log_survival_function"):
        got = getattr(ours, name)(lucid.tensor(x, dtype=lucid.float64, device=device))
        want = getattr(theirs, name)(torch.tensor(x, dtype=torch.float32))
        np.testing.assert_allclose(host(got), want.numpy(), rtol=2e-5, atol=1e-6, err_msg=name)


def test_nan_and_inf_moments_where_torch_has_them(device):
    t = lambda v: lucid.tensor(v, dtype=lucid.float64, device=device)  # noqa: E731
    f = LD.FisherSnedecor(t([1.0, 3.0, 5.0]), t([1.5, 3.0, 5.0]))
    g = TD.FisherSnedecor(torch.tensor([1.0, 3.0, 5.0]).double(), torch.tensor([1.5, 3.0, 5.0]).double())
    for name in ("mean", "mode", "variance"):
        np.testing.assert_allclose(host(getattr(f, name)), getattr(g, name).numpy(), equal_nan=True)
    pairs = [(LD.InverseGamma(t([0.5, 1.5, 3.0]), t(1.0)),
              TD.InverseGamma(torch.tensor([0.5, 1.5, 3.0]).double(), 1.0)),
             (LD.Pareto(t(1.0), t([0.5, 1.5, 3.0])), TD.Pareto(1.0, torch.tensor([0.5, 1.5, 3.0]).double())),
             (LD.GeneralizedPareto(t(0.0), t(1.0), t([0.4, 0.7, 1.5])),
              TD.GeneralizedPareto(0.0, 1.0, torch.tensor([0.4, 0.7, 1.5]).double()))]
    for ours, theirs in pairs:
        for name in ("mean", "variance"):
            np.testing.assert_allclose(host(getattr(ours, name)), getattr(theirs, name).numpy(), equal_nan=True)
    w = LD.Wishart(t(3.5), covariance_matrix=lucid.eye(3, dtype=lucid.float64, device=device))
    assert np.isnan(host(w.mode)).all()


def test_kumaraswamy_mode(device):
    """``((a - 1) / (a b - 1))^(1/a)``, the argmax of the density (PyTorch 2.13's formula gives NaN here)."""
    a = np.array([2.0, 3.0, 1.0, 0.5])
    b = np.array([3.0, 1.5, 2.0, 2.0])
    d = LD.Kumaraswamy(lucid.tensor(a, device=device), lucid.tensor(b, device=device))
    mode = host(d.mode)
    np.testing.assert_allclose(mode[:3], ((a[:3] - 1) / (a[:3] * b[:3] - 1)) ** (1 / a[:3]), rtol=1e-6)
    assert np.isnan(mode[3])
    grid = np.linspace(1e-4, 1 - 1e-4, 20001)
    density = a[:2, None] * b[:2, None] * grid ** (a[:2, None] - 1) * (1 - grid ** a[:2, None]) ** (b[:2, None] - 1)
    np.testing.assert_allclose(grid[density.argmax(-1)], mode[:2], atol=1e-3)


# ---- KL divergences ------------------------------------------------------------------------------------------
def _uniform(low, high):
    return (lambda m, a, b: m.Uniform(a, b), lambda r: [np.array(low), np.array(high)])


FAMILIES = {  # name: (build(module, *params), params(rng)) for the KL pairs
    "CB": (lambda m, p: m.ContinuousBernoulli(p), lambda r: [r.uniform(0.05, 0.95, 4)]),
    "Beta": (lambda m, a, b: m.Beta(a, b), lambda r: [r.uniform(0.5, 3, 4), r.uniform(0.5, 3, 4)]),
    "Uniform(inside)": _uniform([0.1, 0.2, 0.0, 0.3], [0.9, 0.5, 0.5, 1.0]),
    "Uniform(wide)": _uniform([-0.5, -1.0, 0.0, -0.1], [1.5, 2.0, 1.5, 1.1]),
    "Uniform(positive)": _uniform([2.0, 3.0, 1.0, 0.5], [3.0, 5.0, 2.0, 1.0]),
    "Exponential": (lambda m, a: m.Exponential(a), lambda r: [r.uniform(0.5, 2, 4)]),
    "Normal": (lambda m, a, b: m.Normal(a, b), lambda r: [r.standard_normal(4), r.uniform(0.5, 2, 4)]),
    "Laplace": (lambda m, a, b: m.Laplace(a, b), lambda r: [r.standard_normal(4), r.uniform(0.5, 2, 4)]),
    "Gamma": (lambda m, a, b: m.Gamma(a, b), lambda r: [r.uniform(0.5, 3, 4), r.uniform(0.5, 2, 4)]),
    "Gumbel": (lambda m, a, b: m.Gumbel(a, b), lambda r: [r.standard_normal(4), r.uniform(0.5, 2, 4)]),
    "Pareto": (lambda m, a, b: m.Pareto(a, b), lambda r: [r.uniform(0.5, 2, 4), np.array([0.8, 1.5, 2.5, 4.0])]),
    "InverseGamma": (lambda m, a, b: m.InverseGamma(a, b), lambda r: [r.uniform(0.5, 3, 4), r.uniform(0.5, 2, 4)]),
    "LowRank": (lambda m, a, w, d: m.LowRankMultivariateNormal(a, w, d),
                lambda r: [r.standard_normal((2, 3)), r.standard_normal((2, 3, 2)), r.uniform(0.5, 2, 3)]),
    "MVN": (lambda m, a, s: m.MultivariateNormal(a, scale_tril=s.tril()),  # (see Wishart(scale_tril))
            lambda r: [r.standard_normal(3), np.linalg.cholesky(_spd(r, 2))]),
    "Wishart": (lambda m, df, s: m.Wishart(df, scale_tril=s.tril()),
                lambda r: [r.uniform(3.5, 6, 2), np.linalg.cholesky(_spd(r))]),
}

KL_PAIRS = [
    ("CB", "CB"), ("Beta", "CB"), ("Uniform(inside)", "CB"), ("Uniform(wide)", "CB"), ("CB", "Exponential"),
    ("CB", "Normal"), ("CB", "Uniform(wide)"), ("CB", "Uniform(inside)"), ("CB", "Pareto"), ("Exponential", "CB"),
    ("Gamma", "CB"), ("Gumbel", "CB"), ("Laplace", "CB"), ("Normal", "CB"), ("Pareto", "CB"),
    ("Pareto", "Pareto"), ("Pareto", "Exponential"), ("Pareto", "Gamma"), ("Pareto", "Normal"), ("Pareto", "Beta"),
    ("Pareto", "Uniform(inside)"), ("Uniform(positive)", "Pareto"), ("Beta", "Pareto"), ("Exponential", "Pareto"),
    ("Gamma", "Pareto"), ("Gumbel", "Pareto"), ("Normal", "Pareto"), ("Laplace", "Pareto"),
    ("Laplace", "Normal"), ("Laplace", "Exponential"), ("Laplace", "Gamma"), ("Laplace", "Beta"),
    ("Laplace", "Uniform(inside)"), ("LowRank", "LowRank"), ("MVN", "LowRank"), ("LowRank", "MVN"),
    ("Wishart", "Wishart"), ("InverseGamma", "InverseGamma"),
]


@pytest.mark.parametrize("p_name, q_name", KL_PAIRS, ids=[f"{p}-{q}" for p, q in KL_PAIRS])
def test_kl_divergence_against_torch(p_name, q_name, device, rng):
    (build_p, params_p), (build_q, params_q) = FAMILIES[p_name], FAMILIES[q_name]
    p_arrays, q_arrays = params_p(rng), params_q(rng)
    k = len(p_arrays)
    compare(torch, lambda *ps: LD.kl_divergence(build_p(LD, *ps[:k]), build_q(LD, *ps[k:])),
            lambda *ps: TD.kl_divergence(build_p(TD, *ps[:k]), build_q(TD, *ps[k:])), p_arrays + q_arrays, device,
            rtol=1e-9)


def test_kl_registry_has_torchs_pairs():
    """Every pair PyTorch registers is registered (lucid adds LogNormal-LogNormal, which PyTorch reaches through
    TransformedDistribution's rule)."""
    ours = {(a.__name__, b.__name__) for a, b in LD.kl._KL_REGISTRY}
    theirs = {(a.__name__, b.__name__) for a, b in TD.kl._KL_REGISTRY}
    assert theirs <= ours, sorted(theirs - ours)
    assert ours - theirs == {("LogNormal", "LogNormal")}


def test_kl_errors_as_torch(device):
    t = lambda v: lucid.tensor(v, dtype=lucid.float64, device=device)  # noqa: E731
    with pytest.raises(NotImplementedError, match="different exponential families"):
        LD.kl_divergence(LD.Wishart(t(4.0), covariance_matrix=t(np.eye(2))), LD.Gamma(t(1.0), t(1.0)).expand(()))
    with pytest.raises(NotImplementedError):  # different transforms (tensor exponents)
        LD.kl_divergence(LD.Kumaraswamy(t(1.0), t(2.0)), LD.Kumaraswamy(t(2.0), t(2.0)))
    a = LD.LowRankMultivariateNormal(t(np.zeros(2)), t(np.ones((2, 1))), t(np.ones(2)))
    b = LD.LowRankMultivariateNormal(t(np.zeros(3)), t(np.ones((3, 1))), t(np.ones(3)))
    with pytest.raises(ValueError, match="different event shapes"):
        LD.kl_divergence(a, b)


# ---- shapes, expand ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_shapes_and_expand_against_torch(case, device, rng):
    build, params, value, *_ = CASES[case]
    arrays = params(rng)
    ours = build(LD, *lucid_params(arrays, device, requires_grad=False))
    theirs = build(TD, *(torch.tensor(a) for a in arrays))
    assert (tuple(ours.batch_shape), tuple(ours.event_shape)) == (tuple(theirs.batch_shape), tuple(theirs.event_shape))
    assert ours.has_rsample == theirs.has_rsample and ours.has_enumerate_support == theirs.has_enumerate_support
    lucid.manual_seed(0)
    draw = ours.sample((5,))
    assert tuple(draw.shape) == (5,) + tuple(ours.batch_shape) + tuple(ours.event_shape)
    assert draw.device == lucid.device(device) and not draw.requires_grad
    assert bool(ours.support.check(draw).all())
    new_batch = (2,) + tuple(ours.batch_shape)
    big = ours.expand(new_batch)
    assert type(big) is type(ours) and tuple(big.batch_shape) == new_batch
    assert tuple(big.sample((3,)).shape) == (3,) + new_batch + tuple(ours.event_shape)
    x = lucid.tensor(value(rng, arrays)[:1], dtype=lucid.float64, device=device)
    got = big.log_prob(x)
    want = ours.log_prob(x)
    assert tuple(got.shape) == np.broadcast_shapes(tuple(x.shape[: x.ndim - len(ours.event_shape)]), new_batch)
    np.testing.assert_allclose(host(got), np.broadcast_to(host(want), tuple(got.shape)), rtol=1e-12)


def test_numbers_give_scalar_distributions():
    for d in (LD.ContinuousBernoulli(0.3), LD.FisherSnedecor(3.0, 4.0), LD.GeneralizedPareto(0.0, 1.0, 0.1),
              LD.InverseGamma(2.0, 3.0), LD.Kumaraswamy(1.0, 2.0), LD.Pareto(1.0, 2.0), LD.Weibull(1.0, 2.0)):
        assert tuple(d.batch_shape) == () and tuple(d.sample().shape) == ()
    assert tuple(LD.LogisticNormal(0.0, 1.0).event_shape) == (2,)
    assert tuple(LD.Wishart(4.0, covariance_matrix=lucid.eye(2)).batch_shape) == ()


def test_multinomial_has_no_enumerate_support(device):
    d = LD.Multinomial(3, lucid.tensor([0.2, 0.8], device=device))
    assert not d.has_enumerate_support
    with pytest.raises(NotImplementedError):
        d.enumerate_support()
    with pytest.raises(NotImplementedError, match="inhomogeneous total_count"):
        LD.Multinomial(lucid.tensor(3), lucid.tensor([0.2, 0.8], device=device))


# ---- sample moments (many draws, a fixed seed, six standard errors) ---------------------------------------------
MOMENT_CASES = {
    "ContinuousBernoulli": lambda t: LD.ContinuousBernoulli(t([0.1, 0.4999, 0.7, 0.95])),
    "FisherSnedecor": lambda t: LD.FisherSnedecor(t([3.0, 10.0]), t([12.0, 20.0])),
    "GeneralizedPareto": lambda t: LD.GeneralizedPareto(t(1.0), t([0.5, 2.0, 1.0]), t([-0.5, 0.0, 0.15])),
    "InverseGamma": lambda t: LD.InverseGamma(t([5.0, 9.0]), t([1.0, 3.0])),
    "Kumaraswamy": lambda t: LD.Kumaraswamy(t([0.5, 2.0, 5.0]), t([3.0, 0.7, 2.0])),
    "Pareto": lambda t: LD.Pareto(t([1.0, 2.0]), t([5.0, 9.0])),
    "Weibull": lambda t: LD.Weibull(t([1.0, 2.0]), t([0.8, 3.0])),
    "LowRankMultivariateNormal": lambda t: LD.LowRankMultivariateNormal(t([1.0, -1.0, 0.0]),
                                                                        t([[1.0, 0.0], [0.5, 1.0], [0.0, 2.0]]),
                                                                        t([0.5, 1.0, 0.2])),
    "Multinomial": lambda t: LD.Multinomial(12, t([0.1, 0.2, 0.3, 0.4])),
    "Wishart": lambda t: LD.Wishart(t(5.0), covariance_matrix=t([[2.0, 0.5], [0.5, 1.0]])),
}


@pytest.mark.parametrize("case", MOMENT_CASES)
def test_sample_moments(case, device):
    t = lambda v: lucid.tensor(v, dtype=lucid.float64, device=device)  # noqa: E731
    d = MOMENT_CASES[case](t)
    lucid.manual_seed(1)
    x = host(d.sample((40000,)))
    moments_close(x, host(d.mean), host(d.variance), case)


def test_lkj_cholesky_samples(device):
    """``L L^T`` is a correlation matrix whose off-diagonal entries all have mean 0 and variance
    ``1 / (2 eta + d - 1)`` (their marginal is a Beta(eta - 1 + d/2, eta - 1 + d/2) on [-1, 1]); PyTorch's
    sampler fails this below the second row."""
    eta = np.array([0.5, 1.0, 4.0])
    d = LD.LKJCholesky(4, lucid.tensor(eta, dtype=lucid.float64, device=device))
    lucid.manual_seed(2)
    L = host(d.sample((20000,)))
    corr = L @ np.swapaxes(L, -1, -2)
    np.testing.assert_allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0, atol=1e-12)
    for i, j in ((1, 0), (2, 0), (2, 1), (3, 0), (3, 2)):
        moments_close(corr[..., i, j], np.zeros(3), 1 / (2 * eta + 3), f"LKJ ({i}, {j})")


def test_logistic_normal_samples(device):
    """The stick-breaking inverse of a sample is a draw of the base normal."""
    loc, scale = np.array([0.5, -1.0, 0.0]), np.array([1.0, 0.5, 2.0])
    d = LD.LogisticNormal(lucid.tensor(loc, device=device), lucid.tensor(scale, device=device))
    lucid.manual_seed(3)
    y = d.sample((40000,))
    np.testing.assert_allclose(host(y).sum(-1), 1.0, atol=1e-5)
    x = host(LT.StickBreakingTransform().inv(y.to(lucid.float64)))
    moments_close(x, loc, scale**2, "LogisticNormal")


# ---- reparameterised gradients ---------------------------------------------------------------------------------
UNIVARIATE_RSAMPLE = {  # name: (build(module, *params), params) with an increasing map from the noise
    "ContinuousBernoulli": (lambda m, p: m.ContinuousBernoulli(p), [np.array([0.1, 0.4999, 0.7, 0.95])]),
    "GeneralizedPareto": (lambda m, a, b, c: m.GeneralizedPareto(a, b, c),
                          [np.array([0.0, 1.0, -1.0, 0.5]), np.array([0.5, 2.0, 1.0, 1.5]),
                           np.array([-0.5, 0.0, 0.15, 0.3])]),
    "Kumaraswamy": (lambda m, a, b: m.Kumaraswamy(a, b), [np.array([0.5, 2.0, 5.0, 1.0]),
                                                          np.array([3.0, 0.7, 2.0, 1.0])]),
    "Pareto": (lambda m, a, b: m.Pareto(a, b), [np.array([1.0, 2.0, 0.5, 1.5]), np.array([1.5, 3.0, 9.0, 0.7])]),
    "Weibull": (lambda m, a, b: m.Weibull(a, b), [np.array([1.0, 2.0, 0.5, 1.5]), np.array([0.8, 3.0, 1.0, 5.0])]),
}


@pytest.mark.parametrize("case", UNIVARIATE_RSAMPLE)
def test_rsample_gradient_against_torch(case, device):
    """``d x / d theta`` of a reparameterised draw at fixed noise is ``-(dF/d theta) / p`` at the draw for any
    increasing map of the noise (the inverse cdf, torch's transforms): torch's cdf and density at lucid's draws."""
    build, arrays = UNIVARIATE_RSAMPLE[case]
    ours = lucid_params(arrays, device)
    lucid.manual_seed(4)
    x = build(LD, *ours).rsample((3,))
    w = np.random.default_rng(5).standard_normal(tuple(x.shape))
    got = lucid.autograd.grad((x * lucid.tensor(w, device=device)).sum(), ours)
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    d = build(TD, *theirs)
    xt = torch.tensor(host(x))
    if case == "GeneralizedPareto":  # (torch's GeneralizedPareto scores only float32)
        z = (xt - theirs[0]) / theirs[1]
        c = torch.where(theirs[2] == 0, 1.0, theirs[2])
        cdf = torch.where(theirs[2] == 0, -torch.expm1(-z), 1 - torch.exp(-torch.log1p(c * z) / c))
        density = torch.where(theirs[2] == 0, torch.exp(-z), torch.exp(-(1 / c + 1) * torch.log1p(c * z))) / theirs[1]
    else:
        cdf, density = d.cdf(xt), d.log_prob(xt).exp()
    want = torch.autograd.grad(-(cdf * (torch.tensor(w) / density).detach()).sum(), theirs)
    for g, h in zip(got, want):
        np.testing.assert_allclose(host(g), h.numpy(), rtol=1e-6, atol=1e-9)


class _TorchStandardGamma(torch.autograd.Function):
    """A given standard gamma draw ``x`` whose gradient to ``alpha`` is torch's ``_standard_gamma_grad``."""

    @staticmethod
    def forward(ctx, alpha, x):
        ctx.save_for_backward(alpha, x)
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        alpha, x = ctx.saved_tensors
        return grad * torch._standard_gamma_grad(alpha, x), None


def _torch_gamma(alpha, seed, device, shape):
    """torch's reparameterised ``Gamma(alpha, 1)`` draw at lucid's draw for ``seed`` (same noise)."""
    lucid.manual_seed(seed)
    g = _draw_standard_gamma(lucid.tensor(alpha.detach().expand(shape).numpy(), device=device))
    return _TorchStandardGamma.apply(alpha.expand(shape), torch.tensor(host(g)))


def test_gamma_based_rsample_gradients_against_torch(device):
    """InverseGamma, FisherSnedecor and Wishart draws at the same gamma (and normal) noise as torch's
    reparameterisation, with torch's implicit gamma gradient."""
    conc, rate = np.array([0.7, 2.0, 5.0]), np.array([1.0, 0.5, 3.0])
    ours = lucid_params([conc, rate], device)
    lucid.manual_seed(6)
    x = LD.InverseGamma(*ours).rsample((4,))
    theirs = [torch.tensor(a, requires_grad=True) for a in (conc, rate)]
    xt = theirs[1] / _torch_gamma(theirs[0], 6, device, (4, 3))
    np.testing.assert_allclose(host(x), xt.detach().numpy(), rtol=1e-12)
    _same_gradients(x, xt, ours, theirs, device)

    df1, df2 = np.array([2.0, 5.0]), np.array([3.0, 9.0])
    ours = lucid_params([df1, df2], device)
    lucid.manual_seed(7)
    draws = [_draw_standard_gamma(lucid.tensor(0.5 * a, device=device).expand((4, 2))) for a in (df1, df2)]
    lucid.manual_seed(7)
    x = LD.FisherSnedecor(*ours).rsample((4,))
    theirs = [torch.tensor(a, requires_grad=True) for a in (df1, df2)]
    gammas = [_TorchStandardGamma.apply((0.5 * t).expand(4, 2), torch.tensor(host(g))) / t
              for t, g in zip(theirs, draws)]
    _same_gradients(x, gammas[0] / gammas[1], ours, theirs, device)

    df, tril = np.array([3.5, 6.0]), np.linalg.cholesky(_spd(np.random.default_rng(8)))
    ours = lucid_params([df, tril], device)
    lucid.manual_seed(9)
    x = LD.Wishart(ours[0], scale_tril=ours[1]).rsample((4,))
    lucid.manual_seed(9)
    alpha = (df[:, None] - np.arange(3)) / 2
    g = _draw_standard_gamma(lucid.tensor(np.broadcast_to(alpha, (4, 2, 3)).copy(), device=device))
    normal = host(lucid.randn((4, 2, 3), dtype=lucid.float64, device=device))
    theirs = [torch.tensor(a, requires_grad=True) for a in (df, tril)]
    chi2 = 2 * _TorchStandardGamma.apply(((theirs[0][:, None] - torch.arange(3.0).double()) / 2).expand(4, 2, 3),
                                         torch.tensor(host(g)))
    noise = torch.diag_embed(chi2.sqrt())
    i, j = torch.tril_indices(3, 3, -1)
    noise[..., i, j] = torch.tensor(normal)
    chol = theirs[1] @ noise
    _same_gradients(x, chol @ chol.mT, ours, theirs, device)


def _same_gradients(x, xt, ours, theirs, device):
    np.testing.assert_allclose(host(x), xt.detach().numpy(), rtol=1e-10)
    w = np.random.default_rng(10).standard_normal(tuple(x.shape))
    got = lucid.autograd.grad((x * lucid.tensor(w, device=device)).sum(), ours)
    want = torch.autograd.grad((xt * torch.tensor(w)).sum(), theirs)
    for g, h in zip(got, want):
        np.testing.assert_allclose(host(g), h.numpy(), rtol=1e-8, atol=1e-10)


def test_logistic_normal_and_low_rank_rsample_gradients_against_torch(device, rng):
    loc, scale = rng.standard_normal((2, 3)), rng.uniform(0.5, 2, (2, 3))
    ours = lucid_params([loc, scale], device)
    lucid.manual_seed(11)
    x = LD.LogisticNormal(*ours).rsample((4,))
    lucid.manual_seed(11)
    eps = torch.tensor(host(lucid.randn((4, 2, 3), dtype=lucid.float64, device=device)))
    theirs = [torch.tensor(a, requires_grad=True) for a in (loc, scale)]
    _same_gradients(x, TD.StickBreakingTransform()(theirs[0] + theirs[1] * eps), ours, theirs, device)

    arrays = [rng.standard_normal((2, 3)), rng.standard_normal((3, 2)), rng.uniform(0.5, 2, (2, 3))]
    ours = lucid_params(arrays, device)
    lucid.manual_seed(12)
    x = LD.LowRankMultivariateNormal(*ours).rsample((4,))
    lucid.manual_seed(12)
    eps_w = torch.tensor(host(lucid.randn((4, 2, 2), dtype=lucid.float64, device=device)))
    eps_d = torch.tensor(host(lucid.randn((4, 2, 3), dtype=lucid.float64, device=device)))
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    xt = theirs[0] + (theirs[1] @ eps_w.unsqueeze(-1)).squeeze(-1) + theirs[2].sqrt() * eps_d
    _same_gradients(x, xt, ours, theirs, device)


def test_log_prob_gradcheck(device, rng):
    """Finite differences of the new densities (float64), through their parameters and values."""
    arrays = [rng.standard_normal(3), rng.standard_normal((3, 2)), rng.uniform(0.5, 2, 3), rng.standard_normal(3)]
    params = lucid_params(arrays, device)
    assert lucid.autograd.gradcheck(lambda a, w, d, x: LD.LowRankMultivariateNormal(a, w, d).log_prob(x), params)
    arrays = [np.array(4.5), np.linalg.cholesky(_spd(rng)), _spd(rng)]
    params = lucid_params(arrays, device)
    assert lucid.autograd.gradcheck(lambda df, s, x: LD.Wishart(df, scale_tril=s.tril(), validate_args=False)
                                    .log_prob(x), params)
    params = lucid_params([rng.standard_normal(6)], device)
    assert lucid.autograd.gradcheck(lambda x: LT.CorrCholeskyTransform()(x), params)
    params = lucid_params([rng.uniform(0.2, 0.8, 4), rng.uniform(0.1, 0.9, 4)], device)
    assert lucid.autograd.gradcheck(lambda p, x: LD.ContinuousBernoulli(p).log_prob(x), params)


# ---- validation ------------------------------------------------------------------------------------------------
BAD_PARAMETERS = [
    ("probs", lambda t: LD.ContinuousBernoulli(t([0.5, 1.5]))),
    ("df1", lambda t: LD.FisherSnedecor(t(-1.0), t(2.0))),
    ("df2", lambda t: LD.FisherSnedecor(t(1.0), t(0.0))),
    ("scale", lambda t: LD.GeneralizedPareto(t(0.0), t(0.0), t(0.5))),
    ("concentration", lambda t: LD.InverseGamma(t(-1.0), t(1.0))),
    ("concentration1", lambda t: LD.Kumaraswamy(t(0.0), t(1.0))),
    ("concentration0", lambda t: LD.Kumaraswamy(t(1.0), t(-2.0))),
    ("rate", lambda t: LD.Pareto(t(1.0), t(-1.0))),
    ("scale", lambda t: LD.Pareto(t(-1.0), t(1.0))),
    ("scale", lambda t: LD.Weibull(t(-1.0), t(1.0))),
    ("concentration", lambda t: LD.Weibull(t(1.0), t(0.0))),
    ("scale", lambda t: LD.LogisticNormal(t([0.0, 0.0]), t([1.0, -1.0]))),
    ("cov_diag", lambda t: LD.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0], [1.0]]), t([1.0, 0.0]))),
    ("probs", lambda t: LD.Multinomial(3, t([-0.1, 1.1]))),
    ("concentration", lambda t: LD.LKJCholesky(3, t(-1.0))),
    ("covariance_matrix", lambda t: LD.Wishart(t(3.0), t([[1.0, 2.0], [2.0, 1.0]]))),
]


@pytest.mark.parametrize("param, build", BAD_PARAMETERS, ids=[f"{i}-{p}" for i, (p, _) in enumerate(BAD_PARAMETERS)])
def test_invalid_parameters_raise(param, build, device):
    t = lambda v: lucid.tensor(np.asarray(v, dtype=np.float64), device=device)  # noqa: E731
    with pytest.raises(ValueError, match=f"Expected parameter {param} .* to satisfy the constraint"):
        build(t)


OUT_OF_SUPPORT = [
    (lambda t: LD.ContinuousBernoulli(t(0.3)), 1.5),
    (lambda t: LD.FisherSnedecor(t(2.0), t(3.0)), -1.0),
    (lambda t: LD.GeneralizedPareto(t(1.0), t(1.0), t(0.2)), 0.5),
    (lambda t: LD.GeneralizedPareto(t(0.0), t(1.0), t(-0.5)), 2.5),
    (lambda t: LD.InverseGamma(t(2.0), t(1.0)), 0.0),
    (lambda t: LD.Kumaraswamy(t(2.0), t(1.0)), 1.5),
    (lambda t: LD.Pareto(t(2.0), t(1.0)), 1.5),
    (lambda t: LD.Weibull(t(2.0), t(1.0)), -0.5),
    (lambda t: LD.LogisticNormal(t([0.0, 0.0]), t([1.0, 1.0])), [0.5, 0.5, 0.5]),
    (lambda t: LD.Multinomial(3, t([0.5, 0.5])), [3.0, 1.0]),
    (lambda t: LD.Multinomial(3, t([0.5, 0.5])), [-1.0, 1.0]),
    (lambda t: LD.LKJCholesky(2, t(1.0)), [[1.0, 0.0], [0.5, 0.5]]),
    (lambda t: LD.Wishart(t(3.0), covariance_matrix=t(np.eye(2))), [[1.0, 2.0], [2.0, 1.0]]),
]


@pytest.mark.parametrize("build, value", OUT_OF_SUPPORT)
def test_values_outside_the_support_raise(build, value, device):
    t = lambda v: lucid.tensor(np.asarray(v, dtype=np.float64), device=device)  # noqa: E731
    with pytest.raises(ValueError, match="to be within the support"):
        build(t).log_prob(t(value))


def test_argument_errors(device):
    t = lambda v: lucid.tensor(np.asarray(v, dtype=np.float64), device=device)  # noqa: E731
    with pytest.raises(ValueError, match="greater than or equal to 2"):
        LD.LKJCholesky(1)
    with pytest.raises(ValueError, match="cov_factor must be a batch of matrices with shape 2 x m"):
        LD.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0], [1.0], [1.0]]), t([1.0, 1.0]))
    with pytest.raises(ValueError, match="cov_diag must be a batch of vectors"):
        LD.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0], [1.0]]), t([1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="Incompatible batch shapes"):
        LD.LowRankMultivariateNormal(t(np.zeros((2, 2))), t(np.ones((3, 2, 1))), t([1.0, 1.0]))
    with pytest.raises(ValueError, match="Exactly one of"):
        LD.Wishart(t(3.0))
    with pytest.raises(ValueError, match="greater than ndim - 1 = 2"):
        LD.Wishart(t(2.0), covariance_matrix=t(np.eye(3)))
    with pytest.warns(UserWarning, match="Low df values detected"):
        LD.Wishart(t(2.5), covariance_matrix=t(np.eye(3)))
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        LD.ContinuousBernoulli()


def test_wishart_draws_are_positive_definite_and_deterministic_per_seed(device):
    with pytest.warns(UserWarning, match="Low df values"):
        d = LD.Wishart(lucid.tensor(2.2, dtype=lucid.float64, device=device),
                       covariance_matrix=lucid.eye(3, dtype=lucid.float64, device=device), validate_args=False)
    lucid.manual_seed(13)
    a = d.rsample((500,))
    lucid.manual_seed(13)
    b = d.rsample((500,))
    np.testing.assert_array_equal(host(a), host(b))
    assert (np.linalg.eigvalsh(host(a)) > 0).mean() > 0.99


# ---- transforms and constraints ----------------------------------------------------------------------------------
def _transform_pairs():
    return [
        ("Reshape", lambda m: m.ReshapeTransform((2, 3), (3, 2)), lambda r: r.standard_normal((4, 2, 3))),
        ("CorrCholesky", lambda m: m.CorrCholeskyTransform(), lambda r: r.standard_normal((4, 6))),
        ("Cat", lambda m: m.CatTransform([m.ExpTransform(), m.AffineTransform(1.0, 2.0), m.SigmoidTransform()],
                                         dim=-1, lengths=[2, 1, 2]), lambda r: r.standard_normal((4, 5))),
        ("Cat(event)", lambda m: m.CatTransform([m.IndependentTransform(m.ExpTransform(), 1), m.IndependentTransform(
            m.SigmoidTransform(), 1)], dim=0, lengths=[2, 3]), lambda r: r.standard_normal((5, 3))),
        ("Stack", lambda m: m.StackTransform([m.ExpTransform(), m.TanhTransform(), m.SoftplusTransform()], dim=1),
         lambda r: r.standard_normal((4, 3))),
        ("CumulativeDistribution", lambda m: m.CumulativeDistributionTransform(
            (TD if m is TD.transforms else LD).Normal(0.5, 2.0)), lambda r: r.standard_normal((4, 3))),
    ]


@pytest.mark.parametrize("index", range(len(_transform_pairs())), ids=[n for n, *_ in _transform_pairs()])
def test_transforms_against_torch(index, device, rng):
    _, build, value = _transform_pairs()[index]
    x = value(rng)
    ours_t, theirs_t = build(LT), build(TD.transforms)
    if isinstance(ours_t, LT.CumulativeDistributionTransform):
        ours_t = LT.CumulativeDistributionTransform(LD.Normal(lucid.tensor(0.5, dtype=lucid.float64, device=device),
                                                              lucid.tensor(2.0, dtype=lucid.float64, device=device)))
    for fn in (lambda t, x: t(x), lambda t, x: t.inv(t(x)), lambda t, x: t.log_abs_det_jacobian(x, t(x))):
        compare(torch, lambda a, fn=fn: fn(ours_t, a), lambda a, fn=fn: fn(theirs_t, a), [x], device, rtol=1e-8)
    assert ours_t.bijective == theirs_t.bijective
    assert ours_t.domain.event_dim == theirs_t.domain.event_dim
    assert ours_t.codomain.event_dim == theirs_t.codomain.event_dim
    assert tuple(ours_t.forward_shape(x.shape)) == tuple(theirs_t.forward_shape(torch.Size(x.shape)))
    y_shape = tuple(theirs_t.forward_shape(torch.Size(x.shape)))
    assert tuple(ours_t.inverse_shape(y_shape)) == tuple(theirs_t.inverse_shape(torch.Size(y_shape)))
    y = ours_t(lucid.tensor(x, device=device))
    assert bool(ours_t.codomain.check(y).all())


def test_positive_definite_transform(device, rng):
    x = rng.standard_normal((2, 3, 3))
    compare(torch, lambda a: LT.PositiveDefiniteTransform()(a), lambda a: TD.PositiveDefiniteTransform()(a), [x],
            device)
    y = LT.PositiveDefiniteTransform()(lucid.tensor(x, device=device))
    back = LT.PositiveDefiniteTransform().inv(y)
    np.testing.assert_allclose(host(LT.PositiveDefiniteTransform()(back)), host(y), rtol=1e-9)
    assert bool(C.positive_definite.check(y).all())


def test_transform_errors(device):
    with pytest.raises(ValueError, match="different numbers of elements"):
        LT.ReshapeTransform((2, 3), (4,))
    with pytest.raises(ValueError, match="not a flattened strictly lower triangle"):
        LT.CorrCholeskyTransform().forward_shape((4,))
    with pytest.raises(ValueError, match="must equal the sum of lengths 3"):
        LT.CatTransform([LT.ExpTransform(), LT.ExpTransform()], dim=0, lengths=[1, 2])(lucid.zeros(4, device=device))
    with pytest.raises(ValueError, match="must equal the number of transforms 2"):
        LT.StackTransform([LT.ExpTransform(), LT.ExpTransform()])(lucid.zeros(3, device=device))


def test_registry_and_new_constraints_against_torch(device, rng):
    for constraint, theirs in ((C.corr_cholesky, TD.constraints.corr_cholesky),
                               (C.cat([C.positive, C.real], 0, [2, 1]),
                                TD.constraints.cat([TD.constraints.positive, TD.constraints.real], 0, [2, 1])),
                               (C.stack([C.unit_interval, C.positive], -1),
                                TD.constraints.stack([TD.constraints.unit_interval, TD.constraints.positive], -1))):
        for registry, their_registry in ((LD.biject_to, TD.biject_to), (LD.transform_to, TD.transform_to)):
            assert type(registry(constraint)).__name__ == type(their_registry(theirs)).__name__
        assert constraint.event_dim == theirs.event_dim and constraint.is_discrete == theirs.is_discrete
    assert type(LD.transform_to(C.positive_definite)) is LT.PositiveDefiniteTransform
    assert type(LD.transform_to(C.positive_semidefinite)) is LT.PositiveDefiniteTransform
    good, bad = _corr_cholesky(rng, 2), _corr_cholesky(rng, 2) * 1.01
    value = np.stack([good, bad])
    np.testing.assert_array_equal(host(C.corr_cholesky.check(lucid.tensor(value, device=device))),
                                  TD.constraints.corr_cholesky.check(torch.tensor(value)).numpy())
    v = np.array([[1.0, -1.0, 0.5], [2.0, 3.0, -4.0]])
    for ours, theirs in ((C.cat([C.positive, C.real], 1, [2, 1]),
                          TD.constraints.cat([TD.constraints.positive, TD.constraints.real], 1, [2, 1])),
                         (C.stack([C.positive, C.real, C.unit_interval], 1),
                          TD.constraints.stack([TD.constraints.positive, TD.constraints.real,
                                                TD.constraints.unit_interval], 1))):
        np.testing.assert_array_equal(host(ours.check(lucid.tensor(v, device=device))),
                                      theirs.check(torch.tensor(v)).numpy())
    unconstrained = lucid.tensor(rng.standard_normal((3, 6)), device=device)
    assert bool(C.corr_cholesky.check(LD.biject_to(C.corr_cholesky)(unconstrained)).all())


def test_mixture_same_family_support(device):
    """The support checks each value against every component (PyTorch's MixtureSameFamilyConstraint)."""
    t = lambda v: lucid.tensor(np.asarray(v, dtype=np.float64), device=device)  # noqa: E731
    mix = LD.MixtureSameFamily(LD.Categorical(t([[0.5, 0.5], [0.3, 0.7]])),
                               LD.Uniform(t([[0.0, 1.0], [0.0, 2.0]]), t([[2.0, 3.0], [4.0, 5.0]])))
    assert isinstance(mix.support, C.MixtureSameFamilyConstraint)
    theirs = TD.MixtureSameFamily(TD.Categorical(torch.tensor([[0.5, 0.5], [0.3, 0.7]])),
                                  TD.Uniform(torch.tensor([[0.0, 1.0], [0.0, 2.0]]),
                                             torch.tensor([[2.0, 3.0], [4.0, 5.0]])))
    value = np.array([[1.5, 3.0], [0.5, 2.5], [2.5, 4.5]])
    np.testing.assert_array_equal(host(mix.support.check(t(value))), theirs.support.check(torch.tensor(value)).numpy())
    assert repr(mix.support).startswith("MixtureSameFamilyConstraint(Interval(lower_bound=tensor(")
    with pytest.raises(ValueError, match="to be within the support"):
        mix.log_prob(t([0.5, 2.5]))


def test_reached_through_torch_compat():
    from lucid import torch_compat

    for module in ("continuous_bernoulli", "fishersnedecor", "generalized_pareto", "inverse_gamma", "kumaraswamy",
                   "lkj_cholesky", "logistic_normal", "lowrank_multivariate_normal", "multinomial", "pareto",
                   "weibull", "wishart"):
        assert torch_compat.ALIASES[f"torch.distributions.{module}"] == f"lucid.distributions.{module}"


def test_inverse_gamma_cdf(device, rng):
    """Through the decreasing PowerTransform(-1): ``1 - Gamma.cdf(1 / x)`` (PyTorch's gamma cdf has no gradient
    in the concentration, which stays a constant here)."""
    conc = rng.uniform(0.5, 3, (3, 1))
    arrays = [rng.uniform(0.5, 2, 4), 1 / rng.gamma(2, 1, (2, 3, 4))]
    compare(torch, lambda r, x: LD.InverseGamma(lucid.tensor(conc, device=device), r).cdf(x),
            lambda r, x: TD.InverseGamma(torch.tensor(conc), r).cdf(x), arrays, device)
