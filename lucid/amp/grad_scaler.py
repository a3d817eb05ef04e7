"""``GradScaler``: loss scaling for float16 training, as ``torch.amp.GradScaler``.

float16 gradients underflow; multiplying the loss by a large ``scale`` before backward keeps
them representable. The scaler divides the gradients back (:meth:`GradScaler.unscale_`),
skips the optimizer step when any of them is inf or NaN (the scale was too large), and adapts
the scale: times ``backoff_factor`` after a skipped step, times ``growth_factor`` after
``growth_interval`` steps in a row without one::

    scaler = lucid.amp.GradScaler()
    with lucid.amp.autocast("cuda"):
        loss = loss_fn(model(x), y)
    scaler.scale(loss).backward()
    scaler.step(optimizer)      # unscales, then steps unless a gradient is inf/NaN
    scaler.update()

The scale is a host number (PyTorch keeps a one-element GPU tensor), so it serves tensors on
any device. The only sync point is :meth:`step` reading whether the gradients were finite.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .._tensor import Tensor

__all__ = ["GradScaler"]

_FLOAT32_MAX = 3.4028234663852886e38  # the scale grows only while it stays a finite float32, as in PyTorch
_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


def _float32(value: float) -> float:
    """``value`` rounded to float32: PyTorch keeps the scale in a float32 tensor, so every scale it reports (and
    every product with ``growth_factor``/``backoff_factor``) is a float32 number; inf where float32 overflows."""
    with np.errstate(over="ignore"):
        return float(np.float32(value))


class GradScaler:
    """Scale the loss, unscale and check the gradients, skip bad steps, adapt the scale.

    ``device`` is accepted for ``torch.amp.GradScaler("cuda")`` compatibility; the scale is a
    host number, so one scaler works for gradients on any device. ``enabled=False`` makes every
    method a pass-through (``step`` just steps), so one training loop serves both precisions.
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True):
        if not growth_factor > 1.0:
            raise ValueError(f"GradScaler: growth_factor must be > 1.0, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: backoff_factor must be in (0, 1), got {backoff_factor}")
        if isinstance(growth_interval, bool) or not isinstance(growth_interval, int) or growth_interval < 1:
            raise ValueError(f"GradScaler: growth_interval must be a positive int, got {growth_interval!r}")
        if not init_scale > 0:
            raise ValueError(f"GradScaler: init_scale must be positive, got {init_scale}")
        self.device = device
        self._enabled = bool(enabled)
        self._scale = _float32(init_scale)
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval = growth_interval
        self._growth_tracker = 0  # steps in a row without inf/NaN gradients
        self._scaled = False  # whether scale() ran: PyTorch makes its scale tensor there, lazily
        self._optimizers: dict[int, dict] = {}  # id(optimizer) -> {"stage", "finite" (per-device flags), "found_inf"}

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        """The current scale (1.0 when disabled), a float32 value as in PyTorch."""
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def _get_growth_tracker(self) -> int:
        """Steps in a row without inf/NaN gradients since the scale last changed (PyTorch's private getter)."""
        return self._growth_tracker if self._enabled else 0

    # ---- the three calls of a training step -----------------------------------------------
    def scale(self, outputs):
        """``outputs`` (a Tensor, or an iterable of them, nested) multiplied by the scale, keeping their
        dtype; unchanged when disabled. A list or tuple comes back as one; any other iterable as a lazy
        ``map``, as in PyTorch."""
        if not self._enabled:
            return outputs
        self._scaled = True
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if isinstance(outputs, Iterable) and not isinstance(outputs, (str, bytes)):
            return map(self.scale, outputs)
        raise TypeError(f"GradScaler.scale expects a Tensor or an iterable of Tensors, got {type(outputs).__name__}")

    def unscale_(self, optimizer) -> None:
        """Divide the gradients of ``optimizer``'s parameters by the scale, in place, and note
        whether any is inf/NaN. Call it before clipping gradients; ``step`` then does not
        unscale again. Once per optimizer between two ``update()`` calls."""
        if not self._enabled:
            return
        self._check_scaled("unscale_")
        state = self._state(optimizer)
        if state["stage"] is _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] is _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        state["finite"] = self._unscale_grads(optimizer, 1.0 / self._scale)
        state["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step(*args, **kwargs)`` on the unscaled gradients, unless one of them is
        inf/NaN: then the step is skipped (returns None) and :meth:`update` lowers the scale."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scaled("step")
        state = self._state(optimizer)
        if state["stage"] is _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is _READY:
            self.unscale_(optimizer)
        if not state["finite"]:
            raise RuntimeError("No inf checks were recorded for this optimizer: none of its parameters has a gradient.")
        result = None if self._found_inf(state) else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None) -> None:
        """Adapt the scale after this iteration's steps (or set it to ``new_scale``, a number
        or a one-element Tensor) and start the next iteration."""
        if not self._enabled:
            return
        self._check_scaled("update")
        if new_scale is not None:
            self._scale = _float32(new_scale.item() if isinstance(new_scale, Tensor) else new_scale)
        else:
            checked = [s for s in self._optimizers.values() if s["finite"] is not None]
            if not checked:
                raise RuntimeError("No inf checks were recorded prior to update.")
            if any(self._found_inf(s) for s in checked):
                self._scale = _float32(self._scale * self._backoff_factor)
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = _float32(self._scale * self._growth_factor)
                    if grown <= _FLOAT32_MAX:  # not inf
                        self._scale = grown
                    self._growth_tracker = 0
        self._optimizers.clear()

    # ---- saving -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The scale, its hyperparameters and the growth tracker (empty when disabled)."""
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` returned."""
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved from a disabled instance of GradScaler."
            )
        self._scale = _float32(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])

    # ---- internals ----------------------------------------------------------------------------
    def _check_scaled(self, funcname: str) -> None:
        """Raise PyTorch's ``AssertionError`` unless :meth:`scale` ran before: gradients that were never scaled
        must not be unscaled (divided by the scale) and stepped."""
        if not self._scaled:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  This may indicate your script did not "
                                 f"use scaler.scale(loss or outputs) earlier in the iteration.")

    def _state(self, optimizer) -> dict:
        return self._optimizers.setdefault(id(optimizer), {"stage": _READY, "finite": None, "found_inf": None})

    @staticmethod
    def _unscale_grads(optimizer, inv_scale: float) -> dict:
        """Multiply every gradient by ``inv_scale`` in place; per device, a 0-d bool array saying
        whether all gradients there were finite (not read yet: no sync)."""
        flags: dict = {}
        for group in optimizer.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if g.dtype.name == "float16":  # only float16, as PyTorch: bfloat16 has float32's range
                    raise ValueError(
                        f"Attempting to unscale {g.dtype.name} gradients: keep the parameters in float32 "
                        f"(autocast makes float16 copies for the forward pass) so that their gradients are float32"
                    )
                xp = g.xp
                flags.setdefault(g._device, []).append(xp.all(xp.isfinite(g._data)))
                g._data *= inv_scale
                g._version[0] += 1
        return {dev: dev.xp.all(dev.xp.stack(fs)) for dev, fs in flags.items()}

    @staticmethod
    def _found_inf(state: dict) -> bool:
        """Whether any gradient seen by ``unscale_`` was inf/NaN (read once: the sync point)."""
        if state["found_inf"] is None:
            state["found_inf"] = not all(bool(dev.backend.to_numpy(f)) for dev, f in state["finite"].items())
        return state["found_inf"]
