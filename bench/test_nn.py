"""Hot layers on the CPU, forward + backward (issue 4): Conv2d, BatchNorm2d, LayerNorm, softmax,
cross-entropy and MultiheadAttention, each against the same work written by hand in NumPy (the
forward and the backward, as a NumPy programmer would write them: im2col from a strided view and
one GEMM for the convolution, closed-form norm gradients) and against PyTorch eager.

Every case has a builder ``_<case>(impl, **shape)`` returning a callable that runs one forward
and backward from scratch and returns the output and every gradient. The benchmark times that
callable; the plain test ``test_<case>_numpy_matches_lucid`` runs the NumPy and lucid callables
on a small input and compares everything they return, so the timed work cannot silently diverge.
The ``np_*`` functions are reused by ``test_training.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import lucid
import lucid.nn as nn
import lucid.nn.functional as F

PEDANTIC = dict(iterations=1, warmup_rounds=1)


# ---- shared helpers ---------------------------------------------------------------------------
def randn(rng, *shape):
    return rng.standard_normal(shape, dtype=np.float32)


def host(t):
    """A NumPy copy of a lucid or torch tensor (arrays and NumPy scalars pass through)."""
    if isinstance(t, lucid.Tensor):
        return np.array(t.numpy(force=True))
    if hasattr(t, "detach"):
        return t.detach().numpy().copy()
    return np.asarray(t)


def state(module) -> dict:
    """A lucid module's state_dict as NumPy copies (the initial weights every implementation shares)."""
    return {name: host(v) for name, v in module.state_dict().items()}


def torch_twin(module, weights: dict):
    """A torch module loaded with ``weights`` (the lucid twin's state_dict as NumPy arrays)."""
    import torch

    module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
    return module


def agree(numpy_fn, lucid_fn, rtol=2e-4):
    """Each array returned by ``numpy_fn`` is float32 (like lucid's) and matches lucid's, to ``rtol``
    of its largest magnitude."""
    expected, got = numpy_fn(), lucid_fn()
    assert len(expected) == len(got)
    for i, (a, b) in enumerate(zip(expected, got)):
        a, b = np.asarray(a), host(b)
        assert a.dtype == b.dtype == np.float32, f"result {i}: numpy {a.dtype}, lucid {b.dtype}"
        assert a.shape == b.shape, f"result {i}: numpy {a.shape}, lucid {b.shape}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * float(np.abs(a).max()), err_msg=f"result {i}")


# ---- hand-written NumPy: forward and backward -------------------------------------------------
def np_conv2d(x, w, b, padding):
    """Stride-1 2-D convolution by im2col: columns ``(C*k*k, N*Ho*Wo)`` copied once from a strided
    view of the padded input, then one GEMM. Returns ``(y, cache)``; ``y`` is a view laid out
    channel-major, which the backward reads without a copy."""
    n, c = x.shape[:2]
    o, k = w.shape[0], w.shape[-1]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = xp.shape[2] - k + 1, xp.shape[3] - k + 1
    cols = sliding_window_view(xp, (k, k), axis=(2, 3)).transpose(1, 4, 5, 0, 2, 3).reshape(c * k * k, -1)
    y = w.reshape(o, -1) @ cols
    y += b[:, None]
    return y.reshape(o, n, ho, wo).transpose(1, 0, 2, 3), (x.shape, xp.shape, w, cols, padding)


def np_conv2d_backward(gy, cache, need_input=True):
    """``(gx or None, gw, gb)``: ``gw`` and the input's column gradients are one GEMM each; col2im
    adds the k*k shifted planes back into the padded input."""
    (n, c, h, wd), padded, w, cols, padding = cache
    o, k = w.shape[0], w.shape[-1]
    ho, wo = gy.shape[2:]
    g = gy.transpose(1, 0, 2, 3).reshape(o, -1)
    gw = (g @ cols.T).reshape(w.shape)
    gb = g.sum(1)
    if not need_input:
        return None, gw, gb
    gcols = (w.reshape(o, -1).T @ g).reshape(c, k, k, n, ho, wo)
    gxp = np.zeros((c, n) + padded[2:], dtype=gy.dtype)
    for i in range(k):
        for j in range(k):
            gxp[:, :, i:i + ho, j:j + wo] += gcols[:, i, j]
    return gxp[:, :, padding:padding + h, padding:padding + wd].transpose(1, 0, 2, 3), gw, gb


def np_batch_norm(x, w, b, running_mean, running_var, momentum=0.1, eps=1e-5):
    """Training-mode batch norm over ``(N, C, H, W)``; updates the running statistics in place
    (unbiased variance, as PyTorch). Returns ``(y, cache)``."""
    axes, shape = (0, 2, 3), (1, -1, 1, 1)
    count = x.size // x.shape[1]
    mean = x.mean(axes, keepdims=True)
    xhat = x - mean
    var = np.square(xhat).mean(axes, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    xhat *= rstd
    y = xhat * w.reshape(shape)
    y += b.reshape(shape)
    running_mean *= 1 - momentum
    running_mean += momentum * mean.ravel()
    running_var *= 1 - momentum
    running_var += momentum * count / (count - 1) * var.ravel()
    return y, (xhat, rstd, w)


def np_batch_norm_backward(gy, cache):
    """``(gx, gw, gb)`` in closed form: ``gx = w * rstd * (gy - gb/m - xhat * gw/m)``."""
    xhat, rstd, w = cache
    axes, shape = (0, 2, 3), (1, -1, 1, 1)
    count = gy.size // gy.shape[1]
    gb = gy.sum(axes)
    gw = (gy * xhat).sum(axes)
    gx = gy - (gb / count).reshape(shape)
    gx -= xhat * (gw / count).reshape(shape)
    gx *= (w * rstd.ravel()).reshape(shape)
    return gx, gw, gb


def np_layer_norm(x, w, b, eps=1e-5):
    """Layer norm over the last axis. Returns ``(y, cache)``."""
    mean = x.mean(-1, keepdims=True)
    xhat = x - mean
    var = np.square(xhat).mean(-1, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    xhat *= rstd
    y = xhat * w
    y += b
    return y, (xhat, rstd, w)


def np_layer_norm_backward(gy, cache):
    """``(gx, gw, gb)``: ``gx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat))`` with ``gh = gy * w``."""
    xhat, rstd, w = cache
    lead = tuple(range(gy.ndim - 1))
    gb = gy.sum(lead)
    gw = (gy * xhat).sum(lead)
    gh = gy * w
    gx = gh - gh.mean(-1, keepdims=True)
    gx -= xhat * (gh * xhat).mean(-1, keepdims=True)
    gx *= rstd
    return gx, gw, gb


def np_softmax(x):
    """Stable softmax along the last axis."""
    e = np.exp(x - x.max(-1, keepdims=True))
    e /= e.sum(-1, keepdims=True)
    return e


def np_softmax_backward(gy, p):
    """The gradient through ``p = softmax(x)``: ``p * (gy - sum(gy * p))``."""
    return p * (gy - (gy * p).sum(-1, keepdims=True))


def np_cross_entropy(z, target):
    """``(mean loss, dloss/dz)`` of logits ``z (N, C)`` against class indices ``target (N,)``."""
    n = z.shape[0]
    rows = np.arange(n)
    shifted = z - z.max(1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(1, keepdims=True)
    loss = (np.log(total[:, 0]) - shifted[rows, target]).mean()
    e /= total
    e[rows, target] -= 1
    e *= 1 / n
    return loss, e


def np_mha(x, w_in, b_in, w_out, b_out, heads, causal=False):
    """Batch-first self-attention (PyTorch's MultiheadAttention, no dropout; ``causal``: position i sees
    positions up to i, as ``scaled_dot_product_attention(is_causal=True)``): one GEMM for the q/k/v
    projections, scaled scores, softmax, weighted sum, output projection. Returns ``(out, cache)``;
    ``np_mha_backward`` is its backward either way (masked scores have ``p = 0``)."""
    n, length, e = x.shape
    d = e // heads
    x2 = x.reshape(n * length, e)
    qkv = x2 @ w_in.T
    qkv += b_in
    q, k, v = qkv.reshape(n, length, 3, heads, d).transpose(2, 0, 3, 1, 4)  # each (N, heads, L, d)
    scale = 1 / math.sqrt(d)
    s = q @ k.transpose(0, 1, 3, 2)
    s *= scale
    if causal:
        s += np.triu(np.full((length, length), -np.inf, dtype=s.dtype), 1)
    p = np_softmax(s)
    o = (p @ v).transpose(0, 2, 1, 3).reshape(n * length, e)
    out = o @ w_out.T
    out += b_out
    return out.reshape(n, length, e), (x2, q, k, v, p, o, w_in, w_out, scale)


def np_mha_backward(gout, cache):
    """``(gx, g_in_proj_weight, g_in_proj_bias, g_out_proj_weight, g_out_proj_bias)``."""
    x2, q, k, v, p, o, w_in, w_out, scale = cache
    n, heads, length, d = q.shape
    g = gout.reshape(n * length, -1)
    gw_out = g.T @ o
    gb_out = g.sum(0)
    go = (g @ w_out).reshape(n, length, heads, d).transpose(0, 2, 1, 3)
    gqkv = np.empty((n, length, 3, heads, d), dtype=g.dtype)
    gqkv[:, :, 2] = (p.transpose(0, 1, 3, 2) @ go).transpose(0, 2, 1, 3)
    gs = np_softmax_backward(go @ v.transpose(0, 1, 3, 2), p)
    gs *= scale
    gqkv[:, :, 0] = (gs @ k).transpose(0, 2, 1, 3)
    gqkv[:, :, 1] = (gs.transpose(0, 1, 3, 2) @ q).transpose(0, 2, 1, 3)
    gqkv = gqkv.reshape(n * length, -1)
    gw_in = gqkv.T @ x2
    gb_in = gqkv.sum(0)
    gx = (gqkv @ w_in).reshape(n, length, -1)
    return gx, gw_in, gb_in, gw_out, gb_out


# ---- cases: a builder per case gives each implementation's forward+backward callable -----------
def _module_case(impl, lucid_module, make_torch, x, gy, numpy_step, call=lambda m, x: m(x)):
    """The callable for a case that runs one module: ``y = module(x)``, backward from ``gy``;
    returns ``(y, x.grad, *parameter grads)`` (lucid/torch) or what ``numpy_step(x, gy, weights)``
    returns. The input ``x`` requires grad in every implementation."""
    weights = state(lucid_module)
    if impl == "numpy":
        return lambda: numpy_step(x, gy, weights)
    if impl == "lucid":
        module, tx, tg = lucid_module, lucid.tensor(x, requires_grad=True), lucid.tensor(gy)
    else:
        import torch

        module = torch_twin(make_torch(torch.nn), weights)
        tx, tg = torch.tensor(x, requires_grad=True), torch.from_numpy(gy)

    def step():
        tx.grad = None
        module.zero_grad()
        y = call(module, tx)
        y.backward(tg)
        return (y, tx.grad) + tuple(p.grad for p in module.parameters())

    return step


def _random_affine(module, rng):
    """Non-trivial affine parameters for a norm layer (its defaults are ones and zeros)."""
    with lucid.no_grad():
        module.weight.copy_(lucid.tensor(1 + randn(rng, *module.weight.shape)))
        module.bias.copy_(lucid.tensor(randn(rng, *module.bias.shape)))
    return module


def _conv2d(impl, n, c, size, out):
    rng = np.random.default_rng(0)
    x, gy = randn(rng, n, c, size, size), randn(rng, n, out, size, size)
    lucid.manual_seed(0)

    def numpy_step(x, gy, p):
        y, cache = np_conv2d(x, p["weight"], p["bias"], 1)
        return (y,) + np_conv2d_backward(gy, cache)

    return _module_case(impl, nn.Conv2d(c, out, 3, padding=1), lambda tnn: tnn.Conv2d(c, out, 3, padding=1),
                        x, gy, numpy_step)


def _batch_norm(impl, n, c, size):
    rng = np.random.default_rng(0)
    x, gy = randn(rng, n, c, size, size), randn(rng, n, c, size, size)
    lucid.manual_seed(0)
    module = _random_affine(nn.BatchNorm2d(c), rng)

    def numpy_step(x, gy, p):
        y, cache = np_batch_norm(x, p["weight"], p["bias"], p["running_mean"], p["running_var"])
        return (y,) + np_batch_norm_backward(gy, cache)

    return _module_case(impl, module, lambda tnn: tnn.BatchNorm2d(c), x, gy, numpy_step)


def _layer_norm(impl, n, length, features):
    rng = np.random.default_rng(0)
    x, gy = randn(rng, n, length, features), randn(rng, n, length, features)
    lucid.manual_seed(0)
    module = _random_affine(nn.LayerNorm(features), rng)

    def numpy_step(x, gy, p):
        y, cache = np_layer_norm(x, p["weight"], p["bias"])
        return (y,) + np_layer_norm_backward(gy, cache)

    return _module_case(impl, module, lambda tnn: tnn.LayerNorm(features), x, gy, numpy_step)


def _mha(impl, n, length, embed, heads):
    rng = np.random.default_rng(0)
    x, gy = randn(rng, n, length, embed), randn(rng, n, length, embed)
    lucid.manual_seed(0)
    module = nn.MultiheadAttention(embed, heads, batch_first=True)
    with lucid.no_grad():  # PyTorch zero-initialises the biases: make them count
        module.in_proj_bias.copy_(lucid.tensor(0.1 * randn(rng, 3 * embed)))
        module.out_proj.bias.copy_(lucid.tensor(0.1 * randn(rng, embed)))

    def numpy_step(x, gy, p):
        y, cache = np_mha(x, p["in_proj_weight"], p["in_proj_bias"], p["out_proj.weight"], p["out_proj.bias"],
                          heads)
        return (y,) + np_mha_backward(gy, cache)

    return _module_case(impl, module, lambda tnn: tnn.MultiheadAttention(embed, heads, batch_first=True),
                        x, gy, numpy_step, call=lambda m, x: m(x, x, x, need_weights=False)[0])


def _softmax(impl, rows, classes):
    rng = np.random.default_rng(0)
    x, gy = 3 * randn(rng, rows, classes), randn(rng, rows, classes)
    if impl == "numpy":
        def step():
            p = np_softmax(x)
            return p, np_softmax_backward(gy, p)

        return step
    if impl == "lucid":
        tx, tg, softmax = lucid.tensor(x, requires_grad=True), lucid.tensor(gy), F.softmax
    else:
        import torch

        tx, tg, softmax = torch.tensor(x, requires_grad=True), torch.from_numpy(gy), torch.softmax

    def step():
        tx.grad = None
        p = softmax(tx, dim=-1)
        p.backward(tg)
        return p, tx.grad

    return step


def _cross_entropy(impl, rows, classes):
    rng = np.random.default_rng(0)
    z, target = 3 * randn(rng, rows, classes), rng.integers(0, classes, rows)
    if impl == "numpy":
        return lambda: np_cross_entropy(z, target)
    if impl == "lucid":
        tz, tt, loss_fn = lucid.tensor(z, requires_grad=True), lucid.tensor(target), F.cross_entropy
    else:
        import torch

        tz, tt = torch.tensor(z, requires_grad=True), torch.from_numpy(target)
        loss_fn = torch.nn.functional.cross_entropy

    def step():
        tz.grad = None
        loss = loss_fn(tz, tt)
        loss.backward()
        return loss, tz.grad

    return step


# case: (builder, benchmark shape, guard shape, benchmark rounds)
CASES = {
    "conv2d": (_conv2d, dict(n=64, c=3, size=32, out=64), dict(n=2, c=3, size=6, out=4), 8),
    "batch_norm2d": (_batch_norm, dict(n=64, c=64, size=16), dict(n=3, c=4, size=5), 15),
    "layer_norm": (_layer_norm, dict(n=64, length=128, features=512), dict(n=2, length=3, features=8), 8),
    "softmax": (_softmax, dict(rows=512, classes=1000), dict(rows=4, classes=7), 30),
    "cross_entropy": (_cross_entropy, dict(rows=512, classes=1000), dict(rows=5, classes=7), 30),
    "multihead_attention": (_mha, dict(n=16, length=64, embed=256, heads=8), dict(n=2, length=5, embed=8, heads=2),
                            10),
}


def _bench(benchmark, run, impl, case):
    build, shape, _, rounds = CASES[case]
    run(benchmark, build(impl, **shape), rounds=rounds, **PEDANTIC)


# one test per case: the harness groups and tabulates by test name
def test_conv2d_forward_backward(benchmark, run, impl):
    """Conv2d 3->64, k3, padding 1 on 64x3x32x32: forward, then input, weight and bias grads."""
    _bench(benchmark, run, impl, "conv2d")


def test_batch_norm2d_forward_backward(benchmark, run, impl):
    """BatchNorm2d(64) in training mode on 64x64x16x16 (running stats updated), forward + backward."""
    _bench(benchmark, run, impl, "batch_norm2d")


def test_layer_norm_forward_backward(benchmark, run, impl):
    """LayerNorm(512) on 64x128x512, forward + backward."""
    _bench(benchmark, run, impl, "layer_norm")


def test_softmax_forward_backward(benchmark, run, impl):
    """softmax over the last axis of 512x1000, forward + backward."""
    _bench(benchmark, run, impl, "softmax")


def test_cross_entropy_forward_backward(benchmark, run, impl):
    """cross_entropy of 512x1000 logits against int64 targets (mean), forward + backward."""
    _bench(benchmark, run, impl, "cross_entropy")


def test_mha_forward_backward(benchmark, run, impl):
    """MultiheadAttention(256, 8 heads, batch_first) self-attention on 16x64x256, forward + backward."""
    _bench(benchmark, run, impl, "multihead_attention")


@pytest.mark.parametrize("case", list(CASES))
def test_numpy_matches_lucid(case):
    """Guard (not timed): the hand-written NumPy forward and backward agree with lucid's."""
    build, _, shape, _ = CASES[case]
    agree(build("numpy", **shape), build("lucid", **shape))
