"""The CUDA kernels of the fused extras (lucid._backend.cupy_kernels) against the generic code of the same
extras (lucid._backend.fused.GenericKernels) on the same CuPy arrays, in float16, float32 and float64.
Skipped without a usable GPU (the CPU tests of test_fused_extras check the generic code against PyTorch)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import lucid
from lucid._backend.fused import GenericKernels

if not lucid.cuda.is_available():
    pytest.skip("needs a CUDA GPU and CuPy", allow_module_level=True)

import cupy  # noqa: E402

BACKEND = lucid.device("cuda").backend
DTYPES = ["float16", "float32", "float64"]
TOLERANCE = {"float16": (2e-3, 2e-3), "float32": (2e-5, 5e-6), "float64": (1e-12, 1e-13)}  # (rtol, atol)


def arrays(rng, dtype, *shapes, scale=1.0):
    return [cupy.asarray((rng.standard_normal(s) * scale).astype(dtype)) for s in shapes]


def same(kernel_out, generic_out, dtype, factor=1.0):
    """Each output of the kernel has the generic output's dtype and shape, and its values up to rounding."""
    pairs = zip(kernel_out, generic_out) if isinstance(kernel_out, tuple) else [(kernel_out, generic_out)]
    rtol, atol = TOLERANCE[dtype]
    for ours, theirs in pairs:
        if theirs is None:
            assert ours is None
            continue
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_allclose(cupy.asnumpy(ours).astype(np.float64), cupy.asnumpy(theirs).astype(np.float64),
                                   rtol=rtol * factor, atol=atol * factor)


def both(name, *args, **kwargs):
    """``(the backend's kernel, the generic code)`` of extra ``name`` on copies of the same arguments."""
    copies = [a.copy() if isinstance(a, cupy.ndarray) else a for a in args]
    return getattr(BACKEND, name)(*args, **kwargs), getattr(GenericKernels, name)(BACKEND, *copies, **kwargs)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_kernels(rng, dtype):
    (x,) = arrays(rng, dtype, (1000,), scale=4)
    same(*both("gelu", x), dtype)
    same(*both("gelu_and_slope", x), dtype, factor=4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cols", [1, 7, 33, 1000, 5000])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_kernels(rng, dtype, cols, name):
    x, g = arrays(rng, dtype, (6, cols), (6, cols), scale=3)
    y_kernel, y_generic = both(name, x, 1)
    same(y_kernel, y_generic, dtype)
    same(*both(f"{name}_grad", y_generic, g, 1), dtype, factor=10)  # a sum of `cols` terms, rounded differently


def test_softmax_kernel_special_values():
    x = cupy.asarray([[-np.inf, -np.inf], [np.inf, 0.0], [np.nan, 1.0], [0.0, -np.inf]])
    for name in ("softmax", "log_softmax"):
        ours, theirs = both(name, x, 1)
        np.testing.assert_array_equal(cupy.asnumpy(ours), cupy.asnumpy(theirs))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing, weighted", [(False, False), (True, False), (True, True)])
def test_cross_entropy_kernels(rng, dtype, smoothing, weighted):
    x, scale, tscale = arrays(rng, dtype, (9, 300), (9,), (9,), scale=3)
    target = cupy.asarray(rng.integers(0, 300, 9))
    weight = cupy.asarray(rng.uniform(0.5, 2, 300).astype(dtype)) if weighted else None
    ours, theirs = both("cross_entropy_rows", x, target, weight, smoothing)
    same(ours, theirs, dtype, factor=10)
    spread = cupy.asarray(rng.uniform(0, 0.1, (9, 300)).astype(dtype)) if smoothing else None
    e, total = theirs[0], theirs[1]
    same(*both("cross_entropy_grad", e, total, scale, target, tscale, spread), dtype, factor=4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axes, center", [((2,), True), ((0, 2, 3), True), ((2,), False)])
def test_normalize_kernels(rng, dtype, axes, center):
    (v,) = arrays(rng, dtype, (4, 3, 50, 2), scale=2)
    v += 1
    same(*both("normalize", v, axes, 1e-5, center), dtype, factor=10)
    xhat, _, var, rstd = GenericKernels.normalize(BACKEND, v, axes, 1e-5, center)
    given = (cupy.mean(v, axis=axes, keepdims=True), var)
    same(*both("normalize", v, axes, 1e-5, center, given), dtype, factor=10)
    g, w = arrays(rng, dtype, v.shape, (1, 1, 50, 2) if axes == (2,) else (1, 3, 1, 1))
    same(*both("normalize_grad", g, xhat, w, rstd, v.shape, axes, center), dtype, factor=20)
    if axes == (0, 2, 3):
        gw, gb = (cupy.sum(a, axis=axes, keepdims=True) for a in (g * xhat, g))
        same(*both("normalize_grad_from_sums", g, xhat, w * rstd, gw, gb, v.size // 3, center), dtype, factor=20)


def gradient(rng, dtype, shape):
    """Gradient entries of magnitude 0.5 to 2: Adam's second moment stays a normal float16 number."""
    return cupy.asarray((rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [dict(momentum=0.0, dampening=0.0, weight_decay=0.1, nesterov=False),
                                     dict(momentum=0.9, dampening=0.1, weight_decay=0.0, nesterov=False),
                                     dict(momentum=0.9, dampening=0.0, weight_decay=0.01, nesterov=True)])
@pytest.mark.parametrize("maximize", [False, True])
def test_sgd_kernel(rng, dtype, options, maximize):
    (p,) = arrays(rng, dtype, (257, 3))
    pk, pg, bk, bg = p.copy(), p.copy(), None, None
    for _ in range(3):
        g = gradient(rng, dtype, p.shape)
        bk = BACKEND.sgd_update(pk, g, bk, lr=0.1, maximize=maximize, **options)
        bg = GenericKernels.sgd_update(BACKEND, pg, g, bg, lr=0.1, maximize=maximize, **options)
    same((pk, bk), (pg, bg), dtype, factor=10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("amsgrad, decoupled, maximize", [(False, False, False), (True, False, True),
                                                          (False, True, False), (True, True, True)])
def test_adam_kernel(rng, dtype, amsgrad, decoupled, maximize):
    (p,) = arrays(rng, dtype, (1001,))
    states = {k: [cupy.zeros_like(p) for _ in range(3)] for k in ("kernel", "generic")}
    params = {"kernel": p.copy(), "generic": p.copy()}
    eps = 1e-4 if dtype == "float16" else 1e-8  # 1e-8 is 0 in float16
    for step in range(1, 4):
        g = gradient(rng, dtype, p.shape)
        for key, update in (("kernel", BACKEND.adam_update),
                            ("generic", lambda *a, **k: GenericKernels.adam_update(BACKEND, *a, **k))):
            m, v, vmax = states[key]
            update(params[key], g, m, v, vmax if amsgrad else None, step=step, lr=0.01, beta1=0.9, beta2=0.999,
                   eps=eps, weight_decay=0.1, decoupled=decoupled, maximize=maximize)
    same(tuple([params["kernel"], *states["kernel"]]), tuple([params["generic"], *states["generic"]]), dtype,
         factor=10)


def test_training_step_on_the_gpu_uses_the_kernels_and_matches_the_cpu(rng):
    """A small MLP with LayerNorm, GELU and cross-entropy, one AdamW step (foreach: one kernel per group), on
    the GPU and on the CPU from the same weights."""
    lucid.manual_seed(0)
    model = lucid.nn.Sequential(lucid.nn.Linear(20, 32), lucid.nn.LayerNorm(32), lucid.nn.GELU(),
                                lucid.nn.BatchNorm1d(32), lucid.nn.Linear(32, 5)).double()
    gpu = copy.deepcopy(model).to("cuda")
    x, y = rng.standard_normal((16, 20)), rng.integers(0, 5, 16)
    for net, device in ((model, "cpu"), (gpu, "cuda")):
        opt = lucid.optim.AdamW(net.parameters(), lr=0.01)
        loss = lucid.nn.functional.cross_entropy(net(lucid.tensor(x, device=device)), lucid.tensor(y, device=device))
        loss.backward()
        opt.step()
    for a, b in zip(model.parameters(), gpu.parameters()):
        np.testing.assert_allclose(b.detach().numpy(force=True), a.detach().numpy(), rtol=1e-9, atol=1e-11)
