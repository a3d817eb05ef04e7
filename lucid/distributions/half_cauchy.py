"""The half-Cauchy distribution: ``|X|`` for a centred Cauchy ``X``."""

from __future__ import annotations

import math

from .. import ops
from .._tensor import Tensor
from .cauchy import Cauchy
from .folded import Folded
from .utils import _size

__all__ = ["HalfCauchy"]


class HalfCauchy(Folded):
    """``|X|`` for ``X ~ Cauchy(0, scale)``."""

    def __init__(self, scale, validate_args: bool | None = None) -> None:
        super().__init__(Cauchy(0, scale, validate_args=False), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(HalfCauchy, _instance)
        return super().expand(_size(batch_shape), _instance=new)

    @property
    def mean(self) -> Tensor:
        return ops.full(tuple(self._extended_shape()), math.inf, dtype=self.scale.dtype, device=self.scale.device)

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance
