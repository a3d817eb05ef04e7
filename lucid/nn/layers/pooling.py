"""Pooling layers: ``MaxPool1/2/3d``, ``AvgPool1/2/3d``, ``AdaptiveAvgPool1/2/3d``,
``AdaptiveMaxPool1/2/3d``, ``LPPool1/2/3d``; each calls the matching function of
``lucid.nn.functional`` for its number of spatial dimensions."""

from __future__ import annotations

from ..functional import pooling as F
from ..functional import unpooling
from ..module import Module
from .functional_layer import FunctionalLayer

__all__ = [
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d", "LPPool3d",
    "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "FractionalMaxPool2d", "FractionalMaxPool3d",
]


def _tuple(value, n: int) -> tuple:
    """``value`` as an ``n``-tuple (an int repeated), as PyTorch stores the sizes of ``AvgPool1d`` and
    ``MaxUnpool*d`` (their attributes and reprs show tuples: ``kernel_size=(3,)``)."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


class _MaxPoolNd(FunctionalLayer):
    shown = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__(kernel_size=kernel_size, stride=stride if stride is not None else kernel_size,
                         padding=padding, dilation=dilation, return_indices=return_indices, ceil_mode=ceil_mode)


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling; see ``lucid.nn.functional.max_pool1d``."""

    function = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling; see ``lucid.nn.functional.max_pool2d``."""

    function = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling; see ``lucid.nn.functional.max_pool3d``."""

    function = staticmethod(F.max_pool3d)


class _AvgPoolNd(FunctionalLayer):
    shown = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override=None) -> None:
        super().__init__(kernel_size=kernel_size, stride=stride if stride is not None else kernel_size,
                         padding=padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                         divisor_override=divisor_override)


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling; see ``lucid.nn.functional.avg_pool1d``. ``kernel_size``, ``stride`` and ``padding``
    are kept as 1-tuples, as PyTorch (its 2-D and 3-D average pools keep them as given)."""

    function = staticmethod(F.avg_pool1d)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override=None) -> None:
        super().__init__(_tuple(kernel_size, 1), None if stride is None else _tuple(stride, 1), _tuple(padding, 1),
                         ceil_mode, count_include_pad, divisor_override)


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling; see ``lucid.nn.functional.avg_pool2d``."""

    function = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    """3-D average pooling; see ``lucid.nn.functional.avg_pool3d``."""

    function = staticmethod(F.avg_pool3d)


class _AdaptiveAvgPoolNd(FunctionalLayer):
    def __init__(self, output_size) -> None:
        super().__init__(output_size=output_size)


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """1-D adaptive average pooling to ``output_size``."""

    function = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """2-D adaptive average pooling to ``output_size`` (None entries keep the input size)."""

    function = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """3-D adaptive average pooling to ``output_size`` (None entries keep the input size)."""

    function = staticmethod(F.adaptive_avg_pool3d)


class _AdaptiveMaxPoolNd(FunctionalLayer):
    shown = ("output_size",)

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__(output_size=output_size, return_indices=return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """1-D adaptive max pooling to ``output_size``."""

    function = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """2-D adaptive max pooling to ``output_size`` (None entries keep the input size)."""

    function = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """3-D adaptive max pooling to ``output_size`` (None entries keep the input size)."""

    function = staticmethod(F.adaptive_max_pool3d)


class _LPPoolNd(FunctionalLayer):
    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> None:
        super().__init__(norm_type=norm_type, kernel_size=kernel_size, stride=stride, ceil_mode=ceil_mode)


class LPPool1d(_LPPoolNd):
    """1-D power-average pooling; see ``lucid.nn.functional.lp_pool1d``."""

    function = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    """2-D power-average pooling; see ``lucid.nn.functional.lp_pool2d``."""

    function = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPoolNd):
    """3-D power-average pooling; see ``lucid.nn.functional.lp_pool3d``."""

    function = staticmethod(F.lp_pool3d)


class _MaxUnpoolNd(FunctionalLayer):
    """``kernel_size``, ``stride`` and ``padding`` kept as ``dims``-tuples, as PyTorch."""

    shown = ("kernel_size", "stride", "padding")
    dims = 2

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        n = self.dims
        super().__init__(kernel_size=_tuple(kernel_size, n),
                         stride=_tuple(kernel_size if stride is None else stride, n), padding=_tuple(padding, n))

    def forward(self, input, indices, output_size=None):
        return self.function(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool1d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool1d``; see ``lucid.nn.functional.max_unpool1d``."""

    function = staticmethod(unpooling.max_unpool1d)
    dims = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool2d``; see ``lucid.nn.functional.max_unpool2d``."""

    function = staticmethod(unpooling.max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool3d``; see ``lucid.nn.functional.max_unpool3d``."""

    function = staticmethod(unpooling.max_unpool3d)
    dims = 3


class _FractionalMaxPoolNd(Module):
    """Fractional max pooling to ``output_size`` or ``output_ratio`` (one of the two, the ratio in (0, 1));
    ``_random_samples`` (a buffer, as PyTorch) fixes the windows' positions."""

    function = None

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
                 _random_samples=None) -> None:
        super().__init__()
        name = type(self).__name__
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError(f"{name}: only one of output_size and output_ratio may be specified")
        if output_ratio is not None:
            ratios = output_ratio if isinstance(output_ratio, (tuple, list)) else (output_ratio,)
            if not all(0 < r < 1 for r in ratios):
                raise ValueError(f"{name}: output_ratio must be between 0 and 1 (got {output_ratio})")
        self.kernel_size, self.output_size, self.output_ratio = kernel_size, output_size, output_ratio
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)

    def forward(self, input):
        return self.function(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                             _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """2-D fractional max pooling; see ``lucid.nn.functional.fractional_max_pool2d``."""

    function = staticmethod(unpooling.fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """3-D fractional max pooling; see ``lucid.nn.functional.fractional_max_pool3d``."""

    function = staticmethod(unpooling.fractional_max_pool3d)
