"""The multinomial distribution: counts of ``total_count`` categorical draws."""

from __future__ import annotations

import math

from .. import dtypes as _dt
from .. import ops
from .._tensor import Tensor
from ..autograd import grad_mode
from . import constraints
from .binomial import Binomial
from .categorical import Categorical
from .distribution import Distribution
from .utils import _size

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    """Counts per category of ``total_count`` independent draws from ``Categorical(probs, logits)`` (event shape
    ``(K,)``; ``probs``/``logits`` are normalised on the last dimension). ``total_count`` is one int for the
    whole batch, needed by ``sample`` and ``entropy``; ``log_prob`` takes the count from the value itself. No
    ``enumerate_support`` (as PyTorch)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count: int = 1, probs=None, logits=None, validate_args: bool | None = None) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs, validate_args=False)  # probs: checked
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = _size(batch_shape)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        new._binomial = Binomial(total_count=self.total_count, probs=new.probs, validate_args=False)
        return self._finish_expand(new, Multinomial, batch_shape)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self) -> Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        """Counts of the parameters' floating dtype: ``total_count`` categorical draws per event, added up by a
        scatter-add along the categories (PyTorch's algorithm)."""
        sample_shape = _size(sample_shape)
        with grad_mode.no_grad():
            draws = self._categorical.sample((self.total_count,) + tuple(sample_shape))  # [n, S, B]
            draws = ops.movedim(draws, 0, -1)  # [S, B, n]
            shape = tuple(self._extended_shape(sample_shape))
            counts = ops.zeros(shape, dtype=_dt.int64, device=draws.device)
            counts = counts.scatter_add(-1, draws, ops.ones_like(draws))
            return counts.to(self.probs.dtype)

    def entropy(self):
        """``n H(Categorical) - log n! + sum_k E[log x_k!]``, the last from each count's binomial marginal (``log n!``
        in double precision; PyTorch takes it in float32)."""
        cat_entropy = self._categorical.entropy()
        term1 = self.total_count * cat_entropy - math.lgamma(self.total_count + 1)
        support = self._binomial.enumerate_support(expand=False)[1:]
        binomial_probs = self._binomial.log_prob(support).exp()
        weights = (support + 1).lgamma()
        return term1 + (binomial_probs * weights).sum(0).sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = ops.broadcast_tensors(self.logits, value)
        log_factorial_n = (value.sum(-1) + 1).lgamma()
        log_factorial_xs = (value + 1).lgamma().sum(-1)
        logits = ops.where((value == 0) & (logits == -math.inf), 0.0, logits)  # 0 * log 0 = 0
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)
