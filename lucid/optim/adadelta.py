"""``Adadelta``: the step scaled by running means of the squared gradients and of the squared
updates, so it needs no learning-rate schedule. Numerics follow PyTorch's single-tensor implementation."""

from __future__ import annotations

from .optimizer import Optimizer, check_nonnegative, ema_square_, grad_with_decay, state_like

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (as ``torch.optim.Adadelta``): running averages of ``g^2`` (``square_avg``) and
    of the squared updates (``acc_delta``); ``delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g``,
    ``p -= lr * delta``."""

    scalar_state = ("step",)

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 foreach=None, *, capturable: bool = False, maximize: bool = False, differentiable: bool = False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      capturable=capturable, foreach=foreach, differentiable=differentiable))

    def _check(self, group):
        check_nonnegative(group, "lr", "eps", "weight_decay")
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']!r}; it must be in [0, 1]")

    def _init_state(self, p, group):
        return {"step": 0, "square_avg": state_like(p), "acc_delta": state_like(p)}

    def _update(self, xp, p, g, s, group):
        g = grad_with_decay(p, g, group["maximize"], float(group["weight_decay"]))
        rho, eps = float(group["rho"]), float(group["eps"])
        s["step"] += 1
        ema_square_(s["square_avg"], g, rho)
        std = xp.sqrt(s["square_avg"] + eps)
        delta = xp.sqrt(s["acc_delta"] + eps)
        delta /= std
        delta *= g
        ema_square_(s["acc_delta"], delta, rho)
        p += -float(group["lr"]) * delta
