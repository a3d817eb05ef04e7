"""Sampling of the families added with the transforms: shapes, dtypes and devices of sample/rsample; moments of
seeded draws (six standard errors at the drawn count, see test_dist_sampling); the implicit reparameterisation
gradient of Gamma draws (against torch's ``_standard_gamma_grad`` at the same draws, and against finite
differences of the inverse cdf); finite-difference gradient checks of the deterministic rsamples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from dist_helpers import host, moments_close

import lucid
import lucid.distributions as D
from lucid.autograd import gradcheck
from lucid.distributions.gamma import _standard_gamma_grad, _StandardGammaReparam


def _t(values, device, dtype=lucid.float64, requires_grad=False):
    return lucid.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, device=device, requires_grad=requires_grad)


def _families(device, dtype, requires_grad=False):
    """name -> a distribution with batch shape (2,) (event shape (3,) for the vector ones)."""
    t = lambda v: _t(v, device, dtype, requires_grad)  # noqa: E731
    return {
        "Gamma": D.Gamma(t([0.3, 4.0]), t([1.0, 2.0])),
        "Gamma(large)": D.Gamma(t([50.0, 1.0]), t([0.5, 0.1])),
        "Chi2": D.Chi2(t([1.0, 7.0])),
        "Beta": D.Beta(t([0.5, 3.0]), t([2.0, 0.7])),
        "Dirichlet": D.Dirichlet(t([[0.4, 1.0, 3.0], [2.0, 2.0, 5.0]])),
        "StudentT": D.StudentT(t([9.0, 12.0]), t([0.0, 1.0]), t([1.0, 2.0])),
        "Cauchy": D.Cauchy(t([0.0, 1.0]), t([1.0, 0.5])),
        "Gumbel": D.Gumbel(t([0.0, 1.0]), t([1.0, 2.0])),
        "HalfNormal": D.HalfNormal(t([1.0, 0.5])),
        "HalfCauchy": D.HalfCauchy(t([1.0, 0.5])),
        "Geometric": D.Geometric(t([0.3, 0.8])),
        "Binomial": D.Binomial(t([10.0, 3.0]), t([0.3, 0.9])),
        "NegativeBinomial": D.NegativeBinomial(t([3.0, 0.5]), t([0.4, 0.7])),
        "VonMises": D.VonMises(t([0.5, -3.0]), t([0.5, 8.0])),
        "RelaxedBernoulli": D.RelaxedBernoulli(t(0.5), t([0.3, 0.6])),
        "RelaxedOneHotCategorical": D.RelaxedOneHotCategorical(t(0.5), t([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])),
        "MixtureSameFamily": D.MixtureSameFamily(D.Categorical(t([[0.3, 0.7], [0.5, 0.5]])),
                                                 D.Normal(t([[-2.0, 1.0], [0.0, 3.0]]), t([[0.5, 1.0], [1.0, 2.0]]))),
    }


FAMILIES = list(_families("cpu", lucid.float64))
NO_RSAMPLE = ["Geometric", "Binomial", "NegativeBinomial", "VonMises", "MixtureSameFamily"]


@pytest.mark.parametrize("dtype", [lucid.float32, lucid.float64], ids=["float32", "float64"])
def test_sample_shapes_dtypes_devices(device, dtype):
    for name, d in _families(device, dtype, requires_grad=True).items():
        for sample_shape in [(), (4,), (5, 2)]:
            expected = tuple(sample_shape) + tuple(d.batch_shape) + tuple(d.event_shape)
            s = d.sample(sample_shape)
            assert tuple(s.shape) == expected and s.dtype == dtype and s.device == device, name
            assert not s.requires_grad, name
            assert d.has_rsample == (name not in NO_RSAMPLE), name
            if d.has_rsample:
                r = d.rsample(sample_shape)
                assert tuple(r.shape) == expected and r.dtype == dtype and r.device == device, name
                assert r.requires_grad, name
            assert d.log_prob(s).dtype == dtype and np.isfinite(host(d.log_prob(s))).all(), name


N = 20000


def _cdf_uniform(u, what):
    """``cdf(x)`` of draws ``x`` is uniform: mean 1/2, variance 1/12 (its fourth central moment is 1/80)."""
    m, v = u.mean(0), u.var(0)
    assert np.all(np.abs(m - 0.5) <= 6 * math.sqrt(1 / 12 / len(u))), (what, m)
    assert np.all(np.abs(v - 1 / 12) <= 6 * math.sqrt((1 / 80 - 1 / 144) / len(u))), (what, v)


@pytest.mark.parametrize("name", FAMILIES)
def test_sample_moments(name, device):
    lucid.manual_seed(0)
    d = _families(device, lucid.float64)[name]
    draws = d.sample((N,))
    x = host(draws)
    if name in ("Cauchy", "HalfCauchy", "Gumbel", "HalfNormal", "Gamma", "Gamma(large)", "Chi2"):
        _cdf_uniform(host(d.cdf(draws)), name)  # (heavy tails: no moments for the Cauchys)
    if name == "VonMises":  # E cos(x - loc) = I1/I0 = 1 - variance, E sin(x - loc) = 0
        loc, kappa = host(d.loc), host(d.concentration)
        r = 1 - host(d.variance)
        i2_over_i0 = 1 - 2 / kappa * r
        moments_close(np.cos(x - loc), r, (1 + i2_over_i0) / 2 - r**2, name)
        moments_close(np.sin(x - loc), 0.0, (1 - i2_over_i0) / 2, name)
        assert np.all((x >= -math.pi) & (x < math.pi))
        return
    if name == "RelaxedBernoulli":  # P(x > 1/2) = P(logit > 0) = p
        p = host(d.probs)
        moments_close((x > 0.5).astype(float), p, p * (1 - p), name)
        return
    if name == "RelaxedOneHotCategorical":  # argmax of the relaxed sample is Categorical(probs)
        p = host(d.probs)
        hot = x.argmax(-1)
        for k in range(3):
            moments_close((hot == k).astype(float), p[:, k], p[:, k] * (1 - p[:, k]), name)
        np.testing.assert_allclose(x.sum(-1), 1.0, rtol=1e-12)
        return
    if name in ("Cauchy", "HalfCauchy"):
        return
    moments_close(x, host(d.mean), host(d.variance), name)


def test_gamma_grad_against_torch_at_the_same_draws(device):
    """The implicit gradient ``d x / d alpha`` (all three regimes of PyTorch's approximation) at given draws,
    through the rsample Function's backward, equals torch's ``_standard_gamma_grad``."""
    torch = pytest.importorskip("torch")
    alpha = np.repeat([0.1, 0.5, 1.0, 3.0, 7.9, 9.0, 20.0, 100.0], 5)
    x = alpha * np.tile([0.3, 0.7, 0.95, 1.4, 2.0], 8) + np.tile([0.01, 0.5, 0.0, 0.2, 1.0], 8)
    want = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x)).numpy()
    a = _t(alpha, device, requires_grad=True)
    out = _StandardGammaReparam.apply(a, _t(x, device))
    np.testing.assert_array_equal(host(out), x)
    out.backward(_t(np.ones_like(x), device))
    np.testing.assert_allclose(host(a.grad), want, rtol=1e-10)
    assert a.grad.device == device


def test_gamma_grad_against_the_inverse_cdf(device):
    """``d x / d alpha`` at fixed ``u = P(alpha, x)`` is ``-(dP/d alpha) / p(x)``: central differences of the
    regularised incomplete gamma function in ``alpha`` (float64, h = 1e-5; where ``P`` is not within 1e-6 of 0
    or 1, where the differences lose their digits); PyTorch's approximation is good to about 2e-4 relative."""
    alpha = np.repeat([0.1, 0.5, 1.0, 3.0, 7.9, 9.0, 20.0, 100.0], 5)
    x = alpha * np.tile([0.3, 0.7, 0.95, 1.4, 2.0], 8) + np.tile([0.01, 0.5, 0.0, 0.2, 1.0], 8)
    p = host(lucid.igamma(_t(alpha, device), _t(x, device)))
    keep = (p > 1e-6) & (p < 1 - 1e-6)
    assert keep.sum() >= 35
    a, xs, h = _t(alpha[keep], device), _t(x[keep], device), 1e-5
    dp = (lucid.igamma(a + h, xs) - lucid.igamma(a - h, xs)) / (2 * h)
    density = D.Gamma(a, 1.0).log_prob(xs).exp()
    np.testing.assert_allclose(host(_standard_gamma_grad(a, xs)), host(-dp / density), rtol=5e-4)


@pytest.mark.parametrize("case", ["Gamma", "Beta", "Dirichlet", "Chi2"])
def test_reparameterised_gradient_of_the_mean(case, device):
    """The implicit-gradient estimator is unbiased: the average over draws of the per-draw gradient (each draw has
    its own copy of the parameters) equals the gradient of the mean, to six standard errors of that average."""
    build = {"Gamma": lambda c: D.Gamma(c, 2.0), "Beta": lambda c: D.Beta(c[..., 0], c[..., 1]),
             "Dirichlet": lambda c: D.Dirichlet(c), "Chi2": lambda c: D.Chi2(c)}[case]
    c0 = np.array([0.4, 2.5])
    lucid.manual_seed(1)
    per_draw = _t(np.tile(c0, (N, 1)), device, requires_grad=True)
    x = build(per_draw).rsample()
    x = x.unsqueeze(-1) if x.ndim == 1 else x
    for i in range(x.shape[-1]):
        (g,) = lucid.autograd.grad(x[:, i].sum(), [per_draw], retain_graph=True)
        c = _t(c0, device, requires_grad=True)
        mean = build(c).mean
        (want,) = lucid.autograd.grad(mean.reshape(-1)[i], [c])
        g = host(g)
        assert np.all(np.abs(g.mean(0) - host(want)) <= 6 * g.std(0) / math.sqrt(N) + 1e-12), (case, i)


RSAMPLE_DETERMINISTIC = {
    "Cauchy": lambda a, b: D.Cauchy(a, b), "Gumbel": lambda a, b: D.Gumbel(a, b),
    "HalfNormal": lambda a, b: D.HalfNormal(b), "HalfCauchy": lambda a, b: D.HalfCauchy(b),
    "RelaxedBernoulli": lambda a, b: D.RelaxedBernoulli(b, logits=a),
    "RelaxedOneHotCategorical": lambda a, b: D.RelaxedOneHotCategorical(b[0], logits=a),
    "StudentT(loc, scale)": lambda a, b: D.StudentT(a.detach() * 0 + 5.0, a, b),
}


@pytest.mark.parametrize("name", RSAMPLE_DETERMINISTIC)
def test_rsample_gradcheck(name, device):
    build = RSAMPLE_DETERMINISTIC[name]

    def draw(a, b):
        lucid.manual_seed(3)  # the same noise at every evaluation
        return build(a, b).rsample((2,))

    a = _t([0.3, -0.5, 1.0], device, requires_grad=True)
    b = _t([0.7, 1.2, 0.9], device, requires_grad=True)
    assert gradcheck(draw, (a, b))


def test_gamma_samples_follow_the_seed_and_stay_positive(device):
    d = D.Gamma(_t([1e-3, 0.05, 1.0], device), _t([1.0, 1e3, 1.0], device))
    lucid.manual_seed(5)
    a = d.sample((1000,))
    lucid.manual_seed(5)
    b = d.sample((1000,))
    assert np.array_equal(host(a), host(b)) and (host(a) > 0).all()
    assert np.isfinite(host(d.log_prob(a))).all()
    f = D.Gamma(_t([0.01, 3.0], device, dtype=lucid.float32), 1.0).sample((1000,))
    assert f.dtype == lucid.float32 and (host(f) > 0).all()
