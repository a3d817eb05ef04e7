"""``SyncBatchNorm``: batch normalization whose training statistics cover every process's batch.

Each process computes its per-channel mean, biased variance and count; a differentiable all-gather
(:mod:`lucid.distributed.nn.functional`) brings them together and they are combined exactly (the variance
with the between-process term, not as E[x^2] - mean^2), so the gradients also flow across processes. On
one process, without an initialised process group, or in eval mode it is plain BatchNorm.
"""

from __future__ import annotations

from ... import distributed as dist
from ..._tensor import Tensor
from ...autograd import grad_mode
from ...distributed.nn import functional as dist_functional
from ...ops import cat, full, stack
from ..functional.normalization import _update
from ..module import Module
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over ``(N, C, *)`` with statistics synchronised across processes (see the module docstring).
    ``process_group`` is accepted for torch compatibility: lucid has only the default group."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def _check_input(self, input: Tensor) -> None:
        if not isinstance(input, Tensor) or input.ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected an input of at least 2 dimensions (N, C, *), got "
                             f"{getattr(input, 'shape', input)}")

    def forward(self, input: Tensor) -> Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(input)
        self._check_input(input)
        self._check_channels(input)
        c = self.num_features
        axes = (0, *range(2, input.ndim))
        shape = (1, c) + (1,) * (input.ndim - 2)
        local = cat([input.mean(axes), input.var(axes, correction=0),
                     full((1,), input.numel() // c, dtype=input.dtype, device=input.device)])
        stats = stack(dist_functional.all_gather(local))  # (world, 2c + 1)
        counts = stats[:, 2 * c:]
        n = counts.sum()
        mean = (stats[:, :c] * counts).sum(0) / n
        var = ((stats[:, c:2 * c] + (stats[:, :c] - mean) ** 2) * counts).sum(0) / n
        y = (input - mean.reshape(shape)) * (var.reshape(shape) + self.eps).rsqrt()
        if self.weight is not None:
            y = y * self.weight.reshape(shape)
        if self.bias is not None:  # None with bias=False
            y = y + self.bias.reshape(shape)
        if self.track_running_stats:
            with grad_mode.no_grad():
                _update([(self.running_mean, mean), (self.running_var, var * n / (n - 1))], self._momentum(True))
                self.num_batches_tracked.add_(1)
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every BatchNorm layer replaced by a SyncBatchNorm that keeps its parameters, buffers
        and settings (the same Parameter objects, so an optimizer built before still works)."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group, bias=module.bias is not None)
            for name in ("weight", "bias"):
                if getattr(module, name) is not None:
                    setattr(converted, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                if getattr(module, name) is not None:
                    setattr(converted, name, getattr(module, name))
            converted.train(module.training)
            return converted
        for name, child in list(module.named_children()):
            setattr(module, name, cls.convert_sync_batchnorm(child, process_group))
        return module
