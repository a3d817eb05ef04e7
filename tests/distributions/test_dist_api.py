"""lucid.distributions' API around the numbers: argument and sample validation (ValueError as PyTorch),
repr, constraints, enumerate_support, lazily derived probs/logits, expand, the KL registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
import lucid.distributions as D
from lucid.distributions import constraints as C

torch = pytest.importorskip("torch")
TD = torch.distributions


def _t(values, device, dtype=lucid.float64, requires_grad=False):
    return lucid.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, device=device, requires_grad=requires_grad)


def test_lucid_distributions_is_a_namespace_of_lucid():
    import lucid.distributions as again

    assert lucid.distributions is again and lucid.distributions.Normal is D.Normal
    assert set(D.__all__) <= set(TD.__all__)
    assert D.kl.kl_divergence is D.kl_divergence


BAD_PARAMETERS = [
    ("scale", lambda t: D.Normal(t(0.0), t(-1.0))),
    ("scale", lambda t: D.Normal(t([0.0, 1.0]), t([1.0, 0.0]))),
    ("scale", lambda t: D.LogNormal(t(0.0), t(-1.0))),
    ("low", lambda t: D.Uniform(t(1.0), t(0.0))),
    ("rate", lambda t: D.Exponential(t([1.0, -1.0]))),
    ("scale", lambda t: D.Laplace(t(0.0), t(0.0))),
    ("rate", lambda t: D.Poisson(t(-0.5))),
    ("probs", lambda t: D.Bernoulli(probs=t([0.5, 1.5]))),
    ("logits", lambda t: D.Bernoulli(logits=t(math.nan))),
    ("probs", lambda t: D.Categorical(probs=t([-0.1, 1.1]))),
    ("probs", lambda t: D.OneHotCategorical(probs=t([-0.1, 1.1]))),
    ("covariance_matrix", lambda t: D.MultivariateNormal(t([0.0, 0.0]), t([[1.0, 2.0], [2.0, 1.0]]))),
    ("covariance_matrix", lambda t: D.MultivariateNormal(t([0.0, 0.0]), t([[1.0, 0.5], [0.0, 1.0]]))),
    ("precision_matrix", lambda t: D.MultivariateNormal(t([0.0, 0.0]), precision_matrix=t([[-1.0, 0], [0, 1]]))),
    ("scale_tril", lambda t: D.MultivariateNormal(t([0.0, 0.0]), scale_tril=t([[1.0, 0.0], [0.5, -1.0]]))),
    ("scale_tril", lambda t: D.MultivariateNormal(t([0.0, 0.0]), scale_tril=t([[1.0, 0.5], [0.5, 1.0]]))),
]


@pytest.mark.parametrize("param, build", BAD_PARAMETERS, ids=[f"{i}-{p}" for i, (p, _) in enumerate(BAD_PARAMETERS)])
def test_invalid_parameters_raise(param, build, device):
    t = lambda v: _t(v, device)  # noqa: E731
    with pytest.raises(ValueError, match=f"Expected parameter {param} .* to satisfy the constraint"):
        build(t)
    if "matrix" not in param:  # (an invalid matrix has no Cholesky factor: linalg's error, as in PyTorch)
        D.Distribution.set_default_validate_args(False)
        try:
            build(t)  # no check without validation
        finally:
            D.Distribution.set_default_validate_args(True)


OUT_OF_SUPPORT = [
    (lambda t: D.Normal(t(0.0), t(1.0)), math.nan),
    (lambda t: D.LogNormal(t(0.0), t(1.0)), -1.0),
    (lambda t: D.LogNormal(t(0.0), t(1.0)), 0.0),
    (lambda t: D.Uniform(t(0.0), t(1.0)), 1.5),
    (lambda t: D.Exponential(t(1.0)), -1.0),
    (lambda t: D.Laplace(t(0.0), t(1.0)), math.nan),
    (lambda t: D.Poisson(t(2.0)), 1.5),
    (lambda t: D.Poisson(t(2.0)), -1.0),
    (lambda t: D.Bernoulli(t(0.3)), 0.5),
    (lambda t: D.Categorical(t([0.5, 0.5])), 2.0),
    (lambda t: D.Categorical(t([0.5, 0.5])), -1.0),
    (lambda t: D.Categorical(t([0.5, 0.5])), 0.5),
    (lambda t: D.OneHotCategorical(t([0.5, 0.5])), [1.0, 1.0]),
    (lambda t: D.OneHotCategorical(t([0.5, 0.5])), [0.5, 0.5]),
    (lambda t: D.MultivariateNormal(t([0.0, 0.0]), t([[1.0, 0.0], [0.0, 1.0]])), [0.0, math.nan]),
    (lambda t: D.Independent(D.Exponential(t([1.0, 1.0])), 1), [1.0, -1.0]),
]


@pytest.mark.parametrize("build, value", OUT_OF_SUPPORT, ids=[str(i) for i in range(len(OUT_OF_SUPPORT))])
def test_values_outside_the_support_raise(build, value, device):
    t = lambda v: _t(v, device)  # noqa: E731
    d = build(t)
    with pytest.raises(ValueError, match="to be within the support"):
        d.log_prob(t(value))
    if type(d).cdf is not D.Distribution.cdf and value != 0.0:  # LogNormal's cdf(0) is 0, as PyTorch's
        with pytest.raises(ValueError, match="to be within the support"):
            d.cdf(t(value))
    D.Distribution.set_default_validate_args(False)
    try:
        build(t).log_prob(t(value))  # computed without the check
    except ValueError:
        raise
    except Exception:  # noqa: S110  (an index out of range, as PyTorch's, but no validation error)
        pass
    finally:
        D.Distribution.set_default_validate_args(True)


def test_validation_of_sample_shapes_and_types(device):
    d = D.Normal(_t([0.0, 1.0, 2.0], device), 1.0)
    with pytest.raises(ValueError, match="The value argument to log_prob must be a Tensor"):
        d.log_prob(0.5)
    with pytest.raises(ValueError, match="Value is not broadcastable with batch_shape"):
        d.log_prob(_t([0.0, 1.0], device))
    m = D.MultivariateNormal(_t([0.0, 0.0], device), scale_tril=_t(np.eye(2), device))
    with pytest.raises(ValueError, match="The right-most size of value must match event_shape"):
        m.log_prob(_t([0.0, 0.0, 0.0], device))
    assert D.Normal(0.0, 1.0, validate_args=False).log_prob(0.5) is not None  # numbers pass without validation
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args("yes")


def test_errors_of_the_constructors(device):
    p = _t([0.5, 0.5], device)
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both"):
        D.Bernoulli(probs=p, logits=p)
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        D.Categorical()
    with pytest.raises(ValueError, match="`probs` parameter must be at least one-dimensional"):
        D.Categorical(probs=_t(0.5, device))
    with pytest.raises(ValueError, match="loc must be at least one-dimensional"):
        D.MultivariateNormal(_t(0.0, device), scale_tril=_t(np.eye(1), device))
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"):
        D.MultivariateNormal(p, covariance_matrix=_t(np.eye(2), device), scale_tril=_t(np.eye(2), device))
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims <= len"):
        D.Independent(D.Normal(p, 1.0), 2)
    with pytest.raises(ValueError, match="Input arguments must all be instances of Number or lucid.Tensor"):
        D.Normal([0.0], 1.0)
    with pytest.raises(NotImplementedError):
        D.Poisson(p).entropy()  # no closed form, as in PyTorch


def test_repr_as_torch():
    assert repr(D.Normal(0.0, 1.0)) == repr(TD.Normal(0.0, 1.0)) == "Normal(loc: 0.0, scale: 1.0)"
    assert repr(D.Uniform(0.0, 2.0)) == repr(TD.Uniform(0.0, 2.0))
    assert repr(D.Normal(lucid.tensor([0.5]), 1.0)) == repr(TD.Normal(torch.tensor([0.5]), 1.0))
    assert repr(D.LogNormal(0.0, 1.0)) == repr(TD.LogNormal(0.0, 1.0)) == "LogNormal()"
    assert repr(D.Bernoulli(logits=lucid.zeros(2))) == "Bernoulli(logits: (2,))"  # shapes print as lucid's tuples
    assert repr(D.Categorical(lucid.ones(3))) == "Categorical(probs: (3,))"
    assert repr(D.Independent(D.Normal(lucid.zeros(3), 1.0), 1)) == "Independent(Normal(loc: (3,), scale: (3,)), 1)"
    assert repr(D.MultivariateNormal(lucid.zeros(2), lucid.eye(2))) == \
        "MultivariateNormal(loc: (2,), covariance_matrix: (2, 2))"
    assert repr(D.OneHotCategorical(lucid.ones(3))) == repr(TD.OneHotCategorical(torch.ones(3)))
    for name in ["real", "positive", "nonnegative", "unit_interval", "simplex", "boolean", "nonnegative_integer",
                 "positive_integer", "lower_cholesky", "positive_definite", "real_vector", "one_hot", "symmetric"]:
        assert repr(getattr(C, name)) == repr(getattr(TD.constraints, name)), name
    assert repr(C.integer_interval(0, 2)) == repr(TD.constraints.integer_interval(0, 2))
    assert repr(C.greater_than_eq(1.0)) == repr(TD.constraints.greater_than_eq(1.0))
    assert repr(C.half_open_interval(0.0, 1.0)) == repr(TD.constraints.half_open_interval(0.0, 1.0))
    assert repr(D.Categorical(lucid.ones(3)).support) == repr(TD.Categorical(torch.ones(3)).support)
    assert repr(D.Independent(D.Normal(lucid.zeros(3), 1.0), 1).support) == "IndependentConstraint(Real(), 1)"


CHECKS = [
    ("real", [0.0, math.inf, math.nan]), ("positive", [-1.0, 0.0, 1.0]), ("nonnegative", [-1.0, 0.0, 1.0]),
    ("unit_interval", [-0.1, 0.0, 0.5, 1.0, 1.1]), ("boolean", [0.0, 1.0, 0.5]),
    ("nonnegative_integer", [-1.0, 0.0, 2.0, 2.5]), ("positive_integer", [0.0, 1.0, 3.0]),
    ("simplex", [[0.5, 0.5], [0.2, 0.9], [-0.5, 1.5]]), ("one_hot", [[0.0, 1.0], [1.0, 1.0], [0.5, 0.5]]),
    ("real_vector", [[0.0, 1.0], [math.nan, 0.0]]),
    ("lower_cholesky", [[[1.0, 0.0], [2.0, 1.0]], [[1.0, 1.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, -1.0]]]),
    ("lower_triangular", [[[1.0, 0.0], [2.0, -1.0]], [[1.0, 1.0], [0.0, 1.0]]]),
    ("positive_definite", [[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]]]),
    ("positive_semidefinite", [[[1.0, 1.0], [1.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]]),
    ("symmetric", [[[1.0, 2.0], [2.0, 1.0]], [[1.0, 2.0], [0.0, 1.0]]]),
    ("square", [[[1.0, 2.0], [2.0, 1.0]]]),
]


@pytest.mark.parametrize("name, values", CHECKS, ids=[c[0] for c in CHECKS])
def test_constraint_checks_as_torch(name, values, device):
    got = getattr(C, name).check(_t(values, device))
    want = getattr(TD.constraints, name).check(torch.tensor(values, dtype=torch.float64))
    assert got.dtype == lucid.bool_ and got.device == device
    assert np.array_equal(got.numpy(force=True), want.numpy())
    assert getattr(C, name).event_dim == getattr(TD.constraints, name).event_dim
    assert getattr(C, name).is_discrete == getattr(TD.constraints, name).is_discrete


def test_parameterised_constraints(device):
    x = _t([-1.0, 0.0, 0.5, 1.0, 2.0], device)
    tx = torch.tensor(x.numpy(force=True))
    for ours, theirs in [(C.interval(0.0, 1.0), TD.constraints.interval(0.0, 1.0)),
                         (C.half_open_interval(0.0, 1.0), TD.constraints.half_open_interval(0.0, 1.0)),
                         (C.greater_than(0.0), TD.constraints.greater_than(0.0)),
                         (C.greater_than_eq(0.0), TD.constraints.greater_than_eq(0.0)),
                         (C.less_than(1.0), TD.constraints.less_than(1.0)),
                         (C.integer_interval(0, 1), TD.constraints.integer_interval(0, 1)),
                         (C.independent(C.real, 1), TD.constraints.independent(TD.constraints.real, 1))]:
        assert np.array_equal(ours.check(x).numpy(force=True), theirs.check(tx).numpy()), repr(ours)
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    assert C.is_dependent(D.Uniform.support) and D.Uniform.support.event_dim == 0
    with pytest.raises(ValueError, match="Cannot determine validity of dependent constraint"):
        C.dependent.check(x)
    with pytest.raises(NotImplementedError):
        _ = C.dependent.event_dim
    assert C.dependent(is_discrete=True, event_dim=1).event_dim == 1
    assert C.independent(C.simplex, 1).event_dim == 2


@pytest.mark.parametrize("expand", [True, False])
def test_enumerate_support_as_torch(expand, device):
    p = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    pairs = [(D.Bernoulli(_t(p[:, 0], device)), TD.Bernoulli(torch.tensor(p[:, 0]))),
             (D.Categorical(_t(p, device)), TD.Categorical(torch.tensor(p))),
             (D.OneHotCategorical(_t(p, device)), TD.OneHotCategorical(torch.tensor(p))),
             (D.Independent(D.Bernoulli(_t(p, device)), 0), TD.Independent(TD.Bernoulli(torch.tensor(p)), 0))]
    for ours, theirs in pairs:
        assert ours.has_enumerate_support
        got, want = ours.enumerate_support(expand), theirs.enumerate_support(expand)
        assert got.dtype == {torch.int64: lucid.int64, torch.float64: lucid.float64}[want.dtype]
        assert got.device == device
        np.testing.assert_array_equal(got.numpy(force=True), want.numpy())
    nested = D.Independent(D.Bernoulli(_t(p, device)), 1)
    assert not nested.has_enumerate_support
    with pytest.raises(NotImplementedError):
        nested.enumerate_support()


def test_probs_and_logits_are_derived_lazily_and_kept(device):
    logits = _t([[1.0, 2.0, 3.0]], device, requires_grad=True)
    d = D.Categorical(logits=logits)
    assert "probs" not in d.__dict__
    np.testing.assert_allclose(d.logits.logsumexp(-1).numpy(force=True), [0.0], atol=1e-15)
    probs = d.probs
    assert "probs" in d.__dict__ and d.probs is probs and probs.requires_grad
    with lucid.no_grad():  # derived under no_grad, the parameter still carries the graph (as PyTorch)
        assert D.Bernoulli(logits=logits).probs.requires_grad
    b = D.Bernoulli(probs=_t([0.25], device))
    np.testing.assert_allclose(b.logits.numpy(force=True), [math.log(1 / 3)], rtol=1e-14)
    c = D.Categorical(probs=_t([1.0, 3.0], device))  # normalised on the last dimension
    np.testing.assert_allclose(c.probs.numpy(force=True), [0.25, 0.75])
    assert c.param_shape == (2,) and D.OneHotCategorical(probs=_t([1.0, 3.0], device)).param_shape == (2,)


def test_modes_and_means_without_a_value(device):
    assert np.isnan(D.Bernoulli(_t([0.5, 0.7], device)).mode.numpy(force=True)[0])
    assert np.isnan(D.Uniform(_t(0.0, device), _t(1.0, device)).mode.numpy(force=True))
    assert np.isnan(D.Categorical(_t([[0.5, 0.5]], device)).mean.numpy(force=True)).all()
    assert D.Categorical(_t([[0.5, 0.5]], device)).mean.shape == (1,)
    d = D.Normal(_t([0.0, 1.0], device), _t([1.0, 2.0], device))
    np.testing.assert_allclose(d.perplexity().numpy(force=True), np.exp(d.entropy().numpy(force=True)))


def test_expand(device):
    d = D.Normal(_t([0.0, 1.0], device), 1.0, validate_args=False)
    e = d.expand((3, 2))
    assert e.batch_shape == (3, 2) and e.loc.shape == (3, 2) and e._validate_args is False
    assert e.sample().shape == (3, 2) and e.loc.device == device
    e = D.Categorical(logits=_t([0.0, 1.0, 2.0], device)).expand([4])
    assert e.batch_shape == (4,) and e.logits.shape == (4, 3) and e.sample((2,)).shape == (2, 4)
    i = D.Independent(D.Normal(_t([[0.0, 1.0]], device), 1.0), 1).expand((5,))
    assert i.batch_shape == (5,) and i.event_shape == (2,) and i.base_dist.batch_shape == (5, 2)
    o = D.OneHotCategorical(logits=_t([0.0, 1.0], device)).expand((3,))
    assert o.batch_shape == (3,) and o.event_shape == (2,) and o.sample().shape == (3, 2)
    m = D.MultivariateNormal(_t([0.0, 1.0], device), scale_tril=_t(np.eye(2), device)).expand((3,))
    assert m.batch_shape == (3,) and m.scale_tril.shape == (3, 2, 2) and m.rsample((4,)).shape == (4, 3, 2)


class _MyNormal(D.Normal):
    pass


def test_kl_registry(device):
    p, q = D.Normal(_t(0.0, device), _t(1.0, device)), D.Normal(_t(1.0, device), _t(2.0, device))
    assert float(D.kl_divergence(_MyNormal(_t(0.0, device), _t(1.0, device)), q)) == pytest.approx(
        float(D.kl_divergence(p, q)))  # a subclass takes its parent's closed form
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type Normal and q "
                                                   "type Cauchy"):
        D.kl_divergence(p, D.Cauchy(_t(1.0, device), _t(1.0, device)))
    with pytest.raises(NotImplementedError, match="different exponential families"):  # (PyTorch's Bregman rule)
        D.kl_divergence(p, D.Poisson(_t(1.0, device)))
    with pytest.raises(TypeError):
        D.register_kl(int, D.Normal)

    class A(D.Normal):
        pass

    @D.register_kl(A, D.Normal)
    def _kl_a_normal(p, q):
        return lucid.zeros((), device=device)

    try:
        assert float(D.kl_divergence(A(_t(0.0, device), _t(1.0, device)), q)) == 0.0
        assert float(D.kl_divergence(q, A(_t(0.0, device), _t(1.0, device)))) == pytest.approx(
            float(D.kl_divergence(q, p)))
    finally:
        del D.kl._KL_REGISTRY[A, D.Normal]
        D.kl._KL_MEMOIZE.clear()
    with pytest.raises(ValueError, match="different event shapes"):
        D.kl_divergence(D.MultivariateNormal(_t([0.0], device), scale_tril=_t([[1.0]], device)),
                        D.MultivariateNormal(_t([0.0, 0.0], device), scale_tril=_t(np.eye(2), device)))


def test_kl_infinite_and_zero_cases_as_torch(device):
    pairs = [
        (lambda m, t: m.kl_divergence(m.Uniform(t([0.0, 0.0]), t([1.0, 2.0])),
                                      m.Uniform(t([0.0, 0.5]), t([2.0, 3.0])))),
        (lambda m, t: m.kl_divergence(m.Bernoulli(t([0.0, 1.0, 0.3, 0.3, 0.0])),
                                      m.Bernoulli(t([0.5, 0.5, 0.0, 1.0, 0.0])))),
        (lambda m, t: m.kl_divergence(m.Categorical(t([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])),
                                      m.Categorical(t([[0.5, 0.5], [1.0, 0.0], [1.0, 0.0]])))),
    ]
    for build in pairs:
        got = build(D, lambda v: _t(v, device))
        want = build(TD, lambda v: torch.tensor(v, dtype=torch.float64))
        np.testing.assert_allclose(got.numpy(force=True), want.numpy(), rtol=1e-12)


def test_exponential_family_entropy_by_autograd(device):
    """The generic entropy of ExponentialFamily (Bregman divergence of the log-normaliser) agrees with the
    closed forms the subclasses use."""
    for d in [D.Normal(_t([0.0, 1.0], device), _t([0.5, 2.0], device)), D.Exponential(_t([0.5, 3.0], device)),
              D.Bernoulli(_t([0.2, 0.7], device))]:
        np.testing.assert_allclose(D.ExponentialFamily.entropy(d).numpy(force=True), d.entropy().numpy(force=True),
                                   rtol=1e-12)


def test_training_step_of_a_policy_and_a_vae(device):
    """The two common uses: a policy-gradient loss on Categorical samples and a VAE's reparameterised
    Normal with its KL to the prior; every parameter gets a finite gradient."""
    lucid.manual_seed(0)
    net = lucid.nn.Linear(4, 6).to(device)
    x = lucid.randn(8, 4, device=device)
    out = net(x)
    policy = D.Categorical(logits=out[:, :3])
    action = policy.sample()
    advantage = lucid.randn(8, device=device)
    loss = -(policy.log_prob(action) * advantage).mean() - 0.01 * policy.entropy().mean()
    q = D.Normal(out[:, 3:5], out[:, 5:].exp())
    z = q.rsample()
    prior = D.Normal(lucid.zeros_like(z), lucid.ones_like(z))
    loss = loss + (D.kl_divergence(q, prior).sum(-1) - D.Independent(prior, 1).log_prob(z)).mean()
    loss.backward()
    for p in net.parameters():
        assert p.grad is not None and p.grad.device == device and np.isfinite(p.grad.numpy(force=True)).all()
