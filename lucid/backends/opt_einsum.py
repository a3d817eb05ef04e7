"""``lucid.backends.opt_einsum``: PyTorch's switches for the ``opt_einsum`` package, which picks the order of an
einsum's contractions. lucid's :func:`lucid.einsum` does not consult it, so the settings (``enabled``: whether the
package is importable, ``strategy``: ``"auto"`` then, else None, as PyTorch's defaults) are recorded only."""

from __future__ import annotations

import importlib
import importlib.util

__all__ = ["enabled", "strategy", "is_available", "get_opt_einsum"]


def is_available() -> bool:
    """Whether the ``opt_einsum`` package can be imported (PyTorch's answer)."""
    return importlib.util.find_spec("opt_einsum") is not None


def get_opt_einsum():
    """The ``opt_einsum`` module when it is installed, else None."""
    return importlib.import_module("opt_einsum") if is_available() else None


enabled = is_available()
strategy = "auto" if enabled else None
