"""``lucid.autograd.functional``: derivatives of whole functions (``vjp``, ``jvp``, ``jacobian``,
``hessian``, ``vhp``, ``hvp``), as ``torch.autograd.functional``.

Everything is computed with reverse mode: ``jvp`` by the double-vjp trick (the vjp is linear in
its cotangent ``u``, so differentiating ``J^T u`` with respect to ``u`` along ``v`` gives ``J v``),
``jacobian`` one vjp per output element. ``vectorize=True`` and ``strategy="forward-mode"`` are
accepted and give the same results by the same loop. Built from lucid ops, so it sits in the ops
layer (``lucid/__init__.py`` imports it).
"""

from __future__ import annotations

from .._tensor import Tensor
from ..ops import stack, zeros, zeros_like
from .backprop import grad
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _as_tuple(x, what: str, fn: str) -> tuple[bool, tuple]:
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"The {what} given to {fn} must be either a Tensor or a tuple of Tensors but the "
                            f"value at index {i} has type {type(t).__name__}.")
    return is_tuple, items


def _prepare(inputs, create_graph: bool) -> tuple:
    """Fresh tensors requiring grad: connected to the originals only when ``create_graph`` needs it."""
    return tuple(x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_(True)
                 for x in inputs)


def _finish(tensors, create_graph: bool) -> tuple:
    return tuple(t if create_graph or t is None else t.detach() for t in tensors)


def _unpack(items, is_tuple):
    return tuple(items) if is_tuple else items[0]


_UNUSED = "The output of the user-provided function is independent of input {i}"


def _vjp_of(outputs, inputs, cotangents, create_graph, strict, fn, unused=_UNUSED):
    """``sum_k cotangent_k^T d outputs_k / d inputs``, zeros for inputs the outputs do not depend on (with
    ``strict`` an error, ``unused`` its first sentence)."""
    live = [(o, v) for o, v in zip(outputs, cotangents) if o.requires_grad]
    grads = [None] * len(inputs)
    if live:
        grads = grad([o for o, _ in live], list(inputs), [v for _, v in live], retain_graph=True,
                     create_graph=create_graph, allow_unused=True)
    result = []
    for i, (g, x) in enumerate(zip(grads, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{unused.format(i=i)}. This is not allowed in strict mode ({fn}).")
            g = zeros_like(x)
        result.append(g)
    return tuple(result)


def _cotangents(outputs, v, fn: str, needs_v: str):
    """``v`` checked against ``outputs`` (shapes), or ones for a single one-element output."""
    if v is None:
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(f"The vector v can only be None if the user-provided function returns a single "
                               f"Tensor with a single element ({fn}); pass v shaped like {needs_v}.")
        return (outputs[0].detach() * 0 + 1,)
    _, v = _as_tuple(v, "v", fn)
    if len(v) != len(outputs):
        raise RuntimeError(f"v has {len(v)} tensors but there are {len(outputs)} {needs_v} ({fn})")
    for i, (a, b) in enumerate(zip(v, outputs)):
        if a.shape != b.shape:
            raise RuntimeError(f"Entry {i} in v has invalid size: got {a.shape} but expected {b.shape} ({fn})")
    return v


def _call(func, inputs, fn: str):
    with enable_grad():
        out = func(*inputs)
    is_tuple, out = _as_tuple(out, "outputs of the user-provided function", fn)
    return is_tuple, out


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        out_tuple, outputs = _call(func, inputs, "vjp")
        v = _cotangents(outputs, v, "vjp", "outputs")
        result = _vjp_of(outputs, inputs, v, create_graph, strict, "vjp")
    return _unpack(_finish(outputs, create_graph), out_tuple), _unpack(_finish(result, create_graph), in_tuple)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``: the Jacobian-vector product, by the double-vjp trick."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        v = _cotangents(inputs, v, "jvp", "inputs")
        out_tuple, outputs = _call(func, inputs, "jvp")
        dummies = tuple(zeros_like(o).requires_grad_(True) for o in outputs)
        vjps = _vjp_of(outputs, inputs, dummies, True, strict, "jvp")  # J^T u, linear in u
        linked = [(g, t) for g, t in zip(vjps, v) if g.requires_grad]
        result = [None] * len(outputs)
        if linked:
            result = grad([g for g, _ in linked], list(dummies), [t for _, t in linked],
                          create_graph=create_graph, allow_unused=True)
        result = tuple(zeros_like(o) if r is None else r for o, r in zip(outputs, result))
    return _unpack(_finish(outputs, create_graph), out_tuple), _unpack(_finish(result, create_graph), out_tuple)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: entry ``[i][j]`` has shape ``outputs[i].shape +
    inputs[j].shape`` (tuples collapse as in PyTorch). One vjp per output element."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f'Expected strategy to be either "forward-mode" or "reverse-mode", got {strategy!r}')
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        out_tuple, outputs = _call(func, inputs, "jacobian")
        blocks = []
        for out in outputs:
            rows = [[] for _ in inputs]
            flat_n = out.numel()
            for k in range(flat_n):
                onehot = zeros(flat_n, dtype=out.dtype, device=out.device)
                onehot[k] = 1
                for j, g in enumerate(_vjp_of((out,), inputs, (onehot.reshape(out.shape),), create_graph, strict,
                                              "jacobian")):
                    rows[j].append(g)
            blocks.append(tuple(
                (stack(r) if r else zeros(0, *x.shape, dtype=x.dtype, device=x.device)).reshape(out.shape + x.shape)
                for r, x in zip(rows, inputs)))
    blocks = [_finish(b, create_graph) for b in blocks]
    if out_tuple:
        return tuple(_unpack(b, in_tuple) for b in blocks)
    return _unpack(blocks[0], in_tuple)


def hessian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar ``func`` at ``inputs`` (the Jacobian of its gradient)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def scalar(*x):
        out = func(*x)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor with a single element")
        return out.reshape(())

    def gradient(*x):
        return jacobian(scalar, x, create_graph=True, strict=strict)

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict, strategy=outer_jacobian_strategy)
    return result if in_tuple else result[0][0]


def _second_order(func, inputs, v, create_graph, strict, fn):
    """``(func(inputs), v^T H)``, as PyTorch: ``vhp`` is the vjp of the gradient; ``hvp`` differentiates, with
    respect to a zero ``u``, the vjp ``u^T H`` of the gradient (the double-backward trick, so ``H v`` also for an
    asymmetric H). ``strict`` raises where PyTorch's does: an output, gradient or (hvp) Hessian-vector product
    that does not depend on the inputs (a linear function; hvp of a ReLU, whose Hessian is a constant 0). Unlike
    PyTorch, a result that does not require grad under ``create_graph`` is not refused: lucid's second derivatives
    may be constants where PyTorch's formulas keep a link of derivative zero (``x**2``'s is ``2``)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        _, outputs = _call(func, inputs, fn)
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(f"The function given to {fn} should return a single Tensor with a single element")
        if strict and not outputs[0].requires_grad:
            raise RuntimeError(f"Output 0 of the user-provided function does not require gradients. The outputs "
                               f"must be computed in a differentiable manner from the input in strict mode ({fn}).")
        v = _cotangents(inputs, v, fn, "inputs")
        grads = _vjp_of(outputs, inputs, (outputs[0].detach() * 0 + 1,), True, strict, fn)
        if strict:
            dead = next((i for i, g in enumerate(grads) if not g.requires_grad), None)
            if dead is not None:
                raise RuntimeError(f"The jacobian of the user-provided function with respect to input {dead} is "
                                   f"independent of the input. This is not allowed in strict mode ({fn}): the "
                                   f"function must be twice differentiable (not linear) with its jacobian "
                                   f"depending on the inputs.")
        if fn == "hvp":
            u = tuple(zeros_like(x).requires_grad_(True) for x in inputs)
            grads = _vjp_of(grads, inputs, u, True, False, fn)
            inputs = u
        unused = ("The hessian-vector product of the user-provided function is independent of entry {i} of the "
                  "zero vector it is differentiated at (the double-backward trick)" if fn == "hvp" else
                  "The jacobian of the user-provided function is independent of input {i}")
        result = _vjp_of(grads, inputs, v, create_graph, strict, fn, unused)
    return _finish(outputs, create_graph)[0], _unpack(_finish(result, create_graph), in_tuple)


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)``: vector-Hessian product of a scalar function."""
    return _second_order(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)``: Hessian-vector product of a scalar function (equal to ``vhp``'s, H being
    symmetric for twice-differentiable functions)."""
    return _second_order(func, inputs, v, create_graph, strict, "hvp")
