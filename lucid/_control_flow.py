"""``lucid.cond``, ``lucid.while_loop`` and ``lucid._assert``: PyTorch's structured control flow, run eagerly.

PyTorch traces them for ``torch.compile``/export; lucid has no compiler, so they are plain Python control
flow with PyTorch's calling conventions, and autograd records whichever branch or iterations ran.
"""

from __future__ import annotations

__all__ = ["cond", "while_loop", "_assert"]


def cond(pred, true_fn, false_fn, operands=()):
    """``true_fn(*operands)`` if ``pred`` (a bool or a one-element tensor) holds, else ``false_fn(*operands)``."""
    return (true_fn if bool(pred) else false_fn)(*operands)


def while_loop(cond_fn, body_fn, carried_inputs):
    """Run ``carried = body_fn(*carried)`` while ``cond_fn(*carried)`` holds; the final values, as a tuple.
    ``body_fn`` must return as many values as it takes, as PyTorch requires."""
    if not isinstance(carried_inputs, (tuple, list)):
        raise TypeError(f"while_loop: carried_inputs must be a tuple or list, got {type(carried_inputs).__name__}")
    carried = tuple(carried_inputs)
    while bool(cond_fn(*carried)):
        out = body_fn(*carried)
        out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        if len(out) != len(carried):
            raise RuntimeError(f"while_loop: body_fn returned {len(out)} values but takes {len(carried)} values")
        carried = out
    return carried


def _assert(condition, message) -> None:
    """``assert condition, message`` (``torch._assert``: the assert that model code, timm's among it, writes so
    that tracing keeps it; lucid does not trace, so it is Python's)."""
    assert condition, message
