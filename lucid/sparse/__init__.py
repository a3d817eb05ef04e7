"""Sparse tensors (``torch.sparse``): what GCNs, sparse adjacencies and graph attention use. COO
(``lucid.sparse_coo_tensor``, ``dense.to_sparse()``) and the compressed CSR / CSC layouts
(``lucid.sparse_csr_tensor``, ``dense.to_sparse_csr()``, ...) move and cast with ``to()``, multiply a dense
matrix (``lucid.sparse.mm``, ``lucid.spmm``, ``lucid.mm``, ``addmm``, ``@``), convert into each other, and COO
ones also sum, add, multiply, transpose, coalesce and take a softmax over their entries (CSR ones add and sum over a
dim with ``keepdim=True``); gradients reach the dense operands and the values. ``Embedding(sparse=True)`` gives its
weight a sparse COO gradient that ``optim.SGD``, ``Adagrad`` and ``SparseAdam`` step with (``_coo.add_into_``).

Files: ``_base.py`` (layouts, the invariant-check switch, :class:`SparseTensor`, what all layouts share),
``_coo.py`` (COO), ``_compressed.py`` (CSR/CSC, computing through COO), this file (``torch.sparse``'s functions
and the sparse methods of dense tensors).

Representation: a subclass of ``lucid.Tensor`` (so ``isinstance(adj, lucid.Tensor)`` holds, as ``layout``,
``shape``, ``dtype``, ``device``, ``requires_grad``) holding dense index tensors and ``values``. A subclass rather
than a layout flag on every Tensor keeps the dense path as it was: no op checks a layout. Instead the one thing
every dense op reads, the backing array ``_data``, is a property that raises ``NotImplementedError("<op>() does
not support sparse COO tensors; call .to_dense() first")``, so an op that does not know sparse tensors fails
clearly rather than computing garbage. Only ``matmul`` asks (``_sparse``) and hands the product here.

Every op is a composite of dense lucid ops on the values (gathers and scatter-adds, written against the array
API: NumPy, CuPy and array-api-strict alike, no SciPy), so autograd, double backward included, comes from them: a
sparse tensor's autograd history is that of its values, and a leaf's ``.grad`` (and ``autograd.grad`` with
respect to it) is sparse on its pattern, as PyTorch's. ``nn.Parameter(sparse)`` is a sparse Parameter;
``lucid.save`` stores a sparse tensor as its index and value tensors.

Where lucid chooses: invariants are checked by default (``check_sparse_tensor_invariants`` starts enabled;
PyTorch's starts disabled); the check reads the indices, a sync on a GPU. Hooks on a sparse tensor raise (register
them on ``.values()``).
"""

from __future__ import annotations

import builtins
import math
import numbers

from .. import dtypes as _dt
from .._tensor import Tensor, register_methods
from ..ops.creation import arange, full, zeros
from ..ops.indexing import unique
from ..ops.shape import cat, stack
from ._base import (
    SparseTensor,
    check_sparse_tensor_invariants,
    dim_index,
    layout_only,
    sparse_coo,
    sparse_csc,
    sparse_csr,
)
from ._compressed import (
    INDEX_METHODS,
    SparseCompressedTensor,
    SparseCscTensor,
    SparseCsrTensor,
    sparse_compressed_tensor,
    sparse_csc_tensor,
    sparse_csr_tensor,
    to_compressed,
)
from ._coo import SparseCooTensor, _linear, _wrap, coo_sum, dense_to_coo, sparse_coo_tensor, sparse_dim_of, spmm_coo

__all__ = ["SparseTensor", "SparseCooTensor", "SparseCompressedTensor", "SparseCsrTensor", "SparseCscTensor",
           "sparse_coo", "sparse_csr", "sparse_csc", "sparse_coo_tensor", "sparse_csr_tensor", "sparse_csc_tensor",
           "sparse_compressed_tensor", "check_sparse_tensor_invariants", "mm", "spmm", "addmm", "sum", "softmax",
           "log_softmax", "sampled_addmm", "spdiags", "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor",
           "ByteTensor", "CharTensor", "ShortTensor", "IntTensor", "LongTensor", "BoolTensor"]


# ---- the sparse methods of dense tensors ------------------------------------------------------------------------
def to_sparse(x: Tensor, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
    """The sparse form of a dense tensor: COO (its first ``sparse_dim`` dimensions, all by default or all but
    ``dense_dim``, indexed where any element of the remaining dense slice is non-zero; coalesced), or CSR/CSC for
    ``layout=``; differentiable."""
    if layout not in (None, sparse_coo) or blocksize is not None:
        return to_compressed(x, layout, blocksize, dense_dim)
    return dense_to_coo(x, sparse_dim_of(x, sparse_dim, dense_dim, "to_sparse"))


def to_sparse_coo(x: Tensor) -> SparseCooTensor:
    """``to_sparse()``: the sparse COO form."""
    return to_sparse(x)


def to_sparse_csr(x: Tensor, dense_dim=None) -> SparseCsrTensor:
    """The CSR form of a dense, COO or CSC tensor (differentiable to the values)."""
    return to_compressed(x, sparse_csr, None, dense_dim)


def to_sparse_csc(x: Tensor, dense_dim=None) -> SparseCscTensor:
    """The CSC form of a dense, COO or CSR tensor (differentiable to the values)."""
    return to_compressed(x, sparse_csc, None, dense_dim)


def to_dense(x: Tensor, dtype=None, *, masked_grad=None) -> Tensor:
    """A dense tensor's ``to_dense()``: itself (cast to ``dtype`` when given)."""
    return x if dtype is None else x.to(dtype)


def sparse_dim(x: Tensor) -> int:
    """A dense tensor's ``sparse_dim()``: 0."""
    return 0


def dense_dim(x: Tensor) -> int:
    """A dense tensor's ``dense_dim()``: all its dimensions."""
    return x.ndim


def sparse_mask(x: Tensor, mask: SparseTensor) -> SparseTensor:
    """``x`` read at the entries of the sparse ``mask`` (its layout and pattern, duplicates kept): the gradient
    reaches ``x`` at those entries, as PyTorch's."""
    if not isinstance(mask, SparseTensor):
        raise RuntimeError("sparse_mask(): mask must be a sparse tensor (COO, CSR or CSC), got a dense one; "
                           "use x * mask for a dense mask")
    if mask.shape != x.shape:
        raise RuntimeError(f"sparse_mask(): operands have incompatible sizes; self has size {list(x.shape)} but "
                           f"mask has size {list(mask.shape)}")
    return mask._like(mask._parts(), x[tuple(mask._coo_indices())])


METHODS = {
    "to_sparse": to_sparse, "to_sparse_coo": to_sparse_coo, "to_sparse_csr": to_sparse_csr,
    "to_sparse_csc": to_sparse_csc, "to_dense": to_dense, "sparse_dim": sparse_dim, "dense_dim": dense_dim,
    "sparse_mask": sparse_mask,
    **{name: layout_only(name, "sparse coordinate tensor")
       for name in ("coalesce", "is_coalesced", "indices", "_indices", "_nnz")},
    **{name: layout_only(name, "sparse tensor") for name in ("values", "_values")},
    **INDEX_METHODS,
}
register_methods(METHODS)


# ---- torch.sparse's functions ----------------------------------------------------------------------
def mm(mat1: Tensor, mat2: Tensor) -> Tensor:
    """``torch.sparse.mm``: the product of two matrices, one sparse (sparse @ dense or dense @ sparse, a dense
    result; the gradient reaches the dense operand and the sparse one's values)."""
    for name, m in (("mat1", mat1), ("mat2", mat2)):
        if not isinstance(m, Tensor) or m.ndim != 2:
            raise RuntimeError(f"sparse.mm: {name} must be a 2-D tensor")
    return SparseCooTensor._sparse_matmul(mat1, mat2)


def spmm(input: SparseTensor, mat2: Tensor) -> Tensor:
    """``torch.spmm``: a sparse matrix times a dense one."""
    return spmm_coo(input, mat2)


def addmm(mat: Tensor, mat1: SparseTensor, mat2: Tensor, *, beta=1.0, alpha=1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` for a sparse ``mat1`` (``torch.sparse.addmm``)."""
    from ..ops.products import addmm as _addmm

    return _addmm(mat, mat1, mat2, beta=beta, alpha=alpha)


def sampled_addmm(input: SparseCsrTensor, mat1: Tensor, mat2: Tensor, *, beta=1.0, alpha=1.0) -> SparseCsrTensor:
    """``torch.sparse.sampled_addmm``: ``beta * input + alpha * (mat1 @ mat2)`` computed only at the entries of
    the CSR ``input`` (a CSR result on its pattern; differentiable to its values, ``mat1`` and ``mat2``)."""
    if not isinstance(input, SparseCsrTensor):
        raise RuntimeError(f"sampled_addmm: expected input to be a sparse CSR tensor, got layout "
                           f"{getattr(input, 'layout', type(input).__name__)!r}; convert it with .to_sparse_csr()")
    for name, m in (("mat1", mat1), ("mat2", mat2)):
        if not isinstance(m, Tensor) or m._sparse or m.ndim != 2:
            raise RuntimeError(f"sampled_addmm: {name} must be a 2-D dense tensor")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"sampled_addmm: mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x"
                           f"{mat1.shape[1]} and {mat2.shape[0]}x{mat2.shape[1]})")
    if input.ndim != 2 or input.dense_dim() or tuple(input.shape) != (mat1.shape[0], mat2.shape[1]):
        raise RuntimeError(f"sampled_addmm: input of shape {tuple(input.shape)} must be a matrix of the product's "
                           f"shape ({mat1.shape[0]}, {mat2.shape[1]})")
    row, col = input._coo_indices()
    sampled = (mat1.index_select(0, row) * mat2.t().index_select(0, col)).sum(-1)
    return input._like(input._parts(), beta * input._vals + alpha * sampled)


def spdiags(diagonals: Tensor, offsets: Tensor, shape, layout=None) -> SparseTensor:
    """``torch.sparse.spdiags``: a ``shape`` matrix with row ``k`` of ``diagonals`` on diagonal ``offsets[k]``
    (element ``j`` of the row at column ``j``, as SciPy's ``spdiags``); COO in the order of the offsets, or
    ``layout=`` CSR/CSC. Differentiable to ``diagonals`` (PyTorch's is not); a diagonal outside the matrix
    holds no entries (PyTorch fails on one)."""
    rows2d = diagonals.unsqueeze(0) if diagonals.ndim == 1 else diagonals
    if rows2d.ndim != 2 or offsets.ndim != 1:
        raise RuntimeError(f"spdiags: diagonals must be 1-D or 2-D and offsets 1-D, got shapes "
                           f"{tuple(diagonals.shape)} and {tuple(offsets.shape)}")
    if len(shape) != 2:
        raise RuntimeError(f"spdiags: output shape must be 2-D, got {tuple(shape)}")
    if rows2d.shape[0] != offsets.shape[0]:
        raise RuntimeError(f"Number of diagonals ({rows2d.shape[0]}) does not match the number of offsets "
                           f"({offsets.shape[0]})")
    offs = offsets.tolist()
    if len(set(offs)) != len(offs):
        raise RuntimeError("Offset tensor contains duplicate values")
    (m, n), length, dev = shape, rows2d.shape[1], diagonals.device
    rows, cols, vals = [], [], []
    for k, o in enumerate(offs):
        j = arange(builtins.max(0, o), builtins.max(builtins.max(0, o), builtins.min(m + o, n, length)), device=dev)
        rows.append(j - o)
        cols.append(j)
        vals.append(rows2d[k].index_select(0, j))
    empty = zeros(0, dtype=_dt.int64, device=dev)
    idx = stack([cat(rows) if rows else empty, cat(cols) if cols else empty])
    values = cat(vals) if vals else zeros(0, dtype=diagonals.dtype, device=dev)
    coo = _wrap(idx, values, (m, n), idx.shape[1] <= 1)
    return coo if layout in (None, sparse_coo) else to_compressed(coo, layout)


def sum(input: SparseTensor, dim=None, dtype=None):  # noqa: A001  (torch.sparse.sum)
    """The sum over ``dim`` (all dimensions by default): a dense tensor when every sparse dimension is summed,
    else a coalesced sparse tensor over the remaining ones (``torch.sparse.sum``)."""
    _need_sparse(input, "sparse.sum")
    return coo_sum(input._as_coo(), dim, dtype)


def _need_sparse(x, name: str) -> None:
    if not isinstance(x, SparseTensor):
        raise TypeError(f"{name}: expected a sparse tensor, got {type(x).__name__}; use x.to_sparse()")


def _softmax(input: SparseCooTensor, dim: int, dtype, name: str, log: bool) -> SparseCooTensor:
    """Softmax over the stored entries of each slice along ``dim`` (unstored entries count as -inf: they stay
    absent), on the coalesced tensor; along a dense dimension, over the values' axis."""
    _need_sparse(input, name)
    if not isinstance(input, SparseCooTensor):
        raise NotImplementedError(f"{name}: lucid supports sparse COO tensors here; call .to_sparse() first")
    d = dim_index(dim, input.ndim, name)
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
