"""``torch.cpu.amp`` (PyTorch's older spelling of ``torch.amp`` for the CPU): :class:`autocast` with the
device fixed to ``"cpu"`` and PyTorch's CPU default dtype, bfloat16, and :class:`GradScaler` on the CPU,
on top of :mod:`lucid.amp`."""

from __future__ import annotations

from .. import amp, bfloat16

__all__ = ["autocast", "GradScaler"]


class autocast(amp.autocast):
    """``torch.cpu.amp.autocast(enabled=True, dtype=torch.bfloat16, cache_enabled=True)``:
    ``lucid.amp.autocast("cpu", ...)``."""

    def __init__(self, enabled: bool = True, dtype=bfloat16, cache_enabled: bool = True):
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(amp.GradScaler):
    """``torch.cpu.amp.GradScaler(init_scale=2.**16, ...)``: ``lucid.amp.GradScaler("cpu", ...)``."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        super().__init__("cpu", init_scale=init_scale, growth_factor=growth_factor, backoff_factor=backoff_factor,
                         growth_interval=growth_interval, enabled=enabled)
