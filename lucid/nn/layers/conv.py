"""Convolution layers: ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d``, ``Unfold``, ``Fold``."""

from __future__ import annotations

from ..._tensor import Tensor
from ...ops.creation import empty
from ...ops.shape import pad
from .. import init
from ..functional import conv as F
from ..module import Module
from ..parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Unfold", "Fold"]

_PADDING_MODES = {"zeros": None, "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


class _ConvNd(Module):
    """Shared by the convolutions: the weight ``(out, in/groups, *kernel)`` (transposed:
    ``(in, out/groups, *kernel)``) and optional bias, both drawn from ``U(-1/sqrt(fan_in),
    1/sqrt(fan_in))`` (PyTorch's ``kaiming_uniform_(a=sqrt(5))``), ``fan_in = weight.shape[1] *
    prod(kernel)``. Its arguments are PyTorch's, in PyTorch's order, for layers written as PyTorch's own
    (``super().__init__(..., dilation, False, _pair(0), groups, bias, padding_mode)``); ``dims`` (a class
    attribute, 2 unless a subclass says otherwise) is the number of spatial dimensions."""

    dims = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed, output_padding,
                 groups, bias, padding_mode, device=None, dtype=None) -> None:
        super().__init__()
        self.transposed = bool(transposed)
        nd, name = self.dims, type(self).__name__
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by "
                f"groups ({groups})"
            )
        if padding_mode not in _PADDING_MODES or (self.transposed and padding_mode != "zeros"):
            allowed = "'zeros'" if self.transposed else ", ".join(repr(m) for m in _PADDING_MODES)
            raise ValueError(f"{name}: padding_mode must be one of {allowed}, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = F.ntuple(kernel_size, nd, "kernel_size", 1)
        self.stride = F.ntuple(stride, nd, "stride", 1)
        self.dilation = F.ntuple(dilation, nd, "dilation", 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid") or self.transposed:
                raise ValueError(f"{name}: padding must be an int, a tuple or 'same'/'valid', got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = F.ntuple(padding, nd, "padding")
        self.output_padding = F.ntuple(output_padding, nd, "output_padding")
        self.padding_mode = padding_mode
        shape = (in_channels, out_channels // groups) if self.transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(empty(shape + self.kernel_size, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weight and bias again with PyTorch's default initialisation."""
        init.layer_default_(self.weight, self.bias)

    @property
    def _reversed_padding_repeated_twice(self) -> tuple:
        """The explicit widths (last dimension first) that ``lucid.pad`` takes for ``padding``, as PyTorch keeps
        them under this name for padding modes other than zeros (subclasses copied from PyTorch read it)."""
        if self.padding == "valid":
            pairs = ((0, 0),) * self.dims
        elif self.padding == "same":
            totals = (d * (k - 1) for k, d in zip(self.kernel_size, self.dilation))
            pairs = tuple((t // 2, t - t // 2) for t in totals)
        else:
            pairs = tuple((p, p) for p in self.padding)
        return tuple(w for pair in reversed(pairs) for w in pair)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.dims:
            s += f", padding={self.padding}"  # 'same' / 'valid' unquoted, as PyTorch
        if self.dilation != (1,) * self.dims:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.dims:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, False, 0, groups, bias,
                         padding_mode, device=device, dtype=dtype)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        """The convolution with this layer's settings and the given ``weight`` and ``bias`` (PyTorch's hook for
        subclasses that transform the weight or pad the input themselves, as timm's ``Conv2dSame``)."""
        conv = getattr(F, f"conv{self.dims}d")
        if self.padding_mode == "zeros":
            return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)
        padded = pad(input, self._reversed_padding_repeated_twice, mode=_PADDING_MODES[self.padding_mode])
        return conv(padded, weight, bias, self.stride, 0, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-D convolution over ``(N, C_in, L)`` (or unbatched ``(C_in, L)``); see ``conv1d``.
    ``padding_mode``: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``."""

    dims = 1


class Conv2d(_Conv):
    """2-D convolution over ``(N, C_in, H, W)`` (or unbatched); see ``conv2d``.
    ``padding_mode``: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``."""

    dims = 2


class Conv3d(_Conv):
    """3-D convolution over ``(N, C_in, D, H, W)`` (or unbatched); see ``conv3d``.
    ``padding_mode``: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``."""

    dims = 3


class _ConvTranspose(_ConvNd):
    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, True, output_padding,
                         groups, bias, padding_mode, device=device, dtype=dtype)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """``output_padding``, or the one that gives ``output_size`` (PyTorch's ``forward(x, output_size)``)."""
        if output_size is None:
            return self.output_padding
        nd = self.dims
        size = tuple(output_size)[-nd:]
        padding = []
        for i, n in enumerate(size):
            least = ((input.shape[input.ndim - nd + i] - 1) * self.stride[i] - 2 * self.padding[i]
                     + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            if not least <= n < least + self.stride[i]:
                raise ValueError(
                    f"{type(self).__name__}: requested output size {tuple(size)} is not reachable; dimension {i} must "
                    f"be in [{least}, {least + self.stride[i] - 1}]"
                )
            padding.append(n - least)
        return tuple(padding)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        conv = getattr(F, f"conv_transpose{self.dims}d")
        return conv(input, self.weight, self.bias, self.stride, self.padding,
                    self._output_padding(input, output_size), self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution (the adjoint of ``Conv1d``); ``forward(x, output_size=None)``
    picks ``output_padding`` from a requested size, as PyTorch."""

    dims = 1


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution (the adjoint of ``Conv2d``); ``forward(x, output_size=None)``
    picks ``output_padding`` from a requested size, as PyTorch."""

    dims = 2


class ConvTranspose3d(_ConvTranspose):
    """3-D transposed convolution (the adjoint of ``Conv3d``); ``forward(x, output_size=None)``
    picks ``output_padding`` from a requested size, as PyTorch."""

    dims = 3


class Unfold(Module):
    """Sliding local blocks as columns (im2col); see ``lucid.nn.functional.unfold``."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, stride={self.stride}"


class Fold(Module):
    """Columns summed back into an image (col2im); see ``lucid.nn.functional.fold``."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
