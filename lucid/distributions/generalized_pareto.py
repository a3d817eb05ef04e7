"""The generalised Pareto distribution."""

from __future__ import annotations

import math

from .. import ops
from .._tensor import Tensor
from . import constraints
from .distribution import Distribution
from .utils import _is_number, _size, broadcast_all

__all__ = ["GeneralizedPareto"]

_ZERO_ATOL = 1e-8  # a concentration this close to 0 takes the exponential limit (PyTorch's isclose(c, 0))


class GeneralizedPareto(Distribution):
    """Generalised Pareto distributions of ``loc``, ``scale`` and ``concentration`` ``c`` (survival function
    ``(1 + c z)^(-1/c)`` of ``z = (x - loc) / scale``; the exponential at ``c = 0``, a uniform at ``c = -1``).
    ``rsample`` is ``icdf(u)`` for uniform ``u``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args: bool | None = None) -> None:
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        numbers = _is_number(loc) and _is_number(scale) and _is_number(concentration)
        super().__init__(() if numbers else self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(GeneralizedPareto, _instance)
        batch_shape = _size(batch_shape)
        new.loc, new.scale = self.loc.expand(batch_shape), self.scale.expand(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        return self._finish_expand(new, GeneralizedPareto, batch_shape)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        upper = ops.where(self.concentration < 0, self.loc - self.scale / self.concentration, math.inf)
        return constraints.interval(self.loc, upper)

    def _z(self, x):
        return (x - self.loc) / self.scale

    def _safe_concentration(self) -> tuple:
        """``(c == 0, c with 1 in place of 0)``: the zero case is computed apart, without dividing by 0."""
        eq_zero = self.concentration.abs() <= _ZERO_ATOL
        return eq_zero, ops.where(eq_zero, 1.0, self.concentration)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        y = 1 / safe_conc + 1
        where_nonzero = ops.where(y == 0, y, y * (safe_conc * z).log1p())
        return -self.scale.log() - ops.where(eq_zero, z, where_nonzero)

    def log_survival_function(self, value):
        """``log P(X > value)``."""
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        return ops.where(eq_zero, -z, -(safe_conc * z).log1p() / safe_conc)

    def log_cdf(self, value):
        """``log P(X <= value)``."""
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value):
        return self.log_cdf(value).exp()

    def icdf(self, value):
        eq_zero, safe_conc = self._safe_concentration()
        logu = (-value).log1p()
        where_nonzero = self.loc + self.scale / safe_conc * (-safe_conc * logu).expm1()
        return ops.where(eq_zero, self.loc - self.scale * logu, where_nonzero)

    def rsample(self, sample_shape=()) -> Tensor:
        u = ops.rand(tuple(self._extended_shape(sample_shape)), dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u)

    @property
    def mean(self) -> Tensor:
        """``loc + scale / (1 - c)``, NaN where ``c >= 1``."""
        valid = self.concentration < 1
        safe_conc = ops.where(valid, self.concentration, 0.5)
        return ops.where(valid, self.loc + self.scale / (1 - safe_conc), math.nan)

    @property
    def variance(self) -> Tensor:
        """NaN where ``c >= 1/2``."""
        valid = self.concentration < 0.5
        safe_conc = ops.where(valid, self.concentration, 0.25)
        return ops.where(valid, self.scale**2 / ((1 - safe_conc) ** 2 * (1 - 2 * safe_conc)), math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    def entropy(self):
        return (self.scale.log() + self.concentration + 1).expand(tuple(self._batch_shape))
