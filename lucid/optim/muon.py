"""``Muon``: momentum SGD for 2-D weights whose step is the momentum orthogonalised by a quintic
Newton-Schulz iteration (``torch.optim.Muon``). PyTorch runs that iteration in bfloat16; lucid has no
bfloat16 and runs it in the parameter's dtype, so steps agree with PyTorch's to bfloat16 precision
(about 1e-2 relative), not bit for bit."""

from __future__ import annotations

import math

from .optimizer import _OPTION_TYPES, Optimizer, add_scaled_, check_nonnegative, lerp_, state_like

__all__ = ["Muon"]

_ADJUST_LR = ("original", "match_rms_adamw")


def _newton_schulz(xp, g, coefficients, steps: int, eps: float):
    """An approximately orthogonal matrix with ``g``'s singular vectors (``U S' V^T``, ``S'`` near 1)."""
    a, b, c = (float(v) for v in coefficients)
    tall = g.shape[0] > g.shape[1]
    x = xp.matrix_transpose(g) if tall else g
    x = x / xp.maximum(xp.linalg.vector_norm(x), eps)  # on the device, as PyTorch (a float() would sync)
    for _ in range(steps):
        gram = xp.matmul(x, xp.matrix_transpose(x))
        x = a * x + xp.matmul(b * gram + c * xp.matmul(gram, gram), x)
    return xp.matrix_transpose(x) if tall else x


class Muon(Optimizer):
    """Muon (as ``torch.optim.Muon``), for 2-D parameters only: ``B = momentum * B + (1 - momentum) * g`` (a
    lerp), the Nesterov mix ``g + momentum * (B - g)`` when ``nesterov``, Newton-Schulz orthogonalisation
    (``ns_steps`` iterations of ``ns_coefficients``), decoupled weight decay, and the step scaled by
    ``adjust_lr_fn`` (``'original'``: ``sqrt(max(1, rows / cols))``; ``'match_rms_adamw'``:
    ``0.2 * sqrt(max(rows, cols))``)."""

    option_types = {**_OPTION_TYPES, "ns_steps": "int", "adjust_lr_fn": "str or None"}
    complex_params = False  # as PyTorch

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients=(3.4445, -4.7750, 2.0315), eps: float = 1e-7,
                 ns_steps: int = 5, adjust_lr_fn=None):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                                      ns_coefficients=tuple(ns_coefficients), eps=eps, ns_steps=ns_steps,
                                      adjust_lr_fn=adjust_lr_fn))
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{p.shape}; optimize the others with AdamW")

    def _check(self, group):
        check_nonnegative(group, "lr", "momentum", "weight_decay")
        if group["adjust_lr_fn"] is not None and group["adjust_lr_fn"] not in _ADJUST_LR:
            raise ValueError(f"Adjust learning rate function {group['adjust_lr_fn']} is not supported; use one of "
                             f"{_ADJUST_LR} or None")
        if group["ns_steps"] >= 100:
            raise ValueError("Number of steps must be less than 100 for computational efficiency")
        if len(group["ns_coefficients"]) != 3:
            raise ValueError("Coefficients must be a tuple of exactly 3 values")

    @staticmethod
    def _wants_foreach(group, params) -> bool:
        return False  # each step orthogonalises one matrix: no flat buffers

    def _init_state(self, p, group):
        return {"momentum_buffer": state_like(p)}

    def _update(self, xp, p, g, s, group):
        lr, momentum = float(group["lr"]), float(group["momentum"])
        buf = s["momentum_buffer"]
        lerp_(buf, g, 1 - momentum)
        update = buf
        if group["nesterov"]:
            update = xp.asarray(g, copy=True)
            lerp_(update, buf, momentum)
        update = _newton_schulz(xp, update, group["ns_coefficients"], int(group["ns_steps"]), float(group["eps"]))
        rows, cols = p.shape
        if group["adjust_lr_fn"] == "match_rms_adamw":
            ratio = 0.2 * math.sqrt(max(rows, cols))
        else:
            ratio = math.sqrt(max(1, rows / cols))
        p *= 1 - lr * float(group["weight_decay"])
        add_scaled_(p, update, -lr * ratio)
