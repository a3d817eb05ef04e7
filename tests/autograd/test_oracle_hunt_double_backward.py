"""Double (and triple) backward against PyTorch, found by an oracle hunt: ``prod``/``cumprod`` through zeros
(their gradients' own derivatives were wrong where an element is 0), and the ReLU-like activations, whose
gradient under ``create_graph`` must stay in the graph (differentiating it gives zeros, not an error).
A table of further ops pins their second derivatives (with respect to every input) to PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.nn.functional as LF
from lucid.autograd import gradgradcheck


def _lib(lib):
    """``(lib, its functional module, its grad)``: the cases below are written once for both libraries."""
    if lib is lucid:
        return lucid, LF, lucid.autograd.grad
    return lib, lib.nn.functional, lib.autograd.grad


def _tensors(lib, arrays, device, requires_grad=True):
    if lib is lucid:
        return [lucid.tensor(a, dtype=lucid.float64, device=device, requires_grad=requires_grad) for a in arrays]
    return [lib.tensor(a, dtype=lib.float64, requires_grad=requires_grad) for a in arrays]


def _constant(lib, device):
    """``C(array)``: a constant (index) tensor on the device of the case."""
    return (lambda a: lucid.tensor(a, device=device)) if lib is lucid else lib.tensor


def _np(t):
    return None if t is None else np.asarray(t.detach().cpu().numpy())


def _derivatives(lib, fn, arrays, device, weights, vs, orders=2):
    """First, second (and third) derivatives of ``sum(fn(*x) * weights)``: each next one of ``sum(previous * v)``
    with respect to every input, as arrays."""
    L, F, grad = _lib(lib)
    xs = _tensors(L, arrays, device)
    out = fn(L, F, _constant(L, device), *xs)
    w = _tensors(L, [weights[: out.numel()].reshape(tuple(out.shape))], device, requires_grad=False)[0]
    level, found = (out * w).sum(), []
    for k in range(orders):
        gs = grad(level, xs, create_graph=k + 1 < orders, allow_unused=True)
        found.append([_np(g) for g in gs])
        if k + 1 < orders:
            terms = [(g * v).sum() for g, v in zip(gs, _tensors(L, vs, device, requires_grad=False))
                     if g is not None]
            level = sum(terms[1:], terms[0])
    return found


def _compare(device, fn, arrays, orders=2, seed=0):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal(1000)
    vs = [rng.standard_normal(np.shape(a)) for a in arrays]
    ours = _derivatives(lucid, fn, arrays, device, weights, vs, orders)
    theirs = _derivatives(torch, fn, arrays, None, weights, vs, orders)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for i, (p, q) in enumerate(zip(a, b)):
            assert (p is None) == (q is None), (k, i)
            if p is not None:
                np.testing.assert_allclose(p, q, rtol=1e-6, atol=1e-9, err_msg=f"order {k + 1}, input {i}")


# ---- prod and cumprod through zeros ------------------------------------------------------------------------------

_WITH_ZEROS = np.array([[1.5, 0.0, 2.0, 0.7, 0.0], [0.3, 1.2, 0.0, 2.0, 1.1], [0.5, -1.5, 2.5, 0.8, 1.3]])

_SCANS_AND_PRODUCTS = {
    "cumprod_last": lambda L, F, C, x: L.cumprod(x, 1),
    "cumprod_first": lambda L, F, C, x: L.cumprod(x, 0),
    "prod_dim": lambda L, F, C, x: L.prod(x, 1),
    "prod_all": lambda L, F, C, x: L.prod(x),
    "prod_keepdim": lambda L, F, C, x: L.prod(x, 0, keepdim=True),
    "prod_of_cumprod": lambda L, F, C, x: L.prod(L.cumprod(x, 1)[:, :3], 1),
}


@pytest.mark.parametrize("name", sorted(_SCANS_AND_PRODUCTS))
def test_prod_and_cumprod_higher_derivatives_through_zeros(device, name):
    _compare(device, _SCANS_AND_PRODUCTS[name], [_WITH_ZEROS], orders=3)


@pytest.mark.parametrize("name", ["cumprod_last", "prod_dim", "prod_all"])
def test_prod_and_cumprod_gradgradcheck_with_zeros(device, name):
    x = lucid.tensor(_WITH_ZEROS, dtype=lucid.float64, device=device, requires_grad=True)
    fn = _SCANS_AND_PRODUCTS[name]
    assert gradgradcheck(lambda t: fn(lucid, LF, None, t), (x,))


# ---- ReLU-like activations: the gradient stays in the graph -------------------------------------------------------

_PIECEWISE_LINEAR = {
    "relu": lambda L, F, C, x: F.relu(x),
    "relu6": lambda L, F, C, x: F.relu6(x * 4),
    "hardtanh": lambda L, F, C, x: F.hardtanh(x),
    "leaky_relu": lambda L, F, C, x: F.leaky_relu(x, 0.2),
    "rrelu_eval": lambda L, F, C, x: F.rrelu(x, training=False),
    "threshold": lambda L, F, C, x: F.threshold(x, 0.1, 2.0),
    "hardshrink": lambda L, F, C, x: F.hardshrink(x, 0.3),
    "softshrink": lambda L, F, C, x: F.softshrink(x, 0.3),
    "clamp": lambda L, F, C, x: L.clamp(x, -0.5, 0.5),
}


@pytest.mark.parametrize("name", sorted(_PIECEWISE_LINEAR))
def test_piecewise_linear_gradient_stays_in_the_graph_as_torch(device, name):
    """ReLU's gradient requires grad under create_graph and differentiates to zeros, as PyTorch's (its backward
    formula takes the input); clamp's does not require grad, in both (a ``where`` on a constant mask)."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((3, 4))
    fn = _PIECEWISE_LINEAR[name]
    connected = []
    for lib, dev in ((lucid, device), (torch, None)):
        L, F, grad = _lib(lib)
        (t,) = _tensors(L, [x], dev)
        (g,) = grad(fn(L, F, None, t).sum(), t, create_graph=True)
        connected.append(g.requires_grad)
        if g.requires_grad:
            (gg,) = grad((g * g).sum(), t)
            np.testing.assert_array_equal(_np(gg), np.zeros_like(x))
    assert connected[0] == connected[1] == (name != "clamp")
    if name != "clamp":
        _compare(device, fn, [x])


def _input_gradient_penalty(lib, device, fn, x, w):
    """The derivatives of ``|d/dx sum(fn(x) * w)|^2`` with respect to ``x`` and ``w`` (None where unused): the
    incoming gradient ``w`` requires grad, as a gradient penalty's through a later trainable layer."""
    L, F, grad = _lib(lib)
    xt, wt = _tensors(L, [x, w], device)
    (g,) = grad((fn(L, F, _constant(L, device), xt) * wt).sum(), xt, create_graph=True)
    return [_np(d) for d in grad((g * g).sum(), [xt, wt], allow_unused=True)]


@pytest.mark.parametrize("name", sorted({**_PIECEWISE_LINEAR, "prelu": None}))
def test_piecewise_linear_gradient_stays_in_the_graph_when_g_requires_grad(device, name):
    """The same when the incoming gradient requires grad (a LeakyReLU critic's gradient penalty, a trainable layer
    after the activation): the input's derivative is zeros, not None, as PyTorch's (clamp's stays None in both)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 4)), rng.standard_normal(4)
    fn = _PIECEWISE_LINEAR.get(name) or (lambda L, F, C, t: F.prelu(t, C(np.array([0.25, -0.5, 2.0]))))
    ours = _input_gradient_penalty(lucid, device, fn, x, w)
    theirs = _input_gradient_penalty(torch, None, fn, x, w)
    assert [d is None for d in ours] == [d is None for d in theirs] == [name == "clamp", False]
    for a, b in zip(ours, theirs):
        if b is not None:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_relu_hessian_is_zeros_as_torch(device):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((2, 3))
    ours = lucid.autograd.functional.hessian(lambda t: LF.relu(t).sum(),
                                             lucid.tensor(x, dtype=lucid.float64, device=device))
    theirs = torch.autograd.functional.hessian(lambda t: torch.relu(t).sum(), torch.tensor(x))
    np.testing.assert_array_equal(_np(ours), theirs.numpy())


# ---- second derivatives of a spread of ops, pinned to PyTorch's -------------------------------------------------

_RNG = np.random.default_rng(3)


def _r(*shape, low=None):
    a = _RNG.standard_normal(shape)
    return np.abs(a) + low if low is not None else a


_CLASSES = np.array([0, 2, 4])

_CASES = {
    "logsumexp_std_norm": ([_r(3, 4)], lambda L, F, C, x: L.logsumexp(x, 1) * x.std(1) + L.norm(x, 3, 0).sum()),
    "softmax_log_softmax": ([_r(3, 4)], lambda L, F, C, x: F.softmax(x, 1) * F.log_softmax(x, 0)),
    "cross_entropy_smoothing": ([_r(3, 5)], lambda L, F, C, x: F.cross_entropy(x, C(_CLASSES), label_smoothing=0.2)),
    "nll_bce_logits": ([_r(3, 5), _r(3, 5)],
                       lambda L, F, C, a, b: F.nll_loss(a * a, C(_CLASSES))
                       + F.binary_cross_entropy_with_logits(a, b.sigmoid())),
    "kl_smooth_l1_huber": ([_r(3, 4), _r(3, 4)],
                           lambda L, F, C, a, b: F.kl_div(a, b.softmax(1), reduction="batchmean")
                           + F.smooth_l1_loss(a, b, beta=0.7) + F.huber_loss(a * b, b, delta=0.4)),
    "matmul_einsum": ([_r(2, 3, 4), _r(4, 3)], lambda L, F, C, a, b: L.einsum("bij,jk->bik", a, b) @ L.bmm(a, a.mT)),
    "conv2d": ([_r(2, 3, 6, 5), _r(4, 3, 3, 2), _r(4)], lambda L, F, C, x, w, b: F.conv2d(x, w, b, padding=1) ** 2),
    "conv_transpose2d": ([_r(1, 3, 4, 4), _r(3, 2, 3, 3)],
                         lambda L, F, C, x, w: F.conv_transpose2d(x, w, stride=2, output_padding=1) ** 2),
    "pools": ([_r(2, 3, 6, 6)], lambda L, F, C, x: F.max_pool2d(x * x, 2) * F.avg_pool2d(x, 2, padding=0)),
    "norms": ([_r(4, 3, 2), _r(3), _r(3)],
              lambda L, F, C, x, w, b: F.layer_norm(x, (2,)) * F.batch_norm(x, None, None, w, b, training=True)
              + F.group_norm(x, 3, w, b)),
    "gather_scatter_index": ([_r(3, 4), _r(3, 2)],
                             lambda L, F, C, x, s: L.scatter_add(x, 1, C([[0, 0], [3, 2], [2, 2]]), s * s)
                             * L.gather(x, 1, C([[0, 1, 1, 3]] * 3)) + x[C([0, 2, 2])] ** 2),
    "where_clamp_tensor_bounds": ([_r(3, 4), _r(3, 4)],
                                  lambda L, F, C, a, b: L.where(a > 0, a * b, b * b) * L.clamp(a, b - 0.5, b + 0.5)),
    "interpolate": ([_r(1, 2, 4, 4)], lambda L, F, C, x: F.interpolate(x * x, size=(7, 5), mode="bicubic") ** 2),
    "sdpa": ([_r(2, 3, 4), _r(2, 5, 4), _r(2, 5, 4)],
             lambda L, F, C, q, k, v: F.scaled_dot_product_attention(q, k, v)),
}


@pytest.mark.parametrize("name", sorted(_CASES))
def test_second_derivatives_match_torch(device, name):
    arrays, fn = _CASES[name]
    _compare(device, fn, arrays)
