"""``Adagrad``: the step scaled by the sum of all squared gradients so far. Numerics follow
PyTorch's single-tensor implementation."""

from __future__ import annotations

from ..sparse._coo import add_into_
from .optimizer import Optimizer, check_nonnegative, grad_with_decay, state_like

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (as ``torch.optim.Adagrad``): ``sum += g^2``,
    ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)``. As in PyTorch the state
    (``step``, ``sum`` filled with ``initial_accumulator_value``) exists from construction. A sparse gradient
    updates ``sum`` and the parameter at its entries only, as PyTorch's (weight decay refused)."""

    scalar_state = ("step",)

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach=None, *, maximize: bool = False,
                 differentiable: bool = False, fused=None):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p].update(self._new_state(p, group))

    def _check(self, group):
        check_nonnegative(group, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def _init_state(self, p, group):
        return {"step": 0, "sum": state_like(p, float(group["initial_accumulator_value"]))}

    def _update(self, xp, p, g, s, group):
        g = grad_with_decay(p, g, group["maximize"], float(group["weight_decay"]))
        s["step"] += 1
        clr = float(group["lr"]) / (1 + (s["step"] - 1) * float(group["lr_decay"]))
        s["sum"] += g * g
        std = xp.sqrt(s["sum"])
        std += float(group["eps"])
        p += -clr * g / std

    def _grad_refusal(self, p, g, group):
        if g._sparse and group["weight_decay"] != 0:
            return "weight_decay option is not compatible with sparse gradients"
        return super()._grad_refusal(p, g, group)

    def _sparse_update(self, p, g, s, group):
        g = (-g if group["maximize"] else g).coalesce()
        s["step"] += 1
        clr = float(group["lr"]) / (1 + (s["step"] - 1) * float(group["lr_decay"]))
        values = g._vals
        add_into_(s["sum"], g._like(g._parts(), values * values))
        std = s["sum"][tuple(g._idx)].sqrt() + float(group["eps"])
        add_into_(p, g._like(g._parts(), values / std), -clr)
