"""Reductions and scans: values against NumPy, gradients against finite differences and PyTorch,
dim/axis/keepdim handling, integer dtypes and error messages."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import lucid
from lucid.autograd import gradcheck, gradgradcheck

SHAPE = (2, 3, 4)


def make(arr, device, grad=False, dtype=lucid.float64):
    return lucid.tensor(np.asarray(arr), dtype=dtype, device=device, requires_grad=grad)


def host(t):
    return t.detach().numpy(force=True)


def _np_logsumexp(a, axis=None, keepdims=False):
    m = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _np_norm(p):
    def f(a, axis=None, keepdims=False):
        if p == math.inf:
            return np.max(np.abs(a), axis=axis, keepdims=keepdims)
        if p == -math.inf:
            return np.min(np.abs(a), axis=axis, keepdims=keepdims)
        if p == 0:
            return np.sum(a != 0, axis=axis, keepdims=keepdims).astype(a.dtype)
        return np.sum(np.abs(a) ** p, axis=axis, keepdims=keepdims) ** (1 / p)

    return f


# name: (lucid function taking (x, dim, keepdim), numpy function taking (a, axis, keepdims))
REDUCTIONS = {
    "sum": (lambda x, d, k: lucid.sum(x, d, k), np.sum),
    "mean": (lambda x, d, k: x.mean(d, k), np.mean),
    "var": (lambda x, d, k: lucid.var(x, d, keepdim=k), lambda a, axis, keepdims: np.var(a, axis, ddof=1,
                                                                                         keepdims=keepdims)),
    "std": (lambda x, d, k: x.std(d, keepdim=k), lambda a, axis, keepdims: np.std(a, axis, ddof=1,
                                                                                  keepdims=keepdims)),
    "prod": (lambda x, d, k: x.prod(d, k), np.prod),
    "amax": (lambda x, d, k: x.amax(d, k), np.max),
    "amin": (lambda x, d, k: lucid.amin(x, d, k), np.min),
    "logsumexp": (lambda x, d, k: x.logsumexp(d, k), _np_logsumexp),
    "norm2": (lambda x, d, k: x.norm(2, dim=d, keepdim=k), _np_norm(2)),
    "norm1": (lambda x, d, k: lucid.norm(x, 1, d, k), _np_norm(1)),
    "norm3": (lambda x, d, k: x.norm(3, d, k), _np_norm(3)),
    "norm_half": (lambda x, d, k: x.norm(0.5, d, k), _np_norm(0.5)),
    "norm_inf": (lambda x, d, k: x.norm(math.inf, d, k), _np_norm(math.inf)),
    "norm_neginf": (lambda x, d, k: x.norm(-math.inf, d, k), _np_norm(-math.inf)),
    "norm0": (lambda x, d, k: x.norm(0, d, k), _np_norm(0)),
}
DIMS = [None, 0, -1, 1, (0, 2), (-1, 0), (0, 1, 2)]


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_values_match_numpy(device, rng, name):
    fn, ref = REDUCTIONS[name]
    a = rng.standard_normal(SHAPE)
    a[0, 0, 0] = 0.0  # norm 0 counts it
    x = make(a, device)
    for d in DIMS:
        for k in (False, True):
            got = fn(x, d, k)
            want = ref(a, axis=d, keepdims=k)
            assert got.shape == np.shape(want), (name, d, k)
            np.testing.assert_allclose(host(got), want, rtol=1e-10, atol=1e-12, err_msg=f"{name} dim={d} keepdim={k}")


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "prod", "amax", "amin", "logsumexp"])
def test_axis_and_keepdims_spellings(device, rng, name):
    fn, _ = REDUCTIONS[name]
    method = getattr(lucid, name)
    x = make(rng.standard_normal(SHAPE), device)
    by_dim = fn(x, (0, 2), True)
    by_axis = method(x, axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(host(by_axis), host(by_dim), rtol=1e-12)
    # dim=() reduces everything, as PyTorch
    np.testing.assert_allclose(host(method(x, dim=())), host(fn(x, None, False)), rtol=1e-12)
    with pytest.raises(TypeError, match="both dim"):
        method(x, dim=0, axis=1)


@pytest.mark.parametrize("name", ["sum", "mean", "var", "prod", "amax", "logsumexp"])
def test_zero_dim_tensor(device, name):
    fn, ref = REDUCTIONS[name]
    x = make(2.5, device)
    for d in (None, 0, -1):
        if name == "var":  # one element, 0 degrees of freedom: nan with PyTorch's UserWarning
            with pytest.warns(UserWarning, match="degrees of freedom"):
                assert math.isnan(float(fn(x, d, False)))
            continue
        got = fn(x, d, False)
        assert got.shape == ()
        np.testing.assert_allclose(host(got), ref(np.asarray(2.5)), rtol=1e-12)
    with pytest.raises(IndexError, match="out of range"):
        fn(x, 1, False)


def test_var_std_correction(device, rng):
    a = rng.standard_normal((5, 6))
    x = make(a, device)
    for ddof, kwargs in [(1, {}), (0, {"unbiased": False}), (1, {"unbiased": True}), (0, {"correction": 0}),
                         (2, {"correction": 2})]:
        np.testing.assert_allclose(host(x.var(1, **kwargs)), np.var(a, 1, ddof=ddof), rtol=1e-12)
        np.testing.assert_allclose(host(lucid.std(x, 0, **kwargs)), np.std(a, 0, ddof=ddof), rtol=1e-12)
    # PyTorch's legacy positional form var(x, unbiased)
    np.testing.assert_allclose(host(x.var(False)), np.var(a), rtol=1e-12)
    np.testing.assert_allclose(host(x.std(False)), np.std(a), rtol=1e-12)
    with pytest.raises(TypeError, match="correction"):
        x.var(unbiased=True, correction=0)


def test_var_is_accurate_with_large_offset(device, rng):
    a = rng.standard_normal(100) + 1e8  # E[x^2] - E[x]^2 would lose everything here
    got = host(make(a, device).var())
    np.testing.assert_allclose(got, np.var(a, ddof=1), rtol=1e-6)


def test_var_with_no_degrees_of_freedom_warns(device):
    x = make([1.0], device)
    with pytest.warns(UserWarning, match="degrees of freedom"):
        assert math.isnan(float(x.var()))


# ---- max / min ------------------------------------------------------------------------
@pytest.mark.parametrize("pick", ["max", "min"])
def test_max_min_with_dim_returns_values_and_indices(device, rng, pick):
    a = rng.standard_normal(SHAPE)
    x = make(a, device)
    np_val, np_arg = getattr(np, pick), getattr(np, "arg" + pick)
    for d in (0, 1, -1):
        for k in (False, True):
            res = getattr(x, pick)(d, k)
            values, indices = res
            assert res.values is values and res.indices is indices
            assert type(res).__name__ == pick
            assert indices.dtype == lucid.int64 and not indices.requires_grad
            np.testing.assert_array_equal(host(values), np_val(a, axis=d, keepdims=k))
            np.testing.assert_array_equal(host(indices), np_arg(a, axis=d, keepdims=k))
    via_axis = getattr(lucid, pick)(x, axis=2, keepdims=True)
    np.testing.assert_array_equal(host(via_axis.indices), np_arg(a, axis=2, keepdims=True))


@pytest.mark.parametrize("pick", ["max", "min"])
def test_max_min_whole_tensor_and_pairwise(device, rng, pick):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x, y = make(a, device), make(b, device)
    whole = getattr(x, pick)()
    assert whole.shape == ()
    np.testing.assert_array_equal(host(whole), getattr(np, pick)(a))
    pairwise = getattr(lucid, pick)(x, y)
    np.testing.assert_array_equal(host(pairwise), getattr(np, pick + "imum")(a, b))
    assert getattr(x, pick)(keepdim=True).shape == (1, 1)


def test_max_min_zero_dim_and_bool(device):
    r = make(3.0, device).max(0)
    assert r.values.shape == () and r.indices.shape == () and int(r.indices) == 0
    flags = lucid.tensor([[False, True], [False, False]], device=device)
    assert flags.max().dtype == lucid.bool_ and bool(flags.max()) and not bool(flags.min())
    values, indices = flags.max(1)
    np.testing.assert_array_equal(host(values), [True, False])
    np.testing.assert_array_equal(host(indices), [1, 0])


@pytest.mark.parametrize("pick", ["max", "min"])
def test_argmax_argmin(device, rng, pick):
    a = rng.standard_normal(SHAPE)
    x = make(a, device)
    fn, ref = getattr(lucid, "arg" + pick), getattr(np, "arg" + pick)
    flat = fn(x)
    assert flat.shape == () and flat.dtype == lucid.int64
    assert int(flat) == ref(a)
    assert fn(x, keepdim=True).shape == (1, 1, 1)
    for d in (0, 1, -1):
        np.testing.assert_array_equal(host(getattr(x, "arg" + pick)(d)), ref(a, axis=d))
        np.testing.assert_array_equal(host(fn(x, axis=d, keepdims=True)), ref(a, axis=d, keepdims=True))
    ties = make([[1.0, 5.0, 5.0, -2.0, -2.0]], device)
    assert host(fn(ties, 1)).tolist() == ([1] if pick == "max" else [3])  # the first one, as PyTorch
    assert int(fn(make(7.0, device), 0)) == 0


def test_amax_ties_share_the_gradient(device):
    x = make([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], device, grad=True)
    x.amax(1).sum().backward()
    np.testing.assert_allclose(host(x.grad), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    x.grad = None
    x.max().backward()
    np.testing.assert_allclose(host(x.grad), [[0, 0.5, 0.5], [0, 0, 0]])
    x.grad = None
    x.max(1).values.sum().backward()  # max along a dim routes the gradient to the index it returns
    np.testing.assert_allclose(host(x.grad), [[0, 1, 0], [1, 0, 0]])


# ---- prod and cumprod with zeros ----------------------------------------------------------
def _prod_grad(a, axis):
    """d prod / d a_k = product of the other elements of its slice (by definition, with explicit loops)."""
    moved = np.moveaxis(a, axis, -1)
    out = np.empty_like(moved)
    for idx in np.ndindex(moved.shape[:-1]):
        row = moved[idx]
        for k in range(row.size):
            out[idx + (k,)] = np.prod(np.delete(row, k))
    return np.moveaxis(out, -1, axis)


def test_prod_gradient_with_zeros(device, rng):
    a = rng.standard_normal((4, 5))
    a[1, 2] = 0.0  # one zero in row 1
    a[2, 0] = a[2, 3] = 0.0  # two zeros in row 2
    x = make(a, device, grad=True)
    x.prod(1).sum().backward()
    np.testing.assert_allclose(host(x.grad), _prod_grad(a, 1), rtol=1e-12, atol=1e-15)
    assert np.isfinite(host(x.grad)).all()
    gradcheck(lambda t: t.prod(1), (x,))
    gradcheck(lambda t: t.prod(), (make(a[:2], device, grad=True),))


def _cumprod_grad(a, g):
    """d(sum_j g_j cumprod_j)/d a_k = sum_{j>=k} g_j prod_{i<=j, i!=k} a_i (1-d, explicit loops)."""
    out = np.zeros_like(a)
    for k in range(a.size):
        for j in range(k, a.size):
            out[k] += g[j] * np.prod(np.delete(a[: j + 1], k))
    return out


@pytest.mark.parametrize("zeros", [(), (2,), (1, 4), (0, 2, 3)])
def test_cumprod_gradient_with_zeros(device, rng, zeros):
    a = rng.standard_normal(6)
    a[list(zeros)] = 0.0
    g = rng.standard_normal(6)
    x = make(a, device, grad=True)
    x.cumprod(0).backward(make(g, device))
    np.testing.assert_allclose(host(x.grad), _cumprod_grad(a, g), rtol=1e-10, atol=1e-14)
    gradcheck(lambda t: t.cumprod(0), (x,))
    # the same slice along the first axis of a wide tensor: the blocked scan
    wide = make(np.repeat(a[:, None], 40, axis=1), device, grad=True)
    wide.cumprod(0).backward(make(np.repeat(g[:, None], 40, axis=1), device))
    np.testing.assert_allclose(host(wide.grad), np.repeat(_cumprod_grad(a, g)[:, None], 40, axis=1), rtol=1e-10,
                               atol=1e-14)


# ---- scans ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_scans_match_numpy(device, rng, name):
    a = rng.standard_normal(SHAPE)
    x = make(a, device)
    for d in (0, 1, 2, -1, -3):
        np.testing.assert_allclose(host(getattr(x, name)(d)), getattr(np, name)(a, axis=d), rtol=1e-12)
    np.testing.assert_allclose(host(getattr(lucid, name)(x, axis=1)), getattr(np, name)(a, axis=1), rtol=1e-12)
    scalar = getattr(make(3.0, device), name)(0)
    assert scalar.shape == () and float(scalar) == 3.0
    with pytest.raises(TypeError, match="one dimension"):
        getattr(x, name)()
    with pytest.raises(TypeError, match="one dimension"):
        getattr(x, name)((0, 1))
    with pytest.raises(IndexError, match="out of range"):
        getattr(x, name)(3)


@pytest.mark.parametrize("n", [1, 8, 9, 64, 65, 531])
def test_scans_along_long_and_leading_axes_match_numpy(device, rng, n):
    """Off the last axis (32 or more elements after it) the scans are blocked: blocks of positions, a scan of
    the block totals (recursively), and a fill where ``n`` is no multiple of the block."""
    a = rng.uniform(0.9, 1.1, (2, n, 33))
    x = make(a, device)
    for name in ("cumsum", "cumprod"):
        np.testing.assert_allclose(host(getattr(x, name)(1)), getattr(np, name)(a, axis=1), rtol=1e-12)
        np.testing.assert_allclose(host(getattr(x[0], name)(0)), getattr(np, name)(a[0], axis=0), rtol=1e-12)
    np.testing.assert_allclose(host(x.cummax(1).values), np.maximum.accumulate(a, axis=1))
    ints = rng.integers(-3, 4, (n, 40))
    np.testing.assert_array_equal(host(make(ints, device).cumsum(0)), np.cumsum(ints, axis=0))


# ---- integer and bool dtypes ------------------------------------------------------------
def test_integer_dtypes(device):
    i32 = lucid.tensor(np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32), device=device)
    for fn in (lambda t: t.sum(), lambda t: t.sum(0), lambda t: t.prod(1), lambda t: t.cumsum(1),
               lambda t: t.cumprod(0)):
        assert fn(i32).dtype == lucid.int64  # as PyTorch
    assert int(i32.sum()) == 21 and int(i32.prod()) == 720
    assert i32.sum(dtype=lucid.int32).dtype == lucid.int32
    assert i32.sum(dtype=lucid.float64).dtype == lucid.float64
    assert i32.amax().dtype == lucid.int32 and int(i32.amax()) == 6
    assert i32.max(1).values.dtype == lucid.int32
    flags = lucid.tensor([True, True, False], device=device)
    assert flags.sum().dtype == lucid.int64 and int(flags.sum()) == 2
    np.testing.assert_array_equal(host(flags.cumsum(0)), [1, 2, 2])
    lse = i32.logsumexp(1)  # integers are promoted to the default float dtype, as PyTorch
    assert lse.dtype == lucid.float32
    np.testing.assert_allclose(host(lse), _np_logsumexp(np.array([[1, 2, 3], [4, 5, 6]], float), 1), rtol=1e-6)
    for fn in (lucid.mean, lucid.var, lucid.std):
        with pytest.raises(TypeError, match="floating tensor, got int32"):
            fn(i32)
    assert i32.mean(dtype=lucid.float64).dtype == lucid.float64


def test_any_all(device, rng):
    a = rng.standard_normal(SHAPE)
    a[a < 0] = 0
    x = make(a, device, grad=True)
    for fn, ref in ((lucid.any, np.any), (lucid.all, np.all)):
        for d in (None, 0, (1, 2), -1):
            for k in (False, True):
                got = fn(x, d, k)
                assert got.dtype == lucid.bool_ and not got.requires_grad
                np.testing.assert_array_equal(host(got), ref(a, axis=d, keepdims=k))
    flags = lucid.tensor([[True, False], [True, True]], device=device)
    np.testing.assert_array_equal(host(flags.all(1)), [False, True])
    np.testing.assert_array_equal(host(flags.any(axis=0)), [True, True])


# ---- errors -----------------------------------------------------------------------------
def test_bad_arguments_raise_clear_errors(device):
    x = make(np.ones((2, 3)), device)
    with pytest.raises(IndexError, match="dimension 2 is out of range for a tensor with 2 dimensions"):
        x.sum(2)
    with pytest.raises(IndexError, match="out of range"):
        x.amax((0, -3))
    with pytest.raises(ValueError, match="repeats"):
        x.sum((0, 0))
    with pytest.raises(TypeError, match="one dimension"):
        x.max((0, 1))
    with pytest.raises(TypeError, match="one dimension"):
        x.argmax((0, 1))
    with pytest.raises(IndexError, match=r"amax\(\): dimension 1 of the input \(shape \(2, 0\)\) is zero-size"):
        make(np.ones((2, 0)), device).amax(1)
    with pytest.raises(IndexError, match=r"argmax\(\): the input of shape \(0,\) has no elements"):
        make(np.ones((0,)), device).argmax()


# ---- gradients --------------------------------------------------------------------------
DIFFERENTIABLE = {
    "sum": lambda t: t.sum(1),
    "sum_all": lambda t: t.sum(),
    "mean": lambda t: t.mean((0, 2), keepdim=True),
    "var": lambda t: t.var(-1),
    "var_all_biased": lambda t: t.var(unbiased=False),
    "std": lambda t: t.std(0, keepdim=True),
    "prod": lambda t: t.prod(1),
    "prod_all": lambda t: t.prod(),
    "amax": lambda t: t.amax((0, 2)),
    "amin": lambda t: t.amin(-1, keepdim=True),
    "max_whole": lambda t: t.max(),
    "max_dim": lambda t: t.max(1).values,
    "min_dim_keep": lambda t: t.min(2, keepdim=True)[0],
    "logsumexp": lambda t: t.logsumexp(1),
    "logsumexp_all": lambda t: t.logsumexp(),
    "cumsum": lambda t: t.cumsum(1),
    "cumsum_neg": lambda t: t.cumsum(-1),
    "cumprod": lambda t: t.cumprod(2),
    "norm2": lambda t: t.norm(),
    "norm2_dim": lambda t: t.norm(2, dim=1, keepdim=True),
    "norm1": lambda t: t.norm(1, -1),
    "norm3": lambda t: t.norm(3, (0, 2)),
    "norm_half": lambda t: t.norm(0.5, 0),
    "norm_inf": lambda t: t.norm(math.inf, 1),
    "norm_neginf": lambda t: t.norm(-math.inf),
}
TWICE = ["sum", "mean", "var", "var_all_biased", "std", "prod", "logsumexp", "logsumexp_all", "cumsum",
         "cumprod", "norm2", "norm3", "amax", "max_dim"]


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradcheck(device, rng, name):
    x = make(rng.standard_normal((2, 3, 2)), device, grad=True)
    assert gradcheck(DIFFERENTIABLE[name], (x,))


@pytest.mark.parametrize("name", TWICE)
def test_gradgradcheck(device, rng, name):
    x = make(rng.standard_normal((2, 3, 2)), device, grad=True)
    assert gradgradcheck(DIFFERENTIABLE[name], (x,))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("p", [2, 3, 0.5, 1, math.inf])
def test_norm_gradient_at_zero_is_zero(device, p):
    x = make(np.zeros((2, 3)), device, grad=True)
    x.norm(p).backward()
    np.testing.assert_array_equal(host(x.grad), np.zeros((2, 3)))
    y = make([[0.0, 3.0, -4.0]], device, grad=True)  # a zero element inside a nonzero vector
    y.norm(p, dim=1).sum().backward()
    assert np.isfinite(host(y.grad)).all() and host(y.grad)[0, 0] == 0


def test_logsumexp_extreme_values(device):
    x = make([[1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4, -1e4]], device, grad=True)
    y = x.logsumexp(1)
    np.testing.assert_allclose(host(y), [1e4 + math.log1p(math.exp(-1.0)), -1e4 + math.log(3.0)], rtol=1e-14)
    y.sum().backward()
    e = math.exp(-1.0)
    np.testing.assert_allclose(host(x.grad), [[1 / (1 + e), e / (1 + e), 0.0], [1 / 3] * 3], atol=1e-15)
    inf = make([[math.inf, 1.0], [-math.inf, -math.inf]], device)
    np.testing.assert_array_equal(host(inf.logsumexp(1)), [math.inf, -math.inf])


def test_float32_stays_float32(device, rng):
    x = lucid.tensor(rng.standard_normal((3, 4)).astype(np.float32), device=device)
    for fn in (lambda t: t.sum(0), lambda t: t.var(1), lambda t: t.prod(), lambda t: t.norm(3),
               lambda t: t.logsumexp(0), lambda t: t.cumprod(1), lambda t: t.max(0).values):
        assert fn(x).dtype == lucid.float32


# ---- PyTorch oracle -------------------------------------------------------------------
# the same code runs on lucid and on torch
ORACLE = {
    "var": lambda t: t.var(1),
    "var_c0": lambda t: t.var((0, 2), correction=0, keepdim=True),
    "std": lambda t: t.std(),
    "std_biased": lambda t: t.std(-1, unbiased=False),
    "prod": lambda t: t.prod(1),
    "norm": lambda t: t.norm(),
    "norm_dim": lambda t: t.norm(dim=(0, 2)),
    "norm1": lambda t: t.norm(1, 1),
    "norm3": lambda t: t.norm(3, -1, keepdim=True),
    "norm_inf": lambda t: t.norm(math.inf, 1),
    "norm_neginf": lambda t: t.norm(-math.inf),
    "logsumexp": lambda t: t.logsumexp(1),
    "logsumexp_tuple": lambda t: t.logsumexp((0, 2), keepdim=True),
    "cumsum": lambda t: t.cumsum(1),
    "cumprod": lambda t: t.cumprod(-1),
    "max": lambda t: t.max(),
    "max_dim": lambda t: t.max(1).values,
    "min_dim": lambda t: t.min(0, keepdim=True).values,
    "amax": lambda t: t.amax((0, 2)),
    "amin": lambda t: t.amin(1),
}


@pytest.mark.parametrize("name", ORACLE)
@pytest.mark.parametrize("data", ["random", "ties_and_zeros"])
def test_against_torch(device, rng, name, data):
    torch = pytest.importorskip("torch")
    fn = ORACLE[name]
    a = rng.standard_normal((3, 4, 2))
    if data == "ties_and_zeros":
        a = np.round(a)  # many ties (amax/max gradients) and zeros (prod/cumprod/norm gradients)
        a[0, 1, :] = 0.0
    g = rng.standard_normal(np.shape(fn(torch.tensor(a))))
    x = make(a, device, grad=True)
    tx = torch.tensor(a, requires_grad=True)
    y, ty = fn(x), fn(tx)
    np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    y.backward(make(g, device))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_max_indices_against_torch(device, rng):
    torch = pytest.importorskip("torch")
    a = np.round(rng.standard_normal((4, 5)))  # ties: both pick the first
    x, tx = make(a, device), torch.tensor(a)
    for d in (0, 1):
        np.testing.assert_array_equal(host(x.max(d).indices), tx.max(d).indices.numpy())
        np.testing.assert_array_equal(host(x.argmin(d)), tx.argmin(d).numpy())


def test_norm_accepts_axis_and_keepdims(device, rng):
    x = make(rng.standard_normal((3, 4)), device)
    want = np.linalg.norm(x.numpy(force=True), axis=1, keepdims=True)
    np.testing.assert_allclose(x.norm(axis=1, keepdims=True).numpy(force=True), want, rtol=1e-12)
    np.testing.assert_allclose(lucid.linalg.vector_norm(x, axis=1).numpy(force=True), want[:, 0], rtol=1e-12)


# ---- empty tensors and other edges, against PyTorch (issue 11) -----------------------------------------
EMPTY = {
    "sum": lambda t: t.sum(), "sum_dim": lambda t: t.sum(0), "prod_dim": lambda t: t.prod(0),
    "mean": lambda t: t.mean(), "mean_dim": lambda t: t.mean(0), "mean_keep": lambda t: t.mean(0, keepdim=True),
    "logsumexp_dim": lambda t: t.logsumexp(0), "logsumexp_keep": lambda t: t.logsumexp(0, keepdim=True),
    "logsumexp_other": lambda t: t.logsumexp(1), "amax_other": lambda t: t.amax(1),
    "max_other": lambda t: t.max(1).values, "argmax_other": lambda t: t.argmax(1), "cumsum": lambda t: t.cumsum(0),
    "norm": lambda t: t.norm(),
}


@pytest.mark.parametrize("name", EMPTY)
def test_reductions_of_empty_tensors_match_torch(device, name):
    """Sum 0, prod 1, mean nan, logsumexp -inf over nothing; no NumPy warning; the gradient is empty."""
    fn = EMPTY[name]
    x = make(np.zeros((0, 3)), device, grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fn(x)
        if y.dtype.kind == "f":
            y.sum().backward()
            assert x.grad.shape == (0, 3)
    torch = pytest.importorskip("torch")
    ty = fn(torch.zeros((0, 3), dtype=torch.float64))
    assert y.shape == tuple(ty.shape)
    np.testing.assert_array_equal(host(y), ty.numpy())


EMPTY_ERRORS = {
    "max": (lambda t: t.max(), RuntimeError, r"max\(\): the input of shape \(0, 3\) has no elements"),
    "amax": (lambda t: t.amax(), RuntimeError, r"amax\(\): the input of shape \(0, 3\) has no elements"),
    "max_dim": (lambda t: t.max(0), IndexError, r"max\(\): dimension 0 of the input \(shape \(0, 3\)\) is zero-size"),
    "min_dim": (lambda t: t.min(0), IndexError, r"min\(\): dimension 0"),
    "amin_dim": (lambda t: t.amin(0), IndexError, r"amin\(\): dimension 0"),
    "argmax_dim": (lambda t: t.argmax(0), IndexError, r"argmax\(\): dimension 0"),
    "argmin": (lambda t: t.argmin(), IndexError, r"argmin\(\): the input of shape \(0, 3\) has no elements"),
}


@pytest.mark.parametrize("name", EMPTY_ERRORS)
def test_max_of_nothing_raises_as_torch(device, name):
    fn, error, message = EMPTY_ERRORS[name]
    with pytest.raises(error, match=message):
        fn(make(np.zeros((0, 3)), device))
    torch = pytest.importorskip("torch")
    with pytest.raises(error):
        fn(torch.zeros((0, 3)))


def test_mean_of_float16_accumulates_in_float32(device):
    if not device.backend.supports(lucid.float16):
        pytest.skip("no float16 on this backend")
    x = make([60000.0, 60000.0], device, dtype=lucid.float16)
    y = x.mean()
    assert y.dtype is lucid.float16 and float(y) == 60000.0  # the float16 sum 120000 would overflow
    torch = pytest.importorskip("torch")
    assert float(torch.tensor([60000.0, 60000.0], dtype=torch.float16).mean()) == 60000.0


def test_var_warns_as_torch_without_numpy_warnings(device):
    torch = pytest.importorskip("torch")
    for shape, dim in (((1,), None), ((0,), None), ((1, 3), 0), ((0, 3), 0)):
        for fn in (lambda t, dim=dim: t.var(dim), lambda t, dim=dim: t.std(dim)):
            with warnings.catch_warnings(record=True) as mine:
                warnings.simplefilter("always")
                y = fn(make(np.ones(shape), device))
            with warnings.catch_warnings(record=True) as theirs:
                warnings.simplefilter("always")
                ty = fn(torch.ones(shape, dtype=torch.float64))
            np.testing.assert_array_equal(host(y), ty.numpy())
            assert [w.category for w in mine] == [w.category for w in theirs] == [UserWarning]
            assert "degrees of freedom" in str(mine[0].message)


BAD_DIMS = {"sum": lambda t: t.sum(0.5), "sum_str": lambda t: t.sum("a"), "var": lambda t: t.var(0.5),
            "all": lambda t: t.all(0.5), "mean": lambda t: t.mean([0, "x"]), "prod": lambda t: t.prod(axis=1.5)}


@pytest.mark.parametrize("name", BAD_DIMS)
def test_non_integer_dims_are_type_errors_naming_the_op(device, name):
    op = name.split("_")[0]
    with pytest.raises(TypeError, match=rf"{op}\(\): dim must be an int or a tuple of ints"):
        BAD_DIMS[name](make(np.ones((2, 3)), device))


def test_numpy_integer_dims_are_accepted(device):
    x = make(np.arange(6.0).reshape(2, 3), device)
    assert host(x.sum(np.int64(1))).tolist() == [3.0, 12.0]
    assert host(x.mean((np.int64(0), 1))) == 2.5


@pytest.mark.parametrize("fn", [lucid.sum, lucid.mean, lucid.max, lucid.argmax, lucid.logsumexp, lucid.var,
                                lucid.cumsum, lucid.amax])
def test_reductions_of_a_list_say_they_need_a_tensor(fn):
    with pytest.raises(TypeError, match="expects a Tensor, got list"):
        fn([1.0, 2.0], 0)


# ---- NaN, inf and ties in max/min gradients, against torch ---------------------------------------------------
NAN, INF = math.nan, math.inf
EXTREME_DATA = {
    "nan": [NAN, 1.0, 2.0], "two_nans": [NAN, NAN, 2.0], "nan_and_inf": [NAN, INF, NAN], "tie": [1.0, 2.0, 2.0],
    "inf_tie": [INF, INF, 1.0], "minus_inf_tie": [-INF, -INF, -INF], "both_infs": [INF, -INF],
    "rows": [[NAN, 1.0, 1.0], [2.0, 2.0, -INF], [INF, 0.0, INF]],
}
EXTREME_CALLS = {
    "max": lambda m, x: m.max(x), "min": lambda m, x: m.min(x), "amax": lambda m, x: m.amax(x),
    "amin": lambda m, x: m.amin(x), "amax_dim": lambda m, x: m.amax(x, -1), "amin_dim": lambda m, x: m.amin(x, -1),
    "max_dim": lambda m, x: m.max(x, -1), "min_dim": lambda m, x: m.min(x, -1, keepdim=True),
}


@pytest.mark.parametrize("data", EXTREME_DATA)
@pytest.mark.parametrize("call", EXTREME_CALLS)
def test_max_min_gradients_with_nan_inf_and_ties_match_torch(device, call, data):
    """max()/min() over everything send the gradient to the NaN elements when the result is NaN (shared
    evenly), and share it among ties; amax/amin share ties but give nan where the result is NaN; max(dim)
    gives it to the returned index. All as torch."""
    torch = pytest.importorskip("torch")
    results = []
    for lib, x in ((lucid, make(EXTREME_DATA[data], device, grad=True)),
                   (torch, torch.tensor(EXTREME_DATA[data], dtype=torch.float64, requires_grad=True))):
        y = EXTREME_CALLS[call](lib, x)
        values, indices = (y, None) if not isinstance(y, tuple) else y
        values.sum().backward()
        as_np = (lambda t: np.asarray(t.detach().tolist())) if lib is torch else host
        results.append([as_np(values), None if indices is None else as_np(indices), as_np(x.grad)])
    (values, indices, grad), (t_values, t_indices, t_grad) = results
    np.testing.assert_array_equal(values, t_values)
    if indices is not None:
        np.testing.assert_array_equal(indices, t_indices)
    np.testing.assert_array_equal(grad, t_grad)


def test_max_of_a_nan_sends_the_gradient_to_it(device):
    x = make([NAN, 1.0, 2.0], device, grad=True)
    x.max().backward()
    assert host(x.grad).tolist() == [1.0, 0.0, 0.0]


# ---- float16 accumulates in float32, as torch -------------------------------------------------------------------
FLOAT16_CALLS = {
    "var": lambda m, x: m.var(x), "std": lambda m, x: m.std(x), "var_dim": lambda m, x: m.var(x.reshape(64, 64), 1),
    "std_dim0": lambda m, x: m.std(x.reshape(64, 64), 0, keepdim=True), "var_big": lambda m, x: m.var(x * 300),
    "cumsum": lambda m, x: m.cumsum(x, 0), "cumsum_dim": lambda m, x: m.cumsum(x.reshape(8, 512), 1),
    "cumprod": lambda m, x: m.cumprod(1 + x / 1000, 0), "cumprod_overflow": lambda m, x: m.cumprod(x, 0),
    "sum": lambda m, x: m.sum(x), "mean": lambda m, x: m.mean(x), "logsumexp": lambda m, x: m.logsumexp(x, 0),
}


@pytest.mark.parametrize("call", FLOAT16_CALLS)
def test_float16_reductions_and_scans_accumulate_in_float32_as_torch(device, call):
    """float16 var/std (which overflowed to inf) and cumsum/cumprod (which drifted) match torch, and stay float16."""
    if not device.backend.supports(lucid.float16):
        pytest.skip("no float16 on this backend")
    torch = pytest.importorskip("torch")
    a = (np.random.default_rng(1).standard_normal(4096) * 10).astype(np.float16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy overflow warnings from the cast back to float16
        y = FLOAT16_CALLS[call](lucid, make(a, device, dtype=lucid.float16))
    t = FLOAT16_CALLS[call](torch, torch.tensor(a))
    assert y.dtype is lucid.float16
    np.testing.assert_allclose(host(y).astype(np.float64), t.numpy().astype(np.float64), rtol=2e-3, atol=0.05)


def test_float16_var_backward_is_finite_and_float16(device):
    if not device.backend.supports(lucid.float16):
        pytest.skip("no float16 on this backend")
    torch = pytest.importorskip("torch")
    a = (np.random.default_rng(1).standard_normal(4096) * 10).astype(np.float16)
    x, tx = make(a, device, grad=True, dtype=lucid.float16), torch.tensor(a, requires_grad=True)
    x.std().backward()
    tx.std().backward()
    assert x.grad.dtype is lucid.float16
    np.testing.assert_allclose(host(x.grad).astype(np.float64), tx.grad.numpy().astype(np.float64), rtol=1e-2,
                               atol=1e-4)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_float16_scans_equal_torch_exactly(device, name):
    """The running sum/product in float32, each step cast to float16: the same halves as torch."""
    if not device.backend.supports(lucid.float16):
        pytest.skip("no float16 on this backend")
    torch = pytest.importorskip("torch")
    a = np.full((2, 64), 1.01, dtype=np.float16)
    y = getattr(lucid, name)(make(a, device, dtype=lucid.float16), 1)
    np.testing.assert_array_equal(host(y), getattr(torch, name)(torch.tensor(a), 1).numpy())
