"""``AdaptiveLogSoftmaxWithLoss`` (Grave et al., 2016, "Efficient softmax approximation for GPUs"), with
PyTorch's parameters (``head``, ``tail.{i}.0``/``tail.{i}.1``), outputs and errors."""

from __future__ import annotations

from typing import NamedTuple

from ..._tensor import Tensor
from ...ops.indexing import where
from ...ops.shape import cat
from ..containers import ModuleList, Sequential
from ..functional.activation import log_softmax
from ..module import Module
from .linear import Linear

__all__ = ["AdaptiveLogSoftmaxWithLoss"]


class _ASMoutput(NamedTuple):
    output: Tensor
    loss: Tensor


class AdaptiveLogSoftmaxWithLoss(Module):
    """Log-probabilities over ``n_classes`` split at ``cutoffs`` into a frequent shortlist (in the ``head``,
    with one extra logit per tail cluster) and clusters whose ``tail`` projections shrink by ``div_value``.
    ``forward(input, target)`` returns ``(output, loss)``: each row's target log-probability and the
    mean negative of them.

    Unlike PyTorch, each cluster's projection runs on the whole batch and the rows of other clusters
    are masked out (same values and gradients, no data-dependent shapes); checking that every target is in
    ``[0, n_classes)`` still reads one flag back from the device, as PyTorch does."""

    def __init__(self, in_features: int, n_classes: int, cutoffs, div_value: float = 4.0, head_bias: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if not cutoffs:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             f"order, where each value is between 1 and n_classes-1; got {cutoffs}")
        self.in_features, self.n_classes, self.cutoffs = in_features, n_classes, [int(c) for c in cutoffs] + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        factory = {"device": device, "dtype": dtype}
        self.head = Linear(in_features, self.head_size, bias=head_bias, **factory)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, **factory),
                                        Linear(hidden, size, bias=False, **factory)))

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for projection in self.tail:
            for layer in projection:
                layer.reset_parameters()

    def forward(self, input: Tensor, target: Tensor) -> _ASMoutput:
        if target.ndim == 1:
            if input.ndim != 2 or input.shape[0] != target.shape[0]:
                raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: a 1-D target of {target.shape[0]} rows needs a 2-D "
                                   f"input with as many rows, got input of shape {input.shape}")
        elif target.ndim == 0:
            if input.ndim != 1:
                raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: a 0-D target needs a 1-D input, got {input.shape}")
        else:
            raise RuntimeError("AdaptiveLogSoftmaxWithLoss: 0D or 1D target tensor expected, multi-target not "
                               "supported")
        batched = target.ndim > 0
        if not batched:
            input, target = input.unsqueeze(0), target.unsqueeze(0)
        if bool(((target < 0) | (target >= self.n_classes)).any()):
            raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: target values should be in [0, {self.n_classes - 1}], "
                               f"got [{target.min().item()}, {target.max().item()}]")
        head_index, output = target, None
        for i, (low, high) in enumerate(zip(self.cutoffs, self.cutoffs[1:])):
            in_cluster = (target >= low) & (target < high)
            head_index = where(in_cluster, self.shortlist_size + i, head_index)
            relative = (target - low).clamp(0, high - low - 1)
            local = log_softmax(self.tail[i](input), dim=1).gather(1, relative.unsqueeze(1)).squeeze(1)
            local = where(in_cluster, local, 0.0)
            output = local if output is None else output + local
        head = log_softmax(self.head(input), dim=1).gather(1, head_index.unsqueeze(1)).squeeze(1)
        output = head if output is None else head + output
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _full_log_prob(self, input: Tensor) -> Tensor:
        head = log_softmax(self.head(input), dim=1)
        parts = [head[:, :self.shortlist_size]]
        for i, projection in enumerate(self.tail):
            parts.append(log_softmax(projection(input), dim=1) + head[:, self.shortlist_size + i].unsqueeze(1))
        return cat(parts, dim=1)

    def log_prob(self, input: Tensor) -> Tensor:
        """Log-probabilities of every class: ``(N, n_classes)`` for ``(N, in_features)`` (or unbatched)."""
        if input.ndim == 1:
            return self._full_log_prob(input.unsqueeze(0)).squeeze(0)
        return self._full_log_prob(input)

    def predict(self, input: Tensor) -> Tensor:
        """The most likely class of each row (of ``log_prob``)."""
        return self.log_prob(input).argmax(dim=-1)
