"""The backward engine: one iterative pass over the recorded nodes in reverse topological
order (no recursion limit), summing the gradients that reach each node before running it."""

from __future__ import annotations

import functools
import sys

from .. import _tensor
from .._backend.numpy_backend import float_errors_ignored, float_errors_quiet
from .._tensor import RetainGradHook, Tensor
from . import anomaly_mode, grad_mode
from . import function as _function

__all__ = ["run_backward", "queue_callback"]


def queue_callback(callback) -> None:
    """Run ``callback()`` once the backward pass that is running now has finished (call it from a hook
    during backward; distributed data parallel waits for its gradient reductions there)."""
    if not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    # The innermost run_backward frame of this thread owns the queue: found by walking up the stack, so
    # that a backward pass pays nothing for callbacks beyond one empty list.
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is run_backward.__code__:
            frame.f_locals["queued"].append(callback)
            return
        frame = frame.f_back
    raise RuntimeError("queue_callback can only be called during the backward pass (from a hook)")


def _graph_dependencies(roots):
    """For every node reachable from ``roots``: how many edges point into it (0 for a root no edge reaches)."""
    deps = dict.fromkeys((r._node for r in roots if r._node is not None), 0)  # each node once; a key: seen
    stack = list(deps)
    while stack:
        for edge in stack.pop()._edges:
            if type(edge) is tuple:
                nxt = edge[0]
                if nxt in deps:
                    deps[nxt] += 1
                else:
                    deps[nxt] = 1
                    stack.append(nxt)
    return deps


def _leaf_hook_counts(roots, deps):
    """For every leaf with hooks (gradient or post-accumulate): ``[edges into it, the leaf, the sum of the
    gradients arrived so far]`` (a root that is such a leaf counts as one edge); None if there is none.
    ``deps`` names the reachable nodes."""
    counts = {}
    for root in roots:
        if root._node is None and (root._hooks or root._post_hooks):
            counts.setdefault(id(root), [0, root, None])[0] += 1
    for node in {*deps, *(r._node for r in roots if r._node is not None)}:
        for edge in node._edges:
            if edge is not None and type(edge) is not tuple and (edge._hooks or edge._post_hooks):
                counts.setdefault(id(edge), [0, edge, None])[0] += 1
    return counts or None


def _leaf_edge(counts, leaf, g, sink) -> None:
    """One edge into ``leaf`` delivered ``g`` (or nothing). A leaf with hooks gets its gradient once, summed
    over all its edges, as in PyTorch: its hooks see the total; then its post-accumulate hooks run."""
    entry = counts.get(id(leaf))
    if entry is None:
        if g is not None:
            sink.leaf(leaf, g)
        return
    if g is not None:
        if entry[2] is not None and (isinstance(g, Tensor) or isinstance(entry[2], Tensor)):  # a sparse one
            pair = (t if isinstance(t, Tensor) else Tensor._make(t, leaf._device) for t in (entry[2], g))
            entry[2] = _grad_sum(*pair)
        else:
            entry[2] = g if entry[2] is None else entry[2] + g
    entry[0] -= 1
    if entry[0] == 0 and entry[2] is not None:
        sink.leaf(leaf, entry[2])
        if sink.capture is None:  # autograd.grad() accumulates into no .grad: no post-accumulate hooks
            for hook in list(leaf._post_hooks or ()):
                hook(leaf)


_add = float_errors_ignored(lambda a, b: a + b)  # inf + -inf is nan without a NumPy warning, as in PyTorch


class _Sink:
    """Where gradients that reach leaves go: into ``.grad`` (backward) or a dict (grad()). The gradients
    that reach it are raw arrays in a first-order pass and Tensors when ``tensors``."""

    def __init__(self, create_graph, capture, tensors=False):
        self.create_graph = create_graph
        self.tensors = tensors  # the gradients are Tensors (create_graph, or forward AD's tangents ride on them)
        self.capture = capture  # None, or {key: gradient or None} for autograd.grad
        self.owned = set()  # ids of arrays already handed to a .grad in this pass

    def own(self, g):
        """``g`` itself, or a copy if its array may be shared with another ``.grad``."""
        data = g._data
        if id(data) in self.owned or g._device.backend.may_share_memory(data):
            data = g._device.create("asarray", data, copy=True)
        self.owned.add(id(data))
        return g._make(data, g._device)

    def store(self, tensor, g):
        """Accumulate the Tensor ``g`` into ``tensor.grad`` (in place into the existing grad object)."""
        if self.create_graph:
            tensor._grad = g if tensor._grad is None else _grad_sum(tensor._grad, g)
        elif g._sparse or tensor._grad is not None and tensor._grad._sparse:
            tensor._grad = _sparse_accumulated(tensor._grad, g)
        elif tensor._grad is None:
            tensor._grad = self.own(g)
        else:
            old = tensor._grad
            old._data = _add(old._data, g._data)
            old._version[0] += 1

    def leaf(self, tensor, g):
        if self.capture is not None and id(tensor) not in self.capture:
            return  # grad() does not reach this leaf, as in PyTorch: its hooks do not run
        if not isinstance(g, Tensor):  # a first-order pass carries arrays; a sparse gradient is a Tensor
            g = Tensor._make(g, tensor._device)
        for hook in tensor._hooks or ():
            new = hook(g)
            if new is not None:
                g = _checked_hook_result(hook, g, new)
        if self.capture is None:
            self.store(tensor, g)
        elif id(tensor) in self.capture:
            prev = self.capture[id(tensor)]
            self.capture[id(tensor)] = g if prev is None else _grad_sum(prev, g)


def _grad_sum(a, b):
    """Two gradients of one leaf (Tensors) summed; a dense + sparse sum is dense and sparse + sparse stays sparse,
    as PyTorch's AccumulateGrad (``sparse + dense`` is written ``dense + sparse``: a sparse tensor adds only
    sparse ones)."""
    return b + a if a._sparse and not b._sparse else a + b


def _sparse_accumulated(old, g):
    """A first-order ``.grad`` where a sparse gradient (``Embedding(sparse=True)``) is involved: the first one
    kept as it is (a copy), a dense one accumulating a sparse one in place, otherwise a new sum, as PyTorch."""
    if old is None:
        return g.detach().clone()
    if old._sparse:
        return _grad_sum(old, g.detach().clone())
    old._data = _add(old._data, g.to_dense()._data)
    old._version[0] += 1
    return old


def _as_tensors(node, grads, tensors) -> list:
    """``node``'s output gradients as Tensors (a first-order pass carries raw arrays)."""
    if tensors:
        return grads
    device = node.out_device or node.device
    return [None if g is None else Tensor._make(g, device) for g in grads]


def _checked_hook_result(hook, g, new):
    """What a gradient hook returned in place of ``g``: it must keep its shape (PyTorch refuses it too)."""
    if not isinstance(new, Tensor) or new.shape != g.shape:
        raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} has changed the size of value: it returned "
                           f"{getattr(new, 'shape', type(new).__name__)} for a gradient of shape {g.shape}")
    return new


def _run_output_hooks(node, grads, sink):
    """Hooks registered on non-leaf outputs of ``node``; ``retain_grad`` is one of them, and runs after the
    others whatever the order they were registered in, as in PyTorch (``.grad`` holds what the hooks made)."""
    tensors = _as_tensors(node, grads, sink.tensors)
    for index, hooks in node._out_hooks.items():
        g = tensors[index]
        if g is None:
            continue
        retains = None
        for hook in hooks:
            if isinstance(hook, RetainGradHook):
                retains = hook
                continue
            new = hook(g)
            if new is not None:
                g = _checked_hook_result(hook, g, new)
        if retains is not None:
            retains.retain(g, sink)
        grads[index] = g if sink.tensors else g._data


def _capture_outputs(node, grads, capture, tensors):
    """``autograd.grad`` with respect to non-leaf tensors: the gradients reaching ``node``'s outputs."""
    for i, g in enumerate(_as_tensors(node, grads, tensors)):
        if g is not None and (node, i) in capture:
            prev = capture[(node, i)]
            capture[(node, i)] = g if prev is None else prev + g


def _needed_nodes(deps, capture) -> set:
    """For ``grad()``: the reachable nodes (``deps``) from which a captured place can be reached, the ones whose
    backward must run. PyTorch runs no other node, so no hook of a tensor off those paths is called."""
    left, order = dict(deps), []
    stack = [node for node, n in left.items() if not n]
    while stack:  # a topological order, outputs first
        node = stack.pop()
        order.append(node)
        for edge in node._edges:
            if type(edge) is tuple:
                left[edge[0]] -= 1
                if not left[edge[0]]:
                    stack.append(edge[0])
    needed = set()
    for node in reversed(order):
        for edge in node._edges:
            if edge is None:
                continue
            if (edge in capture or edge[0] in needed) if type(edge) is tuple else id(edge) in capture:
                needed.add(node)
                break
    return needed


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, capture=None):
    """Propagate ``root_grads`` from ``roots`` back to the leaves.

    With ``capture`` (a dict keyed by ``id(leaf)`` or ``(node, index)``) the gradients
    reaching those places are collected there instead of accumulated into ``.grad``.
    A first-order pass (no ``create_graph``) carries raw arrays between the nodes' ``vjp``s, under
    one guard against NumPy's floating-point warnings; with ``create_graph`` the nodes' ``backward``
    runs on Tensors and is recorded. While a forward-AD dual level is open, it runs so too (the ops' backward
    formulas in their differentiable form), so gradients carry tangents: forward-over-reverse, as PyTorch;
    ``grad()`` then detaches its results, keeping their tangents.
    """
    queued = []  # queue_callback's callbacks (a backward run inside a hook has its own)
    tensors = create_graph or _function.dual_mode is not None
    sink = _Sink(create_graph, capture, tensors)
    if not tensors:
        root_grads = [g._data for g in root_grads]
    for g in root_grads:
        sink.owned.add(id(g) if not tensors else id(g._data))
    deps = _graph_dependencies(roots)
    needed = observed = None  # grad(): the nodes whose backward runs; those whose outputs' hooks run
    if capture is not None:
        needed = _needed_nodes(deps, capture)
        observed = needed | {key[0] for key in capture if type(key) is tuple}
    hooked = _leaf_hook_counts(roots, deps) if _tensor.leaf_hooks_registered else None
    call = _call_vjp if not tensors else _call_backward
    direct = call is _call_vjp  # one output's vjp is called in the loop itself
    if anomaly_mode.state.enabled:
        call, direct = functools.partial(_checked, call), False
    buffers = {}
    ready = []
    for root, g in zip(roots, root_grads):
        node = root._node
        if node is None:
            if hooked is not None:
                _leaf_edge(hooked, root, g, sink)
            else:
                sink.leaf(root, g)
            continue
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * len(node._out_meta)
            if not deps.get(node):
                ready.append(node)
        i = root._out_idx
        buf[i] = g if buf[i] is None else buf[i] + g

    prev_mode = grad_mode.state.enabled
    grad_mode.state.enabled = tensors
    try:
        # in the outputs' device context: what a backward (or a queued callback) allocates with the namespace's
        # creation functions follows the current device on CuPy
        with roots[0]._device.context():
            with float_errors_quiet():  # NumPy's float warnings off: PyTorch's inf and nan are silent
                while ready:
                    node = ready.pop()
                    grads = buffers.pop(node, None)  # a buffer exists only once some gradient arrived
                    edges = node._edges
                    if grads is None or (observed is not None and node not in observed):
                        in_grads = (None,) * len(edges)
                    else:
                        if node._out_hooks:
                            _run_output_hooks(node, grads, sink)
                        if capture is not None:
                            _capture_outputs(node, grads, capture, tensors)
                        if needed is not None and node not in needed:  # grad() needs nothing below it
                            in_grads = (None,) * len(edges)
                        else:
                            in_grads = node.vjp(grads[0]) if direct and len(grads) == 1 else call(node, grads)
                            if type(in_grads) is not tuple:
                                in_grads = (in_grads,)
                            if len(in_grads) != len(edges):
                                raise RuntimeError(f"{type(node).__name__}.backward returned {len(in_grads)} "
                                                   f"gradients for {len(edges)} inputs")
                            if not retain_graph and node._saved is not None:
                                node._saved = False  # free the saved tensors
                    for edge, g in zip(edges, in_grads):
                        if edge is None:
                            continue
                        if type(edge) is tuple:
                            nxt, i = edge
                            if g is not None:
                                buf = buffers.get(nxt)
                                if buf is None:
                                    buf = buffers[nxt] = [None] * len(nxt._out_meta)
                                buf[i] = g if buf[i] is None else buf[i] + g
                            left = deps[nxt] - 1
                            deps[nxt] = left
                            if not left:
                                ready.append(nxt)
                        elif hooked is not None:
                            _leaf_edge(hooked, edge, g, sink)
                        elif g is not None:
                            sink.leaf(edge, g)
            while queued:  # a callback may queue another: it runs in this pass too
                queued.pop(0)()
    finally:
        grad_mode.state.enabled = prev_mode


def _zeros_for_missing(node, grads, as_arrays) -> None:
    """An output of a multi-output node that got no gradient counts as zeros."""
    device = node.out_device or node.device
    for i, g in enumerate(grads):
        if g is None:
            shape, dtype, _ = node._out_meta[i]
            zeros = device.create("zeros", shape, dtype=dtype)
            grads[i] = zeros if as_arrays else Tensor._make(zeros, device)


def _call_vjp(node, grads):
    """A first-order step: ``node.vjp`` on the gradient arrays of its outputs."""
    if len(grads) == 1:
        return node.vjp(grads[0])
    if node._fill_missing_grads:
        _zeros_for_missing(node, grads, True)
    return node.vjp(*grads)


def _call_backward(node, grads):
    """A step on Tensors (recorded under ``create_graph``): ``node.backward``."""
    if len(grads) > 1 and node._fill_missing_grads:
        _zeros_for_missing(node, grads, False)
    return node.backward(*grads)


def _checked(call, node, grads):
    """``call(node, grads)`` under anomaly mode: a failure or a NaN gradient names the node and shows
    where its forward was called (in a note on the error: its message stays PyTorch's)."""
    try:
        result = call(node, grads)
    except Exception as error:
        error.add_note(f"Error detected in {node.name()}.{_where(node)}")
        raise
    result = result if type(result) is tuple else (result,)
    if anomaly_mode.state.check_nan:
        for i, g in enumerate(result):
            data = getattr(g, "_data", g)  # a Tensor under create_graph, an array otherwise
            xp = node.device.xp
            if g is not None and data.dtype in node.device.floating and bool(xp.any(xp.isnan(data))):
                error = RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
                error.add_note(f"Error detected in {node.name()}.{_where(node)}")
                raise error
    return result


def _where(node) -> str:
    trace = getattr(node, "_forward_trace", None)
    if trace is None:
        return " (its forward ran while anomaly mode was off, so where it was called is not known)"
    return f" Traceback of the forward call that created it:\n{trace}"
