"""The geometric distribution: failures before the first success."""

from __future__ import annotations

from .. import ops
from .._tensor import Tensor
from .._typeinfo import finfo
from ..autograd import grad_mode
from . import constraints
from .bernoulli import _bce_with_logits
from .distribution import Distribution
from .utils import BinaryProbs, _size, broadcast_all

__all__ = ["Geometric"]


class Geometric(BinaryProbs, Distribution):
    """The number of failures before the first success of independent trials that succeed with probability
    ``probs`` (in ``(0, 1]``) or ``sigmoid(logits)``: mass ``(1 - p)^k p`` on ``k = 0, 1, ...``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        self._set_probs_or_logits(probs, logits)
        super().__init__(self._param.shape, validate_args=validate_args)
        if self._validate_args and probs is not None:  # beyond unit_interval: p = 0 never succeeds
            value = self.probs
            if not bool((value > 0).all()):
                raise ValueError(f"Expected parameter probs ({type(value).__name__} of shape {tuple(value.shape)}) of "
                                 f"distribution {self!r} to be positive but found invalid values:\n{value}")

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Geometric, _instance)
        batch_shape = _size(batch_shape)
        self._expand_probs_or_logits(new, batch_shape)
        return self._finish_expand(new, Geometric, batch_shape)

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return ops.zeros_like(self.probs)

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()):
        """``floor(log U / log(1 - p))`` for ``U`` uniform on ``[tiny, 1)``."""
        shape = tuple(self._extended_shape(sample_shape))
        with grad_mode.no_grad():
            probs = self.probs
            u = ops.empty(shape, dtype=probs.dtype, device=probs.device).uniform_(finfo(probs.dtype).tiny, 1)
            return (u.log() / (-probs).log1p()).floor()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        probs = ops.where((probs == 1) & (value == 0), 0.0, probs)  # 0 * log(0) = 0 at p = 1
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self):
        return _bce_with_logits(self.logits, self.probs) / self.probs
