"""Products beyond ``matmul``: the BLAS-style ``add*`` family (``beta * input + alpha * product``), ``mv``,
``inner``, ``ger``, ``vdot``, ``chain_matmul``, ``trace``; products of sets and tensors (``kron``,
``cartesian_prod``, ``combinations``, ``vander``) and distances (``dist``, ``cdist``, ``pdist``, ``renorm``).
All are composites of ``matmul``, norms, indexing and arithmetic, so gradients of any order come from those
(``cdist``'s p=inf distance is a Function whose backward is again such a composite).

As PyTorch: ``beta=0`` ignores ``input`` (its nan and inf do not reach the result; it still has to
broadcast), ``alpha``/``beta`` equal to 1 cost nothing.
"""

from __future__ import annotations

import itertools
import math
import numbers

from .. import dtypes as _dt
from .._tensor import Tensor
from ..amp.autocast import autocast_op
from ..autograd.function import FLOAT32, LOWER, Function, rename_node
from .arithmetic import unbroadcast
from .complexes import conj_if_complex
from .creation import ones_like, zeros
from .indexing import where
from .linalg import matmul, outer, tensordot, vector_norm
from .searching import triu_indices
from .shape import _dim, cat, diagonal, meshgrid, stack

__all__ = [
    "addmm", "addbmm", "baddbmm", "addmv", "addmv_", "addr", "mv", "inner", "ger", "vdot", "chain_matmul", "trace",
    "kron", "cartesian_prod", "combinations", "vander", "dist", "cdist", "pdist", "renorm",
]


def _need(name: str, **tensors) -> None:
    """Each named argument must be a Tensor with the given number of dimensions (``name=(t, ndim)``)."""
    for arg, (t, ndim) in tensors.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): {arg} must be a Tensor, got {type(t).__name__}")
        if t.ndim != ndim:
            raise RuntimeError(f"{name}(): {arg} must be a {ndim}-D tensor, got shape {t.shape}")


def _scaled_sum(name: str, input: Tensor, product: Tensor, beta, alpha) -> Tensor:
    """``beta * input + alpha * product`` with ``input`` broadcast to ``product``'s shape (not the other
    way: PyTorch requires ``input`` to expand to the product's shape), recorded as PyTorch's one node of the op
    ``name`` (``AddmmBackward0``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): input must be a Tensor, got {type(input).__name__}")
    shape = product.shape
    if input.ndim > len(shape) or any(n not in (1, m) for n, m in zip(reversed(input.shape), reversed(shape))):
        raise RuntimeError(f"{name}(): input of shape {input.shape} does not broadcast to the product's shape {shape}")
    out = product if alpha == 1 else product * alpha
    if beta != 0:  # else input ignored, as PyTorch (nan * 0 must not leak in)
        out = out + (input if beta == 1 else input * beta)
    return rename_node(out, name.capitalize())


@autocast_op(LOWER)
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` for matrices ``mat1`` (n, m) and ``mat2`` (m, p)."""
    _need("addmm", mat1=(mat1, 2), mat2=(mat2, 2))
    return _scaled_sum("addmm", input, matmul(mat1, mat2), beta, alpha)


@autocast_op(LOWER)
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``: the batch of products summed."""
    _need("addbmm", batch1=(batch1, 3), batch2=(batch2, 3))
    _same_batch("addbmm", batch1, batch2)
    return _scaled_sum("addbmm", input, matmul(batch1, batch2).sum(0), beta, alpha)


@autocast_op(LOWER)
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)``, one product per batch entry."""
    _need("baddbmm", batch1=(batch1, 3), batch2=(batch2, 3))
    _same_batch("baddbmm", batch1, batch2)
    return _scaled_sum("baddbmm", input, matmul(batch1, batch2), beta, alpha)


def _same_batch(name: str, a: Tensor, b: Tensor) -> None:
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"{name}(): batch1 and batch2 must have the same batch size, got {a.shape} and {b.shape}")


@autocast_op({"cuda": LOWER})
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)`` for a matrix and a vector."""
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


def addmv_(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``input.addmv_(mat, vec)``: ``addmv`` written into ``input`` (PyTorch also has it as a function)."""
    return input.addmv_(mat, vec, beta=beta, alpha=alpha)


@autocast_op({"cuda": LOWER})
def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``."""
    _need("addr", vec1=(vec1, 1), vec2=(vec2, 1))
    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha)


@autocast_op({"cuda": LOWER})
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
    """The dot product of two 1-D tensors with the first conjugated, ``sum(conj(input) * other)``, as
    ``torch.vdot`` (the same as :func:`dot` for real tensors)."""
    _need("vdot", input=(input, 1), other=(other, 1))
    if input.shape != other.shape:
        raise RuntimeError(f"vdot(): the vectors must have the same size, got {input.shape} and {other.shape}")
    return rename_node(matmul(conj_if_complex(input), other), "Vdot")


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


@autocast_op({"cpu": FLOAT32})
def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix (integers sum in int64, as ``sum``)."""
    _need("trace", input=(input, 2))
    return rename_node(diagonal(input).sum(), "Trace")


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: every element of ``input`` times the whole of ``other``, laid out blockwise
    (the shorter shape padded with leading 1s)."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("kron(): both arguments must be Tensors")
    n = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (n - input.ndim) + input.shape)
    b = other.reshape((1,) * (n - other.ndim) + other.shape)
    spread_a = sum(((m, 1) for m in a.shape), ())
    spread_b = sum(((1, m) for m in b.shape), ())
    out = (a.reshape(spread_a) * b.reshape(spread_b)).reshape(tuple(p * q for p, q in zip(a.shape, b.shape)))
    return rename_node(out, "UnsafeView")  # PyTorch's kron ends in an unsafe view


def _vectors(name: str, tensors) -> tuple:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor) or t.ndim != 1:
            got = t.shape if isinstance(t, Tensor) else type(t).__name__
            raise RuntimeError(f"{name}(): expects 1-D tensors, argument {i} is {got}")
    return tensors


def cartesian_prod(*tensors) -> Tensor:
    """All tuples of one element from each 1-D tensor, as rows (``itertools.product`` order); a single
    tensor comes back as it is, as PyTorch."""
    tensors = _vectors("cartesian_prod", tensors)
    if not tensors:
        raise RuntimeError("cartesian_prod(): expects at least one tensor")
    if len(tensors) == 1:
        return tensors[0]
    return stack([g.reshape(-1) for g in meshgrid(*tensors, indexing="ij")], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of the elements of a 1-D tensor as rows (``itertools.combinations``
    order, or ``combinations_with_replacement``); no rows when there are none."""
    (input,) = _vectors("combinations", (input,))
    if r < 0:
        raise RuntimeError(f"combinations(): r must be non-negative, got {r}")
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(range(input.shape[0]), r))
    if r == 0 or not rows:
        return input[:0] if r == 0 else input[:0].reshape(0, r)
    index = Tensor(rows, dtype=_dt.int64, device=input._device)
    return stack([input[index[:, k]] for k in range(r)], 1)


def vander(x: Tensor, N=None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a 1-D tensor: columns ``x**(N-1), ..., x**0`` (reversed when
    ``increasing``); ``N`` defaults to ``len(x)``. Integers stay int64, as PyTorch."""
    (x,) = _vectors("vander", (x,))
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError(f"vander(): N must be non-negative, got {N}")
    if x.dtype.kind in "bu" or (x.dtype.kind == "i" and x.dtype.itemsize < 8):
        x = x.to(_dt.int64)
    column = x.reshape(-1, 1)
    if n == 0:
        return column[:, :0]
    powers = cat([ones_like(column), column.expand(x.shape[0], n - 1)], 1).cumprod(1)
    return powers if increasing else powers.flip(1)


def _norm_over(d: Tensor, p, dim) -> Tensor:
    if not isinstance(p, numbers.Real) or p < 0:
        raise RuntimeError(f"the norm's p must be a non-negative number, got {p!r}")
    return vector_norm(d, p, dim)


def dist(input: Tensor, other: Tensor, p=2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast), over all elements (recorded as PyTorch's one node)."""
    return rename_node(_norm_over(input - other, p, None), "Dist")


# PyTorch's compute modes: whether p=2 distances come from a matrix product (None: when either side has > 25 rows)
_CDIST_MM = {"use_mm_for_euclid_dist_if_necessary": None, "use_mm_for_euclid_dist": True,
             "donot_use_mm_for_euclid_dist": False}


@autocast_op(FLOAT32)
def cdist(x1: Tensor, x2: Tensor, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The ``p``-norm distance between each row of ``x1`` (..., P, M) and each row of ``x2`` (..., R, M):
    shape (..., P, R). As PyTorch, p=2 distances of more than 25 rows (or with ``compute_mode=
    "use_mm_for_euclid_dist"``) come from a matrix product, ``|a|^2 + |b|^2 - 2 a.b`` clamped at 0 (fast, less
    exact for near points), the others from the differences; a zero distance has gradient 0, and of equal largest
    coordinates (p=inf) each gets the whole gradient."""
    if not isinstance(x1, Tensor) or not isinstance(x2, Tensor):
        raise TypeError("cdist(): x1 and x2 must be Tensors")
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist(): x1 and x2 need at least 2 dimensions, got {x1.shape} and {x2.shape}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist(): x1 and x2 must have the same number of columns, got {x1.shape} and {x2.shape}")
    if x1.dtype.kind != "f" or x2.dtype.kind != "f":
        raise RuntimeError(f"cdist(): needs floating tensors, got {x1.dtype.name} and {x2.dtype.name}")
    if x1.dtype is not x2.dtype:
        raise RuntimeError(f"cdist(): x1 and x2 must have the same dtype, got {x1.dtype.name} and {x2.dtype.name}")
    if compute_mode not in _CDIST_MM:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    use_mm = _CDIST_MM[compute_mode]
    if p == 2 and (use_mm or (use_mm is None and max(x1.shape[-2], x2.shape[-2]) > 25)):
        return rename_node(_euclidean_by_matmul(x1, x2), "View")  # PyTorch's: its product, reshaped
    if p == 2:
        return rename_node(_Euclidean.apply(x1, x2), "Cdist")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return rename_node(_LargestGap.apply(diff) if p == math.inf else _norm_over(diff, p, -1), "Cdist")


def _euclidean_by_matmul(x1: Tensor, x2: Tensor) -> Tensor:
    """p=2 ``cdist`` as PyTorch's ``_euclidean_dist``: one product of the rows extended by their squared norms
    and ones; where the squared distance is not positive the distance is 0 and so is its gradient."""
    n1, n2 = (x1 * x1).sum(-1, keepdim=True), (x2 * x2).sum(-1, keepdim=True)
    squared = matmul(cat([x1 * -2, n1, ones_like(n1)], -1), cat([x2, ones_like(n2), n2], -1).mT)
    flat = (squared <= 0).detach()  # not NaN: that stays
    return where(flat, 0.0, where(flat, 1.0, squared).sqrt())


_BLOCK = 1 << 18  # numbers of differences per block of _Euclidean's forward


class _Euclidean(Function):
    """p=2 distances from the differences (exact for near points, as PyTorch's direct form): ``cdist(x1, x2)``,
    or with ``pairs`` (``x1`` and ``x2`` the same (N, M) rows) ``pdist``'s upper triangle, row after row. A block
    of rows at a time, so no array of all differences exists. Backward needs no differences either: with ``w =
    g / d`` (0 where ``d`` is 0, as PyTorch) as an (P, R) matrix (pdist: zero below the diagonal), row i of ``x1``
    gets ``sum_j w_ij (x1_i - x2_j)`` = ``rowsum(w) x1 - w @ x2`` and ``x2`` the transposed: two matrix products
    (pdist over 512 rows of 64, fwd+bwd: 105 -> 10 ms, torch 3); their rounding is relative to the rows' norms rather
    than to their differences."""

    def forward(self, x1, x2, pairs=False):
        xp, native = self.xp, self.device.native
        self.pairs = pairs
        step = max(1, _BLOCK // max(1, x2.shape[-2] * x2.shape[-1]))
        pieces = []
        rows = x1.shape[-2]
        for s in range(0, rows, step):
            right = x2[..., s + 1 if pairs else 0:, :]
            diff = x1[..., s:min(s + step, rows), None, :] - right[..., None, :, :]
            d = xp.sqrt(xp.vecdot(diff, diff))  # NumPy: 2.5x faster than sum(diff * diff)
            if pairs:  # row s + i against rows s + 1 + j, j >= i
                d = d[xp.arange(d.shape[1], device=native) >= xp.arange(d.shape[0], device=native)[:, None]]
            pieces.append(d)
        if pieces:
            out = xp.concat(pieces, axis=-1 if pairs else -2) if len(pieces) != 1 else pieces[0]
        else:  # no rows in x1 (pdist has two at least)
            shape = xp.broadcast_shapes(x1.shape[:-2], x2.shape[:-2]) + (0, x2.shape[-2])
            out = xp.zeros(shape, dtype=x1.dtype, device=native)
        if out.dtype != x1.dtype:  # NumPy's bfloat16 (ml_dtypes) vecdot gives float32
            out = xp.astype(out, x1.dtype)
        self.save_for_backward(x1, x2, out)
        return out

    def backward(self, g):
        x1, x2, d = self.saved_tensors
        flat = (d == 0).detach()
        w = where(flat, 0.0, g / where(flat, 1.0, d))
        if self.pairs:
            n = x1.shape[0]
            rows, cols = triu_indices(n, n, 1, device=w.device)
            # scatter_add, not scatter: the positions are distinct, no sorting out of repeated ones
            w = zeros(n * n, dtype=w.dtype, device=w.device).scatter_add(0, rows * n + cols, w).reshape(n, n)
        g1 = w.sum(-1, keepdim=True) * x1 - matmul(w, x2)
        g2 = w.sum(-2).unsqueeze(-1) * x2 - matmul(w.mT, x1)
        return unbroadcast(g1, x1.shape), unbroadcast(g2, x2.shape)


class _LargestGap(Function):
    """The largest absolute coordinate of ``diff`` (the p=inf distance) over the last axis; as PyTorch's cdist,
    every coordinate that reaches it gets the whole gradient (``amax`` shares it among them)."""

    def forward(self, diff):
        xp = self.xp
        out = xp.max(xp.abs(diff), axis=-1) if diff.shape[-1] else xp.zeros(
            diff.shape[:-1], dtype=diff.dtype, device=self.device.native)
        self.save_for_backward(diff, out)
        return out

    def backward(self, g):
        diff, out = self.saved_tensors
        out = out.unsqueeze(-1)
        return g.unsqueeze(-1) * diff.sign() * (diff.abs() == out).to(diff.dtype)


def pdist(input: Tensor, p=2) -> Tensor:
    """The ``p``-norm distances between the rows of an (N, M) matrix, each pair ``i < j`` once, in row-major
    order (the upper triangle of ``cdist(input, input)`` without its diagonal). ``p`` is checked even when there
    is no pair; p=inf is ``cdist``'s: every coordinate that reaches the largest gap gets the whole gradient (not a
    share of it) and M=0 columns give zeros, as PyTorch."""
    _need("pdist", input=(input, 2))
    if not isinstance(p, numbers.Real) or p < 0:
        raise RuntimeError(f"pdist only supports non-negative p values, got {p!r}")
    n = input.shape[0]
    if n < 2:
        return rename_node(input[:0, 0], "Pdist")
    if p == 2:
        return rename_node(_Euclidean.apply(input, input, pairs=True), "Pdist")
    rows, cols = triu_indices(n, n, 1, device=input._device)
    diff = input[rows] - input[cols]
    return rename_node(_LargestGap.apply(diff) if p == math.inf else _norm_over(diff, p, -1), "Pdist")


def renorm(input: Tensor, p, dim: int, maxnorm) -> Tensor:
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled by ``maxnorm / (norm + 1e-7)``
    (PyTorch's guard against 0), so its norm becomes about ``maxnorm``; the other slices unchanged."""
    if not isinstance(input, Tensor):
        raise TypeError(f"renorm(): input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise RuntimeError(f"renorm(): needs at least 2 dimensions, got shape {input.shape}")
    if maxnorm < 0:
        raise RuntimeError(f"renorm(): maxnorm must be non-negative, got {maxnorm}")
    d = _dim(dim, input.ndim, "renorm")
    norms = _norm_over(input, p, tuple(i for i in range(input.ndim) if i != d)).reshape(
        tuple(n if i == d else 1 for i, n in enumerate(input.shape)))
    over = (norms > maxnorm).detach()
    scale = (maxnorm / (norms + 1e-7)) * over.to(norms.dtype) + (~over).to(norms.dtype)
    return rename_node(input * scale, "Renorm")


METHODS = {name: globals()[name] for name in __all__ if name not in (
    "addmv_", "chain_matmul", "cartesian_prod", "combinations", "vander", "cdist", "pdist")}  # as torch.Tensor
INPLACE = ["addmm", "addbmm", "baddbmm", "addmv", "addr", "renorm"]
