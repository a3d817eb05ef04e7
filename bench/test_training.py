"""One training step on the CPU (issue 5): an MLP 784-1024-1024-10 with SGD momentum, and the
Digits CNN of ``lucid.examples.train`` with Adam; each against the same step written by hand in
NumPy (forward, backward and the optimizer update in place) and against PyTorch eager.

A step is ``zero_grad; loss = cross_entropy(model(x), y); backward; optimizer.step``. All three
implementations start from the lucid model's initial weights. ``test_*_numpy_matches_lucid``
(not timed) runs a few steps of the NumPy and lucid versions and compares losses and weights.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_nn import PEDANTIC, host, np_conv2d, np_conv2d_backward, np_cross_entropy, randn, state, torch_twin

import lucid
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.examples.train import DigitsCNN

MLP_LR, CNN_LR = 0.01, 3e-3


# ---- hand-written NumPy ------------------------------------------------------------------------
def np_sgd_momentum(params, grads, buffers, lr, momentum):
    """PyTorch's SGD with momentum, in place: ``buf = g`` on the first step, then
    ``buf = momentum * buf + g``; ``p -= lr * buf``."""
    for i, (p, g) in enumerate(zip(params, grads)):
        if buffers[i] is None:
            buffers[i] = g.copy()  # the buffer is updated in place: never the caller's gradient
        else:
            buffers[i] *= momentum
            buffers[i] += g
        p -= lr * buffers[i]


def np_adam_state(params):
    """Adam's state for ``params`` before the first step: no steps, zero moments (``np_adam`` updates it)."""
    return {"step": 0, "m": [np.zeros_like(p) for p in params], "v": [np.zeros_like(p) for p in params]}


def np_adam(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8):
    """PyTorch's Adam, in place: ``m``, ``v`` moments, bias-corrected step
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``."""
    b1, b2 = betas
    state["step"] += 1
    t = state["step"]
    step_size, root_correction = lr / (1 - b1 ** t), math.sqrt(1 - b2 ** t)
    for p, g, m, v in zip(params, grads, state["m"], state["v"]):
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        denom = np.sqrt(v)
        denom /= root_correction
        denom += eps
        np.divide(m, denom, out=denom)  # PyTorch's addcdiv: step_size * (m / denom), one temporary in all
        denom *= step_size
        p -= denom


def np_linear_backward(g, x, w, relu_out=None):
    """``(gx, gw, gb)`` of ``y = x @ w.T + b``; ``gx`` is masked by ``relu_out > 0`` (the ReLU that made
    ``x``) when given, and not computed when ``x`` is the input (``relu_out is None``)."""
    gw, gb = g.T @ x, g.sum(0)
    if relu_out is None:
        return None, gw, gb
    gx = g @ w
    gx *= relu_out > 0
    return gx, gw, gb


def np_mlp_step(params, buffers, x, target):
    """Forward (two ReLU hidden layers), cross-entropy, backward and the SGD momentum update."""
    w1, b1, w2, b2, w3, b3 = params
    h1 = x @ w1.T
    h1 += b1
    np.maximum(h1, 0, out=h1)
    h2 = h1 @ w2.T
    h2 += b2
    np.maximum(h2, 0, out=h2)
    z = h2 @ w3.T
    z += b3
    loss, g = np_cross_entropy(z, target)
    g, gw3, gb3 = np_linear_backward(g, h2, w3, h2)
    g, gw2, gb2 = np_linear_backward(g, h1, w2, h1)
    _, gw1, gb1 = np_linear_backward(g, x, w1)
    np_sgd_momentum(params, [gw1, gb1, gw2, gb2, gw3, gb3], buffers, MLP_LR, 0.9)
    return loss


def np_max_pool2(x):
    """2x2 max pooling, stride 2: ``(y, argmax within each window)`` (the first maximum, as PyTorch)."""
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    idx = win.argmax(-1)[..., None]
    return np.take_along_axis(win, idx, -1)[..., 0], idx


def np_max_pool2_backward(g, idx):
    """The gradient of 2x2 max pooling: ``g`` routed to each window's maximum."""
    n, c, h, w = g.shape
    gwin = np.zeros((n, c, h, w, 4), dtype=g.dtype)
    np.put_along_axis(gwin, idx, g[..., None], -1)
    return gwin.reshape(n, c, h, w, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, 2 * h, 2 * w)


def np_cnn_step(params, adam_state, x, target):
    """DigitsCNN: conv-relu-conv-relu-maxpool-linear-relu-linear, cross-entropy, backward, Adam."""
    c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b = params
    a1, conv1 = np_conv2d(x, c1w, c1b, 1)
    a1 = np.maximum(a1, 0)
    a2, conv2 = np_conv2d(a1, c2w, c2b, 1)
    a2 = np.maximum(a2, 0)
    pooled, idx = np_max_pool2(a2)
    flat = pooled.reshape(x.shape[0], -1)
    h = flat @ f1w.T
    h += f1b
    np.maximum(h, 0, out=h)
    z = h @ f2w.T
    z += f2b
    loss, g = np_cross_entropy(z, target)
    g, gf2w, gf2b = np_linear_backward(g, h, f2w, h)
    g, gf1w, gf1b = np_linear_backward(g, flat, f1w, flat)  # flat > 0 <=> the window's max passed its ReLU
    g = np_max_pool2_backward(g.reshape(pooled.shape), idx)
    g, gc2w, gc2b = np_conv2d_backward(g, conv2)
    g *= a1 > 0
    _, gc1w, gc1b = np_conv2d_backward(g, conv1, need_input=False)
    np_adam(params, [gc1w, gc1b, gc2w, gc2b, gf1w, gf1b, gf2w, gf2b], adam_state, CNN_LR)
    return loss


# ---- cases ----------------------------------------------------------------------------------------
def _training_case(impl, model, make_torch, x, target, numpy_step, optimizer, dtype):
    """``(step, params)``: ``step()`` runs one training step of ``impl`` and returns the loss;
    ``params`` are that implementation's parameters (in the lucid model's order), updated in place.
    ``make_torch(torch.nn)`` builds the torch twin; ``numpy_step(params, x, target)`` the NumPy step (None:
    there is no NumPy version, and the case skips for it). ``optimizer(optim, params)`` builds the
    optimizer from ``lucid.optim`` or ``torch.optim``.
    ``dtype``: float32 (benchmarks) or float64 (the guard of the Adam step, whose update
    ``m / sqrt(v)`` amplifies rounding noise)."""
    x = x.astype(dtype) if x.dtype.kind == "f" else x  # token ids stay integers
    weights = {name: w.astype(dtype) if w.dtype.kind == "f" else w for name, w in state(model).items()}
    if impl == "numpy":
        if numpy_step is None:
            pytest.skip("no hand-written NumPy version of this model (it would re-implement lucid)")
        params = [weights[name] for name, _ in model.named_parameters()]
        return numpy_step(params, x, target), params
    if impl == "lucid":
        model = model.to(lucid.float64) if dtype == np.float64 else model
        tx, tt, loss_fn, optim = lucid.tensor(x), lucid.tensor(target), F.cross_entropy, lucid.optim
    else:
        import torch

        model = torch_twin(make_torch(torch.nn).to(torch.float64 if dtype == np.float64 else torch.float32), weights)
        tx, tt, optim = torch.from_numpy(x), torch.from_numpy(target), torch.optim
        loss_fn = torch.nn.functional.cross_entropy
    opt = optimizer(optim, model.parameters())

    def step():
        opt.zero_grad()
        loss = loss_fn(model(tx), tt)
        loss.backward()
        opt.step()
        return loss

    return step, list(model.parameters())


def _mlp(impl, batch, dtype=np.float32):
    rng = np.random.default_rng(0)
    x, target = randn(rng, batch, 784), rng.integers(0, 10, batch)
    lucid.manual_seed(0)

    def layers(tnn):
        return tnn.Sequential(tnn.Linear(784, 1024), tnn.ReLU(), tnn.Linear(1024, 1024), tnn.ReLU(),
                              tnn.Linear(1024, 10))

    def numpy_step(params, x, target):
        buffers = [None] * len(params)
        return lambda: np_mlp_step(params, buffers, x, target)

    def optimizer(optim, params):
        return optim.SGD(params, lr=MLP_LR, momentum=0.9)

    return _training_case(impl, layers(nn), layers, x, target, numpy_step, optimizer, dtype)


def _torch_digits_cnn(tnn):
    """DigitsCNN's twin in torch (same layers, same parameter names)."""

    class TorchDigitsCNN(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(tnn.Conv2d(1, 16, 3, padding=1), tnn.ReLU(),
                                           tnn.Conv2d(16, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2))
            self.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(32 * 4 * 4, 64), tnn.ReLU(), tnn.Linear(64, 10))

        def forward(self, x):
            return self.classifier(self.features(x))

    return TorchDigitsCNN()


def _cnn(impl, batch, dtype=np.float32):
    rng = np.random.default_rng(0)
    x, target = rng.random((batch, 1, 8, 8), dtype=np.float32), rng.integers(0, 10, batch)
    lucid.manual_seed(0)

    def numpy_step(params, x, target):
        adam = np_adam_state(params)
        return lambda: np_cnn_step(params, adam, x, target)

    def optimizer(optim, params):
        return optim.Adam(params, lr=CNN_LR)

    return _training_case(impl, DigitsCNN(), _torch_digits_cnn, x, target, numpy_step, optimizer, dtype)


def test_mlp_sgd_step(benchmark, run, impl):
    """MLP 784-1024-1024-10 (ReLU), batch 256, cross-entropy, SGD(lr=0.01, momentum=0.9): one step."""
    step, _ = _mlp(impl, 256)
    run(benchmark, step, rounds=15, **PEDANTIC)


def test_cnn_adam_step(benchmark, run, impl):
    """lucid.examples.train.DigitsCNN on 64 1x8x8 images, cross-entropy, Adam(lr=3e-3): one step."""
    step, _ = _cnn(impl, 64)
    run(benchmark, step, rounds=100, **PEDANTIC)


def _agree(build, batch, dtype, steps=3, rtol=1e-4):
    """Guard (not timed): ``steps`` NumPy and lucid steps from the same weights give the same losses
    and the same weights after, all of ``dtype``."""
    (np_step, np_params), (lucid_step, lucid_params) = build("numpy", batch, dtype), build("lucid", batch, dtype)
    for i in range(steps):
        expected, got = np_step(), host(lucid_step())
        assert np.asarray(expected).dtype == got.dtype == dtype
        np.testing.assert_allclose(expected, got, rtol=rtol, err_msg=f"loss of step {i + 1}")
    for i, (a, b) in enumerate(zip(np_params, lucid_params)):
        b = host(b)
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * float(np.abs(a).max()), err_msg=f"parameter {i}")


def test_mlp_numpy_matches_lucid():
    _agree(_mlp, 16, np.float32)


def test_cnn_numpy_matches_lucid():
    _agree(_cnn, 8, np.float64, rtol=1e-9)
    step, params = _cnn("numpy", 8)  # and the timed float32 NumPy step stays float32
    assert step().dtype == np.float32 and all(p.dtype == np.float32 for p in params)
