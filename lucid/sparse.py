"""Sparse COO tensors (``torch.sparse``'s coordinate layout): what GCNs, sparse adjacencies and graph attention
use. ``lucid.sparse_coo_tensor(indices, values, size)`` or ``dense.to_sparse()`` make one; it moves and casts
with ``to()``, multiplies a dense matrix (``lucid.sparse.mm``, ``lucid.spmm``, ``lucid.mm``, ``@``), sums, adds,
scales, transposes, coalesces and takes a softmax over its entries, with gradients to the dense operands and to
the values.

Representation: :class:`SparseCooTensor`, a subclass of ``lucid.Tensor`` (so ``isinstance(adj, lucid.Tensor)``
holds, as ``adj.is_sparse``, ``adj.layout == lucid.sparse_coo``, ``shape``, ``dtype``, ``device``, ``requires_grad``)
holding two dense tensors: ``indices`` (int64, ``(sparse_dim, nnz)``) and ``values`` (``(nnz, *dense_shape)``:
hybrid tensors keep dense dimensions after the sparse ones). A subclass rather than a layout flag on every
Tensor keeps the dense path as it was: no op checks a layout. Instead the one thing every dense op reads, the
backing array ``_data``, is a property on this class that raises ``NotImplementedError("<op>() does not support
sparse COO tensors; call .to_dense() first")``, so an op that does not know sparse tensors fails clearly rather
than computing garbage. Only ``matmul`` asks ``is_sparse`` (a class attribute) and hands the product here.

Every op is a composite of dense lucid ops on ``values`` (gathers and ``index_add`` scatter-adds, written against
the array API: NumPy, CuPy and array-api-strict alike, no SciPy), so autograd, double backward included, comes from
them: a sparse tensor's autograd history is that of its ``values``. Its ``.grad`` (a leaf's) is sparse on the
coalesced pattern, as PyTorch's. ``x @ dense`` is a gather of the dense rows at the column indices and a
scatter-add into the result's rows.

Where lucid chooses: the invariants (indices within ``size``, none negative) are checked unless
``check_invariants=False`` (PyTorch checks only when asked; the check reads the indices, a sync on a GPU);
indices of any real dtype are cast to int64, as PyTorch. A leaf's ``.grad`` over duplicate entries is their
gradients' mean (every op here depends on duplicates only through their sum, so each has the same gradient).
``x * y`` of two sparse tensors, ``softmax`` of a sparse tensor as a method, ``autograd.grad`` with respect to a
sparse tensor, hooks on it and ``lucid.save`` of it raise (save its ``indices()``/``values()``/``shape``).
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import sys

from . import _printing, _typeinfo
from . import dtypes as _dt
from ._backend.device import DeviceMismatchError
from ._backend.device import device as _parse_device
from ._tensor import Size, Tensor, parse_to_args, register_methods, tensor
from .autograd.function import Function
from .ops.creation import full, zeros
from .ops.indexing import nonzero, unique
from .ops.shape import cat, stack

__all__ = ["SparseCooTensor", "sparse_coo", "sparse_coo_tensor", "mm", "spmm", "addmm", "sum", "softmax",
           "log_softmax", "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor", "CharTensor",
           "ShortTensor", "IntTensor", "LongTensor", "BoolTensor"]

sparse_coo = _typeinfo.layout("sparse_coo")

_LUCID_DIR = os.path.dirname(os.path.abspath(__file__))
_PLUMBING = tuple(os.path.join(_LUCID_DIR, *p) for p in (("autograd",), ("_backend",), ("ops", "_fast_path.py")))


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


def _no_dense_array(self):
    raise NotImplementedError(f"{_op_name()} does not support sparse COO tensors; call .to_dense() first (sparse "
                              f"tensors support to_dense, coalesce, sum, +, *, @ / mm with a dense matrix, t, to; "
                              f"see lucid.sparse)")


def _refuse(name: str, advice: str):
    """A method of dense tensors that a sparse one does not offer: it raises, saying what to do instead."""

    def method(self, *args, **kwargs):
        raise NotImplementedError(f"{name}() does not support sparse COO tensors; {advice}")

    method.__name__ = method.__qualname__ = name
    return method


class SparseCooTensorWithDimsAndTensors(Function):
    """Values that carry autograd history, taken into a sparse tensor: the identity, so that the sparse tensor is
    not a leaf and its ``grad_fn`` reads as PyTorch's."""

    def forward(self, values):
        return values

    def backward(self, grad):
        return grad


class SparseCooTensor(Tensor):
    """A sparse tensor in coordinate (COO) form: ``indices`` (int64, ``(sparse_dim, nnz)``) and ``values``
    (``(nnz, *dense shape)``) of a tensor of ``size``; duplicate coordinates add up. Make one with
    :func:`sparse_coo_tensor` or ``Tensor.to_sparse()``; see the module docstring for what it supports."""

    __slots__ = ("_idx", "_vals", "_size", "_coalesced")

    is_sparse = True
    layout = sparse_coo
    _data = property(_no_dense_array, doc="Sparse tensors have no dense array: dense ops raise (see lucid.sparse).")

    @property
    def _requires_grad(self):
        return self._vals._requires_grad

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

    def sparse_dim(self) -> int:
        """How many leading dimensions are sparse (the rows of ``indices``)."""
        return self._idx.shape[0]

    def dense_dim(self) -> int:
        """How many trailing dimensions each value holds densely."""
        return self._vals.ndim - 1

    def _nnz(self) -> int:
        """The number of stored entries (duplicates counted)."""
        return self._idx.shape[1]

    def is_coalesced(self) -> bool:
        """Whether the indices are sorted (row-major) and free of duplicates."""
        return self._coalesced

    def _indices(self) -> Tensor:
        """The indices as stored, coalesced or not."""
        return self._idx

    def _values(self) -> Tensor:
        """The values as stored, coalesced or not (differentiable)."""
        return self._vals

    def indices(self) -> Tensor:
        """The indices of a coalesced tensor (RuntimeError otherwise, as PyTorch)."""
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._idx

    def values(self) -> Tensor:
        """The values of a coalesced tensor (differentiable; RuntimeError when uncoalesced, as PyTorch)."""
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self._vals

    # ---- autograd state: that of the values --------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._vals.requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> SparseCooTensor:
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
        """A leaf's gradient, sparse on the coalesced pattern (as PyTorch's; duplicates: see the module docstring);
        None before backward and for a non-leaf."""
        g = self._vals.grad if self.is_leaf else None
        if g is None:
            return None
        if self._coalesced:
            return _wrap(self._idx, g, self._size, True)
        idx, inverse, counts = _groups(self._idx, self._size)
        total = zeros((idx.shape[1], *g.shape[1:]), dtype=g.dtype, device=g.device).index_add(0, inverse, g)
        return _wrap(idx, total / counts.reshape((-1,) + (1,) * (g.ndim - 1)).to(g.dtype), self._size, True)

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            raise RuntimeError("a sparse tensor's grad can only be reset to None; set .values().grad instead")
        self._vals.grad = None

    @property
    def data(self) -> SparseCooTensor:
        return self.detach()

    def detach(self) -> SparseCooTensor:
        return _wrap(self._idx, self._vals.detach(), self._size, self._coalesced)

    def clone(self, *, memory_format=None) -> SparseCooTensor:
        return _wrap(self._idx.clone(), self._vals.clone(), self._size, self._coalesced)

    # ---- moving and casting ------------------------------------------------------------------
    def to(self, *args, **kwargs) -> SparseCooTensor:
        """``to(device)``, ``to(dtype)``, ... as ``Tensor.to``: the indices move, the values move and cast."""
        device, dtype, non_blocking, copy_ = parse_to_args(args, kwargs)
        device = self._device if device is None else device
        dtype = self.dtype if dtype is None else dtype
        if device is self._device and dtype is self.dtype and not copy_:
            return self
        values = self._vals.to(device, dtype, non_blocking=non_blocking, copy=copy_)
        return _wrap(self._idx.to(device, copy=copy_), values, self._size, self._coalesced)

    def type(self, dtype=None, non_blocking: bool = False):  # noqa: A003  (Tensor.type, as PyTorch's)
        """``"lucid.sparse.FloatTensor"`` without ``dtype`` (as PyTorch's), else a cast."""
        if dtype is None:
            head, _, name = _typeinfo.legacy_type_name(self._vals).rpartition(".")
            return f"{head}.sparse.{name}"
        return self.to(_typeinfo.legacy_dtype(dtype) or dtype)

    # ---- conversions ---------------------------------------------------------------------------
    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """The dense tensor, duplicates summed (differentiable: each value gets the gradient at its place)."""
        values = self._vals if dtype is None else self._vals.to(dtype)
        sd = self.sparse_dim()
        flat = zeros((math.prod(self._size[:sd]), *values.shape[1:]), dtype=values.dtype, device=values.device)
        return flat.index_add(0, _linear(self._idx, self._size), values).reshape(self._size)

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None) -> SparseCooTensor:
        """Itself (PyTorch refuses to change ``sparse_dim`` of a sparse tensor)."""
        _coo_only(layout, blocksize)
        wanted = sparse_dim if dense_dim is None else self.ndim - dense_dim
        if wanted is not None and wanted != self.sparse_dim():
            raise RuntimeError("to_sparse: conversion from Sparse to Sparse with sparse_dim argument != "
                               "self.sparse_dim() is not supported")
        return self

    def to_sparse_coo(self) -> SparseCooTensor:
        return self

    def coalesce(self) -> SparseCooTensor:
        """The same tensor with sorted, distinct indices (duplicates' values summed, differentiably); itself when
        already coalesced."""
        if self._coalesced:
            return self
        idx, inverse, _ = _groups(self._idx, self._size)
        v = self._vals
        total = zeros((idx.shape[1], *v.shape[1:]), dtype=v.dtype, device=v.device).index_add(0, inverse, v)
        return _wrap(idx, total, self._size, True)

    def transpose(self, dim0: int, dim1: int) -> SparseCooTensor:
        """Two sparse dimensions swapped (the index rows swapped; the result is not coalesced)."""
        d0, d1 = (_dim(d, self.ndim, "transpose") for d in (dim0, dim1))
        if d0 == d1:
            return self
        sd = self.sparse_dim()
        if max(d0, d1) >= sd:
            raise RuntimeError(f"sparse transpose: transposed dimensions must be sparse Got sparse_dim: {sd}, "
                               f"d0: {d0}, d1: {d1}")
        order = list(range(sd))
        order[d0], order[d1] = d1, d0
        size = list(self._size)
        size[d0], size[d1] = size[d1], size[d0]
        return _wrap(self._idx[order], self._vals, tuple(size), False)

    def t(self) -> SparseCooTensor:
        """The transpose of a sparse matrix (a 0-d or 1-d tensor itself), as ``Tensor.t``."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self if self.ndim < 2 else self.transpose(0, 1)

    # ---- arithmetic: sparse results, or dense ones where PyTorch gives them ----------------------------
    def mul(self, other) -> SparseCooTensor:
        """``self * other``: a number, or a dense tensor broadcast to this shape (read at the stored entries)."""
        if isinstance(other, SparseCooTensor):
            raise NotImplementedError("sparse * sparse is not supported; multiply by other.to_dense() instead")
        if isinstance(other, Tensor):
            if other.ndim > self.ndim:
                raise RuntimeError(f"mul: the dense operand of shape {other.shape} does not broadcast to the sparse "
                                   f"tensor's shape {self.shape}")
            other = other.expand(self._size)[tuple(self._idx)]
        return _wrap(self._idx, self._vals * other, self._size, self._coalesced)

    __mul__ = __rmul__ = mul

    def div(self, other) -> SparseCooTensor:
        """``self / other`` for a number or a 0-d tensor, as PyTorch's sparse division."""
        if isinstance(other, Tensor) and other.ndim:
            raise RuntimeError(f"Sparse division requires a scalar or zero-dim dense tensor divisor (got shape "
                               f"{list(other.shape)} for divisor)")
        return _wrap(self._idx, self._vals / other, self._size, self._coalesced)

    __truediv__ = div

    def neg(self) -> SparseCooTensor:
        return _wrap(self._idx, -self._vals, self._size, self._coalesced)

    __neg__ = neg

    def add(self, other, *, alpha=1) -> SparseCooTensor:
        """``self + alpha * other`` of two sparse tensors of one size: the entries side by side (coalesced when
        both were). A dense or number ``other`` raises, as PyTorch (write ``dense + sparse``)."""
        if not isinstance(other, SparseCooTensor):
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
        if other._size != self._size:
            raise RuntimeError(f"add: expected sizes of 'self' and 'other' to match, but {list(self._size)} != "
                               f"{list(other._size)}")
        if other.sparse_dim() != self.sparse_dim():
            raise RuntimeError(f"add: expected the same sparse_dim, got {self.sparse_dim()} and {other.sparse_dim()}")
        theirs = other._vals if alpha == 1 else other._vals * alpha
        dtype = _dt.promote_types(self.dtype, theirs.dtype)
        joined = _wrap(cat([self._idx, other._idx], 1), cat([self._vals.to(dtype), theirs.to(dtype)]), self._size,
                       False)
        return joined.coalesce() if self._coalesced and other._coalesced else joined

    __add__ = add

    def sub(self, other, *, alpha=1) -> SparseCooTensor:
        return self.add(other, alpha=-alpha)

    __sub__ = sub

    def __radd__(self, other) -> Tensor:
        """``dense + sparse``: a dense tensor, as PyTorch."""
        if not isinstance(other, Tensor):
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
        return other + self.to_dense()

    def __rsub__(self, other) -> Tensor:
        if not isinstance(other, Tensor):
            raise RuntimeError("sub(dense, sparse) needs a dense tensor; a number minus a sparse tensor is not "
                               "supported")
        return other - self.to_dense()

    def sum(self, dim=None, keepdim: bool = False, dtype=None):
        """``lucid.sparse.sum(self, dim, dtype)`` (``keepdim`` is not supported, as PyTorch)."""
        if keepdim:
            raise RuntimeError("sum of a sparse tensor does not support keepdim=True")
        return sum(self, dim, dtype=dtype)

    # ---- products -------------------------------------------------------------------------------
    @staticmethod
    def _sparse_matmul(a, b) -> Tensor:
        """``matmul(a, b)`` with a sparse operand (``lucid.matmul`` calls it): sparse @ dense (a matrix or a
        vector) and dense @ sparse, a dense result."""
        if a.is_sparse and b.is_sparse:
            raise NotImplementedError("sparse @ sparse is not supported; convert one operand with .to_dense()")
        if a.is_sparse:
            return _spmm(a, b.unsqueeze(1)).squeeze(1) if b.ndim == 1 else _spmm(a, b)
        if a.ndim == 1:
            return _spmm(b.t(), a.unsqueeze(1)).squeeze(1)
        return _spmm(b.t(), a.t()).t()

    # ---- printing and copying -----------------------------------------------------------------------
    def __repr__(self) -> str:
        node = self.grad_fn
        host = self._vals.detach().cpu()
        default = _dt.get_default_dtype()
        return _printing.sparse_repr(
            self._idx.cpu().numpy(), host.to(_dt.float32).numpy() if host.dtype is _dt.bfloat16 else host.numpy(),
            size=self._size, dtype=self.dtype, default_dtypes=(default, default.to_complex(), _dt.int64, _dt.bool_),
            device=self._device, grad_fn=None if node is None else node.name() + "0",
            requires_grad=self.requires_grad, layout=sparse_coo)

    def __deepcopy__(self, memo):
        new = _wrap(copy.deepcopy(self._idx, memo), copy.deepcopy(self._vals, memo), self._size, self._coalesced)
        memo[id(self)] = new
        return new

    def __reduce_ex__(self, protocol):
        return _rebuild, (self._idx, self._vals.detach(), self._size, self._coalesced, self.requires_grad)


for _name, _advice in {
    "backward": "call backward() on a dense result (e.g. of to_dense(), sum() or a product)",
    "register_hook": "register the hook on .values() (or on a dense result)",
    "register_post_accumulate_grad_hook": "register the hook on .values()",
    "retain_grad": "call it on .values() (or on a dense result)",
}.items():
    setattr(SparseCooTensor, _name, _refuse(_name, _advice))


def _rebuild(indices, values, size, coalesced, requires_grad):
    return _wrap(indices, values.requires_grad_(requires_grad), size, coalesced)


def _wrap(indices: Tensor, values: Tensor, size, coalesced: bool) -> SparseCooTensor:
    """A sparse tensor of already checked parts (the values' device and autograd history are its own)."""
    t = object.__new__(SparseCooTensor)
    t._idx, t._vals, t._size, t._coalesced = indices, values, tuple(size), coalesced
    t._device, t._version = values._device, values._version
    return t


def _dim(d: int, ndim: int, name: str) -> int:
    if not -max(ndim, 1) <= d < max(ndim, 1):
        raise IndexError(f"{name}: dimension out of range (expected to be in range of [{-max(ndim, 1)}, "
                         f"{max(ndim, 1) - 1}], but got {d})")
    return d % max(ndim, 1)


def _linear(indices: Tensor, size) -> Tensor:
    """Each entry's row-major position within the sparse dimensions of ``size`` (int64, one per entry)."""
    sd, nnz = indices.shape
    flat = zeros(nnz, dtype=_dt.int64, device=indices.device)
    for k in range(sd):
        flat = flat * size[k] + indices[k]
    return flat


def _groups(indices: Tensor, size) -> tuple:
    """``(distinct indices in row-major order, each entry's group, each group's count)``: coalescing's plan."""
    distinct, inverse, counts = unique(_linear(indices, size), return_inverse=True, return_counts=True)
    rows, rest = [], distinct
    for n in reversed(size[:indices.shape[0]]):
        rows.append(rest % n)
        rest = rest // n
    idx = stack(rows[::-1]) if rows else zeros((0, distinct.shape[0]), dtype=_dt.int64, device=indices.device)
    return idx, inverse, counts


def _coo_only(layout, blocksize) -> None:
    if (layout is not None and layout is not sparse_coo) or blocksize is not None:
        raise NotImplementedError(f"lucid supports the sparse_coo layout only, not {layout!r}")


# ---- construction -------------------------------------------------------------------------------------
def _as_indices(indices, device) -> Tensor:
    if not isinstance(indices, Tensor):
        return tensor(indices, dtype=_dt.int64, device=device)
    if indices.device is not device:
        raise DeviceMismatchError(f"sparse_coo_tensor: the indices are on {indices.device} but the values on "
                                  f"{device}; pass device= to move both")
    return indices if indices.dtype is _dt.int64 else indices.to(_dt.int64)


def _check_bounds(indices: Tensor, sparse_size) -> list:
    """The largest index per sparse dimension (-1 without entries); RuntimeError, as PyTorch's
    ``check_invariants``, for a negative index or one beyond ``sparse_size``."""
    if not indices.shape[1]:
        return [-1] * indices.shape[0]
    low, high = stack([indices.amin(1), indices.amax(1)]).tolist()
    for d, (lo, hi, n) in enumerate(zip(low, high, sparse_size)):
        if lo < 0:
            raise RuntimeError(f"found negative index {lo} for dim {d}")
        if hi >= n:
            raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {n} but found index {hi}")
    return high


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None, requires_grad: bool = False,
                      is_coalesced=None, check_invariants=None) -> SparseCooTensor:
    """A sparse COO tensor with ``values[k]`` at ``indices[:, k]`` (duplicates add up), as
    ``torch.sparse_coo_tensor``. ``values`` with history stay connected: gradients reach them. ``size`` defaults
    to the largest index + 1 per sparse dimension; ``is_coalesced=True`` promises sorted, distinct indices.
    Without ``device=``, values given as Python data are made on the indices' device."""
    dev = None if device is None else _parse_device(device)
    if dev is None and isinstance(indices, Tensor) and not isinstance(values, Tensor):
        dev = indices.device  # values given as data go where the indices are
    if isinstance(values, Tensor):
        values = values.to(values.device if dev is None else dev, values.dtype if dtype is None else dtype)
    else:
        values = tensor(values, dtype=dtype, device=dev)
    indices = _as_indices(indices.to(values.device) if isinstance(indices, Tensor) and dev is not None else indices,
                          values.device)
    if indices.ndim != 2:
        raise RuntimeError(f"sparse_coo_tensor: indices must be a 2-D (sparse_dim, nnz) tensor, got shape "
                           f"{tuple(indices.shape)}")
    if values.ndim == 0:
        raise RuntimeError("sparse_coo_tensor: values must have at least one dimension (one value per entry)")
    sd, nnz = indices.shape
    if values.shape[0] != nnz:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: {nnz}, nnz from "
                           f"values: {values.shape[0]}")
    dense_shape = tuple(values.shape[1:])
    if size is None:
        high = _check_bounds(indices, (math.inf,) * sd)
        size = tuple(n + 1 for n in high) + dense_shape
    else:
        size = tuple(int(n) for n in size)
        if len(size) != sd + len(dense_shape):
            raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(size)}, "
                               f"sparse_dim = {sd}, dense_dim = {len(dense_shape)}")
        if size[sd:] != dense_shape:
            raise RuntimeError(f"values has incorrect size, expected {[nnz, *size[sd:]]}, got {list(values.shape)}")
        if check_invariants is not False:
            _check_bounds(indices, size[:sd])
    if values.requires_grad:
        values = SparseCooTensorWithDimsAndTensors.apply(values)
    else:
        values = values.detach()
        if requires_grad:
            values.requires_grad_(True)
    return _wrap(indices, values, size, bool(is_coalesced) or nnz <= 1)


def to_sparse(x: Tensor, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None) -> SparseCooTensor:
    """The sparse COO form of a dense tensor: its first ``sparse_dim`` dimensions (all by default, or all but
    ``dense_dim``) indexed where any element of the remaining dense slice is non-zero; coalesced, differentiable."""
    _coo_only(layout, blocksize)
    sd = x.ndim if sparse_dim is None and dense_dim is None else sparse_dim if dense_dim is None else x.ndim - dense_dim
    if not 0 <= sd <= x.ndim:
        raise RuntimeError(f"to_sparse: sparse_dim must be between 0 and {x.ndim}, got {sd}")
    if sd == 0:
        return _wrap(zeros((0, 1), dtype=_dt.int64, device=x.device), x.unsqueeze(0), x.shape, True)
    hit = (x != 0).detach()
    if sd < x.ndim:
        hit = hit.any(tuple(range(sd, x.ndim)))
    idx = nonzero(hit).t()
    return _wrap(idx, x[tuple(idx)], x.shape, True)


def _dense_only(name: str, what: str):
    """A sparse-only method on a dense tensor: the RuntimeError PyTorch raises."""

    def method(self, *args, **kwargs):
        raise RuntimeError(f"{name} expected {what} layout but got Strided")

    method.__name__ = method.__qualname__ = name
    method.__doc__ = "Sparse tensors only (a dense tensor raises, as PyTorch): see ``lucid.sparse``."
    return method


def to_sparse_coo(x: Tensor) -> SparseCooTensor:
    """``to_sparse()``: the sparse COO form."""
    return to_sparse(x)


def to_dense(x: Tensor, dtype=None, *, masked_grad=None) -> Tensor:
    """A dense tensor's ``to_dense()``: itself (cast to ``dtype`` when given)."""
    return x if dtype is None else x.to(dtype)


def sparse_dim(x: Tensor) -> int:
    """A dense tensor's ``sparse_dim()``: 0."""
    return 0


def dense_dim(x: Tensor) -> int:
    """A dense tensor's ``dense_dim()``: all its dimensions."""
    return x.ndim


METHODS = {
    "to_sparse": to_sparse, "to_sparse_coo": to_sparse_coo, "to_dense": to_dense, "sparse_dim": sparse_dim,
    "dense_dim": dense_dim,
    **{name: _dense_only(name, "sparse coordinate tensor")
       for name in ("coalesce", "is_coalesced", "indices", "_indices", "_nnz")},
    **{name: _dense_only(name, "sparse tensor") for name in ("values", "_values")},
}
register_methods(METHODS)


# ---- torch.sparse's functions ----------------------------------------------------------------------
def _spmm(a: SparseCooTensor, b: Tensor) -> Tensor:
    """sparse (n, m) @ dense (m, p): the rows of ``b`` at the column indices, scaled by the values and added into
    the result's rows (a gather and a scatter-add, differentiable to both values and ``b``)."""
    if not isinstance(a, SparseCooTensor) or a.ndim != 2 or a.dense_dim():
        raise RuntimeError(f"sparse mm: the first operand must be a 2-D sparse tensor without dense dimensions, got "
                           f"{'shape ' + str(tuple(a.shape)) if isinstance(a, Tensor) else type(a).__name__}")
    if not isinstance(b, Tensor) or b.is_sparse or b.ndim != 2:
        raise RuntimeError("sparse mm: the second operand must be a 2-D dense tensor")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"sparse mm: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied "
                           f"({a.shape[1]} != {b.shape[0]})")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"sparse mm: expected both operands to have the same dtype, got {a.dtype.name} and "
                           f"{b.dtype.name}")
    if a.device is not b.device:
        raise DeviceMismatchError(f"sparse mm got tensors on different devices: {a.device} and {b.device}; move "
                                  f"them to one device first with .to(device)")
    row, col = a._idx[0], a._idx[1]
    out = zeros((a.shape[0], b.shape[1]), dtype=b.dtype, device=b.device)
    return out.index_add(0, row, a._vals.unsqueeze(1) * b.index_select(0, col))


def mm(mat1: Tensor, mat2: Tensor) -> Tensor:
    """``torch.sparse.mm``: the product of two matrices, one sparse COO (sparse @ dense or dense @ sparse, a dense
    result; the gradient reaches the dense operand and the sparse one's values)."""
    for name, m in (("mat1", mat1), ("mat2", mat2)):
        if not isinstance(m, Tensor) or m.ndim != 2:
            raise RuntimeError(f"sparse.mm: {name} must be a 2-D tensor")
    return SparseCooTensor._sparse_matmul(mat1, mat2)


def spmm(input: SparseCooTensor, mat2: Tensor) -> Tensor:
    """``torch.spmm``: a sparse matrix times a dense one."""
    return _spmm(input, mat2)


def addmm(mat: Tensor, mat1: SparseCooTensor, mat2: Tensor, *, beta=1.0, alpha=1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` for a sparse ``mat1`` (``torch.sparse.addmm``)."""
    from .ops.products import addmm as _addmm

    return _addmm(mat, mat1, mat2, beta=beta, alpha=alpha)


def sum(input: SparseCooTensor, dim=None, dtype=None):  # noqa: A001  (torch.sparse.sum)
    """The sum over ``dim`` (all dimensions by default): a dense tensor when every sparse dimension is summed,
    else a coalesced sparse tensor over the remaining ones (``torch.sparse.sum``)."""
    _need_sparse(input, "sparse.sum")
    values = input._vals if dtype is None else input._vals.to(dtype)
    if dim is None:
        return values.sum()
    dims = [_dim(d, input.ndim, "sparse.sum") for d in (dim if isinstance(dim, (tuple, list)) else (dim,))]
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
    sd = input.sparse_dim()
    dense_axes = tuple(d - sd + 1 for d in dims if d >= sd)
    if dense_axes:
        values = values.sum(dense_axes)
    keep = [d for d in range(sd) if d not in dims]
    if not keep:
        return values.sum(0)
    size = [n for d, n in enumerate(input._size) if d not in dims]
    return _wrap(input._idx[keep], values, size, False).coalesce()


def _need_sparse(x, name: str) -> None:
    if not isinstance(x, SparseCooTensor):
        raise TypeError(f"{name}: expected a sparse COO tensor, got {type(x).__name__}; use x.to_sparse()")


def _softmax(input: SparseCooTensor, dim: int, dtype, name: str, log: bool) -> SparseCooTensor:
    """Softmax over the stored entries of each slice along ``dim`` (unstored entries count as -inf: they stay
    absent), on the coalesced tensor; along a dense dimension, over the values' axis."""
    _need_sparse(input, name)
    d = _dim(dim, input.ndim, name)
    x = input.coalesce()
    values = x._vals if dtype is None else x._vals.to(dtype)
    if d >= x.sparse_dim():
        axis = d - x.sparse_dim() + 1
        return _wrap(x._idx, values.log_softmax(axis) if log else values.softmax(axis), x._size, True)
    others = [k for k in range(x.sparse_dim()) if k != d]
    _, group = unique(_linear(x._idx[others], [x._size[k] for k in others]), return_inverse=True)
    slots = (x._idx.shape[1], *values.shape[1:])
    # the largest entry of each slice, subtracted for stability (a constant: softmax does not depend on it)
    top = full(slots, -math.inf, dtype=values.dtype, device=values.device).index_reduce(
        0, group, values.detach(), "amax")
    shifted = values - top.index_select(0, group)
    e = shifted.exp()
    total = zeros(slots, dtype=values.dtype, device=values.device).index_add(0, group, e).index_select(0, group)
    return _wrap(x._idx, shifted - total.log() if log else e / total, x._size, True)


def softmax(input: SparseCooTensor, dim: int, *, dtype=None) -> SparseCooTensor:
    """``torch.sparse.softmax``: along ``dim``, over each slice's stored entries only (graph attention's
    normalisation over neighbours); a sparse result on the coalesced pattern."""
    return _softmax(input, dim, dtype, "sparse.softmax", log=False)


def log_softmax(input: SparseCooTensor, dim: int, *, dtype=None) -> SparseCooTensor:
    """``torch.sparse.log_softmax``: the log of :func:`softmax`, computed directly."""
    return _softmax(input, dim, dtype, "sparse.log_softmax", log=True)


def _legacy(dtype: _dt.DType):
    """``torch.sparse.FloatTensor(indices, values[, size])`` (or ``(*size)``: empty) with the legacy dtype."""

    def make(*args, device=None):
        if args and isinstance(args[0], Tensor):
            return sparse_coo_tensor(*args, dtype=dtype, device=device)
        size = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
        if not all(isinstance(n, numbers.Integral) for n in size):
            raise TypeError("sparse legacy constructor: pass (indices, values[, size]) or sizes")
        return sparse_coo_tensor(zeros((len(size), 0), dtype=_dt.int64, device=device),
                                 zeros(0, dtype=dtype, device=device), size)

    make.__name__ = make.__qualname__ = f"{dtype.name}_sparse_tensor"
    make.__doc__ = f"PyTorch's legacy sparse constructor with dtype {dtype.name}."
    return make


FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor = (_legacy(d) for d in (
    _dt.float32, _dt.float64, _dt.float16, _dt.bfloat16))
ByteTensor, CharTensor, ShortTensor, IntTensor, LongTensor, BoolTensor = (_legacy(d) for d in (
    _dt.uint8, _dt.int8, _dt.int16, _dt.int32, _dt.int64, _dt.bool_))
