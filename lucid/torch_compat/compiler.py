"""``torch.compiler``: the switches programs wrap code in, as no-ops (lucid runs every function as written,
see :func:`lucid.compile`): ``@torch.compiler.disable`` returns its function, ``is_compiling()`` is False,
:func:`set_stance` changes nothing (every stance runs eagerly here)."""

from __future__ import annotations

import contextlib
import functools

import numpy as np

from .. import Tensor, from_numpy
from .._settings import compile  # noqa: A004  (torch.compiler.compile is torch.compile)

__all__ = ["compile", "disable", "is_compiling", "is_dynamo_compiling", "is_exporting", "reset", "allow_in_graph",
           "assume_constant_result", "list_backends", "set_stance", "cudagraph_mark_step_begin",
           "nested_compile_region", "substitute_in_graph", "wrap_numpy"]


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


def is_exporting() -> bool:
    """``False``: nothing is exported."""
    return False


def list_backends(exclude_tags=("debug", "experimental")) -> list[str]:
    """``[]``: lucid has no compiler backends (:func:`compile` accepts any ``backend=`` and runs eagerly)."""
    return []


class set_stance(contextlib.ContextDecorator):
    """``torch.compiler.set_stance(stance, ...)`` as a call, context manager or decorator: changes nothing,
    since every stance (``"default"``, ``"force_eager"`` ...) runs eagerly in lucid. Like PyTorch's, it does
    not check the name."""

    def __init__(self, stance: str = "default", *, skip_guard_eval_unsafe: bool = False, force_backend=None):
        self.stance = stance

    def __enter__(self) -> set_stance:
        return self

    def __exit__(self, *exc) -> bool:
        return False


def cudagraph_mark_step_begin() -> None:
    """Does nothing: lucid records no CUDA graphs (see :mod:`lucid.cuda.graphs`)."""


def nested_compile_region(fn=None, *, options=None, max_reuse_entries: int = 8, reuse_hash_fn=None):
    """``fn`` itself (or, without ``fn``, a decorator that returns its function): nothing is compiled."""
    if fn is None:
        return lambda f: f
    return fn


def substitute_in_graph(original_fn, *, can_constant_fold_through: bool = False, skip_signature_check: bool = False):
    """A decorator returning its (polyfill) function unchanged: with nothing compiled, ``original_fn`` and
    the polyfill are called as written."""
    return lambda fn: fn


def wrap_numpy(fn):
    """``fn`` (written for NumPy arrays) as a function of tensors, as PyTorch's eager mode runs it: tensor
    arguments go in as NumPy arrays (``Tensor.numpy()``: CPU tensors without grad), NumPy arrays returned
    (alone or in a tuple, list or dict) come back as tensors; other values pass through."""

    def convert(value, kind, how):
        if isinstance(value, kind):
            return how(value)
        if isinstance(value, (tuple, list)):
            return type(value)(convert(v, kind, how) for v in value)
        if isinstance(value, dict):
            return {k: convert(v, kind, how) for k, v in value.items()}
        return value

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        args, kwargs = convert(args, Tensor, Tensor.numpy), convert(kwargs, Tensor, Tensor.numpy)
        return convert(fn(*args, **kwargs), np.ndarray, from_numpy)

    return wrapped
