"""Dropout modules: active in training mode only (``module.train()`` / ``module.eval()``)."""

from __future__ import annotations

from ..functional import dropouts as F
from .functional_layer import FunctionalLayer

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "DropPath",
           "DropBlock"]


class _DropoutNd(FunctionalLayer):
    """Base of the ``p``/``inplace`` dropouts: checks ``p``; the repr always shows ``inplace``, as PyTorch's."""

    takes_training = True

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 and 1, but got {p}")
        super().__init__(p=p, inplace=inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` while training, scaling the rest by ``1 / (1 - p)``."""

    function = staticmethod(F.dropout)


class Dropout1d(_DropoutNd):
    """Zero whole channels of ``(N, C, L)`` / ``(C, L)`` inputs while training."""

    function = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels of ``(N, C, H, W)`` / ``(C, H, W)`` inputs while training."""

    function = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of ``(N, C, D, H, W)`` / ``(C, D, H, W)`` inputs while training."""

    function = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Alpha dropout (keeps SELU activations at mean 0, variance 1) while training."""

    function = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels while training."""

    function = staticmethod(F.feature_alpha_dropout)


class DropPath(FunctionalLayer):
    """Stochastic depth: drop the residual branch of each sample with probability ``drop_prob``
    while training (default 0.1 and ``scale_by_keep`` as upstream Lucid)."""

    function = staticmethod(F.drop_path)
    takes_training = True
    shown = ("drop_prob",)

    def __init__(self, drop_prob: float = 0.1, scale_by_keep: bool = True) -> None:
        if not 0.0 <= drop_prob <= 1.0:
            raise ValueError(f"DropPath: drop_prob has to be between 0 and 1, but got {drop_prob}")
        super().__init__(drop_prob=drop_prob, scale_by_keep=scale_by_keep)


class DropBlock(FunctionalLayer):
    """DropBlock on ``(N, C, H, W)`` maps while training: zero ``block_size`` x ``block_size``
    blocks, about a fraction ``p`` of each map (signature as upstream Lucid)."""

    function = staticmethod(F.drop_block)
    takes_training = True
    shown = ("block_size", "p")

    def __init__(self, block_size: int, p: float = 0.1, eps: float = 1e-7) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"DropBlock: p has to be between 0 and 1, but got {p}")
        super().__init__(block_size=block_size, p=p, eps=eps)
