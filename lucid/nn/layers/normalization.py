"""Normalization layers: ``BatchNorm1d/2d/3d``, ``InstanceNorm1d/2d/3d``, ``LayerNorm``,
``GroupNorm``, ``RMSNorm``, ``LocalResponseNorm``.

``bias=False`` (keyword-only, as PyTorch 2.13's batch, instance and group norms; positional in ``LayerNorm``)
keeps the weight and drops the bias, and the reprs say ``bias=`` as PyTorch's do.

The batch and instance norms keep PyTorch's buffers: ``running_mean`` (zeros),
``running_var`` (ones; upstream Lucid 2.x had the two swapped) and ``num_batches_tracked``
(int64), present when ``track_running_stats``. A forward that raises (wrong shape, channel count
or dtype) leaves all three unchanged: the input is checked, the output computed and only then
the buffers are updated.
"""

from __future__ import annotations

import operator

from ... import dtypes as _dt
from ..._tensor import Tensor
from ...autograd import grad_mode
from ...ops.creation import empty, ones, zeros
from .. import init
from ..functional import normalization as F
from ..module import Module
from ..parameter import Parameter

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "LayerNorm", "GroupNorm", "RMSNorm", "LocalResponseNorm", "CrossMapLRN2d",
]


class _NormBase(Module):
    """Per-channel affine parameters (weight ones, bias zeros; no bias with ``bias=False``) and running
    statistics."""

    dims = 2  # spatial dimensions of a batched input
    _version = 2  # PyTorch's: version 2 state dicts carry num_batches_tracked

    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(empty(num_features, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(empty(num_features, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", zeros((), dtype=_dt.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """A state dict without a version (a plain dict) or older than 2 may lack ``num_batches_tracked``: it
        keeps this module's count, as PyTorch."""
        key = prefix + "num_batches_tracked"
        version = local_metadata.get("version")
        if (version is None or version < 2) and self.track_running_stats and key not in state_dict:
            state_dict[key] = self.num_batches_tracked
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches counted."""
        if self.track_running_stats:
            with grad_mode.no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Reset the running statistics, the weight to ones and the bias to zeros."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input(self, input: Tensor) -> None:
        allowed = (self.dims + 1, self.dims + 2) if self.dims == 1 or isinstance(self, _InstanceNorm) else \
            (self.dims + 2,)
        if not isinstance(input, Tensor) or input.ndim not in allowed:
            raise ValueError(
                f"{type(self).__name__}: expected a {' or '.join(f'{n}-D' for n in allowed)} input, got "
                f"{getattr(input, 'shape', input)}"
            )

    def _check_channels(self, input: Tensor, dim: int = 1, error: type = RuntimeError) -> None:
        """``error`` is PyTorch's class for the layer: RuntimeError for batch norms, ValueError for instance norms."""
        if input.shape[dim] != self.num_features:
            raise error(
                f"{type(self).__name__}: expected {self.num_features} channels (num_features) in dimension {dim}, "
                f"got input of shape {input.shape}; give it input with {self.num_features} channels or build "
                f"the layer with num_features={input.shape[dim]}"
            )

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    def _momentum(self, counting: bool) -> float:
        """The running statistics' update factor: ``momentum``, or with ``momentum=None`` the cumulative
        average's ``1 / (batches + 1)`` (this batch included) when this forward counts a batch."""
        if self.momentum is not None:
            return self.momentum
        return 1.0 / (self.num_batches_tracked.item() + 1) if counting else 0.0

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        self._check_channels(input)
        counting = self.training and self.track_running_stats
        factor = self._momentum(counting)
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        y = F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                         self.weight, self.bias, use_batch, factor, self.eps)
        if counting:  # only once batch_norm went through, so a failed forward changes no buffer
            with grad_mode.no_grad():
                self.num_batches_tracked.add_(1)
        return y


class BatchNorm1d(_BatchNorm):
    """Batch normalization over ``(N, C)`` or ``(N, C, L)``. In training, batch statistics normalize
    and the running ones move by ``momentum`` (None: the cumulative average of all batches);
    in eval, the running statistics normalize."""

    dims = 1


class BatchNorm2d(_BatchNorm):
    """Batch normalization over ``(N, C, H, W)``; see ``BatchNorm1d``."""

    dims = 2


class BatchNorm3d(_BatchNorm):
    """Batch normalization over ``(N, C, D, H, W)``; see ``BatchNorm1d``."""

    dims = 3


class _InstanceNorm(_NormBase):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1, affine: bool = False,
                 track_running_stats: bool = False, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        batched = input.ndim == self.dims + 2
        x = input if batched else input.unsqueeze(0)
        if self.affine or self.track_running_stats:  # else any channel count goes, as in PyTorch
            self._check_channels(input, 1 if batched else 0, ValueError)
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            self.momentum if self.momentum is not None else 0.0, self.eps)
        return y if batched else y.squeeze(0)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization over ``(N, C, L)`` or unbatched ``(C, L)``: each plane by its own
    statistics (``affine`` and ``track_running_stats`` off by default, as PyTorch)."""

    dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization over ``(N, C, H, W)`` or unbatched; see ``InstanceNorm1d``."""

    dims = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization over ``(N, C, D, H, W)`` or unbatched; see ``InstanceNorm1d``."""

    dims = 3


def _shape(normalized_shape) -> tuple:
    if isinstance(normalized_shape, (tuple, list)):
        return tuple(operator.index(n) for n in normalized_shape)
    return (operator.index(normalized_shape),)


class LayerNorm(Module):
    """Normalization over the last dimensions ``normalized_shape``, then an elementwise affine
    (weight ones, bias zeros; ``bias=False`` drops the bias, as PyTorch 2.1+)."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape, self.eps, self.elementwise_affine = _shape(normalized_shape), eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(self.normalized_shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        """Weight to ones, bias to zeros."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalization: ``num_channels`` split into ``num_groups`` groups normalized apart;
    per-channel affine (weight ones, bias zeros; no bias with ``bias=False``) when ``affine``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        if affine:
            self.weight = Parameter(ones(num_channels, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(num_channels, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        """Weight to ones, bias to zeros."""
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last dimensions ``normalized_shape``;
    ``eps=None`` uses the input dtype's machine epsilon, as PyTorch."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape, self.eps, self.elementwise_affine = _shape(normalized_shape), eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        """Weight to ones."""
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    """Normalization across ``size`` neighbouring channels (AlexNet); see ``local_response_norm``."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"



class CrossMapLRN2d(LocalResponseNorm):
    """PyTorch's legacy cross-channel LRN on ``(N, C, H, W)``: ``x / (k + alpha/size * sum x_j^2)^beta``
    with its exact window, channels ``c - (size-1)//2 .. c + (size-1)//2`` *plus channel 0*
    (the legacy loop never drops it), so outputs equal PyTorch's. The gradient is the derivative of that
    forward; PyTorch's hand-written backward uses another window and does not match its own forward."""

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor) or input.ndim != 4:
            raise ValueError(f"CrossMapLRN2d: expected a 4-D input, got {getattr(input, 'shape', input)}")
        n, c, h, w = input.shape
        half = int((self.size - 1) / 2 + 1)
        window = [[1.0 if j == 0 or max(1, i - half + 1) <= j <= min(c - 1, i + half - 1) else 0.0
                   for j in range(c)] for i in range(c)]
        mix = Tensor(window, dtype=input.dtype, device=input.device)
        scale = (mix @ (input * input).reshape(n, c, h * w)).reshape(n, c, h, w) * (self.alpha / self.size) + self.k
        return input * scale.pow(-self.beta)
