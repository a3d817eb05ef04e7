"""What every sparse layout shares: the layout objects, the invariant-check switch, the errors of dense ops on a
sparse tensor, and :class:`SparseTensor`, the base whose metadata, autograd state, moves, casts, scalings,
printing and copying work the same on COO, CSR and CSC (each layout says only how its index tensors are named
and rebuilt)."""

from __future__ import annotations

import copy
import functools
import math
import os
import sys

from .. import _printing, _typeinfo
from .. import dtypes as _dt
from .._tensor import Size, Tensor, parse_to_args

sparse_coo = _typeinfo.layout("sparse_coo")
sparse_csr = _typeinfo.layout("sparse_csr")
sparse_csc = _typeinfo.layout("sparse_csc")
LAYOUT_NAMES = {_typeinfo.strided: "Strided", sparse_coo: "Sparse", sparse_csr: "SparseCsr", sparse_csc: "SparseCsc"}

_LUCID_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PLUMBING = tuple(os.path.join(_LUCID_DIR, *p) for p in (("autograd",), ("_backend",), ("ops", "_fast_path.py")))


class check_sparse_tensor_invariants:  # noqa: N801  (torch.sparse's name)
    """``torch.sparse.check_sparse_tensor_invariants``: the switch that decides whether sparse constructors given
    ``check_invariants=None`` check their indices; a context manager and decorator (``enable=True`` turns checks
    on inside), with ``is_enabled()``, ``enable()`` and ``disable()``. Where lucid chooses: the switch starts on
    (PyTorch's starts off), so a bad index is an error rather than garbage unless the caller opts out; the check
    reads the indices, a host sync on a GPU."""

    _enabled = True

    def __init__(self, enable: bool = True):
        self.state, self.saved = bool(enable), []

    @staticmethod
    def is_enabled() -> bool:
        return check_sparse_tensor_invariants._enabled

    @staticmethod
    def enable() -> None:
        check_sparse_tensor_invariants._enabled = True

    @staticmethod
    def disable() -> None:
        check_sparse_tensor_invariants._enabled = False

    def __enter__(self):
        self.saved.append(check_sparse_tensor_invariants._enabled)
        check_sparse_tensor_invariants._enabled = self.state
        return self

    def __exit__(self, *exc) -> None:
        check_sparse_tensor_invariants._enabled = self.saved.pop()

    def __call__(self, fn):
        @functools.wraps(fn)
        def checked(*args, **kwargs):
            with check_sparse_tensor_invariants(self.state):
                return fn(*args, **kwargs)

        return checked


def should_check(check_invariants) -> bool:
    """A constructor's ``check_invariants`` argument, None meaning the global switch."""
    return check_sparse_tensor_invariants._enabled if check_invariants is None else bool(check_invariants)


def _op_name() -> str:
    """The lucid function the caller's code called that went on to read a sparse tensor's dense array: the
    outermost public one of the lucid frames below the caller (the plumbing of autograd, backends and the fast
    path skipped), a method with its class (``Linear.forward()``). A function made by a factory goes by the
    ``name`` it closes over, or is skipped without one."""
    frame, found = sys._getframe(2), "this operation"
    while frame is not None and frame.f_code.co_filename.startswith(_LUCID_DIR):
        code, names = frame.f_code, frame.f_locals
        name = names.get("name") if code.co_freevars else code.co_name
        if isinstance(name, str) and not code.co_filename.startswith(_PLUMBING) and not name.startswith(("_", "<")):
            owner = names.get("self")
            found = f"{name}()" if owner is None or isinstance(owner, Tensor) else f"{type(owner).__name__}.{name}()"
        frame = frame.f_back
    return found


def _layout_text(layout) -> str:
    return "sparse " + {sparse_coo: "COO", sparse_csr: "CSR", sparse_csc: "CSC"}[layout]


def _no_dense_array(self):
    raise NotImplementedError(f"{_op_name()} does not support {_layout_text(self.layout)} tensors; call .to_dense() "
                              f"first (sparse tensors support to_dense, sum, +, *, @ / mm with a dense matrix, t, "
                              f"to; see lucid.sparse)")


def refuse(name: str, advice: str):
    """A method of dense tensors that a sparse one does not offer: it raises, saying what to do instead."""

    def method(self, *args, **kwargs):
        raise NotImplementedError(f"{name}() does not support {_layout_text(self.layout)} tensors; {advice}")

    method.__name__ = method.__qualname__ = name
    return method


def layout_only(name: str, what: str):
    """A method of one sparse layout, on a tensor of another (dense included): PyTorch's RuntimeError."""

    def method(self, *args, **kwargs):
        raise RuntimeError(f"{name} expected {what} layout but got {LAYOUT_NAMES[self.layout]}")

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Sparse tensors of the {what} layout only (others raise, as PyTorch): see ``lucid.sparse``."
    return method


def dim_index(d: int, ndim: int, name: str) -> int:
    if not -max(ndim, 1) <= d < max(ndim, 1):
        raise IndexError(f"{name}: dimension out of range (expected to be in range of [{-max(ndim, 1)}, "
                         f"{max(ndim, 1) - 1}], but got {d})")
    return d % max(ndim, 1)


class SparseTensor(Tensor):
    """The base of lucid's sparse tensors: ``values`` (``(nnz, *dense shape)``, differentiable) and index tensors
    (``_INDEX``: slot and printed name of each) describing a tensor of ``size``. Its autograd state is that of
    its values. A subclass defines ``layout``, ``_like(parts, values)`` (the same tensor with other index and
    value tensors), ``_coo_indices()`` (each entry's coordinates) and ``_as_grad(values_grad)``."""

    __slots__ = ("_vals", "_size")

    _sparse = True
    _INDEX: tuple = ()
    _REPR_NEWLINE = False  # whether the size etc. start a new line in the repr (COO's do)
    _data = property(_no_dense_array, doc="Sparse tensors have no dense array: dense ops raise (see lucid.sparse).")

    @property
    def _requires_grad(self):
        return self._vals._requires_grad

    def _parts(self) -> tuple:
        return tuple(getattr(self, slot) for slot, _ in self._INDEX)

    # ---- metadata ---------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._size)

    @property
    def ndim(self) -> int:
        return len(self._size)

    def dim(self) -> int:
        return len(self._size)

    @property
    def dtype(self) -> _dt.DType:
        return self._vals.dtype

    def numel(self) -> int:
        return math.prod(self._size)

    def __len__(self) -> int:
        if not self._size:
            raise TypeError("len() of a 0-d tensor")
        return self._size[0]

    def dense_dim(self) -> int:
        """How many trailing dimensions each value holds densely."""
        return self._vals.ndim - 1

    def sparse_dim(self) -> int:
        """How many leading dimensions are sparse."""
        return self.ndim - self.dense_dim()

    def _nnz(self) -> int:
        """The number of stored entries (duplicates counted)."""
        return self._vals.shape[0]

    # ---- autograd state: that of the values --------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._vals.requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True):
        self._vals.requires_grad_(requires_grad)
        return self

    @property
    def grad_fn(self):
        return self._vals.grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._vals.grad_fn is None

    @property
    def grad(self):
        """A leaf's gradient, sparse on its own pattern (COO: the coalesced one), as ``torch.sparse.mm`` and
        ``autograd.grad`` give it; None before backward and for a non-leaf."""
        g = self._vals.grad if self.is_leaf else None
        return None if g is None else self._as_grad(g)

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            raise RuntimeError("a sparse tensor's grad can only be reset to None; set .values().grad instead")
        self._vals.grad = None

    @property
    def data(self):
        return self.detach()

    def detach(self):
        return self._like(self._parts(), self._vals.detach())

    def clone(self, *, memory_format=None):
        return self._like(tuple(p.clone() for p in self._parts()), self._vals.clone())

    # ---- moving and casting ------------------------------------------------------------------
    def to(self, *args, **kwargs):
        """``to(device)``, ``to(dtype)``, ... as ``Tensor.to``: the indices move, the values move and cast."""
        device, dtype, non_blocking, copy_, _ = parse_to_args(args, kwargs)
        device = self._device if device is None else device
        dtype = self.dtype if dtype is None else dtype
        if device is self._device and dtype is self.dtype and not copy_:
            return self
        values = self._vals.to(device, dtype, non_blocking=non_blocking, copy=copy_)
        return self._like(tuple(p.to(device, copy=copy_) for p in self._parts()), values)

    def type(self, dtype=None, non_blocking: bool = False):  # noqa: A003  (Tensor.type, as PyTorch's)
        """``"lucid.sparse.FloatTensor"`` without ``dtype`` (as PyTorch's), else a cast."""
        if dtype is None:
            head, _, name = _typeinfo.legacy_type_name(self._vals).rpartition(".")
            return f"{head}.sparse.{name}"
        return self.to(_typeinfo.legacy_dtype(dtype) or dtype)

    # ---- scalings: the same pattern, new values ----------------------------------------------
    def mul(self, other):
        """``self * other``: a number, or a dense tensor broadcast to this shape (read at the stored entries)."""
        if isinstance(other, SparseTensor):
            return self._mul_sparse(other)
        if isinstance(other, Tensor):
            if other.ndim > self.ndim:
                raise RuntimeError(f"mul: the dense operand of shape {other.shape} does not broadcast to the sparse "
                                   f"tensor's shape {self.shape}")
            other = other.expand(self._size)[tuple(self._coo_indices())]
        return self._like(self._parts(), self._vals * other)

    __mul__ = __rmul__ = mul

    def _mul_sparse(self, other):
        raise NotImplementedError(f"{_layout_text(self.layout)} * {_layout_text(other.layout)} is not supported; "
                                  f"multiply by other.to_dense() instead")

    def div(self, other):
        """``self / other`` for a number or a 0-d tensor, as PyTorch's sparse division."""
        if isinstance(other, Tensor) and other.ndim:
            raise RuntimeError(f"Sparse division requires a scalar or zero-dim dense tensor divisor (got shape "
                               f"{list(other.shape)} for divisor)")
        return self._like(self._parts(), self._vals / other)

    __truediv__ = div

    def neg(self):
        return self._like(self._parts(), -self._vals)

    __neg__ = neg

    # ---- printing and copying -----------------------------------------------------------------------
    def __repr__(self) -> str:
        node = self.grad_fn
        host = self._vals.detach().cpu()
        host = host.to(_dt.float32).numpy() if host.dtype is _dt.bfloat16 else host.numpy()
        default = _dt.get_default_dtype()
        parts = [(name, part.cpu().numpy()) for (_, name), part in zip(self._INDEX, self._parts())]
        return _printing.sparse_repr(
            parts + [("values", host)], nnz=self._nnz(), size=self._size, dtype=self.dtype,
            default_dtypes=(default, default.to_complex(), _dt.int64, _dt.bool_), device=self._device,
            grad_fn=None if node is None else node.name(), requires_grad=self.requires_grad,
            layout=self.layout, force_newline=self._REPR_NEWLINE)

    def __deepcopy__(self, memo):
        state = copy.deepcopy(self._state(), memo)
        values = copy.deepcopy(self._vals.detach() if self._kind() else self._vals, memo)  # a Parameter's: no grad
        new = rebuild(self._layout_class(), state, values, self._size, self._vals.requires_grad, self._kind(),
                      getattr(self, "persistent", True))
        memo[id(self)] = new
        return new

    def __reduce_ex__(self, protocol):
        return rebuild, (self._layout_class(), self._state(), self._vals.detach(), self._size, self.requires_grad,
                         self._kind(), getattr(self, "persistent", True))

    def _state(self) -> dict:
        """The slots besides values and size (index tensors, flags) that rebuild this tensor."""
        return {slot: getattr(self, slot) for slot, _ in self._INDEX}

    def _layout_class(self) -> type:
        """The plain class of this layout (a sparse Parameter's or Buffer's is its sparse base)."""
        return next(c for c in type(self).__mro__ if "layout" in c.__dict__)

    def _kind(self):
        """``nn.Parameter`` or ``nn.Buffer`` for a sparse Parameter or Buffer, else None."""
        return getattr(type(self), "_KIND", None)

    # ---- nn.Parameter(sparse), nn.Buffer(sparse), Module.to ----------------------------------------------
    def _as_kind(self, kind: type, requires_grad: bool = False, dtype=None, persistent: bool = True):
        """``nn.Parameter(self)`` / ``nn.Buffer(self)`` (``kind`` is that class, passed in: this layer does not
        import ``nn``): a leaf of this layout that is also a Parameter / Buffer, sharing the index tensors (a
        Buffer never requires grad; ``dtype`` casts its values)."""
        values = self._vals.detach() if dtype in (None, self.dtype) else self._vals.detach().to(dtype)
        return rebuild(self._layout_class(), self._state(), values, self._size, requires_grad, kind, persistent)

    def copy_(self, src, non_blocking: bool = False):
        """Become a copy of the sparse ``src`` of the same layout and size (its pattern and values, cast and moved
        to this tensor's dtype and device), in place: ``load_state_dict`` into a sparse Parameter or Buffer."""
        if not isinstance(src, SparseTensor) or src.layout is not self.layout or src.shape != self.shape:
            raise RuntimeError(f"copy_(): a {_layout_text(self.layout)} tensor of size {list(self.shape)} copies a "
                               f"sparse tensor of the same layout and size, got "
                               f"{getattr(src, 'layout', type(src).__name__)!r} of size "
                               f"{list(getattr(src, 'shape', ()))}")
        self._take(src.detach().to(self._device, self.dtype, copy=True))
        return self

    def _take(self, new: SparseTensor) -> None:
        """Become ``new`` (this tensor moved or cast) in place, keeping identity, ``requires_grad`` and the
        values' gradient (moved alike): ``Module.to`` for a sparse Parameter or Buffer."""
        grad, values = self._vals.grad, new._vals.detach()
        if self._vals.requires_grad:
            values.requires_grad_(True)
        if grad is not None:
            values.grad = grad.to(values.device, values.dtype)
        for slot, value in new._state().items():
            setattr(self, slot, value)
        self._vals, self._device = values, values._device
        self._version = values._version
        values._version[0] += 1


for _name, _advice in {
    "backward": "call backward() on a dense result (e.g. of to_dense(), sum() or a product)",
    "register_hook": "register the hook on .values() (or on a dense result)",
    "register_post_accumulate_grad_hook": "register the hook on .values()",
    "retain_grad": "call it on .values() (or on a dense result)",
}.items():
    setattr(SparseTensor, _name, refuse(_name, _advice))


@functools.cache
def _kind_class(base: type, kind: type) -> type:
    """``nn.Parameter`` / ``nn.Buffer`` (``kind``) of a sparse layout: the layout's behaviour, the kind's type and
    repr (as PyTorch's ``Parameter`` holding a sparse tensor). A Buffer's gradient stays off."""
    name = kind.__name__

    def __init__(self, *args, **kwargs):  # made by SparseTensor._as_kind; the kind's __init__ reads dense data
        pass

    def __repr__(self) -> str:
        text = base.__repr__(self)
        return "Parameter containing:\n" + text if name == "Parameter" else name + text.removeprefix("tensor")

    body = {"__slots__": (), "__init__": __init__, "__repr__": __repr__, "__module__": base.__module__,
            "_KIND": kind, "__doc__": f"A {name} holding a {base.__name__}."}
    if name == "Buffer":  # Buffer's refusal to require grad, not the layout's switch on the values
        body["requires_grad_"] = kind.requires_grad_
    return type(f"{base.__name__}{name}", (base, kind), body)


def rebuild(cls: type, state: dict, values: Tensor, size, requires_grad: bool, kind=None, persistent: bool = True):
    """A sparse tensor of class ``cls`` (its ``nn.Parameter`` / ``nn.Buffer`` class for that ``kind``) from its
    slots (unpickling)."""
    t = object.__new__(_kind_class(cls, kind) if kind else cls)
    for slot, value in state.items():
        setattr(t, slot, value)
    if values.requires_grad != requires_grad:
        values.requires_grad_(requires_grad)
    t._vals, t._size = values, tuple(size)
    t._device, t._version = values._device, values._version
    if kind is not None and kind.__name__ == "Buffer":
        t.persistent = persistent
    return t
