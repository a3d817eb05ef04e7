"""Pooling: values against NumPy and against PyTorch (values, indices and input gradients) for
max/avg/adaptive/lp pooling in 1-D, 2-D and 3-D with ceil_mode, count_include_pad,
divisor_override, dilation and return_indices; first and second order gradchecks on every
backend; tie and -inf handling; the modules; errors."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F
from lucid.autograd import gradcheck, gradgradcheck
from lucid.nn import layers as L


def make(arr, device, grad=False):
    return lucid.tensor(np.asarray(arr), dtype=lucid.float64, device=device, requires_grad=grad)


def host(t):
    return t.detach().numpy(force=True)


# id, lucid/torch function name, input shape, positional args after the input, keyword arguments
CASES = [
    ("max1d", "max_pool1d", (2, 3, 9), (3, 2, 1), dict(ceil_mode=True)),
    ("max2d", "max_pool2d", (2, 3, 7, 8), (3, 2, 1), dict(ceil_mode=True, return_indices=True)),
    ("max2d_dil", "max_pool2d", (2, 2, 7, 8), ((3, 2), 1, 1), dict(dilation=(2, 3), return_indices=True)),
    ("max2d_nostride", "max_pool2d", (1, 2, 6, 6), (2,), {}),
    ("max3d", "max_pool3d", (1, 2, 4, 5, 6), (2,), dict(stride=(1, 2, 2), padding=(1, 0, 1), return_indices=True)),
    ("avg1d", "avg_pool1d", (2, 3, 8), (3, 2, 1), dict(ceil_mode=True, count_include_pad=False)),
    ("avg2d_inc", "avg_pool2d", (2, 3, 8, 7), (3, 2, 1), dict(ceil_mode=True)),
    ("avg2d_exc", "avg_pool2d", (2, 3, 8, 7), (3, 2, 1), dict(ceil_mode=True, count_include_pad=False)),
    ("avg2d_div", "avg_pool2d", (2, 2, 5, 6), ((2, 3), (1, 2), (1, 1)), dict(divisor_override=4)),
    ("avg3d", "avg_pool3d", (1, 2, 5, 4, 6), ((2, 3, 2), (2, 1, 2), (1, 1, 0)), dict(ceil_mode=True)),
    ("adaptive_avg1d", "adaptive_avg_pool1d", (2, 3, 7), (3,), {}),
    ("adaptive_avg2d", "adaptive_avg_pool2d", (2, 3, 7, 5), ((3, None),), {}),
    ("adaptive_avg3d", "adaptive_avg_pool3d", (1, 2, 5, 4, 6), ((2, 3, 4),), {}),
    ("adaptive_avg3d_even_up", "adaptive_avg_pool3d", (2, 2, 6, 4, 3), ((3, 2, 5),), {}),
    ("adaptive_avg2d_global", "adaptive_avg_pool2d", (2, 3, 7, 5), (1,), {}),
    ("adaptive_avg1d_global", "adaptive_avg_pool1d", (3, 6), (1,), {}),
    ("adaptive_max1d", "adaptive_max_pool1d", (2, 3, 7), (4,), dict(return_indices=True)),
    ("adaptive_max2d", "adaptive_max_pool2d", (2, 3, 7, 5), ((3, 4),), dict(return_indices=True)),
    ("adaptive_max3d", "adaptive_max_pool3d", (1, 2, 5, 4, 6), (3,), dict(return_indices=True)),
    ("adaptive_max_up", "adaptive_max_pool2d", (1, 2, 3, 2), ((5, 3),), {}),
    ("lp1d", "lp_pool1d", (2, 3, 7), (2, 3, 2), {}),
    ("lp2d", "lp_pool2d", (2, 3, 7, 8), (3, (2, 3)), dict(ceil_mode=True)),
    ("lp3d", "lp_pool3d", (1, 2, 4, 4, 5), (1.5, 2), {}),
]


def _pool_both(torch, name, x, args, kw, device):
    """``F.name`` in lucid and in torch on the same ``x``: ``(ours, theirs, out, tout)`` (inputs requiring grad,
    outputs); with ``return_indices`` the indices are checked equal (int64) and the outputs are the values."""
    ours, theirs = make(x, device, True), torch.tensor(x, requires_grad=True)
    out, tout = getattr(F, name)(ours, *args, **kw), getattr(torch.nn.functional, name)(theirs, *args, **kw)
    if kw.get("return_indices"):
        (out, idx), (tout, tidx) = out, tout
        assert idx.dtype == lucid.int64
        np.testing.assert_array_equal(host(idx), tidx.numpy())
    return ours, theirs, out, tout


def _backward_both(torch, out, tout, device, rng):
    """Backward of both outputs from one random gradient."""
    g = rng.standard_normal(out.shape)
    out.backward(make(g, device))
    tout.backward(torch.tensor(g))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_pool_matches_torch(case, device, rng):
    torch = pytest.importorskip("torch")
    _, name, shape, args, kw = case
    x = rng.standard_normal(shape)
    if name.startswith("lp"):
        x = np.abs(x) + 0.1  # lp pooling of negative values raised to non-integer powers is nan in both
    ours, theirs, out, tout = _pool_both(torch, name, x, args, kw, device)
    np.testing.assert_allclose(host(out), tout.detach().numpy(), atol=1e-12)
    _backward_both(torch, out, tout, device, rng)
    np.testing.assert_allclose(host(ours.grad), theirs.grad.numpy(), atol=1e-12)


def np_max_pool2d(x, k, s):
    n, c, h, w = x.shape
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    out = np.empty((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = x[:, :, i * s:i * s + k, j * s:j * s + k].max(axis=(2, 3))
    return out


def test_pools_match_numpy(device, rng):
    x = rng.standard_normal((2, 3, 7, 6))
    np.testing.assert_allclose(host(F.max_pool2d(make(x, device), 3, 2)), np_max_pool2d(x, 3, 2))
    blocks = x[:, :, :6].reshape(2, 3, 3, 2, 3, 2)
    np.testing.assert_allclose(host(F.avg_pool2d(make(x, device), 2)), blocks.mean((3, 5)))
    np.testing.assert_allclose(host(F.adaptive_avg_pool2d(make(x, device), 1)), x.mean((2, 3), keepdims=True))
    np.testing.assert_allclose(host(F.adaptive_max_pool2d(make(x, device), (1, 1))), x.max((2, 3), keepdims=True))


GRAD_CASES = [
    ("max", lambda x: F.max_pool2d(x, 2, 1, 1, dilation=(1, 2), ceil_mode=True)),
    ("max1d", lambda x: F.max_pool1d(x.flatten(2), 3, 2, 1)),
    ("avg", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    ("avg3d", lambda x: F.avg_pool3d(x.unsqueeze(2), (1, 2, 2), 1, divisor_override=3)),
    ("adaptive_avg", lambda x: F.adaptive_avg_pool2d(x, (2, 3))),
    ("adaptive_max", lambda x: F.adaptive_max_pool2d(x, (3, 2))),
    ("lp", lambda x: F.lp_pool2d(x.abs() + 0.5, 2.5, 2, 1)),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_pool_gradcheck(case, device, rng):
    x = make(rng.standard_normal((1, 1, 4, 5)), device, True)  # distinct values: no ties in max
    assert gradcheck(case[1], (x,))
    assert gradgradcheck(case[1], (x,))


def test_max_pool_ties_take_first_index(device):
    x = make(np.ones((1, 1, 4, 4)), device, True)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(host(idx)[0, 0], [[0, 2], [8, 10]])
    y.sum().backward()
    want = np.zeros((4, 4))
    want[::2, ::2] = 1
    np.testing.assert_array_equal(host(x.grad)[0, 0], want)


def test_max_pool_minus_inf_window(device):
    """A window whose real elements are all -inf reports its first real element, as PyTorch."""
    x = make(np.full((1, 1, 4, 4), -np.inf), device)
    y, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    assert np.all(host(y) == -np.inf)
    np.testing.assert_array_equal(host(idx)[0, 0], [[0, 1], [4, 5]])


def test_max_pool_integer_input(device):
    x = lucid.tensor(np.arange(16).reshape(1, 1, 4, 4), device=device)
    y = F.max_pool2d(x, 2)
    assert y.dtype == lucid.int64
    np.testing.assert_array_equal(host(y)[0, 0], [[5, 7], [13, 15]])


def test_unbatched_pooling(device, rng):
    x = rng.standard_normal((3, 6, 5))
    y = F.max_pool2d(make(x, device), 2)
    assert y.shape == (3, 3, 2)
    np.testing.assert_allclose(host(y), host(F.max_pool2d(make(x[None], device), 2))[0])
    assert F.adaptive_avg_pool1d(make(x[0], device), 2).shape == (6, 2)


MODULES = [
    (L.MaxPool1d(3, 2), (2, 3, 9), (2, 3, 4)),
    (L.MaxPool2d(2), (2, 3, 8, 6), (2, 3, 4, 3)),
    (L.MaxPool3d(2, padding=1), (1, 2, 4, 4, 4), (1, 2, 3, 3, 3)),
    (L.AvgPool1d(2, ceil_mode=True), (2, 3, 7), (2, 3, 4)),
    (L.AvgPool2d(3, 1, 1), (2, 3, 5, 5), (2, 3, 5, 5)),
    (L.AvgPool3d((1, 2, 2)), (1, 2, 3, 4, 4), (1, 2, 3, 2, 2)),
    (L.AdaptiveAvgPool1d(3), (2, 3, 7), (2, 3, 3)),
    (L.AdaptiveAvgPool2d((1, None)), (2, 3, 5, 4), (2, 3, 1, 4)),
    (L.AdaptiveAvgPool3d(2), (1, 2, 3, 4, 5), (1, 2, 2, 2, 2)),
    (L.AdaptiveMaxPool1d(2), (2, 3, 7), (2, 3, 2)),
    (L.AdaptiveMaxPool2d(3), (2, 3, 5, 4), (2, 3, 3, 3)),
    (L.AdaptiveMaxPool3d((1, 2, 3)), (1, 2, 3, 4, 5), (1, 2, 1, 2, 3)),
    (L.LPPool1d(2, 3), (2, 3, 7), (2, 3, 2)),
    (L.LPPool2d(2, 2), (2, 3, 5, 4), (2, 3, 2, 2)),
    (L.LPPool3d(1, 2), (1, 2, 4, 4, 4), (1, 2, 2, 2, 2)),
]


@pytest.mark.parametrize("module,shape,out", MODULES, ids=[type(m[0]).__name__ for m in MODULES])
def test_pool_modules(module, shape, out, device):
    assert module(lucid.rand(shape, device=device)).shape == out


def test_pool_modules_return_indices(device):
    x = lucid.randn(2, 3, 6, 6, device=device)
    y, idx = L.MaxPool2d(2, return_indices=True)(x)
    np.testing.assert_array_equal(host(idx), host(F.max_pool2d(x, 2, return_indices=True)[1]))
    y, idx = L.AdaptiveMaxPool2d(2, return_indices=True)(x)
    assert idx.shape == (2, 3, 2, 2)
    assert "kernel_size=2" in repr(L.MaxPool2d(2))


def test_pool_errors(device):
    x = lucid.randn(1, 2, 4, 4, device=device)
    with pytest.raises(RuntimeError, match="half of kernel_size"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="empty"):
        F.avg_pool2d(x, 5)
    with pytest.raises(RuntimeError, match="4-D"):
        F.max_pool2d(lucid.randn(4, device=device), 2)
    with pytest.raises(RuntimeError, match="needs 2 values"):
        F.adaptive_avg_pool2d(x, (1, 2, 3))
    with pytest.raises(TypeError, match="floating"):
        F.avg_pool2d(lucid.tensor(np.ones((1, 1, 2, 2), dtype=np.int64), device=device), 2)
    with pytest.raises(ValueError, match="divisor_override"):
        F.avg_pool2d(x, 2, divisor_override=0)


# ---- max pooling by kernel offsets (the fast path; windows apart or overlapping) against PyTorch: ties, -inf,
# nan, padding, dilation ------------------------------------------------------------------------------------
BLOCK_CASES = [
    ("1d", "max_pool1d", (2, 3, 10), (2,), {}),
    ("1d_rest", "max_pool1d", (2, 3, 11), (3,), dict(return_indices=True)),
    ("2d", "max_pool2d", (2, 3, 8, 6), (2,), dict(return_indices=True)),
    ("2d_rect", "max_pool2d", (2, 2, 9, 8), ((3, 2),), dict(return_indices=True)),
    ("2d_pad", "max_pool2d", (2, 2, 7, 6), (2, 2, 1), dict(return_indices=True)),
    ("2d_ceil", "max_pool2d", (1, 2, 7, 7), (2,), dict(ceil_mode=True, return_indices=True)),
    ("3d", "max_pool3d", (1, 2, 4, 6, 4), (2,), dict(return_indices=True)),
    ("3d_pad", "max_pool3d", (1, 2, 5, 4, 6), ((2, 2, 3),), dict(padding=(1, 0, 1), return_indices=True)),
    ("2d_overlap_stem", "max_pool2d", (2, 3, 9, 8), (3, 2, 1), dict(return_indices=True)),
    ("2d_overlap_ceil", "max_pool2d", (1, 2, 8, 7), (3, 2), dict(ceil_mode=True, return_indices=True)),
    ("1d_overlap_dilated", "max_pool1d", (2, 3, 12), (3, 2, 1), dict(dilation=2, return_indices=True)),
    ("3d_overlap", "max_pool3d", (1, 2, 5, 6, 5), (3, 1, 1), dict(return_indices=True)),
]


@pytest.mark.parametrize("fill", ["distinct", "ties", "inf_nan"])
@pytest.mark.parametrize("case", BLOCK_CASES, ids=[c[0] for c in BLOCK_CASES])
def test_block_max_pool_matches_torch(case, fill, device, rng):
    """Values, indices and gradients exactly as PyTorch's, with ties (the first maximum), -inf
    windows (the first real element) and nan (the last nan of the window)."""
    torch = pytest.importorskip("torch")
    _, name, shape, args, kw = case
    if fill == "distinct":
        x = rng.standard_normal(shape)
    else:
        x = rng.integers(-2, 2, shape).astype(np.float64)
        x[x == -2] = -np.inf
        x.flat[::5] = -0.0
        if fill == "inf_nan":
            x[rng.random(shape) < 0.15] = np.nan
            x[..., :2] = -np.inf  # whole windows of -inf, next to the padding
    ours, theirs, out, tout = _pool_both(torch, name, x, args, kw, device)
    np.testing.assert_array_equal(host(out), tout.detach().numpy())
    np.testing.assert_array_equal(np.signbit(host(out)), np.signbit(tout.detach().numpy()))
    _backward_both(torch, out, tout, device, rng)
    np.testing.assert_array_equal(host(ours.grad), theirs.grad.numpy())  # overlapping windows: summed in torch's order


BLOCK_GRAD_CASES = [
    ("1d", lambda x: F.max_pool1d(x.flatten(2), 2)),
    ("1d_overlap", lambda x: F.max_pool1d(x.flatten(2), 3, 1, 1)),
    ("2d", lambda x: F.max_pool2d(x, 2)),
    ("2d_pad_ceil", lambda x: F.max_pool2d(x, 2, padding=1, ceil_mode=True)),
    ("2d_overlap", lambda x: F.max_pool2d(x, 3, 1, 1)),
    ("3d", lambda x: F.max_pool3d(x.reshape(1, 1, 2, 2, 5), (1, 2, 2))),
    ("3d_overlap", lambda x: F.max_pool3d(x.reshape(1, 1, 2, 2, 5), 2, 1, 1)),
]


@pytest.mark.parametrize("case", BLOCK_GRAD_CASES, ids=[c[0] for c in BLOCK_GRAD_CASES])
def test_max_pool_gradcheck_blocks_and_overlapping(case, device, rng):
    x = make(rng.standard_normal((1, 1, 4, 5)), device, True)
    assert gradcheck(case[1], (x,))
    assert gradgradcheck(case[1], (x,))


@pytest.mark.parametrize("size, args", [(4, (2,)), (5, (3, 2))], ids=["apart", "overlapping"])
def test_block_max_pool_keeps_compact_offsets(device, size, args):
    """Max pooling records each window's argmax as a small unsigned offset, windows apart or overlapping (in the
    node behind the one tying the gradient to the input)."""
    x = make(np.arange(size * size, dtype=np.float64)[::-1].reshape(1, 1, size, size), device, True)
    y = F.max_pool2d(x, *args)
    assert type(y.grad_fn).__name__ == "_TiedGradient"
    node = y.grad_fn.next_functions[0][0]
    assert type(node).__name__ == "BlockGather"
    assert str(node.idx.dtype).endswith("uint8")
    idx = lucid.Tensor._make(node.idx, x.device)
    np.testing.assert_array_equal(host(idx), np.zeros((1, 1, 2, 2)))


def test_max_pool_gradient_is_laid_out_as_its_input(device, rng):
    """A convolution's output keeps the batch innermost in memory; the non-overlapping max-pool's gradient is
    laid out the same way, so the ReLU backward that meets both reads one memory order (values as torch's)."""
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((3, 8, 8, 4)).astype(np.float32)  # (C, H, W, N) memory
    base = lucid.tensor(a, device=device, requires_grad=True)
    r = base.permute(3, 0, 1, 2).relu()  # (N, C, H, W), batch innermost, as a convolution's output
    arrived = []
    r.register_hook(arrived.append)
    y = F.max_pool2d(r, 2)
    g = rng.standard_normal(y.shape).astype(np.float32)
    (y * lucid.tensor(g, device=device)).sum().backward()
    tb = torch.from_numpy(a).requires_grad_(True)
    torch.nn.functional.max_pool2d(tb.permute(3, 0, 1, 2).relu(), 2).mul(torch.from_numpy(g)).sum().backward()
    np.testing.assert_array_equal(base.grad.numpy(force=True), tb.grad.numpy())
    strides = base._device.backend.strides
    if strides(r._data) is not None:  # a backend that tells strides: the gradient follows the input's order
        def order(array):
            return np.argsort([-abs(s) for s in strides(array)]).tolist()

        assert order(arrived[0]._data) == order(r._data) == [1, 2, 3, 0]


@pytest.mark.parametrize("kernel, stride", [(2, None), (3, 1)], ids=["blocks", "overlapping"])
def test_max_pool_gradient_with_inf_and_nan_reaches_only_the_maxima(kernel, stride, device, rng):
    """An inf or nan in the incoming gradient goes to its window's maximum only: the other places get 0, not
    the nan of inf * 0 (as PyTorch), on every float dtype and either kind of window."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 6, 6))
    ours, theirs = make(x, device, True), torch.tensor(x, requires_grad=True)
    out, tout = F.max_pool2d(ours, kernel, stride), torch.nn.functional.max_pool2d(theirs, kernel, stride)
    g = rng.standard_normal(out.shape)
    g.flat[::7], g.flat[3::11], g.flat[5::13] = np.inf, -np.inf, np.nan
    out.backward(make(g, device))
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(host(ours.grad), theirs.grad.numpy())
    assert np.isfinite(host(ours.grad)).sum() == np.isfinite(theirs.grad.numpy()).sum() > x.size // 2


FRACTIONAL_CASES = [
    ("fractional2d", "fractional_max_pool2d", (2, 3, 7, 8), (2,), dict(output_size=(3, 4))),
    ("fractional3d", "fractional_max_pool3d", (1, 2, 5, 6, 7), ((2, 3, 2),), dict(output_size=3)),
]


def _float64_maker(lib, device):
    """``T(array, requires_grad=True)``: a float64 tensor of ``lib`` (lucid on ``device``)."""
    if lib is lucid:
        return lambda a, rg=True: lucid.tensor(a, dtype=lucid.float64, device=device, requires_grad=rg)
    return lambda a, rg=True: lib.tensor(a, dtype=lib.float64, requires_grad=rg)


def _input_gradient_penalty(lib, device, case, arrays, w_requires_grad):
    """``x -> x * a + b -> pool -> sum(pooled * w)``, ``g = d/dx`` under create_graph, then the derivatives of
    ``sum(g ** 2)`` with respect to ``x, a, b`` (and ``w``; None where unused). ``x`` and ``b`` reach ``g`` only
    through the pooling's backward, whose input they make."""
    _, name, shape, args, kw = case
    T = _float64_maker(lib, device)
    x, a, b = (T(v) for v in arrays[:3])
    if name.startswith("fractional"):
        kw = dict(kw, _random_samples=T(np.full((shape[0], shape[1], len(shape) - 2), 0.4), False))
    out = getattr(lib.nn.functional, name)(x * a + b, *args, **kw)
    out = out[0] if isinstance(out, tuple) else out
    w = T(arrays[3][tuple(slice(n) for n in out.shape)], w_requires_grad)
    (g,) = lib.autograd.grad((out * w).sum(), x, create_graph=True)
    wrt = [x, a, b] + ([w] if w_requires_grad else [])
    return [None if d is None else d.detach() for d in lib.autograd.grad((g * g).sum(), wrt, allow_unused=True)]


@pytest.mark.parametrize("w_requires_grad", [False, True], ids=["constant_g", "trainable_after"])
@pytest.mark.parametrize("case", CASES + FRACTIONAL_CASES, ids=[c[0] for c in CASES + FRACTIONAL_CASES])
def test_pool_backward_stays_tied_to_its_input_as_torch(case, w_requires_grad, device, rng):
    """Every pooling's input gradient stays in the graph of its input under create_graph, as PyTorch's pooling
    backward (which takes the input; its derivative there is zeros): a penalty on the input gradient of
    ``conv -> pool -> conv`` with nothing between differentiates to zeros for the first layer's bias, not None
    (nor "input not used"), whether or not the incoming gradient requires grad. Global adaptive average pooling
    is a mean in both, untied."""
    torch = pytest.importorskip("torch")
    shape = case[2]
    arrays = [np.abs(rng.standard_normal(shape)) + 0.5, np.abs(rng.standard_normal(shape)) + 0.5,
              np.array([0.25]), rng.standard_normal(tuple(n + 4 for n in shape))]  # w: cut to the output's shape
    ours = _input_gradient_penalty(lucid, device, case, arrays, w_requires_grad)
    theirs = _input_gradient_penalty(torch, None, case, arrays, w_requires_grad)
    tied = "global" not in case[0]
    assert [d is None for d in ours] == [d is None for d in theirs] == [not tied, False, not tied, False][:len(ours)]
    for d, t in zip(ours, theirs):
        if t is not None:
            np.testing.assert_allclose(host(d), t.numpy(), rtol=1e-10, atol=1e-12)
    if tied and not case[1].startswith("lp"):  # through the pooling's backward only: zeros (lp's has powers of x)
        assert not theirs[0].any() and not theirs[2].any()


def test_conv_pool_conv_bias_second_derivative_is_zeros_as_torch(device, rng):
    """The reported case: ``conv -> max_pool -> conv``, a loss linear in the output, the gradient penalty's
    derivatives with respect to both layers' parameters (the first bias: zeros in both, not None)."""
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(s) for s in ((2, 2, 7, 7), (3, 2, 2, 2), (3,), (2, 3, 1, 1), (2,), (2, 2, 3, 3))]
    results = []
    for lib, dev in ((lucid, device), (torch, None)):
        x, w1, b1, w2, b2, c = map(_float64_maker(lib, dev), arrays)
        fn = lib.nn.functional
        y = fn.conv2d(fn.max_pool2d(fn.conv2d(x, w1, b1), 2), w2, b2)
        (g,) = lib.autograd.grad((y * c.detach()).sum(), x, create_graph=True)
        results.append(lib.autograd.grad(g.pow(2).sum(), [w1, b1, w2, b2], allow_unused=True))
    ours, theirs = results
    assert [d is None for d in ours] == [d is None for d in theirs] == [False, False, False, True]
    for d, t in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(host(d), t.numpy(), rtol=1e-10, atol=1e-12)
    assert not host(ours[1]).any()


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_pooled_input_changed_in_place_fails_backward_as_torch(name, device):
    """The pooling's backward takes its input (tied to it), so changing the input in place before backward is an
    error, as in PyTorch, whose pooling backward saves the input."""
    torch = pytest.importorskip("torch")
    for lib, make in ((lucid, lambda: lucid.ones(1, 1, 4, 4, device=device, requires_grad=True)),
                      (torch, lambda: torch.ones(1, 1, 4, 4, requires_grad=True))):
        x = make() * 1
        y = getattr(lib.nn.functional, name)(x, 2)
        x.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation|modified by an in-place operation"):
            y.sum().backward()
