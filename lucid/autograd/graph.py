"""``lucid.autograd.graph``: the recorded graph seen from outside: its nodes, and callbacks at the end
of a backward pass (as ``torch.autograd.graph`` and PyTorch's ``Variable._execution_engine.queue_callback``)."""

from __future__ import annotations

from .engine import queue_callback
from .function import Function as Node  # every grad_fn is a Function instance
from .function import pop_saved_tensors_hooks, push_saved_tensors_hooks

__all__ = ["Node", "queue_callback", "register_multi_grad_hook", "saved_tensors_hooks", "save_on_cpu"]


class saved_tensors_hooks:
    """Inside it, every tensor an op saves for backward goes through ``pack_hook(tensor)`` and backward
    gets ``unpack_hook(packed)`` back (to compress, offload or log saved activations). The hooks are
    global, not per thread (PyTorch keeps them per thread)."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        push_saved_tensors_hooks(self.pack_hook, self.unpack_hook)
        return self

    def __exit__(self, *exc):
        pop_saved_tensors_hooks()
        return False


class save_on_cpu(saved_tensors_hooks):
    """Keep the tensors saved for backward in host memory, and move each back to its device when backward
    needs it (GPU memory for activations traded for copies). ``pin_memory`` is accepted."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda"):
        def pack(t):
            return t.device, t.detach().to("cpu")

        def unpack(packed):
            device, t = packed
            return t.to(device)

        super().__init__(pack, unpack)


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
