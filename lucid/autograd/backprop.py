"""``backward()`` and ``grad()``: where a backward pass starts, from outputs and their gradients."""

from __future__ import annotations

from collections.abc import Iterable

from .._tensor import Tensor
from . import function as _function
from .engine import _Sink, run_backward

__all__ = ["backward", "grad"]


def _as_list(x):
    """A tensor as a one-element list, any other iterable (a tuple, ``dict.values()``, a generator) as a list,
    as PyTorch takes ``outputs``/``inputs``: MAML code passes ``params.values()``."""
    return list(x) if isinstance(x, Iterable) and not isinstance(x, Tensor) else [x]


def _root_grads(outputs, grad_outputs, create_graph):
    """The gradient each output starts from: given, or ones for one-element outputs."""
    grads = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:  # the property: a view whose base changed in place takes its new history
            raise RuntimeError(
                f"element {i} of the outputs does not require grad and has no grad_fn: nothing "
                f"to differentiate (did you compute it under no_grad, or from tensors without requires_grad?)"
            )
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(
                    f"grad can be created implicitly only for one-element outputs; this output has shape "
                    f"{out.shape}. Pass gradient= (a tensor of that shape), or reduce it first, e.g. out.sum()"
                )
            if out.dtype.kind == "c":
                raise RuntimeError("grad can be implicitly created only for real scalar outputs, this one is "
                                   f"{out.dtype.name}; take a real loss first (out.abs(), out.real) or pass gradient=")
            g = Tensor._make(out._device.create("ones", out._data.shape, dtype=out._data.dtype), out._device)
        else:
            if not isinstance(g, Tensor):
                g = Tensor(g, dtype=out.dtype, device=out._device)
            if g.shape != out.shape:
                raise RuntimeError(f"gradient has shape {g.shape} but the output has shape {out.shape}")
            if g._device is not out._device:
                raise RuntimeError(f"gradient is on {g._device} but the output is on {out._device}")
            if not create_graph:
                g = g.detach()
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves they depend on
    (or only of ``inputs`` when given)."""
    outputs = _as_list(tensors)
    grads = _as_list(grad_tensors) if grad_tensors is not None else [None] * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"got {len(grads)} gradients for {len(outputs)} tensors")
    retain_graph = create_graph if retain_graph is None else retain_graph
    roots = _root_grads(outputs, grads, create_graph)
    if inputs is None:
        run_backward(outputs, roots, retain_graph, create_graph)
        return
    inputs = _as_list(inputs)
    for t in inputs:  # a non-leaf input gets its .grad as PyTorch gives it: it retains its gradient from now on
        if t.grad_fn is not None:
            t.retain_grad()
    results = grad(outputs, inputs, roots, retain_graph=retain_graph, create_graph=create_graph,
                   allow_unused=True)
    sink = _Sink(create_graph, None)
    for t, g in zip(inputs, results):
        if g is not None and t._node is None:  # a non-leaf's retain_grad stored its gradient during the pass
            sink.store(t, g)
            for hook in list(t._post_hooks or ()):
                hook(t)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned as a tuple; the ``.grad`` of the
    inputs is not touched (that of non-leaf tensors that ``retain_grad()`` on the way is, as in PyTorch).
    ``only_inputs`` is accepted and ignored, as PyTorch has done since it was deprecated (WGAN-GP code passes it).
    ``allow_unused=False`` (the default unless ``materialize_grads``) raises if an input does not affect the
    outputs. ``is_grads_batched``: the first dimension of each of ``grad_outputs`` is a batch of cotangents,
    and each result gets that dimension too (lucid runs one backward pass per batch entry)."""
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    grads = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outputs)
    retain_graph = create_graph if retain_graph is None else retain_graph
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grads, retain_graph, create_graph, allow_unused, materialize_grads)
    roots = _root_grads(outputs, grads, create_graph)
    given = inputs  # a sparse input's gradient is that of its values, made sparse on its pattern
    inputs = [t._vals if getattr(t, "_sparse", False) else t for t in given]
    keys = []
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"input {i} of grad() does not require grad")
        keys.append(id(t) if t._node is None else (t._node, t._out_idx))
    capture = dict.fromkeys(keys)
    run_backward(outputs, roots, retain_graph, create_graph, capture=capture)
    result = []
    for i, (t, key) in enumerate(zip(inputs, keys)):
        g = capture[key]
        if g is None:
            if materialize_grads:
                g = t._device.create("zeros", t._data.shape, dtype=t._data.dtype)
                g = type(t)._make(g, t._device).requires_grad_(create_graph)  # as PyTorch's zeros_like
            elif not allow_unused:
                raise RuntimeError(
                    f"input {i} of grad() was not used to compute the outputs; pass allow_unused=True "
                    f"to get None for it"
                )
        elif not create_graph and _function.dual_mode is not None:  # recorded for its tangent only
            g = _function.dual_mode.detached(g)
        result.append(g)
    return tuple(t._as_grad(g) if g is not None and t is not s else g for t, s, g in zip(given, inputs, result))


def _batched_grad(outputs, inputs, grads, retain_graph, create_graph, allow_unused, materialize_grads):
    """``grad(..., is_grads_batched=True)``: one pass per entry of the grad_outputs' first dimension, stacked."""
    sizes = {g.shape[0] if isinstance(g, Tensor) and g.ndim else None for g in grads}
    if len(sizes) != 1 or None in sizes or 0 in sizes:
        shapes = [getattr(g, "shape", None) for g in grads]
        raise RuntimeError("is_grads_batched=True needs a tensor in grad_outputs for every output, all with the "
                           f"same non-empty first (batch) dimension; got shapes {shapes}")
    (n,) = sizes
    per_entry = [grad(outputs, inputs, [g[i] for g in grads], retain_graph=retain_graph or i < n - 1,
                      create_graph=create_graph, allow_unused=allow_unused, materialize_grads=materialize_grads)
                 for i in range(n)]
    return tuple(None if column[0] is None else _stacked(column) for column in zip(*per_entry))


def _stacked(tensors) -> Tensor:
    """``lucid.stack(tensors)`` written with Tensor methods (``x[i] = t`` records the write): autograd sits
    below the ops layer and imports none of it."""
    first = tensors[0]
    out = Tensor._make(first._device.create("zeros", (len(tensors), *first.shape), dtype=first._data.dtype),
                       first._device)
    for i, t in enumerate(tensors):
        out[i] = t
    return out


def _tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see :func:`lucid.autograd.backward`)."""
    backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)


_tensor_backward.__name__ = _tensor_backward.__qualname__ = "backward"
METHODS = {"backward": _tensor_backward}
