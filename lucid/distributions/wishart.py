"""The Wishart distribution over positive-definite matrices."""

from __future__ import annotations

import math
import warnings

from .. import linalg, ops
from .._tensor import Tensor
from .._tensor import tensor as _tensor
from .._typeinfo import finfo
from . import constraints
from .chi2 import Chi2
from .exp_family import ExponentialFamily
from .multivariate_normal import _precision_to_scale_tril
from .utils import _is_number, _size, _standard_normal, lazy_property, vec_to_tril_matrix

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    """The multivariate digamma ``sum_i digamma(x - i / 2)`` over ``i < p``."""
    halves = ops.arange(p, dtype=x.dtype, device=x.device) / 2
    return (x.unsqueeze(-1) - halves).digamma().sum(-1)


class Wishart(ExponentialFamily):
    """Wishart distributions of ``df`` degrees of freedom (``> p - 1`` for ``p x p`` matrices) and scale given by
    exactly one of ``covariance_matrix``, ``precision_matrix`` or ``scale_tril`` (its Cholesky factor, used by
    every computation). ``rsample`` is Bartlett's decomposition ``(L A)(L A)^T``, ``A`` lower triangular with
    square roots of chi-squared draws on the diagonal and normal ones below (reparameterised in ``df`` through the
    gamma draws). A draw that comes out singular (possible for ``df < p``) is drawn again, up to
    ``max_try_correction`` times (3 by default), on the device and without reading back to the host (PyTorch's
    traced path; its eager path syncs, warns on every call and keeps the singular draws). Giving none or two of
    the matrices raises ValueError (PyTorch: AssertionError), as MultivariateNormal does."""

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite, "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky, "df": constraints.greater_than(self._event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args: bool | None = None) -> None:
        given = [(n, m) for n, m in (("covariance_matrix", covariance_matrix), ("precision_matrix", precision_matrix),
                                     ("scale_tril", scale_tril)) if m is not None]
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        name, param = given[0]
        if param.ndim < 2:
            raise ValueError(f"{name} must be at least two-dimensional, with optional leading batch dimensions")
        if _is_number(df):
            batch_shape = tuple(param.shape[:-2])
            self.df = _tensor(float(df), dtype=param.dtype, device=param.device)
        else:
            batch_shape = tuple(ops.broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape)))
            self.df = df.expand(batch_shape)
        p = param.shape[-1]
        if bool((self.df <= p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        setattr(self, name, param.expand(batch_shape + (-1, -1)))
        if bool((self.df < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < "
                          "ndim.", stacklevel=2)
        super().__init__(batch_shape, tuple(param.shape[-2:]), validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)
        self._dist_chi2 = self._chi2()

    def _chi2(self) -> Chi2:
        """The chi-squared laws of Bartlett's diagonal: ``df - i`` degrees of freedom for row ``i``."""
        p = self._event_shape[-1]
        rows = ops.arange(p, dtype=self.df.dtype, device=self.df.device)
        return Chi2(self.df.unsqueeze(-1) - rows, validate_args=False)  # df > p - 1 was checked

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = _size(batch_shape)
        cov_shape = tuple(batch_shape) + tuple(self._event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(cov_shape)
        new.df = self.df.expand(batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        new = self._finish_expand(new, Wishart, batch_shape)
        new._dist_chi2 = new._chi2()
        return new

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape)

    def _df_matrix(self, df: Tensor) -> Tensor:
        return df.reshape(tuple(self._batch_shape) + (1, 1))

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril
        return ops.matmul(L, L.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril
        eye = ops.eye(self._event_shape[-1], dtype=L.dtype, device=L.device)
        return ops.cholesky_solve(eye, L).expand(self._matrix_shape())

    @property
    def mean(self) -> Tensor:
        return self._df_matrix(self.df) * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        """``(df - p - 1) covariance``, NaN where ``df <= p + 1``."""
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        return self._df_matrix(ops.where(factor <= 0, math.nan, factor)) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        V = self.covariance_matrix
        diag_V = ops.diagonal(V, dim1=-2, dim2=-1)
        return self._df_matrix(self.df) * (V.pow(2) + diag_V.unsqueeze(-1) * diag_V.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape) -> Tensor:
        p = self._event_shape[-1]
        chi = self._dist_chi2.rsample(sample_shape).sqrt().clamp(min=finfo(self.df.dtype).eps)
        below = _standard_normal(tuple(_size(sample_shape)) + tuple(self._batch_shape) + (p * (p - 1) // 2,),
                                 chi.dtype, chi.device)
        noise = ops.diag_embed(chi) + vec_to_tril_matrix(below, diag=-1)
        chol = ops.matmul(self._unbroadcasted_scale_tril, noise)
        return ops.matmul(chol, chol.mT)

    def rsample(self, sample_shape=(), max_try_correction: int | None = None) -> Tensor:
        sample = self._bartlett_sampling(sample_shape)
        for _ in range(3 if max_try_correction is None else max_try_correction):
            singular = (linalg.cholesky_ex(sample.detach()).info != 0).reshape(tuple(sample.shape[:-2]) + (1, 1))
            sample = ops.where(singular, self._bartlett_sampling(sample_shape), sample)
        return sample

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        half_log_det = ops.diagonal(L, dim1=-2, dim2=-1).log().sum(-1)
        trace = ops.diagonal(ops.cholesky_solve(value, L), dim1=-2, dim2=-1).sum(-1)
        return (-nu * (p * _LOG_2 / 2 + half_log_det) - ops.mvlgamma(nu / 2, p)
                + (nu - p - 1) / 2 * linalg.slogdet(value).logabsdet - trace / 2)

    def entropy(self):
        nu, p = self.df, self._event_shape[-1]
        half_log_det = ops.diagonal(self._unbroadcasted_scale_tril, dim1=-2, dim2=-1).log().sum(-1)
        return ((p + 1) * (p * _LOG_2 / 2 + half_log_det) + ops.mvlgamma(nu / 2, p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    @property
    def _natural_params(self) -> tuple:
        nu, p = self.df, self._event_shape[-1]
        return -self.precision_matrix / 2, (nu - p - 1) / 2

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        return ((y + (p + 1) / 2) * (-linalg.slogdet(-2 * x).logabsdet + _LOG_2 * p)
                + ops.mvlgamma(y + (p + 1) / 2, p))
