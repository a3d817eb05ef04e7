"""``lucid.utils.model_zoo``: PyTorch's older name for downloading weights, ``load_url``, which is
:func:`lucid.hub.load_state_dict_from_url` (safetensors files only, see there)."""

from __future__ import annotations

from ..hub import load_state_dict_from_url as load_url

__all__ = ["load_url"]
