"""Optimizer steps and non-overlapping max pooling on one CPU core (issue 13).

- ``test_sgd_step`` / ``test_adam_step``: one ``step()`` over the parameters of an MLP
  784-1024-1024-10 (float32, gradients preset; only the step is timed). SGD with momentum 0.9,
  Adam with its defaults. The NumPy version is the in-place update a NumPy programmer writes.
- ``test_max_pool2d``: ``max_pool2d(x, 2)`` forward + backward on (64, 64, 32, 32) float32.

Run on one thread::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        python -m pytest bench/test_optim_pool.py --benchmark-only -q

``test_*_numpy_matches_lucid`` check that the timed NumPy code computes what lucid computes.
``python bench/test_optim_pool.py`` prints the tracemalloc peak of one lucid ``step()`` (the
temporaries it allocates) in units of the largest parameter.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from test_training import np_adam, np_adam_state, np_sgd_momentum

import lucid
import lucid.nn.functional as F

SHAPES = [(1024, 784), (1024,), (1024, 1024), (1024,), (10, 1024), (10,)]  # MLP 784-1024-1024-10
LR, MOMENTUM = 1e-2, 0.9
BETAS, EPS = (0.9, 0.999), 1e-8
POOL_SHAPE = (64, 64, 32, 32)


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s, dtype=np.float32) * 0.05 for s in SHAPES]
    grads = [rng.standard_normal(s, dtype=np.float32) * 0.01 for s in SHAPES]
    return params, grads


# ---- optimizers -------------------------------------------------------------------------------
def _framework_opt(lib, kind, params, grads):
    """``(params, step)`` of ``lib``'s optimizer (``lucid`` or ``torch``: the same API) with preset gradients."""
    ps = [lib.tensor(p.copy(), requires_grad=True) for p in params]
    for p, g in zip(ps, grads):
        p.grad = lib.tensor(g.copy())
    opt = lib.optim.SGD(ps, lr=LR, momentum=MOMENTUM) if kind == "sgd" else lib.optim.Adam(ps, lr=LR, betas=BETAS)
    return ps, opt.step


def _lucid_opt(kind, params, grads):
    return _framework_opt(lucid, kind, params, grads)


def _torch_opt(kind, params, grads):
    import torch

    return _framework_opt(torch, kind, params, grads)


def _numpy_opt(kind, params, grads):
    """The hand-written in-place updates of ``test_training`` (``np_sgd_momentum``, ``np_adam``)."""
    ps = [p.copy() for p in params]
    if kind == "sgd":
        buffers = [None] * len(ps)
        return ps, lambda: np_sgd_momentum(ps, grads, buffers, LR, MOMENTUM)
    state = np_adam_state(ps)
    return ps, lambda: np_adam(ps, grads, state, LR, BETAS, EPS)


OPT_BUILDERS = {"lucid": _lucid_opt, "numpy": _numpy_opt, "torch": _torch_opt}


def _host(t):
    return np.asarray(t.numpy(force=True)) if isinstance(t, lucid.Tensor) else np.asarray(t.detach().numpy())


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_optim_numpy_matches_lucid(kind):
    params, grads = _arrays()
    lps, lstep = _lucid_opt(kind, params, grads)
    nps, nstep = _numpy_opt(kind, params, grads)
    for _ in range(3):
        lstep()
        nstep()
    for a, b in zip(lps, nps):
        np.testing.assert_allclose(_host(a), b, rtol=1e-5, atol=1e-7)


def _bench_step(kind, impl, benchmark, run):
    params, grads = _arrays()
    _, step = OPT_BUILDERS[impl](kind, params, grads)
    step()  # create the state (momentum buffers) outside the timing
    run(benchmark, step)


def test_sgd_step(impl, benchmark, run):
    _bench_step("sgd", impl, benchmark, run)


def test_adam_step(impl, benchmark, run):
    _bench_step("adam", impl, benchmark, run)


# ---- max pooling ------------------------------------------------------------------------------
def _np_max_pool2(x, gy):
    """Forward and backward of 2x2 max pooling (stride 2) in NumPy: argmax per 2x2 block."""
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    idx = blocks.argmax(-1)
    y = np.take_along_axis(blocks, idx[..., None], -1)[..., 0]
    gx = np.where(np.arange(4, dtype=np.int8) == idx[..., None].astype(np.int8), gy[..., None], np.float32(0))
    gx = gx.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)
    return y, gx


def _pool_case(impl, x, gy):
    if impl == "numpy":
        return lambda: _np_max_pool2(x, gy)
    if impl == "lucid":
        xt, gt = lucid.tensor(x, requires_grad=True), lucid.tensor(gy)

        def fn():
            xt.grad = None
            y = F.max_pool2d(xt, 2)
            y.backward(gt)
            return y, xt.grad
        return fn
    import torch

    xt, gt = torch.tensor(x, requires_grad=True), torch.tensor(gy)

    def fn():
        xt.grad = None
        y = torch.nn.functional.max_pool2d(xt, 2)
        y.backward(gt)
        return y, xt.grad
    return fn


def _pool_inputs(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    n, c, h, w = shape
    return x, rng.standard_normal((n, c, h // 2, w // 2), dtype=np.float32)


def test_pool_numpy_matches_lucid():
    x, gy = _pool_inputs((2, 3, 8, 6))
    for a, b in zip(_pool_case("numpy", x, gy)(), _pool_case("lucid", x, gy)()):
        np.testing.assert_array_equal(a, _host(b))


def test_max_pool2d(impl, benchmark, run):
    x, gy = _pool_inputs(POOL_SHAPE)
    run(benchmark, _pool_case(impl, x, gy))


# ---- temporaries ------------------------------------------------------------------------------
def step_peak(kind: str, **options) -> tuple[int, int]:
    """(tracemalloc peak of one lucid ``step()`` after the first, bytes of the largest parameter): the
    parameters are updated one by one, so peak / largest is the number of weight-sized temporaries."""
    params, grads = _arrays()
    ps = [lucid.tensor(p.copy(), requires_grad=True) for p in params]
    for p, g in zip(ps, grads):
        p.grad = lucid.tensor(g.copy())
    opt = getattr(lucid.optim, kind)(ps, lr=LR, **options)
    opt.step()
    tracemalloc.start()
    opt.step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, max(p.nbytes for p in params)


if __name__ == "__main__":
    for kind, options in [("SGD", dict(momentum=0.9)), ("SGD", dict(momentum=0.9, nesterov=True, weight_decay=1e-4)),
                          ("SGD", dict(momentum=0.9, dampening=0.1, weight_decay=1e-4, maximize=True)),
                          ("Adam", {}), ("Adam", dict(amsgrad=True, weight_decay=1e-4, maximize=True)),
                          ("AdamW", {}), ("AdamW", dict(amsgrad=True, maximize=True))]:
        peak, size = step_peak(kind, **options)
        print(f"{kind:6s} {str(options):70s} peak {peak / 2**20:7.2f} MiB = {peak / size:5.2f} x largest parameter")
