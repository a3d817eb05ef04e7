"""The half-normal distribution: ``|X|`` for a centred normal ``X``."""

from __future__ import annotations

import math

from .._tensor import Tensor
from .folded import Folded
from .normal import Normal
from .utils import _size

__all__ = ["HalfNormal"]


class HalfNormal(Folded):
    """``|X|`` for ``X ~ Normal(0, scale)``."""

    def __init__(self, scale, validate_args: bool | None = None) -> None:
        super().__init__(Normal(0, scale, validate_args=False), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(HalfNormal, _instance)
        return super().expand(_size(batch_shape), _instance=new)

    @property
    def mean(self) -> Tensor:
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self) -> Tensor:
        return self.scale.pow(2) * (1 - 2 / math.pi)
