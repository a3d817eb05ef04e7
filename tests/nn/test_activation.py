"""nn activations: gradients (first and second order) on every backend, values and gradients
against PyTorch, in-place forms, modules, stability at extreme inputs and errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F
from lucid.autograd import gradcheck, gradgradcheck
from lucid.nn import layers as L


def make(arr, device, grad=False, dtype=lucid.float64):
    return lucid.tensor(np.asarray(arr), dtype=dtype, device=device, requires_grad=grad)


def host(t):
    return t.detach().numpy(force=True)


# name: (lucid call, torch call, kinks to keep finite differences away from, smooth enough for gradgradcheck)
ACTS = {
    "relu": (F.relu, lambda t, x: t.relu(x), (0,), False),
    "relu6": (F.relu6, lambda t, x: t.nn.functional.relu6(x), (0, 6), False),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda t, x: t.nn.functional.leaky_relu(x, 0.2), (0,), False),
    "elu": (lambda x: F.elu(x, 0.7), lambda t, x: t.nn.functional.elu(x, 0.7), (0,), True),
    "selu": (F.selu, lambda t, x: t.selu(x), (0,), True),
    "celu": (lambda x: F.celu(x, 1.3), lambda t, x: t.celu(x, 1.3), (0,), True),
    "gelu": (F.gelu, lambda t, x: t.nn.functional.gelu(x), (), True),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda t, x: t.nn.functional.gelu(x, approximate="tanh"), (), True),
    "silu": (F.silu, lambda t, x: t.nn.functional.silu(x), (), True),
    "mish": (F.mish, lambda t, x: t.nn.functional.mish(x), (), True),
    "softplus": (lambda x: F.softplus(x, 2.0, 5.0), lambda t, x: t.nn.functional.softplus(x, 2.0, 5.0), (2.5,), True),
    "softsign": (F.softsign, lambda t, x: t.nn.functional.softsign(x), (), True),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 1.2), lambda t, x: t.nn.functional.hardtanh(x, -0.5, 1.2),
                 (-0.5, 1.2), False),
    "hardsigmoid": (F.hardsigmoid, lambda t, x: t.nn.functional.hardsigmoid(x), (-3, 3), False),
    "hardswish": (F.hardswish, lambda t, x: t.nn.functional.hardswish(x), (-3, 3), False),
    "sigmoid": (F.sigmoid, lambda t, x: t.sigmoid(x), (), True),
    "tanh": (F.tanh, lambda t, x: t.tanh(x), (), True),
    "logsigmoid": (F.logsigmoid, lambda t, x: t.nn.functional.logsigmoid(x), (), True),
    "threshold": (lambda x: F.threshold(x, 0.1, -2.0), lambda t, x: t.nn.functional.threshold(x, 0.1, -2.0),
                  (0.1,), False),
    "hardshrink": (lambda x: F.hardshrink(x, 0.3), lambda t, x: t.nn.functional.hardshrink(x, 0.3), (-0.3, 0.3),
                   False),
    "softshrink": (lambda x: F.softshrink(x, 0.3), lambda t, x: t.nn.functional.softshrink(x, 0.3), (-0.3, 0.3),
                   False),
    "tanhshrink": (F.tanhshrink, lambda t, x: t.nn.functional.tanhshrink(x), (), True),
    "glu": (lambda x: F.glu(x, 1), lambda t, x: t.nn.functional.glu(x, 1), (), True),
    "softmax": (lambda x: F.softmax(x, 0), lambda t, x: t.softmax(x, 0), (), True),
    "log_softmax": (lambda x: F.log_softmax(x, 1), lambda t, x: t.log_softmax(x, 1), (), True),
    "softmin": (lambda x: F.softmin(x, 1), lambda t, x: t.nn.functional.softmin(x, 1), (), True),
}


def away_from_kinks(a, kinks, gap=0.05):
    """Move values within ``gap`` of a kink of the function to ``kink + 2 gap`` (finite differences
    are meaningless across a kink)."""
    a = a.copy()
    for k in kinks:
        a[np.abs(a - k) < gap] = k + 2 * gap
    return a


def sample(rng, name, shape=(2, 4)):
    return away_from_kinks(rng.uniform(-4.5, 7.0, shape), ACTS[name][2])


@pytest.mark.parametrize("name", ACTS)
def test_gradcheck(device, rng, name):
    fn = ACTS[name][0]
    assert gradcheck(fn, (make(sample(rng, name), device, grad=True),))


@pytest.mark.parametrize("name", [n for n, row in ACTS.items() if row[3]])
def test_gradgradcheck(device, rng, name):
    fn = ACTS[name][0]
    assert gradgradcheck(fn, (make(sample(rng, name, (2, 4)), device, grad=True),))


@pytest.mark.parametrize("name", ACTS)
def test_against_torch(device, rng, name):
    torch = pytest.importorskip("torch")
    fn, tfn = ACTS[name][:2]
    a = sample(rng, name, (4, 6)) * 2
    x, tx = make(a, device, grad=True), torch.tensor(a, requires_grad=True)
    y, ty = fn(x), tfn(torch, tx)
    np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    g = rng.standard_normal(ty.shape)
    y.backward(make(g, device))
    ty.backward(torch.tensor(g))
    # torch's celu and hardsigmoid backwards use 1 / alpha and 1 / 6 in float32: 1e-7 agreement there
    loose = name in ("celu", "hardsigmoid")
    np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-6 if loose else 1e-10, atol=1e-13)


def test_float32_keeps_dtype(device, rng):
    x = make(rng.standard_normal((3, 4)), device, dtype=lucid.float32)
    for name, (fn, *_rest) in ACTS.items():
        assert fn(x).dtype is lucid.float32, name


def test_prelu_against_torch(device, rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((2, 3, 4))
    for w in (rng.uniform(0.1, 0.5, (3,)), rng.uniform(0.1, 0.5, (1,))):
        x, tx = make(a, device, grad=True), torch.tensor(a, requires_grad=True)
        wt, twt = make(w, device, grad=True), torch.tensor(w, requires_grad=True)
        y, ty = F.prelu(x, wt), torch.nn.functional.prelu(tx, twt)
        np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-12)
        y.sum().backward()
        ty.sum().backward()
        np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(host(wt.grad), twt.grad.numpy(), rtol=1e-12)
    assert gradcheck(F.prelu, (make(a, device, grad=True), make(rng.uniform(0.1, 0.5, (3,)), device, grad=True)))


def test_stable_at_extreme_inputs(device):
    a = np.array([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4])
    x = make(a, device, grad=True)
    expected = {
        F.logsigmoid: np.array([v - math.log1p(math.exp(v)) if v < 0 else -math.log1p(math.exp(-v)) for v in a]),
        F.softplus: np.array([0.0, math.exp(-100), math.log1p(math.exp(-30)), math.log(2), 30.0, 100.0, 1e4]),
        F.silu: a / (1 + np.exp(-np.clip(a, -700, 700))),
        F.gelu: np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in a]),
        F.mish: np.array([-0.0, -100 * math.tanh(math.exp(-100)), -30 * math.tanh(math.log1p(math.exp(-30))), 0.0,
                          30.0, 100.0, 1e4]),
    }
    for fn, want in expected.items():
        y = fn(x)
        np.testing.assert_allclose(host(y), want, rtol=1e-12, atol=1e-15)
        (g,) = lucid.autograd.grad(y.sum(), x)
        assert np.isfinite(host(g)).all(), fn.__name__


def test_relu_accepts_integers(device):
    x = lucid.tensor([-2, 0, 3], device=device)
    y = F.relu(x)
    assert y.dtype is lucid.int64 and y.tolist() == [0, 0, 3]
    with pytest.raises(TypeError, match="floating"):
        F.gelu(x)


def test_inplace_forms(device, rng):
    a = rng.standard_normal((3, 4))
    x = make(a, device)
    out = F.relu(x, inplace=True)
    assert out is x and (host(x) == np.maximum(a, 0)).all()
    x = make(a, device)
    assert F.leaky_relu_(x, 0.1) is x
    np.testing.assert_allclose(host(x), np.where(a > 0, a, 0.1 * a))
    # in place inside a graph: the gradient is that of the out-of-place op
    w = make(a, device, grad=True)
    h = w * 2
    F.elu_(h)
    h.sum().backward()
    np.testing.assert_allclose(host(w.grad), 2 * np.where(2 * a > 0, 1.0, np.exp(2 * a)), rtol=1e-12)
    with pytest.raises(RuntimeError, match="leaf"):
        F.relu(make(a, device, grad=True), inplace=True)


def test_modules_match_functions(device, rng):
    x = make(rng.standard_normal((2, 4, 3)), device)
    pairs = [
        (L.ReLU(), F.relu(x)), (L.ReLU6(), F.relu6(x)), (L.LeakyReLU(0.3), F.leaky_relu(x, 0.3)),
        (L.ELU(0.5), F.elu(x, 0.5)), (L.SELU(), F.selu(x)), (L.CELU(2.0), F.celu(x, 2.0)),
        (L.GELU("tanh"), F.gelu(x, "tanh")), (L.SiLU(), F.silu(x)), (L.Swish(), F.silu(x)), (L.Mish(), F.mish(x)),
        (L.Softplus(2, 10), F.softplus(x, 2, 10)), (L.Softsign(), F.softsign(x)),
        (L.Hardtanh(-2, 2), F.hardtanh(x, -2, 2)), (L.Hardsigmoid(), F.hardsigmoid(x)),
        (L.Hardswish(), F.hardswish(x)), (L.Sigmoid(), F.sigmoid(x)), (L.Tanh(), F.tanh(x)),
        (L.LogSigmoid(), F.logsigmoid(x)), (L.Threshold(0.2, 5.0), F.threshold(x, 0.2, 5.0)),
        (L.Hardshrink(0.4), F.hardshrink(x, 0.4)), (L.Softshrink(0.4), F.softshrink(x, 0.4)),
        (L.Tanhshrink(), F.tanhshrink(x)), (L.GLU(1), F.glu(x, 1)), (L.Softmax(1), F.softmax(x, 1)),
        (L.LogSoftmax(0), F.log_softmax(x, 0)), (L.Softmin(-1), F.softmin(x, -1)), (L.Softmax2d(), F.softmax(x, -3)),
    ]
    for module, want in pairs:
        np.testing.assert_array_equal(host(module(x)), host(want), err_msg=repr(module))
    assert repr(L.LeakyReLU(0.3)) == "LeakyReLU(negative_slope=0.3)"
    assert repr(L.ReLU(inplace=True)) == "ReLU(inplace=True)"


def test_prelu_module(device, rng):
    m = L.PReLU(3, init=0.1, device=device, dtype=lucid.float64)
    assert m.weight.shape == (3,) and (host(m.weight) == 0.1).all()
    assert [name for name, _ in m.named_parameters()] == ["weight"]
    x = make(rng.standard_normal((2, 3, 5)), device)
    np.testing.assert_allclose(host(m(x)), np.where(host(x) > 0, host(x), 0.1 * host(x)))
    assert (host(L.PReLU().weight) == 0.25).all()


def test_rrelu_train_and_eval(device, rng):
    a = -np.abs(rng.standard_normal(2000)) - 0.1
    x = make(a, device)
    np.testing.assert_allclose(host(L.RReLU(0.1, 0.3).eval()(x)), 0.2 * a)
    slopes = host(L.RReLU(0.1, 0.3)(x)) / a
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03


def test_gumbel_softmax(device, rng):
    lucid.manual_seed(0)
    logits = make(rng.standard_normal((5, 4)), device, grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(host(soft).sum(1), np.ones(5))
    hard = F.gumbel_softmax(logits, hard=True)
    h = host(hard)
    assert set(np.unique(h)) <= {0.0, 1.0} and (h.sum(1) == 1).all()
    (hard * make(rng.standard_normal((5, 4)), device)).sum().backward()
    assert np.abs(host(logits.grad)).sum() > 0


def test_softmax_arguments(device, rng):
    x = make(rng.standard_normal((3, 4)), device, dtype=lucid.float32)
    assert F.softmax(x, dim=0, dtype=lucid.float64).dtype is lucid.float64
    np.testing.assert_allclose(host(F.softmax(x, axis=0)), host(F.softmax(x, 0)))
    np.testing.assert_allclose(host(F.softmin(x, 1)), host(F.softmax(-x, 1)))


def test_errors(device):
    x = make(np.ones((2, 3)), device)
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")
    with pytest.raises(RuntimeError, match="even"):
        F.glu(x, 1)
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(RuntimeError, match="channels"):
        F.prelu(x, make(np.ones(2), device))
    with pytest.raises(TypeError, match="Tensor"):
        F.relu([1.0, 2.0])


# ---- float16 and infinite inputs, against PyTorch (issue 11) -----------------------------------------------
def test_softplus_float16_near_threshold_does_not_overflow(device):
    """beta * x just under the threshold used to take exp(20) in float16: inf instead of x."""
    if not device.backend.supports(lucid.float16):
        pytest.skip("no float16 on this backend")
    a = np.array([10.0, 30.0, -30.0, 5.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.softplus(make(a, device, dtype=lucid.float16), beta=2.0)
    torch = pytest.importorskip("torch")
    want = torch.nn.functional.softplus(torch.tensor(a, dtype=torch.float16), beta=2.0).float().numpy()
    np.testing.assert_allclose(host(y).astype(np.float32), want, rtol=1e-3)


@pytest.mark.parametrize("name", ["gelu", "silu", "mish", "softsign", "hardswish", "softplus", "logsigmoid", "elu",
                                  "selu", "celu", "tanhshrink", "leaky_relu", "relu", "hardtanh"])
def test_infinite_inputs_give_torchs_values_silently(device, name):
    a = np.array([-math.inf, math.inf, math.nan, 0.0, -50.0, 50.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = getattr(F, name)(make(a, device))
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(host(y), getattr(torch.nn.functional, name)(torch.tensor(a)).numpy(), rtol=1e-14)


def test_gelu_tanh_float16_overflow_is_silent(device):
    if not device.backend.supports(lucid.float16):
        pytest.skip("no float16 on this backend")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.gelu(make([-300.0, 300.0], device, dtype=lucid.float16), approximate="tanh")
    np.testing.assert_array_equal(host(y), [0.0, 300.0])


def test_activation_argument_errors(device):
    x = make(np.ones((3, 4)), device)
    with pytest.raises(IndexError, match="dimension 3 is out of range"):
        F.glu(x, 3)
    with pytest.raises(RuntimeError, match="0-d tensor"):
        F.glu(make(1.0, device))
    with pytest.raises(TypeError, match="prelu expects Tensors, got Tensor and float"):
        F.prelu(x, 0.25)


# ---- exact GELU: the fused kernels (issue 13) ---------------------------------------------------------------
def _gelu_reference(x):
    """x Phi(x) through erfc (no cancellation for x < 0), in float64."""
    return np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in np.asarray(x, dtype=np.float64).ravel()])


def test_gelu_float64_values_over_a_wide_range(device):
    a = np.concatenate([np.linspace(-3.0, 9.0, 1201), [0.0, -0.0, 1e-300, -1e-300, 40.0, -40.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = host(F.gelu(make(a, device)))
    # 1 + erf cancels for x < 0 (as in PyTorch): the error is that of erf near -1, relative to 1
    np.testing.assert_allclose(got, _gelu_reference(a), rtol=1e-14, atol=2e-15 * 3)
    inf = host(F.gelu(make([math.inf, -math.inf, math.nan], device)))
    assert inf[0] == math.inf and math.isnan(inf[2])  # -inf * 0: nan, as PyTorch
    assert math.isnan(inf[1])


def test_gelu_float32_within_eight_ulp(device, rng):
    """float32 GELU and its gradient on a tensor larger than one kernel chunk (65536 elements): the value
    within 8 ulp of the exact one on both sides of 0 (no ``1 + erf`` to cancel), the left tail too, down to
    where Phi(x) itself leaves float32's normal range (x = -12.9), and 0 where exp(-x^2 / 2) is; both close
    to PyTorch."""
    torch = pytest.importorskip("torch")
    a = np.clip(rng.standard_normal((40, 2000)) * 2.5, -5.6, None).astype(np.float32)
    x = make(a, device, grad=True, dtype=lucid.float32)
    y = F.gelu(x)
    assert y.dtype == lucid.float32
    want = _gelu_reference(a).reshape(a.shape)
    np.testing.assert_array_max_ulp(host(y), want.astype(np.float32), maxulp=8)
    assert np.mean(np.abs(host(y) - want) / np.spacing(np.abs(want.astype(np.float32)))) < 1  # ulp on average
    tail = np.array([-5.7, -8.0, -10.5, -12.0, -12.9], np.float32)  # PyTorch gives 0 here
    np.testing.assert_array_max_ulp(host(F.gelu(make(tail, device, dtype=lucid.float32))),
                                    _gelu_reference(tail).astype(np.float32), maxulp=8)
    assert host(F.gelu(make([-40.0], device, dtype=lucid.float32)))[0] == 0  # |x Phi(x)| < 1e-300
    g = rng.standard_normal(a.shape).astype(np.float32)
    y.backward(lucid.tensor(g, device=device))
    assert x.grad.dtype == lucid.float32
    tx = torch.from_numpy(a).requires_grad_(True)
    ty = torch.nn.functional.gelu(tx)
    ty.backward(torch.from_numpy(g))
    # PyTorch's float32 GELU computes 1 + erf in float32: its error near x = -3.5 (~1e-6 absolute) depends on
    # which vector path its build picks on this CPU, so it is checked loosely; the exact reference above is tight
    np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-6, atol=4e-6)
    np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-5, atol=4e-6)


def test_gelu_float16_keeps_its_dtype(device):
    try:
        x = make([-3.0, -0.5, 0.0, 0.7, 4.0], device, grad=True, dtype=lucid.float16)
    except TypeError:
        pytest.skip(f"{device} has no float16")
    y = F.gelu(x)
    assert y.dtype == lucid.float16
    np.testing.assert_array_equal(host(y), _gelu_reference(host(x)).astype(np.float16))
    y.sum().backward()
    assert x.grad.dtype == lucid.float16


def test_gelu_third_derivative(device, rng):
    """The fused backward is itself differentiable (gradgradcheck), and so is its backward."""
    x = make(rng.uniform(-3, 3, (5,)), device, grad=True)
    assert gradcheck(F.gelu, (x,))
    assert gradgradcheck(F.gelu, (x,))
    (g1,) = lucid.autograd.grad(F.gelu(x).sum(), x, create_graph=True)
    (g2,) = lucid.autograd.grad(g1.sum(), x, create_graph=True)
    (g3,) = lucid.autograd.grad(g2.sum(), x)
    v = host(x)
    phi = np.exp(-0.5 * v * v) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(host(g2), phi * (2 - v * v), rtol=1e-12)
    np.testing.assert_allclose(host(g3), phi * (v**3 - 4 * v), rtol=1e-10, atol=1e-14)


def test_gelu_output_can_be_changed_in_place_before_backward(device, rng):
    """GELU keeps Phi(x) for its backward, not its output: writing into the output is allowed, as in PyTorch."""
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((3, 5))
    x = lucid.tensor(a, device=device, requires_grad=True)
    y = F.gelu(x)
    y.mul_(2)
    y.sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    ty = torch.nn.functional.gelu(tx)
    ty.mul_(2)
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.to("cpu").numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)


MASKED_GRADS = [  # activations whose derivative is 0 on part of the line: name, lucid, torch's name and arguments
    ("relu", lambda F, t: F.relu(t), "relu", {}),
    ("relu6", lambda F, t: F.relu6(t), "relu6", {}),
    ("hardtanh", lambda F, t: F.hardtanh(t, -2.0, 2.0), "hardtanh", dict(min_val=-2.0, max_val=2.0)),
    ("hardsigmoid", lambda F, t: F.hardsigmoid(t), "hardsigmoid", {}),
    ("hardswish", lambda F, t: F.hardswish(t), "hardswish", {}),
    ("threshold", lambda F, t: F.threshold(t, 0.5, -1.0), "threshold", dict(threshold=0.5, value=-1.0)),
    ("hardshrink", lambda F, t: F.hardshrink(t, 0.5), "hardshrink", dict(lambd=0.5)),
    ("softshrink", lambda F, t: F.softshrink(t, 0.5), "softshrink", dict(lambd=0.5)),
]


@pytest.mark.parametrize("case", MASKED_GRADS, ids=[c[0] for c in MASKED_GRADS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_masked_derivatives_keep_inf_and_nan_gradients_where_they_apply(case, dtype, device, rng):
    """An inf or nan arriving where the derivative is 0 gives 0 (not inf * 0 = nan), and the kinks (-3 and 3,
    the thresholds) take PyTorch's side: the gradients equal PyTorch's, nan for nan."""
    torch = pytest.importorskip("torch")
    _, ours, name, kwargs = case
    kinks = np.array([-3.0, 3.0, -2.0, 2.0, 0.5, -0.5, 0.0, 6.0])
    x = np.concatenate([np.repeat(kinks, 3), rng.standard_normal(20000) * 4])
    g = rng.standard_normal(x.size)
    g[rng.random(x.size) < 0.1], g[rng.random(x.size) < 0.1], g[rng.random(x.size) < 0.1] = np.inf, -np.inf, np.nan
    lx = lucid.tensor(x, dtype=getattr(lucid, dtype), device=device, requires_grad=True)
    ours(F, lx).backward(lucid.tensor(g, dtype=getattr(lucid, dtype), device=device))
    tx = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    getattr(torch.nn.functional, name)(tx, **kwargs).backward(torch.tensor(g, dtype=getattr(torch, dtype)))
    # nan where PyTorch has nan, 0 where it has 0 (rtol: PyTorch's hardsigmoid multiplies by a float32 1/6)
    np.testing.assert_allclose(host(lx.grad), tx.grad.numpy(), rtol=1e-6, atol=0)
    assert np.isnan(host(lx.grad)).sum() < np.isnan(g).sum() + np.isinf(g).sum()  # zeros did stop some


FLOAT32_FORMS = {  # activations whose float32 forms differ from float64's (no scalar-loop expm1/log1p/where)
    "sigmoid": F.sigmoid, "silu": F.silu, "softplus": F.softplus, "logsigmoid": F.logsigmoid, "elu": F.elu,
    "selu": F.selu, "celu": lambda x: F.celu(x, 1.3), "leaky_relu": F.leaky_relu, "mish": F.mish,
    "leaky_relu_steep": lambda x: F.leaky_relu(x, 1.5), "leaky_relu_zero": lambda x: F.leaky_relu(x, 0.0),
}


@pytest.mark.parametrize("name", FLOAT32_FORMS)
def test_float32_forms_within_a_few_ulp(device, name):
    """float32 values and gradients against the float64 computation at the same (float32) inputs: within
    8 ulp of the value plus 8 ulp of 1 (derivatives cross 0 and saturate); the tails of sigmoid, logsigmoid
    and softplus keep their relative precision."""
    fn = FLOAT32_FORMS[name]
    x = np.concatenate([np.linspace(-30, 30, 6001), -np.logspace(-8, 1, 200), np.logspace(-8, 1, 200),
                        [-87.0, -80.0, 80.0, 87.0]]).astype(np.float32)
    results = {}
    for dtype in (lucid.float32, lucid.float64):
        t = lucid.tensor(x, dtype=dtype, device=device, requires_grad=True)
        y = fn(t)
        y.sum().backward()
        results[dtype] = host(y).astype(np.float64), host(t.grad).astype(np.float64)
    eps = float(np.finfo(np.float32).eps)
    for single, double in zip(results[lucid.float32], results[lucid.float64]):
        np.testing.assert_array_less(np.abs(single - double), 8 * eps * (np.abs(double) + 1) + 1e-38)
    tail = x <= -20
    if name in ("sigmoid", "logsigmoid", "softplus"):
        single, double = results[lucid.float32][0][tail], results[lucid.float64][0][tail]
        np.testing.assert_allclose(single[np.abs(double) > 1e-37], double[np.abs(double) > 1e-37], rtol=8 * eps)


GRADIENT_EDGES = [  # name, lucid, torch's name and arguments
    ("relu", lambda t: F.relu(t), "relu", {}),
    ("leaky_relu", lambda t: F.leaky_relu(t, 0.2), "leaky_relu", dict(negative_slope=0.2)),
    ("leaky_relu_zero", lambda t: F.leaky_relu(t, 0.0), "leaky_relu", dict(negative_slope=0.0)),
    ("leaky_relu_steep", lambda t: F.leaky_relu(t, 1.5), "leaky_relu", dict(negative_slope=1.5)),
    ("leaky_relu_negative", lambda t: F.leaky_relu(t, -0.3), "leaky_relu", dict(negative_slope=-0.3)),
    ("hardswish", lambda t: F.hardswish(t), "hardswish", {}),
    ("hardsigmoid", lambda t: F.hardsigmoid(t), "hardsigmoid", {}),
    ("elu", lambda t: F.elu(t), "elu", {}),
    ("selu", lambda t: F.selu(t), "selu", {}),
    ("silu", lambda t: F.silu(t), "silu", {}),
    ("softplus", lambda t: F.softplus(t, 2.0, 5.0), "softplus", dict(beta=2.0, threshold=5.0)),
    ("logsigmoid", lambda t: F.logsigmoid(t), "logsigmoid", {}),
    ("sigmoid", lambda t: F.sigmoid(t), "sigmoid", {}),
    ("threshold", lambda t: F.threshold(t, -1.5, 2.0), "threshold", dict(threshold=-1.5, value=2.0)),
    ("threshold_inf", lambda t: F.threshold(t, 2.0, -math.inf), "threshold", dict(threshold=2.0, value=-math.inf)),
    ("softshrink", lambda t: F.softshrink(t, 2.0), "softshrink", dict(lambd=2.0)),
    ("softshrink_zero", lambda t: F.softshrink(t, 0.0), "softshrink", dict(lambd=0.0)),
    ("hardshrink", lambda t: F.hardshrink(t, 2.0), "hardshrink", dict(lambd=2.0)),
]


@pytest.mark.parametrize("case", GRADIENT_EDGES, ids=[c[0] for c in GRADIENT_EDGES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradients_at_infinite_inputs_and_kinks_match_torch(case, dtype, device):
    """Values and gradients at +-inf, +-0 and the kinks (hardswish's -3 and 3: 0 and 1), silently: no inf * 0 in a
    derivative (hardswish at +inf is 1, leaky_relu with slope 0 at -inf is 0)."""
    torch = pytest.importorskip("torch")
    _, ours, name, kwargs = case
    x = np.array([-np.inf, np.inf, 0.0, -0.0, -3.0, 3.0, -1.5, 2.0, -50.0, 50.0, -100.0, 100.0])
    g = np.linspace(-2.0, 3.0, x.size)
    lx = lucid.tensor(x, dtype=getattr(lucid, dtype), device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = ours(lx)
        y.backward(lucid.tensor(g, dtype=getattr(lucid, dtype), device=device))
    tx = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    ty = getattr(torch.nn.functional, name)(tx, **kwargs)
    ty.backward(torch.tensor(g, dtype=getattr(torch, dtype)))
    np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-6, atol=1e-40)  # atol: float32 subnormals
    np.testing.assert_allclose(host(lx.grad), tx.grad.numpy(), rtol=1e-6, atol=1e-40)


SHRINKS = {  # lucid, torch: value x where x is above the threshold (or outside [-lambd, lambd]), nan kept
    "threshold": (lambda F, t: F.threshold(t, 0.25, -2.0), lambda F, t: F.threshold(t, 0.25, -2.0)),
    "softshrink": (lambda F, t: F.softshrink(t, 0.25), lambda F, t: F.softshrink(t, 0.25)),
    "hardshrink": (lambda F, t: F.hardshrink(t, 0.25), lambda F, t: F.hardshrink(t, 0.25)),
}


@pytest.mark.parametrize("name", SHRINKS)
def test_shrinks_keep_nan_and_edges_as_torch(device, rng, name):
    """float32 values and gradients at nan (value kept; gradient passed by threshold, 0 by the shrinks, as PyTorch's
    vectorized kernels), +-inf, +-0,
    the thresholds and their float32 neighbours, subnormals and huge values, and random ones: equal to PyTorch's."""
    torch = pytest.importorskip("torch")
    ours, theirs = SHRINKS[name]
    edge = np.float32(0.25)
    near = [np.nextafter(edge, np.float32(0)), edge, np.nextafter(edge, np.float32(1))]
    x = np.concatenate([[np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 1e-38, 3e38, -3e38], near,
                        np.negative(near), rng.standard_normal(1000)]).astype(np.float32)
    g = rng.standard_normal(x.size).astype(np.float32)
    lx = lucid.tensor(x, device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = ours(F, lx)
        y.backward(lucid.tensor(g, device=device))
    tx = torch.tensor(x, requires_grad=True)
    ty = theirs(torch.nn.functional, tx)
    ty.backward(torch.tensor(g))
    assert y.dtype == lucid.float32
    np.testing.assert_array_equal(host(y), ty.detach().numpy())
    np.testing.assert_array_equal(host(lx.grad), tx.grad.numpy())


def test_relu_gradient_at_nan_is_the_incoming_one(device):
    """relu passes the gradient where its output is nan (PyTorch's ``y <= 0`` test fails there)."""
    x = make([np.nan, -1.0, 2.0], device, grad=True)
    F.relu(x).backward(make([5.0, 6.0, 7.0], device))
    np.testing.assert_array_equal(host(x.grad), [5.0, 0.0, 7.0])


SLOPE_KEPT = {"leaky_relu": lambda x: F.leaky_relu(x, 0.2), "leaky_relu_steep": lambda x: F.leaky_relu(x, 1.5),
              "silu": F.silu, "softplus": lambda x: F.softplus(x, 2.0, 5.0), "logsigmoid": F.logsigmoid}


@pytest.mark.parametrize("name", SLOPE_KEPT)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_kept_slope_matches_the_recorded_derivative(name, dtype, device, rng):
    """The derivative a recorded forward keeps (the first-order backward: one product) equals the one built
    again in lucid ops (create_graph), over both sides, the threshold of softplus and the far tails."""
    fn = SLOPE_KEPT[name]
    a = np.concatenate([rng.standard_normal(200) * 4, [0.0, -0.0, 2.5, -2.5, 30.0, -30.0, -80.0, 80.0]])
    x = make(a, device, grad=True, dtype=getattr(lucid, dtype))
    g = make(rng.standard_normal(a.size), device, dtype=getattr(lucid, dtype))
    fn(x).backward(g)
    (recorded,) = lucid.autograd.grad(fn(x), x, g, create_graph=True)
    rtol = 4e-7 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(host(x.grad), host(recorded), rtol=rtol, atol=1e-37)


def test_softplus_and_logsigmoid_derivatives_keep_float32_tails(device):
    """sigmoid(x) for softplus' and sigmoid(-x) for logsigmoid' come from exp(-|x|): no overflow, so the float32
    derivative deep in the tail is the (subnormal) value, not 0."""
    x = make([-95.0, 95.0], device, grad=True, dtype=lucid.float32)
    (sp,) = lucid.autograd.grad(F.softplus(x).sum(), x)
    (ls,) = lucid.autograd.grad(F.logsigmoid(x).sum(), x)
    tail = math.exp(-95.0)
    np.testing.assert_allclose(host(sp), [tail, 1.0], rtol=1e-3)
    np.testing.assert_allclose(host(ls), [1.0, tail], rtol=1e-3)
