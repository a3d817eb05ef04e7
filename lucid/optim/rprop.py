"""``Rprop``: resilient backpropagation, a per-element step size driven by gradient signs."""

from __future__ import annotations

from .._backend import arrays
from .optimizer import Optimizer, state_like

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Rprop (as ``torch.optim.Rprop``). Each element's ``step_size`` (starting at ``lr``) is
    multiplied by ``etaplus`` while its gradient keeps its sign and by ``etaminus`` when the sign
    flips (then that element skips the step and forgets its gradient), clipped to
    ``step_sizes``; ``p -= sign(g) * step_size``."""

    scalar_state = ("step",)

    def __init__(self, params, lr: float = 1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable: bool = False,
                 foreach=None, maximize: bool = False, differentiable: bool = False):
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))

    def _check(self, group):
        if not group["lr"] >= 0:
            raise ValueError(f"Invalid lr: {group['lr']!r}; it must be >= 0")
        etaminus, etaplus = group["etas"]
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(f"Invalid eta values: {etaminus!r}, {etaplus!r}; need 0 < etaminus < 1 < etaplus")

    def _init_state(self, p, group):
        return {"step": 0, "prev": state_like(p), "step_size": state_like(p, float(group["lr"]))}

    def _update(self, xp, p, g, s, group):
        if group["maximize"]:
            g = -g
        etaminus, etaplus = (float(e) for e in group["etas"])
        low, high = (float(v) for v in group["step_sizes"])
        s["step"] += 1
        prev, step_size = s["prev"], s["step_size"]
        agreement = g * prev
        flipped = agreement < 0
        # where, not masked writes: a masked write reads its mask's count back to the host on CuPy
        factor = xp.where(agreement > 0, etaplus, xp.where(flipped, etaminus, xp.ones_like(g)))
        step_size *= factor
        step_size[...] = arrays.clip(xp, step_size, low, high)
        g = xp.where(flipped, 0.0, g)
        p -= arrays.sign(xp, g) * step_size
        prev[...] = g
