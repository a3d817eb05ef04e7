"""``lucid.nn.grad`` (torch.nn.grad): convolution gradients as functions, against torch's and differentiable."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
from lucid.autograd import gradcheck
from lucid.nn import grad as G

torch = pytest.importorskip("torch")

# (dims, input shape, weight shape, options): strides, paddings, dilations and groups that leave input rows unused
CASES = [
    (1, (2, 4, 11), (6, 2, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}),
    (2, (2, 3, 9, 8), (4, 3, 3, 2), {"stride": (2, 1), "padding": (1, 0), "dilation": 1, "groups": 1}),
    (3, (1, 2, 5, 6, 4), (2, 1, 2, 3, 2), {"stride": 1, "padding": 1, "dilation": (1, 2, 1), "groups": 2}),
]


@pytest.mark.parametrize("dims, x_shape, w_shape, options", CASES, ids=["1d", "2d", "3d"])
def test_conv_gradients_match_torch(device, rng, dims, x_shape, w_shape, options):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    out_shape = getattr(torch.nn.functional, f"conv{dims}d")(torch.tensor(x), torch.tensor(w), **options).shape
    g = rng.standard_normal(tuple(out_shape))
    theirs_in = getattr(torch.nn.grad, f"conv{dims}d_input")(x_shape, torch.tensor(w), torch.tensor(g), **options)
    theirs_w = getattr(torch.nn.grad, f"conv{dims}d_weight")(torch.tensor(x), w_shape, torch.tensor(g), **options)
    ours_in = getattr(G, f"conv{dims}d_input")(x_shape, lucid.tensor(w, device=device), lucid.tensor(g, device=device),
                                               **options)
    ours_w = getattr(G, f"conv{dims}d_weight")(lucid.tensor(x, device=device), w_shape, lucid.tensor(g, device=device),
                                               **options)
    np.testing.assert_allclose(ours_in.numpy(force=True), theirs_in.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours_w.numpy(force=True), theirs_w.numpy(), rtol=1e-10, atol=1e-12)
    assert not ours_in.requires_grad and not ours_w.requires_grad  # nothing asked for a graph


def test_conv_gradients_are_differentiable(device, rng):
    """Through the weight and grad_output (conv2d_input) and the input (conv2d_weight), float64 gradchecks."""
    x = lucid.tensor(rng.standard_normal((1, 2, 5, 5)), device=device, requires_grad=True)
    w = lucid.tensor(rng.standard_normal((3, 2, 3, 3)), device=device, requires_grad=True)
    g = lucid.tensor(rng.standard_normal((1, 3, 3, 3)), device=device, requires_grad=True)
    assert gradcheck(lambda w, g: G.conv2d_input((1, 2, 5, 5), w, g), (w, g))
    assert gradcheck(lambda x, g: G.conv2d_weight(x, (3, 2, 3, 3), g), (x, g))


def test_conv_gradient_of_wrong_grad_output_shape_says_so(device):
    w = lucid.zeros(3, 2, 3, 3, device=device, dtype=lucid.float64)
    with pytest.raises(RuntimeError, match=r"grad_output has shape \(1, 3, 4, 4\).*gives \(1, 3, 3, 3\)"):
        G.conv2d_input((1, 2, 5, 5), w, lucid.zeros(1, 3, 4, 4, device=device, dtype=lucid.float64))


def test_functional_grad_is_nn_grad():
    """``torch.nn.functional.grad`` is ``torch.nn.grad``: code reaches the functions through either."""
    assert torch.nn.functional.grad is torch.nn.grad
    assert lucid.nn.functional.grad is lucid.nn.grad
