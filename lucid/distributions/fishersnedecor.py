"""The Fisher-Snedecor (F) distribution."""

from __future__ import annotations

import math

from .. import ops
from .._tensor import Tensor
from .._typeinfo import finfo
from . import constraints
from .distribution import Distribution
from .gamma import Gamma
from .utils import _is_number, _size, broadcast_all

__all__ = ["FisherSnedecor"]


class FisherSnedecor(Distribution):
    """F distributions with ``df1`` and ``df2`` degrees of freedom: ``X1 / X2`` for ``Xi ~ Gamma(dfi / 2, dfi)``
    (reparameterised through the gamma draws' implicit gradients, as PyTorch's)."""

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args: bool | None = None) -> None:
        self.df1, self.df2 = broadcast_all(df1, df2)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=False)  # (df1 and df2 are checked below)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=False)
        batch_shape = () if _is_number(df1) and _is_number(df2) else self.df1.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(FisherSnedecor, _instance)
        batch_shape = _size(batch_shape)
        new.df1, new.df2 = self.df1.expand(batch_shape), self.df2.expand(batch_shape)
        new._gamma1, new._gamma2 = self._gamma1.expand(batch_shape), self._gamma2.expand(batch_shape)
        return self._finish_expand(new, FisherSnedecor, batch_shape)

    @property
    def mean(self) -> Tensor:
        """``df2 / (df2 - 2)``, NaN where ``df2 <= 2``."""
        valid = self.df2 > 2
        df2 = ops.where(valid, self.df2, 3.0)
        return ops.where(valid, df2 / (df2 - 2), math.nan)

    @property
    def mode(self) -> Tensor:
        """``(df1 - 2) / df1 * df2 / (df2 + 2)``, NaN where ``df1 <= 2``."""
        mode = (self.df1 - 2) / self.df1 * self.df2 / (self.df2 + 2)
        return ops.where(self.df1 <= 2, math.nan, mode)

    @property
    def variance(self) -> Tensor:
        """NaN where ``df2 <= 4``."""
        valid = self.df2 > 4
        df2 = ops.where(valid, self.df2, 5.0)
        variance = 2 * df2.pow(2) * (self.df1 + df2 - 2) / (self.df1 * (df2 - 2).pow(2) * (df2 - 4))
        return ops.where(valid, variance, math.nan)

    def rsample(self, sample_shape=()) -> Tensor:
        tiny = finfo(self.df1.dtype).tiny
        x1 = self._gamma1.rsample(sample_shape)
        x2 = self._gamma2.rsample(sample_shape).clamp(min=tiny)
        return (x1 / x2).clamp(min=tiny)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        ct1, ct2, ct3 = self.df1 * 0.5, self.df2 * 0.5, self.df1 / self.df2
        t1 = (ct1 + ct2).lgamma() - ct1.lgamma() - ct2.lgamma()
        t2 = ct1 * ct3.log() + (ct1 - 1) * value.log()
        t3 = (ct1 + ct2) * (ct3 * value).log1p()
        return t1 + t2 - t3
