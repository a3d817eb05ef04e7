"""``lucid.signal``: signal-processing helpers with ``torch.signal``'s names (the window functions of
:mod:`lucid.signal.windows`)."""

from __future__ import annotations

from . import windows

__all__ = ["windows"]
