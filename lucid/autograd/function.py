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

import functools
import inspect
import traceback

from .. import _tensor
from .._backend import registry
from .._backend.device import DeviceMismatchError
from .._tensor import Tensor
from . import grad_mode
from .anomaly_mode import state as _anomaly

__all__ = ["Function", "FunctionCtx", "once_differentiable", "register_interceptor", "LOWER", "FLOAT32", "PROMOTE"]

# Values of ``Function.autocast_policy``: what ``lucid.amp.autocast`` does with an op's floating inputs.
LOWER = "lower"  # float32 inputs are cast down to the autocast dtype (matmul, linear, conv, attention)
FLOAT32 = "float32"  # lower-precision inputs are cast up to float32 (softmax, norms, losses, exp/log, ...)
PROMOTE = "promote"  # floating inputs are cast to the widest of their dtypes (index_copy on the CPU)

# Called as ``interceptor(cls, inputs, params)`` before every op while any is registered: returns the
# op's result when it ran the op itself, else None. Empty otherwise, so an op pays one global read.
# Read it freely; change it only through register_interceptor.
interceptors: tuple = ()

# While a forward-AD dual level is open (lucid.autograd.forward_ad): the hooks views, in-place ops and PyTorch-style
# Functions hand dual tensors to; None otherwise, which they pay one global read for. Change it only through
# set_dual_mode.
dual_mode = None


def set_dual_mode(hooks):
    """Install the forward-AD ``hooks`` (None: remove them); returns the previous ones."""
    global dual_mode
    prev, dual_mode = dual_mode, hooks
    return prev


# (pack_hook, unpack_hook) pairs of lucid.autograd.graph.saved_tensors_hooks, innermost last. Empty (the usual
# case) costs a recorded op that saves tensors one global read. Change it only through the functions below.
saved_tensors_hooks: tuple = ()


def push_saved_tensors_hooks(pack_hook, unpack_hook) -> None:
    """From now on, pass every tensor saved for backward through ``pack_hook`` and keep what it returns;
    backward gets ``unpack_hook(packed)`` back (``lucid.autograd.graph.saved_tensors_hooks``)."""
    global saved_tensors_hooks
    if not (callable(pack_hook) and callable(unpack_hook)):
        raise TypeError("saved_tensors_hooks needs two callables: pack_hook and unpack_hook")
    saved_tensors_hooks = (*saved_tensors_hooks, (pack_hook, unpack_hook))


def pop_saved_tensors_hooks() -> None:
    """Undo the last :func:`push_saved_tensors_hooks`."""
    global saved_tensors_hooks
    saved_tensors_hooks = saved_tensors_hooks[:-1]


def _pack(node, entry):
    """A ``_saved`` entry passed through the innermost pack hook (Python values stay as they are)."""
    kind, obj, counter, version = entry
    if kind == 3:
        return entry
    if kind == 0:
        tensor = obj
    elif kind == 1:
        array, index = obj
        tensor = Tensor._make(array, node.device, node._out_meta[index][2], node, index, counter)
    else:
        tensor = Tensor._make(obj, node.device)
    return 4, _call_pack(tensor), counter, version


def _call_pack(tensor):
    """``(pack(tensor), unpack)`` with the innermost hooks, which are off while ``pack`` runs (ops it calls
    save nothing through it again)."""
    global saved_tensors_hooks
    hooks = saved_tensors_hooks
    pack, unpack = hooks[-1]
    saved_tensors_hooks = ()
    try:
        return pack(tensor), unpack
    finally:
        saved_tensors_hooks = hooks


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


def _check_version(who: str, counter, version) -> None:
    """Raise when a saved tensor (its version ``counter``) was changed in place after it was saved at ``version``."""
    if counter is not None and counter[0] != version:
        raise RuntimeError(
            f"one of the tensors needed by {who} was modified by an in-place operation: it was saved at version "
            f"{version} and is now at version {counter[0]}. Use an out-of-place operation (x = x + y instead of "
            f"x += y) or clone() the tensor before changing it."
        )


_INFERENCE_SAVED = (
    "Inference tensors cannot be saved for backward. To work around you can make a clone to get a normal "
    "tensor and use it in autograd (the tensor was created under lucid.inference_mode())."
)


_PYTHON_VALUES = frozenset({bool, int, float, complex, type(None), tuple, str})  # saved as they are

# ``_out_meta`` of a single-output node: the shape and dtype are needed only to fill in the missing gradients
# of a multi-output node's outputs, so one shared tuple says whether the output is differentiable
_ONE_DIFFERENTIABLE = ((None, None, True),)
_ONE_CONSTANT = ((None, None, False),)


def edge_to(t):
    """The graph edge to a Tensor that requires grad: the leaf itself, or its node and output index."""
    return t if t._node is None else (t._node, t._out_idx)


def _forward_trace() -> str:
    """Where the op being recorded was called from (kept by anomaly mode, shown if its backward fails)."""
    return "".join(traceback.format_stack()[:-3])



class AccumulateGrad:
    """The graph node of a leaf in :attr:`Function.next_functions` (PyTorch's name): ``variable`` is the leaf
    whose ``.grad`` backward fills."""

    next_functions = ()

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"

    def __eq__(self, other) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)

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
    autocast_policy = None  # LOWER / FLOAT32 / {"cpu": ..., "cuda": ...}: how lucid.amp.autocast casts the inputs
    # for view ops (run through lucid.autograd.views.view_apply): the output may be a copy instead
    # (reshape of a transposed array), or several of its elements may share memory (expand, unfold)
    may_copy = False
    overlapping = False
    _fill_missing_grads = True  # the engine passes zeros for outputs that got no gradient (multi-output ops)
    # PyTorch's name of this op's node, without "Backward" ("Mm", "NllLoss"), and the number after it (its overload:
    # SumBackward1 for a sum over dims): class attributes where they are fixed; instance attributes set in forward
    # where they depend on the call, or by rename_node on a composite's last node.
    torch_name = None
    torch_overload = 0

    def __init_subclass__(cls, **kwargs):
        """A subclass written in PyTorch's style (``@staticmethod forward(ctx, ...)`` on Tensors, or a
        ``setup_context``) is routed through :class:`FunctionCtx`; decided once per class, so the
        array-level ops keep their direct ``apply``."""
        super().__init_subclass__(**kwargs)
        forward = next(k.__dict__["forward"] for k in cls.__mro__ if "forward" in k.__dict__)
        if isinstance(forward, staticmethod) or cls.setup_context is not Function.setup_context:
            cls.apply = classmethod(_apply_torch_style)
            cls._signature = inspect.signature(cls.forward)
            cls._ctx_class = type(f"{cls.__name__}Backward", (FunctionCtx,),
                                  {"_function": cls, "__module__": cls.__module__})

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, *grads):
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """PyTorch style: define it to write ``forward(*args)`` without ``ctx``; it then stores what
        ``backward`` needs on ``ctx`` from the forward's ``inputs`` tuple and ``output``."""
        raise NotImplementedError("setup_context is not implemented")

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
        return self._unpack_saved(False)

    @property
    def saved_arrays(self) -> tuple:
        """What ``saved_tensors`` gives, as raw backend arrays (Python values as they are): for ``vjp``."""
        return self._unpack_saved(True)

    def _unpack_saved(self, arrays: bool) -> tuple:
        """The saved values, version-checked, as graph-connected Tensors or (``arrays``) raw arrays."""
        saved = self._saved
        if not saved:
            if saved is False:
                raise RuntimeError(_FREED.format(name=type(self).__name__))
            return ()
        out = []
        for kind, obj, counter, version in saved:
            if counter is not None and counter[0] != version:
                _check_version(f"{type(self).__name__}'s backward", counter, version)
            if kind == 0:  # an input Tensor, as it is
                out.append(obj._data if arrays else obj)
            elif kind == 1:  # an output: rebuilt pointing at this node (no reference cycle)
                array, index = obj
                if arrays:
                    out.append(array)
                    continue
                t = Tensor._make(array, self.device, self._out_meta[index][2], self, index, counter)
                if dual_mode is not None:  # forward AD: the output's tangent, for a backward in the dual level
                    dual_mode.saved_output(self, index, t)
                out.append(t)
            elif kind == 2:  # a constant array
                out.append(obj if arrays else Tensor._make(obj, self.device))
            elif kind == 4:  # packed by a saved_tensors_hooks pack hook
                packed, unpack = obj
                tensor = unpack(packed)
                out.append(tensor._data if arrays and isinstance(tensor, Tensor) else tensor)
            else:  # a Python value (a scalar operand)
                out.append(obj)
        return tuple(out)

    def vjp(self, *grads):
        """The first-order backward on raw arrays: one gradient array (or None) per input from one array
        (or None) per output. The engine calls it when no graph of the backward is recorded
        (``create_graph=False``); ops override it to skip the Tensor wrapping of ``backward`` (the two must
        agree: the gradcheck table checks it). This default runs ``backward`` on Tensors around the arrays."""
        device = self.out_device or self.device
        result = self.backward(*[None if g is None else Tensor._make(g, device) for g in grads])
        if type(result) is not tuple:
            return None if result is None else result._data
        return tuple(None if r is None else r._data for r in result)

    # ---- running the op ---------------------------------------------------------------
    @property
    def next_functions(self) -> tuple:
        """Per input, as PyTorch's ``grad_fn.next_functions``: ``(node, output index)`` of the node that made it,
        ``(AccumulateGrad, 0)`` for a leaf that requires grad (its ``variable`` is the leaf), ``(None, 0)`` for an
        input without gradient. For walking a graph (drawing it, say); backward does not use it."""
        return tuple((None, 0) if edge is None else (AccumulateGrad(edge), 0) if isinstance(edge, Tensor) else edge
                     for edge in self._edges)

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
                if t._requires_grad:
                    record = True
            else:
                arrays.append(t)
        if device is None:
            raise TypeError(f"{cls.__name__} needs at least one Tensor input")
        ctx.device = device
        if not (record and grad_mode.state.enabled):
            outs = ctx.forward(*arrays, **params)
            device = ctx.out_device or device
            if type(outs) is tuple:
                return tuple(Tensor._make(a, device) for a in outs)
            return Tensor._make(outs, device)
        edges = []
        needs = []
        for t in inputs:
            if isinstance(t, Tensor) and t._requires_grad:
                edges.append(edge_to(t))
                needs.append(True)
            else:
                edges.append(None)
                needs.append(False)
        return ctx._record(inputs, arrays, tuple(needs), tuple(edges), params)

    def _record(self, inputs, arrays, needs, edges, params):
        """The recorded half of ``apply`` (``self.device`` set; ``edges`` per input: None, the leaf Tensor
        or ``(node, output index)``): run ``forward`` and connect its outputs to this node. ``fast_apply``
        enters here directly for the small ops, whose operands it has already sorted out."""
        self.needs_input_grad = needs
        self._edges = edges
        outs = self.forward(*arrays, **params)
        if _anomaly.enabled:
            self._forward_trace = _forward_trace()
        if type(outs) is tuple:
            return self._connect(inputs, arrays, outs)
        out_device = self.out_device or self.device
        if outs.dtype in out_device.floating:
            self._out_meta = _ONE_DIFFERENTIABLE
            out = Tensor._make(outs, out_device, True, self)
        else:
            self._out_meta = _ONE_CONSTANT
            out = Tensor._make(outs, out_device)
        if self._to_save is not None:
            self._save(inputs, arrays, (outs,), (out,))
        return out

    def _connect(self, inputs, arrays, outs):
        """Wrap the outputs of a multi-output op as graph-connected Tensors and record the saved tensors."""
        device = self.out_device or self.device
        floating = device.floating
        meta = []
        wrapped = []
        for i, a in enumerate(outs):
            differentiable = a.dtype in floating
            meta.append((a.shape, a.dtype, differentiable))
            wrapped.append(Tensor._make(a, device, differentiable, self if differentiable else None, i))
        self._out_meta = tuple(meta)
        if self._to_save is not None:
            self._save(inputs, arrays, outs, wrapped)
        return tuple(wrapped)

    def _save(self, inputs, arrays, outs, wrapped) -> None:
        """Keep what forward passed to ``save_for_backward``: each array as an input Tensor, as an output
        (rebuilt at backward, no reference cycle), as a constant array, or a Python value as it is."""
        saved = []
        for array in self._to_save:
            if type(array) in _PYTHON_VALUES:
                saved.append((3, array, None, None))
                continue
            for t, a in zip(inputs, arrays):
                if a is array and isinstance(t, Tensor):
                    if _tensor.inference_tensors_made and t._is_inference:
                        raise RuntimeError(_INFERENCE_SAVED)
                    counter = t._version
                    saved.append((0, t, counter, counter[0]))
                    break
            else:
                for i, a in enumerate(outs):
                    if a is array:
                        counter = wrapped[i]._version
                        saved.append((1, (a, i), counter, counter[0]))
                        break
                else:
                    saved.append((2, array, None, None) if hasattr(array, "shape") else (3, array, None, None))
        self._to_save = None
        self._saved = tuple(saved)
        if saved_tensors_hooks:
            self._saved = tuple(_pack(self, entry) for entry in self._saved)

    def name(self) -> str:
        """PyTorch's name of the node: ``torch_name`` (else the class's name: ``LinearFunction`` gives ``Linear``),
        ``Backward`` and, for lucid's own ops, ``torch_overload`` (``MmBackward0`` for a 2-D ``MatMul``; a user's
        Function gives ``CubeBackward``, as PyTorch numbers only its own nodes); with ``torch_overload`` None,
        ``torch_name`` is the whole name (``torch::autograd::CopySlices``)."""
        if self.torch_overload is None:
            return self.torch_name
        number = self.torch_overload if type(self).__module__.startswith("lucid.") else ""
        return f"{self.torch_name or type(self).__name__.removesuffix('Function')}Backward{number}"

    def __repr__(self) -> str:
        return f"<{self.name()}>"


def rename_node(out: Tensor, torch_name: str, overload: int | None = 0) -> Tensor:
    """``out`` with its node reported as PyTorch's ``torch_name`` node (``overload``: the number after its name;
    None: ``torch_name`` is the whole name): for an op composed of others (``mse_loss`` ends in a mean, which torch
    records as one ``MseLossBackward0``) or whose node torch names by the call (``sum(dim)``: ``SumBackward1``).
    Returns ``out``."""
    node = out._node
    if node is not None:
        node.torch_name, node.torch_overload = torch_name, overload
    return out


OUTPUT = -1  # in ``ComputedFunction.kept``: the op's output


class ComputedFunction(Function):
    """An op computed by ``compute(xp, *arrays, **params)`` (a static method) whose backward reads only
    what ``kept`` lists (input positions, and ``OUTPUT``) and what ``remember`` stores (shapes, parameters).
    ``fast_apply`` records it in one step (``_record_computed``): no ``forward`` call and no search of the
    inputs and outputs for the saved arrays, a third of a small op's cost. A subclass whose ``forward``
    saves anything else sets ``kept = None``."""

    kept: tuple | None = ()

    def remember(self, arrays, params) -> None:
        """Store what backward needs besides the kept values (called only when the node is recorded)."""

    def forward(self, *arrays, **params):
        out = self.compute(self.device.xp, *arrays, **params)
        if self.needs_input_grad:
            self.remember(arrays, params)
            if self.kept:
                self._to_save = tuple(out if k == OUTPUT else arrays[k] for k in self.kept)
        return out

    def _record_computed(self, inputs, arrays, needs, edges, params):
        """``_record`` with the saved entries made from ``kept`` directly (``self.device`` set); the general
        ``_record`` under anomaly mode, saved-tensor hooks or once inference tensors exist (it checks them)."""
        if self.kept is None or _anomaly.enabled or saved_tensors_hooks or _tensor.inference_tensors_made:
            return self._record(inputs, arrays, needs, edges, params)
        self.needs_input_grad = needs
        self._edges = edges
        device = self.device
        y = self.compute(device.xp, *arrays, **params) if params else self.compute(device.xp, *arrays)
        if y.dtype not in device.floating:  # no gradient flows through it: nothing to record
            return Tensor._make(y, device)
        self.remember(arrays, params)
        self._out_meta = _ONE_DIFFERENTIABLE
        out = Tensor._make(y, device, True, self)
        if self.kept:
            saved = []
            for k in self.kept:
                if k == OUTPUT:
                    saved.append((1, (y, 0), out._version, 0))
                elif isinstance(inputs[k], Tensor):
                    counter = inputs[k]._version
                    saved.append((0, inputs[k], counter, counter[0]))
                else:  # a Python scalar operand
                    saved.append((3, inputs[k], None, None))
            self._saved = tuple(saved)
        return out


# ---- PyTorch-style custom functions -------------------------------------------------------
class FunctionCtx(Function):
    """The ``ctx`` of a PyTorch-style Function and the node it leaves in the graph (as PyTorch's
    ``XBackward`` objects): ``forward(ctx, *args)`` runs on Tensors under ``no_grad``, its Tensor
    outputs are attached to this node, and ``backward(ctx, *grads)`` is written in Tensor ops (so
    ``create_graph=True`` differentiates it again). One subclass per user Function, made at class
    creation."""

    _function = None  # the user's Function class
    _fill_missing_grads = False  # backward() fills them itself (set_materialize_grads)
    _materialize = True
    _non_differentiable = frozenset()
    _dirty = frozenset()
    _in_meta: tuple = ()  # (shape, dtype) of each Tensor input, None for the other arguments
    _saved_for_forward: tuple = ()

    def mark_non_differentiable(self, *tensors) -> None:
        """These outputs get no gradient: they do not require grad, and backward sees zeros for them."""
        self._non_differentiable = self._non_differentiable | {id(t) for t in tensors}

    def mark_dirty(self, *tensors) -> None:
        """These inputs were modified in place by forward (and are returned): their history becomes this node."""
        self._dirty = self._dirty | {id(t) for t in tensors}

    def save_for_forward(self, *tensors) -> None:
        """Keep Tensors (or None) for ``jvp`` (forward-mode AD: :mod:`lucid.autograd.forward_ad`), where
        ``ctx.saved_tensors`` gives them back."""
        self._saved_for_forward = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward gets None (not zeros) for outputs that received no gradient."""
        self._materialize = bool(value)

    def save_for_backward(self, *tensors) -> None:
        """Keep Tensors (or None) for backward; read them back, version-checked, from ``saved_tensors``."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save tensors, but argument {i} is of type "
                                f"{type(t).__name__}")
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is False:
            raise RuntimeError(_FREED.format(name=self.name()))
        if saved is None:  # not recorded (no input required grad): what forward saved, as it is
            return tuple(self._to_save or ())
        out = []
        for t, index, counter, version in saved:
            _check_version(self.name(), counter, version)
            if index == -1:  # packed by a saved_tensors_hooks pack hook
                packed, unpack = t
                t = unpack(packed)
            elif index is not None:  # an output: rebuilt pointing at this node (no reference cycle)
                array, device = t
                t = Tensor._make(array, device, True, self, index, counter)
            out.append(t)
        return tuple(out)

    def name(self) -> str:
        return type(self).__name__

    def backward(self, *grads):
        """Run the user's backward with the output gradients and check what it returns."""
        fn = self._function
        grads = list(grads)
        if self._materialize:
            for i, meta in enumerate(self._out_meta):
                if grads[i] is None and meta[3] is not None:
                    shape, dtype, _, device = meta
                    grads[i] = Tensor._make(device.create("zeros", shape, dtype=dtype), device)
        result = fn.backward(self, *grads)
        result = result if isinstance(result, tuple) else (result,)
        n = len(self._edges)
        if len(result) < n or any(g is not None for g in result[n:]):
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                               f"(expected {n}, got {len(result)})")
        out = []
        for i, (g, meta) in enumerate(zip(result, self._in_meta)):
            if g is not None and meta is None:
                raise RuntimeError(f"function {self.name()} returned a gradient different than None at "
                                   f"position {i}, but the corresponding forward input was not a Tensor")
            out.append(None if g is None or self._edges[i] is None else _validated(g, *meta, self.name(), i))
        return tuple(out)


def _validated(g, shape, dtype, name, i):
    """The gradient ``g`` a user's backward returned for an input of ``shape`` and ``dtype``, as PyTorch's engine
    takes it: summed down to ``shape`` when ``shape`` broadcasts to it (else an error), and cast to ``dtype``
    (a float32 gradient of a float64 input arrives as float64)."""
    if not isinstance(g, Tensor):
        raise TypeError(f"function {name} returned a {type(g).__name__} as gradient {i}; expected a Tensor or None")
    if g.dtype != dtype and not g._sparse:
        g = g.to(dtype)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead < 0 or any(s not in (1, gs) for s, gs in zip(shape, g.shape[lead:])):
        raise RuntimeError(f"function {name} returned an invalid gradient at index {i} - got {list(g.shape)} "
                           f"but expected shape compatible with {list(shape)}")
    dims = tuple(range(lead)) + tuple(lead + k for k, s in enumerate(shape) if s == 1 and g.shape[lead + k] != 1)
    return g.sum(dim=dims, keepdim=True).reshape(shape)


def _bound_inputs(cls, args, kwargs) -> tuple:
    """With ``setup_context``, forward's arguments are bound to its signature with defaults filled in,
    as PyTorch does: they are ``setup_context``'s ``inputs`` and the inputs gradients are returned for."""
    bound = cls._signature.bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.args, bound.kwargs


def _apply_torch_style(cls, *args, **kwargs):
    """``apply`` of a PyTorch-style Function: forward on Tensors under no_grad, then the Tensor
    outputs are attached to one :class:`FunctionCtx` node with an edge per positional input."""
    if dual_mode is not None:  # forward AD: the outputs' tangents come from the Function's jvp
        return dual_mode.apply_custom(cls, args, kwargs)
    return run_torch_style(cls, object.__new__(cls._ctx_class), args, kwargs)


def run_torch_style(cls, ctx, args, kwargs):
    """The body of :func:`_apply_torch_style` with its ``ctx`` given (forward AD reads it for ``jvp``)."""
    setup = cls.setup_context is not Function.setup_context
    if setup:
        args, kwargs = _bound_inputs(cls, args, kwargs)
    needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)  # the property refreshes views
    record = grad_mode.state.enabled and any(needs)
    ctx.needs_input_grad = needs if record else (False,) * len(args)
    ctx.device = next((a._device for a in args if isinstance(a, Tensor)), None)
    prev, grad_mode.state.enabled = grad_mode.state.enabled, False
    try:
        if setup:
            output = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, output)
        else:
            output = cls.forward(ctx, *args, **kwargs)
    finally:
        grad_mode.state.enabled = prev
    if not record:
        return output
    ctx._edges = tuple(edge_to(a) if n else None for a, n in zip(args, needs))
    ctx._in_meta = tuple((a.shape, a.dtype) if isinstance(a, Tensor) else None for a in args)
    single = not isinstance(output, tuple)
    outs, results = (output,) if single else output, []
    meta, seen = [], set()
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            meta.append((None, None, False, None))
            results.append(o)
            continue
        differentiable = o.dtype.kind in "fc" and id(o) not in ctx._non_differentiable
        if id(o) in ctx._dirty:
            if o._node is None and o._requires_grad:
                raise RuntimeError(f"{cls.__name__}: a leaf tensor that requires grad was modified in place by "
                                   f"forward (mark_dirty); clone() it first")
            if o._base is not None:
                raise NotImplementedError(f"{cls.__name__}: mark_dirty on a view is not supported; pass the base")
            t = o
        elif id(o) in seen or o._base is not None or any(o is a for a in args):
            t = Tensor._make(o._data, o._device, version=o._version)  # an alias gets its own history
        else:
            t = o
        seen.add(id(o))
        t._node, t._out_idx, t._requires_grad = (ctx, i, True) if differentiable else (None, 0, False)
        meta.append((o.shape, o._data.dtype, differentiable, o._device))
        results.append(t)
    ctx._out_meta = tuple(meta)
    if _anomaly.enabled:
        ctx._forward_trace = _forward_trace()
    to_save, ctx._to_save = ctx._to_save, None
    if to_save:
        ctx._saved = tuple(_save(t, outs, results) for t in to_save)
        if saved_tensors_hooks:
            ctx._saved = tuple(_pack_ctx(ctx, entry) for entry in ctx._saved)
    return results[0] if single else tuple(results)


def _save(t, outs, results):
    """How a saved Tensor is kept: an output as (array, device) rebuilt at backward, else as it is."""
    if t is None:
        return None, None, None, None
    for i, (o, r) in enumerate(zip(outs, results)):
        if (t is o or t is r) and r._node is not None:
            return (r._data, r._device), i, r._version, r._version[0]
    if t._is_inference:
        raise RuntimeError(_INFERENCE_SAVED)
    return t, None, t._version, t._version[0]


def _pack_ctx(ctx, entry):
    """A FunctionCtx ``_saved`` entry passed through the innermost pack hook (index -1 marks it packed)."""
    t, index, counter, version = entry
    if t is None:
        return entry
    if index is not None:
        array, device = t
        t = Tensor._make(array, device, True, ctx, index, counter)
    return _call_pack(t), -1, counter, version


class _DelayedError(Function):
    """Passes the gradient computed by a ``once_differentiable`` backward; differentiating it raises."""

    def forward(self, g, *inputs):
        return g

    def backward(self, grad):
        raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")


class _ZeroDerivative(Function):
    """Passes ``g`` through, recorded as depending on ``source`` with derivative zero (see :func:`tie_to`)."""

    def forward(self, g, source):
        self.source_meta = source.shape, source.dtype, source.device
        return g

    def backward(self, grad):
        shape, dtype, device = self.source_meta
        return grad, Tensor._make(self.xp.zeros(shape, dtype=dtype, device=device), self.device)


def tie_to(grad, source, always: bool = False):
    """``grad``, kept in the graph of ``source`` under create_graph with a zero derivative: a gradient that is
    piecewise constant in ``source`` (ReLU's ``g * (x > 0)``) then requires grad and differentiates to zeros,
    as PyTorch's (whose backward formulas take ``source`` as an input), not to an error or None. ``always``: tied
    also when ``grad`` already requires grad through the incoming gradient (a trainable layer after the ReLU), as
    PyTorch's ReLU-like formulas give ``zeros_like`` for ``source`` then too; without it only a ``grad`` outside
    the graph is tied (a convolution's double backward leaves its input's derivative undefined then)."""
    if (grad_mode.state.enabled and isinstance(grad, Tensor) and (always or not grad.requires_grad)
            and source.requires_grad):
        return _ZeroDerivative.apply(grad, source)
    return grad


class _TiedGradient(Function):
    """The identity on ``t``, whose gradient is tied (:func:`tie_to`, with ``always``) to each of ``sources``."""

    def forward(self, t, *sources, always=False):
        self.always = always
        self.save_for_backward(*sources)
        return t

    def backward(self, grad):
        sources = self.saved_tensors
        for source in sources:
            grad = tie_to(grad, source, self.always)
        return (grad, *(None,) * len(sources))


def tied(t, *sources, always: bool = False):
    """``t``, whose gradient under create_graph is tied (:func:`tie_to`) to ``sources``: for an op whose PyTorch
    backward is one node taking ``sources`` (a convolution's bias gradient depends on its input and weight
    there; a pooling's input gradient on its input, ``always``), so that the gradient requires grad exactly when
    PyTorch's does. ``t`` itself when nothing is tied."""
    if grad_mode.state.enabled and t.requires_grad and any(s.requires_grad for s in sources):
        return _TiedGradient.apply(t, *sources, always=always)
    return t


def once_differentiable(backward):
    """Decorate a PyTorch-style ``backward`` written without differentiable ops (it runs under no_grad):
    a double backward through it raises instead of silently giving wrong second derivatives."""

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with grad_mode.no_grad():
            result = backward(ctx, *grads)
        live = [g for g in grads if isinstance(g, Tensor) and g.requires_grad]
        if not (grad_mode.state.enabled and live):
            return result
        if not isinstance(result, tuple):
            return _DelayedError.apply(result, *live) if isinstance(result, Tensor) else result
        return tuple(_DelayedError.apply(r, *live) if isinstance(r, Tensor) else r for r in result)

    return wrapper
