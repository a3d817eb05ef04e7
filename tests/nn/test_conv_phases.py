"""Strided convolutions read and add their windows by phase (``Conv._phased``): the padded input split by the
strides' phases, each kernel offset then a unit-stride block. Values and both gradients against PyTorch over the
batch (and without phases, as a batch of ``conv_by_phase_below`` or more goes), one image at a time, and one image at a
time with the strided ``"x"`` face sent over the batch (``_IMAGE_COLUMNS``); geometries where a phase holds no
input, the padding is wider than the stride, the kernel skips phases (stride above kernel extent) or is dilated;
float32; a batch-last (non C-order) input; and the phase split itself as a bijection onto the padded input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F
from lucid.nn.functional import conv as conv_module

# name, dims, input shape, weight shape, keyword arguments (conv: weight (O, C/g, *k); transposed: (C, O/g, *k))
STRIDED = [
    ("stride_above_kernel", False, (2, 3, 11, 9), (4, 3, 2, 2), dict(stride=3)),
    ("padding_wider_than_stride", False, (2, 3, 7, 8), (4, 3, 5, 5), dict(stride=2, padding=3)),
    ("dilated", False, (2, 3, 10, 9), (4, 3, 3, 2), dict(stride=(2, 3), padding=(2, 1), dilation=(2, 3))),
    ("one_phase_empty", False, (1, 2, 2, 5), (3, 2, 1, 3), dict(stride=(3, 2), padding=(0, 1))),
    ("grouped_3d", False, (2, 4, 5, 6, 7), (4, 2, 3, 2, 3), dict(stride=(2, 2, 3), padding=1, groups=2)),
    ("1d", False, (3, 2, 13), (4, 2, 4), dict(stride=3, padding=2, dilation=2)),
    ("t_upsample_3d", True, (2, 4, 3, 4, 5), (4, 3, 4, 4, 4), dict(stride=2, padding=1)),
    ("t_output_padding", True, (2, 3, 4, 5), (3, 2, 3, 3), dict(stride=(3, 2), padding=1, output_padding=(2, 1))),
    ("t_dilated_grouped", True, (2, 4, 5, 4), (4, 1, 2, 3), dict(stride=2, dilation=(2, 1), groups=2)),
]
PATHS = ["columns", "columns_without_phases", "by_image", "by_image_strided_x_over_batch"]


def host(t):
    return t.detach().numpy(force=True)


@pytest.fixture(params=PATHS)
def path(request, device, monkeypatch):
    monkeypatch.setattr(device.backend, "conv_by_image_from", None if request.param == "columns" else 1,
                        raising=False)
    monkeypatch.setattr(device.backend, "conv_winograd_from", None, raising=False)
    # by phase below a batch of 16 (NumPy's) on every backend; without: strided views directly (a GPU's way)
    below = None if request.param == "columns_without_phases" else 16
    monkeypatch.setattr(device.backend, "conv_by_phase_below", below, raising=False)
    if request.param == "by_image_strided_x_over_batch":
        monkeypatch.setattr(conv_module, "_IMAGE_COLUMNS", 0)
    return request.param


def _function(module, transposed, nd):
    return getattr(module, f"conv_transpose{nd}d" if transposed else f"conv{nd}d")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", STRIDED, ids=[c[0] for c in STRIDED])
def test_strided_faces_match_torch(case, dtype, device, path, rng):
    torch = pytest.importorskip("torch")
    _, transposed, xs, ws, kw = case
    nd = len(xs) - 2
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    lx, lw = (lucid.tensor(a, device=device, requires_grad=True) for a in (x, w))
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    y, ty = _function(F, transposed, nd)(lx, lw, **kw), _function(torch.nn.functional, transposed, nd)(tx, tw, **kw)
    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    y.backward(lucid.tensor(g, device=device))
    ty.backward(torch.tensor(g))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-11)
    for ours, theirs in ((y, ty), (lx.grad, tx.grad), (lw.grad, tw.grad)):
        assert ours.dtype == getattr(lucid, dtype)
        np.testing.assert_allclose(host(ours), theirs.detach().numpy(), **tol)


def test_batch_last_input_matches_c_order(device, path, rng):
    """A batch-last input (a convolution's output layout) and its C-order copy give the same strided results."""
    x, w = rng.standard_normal((3, 4, 9, 8)), lucid.tensor(rng.standard_normal((4, 5, 3, 3)), device=device)
    c_order = F.conv_transpose2d(lucid.tensor(x, device=device), w, stride=2, padding=1)
    last = lucid.tensor(np.ascontiguousarray(x.transpose(1, 2, 3, 0)), device=device).permute(3, 0, 1, 2)
    np.testing.assert_allclose(host(F.conv_transpose2d(last, w, stride=2, padding=1)), host(c_order), atol=1e-12)
    np.testing.assert_allclose(host(F.conv2d(last, w.transpose(0, 1), stride=2)),
                               host(F.conv2d(lucid.tensor(x, device=device), w.transpose(0, 1), stride=2)), atol=1e-12)


@pytest.mark.parametrize("size,kernel,stride,dilation,padding", [
    ((7, 2), (3, 1), (2, 3), (1, 1), ((1, 2), (0, 0))),
    ((1, 5), (1, 3), (3, 2), (1, 2), ((2, 0), (1, 1))),
    ((6,), (2,), (4,), (3,), ((3, 3),)),
])
def test_phase_parts_cover_the_padded_input_once(size, kernel, stride, dilation, padding):
    """Every input element lands in exactly one phase slot, at padded position ``q * stride + r``, and each kernel
    offset's phase slices read the padded input's strided window positions."""
    geo = conv_module.geometry(size, kernel, stride, dilation, padding)
    blocks = conv_module.Conv._blocks(geo)
    phased = np.full((1,) + geo.stride + blocks + (1,), -1.0)
    values = np.arange(1.0, 1.0 + np.prod(size)).reshape((1,) + size + (1,))
    for into, source in conv_module.Conv._phase_parts(geo):
        phased[(slice(None),) + into + (...,)] = values[(slice(None),) + source + (...,)]
    padded = np.pad(values, [(0, 0)] + list(padding) + [(0, 0)])
    for r in itertools.product(*(range(s) for s in stride)):
        for q in itertools.product(*(range(b) for b in blocks)):
            p = tuple(qi * s + ri for qi, s, ri in zip(q, stride, r))
            inside = all(pi < n for pi, n in zip(p, padded.shape[1:-1]))
            want = padded[(0,) + p + (0,)] if inside else 0.0
            got = phased[(0,) + r + q + (0,)]
            assert got == (want if want != 0 else -1.0), (r, q)  # padding and beyond: never written
    for offset in itertools.product(*(range(k) for k in kernel)):
        window = padded[(slice(None),) + geo.offset_slices(offset) + (...,)]
        read = phased[(slice(None),) + conv_module.Conv._phase_slices(geo, offset) + (...,)]
        np.testing.assert_array_equal(np.where(read == -1.0, 0.0, read), window)
