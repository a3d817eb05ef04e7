"""``|X|`` for ``X`` symmetric about 0 (a normal or Cauchy with location 0): the base of HalfNormal and
HalfCauchy, whose density, cdf, quantiles and entropy follow from the base distribution's by folding."""

from __future__ import annotations

import math

from .. import ops
from .._tensor import Tensor
from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform

__all__ = ["Folded"]


class Folded(TransformedDistribution):
    """``|X|`` for ``X = base_dist``, symmetric about 0 with parameter ``scale``: twice its density on
    ``[0, inf)``, cdf ``2 F(x) - 1``, entropy less ``log 2``. Subclasses give the base and the moments."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, base_dist, validate_args: bool | None = None) -> None:
        super().__init__(base_dist, AbsTransform(), validate_args=validate_args)

    @property
    def scale(self) -> Tensor:
        return self.base_dist.scale

    @property
    def mode(self) -> Tensor:
        return ops.zeros_like(self.scale)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ops.where(value >= 0, self.base_dist.log_prob(value) + math.log(2), -math.inf)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)
