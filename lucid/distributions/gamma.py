"""The gamma distribution, its sampler (Marsaglia-Tsang) and the implicit reparameterisation gradient of
its samples (``torch._standard_gamma`` / ``torch._standard_gamma_grad``)."""

from __future__ import annotations

from .. import ops
from .._tensor import Tensor
from .._typeinfo import finfo
from ..autograd import grad_mode
from ..autograd.function import Function
from ..random import draw
from . import constraints
from .exp_family import ExponentialFamily
from .utils import _is_number, _size, broadcast_all

__all__ = ["Gamma"]

def _draw_standard_gamma(alpha: Tensor) -> Tensor:
    """``Gamma(alpha, 1)`` draws of ``alpha``'s shape, dtype and device, outside the graph, from the device's
    generator: on the CPU PyTorch's kernel (Marsaglia and Tsang, 2000, element by element: seeded alike, its
    numbers), elsewhere the backend's own sampler; at least the dtype's smallest normal number, as PyTorch."""
    a = alpha.detach()
    dev = a._device
    drawn = draw("gamma", a.shape, a.dtype, dev, alpha=a._data)
    with grad_mode.no_grad():
        return Tensor._make(drawn, dev).clamp(min=finfo(a.dtype).tiny)


_RATIONAL = (  # PyTorch's bivariate rational approximation of d sample / d alpha in (log(x / alpha), log(alpha))
    (0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089, 0.0014179084),
    (0.53487893, 0.1298071, 0.065735949, -0.0015649758, 0.16639465, 0.020070113, -0.0035938915, -0.00058392623),
    (0.040121004, -0.0065914022, -0.0026286047, -0.0013441777, 0.017050642, -0.0021309326, 0.00085092367,
     -1.5247877e-07),
)


def _standard_gamma_grad(alpha: Tensor, x: Tensor) -> Tensor:
    """``d x / d alpha`` of a ``Gamma(alpha, 1)`` draw ``x`` at fixed cdf (implicit reparameterisation,
    Figurnov et al. 2018: ``-(dP(alpha, x)/d alpha) / p(alpha, x)``), PyTorch's ``_standard_gamma_grad``
    (same branches and coefficients): a Taylor series of the cdf for ``x < 0.8``, Rice's saddle-point
    expansion for ``alpha > 8``, a bivariate rational approximation elsewhere. Values only (no graph)."""
    with grad_mode.no_grad():
        alpha, x = alpha.detach(), x.detach()
        small = x < 0.8
        large = alpha > 8
        # series: P = x^a sum_i (-x)^i / (i! (a + i)), dP/da = (log x - psi(a)) P - x^a sum_i (-x)^i / (i! (a + i)^2)
        xs = ops.where(small, x, 0.5)
        numer, denom = ops.ones_like(xs), alpha
        series1, series2 = 1 / denom, 1 / denom.square()
        for i in range(1, 6):
            numer = numer * (-xs / i)
            denom = denom + 1
            series1 = series1 + numer / denom
            series2 = series2 + numer / denom.square()
        # -dP/da / p with p = x^(a-1) e^-x: the powers of x cancel but one
        result_small = -xs * xs.exp() * ((xs.log() - alpha.digamma()) * series1 - series2)
        result_small = ops.where(result_small.isnan(), 0.0, result_small)
        # Rice saddle point, alpha > 8
        al = ops.where(large, alpha, 10.0)
        near = (0.9 * al <= x) & (x <= 1.1 * al)
        xl = ops.where(large, x, 10.0)
        numer_1 = 1 + 24 * al * (1 + 12 * al)
        numer_2 = 1440 * al.square() + 6 * xl * (53 - 120 * xl) - 65 * xl.square() / al + al * (107 + 3600 * xl)
        result_near = numer_1 * numer_2 / (1244160 * al.square().square())
        xf = ops.where(near, 0.5 * al, xl)  # away from alpha (where the far formula divides by 0)
        denom_l = (8 * al).sqrt()
        term2 = denom_l / (al - xf)
        term3 = (xf - al - al * (xf / al).log()).pow(-1.5)
        term23 = ops.where(xf < al, term2 - term3, term2 + term3)
        term1 = (xf / al).log() * term23 - (2 / al).sqrt() * (al + xf) / (al - xf).square()
        stirling = 1 + 1 / (12 * al) * (1 + 1 / (24 * al))
        result_far = -stirling * xf * term1 / denom_l
        result_large = ops.where(near, result_near, result_far)
        # rational approximation
        xr = ops.where(small | large, alpha, x)
        u, v = (xr / alpha).log(), alpha.log()
        coef = [c0 + u * (c1 + u * c2) for c0, c1, c2 in zip(*_RATIONAL)]
        p = coef[0] + v * (coef[1] + v * (coef[2] + v * coef[3]))
        q = coef[4] + v * (coef[5] + v * (coef[6] + v * coef[7]))
        result_rational = (p / q).exp()
        return ops.where(small, result_small, ops.where(large, result_large, result_rational))


class _StandardGammaReparam(Function):
    """Identity on a gamma draw ``x`` whose gradient to the concentration ``alpha`` is
    ``_standard_gamma_grad(alpha, x)`` (first order only, as PyTorch's)."""

    def forward(self, alpha, x):
        self.save_for_backward(alpha, x)
        return self.xp.asarray(x, copy=True)

    def backward(self, grad):
        alpha, x = self.saved_tensors
        return grad * _standard_gamma_grad(alpha, x), None


def _standard_gamma(alpha: Tensor) -> Tensor:
    """``Gamma(alpha, 1)`` draws; reparameterised: gradients reach ``alpha`` through the implicit derivative."""
    x = _draw_standard_gamma(alpha)
    if not (grad_mode.state.enabled and alpha.requires_grad):
        return x
    return _StandardGammaReparam.apply(alpha, x)


def _clamp_tiny(value: Tensor) -> Tensor:
    """``value`` at least the smallest normal number of its dtype, the gradient passed through as it is (PyTorch
    clamps the draw's data in place)."""
    clamped = value.detach().clamp(min=finfo(value.dtype).tiny)
    return value + (clamped - value.detach()) if value.requires_grad else clamped


class Gamma(ExponentialFamily):
    """Gamma distributions of shape ``concentration`` and inverse scale ``rate`` (density
    ``rate^a x^(a-1) exp(-rate x) / Gamma(a)``). ``rsample`` draws standard gamma variables by Marsaglia-Tsang
    and divides by ``rate``; the gradient to ``concentration`` is the implicit one (PyTorch's approximation)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration, rate, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        batch_shape = () if _is_number(concentration) and _is_number(rate) else self.concentration.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Gamma, _instance)
        batch_shape = _size(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        new.rate = self.rate.expand(batch_shape)
        return self._finish_expand(new, Gamma, batch_shape)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        value = _standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        return _clamp_tiny(value)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (ops.xlogy(self.concentration, self.rate) + ops.xlogy(self.concentration - 1, value)
                - self.rate * value - self.concentration.lgamma())

    def entropy(self):
        return (self.concentration - self.rate.log() + self.concentration.lgamma()
                + (1.0 - self.concentration) * self.concentration.digamma())

    @property
    def _natural_params(self) -> tuple:
        return self.concentration - 1, -self.rate

    def _log_normalizer(self, x, y):
        return (x + 1).lgamma() + (x + 1) * (-y.reciprocal()).log()

    def cdf(self, value):
        """``P(concentration, rate * value)``, the regularised incomplete gamma function (differentiable in
        ``rate`` and ``value``; not in ``concentration``, as in PyTorch)."""
        if self._validate_args:
            self._validate_sample(value)
        return ops.igamma(self.concentration, self.rate * value)

