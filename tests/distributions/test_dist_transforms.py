"""lucid.distributions.transforms, biject_to/transform_to and TransformedDistribution against torch (float64):
forward and inverse values, log-det-Jacobians and their gradients, shapes, caching, constraints, repr; the
tanh-squashed Gaussian of SAC; families built as transformed distributions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from dist_helpers import compare, host

import lucid
import lucid.distributions as D
from lucid.autograd import gradcheck
from lucid.distributions import constraints as C
from lucid.distributions import transforms as T

torch = pytest.importorskip("torch")
TD = torch.distributions
TT = torch.distributions.transforms


def _t(values, device, dtype=lucid.float64, requires_grad=False):
    return lucid.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, device=device, requires_grad=requires_grad)


# name: (build(module, *params), params(rng), x in the domain(rng))
TRANSFORMS = {
    "Exp": (lambda m: m.ExpTransform(), lambda r: [], lambda r: r.standard_normal((3, 4))),
    "Sigmoid": (lambda m: m.SigmoidTransform(), lambda r: [], lambda r: 3 * r.standard_normal((3, 4))),
    "Tanh": (lambda m: m.TanhTransform(), lambda r: [], lambda r: 2 * r.standard_normal((3, 4))),
    "Softplus": (lambda m: m.SoftplusTransform(), lambda r: [], lambda r: 2 * r.standard_normal((3, 4))),
    "Power": (lambda m, e: m.PowerTransform(e), lambda r: [r.uniform(0.5, 2, 4)], lambda r: r.uniform(0.5, 2, (3, 4))),
    "Affine": (lambda m, a, b: m.AffineTransform(a, b), lambda r: [r.standard_normal(4), r.uniform(-2, 2, (3, 1))],
               lambda r: r.standard_normal((3, 4))),
    "Affine(event_dim=1)": (lambda m, a, b: m.AffineTransform(a, b, event_dim=1),
                            lambda r: [r.standard_normal(4), r.uniform(0.5, 2, 4)],
                            lambda r: r.standard_normal((3, 4))),
    "Affine(numbers)": (lambda m: m.AffineTransform(1.5, -2.0), lambda r: [], lambda r: r.standard_normal((3, 4))),
    "Exp.inv": (lambda m: m.ExpTransform().inv, lambda r: [], lambda r: r.uniform(0.1, 3, (3, 4))),
    "StickBreaking": (lambda m: m.StickBreakingTransform(), lambda r: [], lambda r: r.standard_normal((3, 4))),
    "Compose": (lambda m, b: m.ComposeTransform([m.SigmoidTransform(), m.AffineTransform(1.0, b)]),
                lambda r: [r.uniform(0.5, 2, 4)], lambda r: r.standard_normal((3, 4))),
    "Compose(Exp, StickBreaking)": (lambda m: m.ComposeTransform([m.ExpTransform(), m.StickBreakingTransform()]),
                                    lambda r: [], lambda r: r.standard_normal((3, 4))),
    "Independent(Exp)": (lambda m: m.IndependentTransform(m.ExpTransform(), 1), lambda r: [],
                         lambda r: r.standard_normal((3, 4))),
    "Softmax": (lambda m: m.SoftmaxTransform(), lambda r: [], lambda r: r.standard_normal((3, 4))),
    "Abs": (lambda m: m.AbsTransform(), lambda r: [], lambda r: r.standard_normal((3, 4))),
    "LowerCholesky": (lambda m: m.LowerCholeskyTransform(), lambda r: [], lambda r: r.standard_normal((2, 3, 3))),
}
NO_JACOBIAN = ("Softmax", "Abs", "LowerCholesky")


@pytest.mark.parametrize("name", TRANSFORMS)
def test_transforms_against_torch(name, device, rng):
    build, params, domain = TRANSFORMS[name]
    arrays, x = params(rng), domain(rng)
    k = len(arrays)
    compare(torch, lambda *ps: build(T, *ps[:k])(ps[k]), lambda *ps: build(TT, *ps[:k])(ps[k]), arrays + [x], device)
    y = build(TT, *[torch.tensor(a) for a in arrays])(torch.tensor(x)).numpy()
    compare(torch, lambda *ps: build(T, *ps[:k]).inv(ps[k]), lambda *ps: build(TT, *ps[:k]).inv(ps[k]),
            arrays + [y], device, rtol=1e-9)
    if name not in NO_JACOBIAN:
        compare(torch, lambda *ps: (t := build(T, *ps[:k])).log_abs_det_jacobian(ps[k], t(ps[k])),
                lambda *ps: (t := build(TT, *ps[:k])).log_abs_det_jacobian(ps[k], t(ps[k])), arrays + [x], device,
                rtol=1e-9)
    ours, theirs = build(T, *lucid_params(arrays, device)), build(TT, *[torch.tensor(a) for a in arrays])
    assert ours.bijective == theirs.bijective
    assert repr(ours.domain) == repr(theirs.domain) and repr(ours.codomain) == repr(theirs.codomain)
    assert ours.domain.event_dim == theirs.domain.event_dim and ours.codomain.event_dim == theirs.codomain.event_dim
    assert tuple(ours.forward_shape((3, 4))) == tuple(theirs.forward_shape((3, 4)))
    forward = tuple(theirs.forward_shape((3, 4)))
    assert tuple(ours.inverse_shape(forward)) == tuple(theirs.inverse_shape(forward))
    assert repr(ours) == repr(theirs)
    assert ours.inv.inv is ours and ours.inv == ours.inv


def lucid_params(arrays, device):
    return [_t(a, device) for a in arrays]


def test_sign_and_event_dim(device):
    assert T.ExpTransform().sign == 1 and T.TanhTransform().inv.sign == 1
    assert T.AffineTransform(0.0, -2.0).sign == -1 and T.AffineTransform(0.0, 0).sign == 0
    s = T.AffineTransform(0.0, _t([-1.0, 2.0], device)).sign
    np.testing.assert_array_equal(host(s), [-1.0, 1.0])
    assert T.ComposeTransform([T.ExpTransform(), T.AffineTransform(0.0, -1.0)]).sign == -1
    np.testing.assert_array_equal(host(T.PowerTransform(_t([-2.0, 0.5], device)).sign), [-1.0, 1.0])
    assert T.ExpTransform().event_dim == 0 and T.AffineTransform(0.0, 1.0, event_dim=2).event_dim == 2

    class ToSimplex(T.Transform):
        domain, codomain = C.real, C.simplex

    with pytest.raises(ValueError, match="Please use either .domain.event_dim or .codomain.event_dim"):
        _ = ToSimplex().event_dim
    with pytest.raises(NotImplementedError):
        _ = T.AbsTransform().sign


def test_cache(device):
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        T.ExpTransform(cache_size=2)
    t = T.TanhTransform(cache_size=1)
    x = _t([30.0, -30.0, 0.5], device)
    y = t(x)
    assert t(x) is y and t.inv(y) is x  # the cached pair: exact, no atanh(+-1) = inf
    assert np.isinf(host(T.TanhTransform()(x).atanh())).any()
    assert T.ExpTransform().with_cache() is not None and T.ExpTransform(cache_size=1).with_cache(1)._cache_size == 1
    c = T.ComposeTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)], cache_size=1)
    assert all(p._cache_size == 1 for p in c.parts)
    y = c(x)
    assert c.inv(y) is not None and T.AffineTransform(1.0, 2.0).with_cache(1)._cache_size == 1
    assert T.PowerTransform(_t(2.0, device)).with_cache(1)._cache_size == 1
    assert T.IndependentTransform(T.ExpTransform(), 1).with_cache(1).base_transform._cache_size == 1


def test_equality():
    assert T.ExpTransform() == T.ExpTransform() and T.ExpTransform() != T.SigmoidTransform()
    assert T.AffineTransform(0.0, 1.0) == T.AffineTransform(0.0, 1.0) != T.AffineTransform(0.0, 2.0)
    assert T.ComposeTransform([T.ExpTransform()]) == T.ComposeTransform([T.ExpTransform()])
    assert T.ExpTransform().inv == T.ExpTransform().inv and T.identity_transform == T.ComposeTransform([])
    assert T.PowerTransform(2.0) == T.PowerTransform(2.0) != T.PowerTransform(3.0)


CONSTRAINTS = [
    ("real", lambda m: m.real), ("positive", lambda m: m.positive), ("nonnegative", lambda m: m.nonnegative),
    ("unit_interval", lambda m: m.unit_interval), ("interval", lambda m: m.interval(-1.0, 2.0)),
    ("half_open_interval", lambda m: m.half_open_interval(0.5, 2.0)),
    ("greater_than", lambda m: m.greater_than(1.5)), ("greater_than_eq", lambda m: m.greater_than_eq(-1.0)),
    ("less_than", lambda m: m.less_than(2.0)), ("simplex", lambda m: m.simplex),
    ("real_vector", lambda m: m.real_vector), ("independent(positive)", lambda m: m.independent(m.positive, 1)),
    ("lower_cholesky", lambda m: m.lower_cholesky),
]


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("name, build", CONSTRAINTS, ids=[c[0] for c in CONSTRAINTS])
def test_biject_to_and_transform_to(registry, name, build, device, rng):
    constraint, theirs_c = build(C), build(TD.constraints)
    try:
        theirs = getattr(TD, registry)(theirs_c)
    except NotImplementedError:
        with pytest.raises(NotImplementedError, match="Cannot transform"):
            getattr(D, registry)(constraint)
        return
    ours = getattr(D, registry)(constraint)
    assert repr(ours) == repr(theirs)
    x = rng.standard_normal((5, 3, 3) if name == "lower_cholesky" else (5, 3))
    y = ours(_t(x, device))
    assert bool(constraint.check(y).all())
    np.testing.assert_allclose(host(y), theirs(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-15)
    if ours.bijective:
        np.testing.assert_allclose(host(ours.inv(y)), x, rtol=1e-8, atol=1e-10)
        compare(torch, lambda a: (t := getattr(D, registry)(constraint)).log_abs_det_jacobian(a, t(a)),
                lambda a: (t := getattr(TD, registry)(theirs_c)).log_abs_det_jacobian(a, t(a)), [x], device,
                rtol=1e-9)


def test_registry_errors():
    with pytest.raises(NotImplementedError, match="Cannot transform _Boolean constraints"):
        D.biject_to(C.boolean)
    with pytest.raises(TypeError, match="Expected constraint to be either a Constraint subclass or instance"):
        D.biject_to.register(int, lambda c: T.ExpTransform())
    registry = type(D.biject_to)()
    registry.register(C.boolean, lambda c: T.SigmoidTransform())
    assert isinstance(registry(C.boolean), T.SigmoidTransform)


def test_sac_tanh_policy_against_torch(device, rng):
    """The squashed Gaussian of soft actor-critic: rsample, then the log-probability of that very sample,
    finite at saturation thanks to the cache, and equal to torch's (values and gradients)."""
    arrays = [rng.standard_normal((4, 2)), rng.uniform(0.5, 3, (4, 2)), 4 * rng.standard_normal((3, 4, 2))]
    arrays[2][0, 0, 0] = 40.0  # tanh(40) rounds to 1: atanh would be inf without the cache

    def build(m, mu, std, eps):
        t = m.transforms.TanhTransform(cache_size=1)
        d = m.TransformedDistribution(m.Normal(mu, std), [t])
        x = mu + std * eps  # a reparameterised draw with given noise
        return d.log_prob(t(x))

    compare(torch, lambda *ps: build(D, *ps), lambda *ps: build(TD, *ps), arrays, device, rtol=1e-9)
    lucid.manual_seed(0)
    mu = _t(arrays[0], device, requires_grad=True)
    d = D.TransformedDistribution(D.Normal(mu, 5.0), [T.TanhTransform(cache_size=1)])
    a = d.rsample((100,))
    logp = d.log_prob(a).sum(-1)
    assert np.isfinite(host(logp)).all() and d.has_rsample
    logp.sum().backward()
    assert np.isfinite(host(mu.grad)).all()


TRANSFORMED = {
    "Normal->Affine(negative)": (lambda m, a, b: m.TransformedDistribution(m.Normal(a, b), [
        m.transforms.AffineTransform(1.0, -2.0)]), lambda r: [r.standard_normal(3), r.uniform(0.5, 2, 3)],
        lambda r: r.standard_normal((2, 3))),
    "Normal->Exp->Power": (lambda m, a, b: m.TransformedDistribution(m.Normal(a, b), [
        m.transforms.ExpTransform(), m.transforms.PowerTransform(2.0)]), lambda r: [r.standard_normal(3),
                                                                                    r.uniform(0.5, 1, 3)],
        lambda r: r.uniform(0.2, 3, (2, 3))),
    "Normal->Sigmoid->Affine(tensor)": (lambda m, a, b: m.TransformedDistribution(m.Normal(a, 1.0), [
        m.transforms.SigmoidTransform(), m.transforms.AffineTransform(0.0, b)]),
        lambda r: [r.standard_normal(3), r.uniform(1.0, 2, (2, 1))], lambda r: r.uniform(0.05, 0.95, (2, 3))),
    "Normal(2,3)->StickBreaking": (lambda m, a, b: m.TransformedDistribution(m.Normal(a, b), [
        m.transforms.StickBreakingTransform()]), lambda r: [r.standard_normal((2, 3)), r.uniform(0.5, 2, 3)],
        lambda r: r.dirichlet(np.ones(4), 2)),
    "Uniform->Exp.inv->Affine": (lambda m, a, b: m.TransformedDistribution(m.Uniform(a, b), [
        m.transforms.ExpTransform().inv, m.transforms.AffineTransform(0.0, -1.0)]),
        lambda r: [r.uniform(0.1, 0.3, 3), r.uniform(0.6, 0.9, 3)], lambda r: r.uniform(0.55, 1.15, (2, 3))),
}


@pytest.mark.parametrize("case", TRANSFORMED)
def test_transformed_distribution_against_torch(case, device, rng):
    build, params, value = TRANSFORMED[case]
    arrays, v = params(rng), value(rng)
    k = len(arrays)
    compare(torch, lambda *ps: build(D, *ps[:k]).log_prob(ps[k]), lambda *ps: build(TD, *ps[:k]).log_prob(ps[k]),
            arrays + [v], device, rtol=1e-9)
    ours, theirs = build(D, *lucid_params(arrays, device)), build(TD, *[torch.tensor(a) for a in arrays])
    assert ours.batch_shape == tuple(theirs.batch_shape) and ours.event_shape == tuple(theirs.event_shape)
    assert repr(ours.support) == repr(theirs.support) and ours.has_rsample == theirs.has_rsample
    assert tuple(ours.sample((5,)).shape) == tuple(theirs.sample((5,)).shape)
    assert tuple(ours.expand((4,) + tuple(ours.batch_shape)).sample().shape) == \
        tuple(theirs.expand((4,) + tuple(theirs.batch_shape)).sample().shape)
    if "StickBreaking" not in case and "Power" not in case:
        compare(torch, lambda *ps: build(D, *ps[:k]).cdf(ps[k]), lambda *ps: build(TD, *ps[:k]).cdf(ps[k]),
                arrays + [v], device, rtol=1e-9)
        q = rng.uniform(0.1, 0.9, (2, 3))
        compare(torch, lambda *ps: build(D, *ps[:k]).icdf(ps[k]), lambda *ps: build(TD, *ps[:k]).icdf(ps[k]),
                arrays + [q], device, rtol=1e-9)


def test_transformed_distribution_errors_and_rsample(device):
    base = D.Normal(_t([0.0, 1.0], device), 1.0)
    with pytest.raises(ValueError, match="transforms must be a Transform or a list of Transforms"):
        D.TransformedDistribution(base, [T.ExpTransform(), 1])
    with pytest.raises(ValueError, match="transforms must be a Transform or list"):
        D.TransformedDistribution(base, (T.ExpTransform(),))
    with pytest.raises(ValueError, match="base_distribution needs to have shape with size at least 2"):
        D.TransformedDistribution(base, [T.LowerCholeskyTransform()])
    d = D.TransformedDistribution(base, T.ExpTransform())
    assert d.transforms[0] == T.ExpTransform() and repr(d.support) == "GreaterThan(lower_bound=0.0)"
    with pytest.raises(ValueError, match="to be within the support"):
        d.log_prob(_t([-1.0, 1.0], device))
    assert repr(D.TransformedDistribution(base, [])) == "TransformedDistribution()"

    def draw(a, b):
        lucid.manual_seed(1)
        return D.TransformedDistribution(D.Normal(a, b), [T.TanhTransform(), T.AffineTransform(1.0, 2.0)]).rsample((2,))

    assert gradcheck(draw, (_t([0.3, -0.5], device, requires_grad=True), _t([0.7, 1.2], device, requires_grad=True)))


def test_families_built_as_transformed_distributions(device):
    t = lambda v: _t(v, device)  # noqa: E731
    for ours, theirs in [(D.Gumbel(t(0.0), t(1.0)), TD.Gumbel(0.0, 1.0)), (D.HalfNormal(t(1.0)), TD.HalfNormal(1.0)),
                         (D.HalfCauchy(t(1.0)), TD.HalfCauchy(1.0)),
                         (D.RelaxedBernoulli(t(0.5), t(0.3)),
                          TD.RelaxedBernoulli(torch.tensor(0.5), torch.tensor(0.3))),
                         (D.RelaxedOneHotCategorical(t(0.5), t([0.3, 0.7])),
                          TD.RelaxedOneHotCategorical(torch.tensor(0.5), torch.tensor([0.3, 0.7])))]:
        assert isinstance(ours, D.TransformedDistribution) == isinstance(theirs, TD.TransformedDistribution)
        assert ours.has_rsample == theirs.has_rsample
    assert not isinstance(D.LogNormal(0.0, 1.0), D.TransformedDistribution)  # (torch's is: documented difference)
    assert math.isfinite(float(D.Gumbel(t(0.0), t(1.0)).rsample()))
