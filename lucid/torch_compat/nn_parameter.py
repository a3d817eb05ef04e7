"""``torch.nn.parameter``: lucid's ``Parameter`` and ``Buffer``, plus ``UninitializedParameter`` and
``UninitializedBuffer``, which PyTorch keeps in that module (lucid keeps them with the lazy modules, in
:mod:`lucid.nn.layers.lazy`); code checks ``isinstance(p, UninitializedParameter)`` before counting parameters."""

from __future__ import annotations

from ..nn.layers.lazy import UninitializedBuffer, UninitializedParameter
from ..nn.parameter import Buffer, Parameter

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer"]
