"""Folding an eval-mode BatchNorm into the convolution or linear layer before it (as
``torch.nn.utils.fusion``): ``y = bn(conv(x))`` becomes one layer with ``w' = w * gamma / sqrt(var + eps)``
and ``b' = (b - mean) * gamma / sqrt(var + eps) + beta``."""

from __future__ import annotations

import copy

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...ops.creation import ones_like, zeros_like
from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]


def _check_eval(layer, bn) -> None:
    if layer.training or bn.training:
        raise RuntimeError("fusion is only for modules in eval mode: call .eval() on both first")
    if bn.running_mean is None or bn.running_var is None:
        raise RuntimeError("fusion needs the BatchNorm's running statistics (track_running_stats=True)")


def fuse_conv_bn_weights(conv_w: Tensor, conv_b: Tensor | None, bn_rm: Tensor, bn_rv: Tensor, bn_eps: float,
                         bn_w: Tensor | None, bn_b: Tensor | None, transpose: bool = False) -> tuple:
    """The fused ``(weight, bias)`` Parameters; ``transpose`` for a ConvTranspose weight (outputs on dim 1)."""
    with no_grad():
        bias_dtype = conv_w.dtype if conv_b is None else conv_b.dtype
        b = zeros_like(bn_rm) if conv_b is None else conv_b
        gamma = ones_like(bn_rm) if bn_w is None else bn_w
        beta = zeros_like(bn_rm) if bn_b is None else bn_b
        rsqrt = (bn_rv + bn_eps).rsqrt()
        shape = ([1, -1] if transpose else [-1, 1]) + [1] * (conv_w.ndim - 2)
        weight = (conv_w * (gamma * rsqrt).reshape(shape)).to(dtype=conv_w.dtype)
        bias = ((b - bn_rm) * rsqrt * gamma + beta).to(dtype=bias_dtype)
    return Parameter(weight, conv_w.requires_grad), Parameter(bias, b.requires_grad)


def fuse_conv_bn_eval(conv, bn, transpose: bool = False):
    """A copy of ``conv`` (eval mode) that computes ``bn(conv(x))`` of the eval-mode ``bn``."""
    _check_eval(conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_linear_bn_weights(linear_w: Tensor, linear_b: Tensor | None, bn_rm: Tensor, bn_rv: Tensor, bn_eps: float,
                           bn_w: Tensor | None, bn_b: Tensor | None) -> tuple:
    """The fused ``(weight, bias)`` Parameters of a Linear followed by a BatchNorm1d (``bn_w``/``bn_b`` None: a
    BatchNorm with ``affine=False`` or ``bias=False``, as ``fuse_conv_bn_weights``)."""
    with no_grad():
        bias_dtype = linear_w.dtype if linear_b is None else linear_b.dtype
        b = zeros_like(bn_rm) if linear_b is None else linear_b
        gamma = ones_like(bn_rm) if bn_w is None else bn_w
        beta = zeros_like(bn_rm) if bn_b is None else bn_b
        scale = gamma * (bn_rv + bn_eps).rsqrt()
        weight = linear_w * scale.unsqueeze(-1).to(dtype=linear_w.dtype)
        bias = ((b - bn_rm) * scale + beta).to(dtype=bias_dtype)
    return Parameter(weight, linear_w.requires_grad), Parameter(bias, b.requires_grad)


def fuse_linear_bn_eval(linear, bn):
    """A copy of ``linear`` (eval mode) that computes ``bn(linear(x))`` of the eval-mode ``bn``
    (``bn.num_features`` equal to ``out_features``, or 1)."""
    _check_eval(linear, bn)
    if bn.num_features not in (linear.out_features, 1):
        raise RuntimeError(f"fuse_linear_bn_eval: the BatchNorm has {bn.num_features} features, the Linear "
                           f"{linear.out_features} outputs; they must match (or the BatchNorm have 1)")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused
