"""``torch.cuda.amp`` (PyTorch's older spelling of ``torch.amp`` for CUDA): :class:`autocast` and
:class:`GradScaler` with the device fixed to ``"cuda"``, on top of :mod:`lucid.amp`."""

from __future__ import annotations

from .. import amp, float16

__all__ = ["autocast", "GradScaler"]


class autocast(amp.autocast):
    """``torch.cuda.amp.autocast(enabled=True, dtype=torch.float16, cache_enabled=True)``:
    ``lucid.amp.autocast("cuda", ...)``."""

    def __init__(self, enabled: bool = True, dtype=float16, cache_enabled: bool = True):
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(amp.GradScaler):
    """``torch.cuda.amp.GradScaler(init_scale=2.**16, ...)``: ``lucid.amp.GradScaler("cuda", ...)``."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor, backoff_factor=backoff_factor,
                         growth_interval=growth_interval, enabled=enabled)
