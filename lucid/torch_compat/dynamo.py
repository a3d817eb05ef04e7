"""``torch._dynamo``: what scripts set and call around ``torch.compile``, kept and answered as lucid runs every
function eagerly (see :func:`lucid.compile`): ``config`` (``torch._dynamo.config``) keeps any setting a program
makes (``suppress_errors = True``, ``cache_size_limit = 64``) and changes nothing; ``disable``, ``reset``,
``allow_in_graph`` and ``is_compiling`` are :mod:`torch.compiler`'s; ``mark_dynamic``/``mark_static`` check
their tensor and leave it as it is."""

from __future__ import annotations

from .. import Tensor
from ..nn import Module
from . import dynamo_config as config
from .compiler import allow_in_graph, assume_constant_result, disable, is_compiling, reset

__all__ = ["config", "disable", "reset", "allow_in_graph", "assume_constant_result", "is_compiling", "mark_dynamic",
           "mark_static", "maybe_mark_dynamic"]


def mark_dynamic(t, index, *, min=None, max=None) -> None:  # noqa: A002  (torch's keyword names)
    """Nothing to mark: shapes are never specialised (``t`` must be a Tensor, as in PyTorch)."""
    _tensor(t, "mark_dynamic")


def maybe_mark_dynamic(t, index) -> None:
    """Nothing to mark (see :func:`mark_dynamic`)."""
    _tensor(t, "maybe_mark_dynamic")


def mark_static(t, index=None) -> None:
    """Nothing to mark (see :func:`mark_dynamic`); a module is accepted too, as in PyTorch."""
    if not isinstance(t, Module):
        _tensor(t, "mark_static")


def _tensor(t, name: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"torch._dynamo.{name}() expects a Tensor, got {type(t).__name__}")
