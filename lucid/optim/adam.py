"""The Adam family: ``Adam`` (with AMSGrad), ``AdamW``, ``Adamax``, ``NAdam``, ``RAdam``.

Each keeps ``step`` (a 0-d float32 CPU Tensor, as PyTorch) and the moment estimates ``exp_avg`` (first moment) and
``exp_avg_sq`` / ``exp_inf`` (second moment / infinity norm) as Tensors shaped like the
parameter. Numerics follow PyTorch's single-tensor implementations, operation by operation.
"""

from __future__ import annotations

from .._backend.registry import kernels_for
from .._tensor import Tensor
from ..sparse._coo import add_into_
from .optimizer import (
    Optimizer,
    check_betas,
    check_nonnegative,
    ema_square_,
    grad_with_decay,
    lerp_,
    round_scalar,
    state_like,
)

__all__ = ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "SparseAdam"]


def _check_tensor_options(lr, betas, foreach_without_capturable: bool) -> None:
    """PyTorch's Adam/AdamW checks of Tensor options: ``betas`` both numbers or both Tensors, and neither they nor
    ``lr`` Tensors with ``foreach=True`` unless ``capturable=True`` (PyTorch's foreach kernels take numbers)."""
    if len(betas) == 2 and isinstance(betas[0], Tensor) != isinstance(betas[1], Tensor):
        raise ValueError("betas must be either both floats or both Tensors")
    if foreach_without_capturable:
        for name, value in (("lr", lr), ("betas[0]", betas[0]), ("betas[1]", betas[-1])):
            if isinstance(value, Tensor):
                raise ValueError(f"{name} as a Tensor is not supported for capturable=False and foreach=True")


class _AdamBase(Optimizer):
    """Options and state shared by the family: ``betas``, ``eps``, ``weight_decay``."""

    _moments = ("exp_avg", "exp_avg_sq")
    scalar_state = ("step",)

    def _check(self, group):
        check_nonnegative(group, "lr", "eps", "weight_decay")
        check_betas(group)

    def _init_state(self, p, group):
        return dict({"step": 0}, **{name: state_like(p) for name in self._moments})

    @staticmethod
    def _decay(p, g, s, group):
        """Advance ``step``; apply weight decay (decoupled: shrink ``p``; else L2 into ``g``)."""
        s["step"] += 1
        wd = float(group["weight_decay"])
        if group.get("decoupled_weight_decay"):
            if wd != 0:
                p *= 1 - float(group["lr"]) * wd
            wd = 0.0
        return grad_with_decay(p, g, group["maximize"], wd)

    @staticmethod
    def _moments_update(g, s, beta1, beta2):
        """``exp_avg = lerp(exp_avg, g, 1 - beta1)``, ``exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) g^2``."""
        lerp_(s["exp_avg"], g, 1 - beta1)
        ema_square_(s["exp_avg_sq"], g, beta2)


class Adam(_AdamBase):
    """Adam (as ``torch.optim.Adam``): bias-corrected moment estimates,
    ``p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``.

    ``amsgrad=True`` normalises by the running maximum of ``v``, kept in the state as
    ``max_exp_avg_sq``. ``decoupled_weight_decay=True`` makes it AdamW.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 amsgrad: bool = False, *, foreach=None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused=None, decoupled_weight_decay: bool = False):
        _check_tensor_options(lr, betas, foreach and not capturable)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _init_state(self, p, group):
        state = super()._init_state(p, group)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = state_like(p)
        return state

    def _grad_refusal(self, p, g, group):
        if g._sparse:  # AdamW's too, as PyTorch's
            return "Adam does not support sparse gradients, please consider SparseAdam instead"
        return None

    def _update(self, xp, p, grad, s, group):
        s["step"] += 1
        beta1, beta2 = (float(b) for b in group["betas"])
        kernels_for(xp).adam_update(
            p, grad, s["exp_avg"], s["exp_avg_sq"], s.get("max_exp_avg_sq") if group["amsgrad"] else None,
            step=s["step"], lr=float(group["lr"]), beta1=beta1, beta2=beta2, eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]), decoupled=bool(group.get("decoupled_weight_decay")),
            maximize=bool(group["maximize"]))


class AdamW(Adam):
    """Adam with decoupled weight decay (as ``torch.optim.AdamW``): ``p *= 1 - lr * weight_decay``
    before the Adam step; the default ``weight_decay`` is 1e-2."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False, foreach=None, capturable: bool = False,
                 differentiable: bool = False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


class Adamax(_AdamBase):
    """Adamax (as ``torch.optim.Adamax``): Adam with the infinity norm,
    ``u = max(beta2 * u, |g| + eps)``, ``p -= lr / (1 - beta1^t) * m / u``."""

    _moments = ("exp_avg", "exp_inf")

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 foreach=None, *, maximize: bool = False, differentiable: bool = False, capturable: bool = False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))

    def _update(self, xp, p, g, s, group):
        g = self._decay(p, g, s, group)
        beta1, beta2 = (float(b) for b in group["betas"])
        lerp_(s["exp_avg"], g, 1 - beta1)
        u = s["exp_inf"]
        u *= beta2
        u[...] = xp.maximum(u, xp.abs(g) + float(group["eps"]))
        clr = float(group["lr"]) / (1 - beta1 ** s["step"])
        p += -clr * s["exp_avg"] / u


class NAdam(_AdamBase):
    """NAdam (as ``torch.optim.NAdam``): Adam with Nesterov momentum and the momentum schedule
    ``mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))``; the state keeps their running
    product ``mu_product`` as a 0-d float32 CPU Tensor, rounded to float32 each step as PyTorch's."""

    scalar_state = ("step", "mu_product")
    _capturable_state = "params, mu_products and state_steps"

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def _check(self, group):
        super()._check(group)
        check_nonnegative(group, "momentum_decay")

    def _init_state(self, p, group):
        state = super()._init_state(p, group)
        return {"step": state.pop("step"), "mu_product": 1.0, **state}  # PyTorch's order

    def _update(self, xp, p, g, s, group):
        g = self._decay(p, g, s, group)
        beta1, beta2 = (float(b) for b in group["betas"])
        lr, decay, step = float(group["lr"]), float(group["momentum_decay"]), s["step"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
        mu_product = s["mu_product"] = round_scalar(s["mu_product"] * round_scalar(mu))
        self._moments_update(g, s, beta1, beta2)
        denom = xp.sqrt(s["exp_avg_sq"] / (1 - beta2 ** step))
        denom += float(group["eps"])
        p += (-lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
        p += ((-lr * mu_next) / (1.0 - mu_product * mu_next)) * s["exp_avg"] / denom


class RAdam(_AdamBase):
    """RAdam (as ``torch.optim.RAdam``): Adam whose adaptive term is switched on, with the
    variance rectification factor, only once the approximated SMA length ``rho_t`` exceeds 5;
    before that it is SGD with bias-corrected momentum."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable))

    def _update(self, xp, p, g, s, group):
        g = self._decay(p, g, s, group)
        beta1, beta2 = (float(b) for b in group["betas"])
        lr, step = float(group["lr"]), s["step"]
        self._moments_update(g, s, beta1, beta2)
        bias_correction2 = 1 - beta2 ** step
        update = s["exp_avg"] / (1 - beta1 ** step) * lr
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            root = xp.sqrt(s["exp_avg_sq"])
            root += float(group["eps"])
            update *= (1.0 / root) * bias_correction2 ** 0.5  # torch computes scalar / tensor this way
            update *= rect
        p -= update


class SparseAdam(Optimizer):
    """Adam for sparse gradients (``nn.Embedding(sparse=True)``; as ``torch.optim.SparseAdam``): only the entries
    present in the gradient update their moments and the parameter (rows without a gradient this step keep their
    moments, where Adam decays them). Dense parameters only; a dense gradient is refused. ``step`` is kept as a
    Python int, as PyTorch's."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, maximize: bool = False):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, maximize=maximize))
        for kind, test in (("Sparse", lambda p: p._sparse), ("Complex", lambda p: p.dtype.kind == "c")):
            found = [[i, j] for i, group in enumerate(self.param_groups) for j, p in enumerate(group["params"])
                     if test(p)]
            if found:
                what = "requires dense parameter tensors" if kind == "Sparse" else "does not support complex parameters"
                raise ValueError(f"{kind} params at indices {found}: SparseAdam {what}")

    def _check(self, group):
        check_betas(group)

    def _init_state(self, p, group):
        return {"step": 0, "exp_avg": state_like(p), "exp_avg_sq": state_like(p)}

    def _grad_refusal(self, p, g, group):
        if not g._sparse:
            return "SparseAdam does not support dense gradients, please consider Adam instead"
        return None

    def _sparse_update(self, p, g, s, group):
        s["step"] += 1
        g = (-g if group["maximize"] else g).coalesce()
        values = g._vals
        if not values.shape[0]:
            return
        beta1, beta2 = (float(b) for b in group["betas"])
        at = tuple(g._idx)
        old_avg, old_sq = s["exp_avg"][at], s["exp_avg_sq"][at]
        avg_update = (values - old_avg) * (1 - beta1)
        sq_update = (values * values - old_sq) * (1 - beta2)
        add_into_(s["exp_avg"], g._like(g._parts(), avg_update))
        add_into_(s["exp_avg_sq"], g._like(g._parts(), sq_update))
        denom = (sq_update + old_sq).sqrt() + float(group["eps"])
        step = s["step"]
        step_size = float(group["lr"]) * (1 - beta2 ** step) ** 0.5 / (1 - beta1 ** step)
        add_into_(p, g._like(g._parts(), -step_size * ((avg_update + old_avg) / denom)))
