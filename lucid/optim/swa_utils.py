"""``lucid.optim.swa_utils``: stochastic weight averaging and exponential moving averages of a model, as
``torch.optim.swa_utils``: :class:`AveragedModel`, the averaging functions, :func:`update_bn` and the
:class:`SWALR` schedule. Averages are updated in place, without recording a graph."""

from __future__ import annotations

import itertools
import math
from copy import deepcopy

from .. import dtypes as _dt
from .._tensor import Tensor
from ..autograd import grad_mode
from ..nn.layers.normalization import _BatchNorm
from ..nn.module import Module
from ..ops.creation import zeros
from .lr_scheduler import LRScheduler, _per_group
from .optimizer import lerp_

__all__ = ["AveragedModel", "SWALR", "get_ema_avg_fn", "get_ema_multi_avg_fn", "get_swa_avg_fn",
           "get_swa_multi_avg_fn", "update_bn"]


def _check_decay(decay: float) -> None:
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def _lerp_all(averaged: list, current: list, weight: float) -> None:
    """``a += weight * (c - a)`` in place for each pair, rounded as ``torch._foreach_lerp_``."""
    for a, c in zip(averaged, current):
        lerp_(a._data, c._data, weight)
        a._version[0] += 1


def get_ema_multi_avg_fn(decay: float = 0.999):
    """An in-place EMA over lists of tensors: ``ema = decay * ema + (1 - decay) * current`` (floating ones by
    lerp, as PyTorch's foreach path; integer ones rounded down by the copy back)."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _):
        with grad_mode.no_grad():
            if ema_param_list[0].dtype.kind == "f":
                _lerp_all(ema_param_list, current_param_list, 1 - decay)
            else:
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    p_ema.copy_(p_ema * decay + p_model * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn():
    """An in-place running mean over lists of tensors: ``avg += (current - avg) / (n + 1)``."""

    def swa_update(averaged_param_list, current_param_list, num_averaged):
        with grad_mode.no_grad():
            if averaged_param_list[0].dtype.kind == "f":
                # 1 / (n + 1) of an integer Tensor is a default-dtype (float32) Tensor, as in PyTorch
                weight = 1 / (num_averaged + 1)
                _lerp_all(averaged_param_list, current_param_list,
                          float(weight.item()) if isinstance(weight, Tensor) else weight)
            else:
                for a, c in zip(averaged_param_list, current_param_list):
                    a.copy_(a + (c - a) / (num_averaged + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999):
    """The EMA of one tensor: returns ``decay * ema + (1 - decay) * current``."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        with grad_mode.no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """The running mean of one tensor: returns ``avg + (current - avg) / (n + 1)``."""

    def swa_update(averaged_param, current_param, num_averaged):
        with grad_mode.no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` (on ``device`` when given) whose parameters (and buffers, with ``use_buffers``) are
    running averages of ``model``'s: the first :meth:`update_parameters` copies them, later ones apply
    ``avg_fn`` (one tensor at a time, its result copied in) or ``multi_avg_fn`` (lists, in place), by default
    the equal-weight SWA mean (computed as PyTorch computes it on the CPU). Without ``use_buffers`` the
    buffers are copied from ``model`` on every update. ``n_averaged`` (an int64 buffer) counts the updates."""

    def __init__(self, model: Module, device=None, avg_fn=None, multi_avg_fn=None, use_buffers: bool = False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", zeros((), dtype=_dt.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _pairs(self, model: Module):
        if self.use_buffers:
            return zip(itertools.chain(self.module.parameters(), self.module.buffers()),
                       itertools.chain(model.parameters(), model.buffers()))
        return zip(self.module.parameters(), model.parameters())

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters into the averages."""
        n = int(self.n_averaged.item())
        with grad_mode.no_grad():
            averaged, current = [], []
            for p_avg, p_model in self._pairs(model):
                p_model = p_model.detach().to(p_avg.device)
                averaged.append(p_avg)
                current.append(p_model)
                if n == 0:
                    p_avg.copy_(p_model)
            if n > 0:
                if self.multi_avg_fn is not None:
                    groups: dict = {}
                    for a, c in zip(averaged, current):
                        groups.setdefault((a.device, a.dtype), ([], []))
                        groups[(a.device, a.dtype)][0].append(a)
                        groups[(a.device, a.dtype)][1].append(c)
                    for (device, _), (a_list, c_list) in groups.items():
                        self.multi_avg_fn(a_list, c_list, self.n_averaged.to(device))
                else:
                    avg_fn = self.avg_fn or get_swa_avg_fn()
                    for a, c in zip(averaged, current):
                        a.copy_(avg_fn(a.detach(), c, self.n_averaged.to(a.device)))
            if not self.use_buffers:
                for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                    b_avg.copy_(b_model.detach().to(b_avg.device))
            self.n_averaged.add_(1)


def update_bn(loader, model: Module, device=None) -> None:
    """Recompute the running statistics of ``model``'s batch-norm layers with one pass over ``loader``
    (batches are tensors, or sequences whose first item is the input), as a cumulative average; the
    layers' momenta and the model's train/eval mode are restored afterwards."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    try:
        with grad_mode.no_grad():
            for input in loader:
                if isinstance(input, (list, tuple)):
                    input = input[0]
                if device is not None:
                    input = input.to(device)
                model(input)
    finally:
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's learning rate to ``swa_lr`` (one value or one per group) over ``anneal_epochs``
    epochs, by cosine (``'cos'``) or linearly, then hold it, as ``torch.optim.swa_utils.SWALR``."""

    def __init__(self, optimizer, swa_lr, anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1):
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        if isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        for value, group in zip(_per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = value
        self._anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t: float) -> float:
        """The fraction of the way from the current rate to ``swa_lr`` at progress ``t`` in [0, 1]."""
        return (1 - math.cos(math.pi * t)) / 2 if self._anneal_strategy == "cos" else t

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        groups = self.optimizer.param_groups
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, prev_lrs)]
