"""Activation checkpointing (``torch.utils.checkpoint``): keep a segment's inputs instead of its
intermediate results, and run the segment again during backward to get them back.

The forward runs once with grad enabled on detached inputs, to learn which outputs need gradients
and which leaves (the parameters the segment uses) it reaches; its graph is dropped at once, so one
segment's intermediates live at a time. The segment becomes one node whose inputs are its tensor
arguments and those parameters. At backward it is recomputed with the random generators of the
devices involved put back in their forward state (dropout draws the same mask), and the gradients of
the recomputed graph go to that node's inputs: ``backward()``, ``autograd.grad(loss, params)``,
gradient hooks and post-accumulate hooks see them as without checkpointing. Both ``use_reentrant``
settings take this path; what the reentrant one does differently in PyTorch is kept: without an argument that
requires grad its output requires none (the parameters inside get no gradient, with PyTorch's warning), and it
takes no keyword arguments for the function. ``use_reentrant`` left out warns and means True, as in PyTorch 2.x.
A non-leaf tensor the segment captures from outside (rather than taking it as an argument) gets no gradient
through the segment.
"""

from __future__ import annotations

import warnings

from .. import random as _random
from .._tensor import Tensor
from ..autograd import function as _function
from ..autograd.backprop import grad as _grad
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad

__all__ = ["checkpoint", "checkpoint_sequential"]


def _rng_devices(args) -> list:
    return list(dict.fromkeys(["cpu", *(str(a.device) for a in args if isinstance(a, Tensor))]))


def _leaves_reached(outputs, own) -> list:
    """The leaves requiring grad that ``outputs``' graph reaches, other than ``own`` (the segment's inputs)."""
    skip = {id(t) for t in own}
    found, seen = {}, set()
    stack = [o._node for o in outputs if isinstance(o, Tensor) and o._node is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for edge in node._edges:
            if type(edge) is tuple:
                stack.append(edge[0])
            elif edge is not None and id(edge) not in skip:
                found[id(edge)] = edge
    return list(found.values())


class _Checkpoint(Function):
    """The node standing for a whole checkpointed segment: ``apply(run, outputs, n, *args, *params)``
    returns the forward's ``outputs`` (already computed); backward recomputes them and differentiates."""

    @staticmethod
    def forward(ctx, run, outputs, n, *tensors):
        ctx.run, ctx.args, ctx.params = run, tensors[:n], tensors[n:]
        detached = tuple(o.detach() if isinstance(o, Tensor) else o for o in outputs)
        ctx.mark_non_differentiable(*(d for d, o in zip(detached, outputs)
                                      if isinstance(o, Tensor) and not o.requires_grad))
        return detached

    @staticmethod
    def backward(ctx, *grads):
        if is_grad_enabled():  # create_graph: the recomputation stays connected to the real inputs
            inputs = tuple(a.view_as(a) if isinstance(a, Tensor) and a.requires_grad else a for a in ctx.args)
        else:
            inputs = _detached(ctx.args)
        current = {d: _random.get_rng_state(d) for d in ctx.run.rng} if ctx.run.rng else {}
        try:
            for d, state in (ctx.run.rng or {}).items():
                _random.set_rng_state(state, d)
            with enable_grad():
                out = ctx.run(*inputs)
        finally:
            for d, state in current.items():
                _random.set_rng_state(state, d)
        outs = out if isinstance(out, tuple) else (out,)
        pairs = [(o, g) for o, g in zip(outs, grads) if isinstance(o, Tensor) and o.requires_grad and g is not None]
        targets = [x for x in (*inputs, *ctx.params) if isinstance(x, Tensor) and x.requires_grad]
        found = dict.fromkeys(map(id, targets))
        if pairs and targets:
            result = _grad([o for o, _ in pairs], targets, [g for _, g in pairs], create_graph=is_grad_enabled(),
                           allow_unused=True)
            found.update(zip(map(id, targets), result))
        return (None, None, None, *(found.get(id(x)) if isinstance(x, Tensor) else None
                                    for x in (*inputs, *ctx.params)))


def _detached(args) -> tuple:
    return tuple(a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a for a in args)


class _Run:
    """The segment with its keyword arguments bound (``apply`` passes positional arguments only)."""

    def __init__(self, function, kwargs, rng):
        self.function, self.kwargs, self.rng = function, kwargs, rng  # rng: {device: state} or None

    def __call__(self, *args):
        return self.function(*args, **self.kwargs)


def checkpoint(function, *args, use_reentrant: bool | None = None, context_fn=None, determinism_check: str = "default",
               debug: bool = False, preserve_rng_state: bool = True, **kwargs):
    """``function(*args, **kwargs)`` without keeping its intermediate results for backward: they are
    recomputed then. Results and gradients equal those of the plain call (random ops included).
    ``context_fn``, ``determinism_check`` and ``debug`` are accepted for PyTorch compatibility."""
    if not callable(function):
        raise TypeError(f"checkpoint expects a callable, got {type(function).__name__}")
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly; it defaults "
                      "to True (use_reentrant=False is recommended)", stacklevel=2)
        use_reentrant = True
    if use_reentrant and kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if not is_grad_enabled() or _function.dual_mode is not None:  # (forward AD: tangents need the plain run)
        return function(*args, **kwargs)
    if use_reentrant and not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)
        with no_grad():
            return function(*args)
    rng = {d: _random.get_rng_state(d) for d in _rng_devices(args)} if preserve_rng_state else None
    run = _Run(function, kwargs, rng)
    inputs = _detached(args)
    with enable_grad():
        out = run(*inputs)
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    params = _leaves_reached(outs, [x for x in inputs if isinstance(x, Tensor)])
    result = _Checkpoint.apply(run, outs, len(args), *args, *params)
    return result[0] if single else result


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
