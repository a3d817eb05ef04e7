"""The base class of exponential-family distributions (``torch.distributions.ExponentialFamily``)."""

from __future__ import annotations

from ..autograd import grad_mode
from ..autograd.backprop import grad
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """A distribution with density ``exp(<t(x), theta> - F(theta) + k(x))``. A subclass gives its natural
    parameters ``theta`` (``_natural_params``), the log-normaliser ``F`` (``_log_normalizer``) and the
    expected carrier measure ``E[k(x)]`` (``_mean_carrier_measure``); the entropy then follows from the
    Bregman divergence of ``F``, differentiated by autograd (as PyTorch's)."""

    @property
    def _natural_params(self) -> tuple:
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> float:
        raise NotImplementedError

    def entropy(self):
        """``F(theta) - <theta, grad F(theta)> - E[k(x)]``."""
        result = -self._mean_carrier_measure
        params = [p.detach().requires_grad_() for p in self._natural_params]
        with grad_mode.set_grad_enabled(True):
            log_norm = self._log_normalizer(*params)
            gradients = grad(log_norm.sum(), params, create_graph=True)
        result = result + log_norm
        for p, g in zip(params, gradients):
            result = result - (p * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
