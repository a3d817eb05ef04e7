"""Gradcheck cases and non-differentiable names of the sparse COO family (lucid/sparse.py): gradients reach
the values of a sparse tensor and the dense operands of its products."""

from __future__ import annotations

from gradcheck_specs import N, add

import lucid

_INDICES = [[0, 1, 1, 2, 0], [2, 0, 2, 1, 2]]  # a repeated entry (0, 2): coalescing sums it


def _sparse(values):
    """A 3x4 sparse COO tensor with ``values`` at ``_INDICES`` (uncoalesced)."""
    return lucid.sparse_coo_tensor(lucid.tensor(_INDICES, device=values.device), values, (3, 4))


add("lucid.sparse_coo_tensor", lambda v: _sparse(v).to_dense(), N(5), also=("Tensor.to_dense",))
add("lucid.spmm", lambda v, x: lucid.spmm(_sparse(v), x), N(5), N(4, 2))
add("Tensor.coalesce", lambda v: _sparse(v).coalesce().values(), N(5), also=("Tensor.values",))
add("Tensor.to_sparse", lambda x: x.to_sparse().to_dense() * 2.0, N(3, 4))
add("Tensor.to_sparse_coo", lambda x: x.to_sparse_coo().coalesce().values(), N(3, 4))

NOT_DIFFERENTIABLE = {  # integer indices, counts and layout facts
    "Tensor.indices", "Tensor.is_coalesced", "Tensor.is_sparse", "Tensor.sparse_dim", "Tensor.dense_dim",
}
