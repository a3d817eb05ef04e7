"""Resampling and padding: interpolate in every mode (size and scale_factor, align_corners both
ways), grid_sample (modes x padding modes x align_corners), affine_grid and pixel (un)shuffle
against PyTorch (values and gradients) and NumPy; first and second order gradchecks on every
backend; the Upsample and padding modules; errors."""

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


def torch_compare(torch, ours_fn, torch_fn, arrays, device, rng):
    ours = [make(a, device, True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = ours_fn(*ours), torch_fn(*theirs)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(host(y), ty.detach().numpy(), atol=1e-10)
    g = rng.standard_normal(y.shape)
    y.backward(make(g, device))
    ty.backward(torch.tensor(g))
    for o, t in zip(ours, theirs):
        got = host(o.grad) if o.grad is not None else 0 * t.grad.numpy()  # piecewise-constant: no graph
        np.testing.assert_allclose(got, t.grad.numpy(), atol=1e-10)


MODES = [("nearest", (2, 2, 5, 4)), ("nearest-exact", (2, 2, 5, 4)), ("area", (2, 2, 5, 4)), ("linear", (2, 2, 5)),
         ("bilinear", (2, 2, 5, 4)), ("bicubic", (2, 2, 5, 4)), ("trilinear", (1, 2, 4, 3, 5))]
SIZES = [dict(size=(7, 3, 6)), dict(scale_factor=1.7), dict(scale_factor=0.6), dict(scale_factor=2.0),
         dict(scale_factor=1.7, recompute_scale_factor=True)]


def _interp_cases():
    for mode, shape in MODES:
        for sizes in SIZES:
            for align in ([None] if mode in ("nearest", "nearest-exact", "area") else [False, True]):
                label = f"{mode}-{next(iter(sizes.items()))[1]}-{align}" + ("-recompute" if len(sizes) > 1 else "")
                yield pytest.param(mode, shape, sizes, align, id=label)


@pytest.mark.parametrize("mode,shape,sizes,align", list(_interp_cases()))
def test_interpolate_matches_torch(mode, shape, sizes, align, rng):
    torch = pytest.importorskip("torch")
    nd = len(shape) - 2
    kw = dict(sizes, size=sizes["size"][:nd]) if "size" in sizes else sizes
    torch_compare(torch, lambda x: F.interpolate(x, mode=mode, align_corners=align, **kw),
                  lambda x: torch.nn.functional.interpolate(x, mode=mode, align_corners=align, **kw),
                  [rng.standard_normal(shape)], "cpu", rng)


@pytest.mark.parametrize("mode,shape", MODES, ids=[m for m, _ in MODES])
def test_interpolate_gradcheck(mode, shape, device, rng):
    shape = (1, 1) + tuple(min(n, 3) for n in shape[2:])
    align = None if mode in ("nearest", "nearest-exact", "area") else True
    x = make(rng.standard_normal(shape), device, True)
    fn = lambda t: F.interpolate(t, scale_factor=1.5, mode=mode, align_corners=align)  # noqa: E731
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@pytest.mark.parametrize("shape, kw", [((2, 3, 5), dict(scale_factor=2)), ((2, 3, 5, 4), dict(scale_factor=2.0)),
                                       ((1, 2, 3, 4, 2), dict(size=(6, 8, 4))), ((2, 2, 5, 4), dict(size=(10, 4))),
                                       ((1, 2, 20), dict(scale_factor=2.04)), ((1, 2, 20), dict(scale_factor=1.04)),
                                       ((2, 2, 3, 4), dict(size=(3, 4)))],
                         ids=["1d", "2d", "3d", "one_dim", "scale_2.04", "scale_1.04", "same_size"])
def test_nearest_doubling_matches_torch(device, rng, shape, kw):
    """Nearest at 1x and 2x per dimension repeats the elements (PyTorch's shortcuts; a scale factor that only
    rounds to 1x or 2x takes its float32 rule instead, as PyTorch's forward: its backward takes the shortcut
    anyway, not the adjoint of its forward, so there the gradient is checked by finite differences only); the
    gradient sums them back; the same size gives a copy, not the input."""
    torch = pytest.importorskip("torch")
    a = rng.standard_normal(shape)
    x, tx = make(a, device, True), torch.tensor(a, requires_grad=True)
    y, ty = F.interpolate(x, **kw), torch.nn.functional.interpolate(tx, **kw)
    np.testing.assert_array_equal(host(y), ty.detach().numpy())
    g = rng.standard_normal(ty.shape)
    y.backward(make(g, device))
    ty.backward(torch.tensor(g))
    if float(kw.get("scale_factor", 2)).is_integer():
        np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-14, atol=1e-15)
    assert gradcheck(lambda t: F.interpolate(t, **kw), (make(a, device, True),))
    assert gradgradcheck(lambda t: F.interpolate(t, **kw), (make(a, device, True),))
    if kw.get("size") == shape[2:]:
        assert not np.shares_memory(host(y), a) and y._data is not x._data


LONG = [("nearest", (1, 2, 160), 1.7, None), ("nearest-exact", (1, 2, 160), 0.6, None),
        ("nearest", (1, 2, 3, 120), (2.0, 3.0), None), ("linear", (2, 2, 400), 2.0, False),
        ("linear", (2, 2, 400), 2.0, True), ("linear", (1, 2, 300), 0.3, False), ("linear", (1, 2, 300), 3.7, True),
        ("bilinear", (1, 2, 160, 9), 1.5, False), ("bicubic", (1, 1, 340, 6), 1.6, False),
        ("bicubic", (1, 1, 340, 6), 0.45, True), ("trilinear", (1, 1, 4, 3, 170), 1.4, True)]
LONG_IDS = [f"{m}-{s[2:]}-{f}-{a}" for m, s, f, a in LONG]


@pytest.mark.parametrize("mode,shape,factor,align", LONG, ids=LONG_IDS)
def test_interpolate_long_dims_match_torch(mode, shape, factor, align, rng):
    """Dimensions longer than ``_DENSE`` resample by their taps (``Tapped``): values and gradients as PyTorch's."""
    torch = pytest.importorskip("torch")
    kw = dict(scale_factor=factor, mode=mode, align_corners=align)
    torch_compare(torch, lambda x: F.interpolate(x, **kw), lambda x: torch.nn.functional.interpolate(x, **kw),
                  [rng.standard_normal(shape)], "cpu", rng)


@pytest.mark.parametrize("mode,shape,factor,align", LONG[::2], ids=LONG_IDS[::2])
def test_interpolate_taps_as_dense(mode, shape, factor, align, device, rng, monkeypatch):
    """``Tapped`` and its adjoint give the dense matrices' values and gradients, to rounding, on every backend."""
    from lucid.nn.functional import resample

    a, kw = rng.standard_normal(shape), dict(scale_factor=factor, mode=mode, align_corners=align)
    runs = []
    for dense in (resample._DENSE, dict.fromkeys(resample._DENSE, 10**6)):
        monkeypatch.setattr(resample, "_DENSE", dense)
        x = make(a, device, True)
        y = F.interpolate(x, **kw)
        y.backward(make(np.cos(np.arange(y.numel())).reshape(y.shape), device))
        runs.append((host(y), host(x.grad)))
    for tapped, dense in zip(*runs):
        np.testing.assert_allclose(tapped, dense, rtol=1e-12, atol=1e-12)


AA_SIZES = [dict(size=(3, 2)), dict(size=(11, 9)), dict(size=(2, 13)), dict(scale_factor=0.37),
            dict(scale_factor=(0.5, 1.7)), dict(scale_factor=0.37, recompute_scale_factor=True), dict(size=(1, 1))]


@pytest.mark.parametrize("sizes", AA_SIZES, ids=[str(next(iter(s.values()))) + ("-recompute" if len(s) > 1 else "")
                                                 for s in AA_SIZES])
@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_interpolate_antialias_matches_torch(mode, align, sizes, device, rng):
    """``antialias=True`` (torchvision's Resize default): the filter widened when shrinking, as PyTorch's
    values and gradients, growing and shrinking, by size or scale factor; it was refused."""
    torch = pytest.importorskip("torch")
    kw = dict(sizes, mode=mode, align_corners=align, antialias=True)
    torch_compare(torch, lambda x: F.interpolate(x, **kw), lambda x: torch.nn.functional.interpolate(x, **kw),
                  [rng.standard_normal((2, 2, 9, 7))], device, rng)


@pytest.mark.parametrize("mode,factor", [("bilinear", 0.3), ("bicubic", 0.45), ("bicubic", 1.3)])
def test_interpolate_antialias_long_dims_match_torch(mode, factor, rng):
    """Antialiased taps beyond ``_DENSE`` go through ``Tapped`` (as many taps as the widened filter covers)."""
    torch = pytest.importorskip("torch")
    kw = dict(scale_factor=(factor, 1.0), mode=mode, antialias=True)
    torch_compare(torch, lambda x: F.interpolate(x, **kw), lambda x: torch.nn.functional.interpolate(x, **kw),
                  [rng.standard_normal((1, 2, 340, 3))], "cpu", rng)


def test_interpolate_antialias_gradcheck(device, rng):
    x = make(rng.standard_normal((1, 1, 7, 4)), device, True)
    fn = lambda t: F.interpolate(t, size=(3, 5), mode="bicubic", antialias=True)  # noqa: E731
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@pytest.mark.parametrize("mode,factor", [("nearest", 1.7), ("linear", 1.4), ("bicubic", 0.7)])
def test_interpolate_long_dim_gradcheck(mode, factor, device, rng):
    x = make(rng.standard_normal((1, 1, 330 if mode == "bicubic" else 160)), device, True)
    fn = lambda t: F.interpolate(t.unsqueeze(2), scale_factor=(1, factor), mode=mode) if mode == "bicubic" else \
        F.interpolate(t, scale_factor=factor, mode=mode)  # noqa: E731
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_interpolate_matches_numpy(device, rng):
    x = rng.standard_normal((2, 3, 4, 5))
    up = F.interpolate(make(x, device), scale_factor=2)
    np.testing.assert_array_equal(host(up), x.repeat(2, 2).repeat(2, 3))
    down = F.interpolate(make(x, device), size=(2, 5), mode="area")
    np.testing.assert_allclose(host(down), x.reshape(2, 3, 2, 2, 5).mean(3))
    lin = F.interpolate(make(x[:, :, 0], device), size=9, mode="linear", align_corners=True)
    np.testing.assert_allclose(host(lin)[..., ::2], x[:, :, 0])
    np.testing.assert_allclose(host(lin)[..., 1::2], (x[:, :, 0, :-1] + x[:, :, 0, 1:]) / 2)


# ---- grid sampling -----------------------------------------------------------------------------
GRID_CASES = [
    pytest.param(mode, pad, align, nd, id=f"{nd}d-{mode}-{pad}-{align}")
    for nd in (2, 3) for mode in ("bilinear", "nearest", "bicubic") for pad in ("zeros", "border", "reflection")
    for align in (False, True) if not (nd == 3 and mode == "bicubic")
]


@pytest.mark.parametrize("mode,pad,align,nd", GRID_CASES)
def test_grid_sample_matches_torch(mode, pad, align, nd, rng):
    torch = pytest.importorskip("torch")
    shape = (2, 2, 5, 4) if nd == 2 else (1, 2, 4, 3, 5)
    grid = (1, 3, 4, 2) if nd == 2 else (1, 2, 3, 2, 3)
    grid = (shape[0],) + grid[1:]
    arrays = [rng.standard_normal(shape), rng.uniform(-1.3, 1.3, grid)]  # some points outside [-1, 1]
    torch_compare(torch, lambda x, g: F.grid_sample(x, g, mode, pad, align),
                  lambda x, g: torch.nn.functional.grid_sample(x, g, mode, pad, align), arrays, "cpu", rng)


@pytest.mark.parametrize("mode,pad", [("bilinear", "zeros"), ("bilinear", "reflection"), ("bicubic", "border"),
                                      ("nearest", "zeros")])
def test_grid_sample_gradcheck(mode, pad, device, rng):
    x = make(rng.standard_normal((2, 2, 2, 3)), device, True)  # several samples and channels: each its own plane
    grid = make(rng.uniform(-1.2, 1.2, (2, 1, 2, 2)), device, mode != "nearest")
    fn = lambda a, g: F.grid_sample(a, g, mode, pad, align_corners=False)  # noqa: E731
    assert gradcheck(fn, (x, grid))
    if mode == "bilinear":  # the other modes reuse the same machinery; their second derivatives are slow to check
        assert gradgradcheck(fn, (x, grid))


def test_grid_sample_identity(device, rng):
    """The identity affine grid samples every pixel centre: the input comes back."""
    x = rng.standard_normal((2, 3, 4, 5))
    theta = make(np.tile(np.eye(2, 3), (2, 1, 1)), device)
    grid = F.affine_grid(theta, (2, 3, 4, 5), align_corners=False)
    np.testing.assert_allclose(host(F.grid_sample(make(x, device), grid, align_corners=False)), x, atol=1e-12)


@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 3, 2, 4)], ids=["2d", "3d"])
@pytest.mark.parametrize("align", [False, True])
def test_affine_grid_matches_torch(size, align, device, rng):
    torch = pytest.importorskip("torch")
    nd = len(size) - 2
    torch_compare(torch, lambda t: F.affine_grid(t, size, align),
                  lambda t: torch.nn.functional.affine_grid(t, size, align), [rng.standard_normal((2, nd, nd + 1))],
                  device, rng)


def test_affine_grid_gradcheck(device, rng):
    theta = make(rng.standard_normal((1, 2, 3)), device, True)
    assert gradcheck(lambda t: F.affine_grid(t, (1, 1, 2, 3), False), (theta,))


# ---- pixel shuffle ---------------------------------------------------------------------------
def test_pixel_shuffle(device, rng):
    x = rng.standard_normal((2, 8, 3, 2))
    y = F.pixel_shuffle(make(x, device), 2)
    want = x.reshape(2, 2, 2, 2, 3, 2).transpose(0, 1, 4, 2, 5, 3).reshape(2, 2, 6, 4)
    np.testing.assert_array_equal(host(y), want)
    np.testing.assert_array_equal(host(F.pixel_unshuffle(y, 2)), x)
    t = make(rng.standard_normal((1, 4, 2, 2)), device, True)
    assert gradcheck(lambda a: F.pixel_shuffle(a, 2), (t,))
    assert gradcheck(lambda a: F.pixel_unshuffle(a, 2), (t,))


def test_pixel_shuffle_matches_torch(rng):
    torch = pytest.importorskip("torch")
    torch_compare(torch, lambda x: F.pixel_shuffle(x, 3), lambda x: torch.nn.functional.pixel_shuffle(x, 3),
                  [rng.standard_normal((2, 3, 18, 2, 3))], "cpu", rng)
    torch_compare(torch, lambda x: F.pixel_unshuffle(x, 2), lambda x: torch.nn.functional.pixel_unshuffle(x, 2),
                  [rng.standard_normal((2, 3, 4, 6))], "cpu", rng)


# ---- modules ------------------------------------------------------------------------------------
def test_upsample_modules(device, rng):
    x = make(rng.standard_normal((1, 2, 3, 4)), device)
    np.testing.assert_array_equal(host(L.Upsample(scale_factor=2)(x)), host(F.interpolate(x, scale_factor=2)))
    np.testing.assert_array_equal(host(L.UpsamplingNearest2d(size=(5, 6))(x)), host(F.interpolate(x, (5, 6))))
    np.testing.assert_allclose(host(L.UpsamplingBilinear2d(scale_factor=2)(x)),
                               host(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)))
    assert L.Upsample(size=(4, 4), mode="bicubic")(x).shape == (1, 2, 4, 4)
    assert L.PixelShuffle(2)(lucid.randn(1, 8, 2, 2, device=device)).shape == (1, 2, 4, 4)
    assert L.PixelUnshuffle(2)(lucid.randn(1, 2, 4, 4, device=device)).shape == (1, 8, 2, 2)
    assert repr(L.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"


def np_pad(a, widths, mode="constant", **kw):
    """NumPy's pad with PyTorch-ordered widths (last dimension first)."""
    pairs = [(0, 0)] * a.ndim
    for k in range(len(widths) // 2):
        pairs[a.ndim - 1 - k] = (widths[2 * k], widths[2 * k + 1])
    return np.pad(a, pairs, mode=mode, **kw)


# module, widths (last dimension first), NumPy mode, NumPy keyword arguments
PADS = [
    (L.ZeroPad1d(2), (2, 2), "constant", {}),
    (L.ZeroPad2d((1, 0, 2, 1)), (1, 0, 2, 1), "constant", {}),
    (L.ZeroPad3d(1), (1,) * 6, "constant", {}),
    (L.ConstantPad1d((0, 2), 1.5), (0, 2), "constant", dict(constant_values=1.5)),
    (L.ConstantPad2d(1, -1.0), (1,) * 4, "constant", dict(constant_values=-1.0)),
    (L.ConstantPad3d((1, 0, 0, 1, 1, 0), 2.0), (1, 0, 0, 1, 1, 0), "constant", dict(constant_values=2.0)),
    (L.ReflectionPad1d((2, 1)), (2, 1), "reflect", {}),
    (L.ReflectionPad2d(1), (1,) * 4, "reflect", {}),
    (L.ReflectionPad3d((1, 1, 0, 1, 1, 0)), (1, 1, 0, 1, 1, 0), "reflect", {}),
    (L.ReplicationPad1d(3), (3, 3), "edge", {}),
    (L.ReplicationPad2d((0, 1, 2, 0)), (0, 1, 2, 0), "edge", {}),
    (L.ReplicationPad3d(1), (1,) * 6, "edge", {}),
    (L.CircularPad1d(2), (2, 2), "wrap", {}),
    (L.CircularPad2d((1, 2, 0, 1)), (1, 2, 0, 1), "wrap", {}),
    (L.CircularPad3d(1), (1,) * 6, "wrap", {}),
]


@pytest.mark.parametrize("module,widths,mode,kw", PADS, ids=[type(p[0]).__name__ for p in PADS])
def test_padding_modules(module, widths, mode, kw, device, rng):
    x = rng.standard_normal((2, 3, 3, 4))
    np.testing.assert_array_equal(host(module(make(x, device))), np_pad(x, widths, mode, **kw))


def test_pad_is_lucid_pad(device, rng):
    assert F.pad is lucid.pad
    x = make(rng.standard_normal((1, 2, 3)), device, True)
    assert gradcheck(lambda t: F.pad(t, (1, 2), mode="reflect"), (x,))


def test_resample_errors(device):
    x = lucid.randn(1, 2, 4, 4, device=device)
    with pytest.raises(ValueError, match="exactly one"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="needs a 3-D"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(NotImplementedError, match="unknown mode"):
        F.interpolate(x, scale_factor=2, mode="cubic")
    with pytest.raises(ValueError, match="antialias"):
        F.interpolate(x, scale_factor=0.5, mode="nearest", antialias=True)
    with pytest.raises(ValueError, match="antialias"):
        F.interpolate(x[0], scale_factor=0.5, mode="linear", antialias=True)
    with pytest.raises(RuntimeError, match="grid"):
        F.grid_sample(x, lucid.randn(1, 3, 3, 3, device=device))
    with pytest.raises(ValueError, match="padding_mode"):
        F.grid_sample(x, lucid.randn(1, 3, 3, 2, device=device), padding_mode="wrap")
    with pytest.raises(RuntimeError, match="divisible"):
        F.pixel_shuffle(lucid.randn(1, 3, 2, 2, device=device), 2)
    with pytest.raises(ValueError, match="theta"):
        F.affine_grid(lucid.randn(1, 3, 3, device=device), (1, 1, 2, 2))
    with pytest.raises(ValueError, match="padding needs 4"):
        L.ZeroPad2d((1, 2))
