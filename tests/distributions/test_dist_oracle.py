"""lucid.distributions against torch.distributions (float64): log_prob, cdf, icdf, entropy, mean, mode,
variance, stddev, derived parameters and kl_divergence, values and gradients with respect to every
parameter (and to the scored value), for random parameters with broadcast shapes."""

from __future__ import annotations

import numpy as np
import pytest
from dist_helpers import compare

import lucid
import lucid.distributions as LD

torch = pytest.importorskip("torch")
TD = torch.distributions


def _spd(r, *batch, n=3):
    a = r.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _tril(r, *batch, n=3):
    return np.tril(r.standard_normal(batch + (n, n)), -1) + np.diag(r.uniform(0.5, 2, n))


def _onehot(r, shape, k):
    return np.eye(k)[r.integers(0, k, shape)]


# name: (build(module, *params), params(rng), value(rng), icdf probabilities(rng) or None, methods)
UNIVARIATE = ["mean", "mode", "variance", "stddev", "entropy"]
CASES = {
    "Normal": (lambda m, a, b: m.Normal(a, b), lambda r: [r.standard_normal((3, 1)), r.uniform(0.5, 2, 4)],
               lambda r, p: r.standard_normal((2, 3, 4)), lambda r: r.uniform(0.05, 0.95, (3, 4)),
               ["log_prob", "cdf", "icdf", *UNIVARIATE]),
    "LogNormal": (lambda m, a, b: m.LogNormal(a, b), lambda r: [r.standard_normal((3, 1)) / 2, r.uniform(0.5, 1, 4)],
                  lambda r, p: np.exp(r.standard_normal((2, 3, 4))), lambda r: r.uniform(0.05, 0.95, (3, 4)),
                  ["log_prob", "cdf", "icdf", *UNIVARIATE]),
    "Uniform": (lambda m, a, b: m.Uniform(a, b),
                lambda r: [(low := r.standard_normal((3, 1))), low + r.uniform(0.5, 2, (3, 4))],
                lambda r, p: p[0] + r.uniform(0, 1, (2, 3, 4)) * (p[1] - p[0]), lambda r: r.uniform(0, 1, (3, 4)),
                ["log_prob", "cdf", "icdf", *UNIVARIATE]),
    "Exponential": (lambda m, a: m.Exponential(a), lambda r: [r.uniform(0.5, 2, (3, 4))],
                    lambda r, p: r.exponential(1, (2, 3, 4)), lambda r: r.uniform(0.05, 0.95, (3, 4)),
                    ["log_prob", "cdf", "icdf", *UNIVARIATE]),
    "Laplace": (lambda m, a, b: m.Laplace(a, b), lambda r: [r.standard_normal((3, 1)), r.uniform(0.5, 2, 4)],
                lambda r, p: r.standard_normal((2, 3, 4)), lambda r: r.uniform(0.05, 0.95, (3, 4)),
                ["log_prob", "cdf", "icdf", *UNIVARIATE]),
    "Poisson": (lambda m, a: m.Poisson(a), lambda r: [r.uniform(0.5, 5, (3, 4))],
                lambda r, p: r.poisson(2, (2, 3, 4)).astype(float), None, ["log_prob", "mean", "mode", "variance"]),
    "Bernoulli(probs)": (lambda m, a: m.Bernoulli(probs=a), lambda r: [r.uniform(0.05, 0.95, (3, 4))],
                         lambda r, p: r.integers(0, 2, (2, 3, 4)).astype(float), None,
                         ["log_prob", "logits", *UNIVARIATE]),
    "Bernoulli(logits)": (lambda m, a: m.Bernoulli(logits=a), lambda r: [2 * r.standard_normal((3, 4))],
                          lambda r, p: r.integers(0, 2, (3, 4)).astype(float), None,
                          ["log_prob", "probs", *UNIVARIATE]),
    "Categorical(probs)": (lambda m, a: m.Categorical(probs=a), lambda r: [r.uniform(0.1, 1, (3, 5))],
                           lambda r, p: r.integers(0, 5, (2, 3)), None,
                           ["log_prob", "probs", "logits", "entropy", "mode", "mean", "variance"]),
    "Categorical(logits)": (lambda m, a: m.Categorical(logits=a), lambda r: [r.standard_normal((2, 1, 5))],
                            lambda r, p: r.integers(0, 5, (4, 2, 3)), None, ["log_prob", "probs", "logits", "entropy"]),
    "OneHotCategorical": (lambda m, a: m.OneHotCategorical(logits=a), lambda r: [r.standard_normal((3, 5))],
                          lambda r, p: _onehot(r, (2, 3), 5), None, ["log_prob", "probs", *UNIVARIATE]),
    "MultivariateNormal(cov)": (lambda m, a, b: m.MultivariateNormal(a, covariance_matrix=b),
                                lambda r: [r.standard_normal((2, 3)), _spd(r)],
                                lambda r, p: r.standard_normal((4, 2, 3)), None,
                                ["log_prob", "scale_tril", "precision_matrix", *UNIVARIATE]),
    "MultivariateNormal(precision)": (lambda m, a, b: m.MultivariateNormal(a, precision_matrix=b),
                                      lambda r: [r.standard_normal(3), _spd(r, 2)],
                                      lambda r, p: r.standard_normal((4, 1, 3)), None,
                                      ["log_prob", "covariance_matrix", "scale_tril", *UNIVARIATE]),
    "MultivariateNormal(scale_tril)": (lambda m, a, b: m.MultivariateNormal(a, scale_tril=b),
                                       lambda r: [r.standard_normal((2, 3)), _tril(r)],
                                       lambda r, p: r.standard_normal((4, 2, 3)), None,
                                       ["log_prob", "covariance_matrix", *UNIVARIATE]),
    "Independent(Normal)": (lambda m, a, b: m.Independent(m.Normal(a, b), 1),
                            lambda r: [r.standard_normal((2, 3)), r.uniform(0.5, 2, (2, 3))],
                            lambda r, p: r.standard_normal((4, 2, 3)), None, ["log_prob", *UNIVARIATE]),
}


def _method(name):
    if name in ("log_prob", "cdf", "icdf"):
        return lambda d, v: getattr(d, name)(v)
    if name in ("entropy",):
        return lambda d: d.entropy()
    return lambda d: getattr(d, name)


@pytest.mark.parametrize("case", CASES)
def test_against_torch(case, device, rng):
    build, params, value, probabilities, methods = CASES[case]
    arrays = params(rng)
    for name in methods:
        at = None
        if name in ("log_prob", "cdf", "icdf"):
            at = probabilities(rng) if name == "icdf" else value(rng, arrays)
        fn = _method(name)
        extra = [] if at is None else [at]
        compare(torch, lambda *ps, fn=fn: fn(build(LD, *ps[: len(arrays)]), *ps[len(arrays):]),
                lambda *ps, fn=fn: fn(build(TD, *ps[: len(arrays)]), *ps[len(arrays):]), arrays + extra, device)


def test_precision_from_scale_tril(device, rng):
    """PyTorch's cholesky_inverse gives the (structurally zero) upper triangle of scale_tril a gradient,
    lucid's does not: the values and the gradient of the lower triangle agree."""
    L = _tril(rng, 2)
    ours = lucid.tensor(L, dtype=lucid.float64, device=device, requires_grad=True)
    theirs = torch.tensor(L, requires_grad=True)
    got = LD.MultivariateNormal(lucid.zeros(3, dtype=lucid.float64, device=device), scale_tril=ours).precision_matrix
    want = TD.MultivariateNormal(torch.zeros(3, dtype=torch.float64), scale_tril=theirs).precision_matrix
    np.testing.assert_allclose(got.numpy(force=True), want.detach().numpy(), rtol=1e-10)
    got.pow(2).sum().backward()
    want.pow(2).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(force=True), np.tril(theirs.grad.numpy()), rtol=1e-9, atol=1e-12)


# name: (case of CASES for p and q, q's parameters when they must relate to p's)
KL_CASES = {
    "Normal": None, "LogNormal": None, "Exponential": None, "Laplace": None, "Poisson": None,
    "Bernoulli(probs)": None, "Bernoulli(logits)": None, "Categorical(probs)": None, "Categorical(logits)": None,
    "OneHotCategorical": None, "MultivariateNormal(cov)": None, "MultivariateNormal(scale_tril)": None,
    "Independent(Normal)": None,
    "Uniform": lambda r, p: [p[0] - r.uniform(0, 1, p[0].shape), p[1] + r.uniform(0, 1, p[1].shape)],
}


@pytest.mark.parametrize("case", KL_CASES)
def test_kl_divergence_against_torch(case, device, rng):
    build, params, *_ = CASES[case]
    p_arrays = params(rng)
    q_arrays = KL_CASES[case](rng, p_arrays) if KL_CASES[case] else params(rng)
    k = len(p_arrays)
    compare(torch, lambda *ps: LD.kl_divergence(build(LD, *ps[:k]), build(LD, *ps[k:])),
            lambda *ps: TD.kl_divergence(build(TD, *ps[:k]), build(TD, *ps[k:])), p_arrays + q_arrays, device)


def test_kl_between_multivariate_normals_of_different_parameterisations(device, rng):
    arrays = [rng.standard_normal((2, 3)), _spd(rng, 2), rng.standard_normal(3), _tril(rng)]
    compare(torch, lambda a, b, c, d: LD.kl_divergence(LD.MultivariateNormal(a, precision_matrix=b),
                                                        LD.MultivariateNormal(c, scale_tril=d)),
            lambda a, b, c, d: TD.kl_divergence(TD.MultivariateNormal(a, precision_matrix=b),
                                                TD.MultivariateNormal(c, scale_tril=d)), arrays, device)


@pytest.mark.parametrize("case", ["Normal", "Categorical(logits)", "Bernoulli(probs)", "MultivariateNormal(cov)",
                                  "Independent(Normal)", "Uniform", "LogNormal"])
def test_expand_against_torch(case, device, rng):
    build, params, value, *_ = CASES[case]
    arrays = params(rng)
    v = value(rng, arrays)
    base = build(TD, *[torch.tensor(a) for a in arrays])
    if v.ndim > len(base.batch_shape) + len(base.event_shape):
        v = v[:1]
    shape = (5,) + tuple(base.batch_shape)
    compare(torch, lambda *ps: build(LD, *ps[:-1]).expand(shape).log_prob(ps[-1]),
            lambda *ps: build(TD, *ps[:-1]).expand(shape).log_prob(ps[-1]), arrays + [v], device)
