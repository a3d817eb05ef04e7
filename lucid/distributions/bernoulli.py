"""The Bernoulli distribution, parameterised by ``probs`` or ``logits``."""

from __future__ import annotations

import math

from .. import ops
from .._tensor import Tensor
from ..autograd import grad_mode
from . import constraints
from .exp_family import ExponentialFamily
from .utils import BinaryProbs, _size, broadcast_all

__all__ = ["Bernoulli"]


def _softplus(x: Tensor) -> Tensor:
    return ops.logaddexp(x, 0.0)


def _bce_with_logits(logits: Tensor, target) -> Tensor:
    """``binary_cross_entropy_with_logits(logits, target, reduction="none")``: ``softplus(x) - x * y``."""
    return _softplus(logits) - logits * target


class Bernoulli(BinaryProbs, ExponentialFamily):
    """0/1 variables that are 1 with probability ``probs`` (or ``sigmoid(logits)``): give exactly one of
    them; the other is derived on first use and kept."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        self._set_probs_or_logits(probs, logits)
        super().__init__(self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Bernoulli, _instance)
        batch_shape = _size(batch_shape)
        self._expand_probs_or_logits(new, batch_shape)
        return self._finish_expand(new, Bernoulli, batch_shape)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        """1 where ``probs > 0.5``, 0 where below, NaN at exactly 0.5 (as PyTorch)."""
        probs = self.probs
        return ops.where(probs == 0.5, math.nan, (probs >= 0.5).to(probs.dtype))

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        with grad_mode.no_grad():
            probs = self.probs
            u = ops.rand(shape, dtype=probs.dtype, device=probs.device)
            return (u < probs.expand(shape)).to(probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_bce_with_logits(logits, value)

    def entropy(self):
        return _bce_with_logits(self.logits, self.probs)

    def enumerate_support(self, expand: bool = True):
        values = ops.arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values

    @property
    def _natural_params(self) -> tuple:
        return (ops.logit(self.probs),)

    def _log_normalizer(self, x):
        return x.exp().log1p()


