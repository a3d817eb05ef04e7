"""``Adafactor``: Adam-like steps with the second moment of a matrix kept as row and column means
(memory ``m + n`` instead of ``m n``), relative step sizes and update clipping. Numerics follow
PyTorch's single-tensor implementation (``torch.optim.Adafactor``), including its host reads of
the parameter and update norms."""

from __future__ import annotations

import math

from .._backend import arrays
from ..ops.creation import zeros
from .optimizer import _OPTION_TYPES, Optimizer, add_scaled_, check_nonnegative, lerp_

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor (as ``torch.optim.Adafactor``): ``beta2_t = t ** beta2_decay``; a matrix gradient (the last
    two dimensions) updates row and column means of ``g^2``, a vector one a full variance; the step is
    ``max(eps2, rms(p)) * min(lr, 1/sqrt(t))`` along ``g / sqrt(v)``, clipped to RMS ``d``. ``eps`` is
    ``(eps1, eps2)``, ``eps1 = None`` meaning the dtype's machine epsilon. One host sync per parameter and
    step, as in PyTorch: ``rms(p)`` is read to a number for the step size (PyTorch's ``.item()``)."""

    scalar_state = ("step",)
    option_types = {**{k: v for k, v in _OPTION_TYPES.items() if k != "eps"}, "beta2_decay": "number", "d": "number"}
    complex_params = False  # as PyTorch

    def __init__(self, params, lr: float = 1e-2, beta2_decay: float = -0.8, eps=(None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach=None, maximize: bool = False):
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d,
                                      weight_decay=weight_decay, foreach=foreach, maximize=maximize))

    def _check(self, group):
        check_nonnegative(group, "lr", "weight_decay")
        if not group["beta2_decay"] <= 0:
            raise ValueError(f"beta2_decay should be <= 0 but is: {group['beta2_decay']}")
        eps = group["eps"]
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise ValueError(f"Invalid eps: {eps!r}; expected a pair (eps1 or None, eps2)")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= group["d"]:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {group['d']}")

    @staticmethod
    def _wants_foreach(group, params) -> bool:
        return False  # the factored moments keep each parameter's shape: no flat buffers

    def _init_state(self, p, group):
        keys = ("row_var", "col_var") if p.ndim > 1 else ("variance",)
        return {"step": 0.0, **{k: zeros(self._state_shape(k, p), dtype=p.dtype, device=p.device) for k in keys}}

    def _state_shape(self, key, p):
        if key == "row_var":
            return p.shape[:-1] + (1,)
        if key == "col_var":
            return p.shape[:-2] + (1, p.shape[-1])
        return p.shape

    def _update(self, xp, p, g, s, group):
        lr, wd, d = float(group["lr"]), float(group["weight_decay"]), float(group["d"])
        eps1, eps2 = group["eps"]
        eps1 = float(xp.finfo(p.dtype).eps) if eps1 is None else float(eps1)
        if group["maximize"]:
            g = -g
        s["step"] += 1.0
        step = s["step"]
        beta = step ** float(group["beta2_decay"])
        rho = min(lr, 1 / step ** 0.5)
        alpha = max(float(eps2), float(xp.linalg.vector_norm(p)) / math.sqrt(math.prod(p.shape))) * rho
        if wd != 0:
            p *= 1 - lr * wd
        if g.ndim > 1:
            row_var, col_var = s["row_var"], s["col_var"]
            lerp_(row_var, xp.linalg.vector_norm(g, axis=-1, keepdims=True) ** 2 / g.shape[-1], beta)
            lerp_(col_var, xp.linalg.vector_norm(g, axis=-2, keepdims=True) ** 2 / g.shape[-2], beta)
            var = xp.matmul(row_var, col_var) / arrays.clip(xp, xp.mean(row_var, axis=-2, keepdims=True), eps1)
        else:
            lerp_(s["variance"], g * g, beta)
            var = s["variance"]
        update = g / xp.sqrt(arrays.clip(xp, var, eps1 * eps1))
        update = update / xp.maximum(xp.linalg.vector_norm(update) / (math.sqrt(math.prod(update.shape)) * d), 1.0)
        add_scaled_(p, update, -alpha)
