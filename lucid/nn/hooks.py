"""Hook machinery: removable hook handles (as ``torch.utils.hooks.RemovableHandle``) and the
nodes through which a module's full backward hooks see its gradients."""

from __future__ import annotations

import itertools
from collections import OrderedDict

from .._tensor import Tensor
from ..autograd.function import Function
from ..ops.creation import zeros_like

__all__ = ["RemovableHandle", "add_hook", "BackwardHooks"]

_ids = itertools.count()

# The hooks of every module (``torch.nn.modules.module.register_module_*_hook``), run before each module's own;
# their entries are those of a module's own tables.
global_forward_pre_hooks: OrderedDict = OrderedDict()
global_forward_hooks: OrderedDict = OrderedDict()
global_backward_pre_hooks: OrderedDict = OrderedDict()
global_backward_hooks: OrderedDict = OrderedDict()


class RemovableHandle:
    """Returned by every ``register_*_hook``: ``remove()`` (or leaving a ``with`` block)
    takes the hook out of the table it was put in."""

    def __init__(self, table: OrderedDict):
        self.id = next(_ids)
        self._table = table

    def remove(self) -> None:
        self._table.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def add_hook(table: OrderedDict, hook, prepend: bool = False, entry=None) -> RemovableHandle:
    """Put ``hook`` (or ``entry``, what the table stores for it) into the hook ``table``, last or,
    with ``prepend``, first; return its handle."""
    if not callable(hook):
        raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
    handle = RemovableHandle(table)
    table[handle.id] = hook if entry is None else entry
    if prepend:
        table.move_to_end(handle.id, last=False)
    return handle


class _HookIdentity(Function):
    """Identity on the tensors a hooked module receives (``side="input"``) or returns
    (``side="output"``); its backward is where the module's backward hooks run."""

    def forward(self, *arrays, hooks, side):
        self.hooks, self.side = hooks, side
        return arrays

    def backward(self, *grads):
        if self.side == "output":
            return self.hooks.on_grad_output(grads)
        return self.hooks.on_grad_input(grads)


def _spread(grads, index, n) -> tuple:
    """``grads`` of the tensors at positions ``index`` as an ``n``-tuple, None elsewhere."""
    out = [None] * n
    for i, g in zip(index, grads):
        out[i] = g
    return tuple(out)


def _replacement(new, n: int, what: str) -> tuple:
    new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
    if len(new) != n:
        raise RuntimeError(f"a {what} returned {len(new)} gradients, but {n} were expected")
    return new


class BackwardHooks:
    """One call of a module with full backward hooks: wraps its tensor inputs and outputs in
    :class:`_HookIdentity` nodes and calls the hooks when the gradients pass through them."""

    def __init__(self, module, args: tuple):
        self.module = module
        self.n_in = len(args)
        self.in_index = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        # tensor inputs without grad get zeros in grad_input (as PyTorch), when any input has grad
        self.constants = [(i, a) for i, a in enumerate(args) if isinstance(a, Tensor) and not a.requires_grad]
        self.grad_output = None

    def wrap_inputs(self, args: tuple) -> tuple:
        if not self.in_index:
            return args
        wrapped = _HookIdentity.apply(*(args[i] for i in self.in_index), hooks=self, side="input")
        args = list(args)
        for i, t in zip(self.in_index, wrapped):
            args[i] = t
        return tuple(args)

    def wrap_outputs(self, result):
        single = isinstance(result, Tensor)
        if not single and not isinstance(result, (tuple, list)):
            return result
        items = [result] if single else list(result)
        self.n_out = len(items)
        self.out_index = [i for i, r in enumerate(items) if isinstance(r, Tensor) and r.requires_grad]
        if not self.out_index:
            return result
        wrapped = _HookIdentity.apply(*(items[i] for i in self.out_index), hooks=self, side="output")
        for i, t in zip(self.out_index, wrapped):
            items[i] = t
        if single:
            return items[0]
        return type(result)(*items) if hasattr(result, "_fields") else type(result)(items)

    def on_grad_output(self, grads) -> tuple:
        module = self.module
        grad_output = _spread(grads, self.out_index, self.n_out)
        for hook in (*global_backward_pre_hooks.values(), *module._backward_pre_hooks.values()):
            new = hook(module, grad_output)
            if new is not None:
                grad_output = _replacement(new, self.n_out, "full backward pre-hook")
        self.grad_output = grad_output
        if not self.in_index:  # no input needs grad: hooks see grad_input all None, now
            self._call_hooks((None,) * self.n_in)
        return tuple(grad_output[i] for i in self.out_index)

    def on_grad_input(self, grads) -> tuple:
        grad_input = list(_spread(grads, self.in_index, self.n_in))
        for i, a in self.constants:
            grad_input[i] = zeros_like(a)
        grad_input = self._call_hooks(tuple(grad_input))
        return tuple(grad_input[i] for i in self.in_index)

    def _call_hooks(self, grad_input: tuple) -> tuple:
        module = self.module
        for hook in (*global_backward_hooks.values(), *module._backward_hooks.values()):
            new = hook(module, grad_input, self.grad_output)
            if new is not None:
                grad_input = _replacement(new, self.n_in, "full backward hook")
        return grad_input
