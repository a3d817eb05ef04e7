"""Dropout modules: active in training mode only (``module.train()`` / ``module.eval()``)."""

from __future__ import annotations

from ..._tensor import Tensor
from ..functional.dropout import (
    alpha_dropout,
    drop_block,
    drop_path,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
)
from ..module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "DropPath",
           "DropBlock"]


class _DropoutNd(Module):
    """Base: checks and stores ``p`` and ``inplace``; ``forward`` calls ``function`` with ``self.training``."""

    function = None

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self).function(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` while training, scaling the rest by ``1 / (1 - p)``."""

    function = staticmethod(dropout)


class Dropout1d(_DropoutNd):
    """Zero whole channels of ``(N, C, L)`` / ``(C, L)`` inputs while training."""

    function = staticmethod(dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels of ``(N, C, H, W)`` / ``(C, H, W)`` inputs while training."""

    function = staticmethod(dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of ``(N, C, D, H, W)`` / ``(C, D, H, W)`` inputs while training."""

    function = staticmethod(dropout3d)


class AlphaDropout(_DropoutNd):
    """Alpha dropout (keeps SELU activations at mean 0, variance 1) while training."""

    function = staticmethod(alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels while training."""

    function = staticmethod(feature_alpha_dropout)


class DropPath(Module):
    """Stochastic depth: drop the residual branch of each sample with probability ``drop_prob``
    while training (default 0.1 and ``scale_by_keep`` as upstream Lucid)."""

    def __init__(self, drop_prob: float = 0.1, scale_by_keep: bool = True) -> None:
        super().__init__()
        if not 0.0 <= drop_prob <= 1.0:
            raise ValueError(f"DropPath: drop_prob has to be between 0 and 1, but got {drop_prob}")
        self.drop_prob, self.scale_by_keep = drop_prob, scale_by_keep

    def forward(self, input: Tensor) -> Tensor:
        return drop_path(input, self.drop_prob, self.training, self.scale_by_keep)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


class DropBlock(Module):
    """DropBlock on ``(N, C, H, W)`` maps while training: zero ``block_size`` x ``block_size``
    blocks, about a fraction ``p`` of each map (signature as upstream Lucid)."""

    def __init__(self, block_size: int, p: float = 0.1, eps: float = 1e-7) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"DropBlock: p has to be between 0 and 1, but got {p}")
        self.block_size, self.p, self.eps = block_size, p, eps

    def forward(self, input: Tensor) -> Tensor:
        return drop_block(input, self.block_size, self.p, self.eps, self.training)

    def extra_repr(self) -> str:
        return f"block_size={self.block_size}, p={self.p}"
