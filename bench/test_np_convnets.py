"""Guards (not timed) of the hand-written NumPy LeNet and ResNet-18 training steps of ``np_convnets.py``:
a few NumPy and lucid steps from the same initial weights, on small float64 inputs, give the same losses,
the same weights after (and, for ResNet-18, the same BatchNorm running statistics); the float32 NumPy
steps the benchmarks time stay float32.
"""

from __future__ import annotations

import numpy as np
from np_convnets import (
    LENET_LR,
    RESNET18_LR,
    RESNET18_MOMENTUM,
    np_lenet_step_factory,
    np_max_pool2_batch_last,
    np_max_pool2_batch_last_backward,
    np_resnet18_step_factory,
    resnet18_running_stats,
)
from test_gpu import resnet18
from test_nn import host, randn, state
from test_training import _training_case, np_max_pool2, np_max_pool2_backward
from test_workloads import lenet

import lucid
import lucid.nn as nn


def _lenet(impl, batch, dtype):
    """``(step, params)`` of LeNet with Adam on ``batch`` 1x28x28 images, as test_workloads.lenet_step."""
    rng = np.random.default_rng(0)
    x, target = randn(rng, batch, 1, 28, 28), rng.integers(0, 10, batch)
    lucid.manual_seed(0)
    return _training_case(impl, lenet(nn), lenet, x, target, np_lenet_step_factory,
                          lambda optim, params: optim.Adam(params, lr=LENET_LR), dtype)


def _resnet18(impl, batch, size, dtype, running=None):
    """``(step, params, model)`` of ResNet-18 with SGD momentum, as test_workloads.resnet18_step;
    ``running``: the NumPy step's BatchNorm running statistics (for the comparison)."""
    rng = np.random.default_rng(0)
    x, target = randn(rng, batch, 3, size, size), rng.integers(0, 10, batch)
    lucid.manual_seed(0)
    model = resnet18(nn)
    step, params = _training_case(impl, model, resnet18, x, target,
                                  lambda p, x, t: np_resnet18_step_factory(p, x, t, running),
                                  lambda optim, params: optim.SGD(params, lr=RESNET18_LR, momentum=RESNET18_MOMENTUM),
                                  dtype)
    return step, params, model


def _agree(np_case, lucid_case, steps):
    """``steps`` steps of both cases give the same losses and the same parameters after."""
    (np_step, np_params), (lucid_step, lucid_params) = np_case, lucid_case
    for i in range(steps):
        np.testing.assert_allclose(np_step(), host(lucid_step()), rtol=1e-9, err_msg=f"loss of step {i + 1}")
    assert len(np_params) == len(lucid_params)
    for i, (a, b) in enumerate(zip(np_params, lucid_params)):
        np.testing.assert_allclose(a, host(b), rtol=1e-8, atol=1e-10, err_msg=f"parameter {i}")


def test_lenet_numpy_matches_lucid():
    _agree(_lenet("numpy", 3, np.float64), _lenet("lucid", 3, np.float64), steps=3)
    step, params = _lenet("numpy", 3, np.float32)  # the timed float32 step stays float32
    assert step().dtype == np.float32 and all(p.dtype == np.float32 for p in params)


def test_resnet18_numpy_matches_lucid():
    running = resnet18_running_stats(np.float64)
    np_step, np_params, _ = _resnet18("numpy", 2, 32, np.float64, running)
    lucid_step, lucid_params, model = _resnet18("lucid", 2, 32, np.float64)
    _agree((np_step, np_params), (lucid_step, lucid_params), steps=3)
    buffers = state(model)
    expected = [buffers[name] for name in buffers if name.endswith(("running_mean", "running_var"))]
    np.testing.assert_allclose(np.concatenate([v for pair in running for v in pair]), np.concatenate(expected),
                               rtol=1e-8, atol=1e-10)
    step, params, _ = _resnet18("numpy", 2, 32, np.float32)
    assert step().dtype == np.float32 and all(p.dtype == np.float32 for p in params)


def test_max_pool2_batch_last_matches_np_max_pool2():
    """The batch-last pooling picks the same maxima as ``np_max_pool2``, ties included (the first in
    row-major order gets the gradient), and keeps float32."""
    rng = np.random.default_rng(0)
    x = np.round(randn(rng, 3, 4, 6, 8)).transpose(1, 2, 3, 0).copy().transpose(3, 0, 1, 2)  # batch-last, many ties
    g = randn(rng, 3, 4, 3, 4)
    y, cache = np_max_pool2_batch_last(x)
    expected, idx = np_max_pool2(np.ascontiguousarray(x))
    gx = np_max_pool2_batch_last_backward(g, cache)
    assert y.dtype == gx.dtype == np.float32
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(gx, np_max_pool2_backward(g, idx))
