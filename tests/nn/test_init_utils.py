"""nn.init (statistics, fans, gains, in-place semantics, reproducibility, every backend) and
nn.utils (gradient clipping, parameter vectors, weight and spectral norm) against PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
from lucid.nn import init, utils
from lucid.nn import layers as L


def host(t):
    return t.detach().numpy(force=True)


def param(shape, device, dtype=lucid.float32):
    return lucid.nn.Parameter(lucid.zeros(*shape, dtype=dtype, device=device))


# ---- init ----------------------------------------------------------------------------------
def test_calculate_gain_and_fans_match_torch():
    torch = pytest.importorskip("torch")
    for name, p in (("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                    ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)):
        assert init.calculate_gain(name, p) == pytest.approx(torch.nn.init.calculate_gain(name, p))
    for shape in ((5, 3), (8, 4, 3, 3), (2, 6, 5)):
        assert init._calculate_fan_in_and_fan_out(lucid.zeros(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    with pytest.raises(ValueError, match="nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="fewer than 2"):
        init._calculate_fan_in_and_fan_out(lucid.zeros(3))


def test_init_is_in_place_and_unrecorded(device):
    w = param((64, 32), device)
    data, version = w._data, w._version[0]
    assert init.normal_(w) is w
    assert w._data is data and w._version[0] > version and w.is_leaf and w.requires_grad and w.grad_fn is None
    assert w.device is device and w.dtype is lucid.float32


def test_distributions(device):
    lucid.manual_seed(0)
    w = param((300, 400), device)  # fan_in 400, fan_out 300
    cases = [
        (lambda: init.uniform_(w, -2.0, 3.0), -2.0, 3.0, 0.5, 5 / math.sqrt(12)),
        (lambda: init.normal_(w, 1.0, 0.5), None, None, 1.0, 0.5),
        (lambda: init.xavier_uniform_(w, gain=2.0), -2 * math.sqrt(6 / 700), 2 * math.sqrt(6 / 700), 0.0,
         2 * math.sqrt(2 / 700)),
        (lambda: init.xavier_normal_(w), None, None, 0.0, math.sqrt(2 / 700)),
        (lambda: init.kaiming_uniform_(w, a=math.sqrt(5)), -1 / math.sqrt(400), 1 / math.sqrt(400), 0.0,
         1 / math.sqrt(1200)),
        (lambda: init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu"), -math.sqrt(6 / 300),
         math.sqrt(6 / 300), 0.0, math.sqrt(2 / 300)),
        (lambda: init.kaiming_normal_(w, nonlinearity="relu"), None, None, 0.0, math.sqrt(2 / 400)),
        (lambda: init.kaiming_normal_(w, mode="fan_out", nonlinearity="tanh"), None, None, 0.0,
         5 / 3 / math.sqrt(300)),
    ]
    for fill, lo, hi, mean, std in cases:
        v = host(fill())
        if lo is not None:
            assert v.min() >= lo and v.max() < hi and v.min() < lo + 0.01 * (hi - lo)
        assert abs(v.mean() - mean) < 0.02 * std + 1e-3 and abs(v.std() - std) < 0.02 * std


def test_trunc_normal(device):
    lucid.manual_seed(1)
    w = init.trunc_normal_(param((200, 300), device), mean=0.5, std=2.0, a=-1.0, b=3.0)
    v = host(w)
    assert v.min() >= -1.0 and v.max() <= 3.0
    # moments of N(0.5, 4) truncated to [-1, 3], from the standard formulas
    alpha, beta = -0.75, 1.25
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    mass = 0.5 * (math.erf(beta / math.sqrt(2)) - math.erf(alpha / math.sqrt(2)))
    mean = 0.5 + 2.0 * (pdf(alpha) - pdf(beta)) / mass
    var = 4.0 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - ((pdf(alpha) - pdf(beta)) / mass) ** 2)
    assert abs(v.mean() - mean) < 0.01 and abs(v.var() - var) < 0.02
    with pytest.raises(ValueError, match="holds only"):
        init.trunc_normal_(param((3,), device), mean=0.0, std=1.0, a=6.0, b=7.0)
    with pytest.warns(UserWarning, match="more than 2 std"):
        init.trunc_normal_(param((3,), device), mean=0.0, std=1.0, a=2.5, b=3.5)


def test_constant_eye_dirac_and_sparse(device):
    torch = pytest.importorskip("torch")
    w = param((3, 4), device)
    assert (host(init.constant_(w, 2.5)) == 2.5).all() and (host(init.ones_(w)) == 1).all()
    assert (host(init.zeros_(w)) == 0).all()
    np.testing.assert_array_equal(host(init.eye_(w)), np.eye(3, 4))
    for shape, groups in (((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((4, 4, 1, 3, 2), 2)):
        want = torch.nn.init.dirac_(torch.empty(shape), groups)
        np.testing.assert_array_equal(host(init.dirac_(param(shape, device), groups)), want.numpy())
    s = host(init.sparse_(param((10, 6), device), 0.3, std=0.5))
    assert ((s == 0).sum(0) == 3).all() and s.std() > 0.1
    ints = lucid.zeros(2, 2, dtype=lucid.int64, device=device)
    assert (host(init.constant_(ints, 3)) == 3).all()
    with pytest.raises(TypeError, match="floating"):
        init.normal_(ints)
    with pytest.raises(ValueError, match="2-D"):
        init.eye_(param((2, 2, 2), device))


def test_orthogonal(device):
    lucid.manual_seed(2)
    for shape in ((4, 6), (6, 4), (3, 2, 2)):
        q = host(init.orthogonal_(param(shape, device, lucid.float64), gain=2.0)).reshape(shape[0], -1)
        small = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
        np.testing.assert_allclose(small, 4 * np.eye(min(q.shape)), atol=1e-12)


def test_init_is_reproducible(device):
    def draw():
        lucid.manual_seed(123)
        return [host(f(param((5, 7), device))) for f in (init.uniform_, init.normal_, init.xavier_uniform_,
                                                          init.kaiming_normal_, init.trunc_normal_,
                                                          init.orthogonal_)]

    for a, b in zip(draw(), draw()):
        np.testing.assert_array_equal(a, b)


def test_generator_argument_must_be_a_generator(device):
    with pytest.raises(TypeError, match="lucid.Generator"):
        init.uniform_(param((2,), device), generator=object())


# ---- utils: gradient clipping ---------------------------------------------------------------
def grads_pair(rng, device, torch):
    shapes = ((3, 4), (5,), (2, 2, 2))
    arrays = [rng.standard_normal(s) * 3 for s in shapes]
    mine = [lucid.nn.Parameter(lucid.zeros(*s, dtype=lucid.float64, device=device)) for s in shapes]
    theirs = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in shapes]
    for m, t, a in zip(mine, theirs, arrays):
        m.grad = lucid.tensor(a, device=device)
        t.grad = torch.tensor(a)
    return mine, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf])
def test_clip_grad_norm_against_torch(device, rng, norm_type):
    torch = pytest.importorskip("torch")
    for max_norm in (1.0, 1e6):
        mine, theirs = grads_pair(rng, device, torch)
        total = utils.clip_grad_norm_(mine, max_norm, norm_type)
        want = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
        np.testing.assert_allclose(host(total), want.numpy(), rtol=1e-12)
        for m, t in zip(mine, theirs):
            np.testing.assert_allclose(host(m.grad), t.grad.numpy(), rtol=1e-12)


def test_clip_grad_edge_cases(device, rng):
    p = lucid.nn.Parameter(lucid.zeros(3, device=device))
    assert utils.clip_grad_norm_([p], 1.0).item() == 0  # no grads at all
    p.grad = lucid.tensor([math.inf, 1.0, 2.0], device=device)
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    p.grad = lucid.tensor([-3.0, 0.5, 2.0], device=device)
    assert utils.clip_grad_value_(p, 1.0) is None
    np.testing.assert_array_equal(host(p.grad), [-1.0, 0.5, 1.0])


def test_parameter_vector_round_trip(device, rng):
    m = L.Linear(3, 2, device=device, dtype=lucid.float64)
    vec = utils.parameters_to_vector(m.parameters())
    assert vec.shape == (8,)
    np.testing.assert_array_equal(host(vec), np.concatenate([host(m.weight).ravel(), host(m.bias)]))
    weight = m.weight
    new = lucid.tensor(np.arange(8.0), device=device)
    utils.vector_to_parameters(new, m.parameters())
    assert m.weight is weight  # same Parameter objects, new values
    np.testing.assert_array_equal(host(m.weight), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(host(m.bias), [6.0, 7.0])
    with pytest.raises(ValueError, match="elements"):
        utils.vector_to_parameters(lucid.zeros(3, device=device), m.parameters())


# ---- utils: weight and spectral norm ------------------------------------------------------------
def linear_pair(device, torch, rng, out=3, inp=4):
    m, t = L.Linear(inp, out, device=device, dtype=lucid.float64), torch.nn.Linear(inp, out).double()
    w, b = rng.standard_normal((out, inp)), rng.standard_normal(out)
    with lucid.no_grad():
        m.weight.copy_(lucid.tensor(w, device=device))
        m.bias.copy_(lucid.tensor(b, device=device))
    with torch.no_grad():
        t.weight.copy_(torch.tensor(w))
        t.bias.copy_(torch.tensor(b))
    return m, t


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_against_torch(device, rng, dim):
    torch = pytest.importorskip("torch")
    m, t = linear_pair(device, torch, rng)
    utils.weight_norm(m, dim=dim)
    with pytest.warns(FutureWarning):  # the old API we mirror is deprecated in torch
        torch.nn.utils.weight_norm(t, dim=dim)
    assert sorted(n for n, _ in m.named_parameters()) == ["bias", "weight_g", "weight_v"]
    np.testing.assert_allclose(host(m.weight_g), t.weight_g.detach().numpy(), rtol=1e-12)
    x = rng.standard_normal((5, 4))
    y, ty = m(lucid.tensor(x, device=device)), t(torch.tensor(x))
    np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-12)
    y.square().sum().backward()
    ty.square().sum().backward()
    for name in ("weight_g", "weight_v", "bias"):
        np.testing.assert_allclose(host(getattr(m, name).grad), getattr(t, name).grad.numpy(), rtol=1e-10)
    with pytest.raises(RuntimeError, match="two weight_norm"):
        utils.weight_norm(m)
    utils.remove_weight_norm(m)
    assert sorted(n for n, _ in m.named_parameters()) == ["bias", "weight"]
    np.testing.assert_allclose(host(m(lucid.tensor(x, device=device))), ty.detach().numpy(), rtol=1e-12)


def test_spectral_norm_against_torch(device, rng):
    torch = pytest.importorskip("torch")
    m, t = linear_pair(device, torch, rng, out=5, inp=3)
    utils.spectral_norm(m, n_power_iterations=2)
    torch.nn.utils.spectral_norm(t, n_power_iterations=2)
    assert sorted(n for n, _ in m.named_buffers()) == ["weight_u", "weight_v"]
    with lucid.no_grad():  # start both power iterations from the same vectors
        m.weight_u.copy_(lucid.tensor(t.weight_u.numpy(), device=device))
        m.weight_v.copy_(lucid.tensor(t.weight_v.numpy(), device=device))
    x = rng.standard_normal((4, 3))
    for step in range(3):
        if step == 2:
            m.eval()
            t.eval()
        y, ty = m(lucid.tensor(x, device=device)), t(torch.tensor(x))
        np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(host(m.weight_u), t.weight_u.numpy(), rtol=1e-10)
        y.sum().backward()
        ty.sum().backward()
        np.testing.assert_allclose(host(m.weight_orig.grad), t.weight_orig.grad.numpy(), rtol=1e-9)
    # after enough training-mode iterations sigma is the largest singular value
    m.train()
    for _ in range(30):
        m(lucid.tensor(x, device=device))
    np.testing.assert_allclose(np.linalg.svd(host(m.weight), compute_uv=False)[0], 1.0, rtol=1e-6)
    utils.remove_spectral_norm(m)
    assert sorted(n for n, _ in m.named_parameters()) == ["bias", "weight"] and not list(m.named_buffers())
