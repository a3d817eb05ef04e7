"""Training utilities: a layer-by-layer summary of a model; :func:`swap_tensors`."""

from __future__ import annotations

import copyreg
import weakref

from .. import dtypes as _dt
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from . import checkpoint, data  # noqa: F401  (lucid.utils.checkpoint and .data, as torch.utils')

__all__ = ["summary", "swap_tensors"]


def swap_tensors(t1, t2) -> None:
    """Swap everything two tensor objects hold (type, data, device, dtype, ``requires_grad``, ``.grad``, history,
    hooks, attributes), so each keeps its identity with the other's content, as ``torch.utils.swap_tensors``. As
    PyTorch, it refuses a tensor that has a weak reference (one that a weak-keyed table may hold) and two types
    with different ``__slots__``. A graph recorded before the swap still points at the objects (PyTorch's points
    at their contents): run backward before swapping."""
    for name, t in (("t1", t1), ("t2", t2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"swap_tensors: {name} must be a Tensor, got {type(t).__name__}")
        if weakref.getweakrefs(t):
            raise RuntimeError(f"Cannot swap {name} because it has weakref associated with it")
    slots = set(copyreg._slotnames(type(t1)))
    if slots != set(copyreg._slotnames(type(t2))):
        raise RuntimeError("Cannot swap t1 and t2 if they have different slots")
    t1.__class__, t2.__class__ = t2.__class__, t1.__class__
    t1.__dict__, t2.__dict__ = t2.__dict__, t1.__dict__
    for slot in slots:
        first, second = getattr(t1, slot, _MISSING), getattr(t2, slot, _MISSING)
        for t, value in ((t1, second), (t2, first)):
            if value is _MISSING:
                delattr(t, slot)
            else:
                setattr(t, slot, value)


_MISSING = object()


def summary(model, input_shape, *, device=None, dtype=None, print_fn=print) -> str:
    """Run one forward pass of zeros shaped ``input_shape`` (batch dimension included) and
    print a table of every leaf module: its output shape and parameter count.

    Returns the table as a string. The model is put in eval mode for the pass and restored.
    """
    from ..ops.creation import zeros

    rows = []

    def record(module, inputs, output):
        shape = tuple(output.shape) if hasattr(output, "shape") else type(output).__name__
        count = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append((names[module], type(module).__name__, shape, count))

    names = {m: name or type(m).__name__ for name, m in model.named_modules()}
    leaves = [m for m in names if next(iter(m.children()), None) is None]
    handles = [m.register_forward_hook(record) for m in leaves]
    was_training = model.training
    model.eval()
    try:
        device = device if device is not None else next((p.device for p in model.parameters()), None)
        with no_grad():
            model(zeros(*input_shape, device=device, dtype=dtype or _dt.get_default_dtype()))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    width = max([len(r[0]) + len(r[1]) + 3 for r in rows] + [20])
    lines = [f"{'layer (type)':<{width}} {'output shape':<22} {'params':>10}", "-" * (width + 34)]
    for name, kind, shape, count in rows:
        lines.append(f"{f'{name} ({kind})':<{width}} {str(shape):<22} {count:>10,}")
    lines += ["-" * (width + 34), f"total parameters: {total:,} (trainable: {trainable:,})"]
    table = "\n".join(lines)
    if print_fn is not None:
        print_fn(table)
    return table
