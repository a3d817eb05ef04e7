"""The fused extras of the backend protocol (lucid._backend.fused): the ops that run on them (GELU, softmax,
log-softmax, cross-entropy, layer/batch/group/RMS norm, SGD, Adam, AdamW) against PyTorch on every test
device, the protocol itself (who provides which kernel), and that conv/pool need no cuDNN."""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F
from lucid import optim
from lucid._backend import cupy_backend, cupy_kernels, fused, registry
from lucid._backend.numpy_backend import NumpyBackend

torch = pytest.importorskip("torch")

EXTRAS = ["gelu", "gelu_and_slope", "softmax", "log_softmax", "softmax_grad", "log_softmax_grad",
          "cross_entropy_rows", "cross_entropy_grad", "normalize", "normalize_grad_from_sums", "normalize_grad",
          "sgd_update", "adam_update"]


def host(t):
    return np.array(t.detach().numpy(force=True), copy=True)


def pair(array, device, dtype=None):
    """``(lucid leaf, torch leaf)`` holding the same float64 values (cast to ``dtype`` if given)."""
    x = lucid.tensor(np.array(array, copy=True), device=device, requires_grad=True)
    t = torch.tensor(np.array(array, copy=True), requires_grad=True)
    if dtype is not None:
        x = x.detach().to(getattr(lucid, dtype)).requires_grad_()
        t = t.detach().to(getattr(torch, dtype)).requires_grad_()
    return x, t


def close(a, b, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(host(a), b.detach().numpy(), rtol=rtol, atol=atol)


# ---- the protocol ---------------------------------------------------------------------------------------
def test_every_extra_is_a_backend_method_with_the_generic_default():
    for name in EXTRAS:
        assert getattr(registry.Backend, name) is getattr(fused.GenericKernels, name), name
        assert getattr(NumpyBackend, name) is getattr(fused.GenericKernels, name), name  # the CPU runs today's code


def test_the_cuda_backend_overrides_every_extra_with_a_kernel():
    for name in EXTRAS:
        assert getattr(cupy_backend.CupyBackend, name) is getattr(cupy_kernels.CupyKernels, name), name
    assert set(cupy_kernels._ELEMENTWISE) >= {"gelu", "gelu_and_slope", "adam", "adam_amsgrad", "sgd",
                                               "sgd_momentum", "cross_entropy_grad", "norm_apply"}


def test_kernels_for_a_namespace_are_its_backends_and_generic_for_an_unknown_one(device):
    """(Another backend on the same namespace may answer, as the guide's example on NumPy: the same kernels.)"""
    found = registry.kernels_for(device.xp)
    assert isinstance(found, registry.Backend) and found.xp is device.xp
    for name in EXTRAS:
        assert getattr(type(found), name) is getattr(type(device.backend), name), name
    other = registry.kernels_for(object())  # a namespace no backend was created with
    assert isinstance(other, fused.GenericKernels) and not isinstance(other, registry.Backend)


def test_conv_and_pool_use_no_cudnn_and_no_cupy():
    """conv/pool are im2col (sliding_window_view) + GEMM on every backend: CuPy 14 has no cuDNN, and no
    built-in backend offers the optional ``conv`` hook."""
    assert not hasattr(cupy_backend.CupyBackend, "conv")
    for module in (F.conv, F.pooling):
        source = inspect.getsource(module)
        imported = {n.module or "" for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import) for a in n.names}
        assert not any("cupy" in name or "cudnn" in name for name in imported), module.__name__


# ---- GELU ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype, rtol, atol", [("float64", 1e-13, 1e-14), ("float32", 2e-6, 4e-8),
                                               ("float16", 2e-3, 1e-4)])
def test_gelu_forward_backward_against_torch(device, rng, dtype, rtol, atol):
    """Against PyTorch's float64 GELU of the same (rounded) inputs: lucid's float32 and float16 are
    computed in higher precision and rounded once (PyTorch's own float32 ``1 + erf`` loses digits for x < -3); the
    derivative's density is taken in the input's dtype, as PyTorch's."""
    if not device.backend.supports(getattr(lucid, dtype)):
        pytest.skip(f"{device} has no {dtype}")
    values = np.concatenate([rng.standard_normal(200) * 3, [-10.0, -6.0, -4.0, 0.0, 4.0, 8.0]])
    x = lucid.tensor(values, device=device).to(getattr(lucid, dtype)).requires_grad_()
    t = torch.tensor(host(x).astype(np.float64), requires_grad=True)
    y, ty = F.gelu(x), torch.nn.functional.gelu(t)
    assert y.dtype == x.dtype  # float16 stays float16
    np.testing.assert_allclose(host(y).astype(np.float64), ty.detach().numpy(), rtol=rtol, atol=atol)
    g = lucid.tensor(rng.standard_normal(values.shape), device=device).to(x.dtype)
    y.backward(g)
    ty.backward(torch.tensor(host(g).astype(np.float64)))
    assert x.grad.dtype == x.dtype
    np.testing.assert_allclose(host(x.grad).astype(np.float64), t.grad.numpy(), rtol=rtol * 5, atol=atol * 10)


def test_gelu_no_graph_path_and_second_derivative(device, rng):
    values = rng.standard_normal((4, 5))
    with lucid.no_grad():
        y = F.gelu(lucid.tensor(values, device=device))  # the fast path: kernels_for(xp).gelu
    close(y, torch.nn.functional.gelu(torch.tensor(values)), rtol=1e-13)
    x, t = pair(values, device)
    (gx,) = lucid.autograd.grad(F.gelu(x).sum(), x, create_graph=True)
    (tgx,) = torch.autograd.grad(torch.nn.functional.gelu(t).sum(), t, create_graph=True)
    (gx * gx).sum().backward()
    (tgx * tgx).sum().backward()
    close(x.grad, t.grad, rtol=1e-11)


# ---- softmax, log-softmax --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_softmax_forward_backward_against_torch(device, rng, name, dim):
    values = rng.standard_normal((3, 4, 5)) * 4
    values[0, 0, 0] = 1e4  # extreme logits stay finite
    x, t = pair(values, device)
    y, ty = getattr(F, name)(x, dim), getattr(torch.nn.functional, name)(t, dim)
    close(y, ty)
    g = rng.standard_normal(values.shape)
    y.backward(lucid.tensor(g, device=device))
    ty.backward(torch.tensor(g))
    close(x.grad, t.grad)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_create_graph_matches_first_order_and_torch(device, rng, name):
    """The backward on arrays (the backend's ``*_grad`` kernel) and the differentiable one (create_graph)
    give the same gradient, and the second derivative matches PyTorch."""
    values, weights = rng.standard_normal((3, 6)), rng.standard_normal((3, 6))
    x, t = pair(values, device)
    w = lucid.tensor(weights, device=device)
    (first,) = lucid.autograd.grad((getattr(F, name)(x, -1) * w).sum(), x)
    (gx,) = lucid.autograd.grad((getattr(F, name)(x, -1) * w).sum(), x, create_graph=True)
    np.testing.assert_allclose(host(first), host(gx), rtol=1e-14, atol=1e-15)
    (tgx,) = torch.autograd.grad((getattr(torch.nn.functional, name)(t, -1) * torch.tensor(weights)).sum(), t,
                                 create_graph=True)
    (gx * gx).sum().backward()
    (tgx * tgx).sum().backward()
    close(x.grad, t.grad)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_special_values_as_torch(device, name):
    values = np.array([[-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0], [0.0, -np.inf, 1.0]])
    y = getattr(F, name)(lucid.tensor(values, device=device), -1)
    np.testing.assert_allclose(host(y), getattr(torch.nn.functional, name)(torch.tensor(values), -1).numpy(),
                               rtol=1e-15)  # nan where PyTorch has nan
    assert getattr(F, name)(lucid.zeros(2, 0, device=device), -1).shape == (2, 0)


# ---- cross-entropy ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [
    dict(),
    dict(reduction="sum", label_smoothing=0.2),
    dict(reduction="none", ignore_index=2),
    dict(weighted=True, label_smoothing=0.1, ignore_index=0),
], ids=["mean", "sum-smoothing", "none-ignore", "weighted-smoothing-ignore"])
def test_cross_entropy_against_torch(device, rng, options):
    options = dict(options)
    weighted = options.pop("weighted", False)
    values, target = rng.standard_normal((7, 5)) * 3, rng.integers(0, 5, 7)
    weight = rng.uniform(0.5, 2.0, 5) if weighted else None
    x, t = pair(values, device)
    kw = dict(options, weight=None if weight is None else lucid.tensor(weight, device=device))
    tkw = dict(options, weight=None if weight is None else torch.tensor(weight))
    loss = F.cross_entropy(x, lucid.tensor(target, device=device), **kw)
    tloss = torch.nn.functional.cross_entropy(t, torch.tensor(target), **tkw)
    close(loss, tloss)
    g = rng.standard_normal(tloss.shape)
    loss.backward(lucid.tensor(g, device=device))
    tloss.backward(torch.tensor(g))
    close(x.grad, t.grad)


def test_cross_entropy_retained_graph_and_spatial_targets(device, rng):
    values, target = rng.standard_normal((2, 4, 3, 3)), rng.integers(0, 4, (2, 3, 3))
    x, t = pair(values, device)
    loss = F.cross_entropy(x, lucid.tensor(target, device=device), label_smoothing=0.3)
    tloss = torch.nn.functional.cross_entropy(t, torch.tensor(target), label_smoothing=0.3)
    loss.backward(retain_graph=True)
    loss.backward()  # the second backward recomputes exp(x - max): forward's was used up by the first
    tloss.backward(retain_graph=True)
    tloss.backward()
    close(loss, tloss)
    close(x.grad, t.grad)


# ---- normalization ---------------------------------------------------------------------------------------
def _norm_case(name, device, rng, affine):
    shape = (4, 3, 5) if name != "layer_norm" else (4, 3, 6)
    values = rng.standard_normal(shape) * 2 + 1
    x, t = pair(values, device)
    w, tw = pair(rng.standard_normal(shape[-1] if name in ("layer_norm", "rms_norm") else 3), device)
    b, tb = pair(rng.standard_normal(w.shape), device)
    args = dict(weight=w, bias=b) if affine else {}
    targs = dict(weight=tw, bias=tb) if affine else {}
    if name == "rms_norm":
        args.pop("bias", None), targs.pop("bias", None)
    if name == "batch_norm":
        rm, rv = lucid.zeros(3, device=device, dtype=lucid.float64), lucid.ones(3, device=device, dtype=lucid.float64)
        trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
        y = F.batch_norm(x, rm, rv, training=True, momentum=0.3, **args)
        ty = torch.nn.functional.batch_norm(t, trm, trv, training=True, momentum=0.3, **targs)
        extra = [(rm, trm), (rv, trv)]
    elif name == "group_norm":
        x, t = pair(rng.standard_normal((4, 6, 5)), device)
        w, tw, b, tb = (lucid.tensor(a, device=device, requires_grad=True) if i % 2 == 0
                        else torch.tensor(a, requires_grad=True)
                        for i, a in enumerate([rng.standard_normal(6)] * 2 + [rng.standard_normal(6)] * 2))
        args, targs = dict(weight=w, bias=b), dict(weight=tw, bias=tb)
        y, ty = F.group_norm(x, 3, **args), torch.nn.functional.group_norm(t, 3, **targs)
        extra = []
    else:
        y = getattr(F, name)(x, (shape[-1],), **args, eps=1e-5)
        ty = getattr(torch.nn.functional, name)(t, (shape[-1],), **targs, eps=1e-5)
        extra = []
    return x, t, y, ty, list(zip(args.values(), targs.values())), extra


@pytest.mark.parametrize("name", ["layer_norm", "batch_norm", "group_norm", "rms_norm"])
@pytest.mark.parametrize("affine", [True, False])
def test_normalization_against_torch(device, rng, name, affine):
    x, t, y, ty, params, extra = _norm_case(name, device, rng, affine)
    close(y, ty)
    for ours, theirs in extra:  # running statistics
        close(ours, theirs)
    g = rng.standard_normal(ty.shape)
    y.backward(lucid.tensor(g, device=device))
    ty.backward(torch.tensor(g))
    close(x.grad, t.grad, rtol=1e-9, atol=1e-11)
    for ours, theirs in params:
        close(ours.grad, theirs.grad, rtol=1e-9, atol=1e-11)


def test_batch_norm_eval_uses_given_statistics(device, rng):
    values = rng.standard_normal((5, 3, 2))
    x, t = pair(values, device)
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    y = F.batch_norm(x, lucid.tensor(rm, device=device), lucid.tensor(rv, device=device), training=False)
    ty = torch.nn.functional.batch_norm(t, torch.tensor(rm), torch.tensor(rv), training=False)
    close(y, ty)
    y.sum().backward()
    ty.sum().backward()
    close(x.grad, t.grad)


# ---- optimizers ------------------------------------------------------------------------------------------
OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.2, maximize=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.05, maximize=True)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05, amsgrad=True, maximize=True)),
]


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("name, options", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
def test_optimizer_steps_against_torch(device, rng, name, options, foreach):
    """Five steps on two parameters (a matrix large enough to be updated slice by slice, and a vector);
    ``foreach`` updates them as one flattened group."""
    arrays = [rng.standard_normal((300, 500)), rng.standard_normal(7)]
    ours = [lucid.tensor(a, device=device, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    opt = getattr(optim, name)(ours, foreach=foreach, **options)
    topt = getattr(torch.optim, name)(theirs, foreach=False, **options)
    for _ in range(5):
        grads = [rng.standard_normal(a.shape) for a in arrays]
        for p, tp, g in zip(ours, theirs, grads):
            p.grad, tp.grad = lucid.tensor(g, device=device), torch.tensor(g)
        opt.step()
        topt.step()
    for p, tp in zip(ours, theirs):  # PyTorch rounds a few elements 1 ulp apart (its kernels fuse multiply-adds)
        close(p, tp, rtol=1e-10, atol=1e-12)
        for key, value in topt.state[tp].items():
            if isinstance(value, torch.Tensor) and value.ndim:
                close(opt.state[p][key], value, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape, axes", [((4, 3, 5, 6), (0, 2, 3)), ((4, 3, 5, 6), (-1,)), ((7, 9), (0,)),
                                         ((2, 3, 40), (2,)), ((5,), (0,))])
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_numpy_sums_over_axes_match_the_generic_kernels(rng, shape, axes, dtype):
    """NumPy's statistics by one einsum (float32/float64; float16 keeps ``mean``'s float32 sum) equal the
    generic ``sum``/``mean`` of the array API, with and without a second factor."""
    ours, generic = NumpyBackend(), fused.GenericKernels()
    generic.xp = np
    a, b = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    tol = {"float64": 1e-12, "float32": 1e-5, "float16": 0}[dtype]
    for times in (None, b):
        for name in ("sum_kept", "mean_kept"):
            got, want = getattr(ours, name)(a, axes, times), getattr(generic, name)(a, axes, times)
            assert got.shape == want.shape and got.dtype == want.dtype, (name, got.shape, want.shape)
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)
    broadcast = b[..., :1]  # a second factor of another shape takes the generic sum
    np.testing.assert_array_equal(ours.sum_kept(a, axes[-1:], broadcast), generic.sum_kept(a, axes[-1:], broadcast))
