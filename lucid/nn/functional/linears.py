"""Affine maps: ``linear`` (one fused op: a single GEMM plus the bias) and ``bilinear``."""

from __future__ import annotations

import math

from ..._tensor import Tensor
from ...amp.autocast import casts_for
from ...autograd.function import LOWER, Function
from ...nested._dispatch import nested_aware
from ...ops.complexes import conj_if_complex

__all__ = ["linear", "bilinear"]


class LinearFunction(Function):
    """``y = x @ weight.T + bias`` for ``x`` of shape ``(..., in)``: the leading dimensions are
    folded into one GEMM, and backward is two GEMMs and a column sum (no broadcast reductions)."""
    autocast_policy = LOWER  # see lucid.amp.autocast

    def forward(self, x, weight, bias):
        xp = self.xp
        lead = tuple(x.shape[:-1])
        y = xp.matmul(xp.reshape(x, (math.prod(lead), x.shape[-1])), xp.matrix_transpose(weight))
        if bias is not None:  # before rounding a wider GEMM result, as PyTorch's addmm: one rounding
            y += bias
        if y.dtype != x.dtype:  # ml_dtypes' bfloat16 GEMM gives float32
            y = xp.astype(y, x.dtype)
        self.save_for_backward(x, weight)
        if x.ndim == 2:  # PyTorch's node: its addmm / mm, else the view of one back to the input's leading shape
            self.torch_name = "Mm" if bias is None else "Addmm"
        else:
            self.torch_name = "View" if bias is not None else "Squeeze" if x.ndim == 1 else "UnsafeView"
        return xp.reshape(y, lead + (weight.shape[0],))

    def backward(self, g):
        x, weight = self.saved_tensors
        need = self.needs_input_grad
        g2 = g.reshape(-1, weight.shape[0])
        gx = (g2 @ conj_if_complex(weight)).reshape(x.shape) if need[0] else None
        gw = g2.mT @ conj_if_complex(x).reshape(-1, weight.shape[1]) if need[1] else None
        gb = g2.sum(dim=0) if need[2] else None
        return gx, gw, gb


def _check_same(name: str, *tensors) -> None:
    """Floating operands of one dtype (PyTorch refuses mixed dtypes here too)."""
    first = tensors[0]
    for t in tensors:
        if t is None:
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} expects Tensors, got {type(t).__name__}")
        if t.dtype is not first.dtype and not casts_for(t):
            raise RuntimeError(
                f"{name}: all operands must have the same dtype, got {first.dtype.name} and {t.dtype.name}; "
                f"cast one of them (e.g. x.to(weight.dtype))"
            )
    if first.dtype.kind not in "fc":
        raise TypeError(f"{name} needs floating or complex tensors, got {first.dtype.name}")


@nested_aware
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` with ``weight`` of shape ``(out_features, in_features)`` and
    ``input`` of shape ``(..., in_features)`` (a 1-D ``weight`` gives one output per row, as PyTorch)."""
    _check_same("linear", input, weight, bias)
    if weight.ndim == 1 or input.ndim == 0:
        out = input @ (weight if weight.ndim == 1 else weight.mT)
        return out if bias is None else out + bias
    if weight.ndim != 2:
        raise RuntimeError(f"linear: weight must be 1-D or 2-D, got shape {weight.shape}")
    if input.shape[-1] != weight.shape[1]:
        raise RuntimeError(
            f"linear: input has {input.shape[-1]} features (shape {input.shape}) but weight of shape "
            f"{weight.shape} expects {weight.shape[1]}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        return LinearFunction.apply(input, weight, None) + bias  # a bias that broadcasts some other way
    return LinearFunction.apply(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., o] = sum_ij input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]``: one GEMM
    of ``input1`` against ``weight`` arranged as ``(in1, out * in2)``, then a product-sum with ``input2``."""
    _check_same("bilinear", input1, input2, weight, bias)
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear: weight must be 3-D (out, in1, in2), got shape {weight.shape}")
    out, in1, in2 = weight.shape
    if input1.shape[-1] != in1 or input2.shape[-1] != in2 or input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(
            f"bilinear: inputs of shapes {input1.shape} and {input2.shape} do not fit weight of shape "
            f"{weight.shape} (they need (..., {in1}) and (..., {in2}) with the same leading dimensions)"
        )
    lead = input1.shape[:-1]
    left = input1.reshape(-1, in1) @ weight.permute(1, 0, 2).reshape(in1, out * in2)
    y = (left.reshape(-1, out, in2) * input2.reshape(-1, 1, in2)).sum(dim=-1).reshape(lead + (out,))
    return y if bias is None else y + bias
