"""softmax / log_softmax: values against NumPy, stability at extreme logits, first and second
gradients, dim handling, dtypes, errors, and PyTorch as an oracle."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import lucid
from lucid.autograd import gradcheck, gradgradcheck


def make(arr, device, grad=False, dtype=lucid.float64):
    return lucid.tensor(np.asarray(arr), dtype=dtype, device=device, requires_grad=grad)


def host(t):
    return t.detach().numpy(force=True)


def np_log_softmax(a, axis):
    shifted = a - np.max(a, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def np_softmax(a, axis):
    return np.exp(np_log_softmax(a, axis))


FUNCS = {"softmax": (lucid.softmax, np_softmax), "log_softmax": (lucid.log_softmax, np_log_softmax)}


@pytest.mark.parametrize("name", FUNCS)
def test_values_match_numpy(device, rng, name):
    fn, ref = FUNCS[name]
    a = rng.standard_normal((2, 3, 4)) * 3
    x = make(a, device)
    for d in (0, 1, 2, -1, -2):
        np.testing.assert_allclose(host(fn(x, d)), ref(a, d), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(host(getattr(x, name)(d)), ref(a, d), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(host(fn(x, axis=d)), ref(a, d), rtol=1e-12, atol=1e-15)
    # dim=None (and no dim) means the last dimension
    np.testing.assert_allclose(host(fn(x)), ref(a, -1), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(host(fn(x, None)), ref(a, -1), rtol=1e-12, atol=1e-15)


def test_softmax_rows_sum_to_one_and_log_softmax_is_its_log(device, rng):
    x = make(rng.standard_normal((5, 7)) * 10, device)
    s, ls = x.softmax(1), x.log_softmax(1)
    np.testing.assert_allclose(host(s).sum(1), np.ones(5), rtol=1e-14)
    np.testing.assert_allclose(np.exp(host(ls)), host(s), rtol=1e-12)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("big", [1e4, 1e30])
def test_extreme_logits_stay_finite(device, name, big):
    fn, ref = FUNCS[name]
    a = np.array([[big, -big, 0.0, big], [-big, -big, -big, -big]])
    for dtype in (lucid.float32, lucid.float64):
        x = make(a, device, grad=True, dtype=dtype)
        y = fn(x, 1)
        assert y.dtype == dtype
        got = host(y)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, ref(a, 1), rtol=1e-6)
        y.backward(make(np.arange(8.0).reshape(2, 4), device, dtype=dtype))
        assert np.isfinite(host(x.grad)).all()
    expected = [[0.5, 0.0, 0.0, 0.5], [0.25] * 4]
    if name == "softmax":
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got[:, [0, 3]], [[-math.log(2)] * 2, [-math.log(4)] * 2], rtol=1e-12)
        np.testing.assert_allclose(got[0, 1], -2 * big - math.log(2), rtol=1e-12)


def test_masked_logits(device):
    """-inf logits (attention masks) get probability 0 and gradient 0."""
    x = make([[0.0, -math.inf, 1.0], [-math.inf, 2.0, -math.inf]], device, grad=True)
    y = x.softmax(-1)
    e = math.e
    np.testing.assert_allclose(host(y), [[1 / (1 + e), 0.0, e / (1 + e)], [0.0, 1.0, 0.0]], rtol=1e-14)
    (y * make([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device)).sum().backward()
    g = host(x.grad)
    assert np.isfinite(g).all() and g[0, 1] == 0 and g[1, 0] == 0 and g[1, 2] == 0


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gradcheck_and_gradgradcheck(device, rng, name, dim):
    fn, _ = FUNCS[name]
    x = make(rng.standard_normal((3, 4)), device, grad=True)
    assert gradcheck(lambda t: fn(t, dim), (x,))
    assert gradgradcheck(lambda t: fn(t, dim), (x,))


def test_composed_gradcheck(device, rng):
    """softmax feeding log_softmax and a product: graph with reuse of the outputs."""
    x = make(rng.standard_normal((2, 5)), device, grad=True)
    f = lambda t: t.softmax(1) * t.log_softmax(1)  # noqa: E731 (the entropy terms)
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


@pytest.mark.parametrize("name", FUNCS)
def test_zero_dim_and_single_element(device, name):
    fn, _ = FUNCS[name]
    want = 1.0 if name == "softmax" else 0.0
    for d in (0, -1):
        y = fn(make(3.5, device), d)
        assert y.shape == () and float(y) == want
    np.testing.assert_array_equal(host(fn(make([[7.0], [-2.0]], device), 1)), [[want], [want]])


@pytest.mark.parametrize("name", FUNCS)
def test_dtypes(device, rng, name):
    fn, ref = FUNCS[name]
    a = rng.standard_normal((3, 4)).astype(np.float32)
    x = lucid.tensor(a, device=device)
    assert fn(x, 1).dtype == lucid.float32
    wide = fn(x, 1, dtype=lucid.float64)
    assert wide.dtype == lucid.float64
    np.testing.assert_allclose(host(wide), ref(a.astype(np.float64), 1), rtol=1e-12)
    ints = lucid.tensor([[1, 2, 3]], device=device)
    with pytest.raises(TypeError, match="floating tensor, got int64"):
        fn(ints, 1)
    np.testing.assert_allclose(host(fn(ints, 1, dtype=lucid.float64)), ref(np.array([[1.0, 2, 3]]), 1), rtol=1e-12)


@pytest.mark.parametrize("name", FUNCS)
def test_bad_dims(device, name):
    fn, _ = FUNCS[name]
    x = make(np.zeros((2, 3)), device)
    with pytest.raises(IndexError, match="dimension 2 is out of range for a tensor with 2 dimensions"):
        fn(x, 2)
    with pytest.raises(TypeError, match="one dimension"):
        fn(x, (0, 1))
    with pytest.raises(TypeError, match="both dim"):
        fn(x, 0, axis=1)


def test_softmax_keeps_other_outputs_and_inputs_intact(device, rng):
    a = rng.standard_normal((2, 3))
    x = make(a, device)
    x.softmax(1)
    x.log_softmax(0)
    np.testing.assert_array_equal(host(x), a)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_against_torch(device, rng, name, scale):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((3, 5)) * scale
    g = rng.standard_normal((3, 5))
    for d in (0, 1):
        x = make(a, device, grad=True)
        tx = torch.tensor(a, requires_grad=True)
        y, ty = getattr(x, name)(d), getattr(torch, name)(tx, d)
        np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-12, atol=1e-300)
        # first and second derivatives: d/dx <grad_x(<y, g>), v>
        (gx,) = lucid.autograd.grad(y, x, make(g, device), create_graph=True)
        (tgx,) = torch.autograd.grad(ty, tx, torch.tensor(g), create_graph=True)
        np.testing.assert_allclose(host(gx), tgx.detach().numpy(), rtol=1e-10, atol=1e-12)
        (gx * make(a, device)).sum().backward()
        (tgx * torch.tensor(a)).sum().backward()
        np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-9, atol=1e-9 * scale)


# ---- edges, against PyTorch (issue 11) ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize(("shape", "dim"), [((2, 0), 1), ((0, 3), 1), ((0, 3), 0), ((0,), 0)])
def test_zero_length_dimension_gives_empty_result(device, name, shape, dim):
    x = make(np.zeros(shape), device, grad=True)
    y = getattr(lucid, name)(x, dim)
    assert y.shape == shape
    y.sum().backward()
    assert x.grad.shape == shape
    torch = pytest.importorskip("torch")
    assert tuple(getattr(torch, name)(torch.zeros(shape), dim).shape) == shape


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_infinite_logits_give_torchs_values_silently(device, name):
    """A row of all -inf (or holding +inf) is nan, a row with some -inf is fine: as PyTorch, no NumPy warning."""
    a = np.array([[-math.inf, -math.inf, -math.inf], [math.inf, 1.0, 0.0], [-math.inf, 0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = getattr(lucid, name)(make(a, device), 1)
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(host(y), getattr(torch, name)(torch.tensor(a), 1).numpy(), rtol=1e-15)


def test_softmax_of_a_list_says_it_needs_a_tensor():
    with pytest.raises(TypeError, match="softmax expects a Tensor, got list"):
        lucid.softmax([1.0, 2.0], 0)
