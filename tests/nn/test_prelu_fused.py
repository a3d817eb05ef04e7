"""prelu as one fused op (the derivative kept by the forward, the weight gradient one contraction; unrecorded, a
clip-based form): values and both gradients against PyTorch for every weight layout, at 0, +-inf and nan inputs, on
non-contiguous inputs, in float32 and float64, second derivatives, and PyTorch's errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F
from lucid.autograd import gradcheck, gradgradcheck


def host(t):
    return t.detach().numpy(force=True)


# input shape, weight shape: channels of an image batch, of a sequence batch, one weight, a 1-D input (one channel,
# as PyTorch), a 0-D weight
LAYOUTS = [((4, 3, 5, 6), (3,)), ((4, 3, 7), (3,)), ((4, 3, 5, 6), (1,)), ((5,), (1,)), ((2, 3), ())]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", LAYOUTS, ids=[f"{x}-{w}" for x, w in LAYOUTS])
def test_values_and_gradients_equal_torch(device, rng, layout, dtype):
    torch = pytest.importorskip("torch")
    shape, wshape = layout
    a = rng.standard_normal(shape).astype(dtype)
    flat = a.reshape(-1)
    flat[:6] = [0.0, -0.0, math.inf, -math.inf, math.nan, 1.0][: flat.size]
    w = rng.uniform(-0.5, 1.5, wshape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    x, wt = lucid.tensor(a, device=device, requires_grad=True), lucid.tensor(w, device=device, requires_grad=True)
    tx, twt = torch.tensor(a, requires_grad=True), torch.tensor(w, requires_grad=True)
    y, ty = F.prelu(x, wt), torch.nn.functional.prelu(tx, twt)
    y.backward(lucid.tensor(g, device=device))
    ty.backward(torch.tensor(g))
    rtol = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_array_equal(host(y), ty.detach().numpy())  # one product: bit for bit
    np.testing.assert_array_equal(host(F.prelu(x.detach(), wt.detach())), ty.detach().numpy())  # unrecorded form
    np.testing.assert_array_equal(host(x.grad), tx.grad.numpy())
    np.testing.assert_allclose(host(wt.grad), twt.grad.numpy(), rtol=rtol)  # nan where torch's sum has one
    assert y.dtype == x.grad.dtype == wt.grad.dtype == getattr(lucid, dtype)


def test_non_contiguous_input_and_one_gradient(device, rng):
    """A transposed input (strided in memory), and each gradient alone (the other input not requiring grad)."""
    torch = pytest.importorskip("torch")
    a, w = rng.standard_normal((6, 3, 4, 5)), rng.uniform(0.1, 0.5, (4,))
    for x_grad, w_grad in ((True, False), (False, True)):
        x = lucid.tensor(a, device=device, requires_grad=x_grad)
        wt = lucid.tensor(w, device=device, requires_grad=w_grad)
        tx, twt = torch.tensor(a, requires_grad=x_grad), torch.tensor(w, requires_grad=w_grad)
        y, ty = F.prelu(x.transpose(1, 2), wt), torch.nn.functional.prelu(tx.transpose(1, 2), twt)
        np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-12)
        (y * y).sum().backward()
        (ty * ty).sum().backward()
        for ours, theirs in ((x, tx), (wt, twt)):
            assert (ours.grad is None) == (theirs.grad is None)
            if theirs.grad is not None:
                np.testing.assert_allclose(host(ours.grad), theirs.grad.numpy(), rtol=1e-12)


def test_second_derivatives_equal_torch_and_gradcheck(device, rng):
    torch = pytest.importorskip("torch")
    a, w = rng.standard_normal((3, 2, 4)), rng.uniform(0.1, 0.5, (2,))
    x, wt = lucid.tensor(a, device=device, requires_grad=True), lucid.tensor(w, device=device, requires_grad=True)
    tx, twt = torch.tensor(a, requires_grad=True), torch.tensor(w, requires_grad=True)
    gx, gw = lucid.autograd.grad((F.prelu(x, wt) ** 2).sum(), (x, wt), create_graph=True)
    tgx, tgw = torch.autograd.grad((torch.nn.functional.prelu(tx, twt) ** 2).sum(), (tx, twt), create_graph=True)
    hx, hw = lucid.autograd.grad((gx * gx).sum() + gw.sum(), (x, wt))
    thx, thw = torch.autograd.grad((tgx * tgx).sum() + tgw.sum(), (tx, twt))
    np.testing.assert_allclose(host(hx), thx.numpy(), rtol=1e-12)
    np.testing.assert_allclose(host(hw), thw.numpy(), rtol=1e-12)
    a[np.abs(a) < 0.05] = 0.5
    args = (lucid.tensor(a, device=device, requires_grad=True), lucid.tensor(w, device=device, requires_grad=True))
    assert gradcheck(F.prelu, args)
    assert gradgradcheck(F.prelu, args)


def test_errors_as_torch(device):
    """Mixed dtypes (PyTorch does not promote here) and one weight per element of a 1-D input (one channel)."""
    x = lucid.randn(2, 3, device=device)
    with pytest.raises(RuntimeError, match=r"prelu: the input \(float32\) and the weight \(float64\)"):
        F.prelu(x, lucid.ones(3, dtype=lucid.float64, device=device))
    with pytest.raises(RuntimeError, match="has 1 channels"):
        F.prelu(lucid.randn(5, device=device), lucid.ones(5, device=device))
