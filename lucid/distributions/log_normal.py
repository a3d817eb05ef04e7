"""The log-normal distribution: ``exp`` of a normal one."""

from __future__ import annotations

from .._tensor import Tensor
from ..autograd import grad_mode
from . import constraints
from .distribution import Distribution
from .normal import Normal
from .utils import _size

__all__ = ["LogNormal"]


class LogNormal(Distribution):
    """``Y = exp(X)`` with ``X ~ Normal(loc, scale)`` (``base_dist``). PyTorch builds it as a
    ``TransformedDistribution`` of the normal through ``ExpTransform``; lucid writes the same formulas
    directly (``log_prob(y) = base.log_prob(log y) - log y``, ``cdf(y) = base.cdf(log y)``,
    ``icdf(p) = exp(base.icdf(p))``) and keeps ``base_dist`` for code that reads it."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        self.base_dist = Normal(loc, scale, validate_args=validate_args)
        super().__init__(self.base_dist.batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LogNormal, _instance)
        batch_shape = _size(batch_shape)
        new.base_dist = self.base_dist.expand(batch_shape)
        return self._finish_expand(new, LogNormal, batch_shape)

    @property
    def loc(self) -> Tensor:
        return self.base_dist.loc

    @property
    def scale(self) -> Tensor:
        return self.base_dist.scale

    @property
    def mean(self) -> Tensor:
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self) -> Tensor:
        return (self.loc - self.scale.square()).exp()

    @property
    def variance(self) -> Tensor:
        scale_sq = self.scale.pow(2)
        return scale_sq.expm1() * (2 * self.loc + scale_sq).exp()

    def sample(self, sample_shape=()):
        with grad_mode.no_grad():
            return self.base_dist.sample(sample_shape).exp()

    def rsample(self, sample_shape=()) -> Tensor:
        return self.base_dist.rsample(sample_shape).exp()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        x = value.log()
        return self.base_dist.log_prob(x) - x

    def cdf(self, value):
        x = value.log()
        if self._validate_args:
            self.base_dist._validate_sample(x)
        return self.base_dist.cdf(x)

    def icdf(self, value):
        return self.base_dist.icdf(value).exp()

    def entropy(self):
        return self.base_dist.entropy() + self.loc
