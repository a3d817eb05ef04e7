"""``lucid.autograd.graph``: the recorded graph seen from outside: its nodes, and callbacks at the end
of a backward pass (as ``torch.autograd.graph`` and PyTorch's ``Variable._execution_engine.queue_callback``)."""

from __future__ import annotations

from .engine import queue_callback
from .function import Function as Node  # every grad_fn is a Function instance

__all__ = ["Node", "queue_callback", "register_multi_grad_hook"]


class _MultiHandle:
    def __init__(self, handles):
        self.handles = handles

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def register_multi_grad_hook(tensors, fn, *, mode: str = "all"):
    """Call ``fn(grads)`` once per backward after the gradients of all ``tensors`` that take part were
    computed (``mode="all"``: ``grads`` has None for the others), or ``fn(grad)`` with the first one
    (``mode="any"``). Returns a handle whose ``remove()`` unregisters it."""
    if mode not in ("all", "any"):
        raise ValueError(f"mode must be 'all' or 'any', got {mode!r}")
    tensors = tuple(tensors)
    state = {"grads": None}

    def flush():
        grads, state["grads"] = state["grads"], None
        if mode == "all":
            fn(grads)

    def make(i):
        def hook(g):
            if state["grads"] is None:
                state["grads"] = [None] * len(tensors)
                if mode == "any":
                    fn(g)
                queue_callback(flush)
            state["grads"][i] = g

        return hook

    return _MultiHandle([t.register_hook(make(i)) for i, t in enumerate(tensors)])
