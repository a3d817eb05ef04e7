"""Gradients of convolutions as functions, with ``torch.nn.grad``'s names: ``conv{1,2,3}d_input`` (the gradient
with respect to the input) and ``conv{1,2,3}d_weight`` (with respect to the weight) for a given output gradient.

Each runs lucid's autograd through the convolution, so the result is exactly the gradient ``backward`` would
give and is itself differentiable (in the weight, the input and ``grad_output``) while grad mode is on."""

from __future__ import annotations

from .._tensor import Tensor
from ..autograd import backprop, grad_mode
from ..ops.creation import zeros
from .functional.conv import conv1d, conv2d, conv3d

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]


def _gradient(conv, name: str, x: Tensor, w: Tensor, wrt: Tensor, grad_output: Tensor, options) -> Tensor:
    """The gradient of ``conv(x, w, **options)`` with respect to ``wrt`` (``x`` or ``w``, a zero leaf of the
    requested size: a convolution is linear in each argument, so its value does not matter)."""
    with grad_mode.enable_grad():
        out = conv(x, w, None, **options)
    if tuple(out.shape) != tuple(grad_output.shape):
        raise RuntimeError(f"{name}: grad_output has shape {tuple(grad_output.shape)} but the convolution of an "
                           f"input of shape {tuple(x.shape)} with a weight of shape {tuple(w.shape)} gives "
                           f"{tuple(out.shape)}; check the sizes, stride, padding and dilation")
    keep = grad_mode.is_grad_enabled() and any(t.requires_grad for t in (x, w, grad_output) if t is not wrt)
    return backprop.grad(out, wrt, grad_output, create_graph=keep)[0]


def _functions(conv, dims: int):
    def input_grad(input_size, weight: Tensor, grad_output: Tensor, stride=1, padding=0, dilation=1,
                   groups: int = 1) -> Tensor:
        x = zeros(tuple(input_size), dtype=weight.dtype, device=weight.device, requires_grad=True)
        options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        return _gradient(conv, input_grad.__name__, x, weight, x, grad_output, options)

    def weight_grad(input: Tensor, weight_size, grad_output: Tensor, stride=1, padding=0, dilation=1,
                    groups: int = 1) -> Tensor:
        w = zeros(tuple(weight_size), dtype=input.dtype, device=input.device, requires_grad=True)
        options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        return _gradient(conv, weight_grad.__name__, input, w, w, grad_output, options)

    for fn, wrt in ((input_grad, "input"), (weight_grad, "weight")):
        fn.__name__ = fn.__qualname__ = f"conv{dims}d_{wrt}"
        fn.__doc__ = (f"The gradient of ``conv{dims}d`` with respect to its {wrt} (of the given size where that is "
                      f"the unknown) for ``grad_output``, with the convolution's stride, padding, dilation, groups.")
    return input_grad, weight_grad


conv1d_input, conv1d_weight = _functions(conv1d, 1)
conv2d_input, conv2d_weight = _functions(conv2d, 2)
conv3d_input, conv3d_weight = _functions(conv3d, 3)
