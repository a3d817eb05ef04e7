"""``torch.nn.modules.activation``: lucid's activation layers, plus ``MultiheadAttention``, which PyTorch keeps
in that module (older code imports it from there)."""

from __future__ import annotations

from ..nn.layers.activation import *  # noqa: F403
from ..nn.layers.activation import __all__ as _activations
from ..nn.layers.attention import MultiheadAttention

__all__ = [*_activations, "MultiheadAttention"]
