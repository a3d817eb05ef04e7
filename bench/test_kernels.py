"""Pointwise kernels on one CPU core (issue 13): ``erf``, exact GELU, ``x ** 3.0`` / ``x ** 0.5``, ``erfinv``,
``exp2``, ``logaddexp`` (against a fixed second operand), ``hardswish`` and ``prelu`` (a fixed weight per column),
forward and forward + backward, as lucid, hand-written NumPy (SciPy's ``erf`` and ``erfinv`` where NumPy has none)
and PyTorch.

Each builder returns a callable that runs the work from scratch and returns the output (and the input's
gradient, for the backward cases); ``test_numpy_matches_lucid`` compares the NumPy and lucid callables so
the timed work cannot silently diverge. Run with one thread:
``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 pytest bench/test_kernels.py --benchmark-only``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
INV_SQRT2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
ERF_SHAPE = (32, 16, 256)
POW_SHAPE = (256, 1024)
ERFINV_SHAPE = (1024, 1024)
SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0
LN2 = math.log(2.0)


def _np_erf():
    return pytest.importorskip("scipy.special").erf


def _np_erfinv():
    return pytest.importorskip("scipy.special").erfinv


@functools.cache
def _other(lib, shape):
    """The fixed second operand of the binary cases, as a ``lib`` tensor (``np``: an array): no copy per call."""
    data = np.random.default_rng(1).standard_normal(shape, dtype=np.float32)
    return data if lib is np else lib.from_numpy(data)


def _np_hardswish_slope(x):
    """0 from -3 down, 1 from 3 up, ``x / 3 + 1/2`` between (PyTorch's sides of the kinks)."""
    return np.where(x <= -3, np.float32(0), np.where(x >= 3, np.float32(1), x / 3 + np.float32(0.5)))


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


# one row per case: (shape, the inputs from a standard normal draw (None: the draw itself), lucid fn, numpy forward,
# numpy derivative, torch fn)
CASES = {
    "erf": (ERF_SHAPE, None, lambda x: x.erf(),
            lambda x: _np_erf()(x), lambda x, y: TWO_OVER_SQRT_PI * np.exp(-x * x),
            lambda t, x: t.erf(x)),
    "gelu": (ERF_SHAPE, None, F.gelu,
             lambda x: 0.5 * x * (1 + _np_erf()(x * INV_SQRT2)),
             lambda x, y: 0.5 * (1 + _np_erf()(x * INV_SQRT2)) + x * np.exp(-0.5 * x * x) * INV_SQRT_2PI,
             lambda t, x: t.nn.functional.gelu(x)),
    "pow3": (POW_SHAPE, None, lambda x: x**3.0, lambda x: x * x * x, lambda x, y: 3 * (x * x),
             lambda t, x: x**3.0),
    "pow_half": (POW_SHAPE, lambda d: np.abs(d) + np.float32(0.1), lambda x: x**0.5, np.sqrt, lambda x, y: 0.5 / y,
                 lambda t, x: x**0.5),
    # timm's trunc_normal_ initialisation runs erfinv on every weight
    "erfinv": (ERFINV_SHAPE, lambda d: np.tanh(d) * np.float32(0.9), lambda x: x.erfinv(),
               lambda x: _np_erfinv()(x), lambda x, y: SQRT_PI_OVER_2 * np.exp(y * y),
               lambda t, x: t.erfinv(x)),
    "exp2": (ERFINV_SHAPE, None, lambda x: x.exp2(), np.exp2, lambda x, y: LN2 * y, lambda t, x: t.exp2(x)),
    "logaddexp": (ERFINV_SHAPE, None, lambda x: lucid.logaddexp(x, _other(lucid, ERFINV_SHAPE)),
                  lambda x: np.logaddexp(x, _other(np, ERFINV_SHAPE)), lambda x, y: np.exp(x - y),
                  lambda t, x: t.logaddexp(x, _other(t, ERFINV_SHAPE))),
    # MobileNetV3's activation; the NumPy side as PyTorch's formulas, whole-array passes
    "hardswish": (ERFINV_SHAPE, lambda d: d * np.float32(3), F.hardswish,
                  lambda x: x * np.clip(x + np.float32(3), 0, 6) / np.float32(6),
                  lambda x, y: _np_hardswish_slope(x),
                  lambda t, x: t.nn.functional.hardswish(x)),
    # one weight per channel (dimension 1: the columns), the input's gradient
    "prelu": (ERFINV_SHAPE, None, lambda x: F.prelu(x, _other(lucid, ERFINV_SHAPE[1:])),
              lambda x: np.where(x > 0, x, _other(np, ERFINV_SHAPE[1:]) * x),
              lambda x, y: np.where(x > 0, np.float32(1), _other(np, ERFINV_SHAPE[1:])),
              lambda t, x: t.nn.functional.prelu(x, _other(t, ERFINV_SHAPE[1:]))),
}


def build(impl, name, backward, seed=0):
    shape, domain, lucid_fn, np_fwd, np_grad, torch_fn = CASES[name]
    rng = np.random.default_rng(seed)
    data = rng.standard_normal(shape, dtype=np.float32)
    if domain is not None:
        data = domain(data)
    seed_grad = rng.standard_normal(shape, dtype=np.float32)
    if impl == "numpy":
        def fn():
            y = np_fwd(data)
            return (y, seed_grad * np_grad(data, y)) if backward else (y,)
    elif impl == "torch":
        torch = _torch()
        x = torch.from_numpy(data).requires_grad_(backward)
        g = torch.from_numpy(seed_grad)

        def fn():
            if not backward:
                with torch.no_grad():
                    return (torch_fn(torch, x),)
            x.grad = None
            y = torch_fn(torch, x)
            y.backward(g)
            return y, x.grad
    else:
        x = lucid.tensor(data, requires_grad=backward)
        g = lucid.tensor(seed_grad)

        def fn():
            if not backward:
                return (lucid_fn(x),)
            x.grad = None
            y = lucid_fn(x)
            y.backward(g)
            return y, x.grad
    return fn


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize("name", list(CASES))
def test_kernel(benchmark, run, impl, name, backward):
    run(benchmark, build(impl, name, backward))


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize("name", list(CASES))
def test_numpy_matches_lucid(name, backward):
    expected, got = build("numpy", name, backward)(), build("lucid", name, backward)()
    for e, g in zip(expected, got, strict=True):
        g = np.asarray(g.detach().numpy(force=True))
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, e, rtol=2e-6, atol=1e-6)
