"""Sampling of lucid.distributions: shapes, dtypes and devices of sample/rsample, moments of seeded draws
(tolerances of six standard errors of the estimate at the drawn count: a seeded run is deterministic, and
a miss would need a six-sigma draw) and finite-difference gradient checks of rsample."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
import lucid.distributions as D
from lucid.autograd import gradcheck


def _t(values, device, dtype=lucid.float64, requires_grad=False):
    return lucid.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, device=device, requires_grad=requires_grad)


def _families(device, dtype, requires_grad=False):
    """name -> a distribution with batch shape (2,) (event shape (3,) for the vector ones)."""
    t = lambda v: _t(v, device, dtype, requires_grad)  # noqa: E731
    return {
        "Normal": D.Normal(t([0.5, -1.0]), t([1.0, 2.0])),
        "LogNormal": D.LogNormal(t([0.0, 0.5]), t([0.25, 0.5])),
        "Uniform": D.Uniform(t([0.0, -2.0]), t([1.0, 3.0])),
        "Exponential": D.Exponential(t([0.5, 2.0])),
        "Laplace": D.Laplace(t([0.0, 1.0]), t([1.0, 0.5])),
        "Poisson": D.Poisson(t([0.5, 4.0])),
        "Bernoulli": D.Bernoulli(probs=t([0.2, 0.7])),
        "Categorical": D.Categorical(probs=t([[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]])),
        "OneHotCategorical": D.OneHotCategorical(logits=t([[0.0, 1.0, -1.0], [2.0, 0.0, 0.0]])),
        "MultivariateNormal": D.MultivariateNormal(t([[0.0, 1.0, -1.0], [0.5, 0.5, 0.5]]),
                                                   covariance_matrix=t([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3],
                                                                        [0.0, 0.3, 0.5]])),
        "Independent": D.Independent(D.Normal(t([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]]), t([[1.0, 2.0, 0.5]] * 2)), 1),
    }


FAMILIES = list(_families("cpu", lucid.float64))
RSAMPLE = ["Normal", "LogNormal", "Uniform", "Exponential", "Laplace", "MultivariateNormal", "Independent"]


@pytest.mark.parametrize("dtype", [lucid.float32, lucid.float64], ids=["float32", "float64"])
def test_sample_shapes_dtypes_devices(device, dtype):
    for name, d in _families(device, dtype, requires_grad=True).items():
        for sample_shape in [(), (4,), (5, 2)]:
            expected = tuple(sample_shape) + tuple(d.batch_shape) + tuple(d.event_shape)
            assert tuple(d._extended_shape(sample_shape)) == expected
            s = d.sample(sample_shape)
            assert tuple(s.shape) == expected, name
            assert s.dtype == (lucid.int64 if name == "Categorical" else dtype), name
            assert s.device == device, name
            assert not s.requires_grad, name
            assert d.has_rsample == (name in RSAMPLE), name
            if d.has_rsample:
                r = d.rsample(sample_shape)
                assert tuple(r.shape) == expected and r.dtype == dtype and r.device == device, name
                assert r.requires_grad, name


def test_scalar_parameters_give_scalar_batch(device):
    d = D.Normal(0.0, 1.0)
    assert d.batch_shape == () and d.sample().shape == () and d.loc.dtype == lucid.get_default_dtype()
    d = D.Normal(_t([0.0, 1.0], device), 1.0)  # numbers take the tensor's dtype and device
    assert d.scale.device == device and d.scale.dtype == lucid.float64 and d.batch_shape == (2,)
    assert D.Categorical(logits=_t([0.0, 1.0], device)).sample((3,)).shape == (3,)


def test_sample_n_warns(device):
    with pytest.warns(FutureWarning, match="sample_n"):
        assert D.Normal(_t([0.0], device), 1.0).sample_n(3).shape == (3, 1)


def test_samples_follow_the_seed(device):
    d = D.Normal(_t([0.0, 1.0], device), _t([1.0, 2.0], device))
    lucid.manual_seed(7)
    a = d.sample((4,))
    lucid.manual_seed(7)
    b = d.sample((4,))
    assert np.array_equal(a.numpy(force=True), b.numpy(force=True))


N = 20000


def _moments_close(x, mean, var, what):
    """``x`` (N draws along axis 0) has mean ``mean`` and variance ``var`` to six standard errors."""
    m, v = x.mean(0), x.var(0)
    se_mean = np.sqrt(var / len(x))
    fourth = ((x - m) ** 4).mean(0)
    se_var = np.sqrt(np.maximum(fourth - v**2, 0) / len(x))
    assert np.all(np.abs(m - mean) <= 6 * se_mean + 1e-12), (what, m, mean)
    assert np.all(np.abs(v - var) <= 6 * se_var + 1e-12), (what, v, var)


@pytest.mark.parametrize("name", FAMILIES)
def test_sample_moments(name, device):
    lucid.manual_seed(0)
    d = _families(device, lucid.float64)[name]
    x = d.sample((N,)).numpy(force=True).astype(np.float64)
    if name == "Categorical":
        probs = d.probs.numpy(force=True)
        for k in range(probs.shape[-1]):
            _moments_close((x == k).astype(np.float64), probs[..., k], probs[..., k] * (1 - probs[..., k]), name)
        assert not np.any(x[:, 1] == 1)  # a category of probability zero is never drawn
        return
    _moments_close(x, d.mean.numpy(force=True), d.variance.numpy(force=True), name)
    if name == "MultivariateNormal":  # the off-diagonal covariances: var(x_i x_j) = S_ii S_jj + S_ij^2
        cov = d.covariance_matrix.numpy(force=True)[0]
        c = x[:, 0] - x[:, 0].mean(0)
        for i, j in [(0, 1), (1, 2), (0, 2)]:
            got = (c[:, i] * c[:, j]).mean()
            assert abs(got - cov[i, j]) <= 6 * math.sqrt((cov[i, i] * cov[j, j] + cov[i, j] ** 2) / N), (i, j)


def _rsample(name):
    builders = {
        "Normal": lambda a, b: D.Normal(a, b), "LogNormal": lambda a, b: D.LogNormal(a, b),
        "Uniform": lambda a, b: D.Uniform(a, a + b), "Laplace": lambda a, b: D.Laplace(a, b),
        "Exponential": lambda a, b: D.Exponential(b),
        "MultivariateNormal": lambda a, b: D.MultivariateNormal(a, scale_tril=lucid.diag_embed(b) + 0.1 * lucid.tril(
            b.unsqueeze(-1) * b.unsqueeze(-2), diagonal=-1)),
        "Independent": lambda a, b: D.Independent(D.Normal(a, b), 1),
    }
    return builders[name]


@pytest.mark.parametrize("name", RSAMPLE)
def test_rsample_gradcheck(name, device):
    build = _rsample(name)

    def draw(a, b):
        lucid.manual_seed(3)  # the same noise at every evaluation
        return build(a, b).rsample((2,))

    a = _t([0.3, -0.5, 1.0], device, requires_grad=True)
    b = _t([0.7, 1.2, 0.9], device, requires_grad=True)
    assert gradcheck(draw, (a, b))


def test_straight_through_rsample(device):
    logits = _t([[0.0, 1.0, -1.0]], device, requires_grad=True)
    d = D.OneHotCategoricalStraightThrough(logits=logits)
    s = d.rsample((4,))
    assert s.requires_grad and tuple(s.shape) == (4, 1, 3)
    assert np.array_equal(s.detach().numpy(force=True).sum(-1), np.ones((4, 1)))
    (s * _t([1.0, 2.0, 3.0], device)).sum().backward()
    probs = d.probs.detach().numpy(force=True)[0]
    w = np.array([1.0, 2.0, 3.0]) * 4
    expected = probs * (w - (probs * w).sum())  # the gradient of sum(w * probs) through the softmax
    np.testing.assert_allclose(logits.grad.numpy(force=True)[0], expected, rtol=1e-10)


def test_parameters_on_two_devices_raise(device_pair):
    here, there = device_pair
    with pytest.raises(lucid.DeviceMismatchError, match="parameters of a distribution"):
        D.Normal(_t([0.0], here), _t([1.0], there))


@pytest.mark.parametrize("name", FAMILIES)
def test_float32_stays_float32(name, device):
    d = _families(device, lucid.float32)[name]
    s = d.sample((3,))
    assert d.log_prob(s).dtype == lucid.float32 and d.mean.dtype == lucid.float32
    if name != "Poisson":
        assert d.entropy().dtype == lucid.float32
    assert d.log_prob(s).device == device
