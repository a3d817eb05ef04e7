"""Resampling and padding layers: ``Upsample``, ``UpsamplingNearest2d``, ``UpsamplingBilinear2d``,
``PixelShuffle``, ``PixelUnshuffle``, and the padding layers ``ZeroPad1/2/3d``,
``ConstantPad1/2/3d``, ``ReflectionPad1/2/3d``, ``ReplicationPad1/2/3d``, ``CircularPad1/2/3d``
(all built on ``lucid.pad``)."""

from __future__ import annotations

import operator

from ..._tensor import Tensor
from ...ops.shape import pad
from ..functional import resample as F
from ..module import Module

__all__ = [
    "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle",
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
    "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d", "ChannelShuffle",
]


class Upsample(Module):
    """Resize by ``size`` or ``scale_factor`` with ``mode`` (see ``lucid.nn.functional.interpolate``)."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                 recompute_scale_factor=None) -> None:
        super().__init__()
        self.size, self.mode, self.align_corners = size, mode, align_corners
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor = tuple(float(s) for s in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor is not None else None
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """2-D nearest-neighbour upsampling (``Upsample(mode='nearest')``)."""

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """2-D bilinear upsampling with ``align_corners=True`` (as PyTorch's)."""

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """``(*, C*r*r, H, W)`` to ``(*, C, H*r, W*r)``; see ``pixel_shuffle``."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class ChannelShuffle(Module):
    """Interleave the channels of ``(N, C, *)`` across ``groups`` groups; see ``channel_shuffle``."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class PixelUnshuffle(Module):
    """``(*, C, H*r, W*r)`` to ``(*, C*r*r, H, W)``; see ``pixel_unshuffle``."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class _PadNd(Module):
    """Pads the last ``dims`` dimensions by ``padding``: an int (every side) or ``2 * dims`` widths,
    last dimension first ``(left, right, top, bottom, front, back)``, as PyTorch."""

    dims = 2
    mode = "constant"
    value = 0.0

    def __init__(self, padding) -> None:
        super().__init__()
        if isinstance(padding, (tuple, list)):
            widths = tuple(operator.index(p) for p in padding)
        else:
            widths = (operator.index(padding),) * (2 * self.dims)
        if len(widths) != 2 * self.dims:
            raise ValueError(f"{type(self).__name__}: padding needs {2 * self.dims} values, got {padding!r}")
        self.padding = widths

    def forward(self, input: Tensor) -> Tensor:
        if self.mode == "constant":
            return pad(input, self.padding, value=self.value)
        return pad(input, self.padding, mode=self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPad(_PadNd):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"  # as PyTorch's ConstantPad*d (ZeroPad*d: the padding)


class ZeroPad1d(_PadNd):
    """Pads the last dimension with zeros."""

    dims = 1


class ZeroPad2d(_PadNd):
    """Pads the last 2 dimensions with zeros."""

    dims = 2


class ZeroPad3d(_PadNd):
    """Pads the last 3 dimensions with zeros."""

    dims = 3


class ConstantPad1d(_ConstantPad):
    """Pads the last dimension with ``value``."""

    dims = 1


class ConstantPad2d(_ConstantPad):
    """Pads the last 2 dimensions with ``value``."""

    dims = 2


class ConstantPad3d(_ConstantPad):
    """Pads the last 3 dimensions with ``value``."""

    dims = 3


class _Reflection(_PadNd):
    mode = "reflect"


class ReflectionPad1d(_Reflection):
    """Pads the last dimension with its reflection (the edge not repeated)."""

    dims = 1


class ReflectionPad2d(_Reflection):
    """Pads the last 2 dimensions with their reflection (the edge not repeated)."""

    dims = 2


class ReflectionPad3d(_Reflection):
    """Pads the last 3 dimensions with their reflection (the edge not repeated)."""

    dims = 3


class _Replication(_PadNd):
    mode = "replicate"


class ReplicationPad1d(_Replication):
    """Pads the last dimension by repeating its edge values."""

    dims = 1


class ReplicationPad2d(_Replication):
    """Pads the last 2 dimensions by repeating their edge values."""

    dims = 2


class ReplicationPad3d(_Replication):
    """Pads the last 3 dimensions by repeating their edge values."""

    dims = 3


class _Circular(_PadNd):
    mode = "circular"


class CircularPad1d(_Circular):
    """Pads the last dimension by wrapping around."""

    dims = 1


class CircularPad2d(_Circular):
    """Pads the last 2 dimensions by wrapping around."""

    dims = 2


class CircularPad3d(_Circular):
    """Pads the last 3 dimensions by wrapping around."""

    dims = 3
