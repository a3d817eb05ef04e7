"""``lucid.cuda.nvtx``: NVTX ranges and markers for GPU profilers (Nsight Systems), as ``torch.cuda.nvtx``.

They go to CuPy's ``cupy.cuda.nvtx`` when the CUDA backend runs and CuPy was built with NVTX; otherwise
they are no-ops, so profiling annotations never stop a CPU run (PyTorch's CPU build raises RuntimeError
here instead). :func:`range_start`/:func:`range_end` (ranges across threads) have no CuPy counterpart:
they hand out handles and mark nothing.
"""

from __future__ import annotations

import contextlib
import itertools
import threading

from .._backend import registry as _registry

__all__ = ["range_push", "range_pop", "range_start", "range_end", "mark", "range"]

_depth = threading.local()  # per thread, as NVTX's push/pop stacks
_handles = itertools.count(1)


def _nvtx():
    """CuPy's nvtx module when the CUDA backend runs and NVTX is there, else None (starts nothing)."""
    for backend in _registry.loaded_backends():
        module = getattr(getattr(getattr(backend, "cupy", None), "cuda", None), "nvtx", None)
        if module is not None and getattr(module, "available", False):
            return module
    return None


def range_push(msg: str) -> int:
    """Start a nested range named ``msg``; returns its zero-based depth."""
    nvtx = _nvtx()
    if nvtx is not None:
        nvtx.RangePush(msg)
    depth = getattr(_depth, "value", 0)
    _depth.value = depth + 1
    return depth


def range_pop() -> int:
    """End the innermost range of :func:`range_push`; returns its zero-based depth (-1 when none was open)."""
    nvtx = _nvtx()
    if nvtx is not None:
        nvtx.RangePop()
    depth = getattr(_depth, "value", 0) - 1
    _depth.value = max(depth, 0)
    return depth


def range_start(msg: str) -> int:
    """A handle for a range that may end on another thread (see the module's note)."""
    return next(_handles)


def range_end(range_id: int) -> None:
    """End the range of :func:`range_start`'s ``range_id``."""


def mark(msg: str) -> None:
    """Mark an instant named ``msg``."""
    nvtx = _nvtx()
    if nvtx is not None:
        nvtx.Mark(msg)


@contextlib.contextmanager
def range(msg: str, *args, **kwargs):  # noqa: A001  (torch.cuda.nvtx.range)
    """Context manager and decorator: a range named ``msg.format(*args, **kwargs)`` around its block."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()
