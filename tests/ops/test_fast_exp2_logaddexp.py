"""float32 ``exp2`` and ``logaddexp`` on arrays large enough for the NumPy backend's fast paths (``np.exp2``; the
vectorized ``logaddexp`` kernel, more than one run of 65536 elements): values against float64 and torch, the special
values exact, no warnings."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import lucid

_EDGES = np.float32([0.0, -0.0, math.inf, -math.inf, math.nan, 1e-45, 1.0, -1.0, 88.0, -104.0, 3e38, -3e38])


def test_logaddexp_float32_accuracy_and_special_values(device, rng):
    torch = pytest.importorskip("torch")
    a = np.concatenate([rng.standard_normal(70000) * s for s in (0.01, 1.0, 30.0, 1e4)]).astype(np.float32)
    b = np.concatenate([rng.standard_normal(70000) * s for s in (0.01, 1.0, 30.0, 1e4)]).astype(np.float32)
    b[:1000] = a[:1000]  # equal operands: a + ln 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = lucid.logaddexp(lucid.tensor(a, device=device), lucid.tensor(b, device=device)).numpy(force=True)
        grid = lucid.logaddexp(lucid.tensor(np.tile(_EDGES, 500)[:, None], device=device),
                               lucid.tensor(_EDGES[None, :], device=device)).numpy(force=True)
    assert got.dtype == np.float32
    exact = np.logaddexp(a.astype(np.float64), b.astype(np.float64))
    # the formula's own rounding (a - b, then the sum): within 4 ulp of the larger operand (NumPy's and torch's 2.5)
    scale = np.spacing(np.maximum(np.maximum(np.abs(a), np.abs(b)), np.abs(exact).astype(np.float32)))
    assert (np.abs(got - exact) / scale).max() <= 4
    want = torch.logaddexp(torch.tensor(np.tile(_EDGES, 500)[:, None]), torch.tensor(_EDGES[None, :])).numpy()
    special = ~np.isfinite(want)  # inf with inf, -inf with -inf, nan; huge operands
    np.testing.assert_array_equal(grid[special], want[special])
    np.testing.assert_allclose(grid[~special], want[~special], rtol=3e-7, atol=1e-44)


def test_logaddexp_gradients_on_large_arrays(device, rng):
    torch = pytest.importorskip("torch")
    a, b = (rng.standard_normal((300, 300)).astype(np.float32) for _ in range(2))
    results = []
    for lib, kw in ((lucid, {"device": device}), (torch, {})):
        x, y = lib.tensor(a, requires_grad=True, **kw), lib.tensor(b, requires_grad=True, **kw)
        out = lib.logaddexp(x, y)
        out.sum().backward()
        results.append([np.asarray(v.detach().numpy(**({"force": True} if lib is lucid else {})))
                        for v in (out, x.grad, y.grad)])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=2e-6)


def test_exp2_float32_is_correctly_rounded_on_large_arrays(device, rng):
    x = np.concatenate([rng.uniform(-150, 128, 70000), _EDGES]).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow and underflow silently, as PyTorch
        t = lucid.tensor(x, device=device)
        got = t.exp2().numpy(force=True)
    assert got.dtype == np.float32
    with np.errstate(over="ignore", invalid="ignore"):
        exact = np.exp2(x.astype(np.float64))
        want = exact.astype(np.float32)
    normal = np.isfinite(want) & (np.abs(want) >= np.finfo(np.float32).tiny)
    assert (np.abs(got[normal] - exact[normal]) / np.spacing(want[normal])).max() <= 0.51
    np.testing.assert_array_equal(got[~np.isfinite(want)], want[~np.isfinite(want)])
