"""The categorical distribution over ``0 .. K-1``, parameterised by ``probs`` or ``logits``."""

from __future__ import annotations

import math

from .. import dtypes as _dt
from .. import ops
from .._tensor import Tensor
from .._typeinfo import finfo
from ..autograd import grad_mode
from . import constraints
from .distribution import Distribution
from .utils import _size, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical"]


class Categorical(Distribution):
    """Categories ``0 .. K-1`` drawn with weights ``probs`` (non-negative, normalised on the last dimension)
    or ``logits`` (unnormalised log-probabilities, normalised by ``logsumexp``); the last dimension indexes
    the categories, the others are the batch. Samples are int64 indices, drawn by inverting each row's
    cumulative distribution at uniforms (no host synchronisation)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        super().__init__(self._param.shape[:-1], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = _size(batch_shape)
        param_shape = tuple(batch_shape) + (self._num_events,)
        if "probs" in self.__dict__:
            new.probs = new._param = self.probs.expand(param_shape)
        if "logits" in self.__dict__:
            new.logits = new._param = self.logits.expand(param_shape)
        new._num_events = self._num_events
        return self._finish_expand(new, Categorical, batch_shape)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self) -> Tensor:
        """NaN (categories have no mean), of shape ``batch_shape``."""
        return ops.full(tuple(self._extended_shape()), math.nan, dtype=self.probs.dtype, device=self.probs.device)

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(dim=-1)

    @property
    def variance(self) -> Tensor:
        """NaN, of shape ``batch_shape``."""
        return ops.full(tuple(self._extended_shape()), math.nan, dtype=self.probs.dtype, device=self.probs.device)

    def sample(self, sample_shape=()):
        """int64 indices of shape ``sample_shape + batch_shape``, drawn as PyTorch draws them (``multinomial``
        with replacement, so seeded alike the samples are PyTorch's). PyTorch raises for an empty
        ``sample_shape`` product (``multinomial`` of 0 samples); lucid returns the empty tensor."""
        shape = tuple(self._extended_shape(sample_shape))
        n = math.prod(_size(sample_shape))
        with grad_mode.no_grad():
            probs = self.probs.reshape(-1, self._num_events)
            if n == 0:
                return ops.zeros(shape, dtype=_dt.int64, device=probs.device)
            return ops.multinomial(probs, n, replacement=True).mT.reshape(shape)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.to(_dt.int64).unsqueeze(-1)
        value, log_pmf = ops.broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):
        logits = self.logits.clamp(min=finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True):
        values = ops.arange(self._num_events, dtype=_dt.int64, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values
