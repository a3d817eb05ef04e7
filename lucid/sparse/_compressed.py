"""Compressed sparse tensors, CSR and CSC (``torch.sparse_csr_tensor`` / ``sparse_csc_tensor``): one class, a
table over the compressed dimension. A 2-D tensor (plus dense dimensions per entry) is ``compressed`` indices
(``size[cdim] + 1`` offsets: the entries of row / column ``i`` are ``compressed[i]:compressed[i + 1]``), ``plain``
indices (each entry's column / row, sorted and distinct within a row / column) and ``values``.

Everything computes through the COO form (:meth:`SparseCompressedTensor._as_coo`: the compressed offsets
expanded to one index per entry with ``searchsorted``), so products, ``to_dense`` and conversions are the COO
ones and gradients reach the values and the dense operands as PyTorch's. Conversions to CSR/CSC coalesce (sort)
the COO form and count entries per row / column, differentiably. Where lucid chooses: batched compressed tensors
(index tensors with batch dimensions) are not supported; a leaf's ``.grad`` is compressed on its own pattern
(``torch.sparse.mm`` and ``autograd.grad`` give that; PyTorch's ``@`` leaves a dense one)."""

from __future__ import annotations

from .. import dtypes as _dt
from .._tensor import Tensor
from ..ops.creation import arange, zeros
from ..ops.searching import searchsorted
from ..ops.shape import stack
from ._base import (
    LAYOUT_NAMES,
    SparseTensor,
    dim_index,
    layout_only,
    should_check,
    sparse_coo,
    sparse_csc,
    sparse_csr,
)
from ._coo import (
    SparseCooTensor,
    SparseCooTensorWithDimsAndTensors,
    _wrap,
    as_indices,
    as_values,
    coo_sum,
    dense_to_coo,
    leaf_or_connected,
    sparse_dim_of,
)

# layout -> (compressed dimension, compressed indices' name, plain indices' name, what the compressed dimension
# counts, PyTorch's name of the layout in errors)
TABLE = {
    sparse_csr: (0, "crow_indices", "col_indices", "rows", "sparse row compressed tensor"),
    sparse_csc: (1, "ccol_indices", "row_indices", "columns", "sparse column compressed tensor"),
}


class SparseCompressedTensorWithHistory(SparseCooTensorWithDimsAndTensors):
    """The identity node of values with history taken into a compressed tensor (``grad_fn`` as PyTorch's)."""

    def name(self) -> str:
        return "SparseCompressedTensorBackward0"


class SparseCompressedTensor(SparseTensor):
    """A 2-D sparse tensor in compressed form (CSR or CSC, by the subclass's ``layout``): see the module
    docstring. Make one with :func:`sparse_csr_tensor` / :func:`sparse_csc_tensor` or
    ``Tensor.to_sparse_csr()`` / ``to_sparse_csc()``."""

    __slots__ = ("_cidx", "_pidx")

    def _like(self, parts, values) -> SparseCompressedTensor:
        return _make(self._layout_class(), parts[0], parts[1], values, self._size)

    def _state(self) -> dict:
        return {"_cidx": self._cidx, "_pidx": self._pidx}

    def _coo_indices(self) -> Tensor:
        """Each entry's (row, column): the compressed offsets expanded, and the plain indices."""
        cdim = TABLE[self.layout][0]
        owner = searchsorted(self._cidx, arange(self._nnz(), device=self._device), right=True) - 1
        return stack([owner, self._pidx] if cdim == 0 else [self._pidx, owner])

    def _as_coo(self) -> SparseCooTensor:
        """The same tensor in COO form, sharing the values (coalesced for CSR, whose order is row-major)."""
        return _wrap(self._coo_indices(), self._vals, self._size, self.layout is sparse_csr)

    def _as_grad(self, g: Tensor) -> SparseCompressedTensor:
        return self._like(self._parts(), g)

    def values(self) -> Tensor:
        """The stored values (differentiable), in the order of the plain indices."""
        return self._vals

    def sparse_dim(self) -> int:
        return 2

    # ---- conversions ---------------------------------------------------------------------------
    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """The dense tensor (differentiable: each value gets the gradient at its place)."""
        return self._as_coo().to_dense(dtype)

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
        """The COO form, or another compressed layout for ``layout=``."""
        if layout in (None, sparse_coo):
            if sparse_dim not in (None, 2):
                raise RuntimeError(f"to_sparse: a compressed tensor has sparse_dim 2, cannot convert to "
                                   f"sparse_dim={sparse_dim}")
            return self.to_sparse_coo()
        return to_compressed(self, layout, blocksize, dense_dim)

    def to_sparse_coo(self) -> SparseCooTensor:
        """The COO form in storage order, as PyTorch's (coalesced for CSR, not for CSC)."""
        return self._as_coo()

    def t(self) -> SparseCompressedTensor:
        """The transpose: the same index tensors read in the other compressed layout (CSR <-> CSC), as PyTorch."""
        other = sparse_csc if self.layout is sparse_csr else sparse_csr
        size = (self._size[1], self._size[0], *self._size[2:])
        return _make(LAYOUT_CLASSES[other], self._cidx, self._pidx, self._vals, size)

    def transpose(self, dim0: int, dim1: int) -> SparseCompressedTensor:
        """Only the two sparse dimensions can swap (:meth:`t`)."""
        d0, d1 = (dim_index(d, self.ndim, "transpose") for d in (dim0, dim1))
        if {d0, d1} == {0, 1}:
            return self.t()
        if d0 == d1:
            return self
        raise RuntimeError(f"transpose(): a compressed tensor can swap only its two sparse dimensions, got {dim0} "
                           f"and {dim1}")

    def sum(self, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
        """The sum of all elements (a dense 0-d tensor); over ``dim`` of a CSR tensor with ``keepdim=True``, as
        PyTorch, a CSR tensor with an entry per row / column holding stored entries (differentiable to the values:
        PyTorch's has no backward). CSC and ``keepdim=False`` raise PyTorch's errors."""
        if dim is None:
            if keepdim:
                raise NotImplementedError("sum(keepdim=True) of a compressed sparse tensor needs dim=; call "
                                          ".to_dense() first")
            return (self._vals if dtype is None else self._vals.to(dtype)).sum()
        if self.layout is not sparse_csr:
            raise RuntimeError(f"Currently the only compressed sparse format supported for sum.dim_IntList is CSR, "
                               f"but got layout {LAYOUT_NAMES[self.layout]}; convert with .to_sparse_csr() first")
        if not keepdim:
            raise RuntimeError("reduction operations on CSR tensors with keepdim=False is unsupported; pass "
                               "keepdim=True (a CSR result), or convert with .to_sparse() / .to_dense() first")
        if self.dense_dim():
            raise NotImplementedError("sum(dim) of a CSR tensor with dense dimensions is not supported; call "
                                      ".to_dense() first")
        dims = sorted({dim_index(d, 2, "sum") for d in (dim if isinstance(dim, (tuple, list)) else (dim,))})
        if dtype is None and self.dtype.kind in "biu":  # integers sum in int64, as PyTorch
            dtype = _dt.int64
        reduced = coo_sum(self._as_coo(), dims, dtype)
        if len(dims) == 2:  # one entry, if any is stored
            values = reduced.reshape(1)[:min(self._nnz(), 1)]
            idx = zeros((2, values.shape[0]), dtype=_dt.int64, device=self._device)
        else:
            kept = reduced._idx[0]
            values, idx = reduced._vals, stack([kept * 0, kept] if dims == [0] else [kept, kept * 0])
        size = tuple(1 if d in dims else n for d, n in enumerate(self._size))
        return to_compressed(_wrap(idx, values, size, True), sparse_csr)

    def add(self, other, *, alpha=1):
        """``self + alpha * other``: CSR + CSR of one size and dtype is CSR on the union of the patterns (entries
        that cancel stay stored), CSR + dense of one size is dense, as PyTorch (no broadcasting). ``alpha`` scales
        ``other`` as documented; PyTorch 2.13's CSR + dense scales the CSR operand instead."""
        if isinstance(other, SparseTensor):
            if self.layout is not sparse_csr or other.layout is not sparse_csr:
                raise RuntimeError(f"add: {LAYOUT_NAMES[self.layout]} + {LAYOUT_NAMES[other.layout]} is not "
                                   f"supported (only CSR + CSR keeps a compressed result); convert both with "
                                   f".to_sparse_csr(), or one with .to_dense()")
            if other.shape != self.shape:
                raise RuntimeError(f"torch.add: Expected input tensors to have the same shape, but got tensor `self` "
                                   f"with shape {list(self.shape)} and tensor `other` with shape {list(other.shape)}")
            if other.dtype is not self.dtype:
                raise RuntimeError(f"add: expected both CSR tensors to have the same dtype, got {self.dtype.name} and "
                                   f"{other.dtype.name}; cast one with .to(dtype)")
            return to_compressed(self._as_coo().add(other._as_coo(), alpha=alpha), sparse_csr)
        _same_size(other, self)
        return self.to_dense() + (other if alpha == 1 else other * alpha)

    __add__ = add

    def __radd__(self, other) -> Tensor:
        """``dense + compressed``: a dense tensor of one size, as PyTorch."""
        _same_size(other, self)
        return other + self.to_dense()

    _sparse_matmul = staticmethod(SparseCooTensor._sparse_matmul)


def _same_size(dense, compressed) -> None:
    """PyTorch's refusal to broadcast in a dense + compressed sum."""
    size = list(dense.shape) if isinstance(dense, Tensor) else []
    if size != list(compressed.shape):
        raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self has size {size} while other "
                           f"has size {list(compressed.shape)} (FYI: op2-sparse addition does not currently support "
                           f"broadcasting)")


def _layout_class(layout) -> type:
    """The class of one compressed layout, its index accessors named from :data:`TABLE`."""
    _, cname, pname, _, _ = TABLE[layout]
    name = {sparse_csr: "SparseCsrTensor", sparse_csc: "SparseCscTensor"}[layout]
    return type(name, (SparseCompressedTensor,), {
        "__slots__": (), "__module__": __name__, "layout": layout, "is_sparse_csr": layout is sparse_csr,
        "_INDEX": (("_cidx", cname), ("_pidx", pname)),
        cname: lambda self: self._cidx, pname: lambda self: self._pidx,
        "__doc__": f"A sparse {layout.name[-3:].upper()} tensor (see SparseCompressedTensor)."})


LAYOUT_CLASSES = {layout: _layout_class(layout) for layout in TABLE}
SparseCsrTensor, SparseCscTensor = LAYOUT_CLASSES[sparse_csr], LAYOUT_CLASSES[sparse_csc]
# each layout's index accessors on every other tensor (registered on Tensor by lucid.sparse, so inherited where a
# layout class does not define them): PyTorch's RuntimeError naming the layout it got
INDEX_METHODS = {name: layout_only(name, what) for _, cname, pname, _, what in TABLE.values()
                 for name in (cname, pname)}


def _make(cls: type, compressed: Tensor, plain: Tensor, values: Tensor, size) -> SparseCompressedTensor:
    t = object.__new__(cls)
    t._cidx, t._pidx, t._vals, t._size = compressed, plain, values, tuple(size)
    t._device, t._version = values._device, values._version
    return t


def _check_invariants(layout, compressed: Tensor, plain: Tensor, size) -> None:
    """PyTorch's invariants of compressed indices, with its messages: offsets starting at 0, ending at nnz, not
    decreasing and each slice within the plain size; plain indices in range, sorted and distinct per slice."""
    cdim, cname, pname, counted, _ = TABLE[layout]
    n, m, nnz = size[cdim], size[1 - cdim], plain.shape[0]
    ncompressed, nplain = ("nrows", "ncols") if cdim == 0 else ("ncols", "nrows")
    if compressed.shape[0] != n + 1:
        raise RuntimeError(f"{cname}.shape[-1] must be equal to the number of {counted} + 1 (={n + 1}), but got "
                           f"{compressed.shape[0]}")
    first, last = compressed[0].item(), compressed[-1].item()
    if first != 0:
        raise RuntimeError(f"`{cname}[..., 0] == 0` is not satisfied.")
    if last != nnz:
        raise RuntimeError(f"`{cname}[..., -1] == nnz` is not satisfied.")
    steps = compressed[1:] - compressed[:-1]
    if n and ((steps < 0).any() or (steps > m).any()).item():
        raise RuntimeError(f"`0 <= {cname}[..., 1:] - {cname}[..., :-1] <= {nplain}` is not satisfied.")
    if nnz and ((plain < 0).any() or (plain >= m).any()).item():
        raise RuntimeError(f"`0 <= {pname} < {nplain}` is not satisfied.")
    owner = searchsorted(compressed, arange(nnz, device=plain.device), right=True)
    if nnz > 1 and ((owner[1:] == owner[:-1]) & (plain[1:] <= plain[:-1])).any().item():
        raise RuntimeError(f"`{pname}[..., {cname}[..., i - 1]:{cname}[..., i]] for all i = 1, ..., {ncompressed} are "
                           f"sorted and distinct along the last dimension values` is not satisfied.")


def sparse_compressed_tensor(compressed_indices, plain_indices, values, size=None, *, dtype=None, layout=None,
                             device=None, requires_grad: bool = False, check_invariants=None):
    """``torch.sparse_compressed_tensor``: a CSR or CSC tensor (by ``layout``) from its index tensors and values.
    ``size`` defaults to (compressed length - 1, largest plain index + 1) in the layout's order, plus the values'
    dense dimensions; the invariants are checked as ``check_sparse_tensor_invariants`` says (on by default)."""
    if layout not in TABLE:
        raise RuntimeError(f"sparse_compressed_tensor: layout must be lucid.sparse_csr or lucid.sparse_csc, got "
                           f"{layout!r}")
    cdim, cname, pname, _, _ = TABLE[layout]
    values = as_values(values, compressed_indices, dtype, device)
    moved = [i.to(values.device) if isinstance(i, Tensor) and device is not None else i
             for i in (compressed_indices, plain_indices)]
    compressed, plain = (as_indices(i, values.device, n) for i, n in zip(moved, (cname, pname)))
    if compressed.ndim != 1 or plain.ndim != 1:
        raise NotImplementedError(f"lucid supports 2-D compressed sparse tensors only: {cname} and {pname} must be "
                                  f"1-D, got shapes {tuple(compressed.shape)} and {tuple(plain.shape)} (batch "
                                  f"dimensions are not supported)")
    if values.ndim == 0 or values.shape[0] != plain.shape[0]:
        raise RuntimeError(f"{pname} and values must have the same number of entries, got {plain.shape[0]} and "
                           f"{tuple(values.shape)[:1] or 'a 0-d tensor'}")
    dense_shape = tuple(values.shape[1:])
    if size is None:
        plain_size = plain.amax().item() + 1 if plain.shape[0] else 0
        sparse = [max(compressed.shape[0] - 1, 0), plain_size]
        size = (*(sparse if cdim == 0 else sparse[::-1]), *dense_shape)
    size = tuple(int(n) for n in size)
    if len(size) != 2 + len(dense_shape) or size[2:] != dense_shape:
        raise RuntimeError(f"{layout.name}_tensor: size {list(size)} must be 2 sparse dimensions followed by the "
                           f"values' dense dimensions {list(dense_shape)}")
    if should_check(check_invariants):
        _check_invariants(layout, compressed, plain, size)
    values = leaf_or_connected(values, requires_grad, SparseCompressedTensorWithHistory)
    return _make(LAYOUT_CLASSES[layout], compressed, plain, values, size)


def _constructor(layout):
    _, cname, pname, _, _ = TABLE[layout]

    def make(compressed_indices, plain_indices, values, size=None, *, dtype=None, device=None,
             requires_grad: bool = False, check_invariants=None):
        return sparse_compressed_tensor(compressed_indices, plain_indices, values, size, dtype=dtype, layout=layout,
                                        device=device, requires_grad=requires_grad,
                                        check_invariants=check_invariants)

    make.__name__ = make.__qualname__ = f"{layout.name}_tensor"
    make.__doc__ = (f"``torch.{layout.name}_tensor({cname}, {pname}, values, size=None, *, dtype, device, "
                    f"requires_grad, check_invariants)``: see :func:`sparse_compressed_tensor`.")
    return make


sparse_csr_tensor, sparse_csc_tensor = _constructor(sparse_csr), _constructor(sparse_csc)


def to_compressed(x: Tensor, layout, blocksize=None, dense_dim=None) -> SparseCompressedTensor:
    """``x`` (dense, COO or compressed) in the compressed ``layout``: its COO form sorted by the compressed
    dimension, then the entries counted per row / column (differentiable to the values)."""
    if layout not in TABLE or blocksize is not None:
        raise NotImplementedError(f"lucid supports the sparse_coo, sparse_csr and sparse_csc layouts, not "
                                  f"{layout!r}{' with a blocksize' if blocksize is not None else ''}")
    if isinstance(x, SparseCompressedTensor):
        if x.layout is layout:
            return x
        x = x._as_coo()
    elif not isinstance(x, SparseCooTensor):
        if x.ndim < 2:
            raise RuntimeError(f"to_{layout.name}: expected a tensor of at least 2 dimensions, got {x.ndim}")
        if x.ndim - (dense_dim or 0) != 2:
            raise NotImplementedError(f"to_{layout.name}: lucid supports 2 sparse dimensions (no batch "
                                      f"dimensions), got a {x.ndim}-D tensor with dense_dim={dense_dim}")
        x = dense_to_coo(x, sparse_dim_of(x, None, dense_dim, f"to_{layout.name}"))
    if x.sparse_dim() != 2:
        raise RuntimeError(f"to_{layout.name}: expected a COO tensor with 2 sparse dimensions, got "
                           f"{x.sparse_dim()}")
    cdim = TABLE[layout][0]
    if cdim == 1:  # sort by column: coalesce the transpose
        x = x.t()
    x = x.coalesce()
    count = x._size[0]
    compressed = searchsorted(x._idx[0], arange(count + 1, device=x.device))
    size = x._size if cdim == 0 else (x._size[1], x._size[0], *x._size[2:])
    return _make(LAYOUT_CLASSES[layout], compressed.to(_dt.int64), x._idx[1], x._vals, size)
