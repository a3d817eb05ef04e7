"""Pooling layers: ``MaxPool1/2/3d``, ``AvgPool1/2/3d``, ``AdaptiveAvgPool1/2/3d``,
``AdaptiveMaxPool1/2/3d``, ``LPPool1/2/3d``; each calls the matching function of
``lucid.nn.functional`` for its number of spatial dimensions ``dims``."""

from __future__ import annotations

from ..._tensor import Tensor
from ..functional import pooling as F
from ..module import Module

__all__ = [
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d", "LPPool3d",
]


class _MaxPoolNd(Module):
    dims = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        return getattr(F, f"max_pool{self.dims}d")(input, self.kernel_size, self.stride, self.padding, self.dilation,
                                                   self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling; see ``lucid.nn.functional.max_pool1d``."""

    dims = 1


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling; see ``lucid.nn.functional.max_pool2d``."""

    dims = 2


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling; see ``lucid.nn.functional.max_pool3d``."""

    dims = 3


class _AvgPoolNd(Module):
    dims = 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override=None) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, f"avg_pool{self.dims}d")(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                                   self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling; see ``lucid.nn.functional.avg_pool1d``."""

    dims = 1


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling; see ``lucid.nn.functional.avg_pool2d``."""

    dims = 2


class AvgPool3d(_AvgPoolNd):
    """3-D average pooling; see ``lucid.nn.functional.avg_pool3d``."""

    dims = 3


class _AdaptiveAvgPoolNd(Module):
    dims = 2

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, f"adaptive_avg_pool{self.dims}d")(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """1-D adaptive average pooling to ``output_size``."""

    dims = 1


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """2-D adaptive average pooling to ``output_size`` (None entries keep the input size)."""

    dims = 2


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """3-D adaptive average pooling to ``output_size`` (None entries keep the input size)."""

    dims = 3


class _AdaptiveMaxPoolNd(Module):
    dims = 2

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor):
        return getattr(F, f"adaptive_max_pool{self.dims}d")(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """1-D adaptive max pooling to ``output_size``."""

    dims = 1


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """2-D adaptive max pooling to ``output_size`` (None entries keep the input size)."""

    dims = 2


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """3-D adaptive max pooling to ``output_size`` (None entries keep the input size)."""

    dims = 3


class _LPPoolNd(Module):
    dims = 2

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, f"lp_pool{self.dims}d")(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """1-D power-average pooling; see ``lucid.nn.functional.lp_pool1d``."""

    dims = 1


class LPPool2d(_LPPoolNd):
    """2-D power-average pooling; see ``lucid.nn.functional.lp_pool2d``."""

    dims = 2


class LPPool3d(_LPPoolNd):
    """3-D power-average pooling; see ``lucid.nn.functional.lp_pool3d``."""

    dims = 3
