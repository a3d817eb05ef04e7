"""The von Mises distribution on the circle."""

from __future__ import annotations

import math

from .. import dtypes as _dt
from .. import ops, special
from .._tensor import Tensor
from ..autograd import grad_mode
from . import constraints
from .distribution import Distribution
from .utils import _size, broadcast_all, lazy_property

__all__ = ["VonMises"]

_ROUNDS = 40  # Best-Fisher accepts a proposal with probability >= 0.65: all 40 rounds fail with p < 1e-18


def _log_i0(x: Tensor) -> Tensor:
    """``log I_0(x)`` for ``x >= 0`` (exponentially scaled Bessel function: no overflow)."""
    return special.i0e(x).log() + x


def _log_i1(x: Tensor) -> Tensor:
    return special.i1e(x).log() + x


class VonMises(Distribution):
    """Von Mises distributions (the circular normal) of mean direction ``loc`` and ``concentration`` kappa:
    density ``exp(kappa cos(x - loc)) / (2 pi I_0(kappa))`` on ``[-pi, pi)``. Sampled by Best and Fisher's
    (1979) rejection method, in float64, for a fixed number of rounds on whole arrays (no host loop, no
    synchronisation). ``log I_0`` is lucid's exponentially scaled Bessel function (PyTorch uses a polynomial
    approximation: the two agree to about 1e-7 relative)."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args: bool | None = None) -> None:
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, (), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(VonMises, _instance)
        batch_shape = _size(batch_shape)
        new.loc, new.concentration = self.loc.expand(batch_shape), self.concentration.expand(batch_shape)
        return self._finish_expand(new, VonMises, batch_shape)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.concentration * (value - self.loc).cos() - math.log(2 * math.pi) - _log_i0(self.concentration)

    @lazy_property
    def _proposal_r(self) -> Tensor:
        kappa = self.concentration.detach().to(_dt.float64)
        tau = 1 + (1 + 4 * kappa**2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        return ops.where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho**2) / (2 * rho))  # Taylor for tiny kappa

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        with grad_mode.no_grad():
            loc = self.loc.detach().to(_dt.float64)
            kappa = self.concentration.detach().to(_dt.float64)
            r = self._proposal_r
            x = ops.zeros(shape, dtype=_dt.float64, device=loc.device)
            done = ops.zeros(shape, dtype=_dt.bool_, device=loc.device)
            for _ in range(_ROUNDS):
                u1, u2, u3 = ops.rand((3,) + shape, dtype=_dt.float64, device=loc.device).unbind(0)
                z = (math.pi * u1).cos()
                f = (1 + r * z) / (r + z)
                c = kappa * (r - f)
                accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
                x = ops.where(accept & ~done, (u3 - 0.5).sign() * f.clamp(min=-1, max=1).acos(), x)
                done = done | accept
            return ((x + math.pi + loc) % (2 * math.pi) - math.pi).to(self.loc.dtype)

    @property
    def mean(self) -> Tensor:
        """The circular mean ``loc``."""
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @lazy_property
    def variance(self) -> Tensor:
        """The circular variance ``1 - I_1(kappa) / I_0(kappa)``."""
        return 1 - (_log_i1(self.concentration) - _log_i0(self.concentration)).exp()
