"""``lucid.cuda.graphs``: CUDA graph capture, which lucid does not have.

lucid runs every op eagerly, so there is nothing to capture: :class:`CUDAGraph` and :class:`graph` raise
NotImplementedError (a RuntimeError, the type PyTorch's CPU build raises) saying so,
:func:`is_current_stream_capturing` is always False, and :func:`make_graphed_callables` returns its
callables unchanged, an eager fallback under which a program runs as it would without graphs.
"""

from __future__ import annotations

__all__ = ["CUDAGraph", "graph", "graph_pool_handle", "is_current_stream_capturing", "make_graphed_callables"]

_NO_GRAPHS = ("lucid has no CUDA graph capture (it runs every op eagerly); run the captured code directly, or "
              "use lucid.cuda.make_graphed_callables, which returns the callables unchanged")


def is_current_stream_capturing() -> bool:
    """False: no stream ever captures in lucid."""
    return False


class CUDAGraph:
    """Not available: raises NotImplementedError (see the module's note)."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"lucid.cuda.CUDAGraph: {_NO_GRAPHS}")


class graph:
    """Not available: raises NotImplementedError (see the module's note)."""

    def __init__(self, cuda_graph=None, pool=None, stream=None, capture_error_mode: str = "global"):
        raise NotImplementedError(f"lucid.cuda.graph: {_NO_GRAPHS}")


def graph_pool_handle():
    """Not available: raises NotImplementedError (see the module's note)."""
    raise NotImplementedError(f"lucid.cuda.graph_pool_handle: {_NO_GRAPHS}")


def make_graphed_callables(callables, sample_args, num_warmup_iters: int = 3, allow_unused_input: bool = False,
                           pool=None):
    """``callables`` themselves (a function, a Module, or a tuple of them): the eager fallback, which computes
    what the graphed versions would. The sample arguments and options are accepted and unused."""
    return callables
