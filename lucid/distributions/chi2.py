"""The chi-squared distribution: ``Gamma(df / 2, 1 / 2)``."""

from __future__ import annotations

from .._tensor import Tensor
from . import constraints
from .gamma import Gamma
from .utils import _size

__all__ = ["Chi2"]


class Chi2(Gamma):
    """Chi-squared distributions with ``df`` degrees of freedom (``Gamma(0.5 * df, 0.5)``)."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args: bool | None = None) -> None:
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Chi2, _instance)
        return super().expand(_size(batch_shape), new)

    @property
    def df(self) -> Tensor:
        return self.concentration * 2
