"""Training utilities: a layer-by-layer summary of a model."""

from __future__ import annotations

from .. import dtypes as _dt
from ..autograd.grad_mode import no_grad
from . import checkpoint, data  # noqa: F401  (lucid.utils.checkpoint and .data, as torch.utils')

__all__ = ["summary"]


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
