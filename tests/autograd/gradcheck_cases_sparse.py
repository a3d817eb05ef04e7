"""Gradcheck cases and non-differentiable names of the sparse family (lucid/sparse/): gradients reach the values
of a sparse tensor (COO, CSR, CSC) and the dense operands of its products."""

from __future__ import annotations

from gradcheck_specs import N, add

import lucid

_INDICES = [[0, 1, 1, 2, 0], [2, 0, 2, 1, 2]]  # a repeated entry (0, 2): coalescing sums it
_COMPRESSED, _PLAIN = [0, 2, 3, 5], [1, 3, 0, 0, 2]  # 3x4 CSR (or 4x3 CSC) with 5 entries


def _sparse(values):
    """A 3x4 sparse COO tensor with ``values`` at ``_INDICES`` (uncoalesced)."""
    return lucid.sparse_coo_tensor(lucid.tensor(_INDICES, device=values.device), values, (3, 4))


add("lucid.sparse_coo_tensor", lambda v: _sparse(v).to_dense(), N(5), also=("Tensor.to_dense",))
add("lucid.spmm", lambda v, x: lucid.spmm(_sparse(v), x), N(5), N(4, 2))
add("Tensor.coalesce", lambda v: _sparse(v).coalesce().values(), N(5), also=("Tensor.values",))
add("Tensor.to_sparse", lambda x: x.to_sparse().to_dense() * 2.0, N(3, 4))
add("Tensor.to_sparse_coo", lambda x: x.to_sparse_coo().coalesce().values(), N(3, 4))


def _compressed(build, values, size=(3, 4)):
    """A compressed tensor of ``values`` at the fixed pattern, made by ``build``."""
    return build(lucid.tensor(_COMPRESSED, device=values.device), lucid.tensor(_PLAIN, device=values.device),
                 values, size)


add("lucid.sparse_csr_tensor", lambda v, x: _compressed(lucid.sparse_csr_tensor, v) @ x, N(5), N(4, 2))
add("lucid.sparse_csc_tensor", lambda v, x: x @ _compressed(lucid.sparse_csc_tensor, v, (4, 3)), N(5), N(2, 4))
add("lucid.sparse_compressed_tensor", lambda v: lucid.sparse_compressed_tensor(
    lucid.tensor(_COMPRESSED, device=v.device), lucid.tensor(_PLAIN, device=v.device), v, (3, 4),
    layout=lucid.sparse_csr).to_dense(), N(5))
add("Tensor.to_sparse_csr", lambda x: x.to_sparse_csr().values() * 2.0, N(3, 4))
add("Tensor.to_sparse_csc", lambda x: x.to_sparse_csc().to_dense(), N(3, 4))
add("Tensor.sparse_mask", lambda x: x.sparse_mask(_sparse(lucid.ones(5, device=x.device)))._values(), N(3, 4))

NOT_DIFFERENTIABLE = {  # integer indices, counts and layout facts
    "Tensor.indices", "Tensor.is_coalesced", "Tensor.is_sparse", "Tensor.is_sparse_csr", "Tensor.sparse_dim",
    "Tensor.dense_dim",
    "Tensor.crow_indices", "Tensor.col_indices", "Tensor.ccol_indices", "Tensor.row_indices",
}
