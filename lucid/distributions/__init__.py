"""``lucid.distributions``: probability distributions with ``torch.distributions``' API.

Each distribution has ``batch_shape`` and ``event_shape``, ``sample``/``rsample`` (reparameterised, so
gradients reach the parameters, where ``has_rsample``), ``log_prob``, ``entropy``, ``mean``, ``mode``,
``variance``, ``stddev``, ``expand``, ``support`` and ``arg_constraints``, plus ``cdf``/``icdf`` where
PyTorch has them; :func:`kl_divergence` has the closed forms of :mod:`~lucid.distributions.kl`. Random
numbers come from lucid's generators (``lucid.manual_seed`` seeds them) on the parameters' device; the
math is lucid ops, so autograd, every device and every floating dtype work.

>>> import lucid
>>> from lucid.distributions import Normal, kl_divergence
>>> p = Normal(lucid.tensor([0.0, 1.0]), lucid.tensor([1.0, 2.0]))
>>> p.batch_shape, p.sample((3,)).shape
((2,), (3, 2))
>>> p.log_prob(lucid.tensor([0.0, 1.0]))
tensor([-0.9189, -1.6121])
>>> kl_divergence(p, Normal(0.0, 1.0))
tensor([0.0000, 1.3069])
"""

from __future__ import annotations

from . import constraints, kl
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .log_normal import LogNormal
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .poisson import Poisson
from .uniform import Uniform

__all__ = [
    "Bernoulli", "Categorical", "Distribution", "Exponential", "ExponentialFamily", "Independent", "Laplace",
    "LogNormal", "MultivariateNormal", "Normal", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Poisson",
    "Uniform", "kl_divergence", "register_kl",
]
