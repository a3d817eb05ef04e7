"""``torch.compiler``: the switches programs wrap code in, as no-ops (lucid runs every function as written,
see :func:`lucid.compile`): ``@torch.compiler.disable`` returns its function, ``is_compiling()`` is False."""

from __future__ import annotations

__all__ = ["disable", "is_compiling", "is_dynamo_compiling", "reset", "allow_in_graph", "assume_constant_result"]


def disable(fn=None, recursive=True, *, reason=None):
    """``fn`` itself; without ``fn``, a decorator that returns its function unchanged."""
    if fn is None:
        return lambda f: f
    return fn


def is_compiling() -> bool:
    """``False``: nothing is compiled."""
    return False


is_dynamo_compiling = is_compiling


def reset() -> None:
    """Does nothing: there are no compiled caches to clear."""


def allow_in_graph(fn):
    """``fn`` itself."""
    return fn


def assume_constant_result(fn):
    """``fn`` itself."""
    return fn
