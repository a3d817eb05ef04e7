"""Activation checkpointing (``torch.utils.checkpoint``): keep a segment's inputs instead of its
intermediate results, and run the segment again during backward to get them back.

The forward runs once with grad enabled only to learn which outputs depend on something that
requires grad; its graph is dropped at once, so one segment's intermediates live at a time. At
backward the segment is recomputed with the random generators of the devices involved put back
in their forward state (dropout draws the same mask), and a backward through the recomputed graph
accumulates the gradients of the parameters the segment used into their ``.grad`` and returns the
inputs' gradients. Both ``use_reentrant`` settings take this path; as with PyTorch's reentrant
variant, the parameters' gradients reach ``.grad`` (``backward()``), not ``autograd.grad(..., params)``.
"""

from __future__ import annotations

from .. import random as _random
from .._tensor import Tensor
from ..autograd.backprop import backward as _backward
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..ops.creation import zeros

__all__ = ["checkpoint", "checkpoint_sequential"]


def _rng_devices(args) -> list:
    return list(dict.fromkeys(["cpu", *(str(a.device) for a in args if isinstance(a, Tensor))]))


class _Checkpoint(Function):
    """The node standing for a whole checkpointed segment: ``apply(anchor, run, *args)``, where ``anchor``
    is a 0-d tensor requiring grad that makes the node be recorded even when only parameters need grads."""

    @staticmethod
    def forward(ctx, anchor, run, *args):
        ctx.run, ctx.args = run, args
        ctx.rng = {d: _random.get_rng_state(d) for d in _rng_devices(args)} if run.preserve_rng_state else None
        with enable_grad():
            out = run(*args)
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        detached = tuple(o.detach() if isinstance(o, Tensor) else o for o in outs)
        ctx.mark_non_differentiable(*(d for d, o in zip(detached, outs)
                                      if isinstance(o, Tensor) and not o.requires_grad))
        return detached[0] if single else detached

    @staticmethod
    def backward(ctx, *grads):
        inputs = tuple(a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a for a in ctx.args)
        current = {d: _random.get_rng_state(d) for d in ctx.rng} if ctx.rng else {}
        try:
            for d, state in (ctx.rng or {}).items():
                _random.set_rng_state(state, d)
            with enable_grad():
                out = ctx.run(*inputs)
        finally:
            for d, state in current.items():
                _random.set_rng_state(state, d)
        outs = out if isinstance(out, tuple) else (out,)
        pairs = [(o, g) for o, g in zip(outs, grads)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if pairs:
            _backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None, *(x.grad if isinstance(x, Tensor) and x.requires_grad else None for x in inputs))


class _Run:
    """The segment with its keyword arguments bound (``apply`` passes positional arguments only)."""

    def __init__(self, function, kwargs, preserve_rng_state):
        self.function, self.kwargs, self.preserve_rng_state = function, kwargs, preserve_rng_state

    def __call__(self, *args):
        return self.function(*args, **self.kwargs)


def checkpoint(function, *args, use_reentrant: bool | None = None, context_fn=None, determinism_check: str = "default",
               debug: bool = False, preserve_rng_state: bool = True, **kwargs):
    """``function(*args, **kwargs)`` without keeping its intermediate results for backward: they are
    recomputed then. Results and gradients equal those of the plain call (random ops included).
    ``context_fn``, ``determinism_check`` and ``debug`` are accepted for PyTorch compatibility."""
    if not callable(function):
        raise TypeError(f"checkpoint expects a callable, got {type(function).__name__}")
    run = _Run(function, kwargs, preserve_rng_state)
    if not is_grad_enabled():
        return run(*args)
    device = next((a.device for a in args if isinstance(a, Tensor)), "cpu")
    anchor = zeros((), device=device).requires_grad_()
    return _Checkpoint.apply(anchor, run, *args)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None, **kwargs):
    """Run ``functions`` (a Sequential or a list of modules/callables) one after another, checkpointing
    them in ``segments`` groups; the last group runs normally (its results are needed at once)."""
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if segments < 1 or not functions:
        raise ValueError(f"checkpoint_sequential needs segments >= 1 and at least one function; got "
                         f"segments={segments} for {len(functions)} functions")
    size = max(len(functions) // segments, 1)

    def run_range(start, end):
        def forward(x):
            for f in functions[start:end]:
                x = f(x)
            return x

        return forward

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = min(start + size, len(functions)) - 1
        input = checkpoint(run_range(start, end + 1), input, use_reentrant=use_reentrant, **kwargs)
    return run_range(end + 1, len(functions))(input)
