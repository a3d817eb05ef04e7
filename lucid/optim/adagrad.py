"""Optimizers that scale the step by accumulated squared gradients: ``Adagrad``, ``Adadelta``,
``RMSprop``. Numerics follow PyTorch's single-tensor implementations."""

from __future__ import annotations

from .optimizer import Optimizer, check_nonnegative, grad_with_decay, lerp_, state_like

__all__ = ["Adagrad", "Adadelta", "RMSprop"]


def _accumulate(avg, g, decay: float) -> None:
    """``avg = decay * avg + (1 - decay) * g^2`` in place."""
    avg *= decay
    avg += (1 - decay) * g * g


class Adagrad(Optimizer):
    """Adagrad (as ``torch.optim.Adagrad``): ``sum += g^2``,
    ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)``. As in PyTorch the state
    (``step``, ``sum`` filled with ``initial_accumulator_value``) exists from construction."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach=None, *, maximize: bool = False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize))
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p].update(self._init_state(p, group))

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


class Adadelta(Optimizer):
    """Adadelta (as ``torch.optim.Adadelta``): running averages of ``g^2`` (``square_avg``) and
    of the squared updates (``acc_delta``); ``delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g``,
    ``p -= lr * delta``."""

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 foreach=None, *, maximize: bool = False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize))

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
        _accumulate(s["square_avg"], g, rho)
        std = xp.sqrt(s["square_avg"] + eps)
        delta = xp.sqrt(s["acc_delta"] + eps)
        delta /= std
        delta *= g
        _accumulate(s["acc_delta"], delta, rho)
        p += -float(group["lr"]) * delta


class RMSprop(Optimizer):
    """RMSprop (as ``torch.optim.RMSprop``): ``square_avg = alpha * square_avg + (1 - alpha) g^2``;
    ``centered`` subtracts the squared running mean of ``g`` (``grad_avg``); with ``momentum``
    the step goes through ``momentum_buffer``."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, foreach=None, maximize: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, foreach=foreach, maximize=maximize))

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
        _accumulate(s["square_avg"], g, alpha)
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
