"""``linear_cross_entropy`` (PyTorch 2.13): ``cross_entropy(linear(input, linear_weight, linear_bias), target)``
with the class dimension first in ``linear_weight`` ``(C, *out_features, in_features)``."""

from __future__ import annotations

import dataclasses
import math
import warnings

from ..._tensor import Tensor
from .linears import linear
from .loss import cross_entropy

__all__ = ["linear_cross_entropy"]


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """PyTorch's settings for its chunked ``linear_cross_entropy`` (which never builds all the logits at
    once). Accepted for compatibility; lucid always computes the reference form (the logits, then
    ``cross_entropy``), so the values and gradients are the same but the memory saving is not there."""

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *, linear_bias: Tensor | None = None,
                         weight: Tensor | None = None, reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options: LinearCrossEntropyOptions | None = None) -> Tensor:
    """Cross-entropy of the logits ``input @ linear_weight^T (+ linear_bias)`` shaped ``(*N, C, *out_features)``;
    ``ignore_index`` None means -100 for class indices (and must stay None for class probabilities).
    ``options`` is accepted and ignored (see ``LinearCrossEntropyOptions``)."""
    if not 1 <= input.ndim <= 2:
        raise RuntimeError(f"linear_cross_entropy: expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError(f"linear_cross_entropy: expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.ndim}")
    in_features = input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(f"linear_cross_entropy: expected equal input and linear_weight last dimensions "
                           f"(in_features), got {in_features} and {linear_weight.shape[-1]}")
    classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (classes, *out_features):
        raise RuntimeError(f"linear_cross_entropy: expected linear_bias shape {(classes, *out_features)}, got "
                           f"{tuple(linear_bias.shape)}")
    if out_features and input.ndim == 1:
        raise RuntimeError(f"linear_cross_entropy: K-dimensional loss defined by linear_weight shape "
                           f"{tuple(linear_weight.shape)} requires batched input (N, {in_features}), got "
                           f"{tuple(input.shape)}")
    logits_shape = (*input.shape[:-1], classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("linear_cross_entropy: ignore_index cannot be specified when target contains probabilities")
    if options is not None and not isinstance(options, LinearCrossEntropyOptions):
        warnings.warn(f"linear_cross_entropy: options of type {type(options).__name__} ignored", stacklevel=2)
    size = classes * math.prod(out_features)
    bias = None if linear_bias is None else linear_bias.reshape(size)
    logits = linear(input, linear_weight.reshape(size, in_features), bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight, ignore_index=-100 if ignore_index is None else ignore_index,
                         reduction=reduction, label_smoothing=label_smoothing)
