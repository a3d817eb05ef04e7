"""``RMSprop``: the step scaled by a running mean of the squared gradients (optionally centred,
with momentum). Numerics follow PyTorch's single-tensor implementation."""

from __future__ import annotations

from .optimizer import Optimizer, check_nonnegative, ema_square_, grad_with_decay, lerp_, state_like

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (as ``torch.optim.RMSprop``): ``square_avg = alpha * square_avg + (1 - alpha) g^2``;
    ``centered`` subtracts the squared running mean of ``g`` (``grad_avg``); with ``momentum``
    the step goes through ``momentum_buffer``."""

    scalar_state = ("step",)

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, capturable: bool = False, foreach=None,
                 maximize: bool = False, differentiable: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    def _check(self, group):
        check_nonnegative(group, "lr", "eps", "momentum", "weight_decay", "alpha")

    def _init_state(self, p, group):
        state = {"step": 0, "square_avg": state_like(p)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = state_like(p)
        if group["centered"]:
            state["grad_avg"] = state_like(p)
        return state

    def _update(self, xp, p, g, s, group):
        g = grad_with_decay(p, g, group["maximize"], float(group["weight_decay"]))
        alpha, lr, momentum = float(group["alpha"]), float(group["lr"]), float(group["momentum"])
        s["step"] += 1
        ema_square_(s["square_avg"], g, alpha)
        if group["centered"]:
            grad_avg = s["grad_avg"]
            lerp_(grad_avg, g, 1 - alpha)
            avg = xp.sqrt(s["square_avg"] - grad_avg * grad_avg)
        else:
            avg = xp.sqrt(s["square_avg"])
        avg += float(group["eps"])
        if momentum > 0:
            buf = s["momentum_buffer"]
            buf *= momentum
            buf += g / avg
            p += -lr * buf
        else:
            p += -lr * g / avg
