"""hardswish's gradient at its kinks, at nan and at +-inf against PyTorch, bit for bit (the sign of a zero too),
through the first-order backward (the derivative kept by the forward) and the recorded one (create_graph)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F
from lucid.autograd import gradcheck, gradgradcheck

# the kinks, the numbers next to them (float32), nan and the infinities; repeated to 96 elements so that PyTorch
# takes its vectorized kernel (its scalar tail, under 8-16 elements, gives g at nan instead of nan)
EDGES = [-3.0, 3.0, math.nan, math.inf, -math.inf, -3.0000002, -2.9999998, 2.9999998, 3.0000002, 0.0, -0.0, 1.0]


def host(t):
    return t.detach().numpy(force=True)


@pytest.mark.parametrize("create_graph", [False, True], ids=["first_order", "create_graph"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_at_kinks_nan_and_inf_equals_torch(device, dtype, create_graph):
    """0 (+0, not -0) from -3 down, 1 from 3 up, ``x / 3 + 1/2`` just inside, nan at nan: PyTorch's values."""
    torch = pytest.importorskip("torch")
    x = np.array(EDGES * 8, dtype=dtype)
    lx = lucid.tensor(x, device=device, requires_grad=True)
    (got,) = lucid.autograd.grad(F.hardswish(lx).sum(), lx, create_graph=create_graph)
    tx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.hardswish(tx).sum().backward()
    want = tx.grad.numpy()
    np.testing.assert_array_equal(host(got), want)  # nan where torch has nan
    np.testing.assert_array_equal(np.signbit(host(got)), np.signbit(want))
    np.testing.assert_array_equal(host(F.hardswish(lx)), torch.nn.functional.hardswish(tx).detach().numpy())


def test_infinite_and_nan_gradients_stop_where_the_derivative_is_0(device):
    """An inf or nan ``g`` at x <= -3 gives 0 (PyTorch's blend), not inf * 0 = nan; elsewhere it passes."""
    x = lucid.tensor([-5.0, -3.0, -5.0, 1.0, 4.0, 1.0], device=device, requires_grad=True)
    g = lucid.tensor([math.inf, -math.inf, math.nan, math.inf, math.nan, 2.0], device=device)
    F.hardswish(x).backward(g)
    inside = np.float32(2) * (np.float32(1) / np.float32(3) + np.float32(0.5))  # float32, as the tensors
    np.testing.assert_array_equal(host(x.grad), np.array([0.0, 0.0, 0.0, math.inf, math.nan, inside], np.float32))


def test_float32_matches_float64_and_gradchecks(device, rng):
    """The kept float32 derivative against float64 on random inputs through every piece; float64 gradcheck and
    gradgradcheck away from the kinks."""
    a = rng.uniform(-6, 6, 4096)
    results = []
    for dtype in (lucid.float32, lucid.float64):
        x = lucid.tensor(a, dtype=dtype, device=device, requires_grad=True)
        F.hardswish(x).sum().backward()
        results.append(host(x.grad).astype(np.float64))
    np.testing.assert_allclose(results[0], results[1], rtol=2e-7, atol=1e-7)
    b = rng.uniform(-4.5, 4.5, (3, 5))
    b[np.abs(np.abs(b) - 3) < 0.05] = 0.5
    x = lucid.tensor(b, dtype=lucid.float64, device=device, requires_grad=True)
    assert gradcheck(F.hardswish, (x,))
    assert gradgradcheck(F.hardswish, (x,))
