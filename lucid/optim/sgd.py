"""Stochastic gradient descent: ``SGD`` (momentum, dampening, Nesterov) and averaged ``ASGD``."""

from __future__ import annotations

from .._backend.registry import kernels_for
from ..sparse._coo import add_into_
from .optimizer import Optimizer, check_nonnegative, grad_with_decay, state_like

__all__ = ["SGD", "ASGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (as ``torch.optim.SGD``).

    ``buf = momentum * buf + (1 - dampening) * g`` (the first step sets ``buf = g``), then
    ``p -= lr * (g + momentum * buf if nesterov else buf)``. The state holds
    ``momentum_buffer`` when ``momentum != 0``. A sparse gradient (``Embedding(sparse=True)``) steps as
    PyTorch's: the momentum buffer is sparse too (its entries accumulate), weight decay is refused.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False, foreach=None,
                 differentiable: bool = False, fused=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _check(self, group):
        check_nonnegative(group, "lr", "momentum", "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _init_state(self, p, group):
        return {"momentum_buffer": None} if group["momentum"] != 0 else {}

    def _update(self, xp, p, g, s, group):
        momentum = float(group["momentum"])
        buf = kernels_for(xp).sgd_update(
            p, g, s.get("momentum_buffer"), lr=float(group["lr"]), momentum=momentum,
            dampening=float(group["dampening"]), weight_decay=float(group["weight_decay"]),
            nesterov=bool(group["nesterov"]), maximize=bool(group["maximize"]))
        if momentum != 0:
            s["momentum_buffer"] = buf

    def _grad_refusal(self, p, g, group):
        buf = self.state.get(p, {}).get("momentum_buffer")
        if not g._sparse and buf is not None and buf._sparse:  # PyTorch's buf.mul_(momentum).add_(dense grad)
            return ("add(sparse, dense) is not supported. Use add(dense, sparse) instead. (SGD's momentum buffer is "
                    "sparse, from sparse gradients, and this gradient is dense: a parameter's gradients must stay "
                    "sparse or dense)")
        if g._sparse and group["weight_decay"] != 0:  # PyTorch's grad.add(param): sparse + dense
            return ("add(sparse, dense) is not supported. Use add(dense, sparse) instead. (SGD's weight_decay adds "
                    "the dense parameter to a sparse gradient: use weight_decay=0 for parameters with sparse "
                    "gradients, e.g. in a parameter group of their own)")
        return super()._grad_refusal(p, g, group)

    def _sparse_update(self, p, g, s, group):
        g = -g if group["maximize"] else g
        momentum = float(group["momentum"])
        if momentum != 0:
            buf, dampening = s["momentum_buffer"], 1 - float(group["dampening"])
            if buf is None:
                buf = g.clone()
            elif buf._sparse:  # PyTorch's in-place buf.mul_(momentum).add_(g): the entries side by side
                buf._take(buf.mul(momentum).add(g, alpha=dampening))
            else:
                buf.mul_(momentum)
                add_into_(buf, g, dampening)
            s["momentum_buffer"] = buf
            g = g.add(buf, alpha=momentum) if group["nesterov"] else buf
        add_into_(p, g, -float(group["lr"]))


class ASGD(Optimizer):
    """Averaged stochastic gradient descent (as ``torch.optim.ASGD``).

    ``p *= 1 - lambd * eta; p -= eta * g``; ``ax`` averages the iterates once ``step > t0``;
    ``eta = lr / (1 + lambd * lr * step) ** alpha`` and ``mu = 1 / max(1, step - t0)`` are kept
    in the state, with ``step``, as 0-d float32 CPU Tensors (PyTorch keeps them beside the parameter;
    lucid keeps them on the host, where reading them needs no device sync).
    """

    scalar_state = ("step", "eta", "mu")
    _capturable_state = "params, mus, etas, and state_steps"

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0, foreach=None, maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False):
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _check(self, group):
        check_nonnegative(group, "lr", "weight_decay")

    def _init_state(self, p, group):
        return {"step": 0, "eta": float(group["lr"]), "mu": 1.0, "ax": state_like(p)}

    def _update(self, xp, p, g, s, group):
        g = grad_with_decay(p, g, group["maximize"], float(group["weight_decay"]))
        lr, lambd, alpha, t0 = (float(group[k]) for k in ("lr", "lambd", "alpha", "t0"))
        s["step"] += 1
        eta, mu, ax = s["eta"], s["mu"], s["ax"]
        p *= 1 - lambd * eta
        p += -eta * g
        if mu != 1:
            ax += (p - ax) * mu
        else:
            ax[...] = p
        s["eta"] = lr / ((1 + lambd * lr * s["step"]) ** alpha)
        s["mu"] = 1 / max(1, s["step"] - t0)
