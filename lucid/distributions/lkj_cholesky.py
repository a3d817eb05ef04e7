"""The LKJ distribution over Cholesky factors of correlation matrices (after NumPyro's)."""

from __future__ import annotations

import math

from .. import ops
from .._typeinfo import finfo
from ..autograd import grad_mode
from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import _size, broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """Lower Cholesky factors ``L`` of ``dim x dim`` correlation matrices ``M = L L^T`` with density
    proportional to ``det(M)^(concentration - 1)`` (uniform over correlation matrices at 1). Sampled by the
    onion method (Lewandowski, Kurowicka and Joe, 2009): row ``i`` is a uniform direction scaled by the square
    root of a ``Beta(i / 2, eta + (dim - 1 - i) / 2)`` draw, as NumPyro's. PyTorch 2.13 draws ``Beta(i - 1/2, ...)``
    (its offsets lost a factor 1/2), so its correlations below the second row are too spread; lucid's have the
    LKJ marginals, variance ``1 / (2 eta + dim - 1)`` for every one. No ``rsample`` (as PyTorch)."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration=1.0, validate_args: bool | None = None) -> None:
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = 0.5 * ops.arange(self.dim - 1, dtype=self.concentration.dtype, device=self.concentration.device)
        offset = ops.pad(offset, (1, 0), value=0.0)
        # row i >= 1: Beta(i / 2, eta + (dim - 1 - i) / 2); the parameters follow from concentration, which
        # Distribution checks below (a clearer message than Beta's)
        self._beta = Beta(offset + 0.5, marginal_conc.unsqueeze(-1) - offset, validate_args=False)
        super().__init__(self.concentration.shape, (dim, dim), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = _size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(tuple(batch_shape) + (self.dim,))
        return self._finish_expand(new, LKJCholesky, batch_shape)

    def sample(self, sample_shape=()):
        with grad_mode.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u_normal = ops.tril(ops.randn(tuple(self._extended_shape(sample_shape)), dtype=y.dtype, device=y.device),
                                -1)
            first_row = (ops.arange(self.dim, device=y.device) == 0).reshape(self.dim, 1)  # all zeros: no 0 / 0
            u_hypersphere = u_normal / ops.where(first_row, 1.0, u_normal.norm(dim=-1, keepdim=True))
            w = y.sqrt() * u_hypersphere
            diag_elems = (1 - w.pow(2).sum(-1)).clamp(min=finfo(w.dtype).tiny).sqrt()
            return w + ops.diag_embed(diag_elems)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = ops.diagonal(value, dim1=-1, dim2=-2)[..., 1:]
        order = ops.arange(2, self.dim + 1, dtype=self.concentration.dtype, device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = (order * diag_elems.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = alpha.lgamma() * dm1
        numerator = ops.mvlgamma(alpha - 0.5, dm1)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        return unnormalized_log_pdf - (pi_constant + numerator - denominator)
