"""Sparse COO tensors (``torch.sparse_coo_tensor``): ``indices`` (int64, ``(sparse_dim, nnz)``) and ``values``
(``(nnz, *dense_shape)``: hybrid tensors keep dense dimensions after the sparse ones); duplicate coordinates add
up. Every op is a composite of dense lucid ops on the values (gathers and ``index_add`` scatter-adds), so autograd,
double backward included, comes from them. The COO form is also what CSR/CSC tensors compute through."""

from __future__ import annotations

import math

from .. import dtypes as _dt
from .._backend.device import DeviceMismatchError
from .._backend.device import device as _parse_device
from .._tensor import Tensor, tensor
from ..autograd.function import Function
from ..ops.creation import zeros
from ..ops.indexing import nonzero, unique
from ..ops.searching import searchsorted
from ..ops.shape import cat, stack
from ._base import SparseTensor, dim_index, should_check, sparse_coo


class SparseCooTensorWithDimsAndTensors(Function):
    """Values that carry autograd history, taken into a sparse tensor: the identity, so that the sparse tensor is
    not a leaf and its ``grad_fn`` reads as PyTorch's."""

    def forward(self, values):
        return values

    def backward(self, grad):
        return grad


class SparseCooTensor(SparseTensor):
    """A sparse tensor in coordinate (COO) form: ``indices`` (int64, ``(sparse_dim, nnz)``) and ``values``
    (``(nnz, *dense shape)``) of a tensor of ``size``; duplicate coordinates add up. Make one with
    :func:`sparse_coo_tensor` or ``Tensor.to_sparse()``; see ``lucid.sparse`` for what it supports."""

    __slots__ = ("_idx", "_coalesced")

    is_sparse = True
    layout = sparse_coo
    _INDEX = (("_idx", "indices"),)
    _REPR_NEWLINE = True

    def _like(self, parts, values) -> SparseCooTensor:
        return _wrap(parts[0], values, self._size, self._coalesced)

    def _state(self) -> dict:
        return {"_idx": self._idx, "_coalesced": self._coalesced}

    def _coo_indices(self) -> Tensor:
        return self._idx

    def _as_grad(self, g: Tensor) -> SparseCooTensor:
        """The gradient of the values as a sparse tensor on the coalesced pattern (PyTorch's); over duplicate
        entries lucid gives their mean (every op here depends on duplicates only through their sum, so each has
        the same gradient)."""
        if self._coalesced:
            return _wrap(self._idx, g, self._size, True)
        idx, inverse, counts = _groups(self._idx, self._size)
        total = zeros((idx.shape[1], *g.shape[1:]), dtype=g.dtype, device=g.device).index_add(0, inverse, g)
        return _wrap(idx, total / counts.reshape((-1,) + (1,) * (g.ndim - 1)).to(g.dtype), self._size, True)

    def sparse_dim(self) -> int:
        """How many leading dimensions are sparse (the rows of ``indices``)."""
        return self._idx.shape[0]

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

    def zero_(self) -> SparseCooTensor:
        """Drop every entry in place, as PyTorch's ``zero_`` of a sparse tensor (nnz 0, coalesced):
        ``zero_grad(set_to_none=False)`` of a sparse gradient."""
        self._take(_wrap(self._idx[:, :0], self._vals.detach()[:0], self._size, True))
        return self

    # ---- conversions ---------------------------------------------------------------------------
    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """The dense tensor, duplicates summed (differentiable: each value gets the gradient at its place)."""
        values = self._vals if dtype is None else self._vals.to(dtype)
        sd = self.sparse_dim()
        flat = zeros((math.prod(self._size[:sd]), *values.shape[1:]), dtype=values.dtype, device=values.device)
        return flat.index_add(0, _linear(self._idx, self._size), values).reshape(self._size)

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
        """Itself, or the CSR/CSC form for ``layout=`` (PyTorch refuses to change ``sparse_dim``)."""
        if layout not in (None, sparse_coo) or blocksize is not None:  # Tensor.to_sparse: lucid.sparse's conversions
            return Tensor.to_sparse(self, layout=layout, blocksize=blocksize, dense_dim=dense_dim)
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
        d0, d1 = (dim_index(d, self.ndim, "transpose") for d in (dim0, dim1))
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
    def _mul_sparse(self, other) -> SparseCooTensor:
        """``sparse * sparse`` of one size: the product on the intersection of the coalesced patterns, a
        coalesced result (PyTorch's; from uncoalesced operands PyTorch keeps one operand's pattern with zeros at
        the entries the other lacks: the same dense tensor, a different storage)."""
        if not isinstance(other, SparseCooTensor):
            return super()._mul_sparse(other)
        if other._size != self._size or other.sparse_dim() != self.sparse_dim():
            raise RuntimeError(f"mul: expected sparse tensors of one size and sparse_dim, got {list(self._size)} "
                               f"(sparse_dim {self.sparse_dim()}) and {list(other._size)} (sparse_dim "
                               f"{other.sparse_dim()})")
        a, b = self.coalesce(), other.coalesce()
        found, at = lookup(b, a._idx)
        hit = nonzero(found).reshape(-1)
        dtype = _dt.promote_types(a.dtype, b.dtype)
        values = a._vals[hit].to(dtype) * b._vals[at[hit]].to(dtype)
        return _wrap(a._idx[:, hit], values, self._size, True)

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
        return coo_sum(self, dim, dtype)

    # ---- products -------------------------------------------------------------------------------
    @staticmethod
    def _sparse_matmul(a, b) -> Tensor:
        """``matmul(a, b)`` with a sparse operand (``lucid.matmul`` calls it): sparse @ dense (a matrix or a
        vector) and dense @ sparse, a dense result; a CSR/CSC operand computes through its COO form."""
        if a._sparse and b._sparse:
            raise NotImplementedError("sparse @ sparse is not supported; convert one operand with .to_dense()")
        if a._sparse:
            a = a._as_coo()
            return spmm_coo(a, b.unsqueeze(1)).squeeze(1) if b.ndim == 1 else spmm_coo(a, b)
        b = b._as_coo()
        if a.ndim == 1:
            return spmm_coo(b.t(), a.unsqueeze(1)).squeeze(1)
        return spmm_coo(b.t(), a.t()).t()

    def _as_coo(self) -> SparseCooTensor:
        return self


def _wrap(indices: Tensor, values: Tensor, size, coalesced: bool) -> SparseCooTensor:
    """A sparse tensor of already checked parts (the values' device and autograd history are its own)."""
    t = object.__new__(SparseCooTensor)
    t._idx, t._vals, t._size, t._coalesced = indices, values, tuple(size), coalesced
    t._device, t._version = values._device, values._version
    return t


def sparse_gradient(indices: Tensor, values: Tensor, size) -> SparseCooTensor:
    """An uncoalesced COO gradient of a dense tensor of ``size`` (``Embedding(sparse=True)``'s: one entry per
    looked-up row, duplicates kept, as PyTorch's)."""
    return _wrap(indices, values, size, False)


def add_into_(dense: Tensor, sparse: SparseCooTensor, alpha: float = 1.0) -> None:
    """``dense += alpha * sparse`` in place and unrecorded, duplicates accumulating (PyTorch's
    ``dense.add_(sparse, alpha=)``, an optimizer's step with a sparse gradient or state)."""
    if isinstance(dense, SparseCooTensor):  # a sparse parameter: PyTorch's add_ puts the entries side by side
        new = dense.add(sparse.detach(), alpha=alpha).coalesce()  # lucid coalesces: the same pattern stays
        if new._nnz() != dense._nnz():  # a gradient lives on the values: on another pattern it is gone
            dense._vals.grad = None
        dense._take(new)
        return
    xp, sd = dense.xp, sparse.sparse_dim()
    values = sparse._vals.detach()._data
    values = values if alpha == 1 else values * alpha
    flat = xp.reshape(dense._data, (math.prod(dense.shape[:sd]), *dense.shape[sd:]))
    dense.device.backend.add_at(flat, _linear(sparse._idx, sparse._size)._data, values)
    dense._data[...] = xp.reshape(flat, dense.shape)
    dense._version[0] += 1


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


def lookup(x: SparseCooTensor, indices: Tensor) -> tuple:
    """Where the coordinates ``indices`` are stored in the coalesced ``x``: ``(found, position)`` per column of
    ``indices`` (``position`` is clamped to a valid entry where not found)."""
    keys = _linear(x._idx, x._size)
    wanted = _linear(indices, x._size)
    if not keys.shape[0]:
        return zeros(wanted.shape, dtype=_dt.bool_, device=wanted.device), wanted * 0
    at = searchsorted(keys, wanted).clamp(max=keys.shape[0] - 1)
    return keys[at] == wanted, at


# ---- construction -------------------------------------------------------------------------------------
def as_indices(indices, device, name: str = "indices") -> Tensor:
    """Index data as an int64 tensor on ``device`` (an index tensor elsewhere raises, naming both devices)."""
    if not isinstance(indices, Tensor):
        return tensor(indices, dtype=_dt.int64, device=device)
    if indices.device is not device:
        raise DeviceMismatchError(f"sparse tensor construction: the {name} are on {indices.device} but the values on "
                                  f"{device}; pass device= to move both")
    return indices if indices.dtype is _dt.int64 else indices.to(_dt.int64)


def as_values(values, indices, dtype, device) -> Tensor:
    """The values of a sparse constructor as a tensor on ``device`` (default: theirs, or the indices' device when
    the values are Python data)."""
    dev = None if device is None else _parse_device(device)
    if dev is None and isinstance(indices, Tensor) and not isinstance(values, Tensor):
        dev = indices.device
    if isinstance(values, Tensor):
        return values.to(values.device if dev is None else dev, values.dtype if dtype is None else dtype)
    return tensor(values, dtype=dtype, device=dev)


def leaf_or_connected(values: Tensor, requires_grad: bool, node: type = SparseCooTensorWithDimsAndTensors) -> Tensor:
    """Values with history stay connected (through the identity ``node``, named as PyTorch's grad_fn); others
    become a leaf, requiring grad when asked."""
    if values.requires_grad:
        return node.apply(values)
    values = values.detach()
    return values.requires_grad_(True) if requires_grad else values


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
    Without ``device=``, values given as Python data are made on the indices' device. Indices of any real dtype
    are cast to int64; the invariants are checked as ``check_sparse_tensor_invariants`` says (on by default)."""
    values = as_values(values, indices, dtype, device)
    if isinstance(indices, Tensor) and device is not None:
        indices = indices.to(values.device)
    indices = as_indices(indices, values.device)
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
        if should_check(check_invariants):
            _check_bounds(indices, size[:sd])
    return _wrap(indices, leaf_or_connected(values, requires_grad), size, bool(is_coalesced) or nnz <= 1)


def sparse_dim_of(x: Tensor, sparse_dim, dense_dim, name: str) -> int:
    """How many leading dimensions of the dense ``x`` a conversion makes sparse."""
    sd = x.ndim if sparse_dim is None and dense_dim is None else sparse_dim if dense_dim is None else x.ndim - dense_dim
    if not 0 <= sd <= x.ndim:
        raise RuntimeError(f"{name}: sparse_dim must be between 0 and {x.ndim}, got {sd}")
    return sd


def dense_to_coo(x: Tensor, sd: int) -> SparseCooTensor:
    """The sparse COO form of a dense tensor: its first ``sd`` dimensions indexed where any element of the
    remaining dense slice is non-zero; coalesced, differentiable."""
    if sd == 0:
        return _wrap(zeros((0, 1), dtype=_dt.int64, device=x.device), x.unsqueeze(0), x.shape, True)
    hit = (x != 0).detach()
    if sd < x.ndim:
        hit = hit.any(tuple(range(sd, x.ndim)))
    idx = nonzero(hit).t()
    return _wrap(idx, x[tuple(idx)], x.shape, True)


def coo_sum(input: SparseCooTensor, dim, dtype):
    """``torch.sparse.sum`` over ``dim`` (all dimensions when None): a dense tensor when every sparse dimension is
    summed, else a coalesced sparse tensor over the remaining ones."""
    values = input._vals if dtype is None else input._vals.to(dtype)
    if dim is None:
        return values.sum()
    dims = [dim_index(d, input.ndim, "sparse.sum") for d in (dim if isinstance(dim, (tuple, list)) else (dim,))]
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


def spmm_coo(a: SparseCooTensor, b: Tensor) -> Tensor:
    """sparse (n, m) @ dense (m, p): the rows of ``b`` at the column indices, scaled by the values and added into
    the result's rows (a gather and a scatter-add, differentiable to both values and ``b``)."""
    if not isinstance(a, SparseTensor) or a.ndim != 2 or a.dense_dim():
        raise RuntimeError(f"sparse mm: the first operand must be a 2-D sparse tensor without dense dimensions, got "
                           f"{'shape ' + str(tuple(a.shape)) if isinstance(a, Tensor) else type(a).__name__}")
    if not isinstance(b, Tensor) or b._sparse or b.ndim != 2:
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
    a = a._as_coo()
    row, col = a._idx[0], a._idx[1]
    out = zeros((a.shape[0], b.shape[1]), dtype=b.dtype, device=b.device)
    return out.index_add(0, row, a._vals.unsqueeze(1) * b.index_select(0, col))
