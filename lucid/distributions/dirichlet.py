"""The Dirichlet distribution over the probability simplex."""

from __future__ import annotations

from .. import ops
from .._tensor import Tensor
from . import constraints
from .exp_family import ExponentialFamily
from .gamma import _clamp_tiny, _standard_gamma
from .utils import _size

__all__ = ["Dirichlet"]


def _sample_dirichlet(concentration: Tensor) -> Tensor:
    """Dirichlet draws as normalised standard gamma draws. Reparameterised through the gammas' implicit
    gradients: an unbiased estimator of the same gradients as PyTorch's (which differentiates each
    coordinate's Beta marginal instead), not the same per-draw values."""
    gammas = _standard_gamma(concentration)
    return _clamp_tiny(gammas / gammas.sum(-1, keepdim=True))


class Dirichlet(ExponentialFamily):
    """Dirichlet distributions of ``concentration`` (positive, the last dimension indexes the ``K`` categories;
    event shape ``(K,)``)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args: bool | None = None) -> None:
        if concentration.ndim < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = _size(batch_shape)
        new.concentration = self.concentration.expand(tuple(batch_shape) + tuple(self._event_shape))
        return self._finish_expand(new, Dirichlet, batch_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        return _sample_dirichlet(self.concentration.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (ops.xlogy(self.concentration - 1.0, value).sum(-1) + self.concentration.sum(-1).lgamma()
                - self.concentration.lgamma().sum(-1))

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        """``(c - 1) / sum(c - 1)`` (clamped at 0); where every concentration is below 1 (the density is unbounded
        at every vertex), the first vertex, as PyTorch (the argmax of its all-NaN row)."""
        concentrationm1 = (self.concentration - 1).clamp(min=0.0)
        all_below = (self.concentration < 1).all(-1, keepdim=True)
        mode = concentrationm1 / ops.where(all_below, 1.0, concentrationm1.sum(-1, keepdim=True))  # (no 0 / 0)
        classes = ops.arange(self.concentration.shape[-1], device=self.concentration.device)
        one_hot = (mode.argmax(-1).unsqueeze(-1) == classes).to(mode.dtype)
        return ops.where(all_below, one_hot, mode)

    @property
    def variance(self) -> Tensor:
        con0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (con0 - self.concentration) / (con0.pow(2) * (con0 + 1))

    def entropy(self):
        k = self.concentration.shape[-1]
        a0 = self.concentration.sum(-1)
        return (self.concentration.lgamma().sum(-1) - a0.lgamma() - (k - a0) * a0.digamma()
                - ((self.concentration - 1.0) * self.concentration.digamma()).sum(-1))

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration,)

    def _log_normalizer(self, x):
        return x.lgamma().sum(-1) - x.sum(-1).lgamma()
