"""Matrix products beyond ``matmul``: the BLAS-style ``add*`` family (``beta * input + alpha * product``),
``mv``, ``inner``, ``ger``, ``vdot``, ``chain_matmul``. All are composites of ``matmul``/``outer`` and
arithmetic, so gradients of any order come from those.

As PyTorch: ``beta=0`` ignores ``input`` (its nan and inf do not reach the result; it still has to
broadcast), ``alpha``/``beta`` equal to 1 cost nothing.
"""

from __future__ import annotations

from .._tensor import Tensor
from .linalg import matmul, outer, tensordot

__all__ = ["addmm", "addbmm", "baddbmm", "addmv", "addr", "mv", "inner", "ger", "vdot", "chain_matmul"]


def _need(name: str, **tensors) -> None:
    """Each named argument must be a Tensor with the given number of dimensions (``name=(t, ndim)``)."""
    for arg, (t, ndim) in tensors.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): {arg} must be a Tensor, got {type(t).__name__}")
        if t.ndim != ndim:
            raise RuntimeError(f"{name}(): {arg} must be a {ndim}-D tensor, got shape {t.shape}")


def _scaled_sum(name: str, input: Tensor, product: Tensor, beta, alpha) -> Tensor:
    """``beta * input + alpha * product`` with ``input`` broadcast to ``product``'s shape (not the other
    way: PyTorch requires ``input`` to expand to the product's shape)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): input must be a Tensor, got {type(input).__name__}")
    shape = product.shape
    if input.ndim > len(shape) or any(n not in (1, m) for n, m in zip(reversed(input.shape), reversed(shape))):
        raise RuntimeError(f"{name}(): input of shape {input.shape} does not broadcast to the product's shape {shape}")
    out = product if alpha == 1 else product * alpha
    if beta == 0:  # input ignored, as PyTorch (nan * 0 must not leak in)
        return out
    return out + (input if beta == 1 else input * beta)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` for matrices ``mat1`` (n, m) and ``mat2`` (m, p)."""
    _need("addmm", mat1=(mat1, 2), mat2=(mat2, 2))
    return _scaled_sum("addmm", input, matmul(mat1, mat2), beta, alpha)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``: the batch of products summed."""
    _need("addbmm", batch1=(batch1, 3), batch2=(batch2, 3))
    _same_batch("addbmm", batch1, batch2)
    return _scaled_sum("addbmm", input, matmul(batch1, batch2).sum(0), beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)``, one product per batch entry."""
    _need("baddbmm", batch1=(batch1, 3), batch2=(batch2, 3))
    _same_batch("baddbmm", batch1, batch2)
    return _scaled_sum("baddbmm", input, matmul(batch1, batch2), beta, alpha)


def _same_batch(name: str, a: Tensor, b: Tensor) -> None:
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"{name}(): batch1 and batch2 must have the same batch size, got {a.shape} and {b.shape}")


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)`` for a matrix and a vector."""
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``."""
    _need("addr", vec1=(vec1, 1), vec2=(vec2, 1))
    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """The matrix-vector product of an (n, m) matrix and an m-vector."""
    _need("mv", input=(input, 2), vec=(vec, 1))
    return matmul(input, vec)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """The inner product over the last dimension (shape ``input.shape[:-1] + other.shape[:-1]``); with a
    0-d argument, the product, as PyTorch."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("inner(): both arguments must be Tensors")
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(
            f"inner(): the last dimensions must match, got shapes {input.shape} and {other.shape}")
    return tensordot(input, other, dims=([input.ndim - 1], [other.ndim - 1]))


def ger(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product of two vectors (PyTorch's older name for ``outer``)."""
    return outer(input, vec2)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """The dot product of two 1-D tensors (lucid has no complex dtypes, so no conjugation is needed)."""
    _need("vdot", input=(input, 1), other=(other, 1))
    if input.shape != other.shape:
        raise RuntimeError(f"vdot(): the vectors must have the same size, got {input.shape} and {other.shape}")
    return matmul(input, other)


def chain_matmul(*matrices) -> Tensor:
    """The product of 2-D matrices left to right (PyTorch's deprecated name; ``linalg.multi_dot``)."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): expected one or more tensors")
    for i, m in enumerate(matrices):
        _need("chain_matmul", **{f"matrices[{i}]": (m, 2)})
    out = matrices[0]
    for m in matrices[1:]:
        out = matmul(out, m)
    return out if len(matrices) > 1 else out.clone()


METHODS = {name: globals()[name] for name in
           ("addmm", "addbmm", "baddbmm", "addmv", "addr", "mv", "inner", "ger", "vdot")}
INPLACE = ["addmm", "addbmm", "baddbmm", "addmv", "addr"]
