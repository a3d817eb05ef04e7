"""``Function``: one differentiable operation, and the node it leaves in the graph.

As in DeZero, ``forward`` computes on raw backend arrays (get the namespace from
``ctx.xp``) and ``backward`` is written with lucid Tensor ops, so the same code gives
higher-order gradients under ``create_graph=True``. The Function instance is its own
context (``ctx``): one Python object per op call.

Example::

    class Cube(Function):
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x * x

    y = Cube.apply(t)

``save_for_backward`` takes the arrays ``forward`` received or returned (matched by
identity, so ``saved_tensors`` gives back the graph-connected Tensors) or any other array,
which is saved as a constant. In-place changes to a saved tensor are detected at backward
by version counters.
"""

from __future__ import annotations

from .._backend import registry
from .._backend.device import DeviceMismatchError
from .._tensor import Tensor
from . import grad_mode

__all__ = ["Function", "register_interceptor", "LOWER", "FLOAT32"]

# Values of ``Function.autocast_policy``: what ``lucid.amp.autocast`` does with an op's floating inputs.
LOWER = "lower"  # float32 inputs are cast down to the autocast dtype (matmul, linear, conv, attention)
FLOAT32 = "float32"  # lower-precision inputs are cast up to float32 (softmax, norms, losses, exp/log, ...)

# Called as ``interceptor(cls, inputs, params)`` before every op while any is registered: returns the
# op's result when it ran the op itself, else None. Empty otherwise, so an op pays one global read.
# Read it freely; change it only through register_interceptor.
interceptors: tuple = ()


class InterceptorHandle:
    """Returned by :func:`register_interceptor`: ``remove()`` takes the interceptor out again."""

    def __init__(self, interceptor):
        self.interceptor = interceptor

    def remove(self) -> None:
        global interceptors
        interceptors = tuple(i for i in interceptors if i is not self.interceptor)


def register_interceptor(interceptor) -> InterceptorHandle:
    """Run ``interceptor(cls, inputs, params)`` before every ``Function.apply`` (``lucid.amp.autocast``
    casting the inputs, the CUDA backend switching to the inputs' GPU); it returns the op's result when
    it ran the op itself, else None. Returns a handle whose ``remove()`` unregisters it."""
    global interceptors
    if not callable(interceptor):
        raise TypeError(f"an interceptor must be callable, got {type(interceptor).__name__}")
    interceptors = (*interceptors, interceptor)
    return InterceptorHandle(interceptor)


def _register_backend_interceptor(backend) -> None:
    if backend.op_interceptor is not None:
        register_interceptor(backend.op_interceptor)


registry.on_backend_created(_register_backend_interceptor)


_FREED = (
    "Trying to backward through the graph a second time (or to use saved tensors after they were "
    "freed): the first backward freed {name}'s saved tensors. Pass retain_graph=True to the first "
    "backward() if you need to go through the graph again."
)


class Function:
    """Base class of differentiable operations. Subclass it, write ``forward(ctx, *arrays,
    **params)`` and ``backward(ctx, *grads)``, and call ``YourFunction.apply(*tensors, **params)``.

    ``backward`` returns one gradient (a Tensor or ``None``) per positional input of ``forward``.
    Non-Tensor positional inputs (Python numbers) are passed through to ``forward`` as they are
    and get no gradient.
    """

    # set by apply() on every node that is recorded
    device = None
    out_device = None  # set by forward when outputs live elsewhere (only ToCopy does)
    needs_input_grad: tuple = ()
    _edges: tuple = ()
    _saved = None  # None: nothing saved; False: freed by backward
    _to_save = None
    _out_meta: tuple = ()
    _out_hooks = None  # {output index: [hook, ...]} for hooks/retain_grad on non-leaf outputs
    autocast_policy = None  # LOWER / FLOAT32: how lucid.amp.autocast casts the inputs (None: not at all)
    # for view ops (run through lucid.autograd.views.view_apply): the output may be a copy instead
    # (reshape of a transposed array), or several of its elements may share memory (expand, unfold)
    may_copy = False
    overlapping = False

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, *grads):
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    # ---- context helpers --------------------------------------------------------------
    @property
    def xp(self):
        """The array namespace of the device this op runs on."""
        return self.device.xp

    @property
    def backend(self):
        return self.device.backend

    def save_for_backward(self, *arrays) -> None:
        """Keep ``arrays`` for ``backward`` (read them back as Tensors from ``saved_tensors``).
        Cheap to call unconditionally: nothing is kept when no graph is recorded."""
        if self.needs_input_grad:
            self._to_save = arrays

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if not saved:
            if saved is False:
                raise RuntimeError(_FREED.format(name=type(self).__name__))
            return ()
        out = []
        for kind, obj, counter, version in saved:
            if counter is not None and counter[0] != version:
                raise RuntimeError(
                    f"one of the tensors needed by {type(self).__name__}'s backward was modified by an "
                    f"in-place operation: it was saved at version {version} and is now at version "
                    f"{counter[0]}. Use an out-of-place operation (x = x + y instead of x += y) or "
                    f"clone() the tensor before changing it."
                )
            if kind == 0:  # an input Tensor, as it is
                out.append(obj)
            elif kind == 1:  # an output: rebuilt pointing at this node (no reference cycle)
                array, index = obj
                out.append(Tensor._make(array, self.device, self._out_meta[index][2], self, index, counter))
            elif kind == 2:  # a constant array
                out.append(Tensor._make(obj, self.device))
            else:  # a Python value (a scalar operand)
                out.append(obj)
        return tuple(out)

    # ---- running the op ---------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs, **params):
        """Run ``forward`` on the inputs' arrays and, when grad is on, record the node."""
        if interceptors:
            for intercept in interceptors:
                out = intercept(cls, inputs, params)
                if out is not None:
                    return out
        ctx = object.__new__(cls)
        device = None
        record = False
        arrays = []
        needs = []
        for t in inputs:
            if isinstance(t, Tensor):
                if t._base is not None and t._view_stamp is not t._base._node:
                    t._refresh_view()  # a view whose base was changed in place: take the new history
                if device is not t._device:
                    if device is not None:
                        raise DeviceMismatchError(
                            f"{cls.__name__} got tensors on different devices: {device} and {t._device}; "
                            f"move them to one device first with .to(device)"
                        )
                    device = t._device
                arrays.append(t._data)
                need = t._requires_grad
                needs.append(need)
                record = record or need
            else:
                arrays.append(t)
                needs.append(False)
        if device is None:
            raise TypeError(f"{cls.__name__} needs at least one Tensor input")
        ctx.device = device
        if record and grad_mode.state.enabled:
            ctx.needs_input_grad = tuple(needs)
            outs = ctx.forward(*arrays, **params)
            return ctx._connect(inputs, arrays, outs)
        outs = ctx.forward(*arrays, **params)
        device = ctx.out_device or device
        if type(outs) is tuple:
            return tuple(Tensor._make(a, device) for a in outs)
        return Tensor._make(outs, device)

    def _connect(self, inputs, arrays, outs):
        """Wrap the outputs as graph-connected Tensors and record edges and saved tensors."""
        single = type(outs) is not tuple
        if single:
            outs = (outs,)
        device = self.out_device or self.device
        floating = device.floating
        meta = []
        wrapped = []
        for i, a in enumerate(outs):
            differentiable = a.dtype in floating
            meta.append((a.shape, a.dtype, differentiable))
            wrapped.append(Tensor._make(a, device, differentiable, self if differentiable else None, i))
        self._out_meta = tuple(meta)
        edges = []
        for t, need in zip(inputs, self.needs_input_grad):
            edges.append(None if not need else (t._node, t._out_idx) if t._node is not None else t)
        self._edges = tuple(edges)
        to_save = self._to_save
        if to_save is not None:
            self._to_save = None
            self._saved = tuple([self._record(a, inputs, arrays, outs, wrapped) for a in to_save])
        return wrapped[0] if single else tuple(wrapped)

    @staticmethod
    def _record(array, inputs, arrays, outs, wrapped):
        """How one saved array is kept: as an input Tensor, as an output, or as a constant."""
        if not hasattr(array, "shape"):
            return (3, array, None, None)
        for t, a in zip(inputs, arrays):
            if a is array and hasattr(t, "_version"):
                return (0, t, t._version, t._version[0])
        for i, a in enumerate(outs):
            if a is array:
                counter = wrapped[i]._version
                return (1, (a, i), counter, counter[0])
        return (2, array, None, None)

    def _release(self) -> None:
        """Free the saved tensors once backward is done (unless ``retain_graph``)."""
        if self._saved is not None:
            self._saved = False

    def name(self) -> str:
        """The node's name in ``grad_fn`` reprs: ``LinearFunction`` records ``LinearBackward``."""
        return type(self).__name__.removesuffix("Function") + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"
