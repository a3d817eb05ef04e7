"""Convolutions: values against a direct NumPy convolution and against PyTorch (values and the
input/weight/bias gradients) over stride/padding/dilation/groups/'same'/output_padding in 1-D,
2-D and 3-D; first and second order gradchecks on every backend; unfold/fold as adjoints;
the Conv/ConvTranspose/Unfold/Fold modules (shapes, default init, padding modes); errors."""

from __future__ import annotations

import itertools
import math

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


def np_conv(x, w, b, stride, padding, dilation, groups):
    """Direct N-D convolution (cross-correlation) in NumPy: a sum over kernel offsets."""
    nd = x.ndim - 2
    x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    out = [(n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(x.shape[2:], w.shape[2:], stride, dilation)]
    cg, og = w.shape[1], w.shape[0] // groups
    y = np.zeros((x.shape[0], w.shape[0], *out))
    for offset in itertools.product(*(range(k) for k in w.shape[2:])):
        idx = tuple(slice(j * d, j * d + s * (o - 1) + 1, s) for j, d, s, o in zip(offset, dilation, stride, out))
        patch = x[(slice(None), slice(None)) + idx]
        for g in range(groups):
            wk = w[(slice(g * og, (g + 1) * og), slice(None)) + offset]
            y[:, g * og:(g + 1) * og] += np.einsum("oc,nc...->no...", wk, patch[:, g * cg:(g + 1) * cg])
    return y + (b.reshape((1, -1) + (1,) * nd) if b is not None else 0)


# id, spatial dims, input shape, weight shape, keyword arguments
CONV_CASES = [
    ("1d_plain", 1, (2, 3, 7), (4, 3, 3), {}),
    ("1d_stride_pad_dil", 1, (2, 4, 9), (6, 2, 3), dict(stride=2, padding=2, dilation=2, groups=2)),
    ("1d_same_even", 1, (1, 2, 6), (3, 2, 4), dict(padding="same")),
    ("2d_plain", 2, (2, 3, 6, 5), (4, 3, 3, 2), {}),
    ("2d_all", 2, (2, 4, 7, 6), (6, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
    ("2d_same_dil", 2, (1, 2, 5, 6), (3, 2, 2, 3), dict(padding="same", dilation=(2, 1))),
    ("2d_valid", 2, (1, 2, 5, 4), (2, 2, 3, 3), dict(padding="valid", stride=2)),
    ("2d_depthwise", 2, (2, 3, 5, 5), (6, 1, 3, 3), dict(groups=3, padding=1)),
    ("3d_plain", 3, (1, 2, 4, 5, 4), (3, 2, 2, 3, 2), dict(stride=(1, 2, 1), padding=1)),
    ("3d_groups", 3, (1, 4, 4, 4, 5), (2, 2, 2, 2, 3), dict(groups=2, dilation=(1, 2, 1), padding=(1, 0, 1))),
    # >= 8 input channels: the input and weight gradients run one GEMM per kernel offset
    ("1d_wide_same_dil", 1, (2, 8, 9), (5, 8, 3), dict(dilation=2, padding="same")),
    ("2d_wide", 2, (2, 9, 6, 5), (10, 9, 3, 3), dict(padding=1, stride=(1, 2), dilation=(2, 1))),
    ("2d_wide_valid", 2, (3, 8, 5, 5), (4, 8, 2, 3), {}),
    ("3d_wide", 3, (1, 8, 3, 4, 3), (3, 8, 2, 2, 2), dict(padding=1, stride=(2, 1, 1))),
    # >= 64 channels, stride 1, >= 256 positions: the input gradient is a correlation of the gradient
    ("2d_corr", 2, (2, 64, 16, 16), (3, 64, 3, 3), dict(padding=1)),
    ("2d_corr_same_asym", 2, (1, 64, 16, 17), (2, 64, 2, 3), dict(padding="same")),
    ("2d_corr_dil_valid", 2, (1, 64, 17, 18), (2, 64, 3, 2), dict(dilation=(1, 2))),
    ("2d_corr_wide_pad", 2, (1, 64, 16, 16), (2, 64, 3, 3), dict(padding=3)),  # padding > kernel reach
    ("2d_corr_pointwise", 2, (1, 64, 16, 16), (2, 64, 1, 1), {}),
    # ... in groups too (the flipped kernel's channels swapped within each group), with a channel multiplier
    ("2d_corr_groups", 2, (2, 64, 16, 16), (8, 16, 3, 3), dict(padding=1, groups=4)),
    ("2d_corr_groups_mult", 2, (1, 64, 16, 16), (128, 2, 3, 2), dict(padding=(0, 1), groups=32)),
    # few channels, large images: the input gradient one image at a time by strided adds (not the correlation)
    ("2d_few_channels_large", 2, (2, 3, 33, 32), (4, 3, 3, 3), dict(padding=1)),
    # 1x1 kernels with no padding: plain GEMMs on the input, no im2col
    ("2d_pointwise", 2, (2, 8, 5, 4), (6, 8, 1, 1), {}),
    ("2d_pointwise_stride", 2, (3, 5, 5, 6), (4, 5, 1, 1), dict(stride=2)),
    ("2d_pointwise_groups", 2, (2, 8, 3, 3), (6, 4, 1, 1), dict(groups=2, stride=(1, 2))),
    ("2d_pointwise_pad", 2, (2, 8, 3, 3), (4, 8, 1, 1), dict(padding=1)),
    # groups with several channels per group, and depthwise with a channel multiplier
    ("2d_groups_wide", 2, (2, 16, 5, 5), (8, 8, 3, 3), dict(groups=2, padding=1, dilation=2)),
    ("2d_depthwise_mult", 2, (2, 4, 6, 5), (8, 1, 3, 3), dict(groups=4, stride=2, padding=1)),
    # depthwise (one input and one output channel per group): multiply-adds per kernel offset
    ("1d_depthwise", 1, (2, 3, 9), (3, 1, 3), dict(groups=3, padding=2, dilation=2)),
    ("2d_depthwise_1", 2, (2, 4, 7, 6), (4, 1, 3, 3), dict(groups=4, padding=1)),
    ("2d_depthwise_strided", 2, (2, 3, 9, 8), (3, 1, 3, 2), dict(groups=3, stride=2, padding=(1, 0), dilation=(1, 2))),
    ("3d_depthwise", 3, (1, 2, 4, 5, 4), (2, 1, 2, 2, 2), dict(groups=2, padding=1)),
    # 3x3 at stride 1: Winograd F(2x2, 3x3) on the "winograd" path; odd and even sizes (the last tile
    # hangs over), every padding up to and beyond the input gradient's reach (2), a single pixel
    ("2d_3x3_odd", 2, (2, 5, 7, 6), (4, 5, 3, 3), dict(padding=1)),
    ("2d_3x3_valid", 2, (3, 4, 6, 5), (6, 4, 3, 3), {}),
    ("2d_3x3_pad_2_0", 2, (2, 3, 5, 8), (2, 3, 3, 3), dict(padding=(2, 0))),
    ("2d_3x3_pad_3", 2, (2, 4, 9, 4), (3, 4, 3, 3), dict(padding=3)),
    ("2d_3x3_pixel", 2, (1, 4, 1, 1), (3, 4, 3, 3), dict(padding=1)),
    ("2d_3x3_empty_batch", 2, (0, 3, 4, 5), (2, 3, 3, 3), dict(padding=1)),
]

# id, spatial dims, input shape, weight shape (in, out/groups, *k), keyword arguments
TRANSPOSE_CASES = [
    ("1d_plain", 1, (2, 3, 5), (3, 2, 3), {}),
    ("1d_all", 1, (2, 4, 5), (4, 3, 3), dict(stride=3, padding=1, output_padding=2, groups=2, dilation=2)),
    ("2d_plain", 2, (2, 3, 4, 3), (3, 2, 3, 2), {}),
    ("2d_all", 2, (2, 6, 4, 3), (6, 2, 3, 2), dict(stride=2, padding=1, output_padding=1, groups=3, dilation=(1, 2))),
    ("2d_pad_dil", 2, (1, 2, 3, 4), (2, 3, 3, 3),
     dict(stride=(1, 2), padding=(2, 1), dilation=2, output_padding=(1, 0))),
    ("3d_all", 3, (1, 4, 3, 2, 3), (4, 1, 2, 3, 2), dict(stride=(2, 1, 2), padding=(0, 1, 1), output_padding=(1, 0, 1),
                                                     groups=2)),
    ("2d_wide", 2, (2, 4, 3, 3), (4, 8, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ("2d_pointwise", 2, (2, 8, 3, 4), (8, 5, 1, 1), dict(stride=2)),
    ("2d_3x3", 2, (2, 4, 5, 6), (4, 3, 3, 3), dict(padding=1)),
    ("2d_3x3_pad_2", 2, (1, 3, 4, 5), (3, 2, 3, 3), dict(padding=2)),
    ("2d_depthwise", 2, (2, 3, 4, 5), (3, 1, 3, 3), dict(padding=1, groups=3, stride=2, output_padding=1)),
]


@pytest.fixture(params=["columns", "by_image", "winograd"])
def conv_path(request, device, monkeypatch):
    """Each convolution test runs every way a face can go: over the whole batch's columns (a GPU's way),
    one image at a time (NumPy's from 256 positions per image), and as Winograd F(2x2, 3x3) where the
    convolution allows it (NumPy's from 128 channels), whatever the backend would pick."""
    monkeypatch.setattr(device.backend, "conv_by_image_from", 1 if request.param == "by_image" else None,
                        raising=False)
    monkeypatch.setattr(device.backend, "conv_winograd_from", 1 if request.param == "winograd" else None,
                        raising=False)
    if request.param == "winograd":  # one tile row per block: the blocks' seams are tested too
        from lucid.nn.functional import winograd

        monkeypatch.setattr(winograd, "_LEAST_TILES", 1)
    return request.param


def _conv(nd, transposed=False):
    return getattr(F, f"conv_transpose{nd}d" if transposed else f"conv{nd}d")


@pytest.mark.parametrize("case", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv_matches_numpy(case, device, conv_path, rng):
    _, nd, xs, ws, kw = case
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    got = _conv(nd)(make(x, device), make(w, device), make(b, device), **kw)
    k = ws[2:]
    dilation = kw.get("dilation", 1)
    dilation = (dilation,) * nd if isinstance(dilation, int) else dilation
    padding = kw.get("padding", 0)
    if padding == "same":
        totals = [d * (kk - 1) for kk, d in zip(k, dilation)]
        x = np.pad(x, [(0, 0), (0, 0)] + [(t // 2, t - t // 2) for t in totals])
        padding = 0
    padding = (0,) * nd if padding in (0, "valid") else padding
    padding = (padding,) * nd if isinstance(padding, int) else padding
    stride = kw.get("stride", 1)
    stride = (stride,) * nd if isinstance(stride, int) else stride
    want = np_conv(x, w, b, stride, padding, dilation, kw.get("groups", 1))
    np.testing.assert_allclose(host(got), want, atol=1e-10)


def _torch_compare(torch, lucid_fn, torch_fn, arrays, device, rng, atol=1e-9):
    ours = [make(a, device, grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = lucid_fn(*ours), torch_fn(*theirs)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(host(y), ty.detach().numpy(), atol=atol)
    g = rng.standard_normal(y.shape)
    y.backward(make(g, device))
    ty.backward(torch.tensor(g))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(host(o.grad), t.grad.numpy(), atol=atol)


@pytest.mark.parametrize("case", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv_matches_torch(case, device, conv_path, rng):
    torch = pytest.importorskip("torch")
    _, nd, xs, ws, kw = case
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])]
    _torch_compare(torch, lambda x, w, b: _conv(nd)(x, w, b, **kw),
                   lambda x, w, b: getattr(torch.nn.functional, f"conv{nd}d")(x, w, b, **kw), arrays, device, rng)


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=[c[0] for c in TRANSPOSE_CASES])
def test_conv_transpose_matches_torch(case, device, conv_path, rng):
    torch = pytest.importorskip("torch")
    _, nd, xs, ws, kw = case
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[1] * kw.get("groups", 1))]
    _torch_compare(torch, lambda x, w, b: _conv(nd, True)(x, w, b, **kw),
                   lambda x, w, b: getattr(torch.nn.functional, f"conv_transpose{nd}d")(x, w, b, **kw),
                   arrays, device, rng)


GRAD_CASES = [
    ("conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2), (1, 2, 5), (2, 1, 2)),
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding="valid", groups=2), (1, 2, 4, 3), (2, 1, 2, 2)),
    ("conv2d_same", lambda x, w, b: F.conv2d(x, w, b, padding="same"), (1, 1, 3, 3), (1, 1, 2, 2)),
    ("conv3d", lambda x, w, b: F.conv3d(x, w, b, padding=(1, 0, 0)), (1, 1, 2, 3, 2), (2, 1, 2, 2, 2)),
    ("conv2d_wide", lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1, dilation=(2, 1)), (2, 8, 3, 4),
     (2, 8, 2, 2)),
    ("conv2d_pointwise", lambda x, w, b: F.conv2d(x, w, b, stride=2), (2, 8, 3, 3), (3, 8, 1, 1)),
    ("conv2d_3x3", lambda x, w, b: F.conv2d(x, w, b, padding=1), (2, 2, 3, 4), (3, 2, 3, 3)),
    ("conv2d_depthwise", lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1, groups=2), (2, 2, 3, 4),
     (2, 1, 2, 3)),
    ("conv_transpose2d_3x3", lambda x, w, b: F.conv_transpose2d(x, w, b), (1, 2, 3, 2), (2, 2, 3, 3)),
    ("conv_transpose1d", lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, output_padding=1, dilation=2),
     (1, 2, 3), (2, 1, 2)),
    ("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, groups=2, output_padding=1),
     (1, 2, 2, 3), (2, 1, 2, 2)),
    ("conv_transpose3d", lambda x, w, b: F.conv_transpose3d(x, w, b, stride=(1, 2, 1)),
     (1, 1, 2, 2, 1), (1, 1, 2, 1, 2)),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_conv_gradcheck(case, device, conv_path, rng):
    _, fn, xs, ws = case
    x, w = make(rng.standard_normal(xs), device, True), make(rng.standard_normal(ws), device, True)
    b = make(rng.standard_normal(fn(x, w, None).shape[1]), device, True)
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (1, 2, 3, 0), (1, 0, 2, 3), (0, 2, 3, 1)],
                         ids=["nchw", "chwn", "cnhw", "nhwc"])
def test_conv_input_memory_layouts(order, device, conv_path, rng):
    """The same values in any memory order (inputs and incoming gradients made by permuting a
    differently laid out array) give the same convolution and gradients, also through a chain of
    two convolutions whose second input is the first's output (the 1x1 path reads it in place)."""
    x = rng.standard_normal((3, 8, 5, 6))
    w1, w2 = rng.standard_normal((9, 8, 3, 3)), rng.standard_normal((4, 9, 1, 1))
    inverse = tuple(order.index(i) for i in range(4))

    def run(xs):
        x_t = xs.detach().requires_grad_(True)
        a, b = make(w1, device, True), make(w2, device, True)
        y = F.conv2d(F.conv2d(x_t, a, padding=1), b)
        g = make(np.ascontiguousarray(rng_g.transpose(order)), device).permute(*inverse)
        y.backward(g)
        return [host(t) for t in (y, x_t.grad, a.grad, b.grad)]

    rng_g = np.random.default_rng(1).standard_normal((3, 4, 5, 6))
    want = run(make(x, device))
    got = run(make(np.ascontiguousarray(x.transpose(order)), device).permute(*inverse))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, atol=1e-10)


@pytest.mark.parametrize("padding, calls", [(1, {"correlate": 2, "weight_gradient": 1}),
                                             (3, {"correlate": 1, "weight_gradient": 1})])
def test_winograd_runs_where_the_backend_asks(device, rng, monkeypatch, padding, calls):
    """From ``conv_winograd_from`` channels a 3x3 stride-1 convolution's three faces run as Winograd
    F(2x2, 3x3) (the input gradient only while the padding is <= 2); below it, or strided, none does."""
    from lucid.nn.functional import winograd

    counted = dict.fromkeys(calls, 0)

    def spy(name):
        real = getattr(winograd, name)

        def counting(*args, **kwargs):
            counted[name] += 1
            return real(*args, **kwargs)
        return counting

    for name in calls:
        monkeypatch.setattr(winograd, name, spy(name))
    x, w = make(rng.standard_normal((2, 4, 6, 5)), device, True), make(rng.standard_normal((4, 4, 3, 3)), device, True)

    def step(least, **kw):
        monkeypatch.setattr(device.backend, "conv_winograd_from", least, raising=False)
        F.conv2d(x, w, padding=padding, **kw).sum().backward()
        seen = dict(counted)
        counted.update(dict.fromkeys(calls, 0))
        return seen

    assert step(4) == calls
    assert step(5) == dict.fromkeys(calls, 0)
    assert step(1, stride=2) == dict.fromkeys(calls, 0)
    assert step(None) == dict.fromkeys(calls, 0)


def test_depthwise_faces_take_the_per_offset_path(device, rng, monkeypatch):
    """A depthwise convolution's three faces (one channel in and out per group) run as per-offset multiply-adds;
    a grouped one with two channels per group, or a channel multiplier, does not."""
    from lucid.nn.functional.conv import Conv

    seen = []
    for face in ("y", "x", "w"):
        real = getattr(Conv, f"_{face}_depthwise")
        monkeypatch.setattr(Conv, f"_{face}_depthwise",
                            lambda self, *args, _face=face, _real=real: seen.append(_face) or _real(self, *args))
    x = make(rng.standard_normal((2, 4, 5, 6)), device, True)
    for w_shape, groups, want in [((4, 1, 3, 3), 4, ["y", "x", "w"]), ((4, 2, 3, 3), 2, []), ((8, 1, 3, 3), 4, [])]:
        seen.clear()
        F.conv2d(x, make(rng.standard_normal(w_shape), device, True), padding=1, groups=groups).sum().backward()
        assert sorted(seen) == sorted(want), (w_shape, groups, seen)


def test_by_image_only_where_the_batch_is_not_innermost(device, rng, monkeypatch):
    """One image at a time (``conv_by_image_from``) for an input in C order; an input with the batch
    innermost in memory (as a convolution's output) goes as one GEMM over the batch, read in place."""
    from lucid.nn.functional.conv import Conv

    seen = []
    monkeypatch.setattr(Conv, "_y_by_image", lambda self, *args, **kw: seen.append(1) or Conv._y(self, *args))
    monkeypatch.setattr(device.backend, "conv_by_image_from", 1, raising=False)
    monkeypatch.setattr(device.backend, "conv_winograd_from", None, raising=False)
    x, w = rng.standard_normal((3, 4, 5, 6)), make(rng.standard_normal((2, 4, 3, 3)), device)
    c_order = F.conv2d(make(x, device), w)
    assert seen == [1]
    batch_last = F.conv2d(make(np.ascontiguousarray(x.transpose(1, 2, 3, 0)), device).permute(3, 0, 1, 2), w)
    assert seen == [1]
    np.testing.assert_allclose(host(batch_last), host(c_order), atol=1e-12)


def test_winograd_float32_within_a_few_ulp_of_float64(device, rng, monkeypatch):
    """Winograd's float32 rounding: each face within a few units of float32 rounding of the exact
    float64 result, relative to its largest value (the transforms add at most 4 terms of mixed signs)."""
    monkeypatch.setattr(device.backend, "conv_winograd_from", 1, raising=False)
    x, w = rng.standard_normal((4, 16, 9, 8)), rng.standard_normal((8, 16, 3, 3))
    g = rng.standard_normal((4, 8, 9, 8))
    results = {}
    for dtype in (lucid.float32, lucid.float64):
        xt, wt = (lucid.tensor(a, dtype=dtype, device=device, requires_grad=True) for a in (x, w))
        y = F.conv2d(xt, wt, padding=1)
        y.backward(lucid.tensor(g, dtype=dtype, device=device))
        results[dtype] = [host(t).astype(np.float64) for t in (y, xt.grad, wt.grad)]
    for single, double in zip(results[lucid.float32], results[lucid.float64]):
        assert np.abs(single - double).max() <= 16 * np.finfo(np.float32).eps * np.abs(double).max()


def test_conv_saves_no_columns(device):
    """The forward keeps only its input and weight for backward (no im2col columns): the graph
    holds nothing larger than the input."""
    x = lucid.randn(2, 8, 6, 6, device=device, dtype=lucid.float64, requires_grad=True)
    w = lucid.randn(4, 8, 3, 3, device=device, dtype=lucid.float64, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    node = y.grad_fn
    assert all(not hasattr(node, name) or getattr(node, name) is None for name in ("cols", "columns"))
    assert all(math.prod(t.shape) <= math.prod(x.shape) for t in node.saved_tensors)


def test_unbatched_input(device, rng):
    x, w = rng.standard_normal((2, 5, 4)), rng.standard_normal((3, 2, 2, 2))
    y = F.conv2d(make(x, device), make(w, device), padding=1)
    want = F.conv2d(make(x[None], device), make(w, device), padding=1)[0]
    assert y.shape == (3, 6, 5)
    np.testing.assert_allclose(host(y), host(want))


# ---- unfold / fold --------------------------------------------------------------------------
def test_unfold_fold_are_adjoint(device, rng):
    args = dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    x = make(rng.standard_normal((2, 3, 5, 6)), device)
    cols = F.unfold(x, **args)
    y = make(rng.standard_normal(cols.shape), device)
    lhs = float((cols * y).sum())
    rhs = float((x * F.fold(y, (5, 6), **args)).sum())
    assert math.isclose(lhs, rhs, rel_tol=1e-10)


def test_unfold_fold_match_torch(device, rng):
    torch = pytest.importorskip("torch")
    args = dict(kernel_size=(2, 3), dilation=(2, 1), padding=(1, 0), stride=(1, 2))
    _torch_compare(torch, lambda x: F.unfold(x, **args), lambda x: torch.nn.functional.unfold(x, **args),
                   [rng.standard_normal((2, 3, 5, 6))], device, rng)
    n_cols = torch.nn.functional.unfold(torch.zeros(1, 1, 5, 6), **args).shape[-1]
    _torch_compare(torch, lambda c: F.fold(c, (5, 6), **args), lambda c: torch.nn.functional.fold(c, (5, 6), **args),
                   [rng.standard_normal((2, 3 * 6, n_cols))], device, rng)


def test_unfold_fold_gradcheck(device, rng):
    x = make(rng.standard_normal((1, 2, 3, 4)), device, True)
    assert gradcheck(lambda t: F.unfold(t, 2, padding=1, stride=2), (x,))
    assert gradgradcheck(lambda t: F.unfold(t, 2, padding=1, stride=2), (x,))
    c = make(rng.standard_normal((1, 4, 4)), device, True)
    assert gradcheck(lambda t: F.fold(t, (3, 4), 2, dilation=(1, 2)), (c,))


def test_unfold_other_dims(device, rng):
    """A 1-tuple or 3-tuple kernel unfolds 1-D or 3-D inputs (PyTorch has only 2-D)."""
    x = rng.standard_normal((2, 3, 6))
    cols = F.unfold(make(x, device), (3,), stride=(2,))
    want = np.stack([x[:, :, i:i + 3] for i in range(0, 4, 2)], -1).reshape(2, 9, 2)
    np.testing.assert_allclose(host(cols), want)
    assert F.unfold(make(rng.standard_normal((1, 2, 3, 4, 5)), device), (2, 2, 2)).shape == (1, 16, 2 * 3 * 4)


# ---- modules --------------------------------------------------------------------------------
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_module_shapes_and_init(nd, device):
    conv = getattr(L, f"Conv{nd}d")(4, 6, 3, stride=2, padding=1, groups=2, device=device, dtype=lucid.float64)
    assert conv.weight.shape == (6, 2) + (3,) * nd and conv.bias.shape == (6,)
    assert conv(lucid.randn((2, 4) + (7,) * nd, device=device, dtype=lucid.float64)).shape == (2, 6) + (4,) * nd
    up = getattr(L, f"ConvTranspose{nd}d")(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, device=device)
    assert up.weight.shape == (4, 3) + (3,) * nd
    assert up(lucid.randn((2, 4) + (4,) * nd, device=device)).shape == (2, 6) + (8,) * nd
    assert conv.weight.device == device and up.bias.device == device


def test_conv_default_init_statistics():
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, fan_in = in/groups * prod(kernel)."""
    lucid.manual_seed(0)
    conv = L.Conv2d(16, 64, 5, groups=2)
    bound = 1 / math.sqrt(8 * 25)
    w = conv.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound
    up = L.ConvTranspose2d(16, 12, 3, groups=4)  # fan_in = weight.shape[1] * 9 = 3 * 9, as PyTorch
    assert np.abs(up.weight.detach().numpy()).max() <= 1 / math.sqrt(27)
    assert L.Conv1d(2, 3, 2, bias=False).bias is None


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, "same", (2, 1)])
def test_conv_padding_modes_match_torch(mode, padding, rng):
    torch = pytest.importorskip("torch")
    ours = L.Conv2d(2, 3, (3, 4), padding=padding, padding_mode=mode, dtype=lucid.float64)
    theirs = torch.nn.Conv2d(2, 3, (3, 4), padding=padding, padding_mode=mode, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.detach().numpy()))
        theirs.bias.copy_(torch.tensor(ours.bias.detach().numpy()))
    x = rng.standard_normal((2, 2, 5, 6))
    y, ty = ours(make(x, "cpu")), theirs(torch.tensor(x))
    np.testing.assert_allclose(host(y), ty.detach().numpy(), atol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(host(ours.weight.grad), theirs.weight.grad.numpy(), atol=1e-10)


def _standardized_conv_class(base, functional):
    """A weight-standardising conv that overrides ``forward`` through ``_conv_forward``, as timm's StdConv2d."""

    class StdConv2d(base):
        def forward(self, x):
            w = self.weight.reshape(self.out_channels, -1)
            w = ((w - w.mean(1, keepdim=True)) / w.std(1, keepdim=True)).reshape(self.weight.shape)
            return self._conv_forward(x, w, self.bias)

    return StdConv2d


@pytest.mark.parametrize("mode", ["zeros", "reflect", "circular"])
@pytest.mark.parametrize("padding", [(2, 1), "same", "valid"])
def test_conv_forward_hook_and_padding_widths_match_torch(mode, padding, device, rng):
    """Subclasses copied from PyTorch call ``_conv_forward(x, weight, bias)`` and read
    ``_reversed_padding_repeated_twice``: PyTorch's values and gradients."""
    torch = pytest.importorskip("torch")
    args = dict(padding=padding, padding_mode=mode, dilation=(1, 2))
    ours = _standardized_conv_class(L.Conv2d, F)(2, 3, (3, 4), **args, dtype=lucid.float64).to(device)
    theirs = _standardized_conv_class(torch.nn.Conv2d, torch.nn.functional)(2, 3, (3, 4), **args, dtype=torch.float64)
    assert tuple(ours._reversed_padding_repeated_twice) == tuple(theirs._reversed_padding_repeated_twice)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(host(ours.weight)))
        theirs.bias.copy_(torch.tensor(host(ours.bias)))
    x = rng.standard_normal((2, 2, 6, 7))
    y, ty = ours(make(x, device)), theirs(torch.tensor(x))
    np.testing.assert_allclose(host(y), ty.detach().numpy(), atol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(host(ours.weight.grad), theirs.weight.grad.numpy(), atol=1e-10)


def _conv_written_as_pytorchs(base, functional):
    """A 2-D convolution subclassing ``_ConvNd`` directly, with PyTorch's arguments in its order."""

    class PlainConv2d(base):
        def __init__(self, cin, cout, k, stride=1, padding=0, dilation=1, groups=1, bias=True, device=None):
            pair = (lambda v: v if isinstance(v, tuple) else (v, v))
            super().__init__(cin, cout, pair(k), pair(stride), pair(padding), pair(dilation), False, pair(0),
                             groups, bias, "zeros", device=device)

        def forward(self, x):
            return functional.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                                     self.groups)

    return PlainConv2d


def test_convnd_takes_pytorchs_arguments(device, rng):
    """Layers copied from PyTorch's own Conv2d call ``_ConvNd.__init__(..., dilation, transposed, output_padding,
    groups, bias, padding_mode)``: PyTorch's parameters, repr and values."""
    torch = pytest.importorskip("torch")
    from torch.nn.modules.conv import _ConvNd as TorchConvNd

    ours = _conv_written_as_pytorchs(L.conv._ConvNd, F)(4, 6, 3, stride=2, padding=1, groups=2, device=device)
    theirs = _conv_written_as_pytorchs(TorchConvNd, torch.nn.functional)(4, 6, 3, stride=2, padding=1, groups=2)
    assert repr(ours) == repr(theirs) and not ours.transposed and ours.weight.shape == (6, 2, 3, 3)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(host(ours.weight)))
        theirs.bias.copy_(torch.tensor(host(ours.bias)))
    x = rng.standard_normal((2, 4, 7, 7)).astype(np.float32)
    np.testing.assert_allclose(host(ours(lucid.tensor(x, device=device))), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_conv_transpose_output_size(device):
    up = L.ConvTranspose2d(2, 3, 3, stride=2, padding=1, device=device)
    x = lucid.randn(1, 2, 4, 5, device=device)
    assert up(x).shape == (1, 3, 7, 9)
    assert up(x, output_size=(8, 10)).shape == (1, 3, 8, 10)
    with pytest.raises(ValueError, match="not reachable"):
        up(x, output_size=(10, 10))


def test_unfold_fold_modules(device):
    x = lucid.randn(2, 3, 4, 5, device=device)
    cols = L.Unfold(2, padding=1)(x)
    assert cols.shape == (2, 12, 30)
    assert L.Fold((4, 5), 2, padding=1)(cols).shape == (2, 3, 4, 5)


def test_module_repr():  # PyTorch's: the padding string and padding_mode unquoted
    assert repr(L.Conv2d(3, 8, 3, padding="same", bias=False)) == \
        "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=same, bias=False)"


def test_conv_errors(device):
    x, w = lucid.randn(1, 4, 5, 5, device=device), lucid.randn(2, 3, 3, 3, device=device)
    with pytest.raises(RuntimeError, match="input"):
        F.conv2d(x, w)
    with pytest.raises(RuntimeError, match="strided"):
        F.conv2d(x, lucid.randn(2, 4, 3, 3, device=device), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="padding"):
        F.conv2d(x, lucid.randn(2, 4, 3, 3, device=device), padding="full")
    with pytest.raises(RuntimeError, match="larger than"):
        F.conv2d(x, lucid.randn(2, 4, 7, 7, device=device))
    with pytest.raises(RuntimeError, match="4-D"):
        F.conv2d(lucid.randn(5, device=device), w)
    with pytest.raises(TypeError, match="same dtype"):
        F.conv2d(x, lucid.randn(2, 4, 3, 3, device=device, dtype=lucid.float64))
    with pytest.raises(RuntimeError, match="output_padding"):
        F.conv_transpose2d(x, lucid.randn(4, 2, 3, 3, device=device), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="divisible"):
        L.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        L.ConvTranspose2d(3, 4, 3, padding_mode="reflect")


def test_conv_device_mismatch(device_pair):
    here, there = device_pair
    with pytest.raises(lucid.DeviceMismatchError):
        F.conv2d(lucid.randn(1, 2, 4, 4, device=here), lucid.randn(3, 2, 2, 2, device=there))


def test_empty_batch(device):
    """A batch of zero samples gives an empty output and zero weight gradient, as PyTorch."""
    x = lucid.randn(0, 4, 5, 5, device=device, requires_grad=True)
    w = lucid.randn(6, 2, 3, 3, device=device, requires_grad=True)
    y = F.conv2d(x, w, groups=2, padding=1)
    assert y.shape == (0, 6, 5, 5)
    y.sum().backward()
    assert not host(w.grad).any() and x.grad.shape == x.shape
    assert F.conv_transpose2d(lucid.randn(0, 6, 3, 3, device=device), w.detach()).shape == (0, 2, 5, 5)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("call", [
    lambda x, w: F.conv2d(x, w, padding=1),
    lambda x, w: F.conv2d(x, w, stride=2, padding=1),
    lambda x, w: F.conv2d(x, w[:, :2], groups=2),
    lambda x, w: F.conv_transpose2d(x, w.permute(1, 0, 2, 3), stride=2),
], ids=["same", "strided", "groups", "transposed"])
def test_half_convolutions_keep_their_dtype(call, dtype, device, conv_path, rng):
    """float16 and bfloat16 convolutions give results and gradients in their dtype on both paths (ml_dtypes'
    bfloat16 GEMM returns float32: no silent widening), close to the float32 computation."""
    kind = getattr(lucid, dtype)
    try:
        x = lucid.tensor(rng.standard_normal((2, 4, 9, 9)), device=device).to(kind).requires_grad_()
    except TypeError:
        pytest.skip(f"{device} has no {dtype}")
    w = lucid.tensor(rng.standard_normal((4, 4, 3, 3)) / 6, device=device).to(kind).requires_grad_()
    y = call(x, w)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == kind
    xf, wf = (t.detach().float().requires_grad_() for t in (x, w))
    yf = call(xf, wf)
    yf.sum().backward()
    for got, want in ((y, yf), (x.grad, xf.grad), (w.grad, wf.grad)):
        np.testing.assert_allclose(host(got.float()), host(want), rtol=0.05, atol=0.1)
