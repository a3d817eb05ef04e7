"""Linear algebra: matrix products, ``einsum``, inverses, decompositions and norms.

Forwards call the backend once (``xp.matmul``, ``xp.linalg.*``, ``backend.einsum``);
backwards are the usual matrix-calculus formulas written in lucid ops, so
``create_graph=True`` gives higher-order gradients. Names and semantics follow PyTorch;
``lucid.linalg`` re-exports the ``torch.linalg``-style functions.

Gradients of the decompositions assume what PyTorch assumes: ``inv``/``det``/``solve``
need an invertible matrix, ``cholesky`` a symmetric positive-definite one (its gradient is
the symmetric one, so differentiate through a symmetric input), ``qr`` a matrix of full
rank, ``svd`` distinct non-zero singular values (terms that would divide by zero are
dropped, which is exact when the loss depends on the singular values only). Complex inputs follow PyTorch:
the backwards use conjugate transposes (``mH``, the plain transpose of a real matrix, so real inputs pay
nothing), and the phase of complex singular/eigen vectors must not matter to the loss (checked in backward).
"""

from __future__ import annotations

import functools
import math
import string
from collections import Counter

from .. import dtypes as _dt
from .._backend.numpy_backend import float_errors_quiet
from .._tensor import Tensor
from ..amp.autocast import autocast_op, casts_for
from ..autograd import function as _function
from ..autograd import grad_mode
from ..autograd.function import FLOAT32, LOWER, PROMOTE, Function, rename_node
from ..return_types import return_type
from . import _axes
from ._names import with_parameter_names
from .arithmetic import _coerce, unbroadcast
from .complexes import conj_if_complex
from .shape import _dims, cat, movedim

__all__ = ["matmul", "mm", "bmm", "dot", "outer", "tensordot", "einsum", "inverse", "det", "slogdet", "norm"]


class LinAlgError(RuntimeError):
    """A matrix the operation cannot handle numerically (singular, not positive-definite, ...)."""


SlogdetResult = return_type("linalg_slogdet", ["sign", "logabsdet"])
QRResult = return_type("linalg_qr", ["Q", "R"])
SVDResult = return_type("linalg_svd", ["U", "S", "Vh"])


# ---- helpers ------------------------------------------------------------------------------


def _constant(x: Tensor, array) -> Tensor:
    return Tensor._make(array, x._device)


def _eye(x: Tensor, n: int) -> Tensor:
    """The ``n x n`` identity as a constant with ``x``'s dtype and device."""
    return _constant(x, x.xp.eye(n, dtype=x._data.dtype, device=x._device.native))


def _diag_embed(v: Tensor) -> Tensor:
    """Vectors ``(..., k)`` as diagonal matrices ``(..., k, k)``."""
    k = v.shape[-1]
    return v.reshape(v.shape[:-1] + (1, k)) * _eye(v, k)


def _nonzero(x: Tensor) -> Tensor:
    """``x`` with its zeros replaced by ones, for divisions whose numerator is zero there."""
    return x + (x == 0).to(x.dtype)


def _as_tensors(name, a, b):
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            raise TypeError(f"{name} needs Tensor operands, got {type(a).__name__} and {type(b).__name__}")
        a, b = (a, _coerce(b, a)) if isinstance(a, Tensor) else (_coerce(a, b), b)
    if a._data.dtype != b._data.dtype and not casts_for(a):
        raise RuntimeError(
            f"{name} needs both operands to have the same dtype, got {a.dtype.name} and {b.dtype.name}; "
            f"cast one with .to(dtype)"
        )
    return a, b


def _broadcast_batch(s: tuple, t: tuple, what: str) -> tuple:
    """The broadcast of two batch shapes, or a RuntimeError naming ``what``."""
    n = max(len(s), len(t))
    s, t = (1,) * (n - len(s)) + tuple(s), (1,) * (n - len(t)) + tuple(t)
    out = []
    for x, y in zip(s, t):
        if x != y and 1 not in (x, y):
            raise RuntimeError(f"{what}: batch dimensions {s} and {t} do not broadcast")
        out.append(max(x, y) if 0 not in (x, y) else 0)
    return tuple(out)


def _check_tensor(name: str, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} expects a Tensor, got {type(x).__name__}; wrap it first: lucid.tensor(...)")


def _check_float(name: str, x: Tensor, kinds: str = "f") -> None:
    _check_tensor(name, x)
    if x.dtype.kind not in kinds:
        raise TypeError(f"{name} needs a {'floating or complex' if 'c' in kinds else 'floating'} tensor, got "
                        f"{x.dtype.name}; cast it first, e.g. x.double()")


def _check_matrix(name: str, x: Tensor, square: bool = True, kinds: str = "fc") -> None:
    _check_float(name, x, kinds)
    if x.ndim < 2 or (square and x.shape[-1] != x.shape[-2]):
        kind = "square matrices (shape (*, n, n))" if square else "matrices (shape (*, m, n))"
        raise RuntimeError(f"{name} needs a batch of {kind}, got shape {x.shape}")


def _xp_mH(xp, a):
    """The conjugate transpose of a raw array (just the transpose of a real one: no copy)."""
    t = xp.matrix_transpose(a)
    return xp.conj(t) if xp.isdtype(a.dtype, "complex floating") else t


def _skew(x: Tensor) -> Tensor:
    """``x - x^H``: twice the skew-Hermitian part, the tangent direction of a unitary factor."""
    return x - x.mH


def _check_phase_free(a: Tensor, b, name: str, vectors: str) -> None:
    """Raise, as PyTorch does, where a complex decomposition's loss depends on the arbitrary phase of its
    ``vectors``: ``a`` (imaginary parts of a diagonal) must equal ``b`` (a Tensor, or None for zero) to PyTorch's
    lax tolerance (``allclose`` with rtol = atol = 1e-2). One host read, on the complex path only."""
    xp = a.xp
    gap, bound = (xp.abs(a._data), 1e-2) if b is None else (xp.abs(a._data - b._data), 1e-2 + 1e-2 * xp.abs(b._data))
    if not bool(xp.all(gap <= bound)):
        raise RuntimeError(
            f"{name} backward: complex {vectors} are defined only up to a phase e^(i phi) each, and the loss "
            f"depends on that phase, so its gradient is not defined; use a loss of phase-free quantities "
            f"(e.g. abs() of the {vectors}, or products like U @ Vh)")


def _lapack(name: str, fn, x, *args, **kwargs):
    """Call a backend linalg routine, turning its numerical failure into a LinAlgError."""
    try:
        return fn(x, *args, **kwargs)
    except ValueError as e:  # numpy.linalg.LinAlgError is a ValueError
        raise LinAlgError(f"{name} failed on an input of shape {tuple(x.shape)}: {e}") from e


# ---- products -----------------------------------------------------------------------------
def _matmul_error(sa: tuple, sb: tuple) -> RuntimeError:
    if not sa or not sb:
        return RuntimeError(f"matmul needs operands of at least 1 dimension, got shapes {sa} and {sb}")
    k_a, k_b = sa[-1], (sb[-2] if len(sb) > 1 else sb[0])
    if k_a != k_b:
        return RuntimeError(
            f"matmul: shapes {sa} and {sb} cannot be multiplied (the last dimension of the first, {k_a}, "
            f"must equal the {'second-to-last' if len(sb) > 1 else 'only'} dimension of the second, {k_b})"
        )
    _broadcast_batch(sa[:-2], sb[:-2], f"matmul of shapes {sa} and {sb}")
    return RuntimeError(f"matmul: shapes {sa} and {sb} cannot be multiplied")


class MatMul(Function):
    """``a @ b`` with NumPy/PyTorch semantics (1-D operands, broadcast batch dimensions)."""
    autocast_policy = LOWER  # see lucid.amp.autocast

    def forward(self, a, b):
        self.save_for_backward(a, b)
        xp = self.xp
        try:
            if b.ndim == 2 and a.ndim > 2:  # (..., k) @ (k, p) as one 2-D GEMM: 2x faster on NumPy
                lead = a.shape[:-1]
                out = xp.reshape(xp.matmul(xp.reshape(a, (math.prod(lead), a.shape[-1])), b), lead + (b.shape[1],))
            else:
                out = xp.matmul(a, b)
            needs = bool(self.needs_input_grad) and self.needs_input_grad[0]
            self.torch_name, self.torch_overload = _matmul_node(a.shape, b.shape, needs)
            return out if out.dtype == a.dtype else xp.astype(out, a.dtype)  # ml_dtypes' bfloat16 GEMM: float32
        except (ValueError, TypeError) as e:
            raise _matmul_error(tuple(a.shape), tuple(b.shape)) from e

    def backward(self, g):
        a, b = self.saved_tensors
        need = self.needs_input_grad
        # 1-D operands as a row (a) / column (b) matrix; g gets the dimensions they lost
        a2 = a if a.ndim > 1 else a.reshape(1, a.shape[0])
        b2 = b if b.ndim > 1 else b.reshape(b.shape[0], 1)
        if a.ndim == 1 or b.ndim == 1:
            shape = g.shape + (1,) if b.ndim == 1 else g.shape
            g = g.reshape(shape[:-1] + (1, shape[-1]) if a.ndim == 1 else shape)
        ga = gb = None
        a2, b2 = conj_if_complex(a2), conj_if_complex(b2)
        if need[0]:
            ga = unbroadcast(matmul(g, b2.mT), a2.shape).reshape(a.shape)
        if need[1]:
            if b2.ndim == 2 and g.ndim > 2:  # sum over the batch inside one GEMM
                (k, p), rows = b2.shape, math.prod(g.shape[:-1])  # rows, not -1: k or p may be 0
                gb = matmul(a2.reshape(rows, k).mT, g.reshape(rows, p))
            else:
                gb = unbroadcast(matmul(a2.mT, g), b2.shape)
            gb = gb.reshape(b.shape)
        return ga, gb


def _matmul_node(sa: tuple, sb: tuple, a_needs_grad: bool) -> tuple:
    """PyTorch's node (name, overload) for operands of shapes ``sa`` and ``sb``: its dot / mv / mm, the squeeze of a
    row vector's product, the unsafe view of a batched product. A matrix (or a 3-D batch of one against a batch of
    several) times a batch is folded into one mm when the matrix needs a gradient, and that mm's transposed result
    copied: Clone, or Transpose where the transpose is contiguous as it is (one row or one column)."""
    n, m = len(sa), len(sb)
    if n <= 2 and m <= 2:
        return (("Dot", 0), ("Squeeze", 4), ("Mv", 0), ("Mm", 0))[(n == 2) * 2 + (m == 2)]
    if not (a_needs_grad and m >= 3 and (n == 2 or n == m == 3 and sa[0] == 1 != sb[0])):
        return "UnsafeView", 0
    return ("Transpose" if 1 in (sa[-2], sb[-1]) else "Clone"), 0


def matmul(input, other) -> Tensor:
    """Matrix product with PyTorch's rules: 1-D·1-D is a dot product, a 1-D operand is a
    row/column vector whose dimension is removed from the result, batch dimensions broadcast.
    Operands must share a dtype (as in PyTorch)."""
    if not (isinstance(input, Tensor) and isinstance(other, Tensor)):
        input, other = _as_tensors("matmul", input, other)
    elif input._sparse or other._sparse:  # a sparse operand: lucid.sparse's gather/scatter-add product
        return (input if input._sparse else other)._sparse_matmul(input, other)
    elif input._data.dtype != other._data.dtype:
        input, other = _as_tensors("matmul", input, other)
    return MatMul.apply(input, other)


def _rmatmul(b, other) -> Tensor:
    return matmul(other, b)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (2-D only, no broadcasting, as ``torch.mm``)."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm needs two matrices (2-D), got shapes {input.shape} and {mat2.shape}")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched product of ``(B, n, k)`` and ``(B, k, p)`` (3-D, equal batch sizes, as ``torch.bmm``)."""
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise RuntimeError(
            f"bmm needs two 3-D tensors with the same batch size, got shapes {input.shape} and {mat2.shape}"
        )
    return rename_node(matmul(input, mat2), "Bmm")


@autocast_op({"cuda": PROMOTE})
def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same length (a 0-d tensor)."""
    if input.ndim != 1 or other.ndim != 1 or input.shape != other.shape:
        raise RuntimeError(f"dot needs two 1-D tensors of the same length, got shapes {input.shape} and {other.shape}")
    return matmul(input, other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors: ``out[i, j] = input[i] * vec2[j]``."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer needs two 1-D tensors, got shapes {input.shape} and {vec2.shape}")
    return input.reshape(input.shape[0], 1) * vec2.reshape(1, vec2.shape[0])


@autocast_op(LOWER)
def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """Dot products of vectors along ``dim`` (other dimensions broadcast), as ``torch.linalg.vecdot``: ``x`` is
    conjugated, ``sum(conj(x) * y)``, so ``vecdot(x, x)`` of a complex ``x`` is its squared norm."""
    _check_tensor("linalg.vecdot", x)
    _check_tensor("linalg.vecdot", y)
    try:
        _broadcast_batch(x.shape, y.shape, "linalg.vecdot")
    except RuntimeError:
        raise RuntimeError(f"linalg.vecdot: shapes {x.shape} and {y.shape} do not broadcast (trailing dimensions must "
                           f"be equal or 1)") from None
    return (conj_if_complex(x) * y).sum(dim=dim)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract ``a`` and ``b`` over ``dims``: an int (the last ``dims`` axes of ``a`` with the
    first ``dims`` of ``b``) or a pair of axis lists, as ``torch.tensordot``. Uses ``einsum``."""
    if isinstance(dims, int):
        if not 0 <= dims <= min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot: dims={dims} is out of range for shapes {a.shape} and {b.shape}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        if len(dims) != 2:
            raise RuntimeError(f"tensordot: dims must be an int or a pair of axis lists, got {dims!r}")
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        if len(da) != len(db):
            raise RuntimeError(
                f"tensordot: dims {dims} name {len(da)} axes of the first tensor and {len(db)} of the second"
            )
        da, db = _dims(da, a.ndim, "tensordot"), _dims(db, b.ndim, "tensordot")
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(
                f"tensordot: contracted dimensions differ: {a.shape[i]} (dim {i} of shape {a.shape}) vs "
                f"{b.shape[j]} (dim {j} of shape {b.shape})"
            )
    letters = string.ascii_letters
    sa = letters[: a.ndim]
    sb = list(letters[a.ndim : a.ndim + b.ndim])
    for i, j in zip(da, db):
        sb[j] = sa[i]
    out = [sa[i] for i in range(a.ndim) if i not in da] + [sb[j] for j in range(b.ndim) if j not in db]
    return rename_node(einsum(f"{sa},{''.join(sb)}->{''.join(out)}", a, b), "View")  # PyTorch's: a reshaped mm


def _split_subscripts(equation: str, count: int) -> tuple:
    """``equation`` without spaces, its operands' subscripts and the output's (None when implicit), after
    checking that it names ``count`` operands and uses only letters and at most one ``...`` per operand."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != count:
        raise ValueError(
            f"einsum(): {equation!r} has subscripts for {len(inputs)} operands, but {count} were given"
        )
    for s in inputs + [rhs]:
        if set(s.replace("...", "", 1)) - set(string.ascii_letters):
            raise ValueError(
                f"einsum(): bad subscripts {s!r} in {equation!r}: use letters and at most one '...' per operand"
            )
    return eq, inputs, rhs if arrow else None


def _expand_ellipses(eq: str, inputs: list, shapes: tuple) -> tuple:
    """Each operand's ``...`` replaced by letters ``eq`` does not use, right-aligned as broadcasting aligns
    dimensions. Returns the subscripts and the letters of all the broadcast dimensions."""
    spare = [c for c in string.ascii_letters if c not in eq]
    spans = []
    for s, shape in zip(inputs, shapes):
        n = len(shape) - (len(s) - 3 if "..." in s else len(s))
        if n < 0 or (n and "..." not in s):
            raise ValueError(f"einsum(): subscripts {s!r} do not match an operand of shape {shape}")
        spans.append(n)
    ell = "".join(spare[: max(spans)])
    return tuple(s.replace("...", ell[len(ell) - n :]) for s, n in zip(inputs, spans)), ell


def _einsum_output(equation: str, subs: tuple, rhs, ell: str) -> str:
    """The output subscripts: ``rhs`` with its ``...`` expanded or, when implicit (None), the broadcast
    dimensions then the letters seen once, in alphabetical order; checked to be distinct and known."""
    if rhs is not None:
        out = rhs.replace("...", ell)
    else:
        counts = Counter("".join(subs))
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    if len(set(out)) != len(out) or set(out) - set("".join(subs)):
        raise ValueError(f"einsum(): output subscripts of {equation!r} repeat a letter or use one no operand has")
    return out


def _letter_sizes(equation: str, subs: tuple, shapes: tuple) -> dict:
    """The size of each letter, checking that its dimensions agree or broadcast (size 1) across operands
    and are equal within one operand (a diagonal)."""
    sizes = {}
    for i, (s, shape) in enumerate(zip(subs, shapes)):
        for c, n in zip(s, shape):
            m = sizes.get(c, 1)
            if (n != m and 1 not in (n, m)) or (s.count(c) > 1 and n != shape[s.index(c)]):
                raise ValueError(
                    f"einsum(): subscript {c!r} has size {n} in operand {i} (shape {shape}), which does not "
                    f"match size {m} seen before in {equation!r}"
                )
            if m == 1:
                sizes[c] = n
    return sizes


@functools.lru_cache(maxsize=1024)
def _einsum_plan(equation: str, shapes: tuple):
    """Parse ``equation`` for operands of ``shapes``: ellipses become spare letters, an
    implicit output becomes explicit. Returns (equation, input subscripts, output, sizes, shapes
    the operands broadcast to)."""
    eq, inputs, rhs = _split_subscripts(equation, len(shapes))
    subs, ell = _expand_ellipses(eq, inputs, shapes)
    out = _einsum_output(equation, subs, rhs, ell)
    sizes = _letter_sizes(equation, subs, shapes)
    targets = tuple(tuple(sizes[c] for c in s) for s in subs)
    return ",".join(subs) + "->" + out, subs, out, sizes, targets


class Einsum(Function):

    def forward(self, *arrays, plan):
        self.save_for_backward(*arrays)
        self.plan = plan
        self.torch_name, self.torch_overload = _einsum_node(plan[1], plan[2])
        xp = self.xp
        arrays = [a if a.shape == t else xp.broadcast_to(a, t) for a, t in zip(arrays, plan[4])]
        return self.backend.einsum(plan[0], *arrays)

    def backward(self, g):
        ops = self.saved_tensors
        _, subs, out, sizes, _ = self.plan
        return tuple(_einsum_grad(g, ops, i, subs, out, sizes) if need else None
                     for i, need in enumerate(self.needs_input_grad))


def _einsum_node(subs: tuple, out: str) -> tuple:
    """PyTorch's node (name, overload) of an einsum of operands ``subs`` into ``out``, which it computes in steps:
    one operand ends in a sum over the letters it drops (else a permute), several in the view of a batched
    product where a letter is summed (else a product)."""
    summed = set("".join(subs)) - set(out)
    if len(subs) == 1:
        return ("Sum", 1) if summed else ("Permute", 0)
    return ("View" if summed else "Mul"), 0


def _einsum_grad(g, ops, i, subs, out, sizes):
    """Gradient for operand ``i``: einsum of the output gradient with the other operands,
    broadcast over letters only operand ``i`` has, and put on the diagonals of its repeated letters."""
    sub = subs[i]
    unique = "".join(dict.fromkeys(sub))
    others = [out] + [s for j, s in enumerate(subs) if j != i]
    kept = "".join(c for c in unique if c in "".join(others))
    grad = einsum(",".join(others) + "->" + kept, g, *(conj_if_complex(t) for j, t in enumerate(ops) if j != i))
    if kept != unique:
        grad = grad.reshape(tuple(sizes[c] if c in kept else 1 for c in unique)).expand(tuple(sizes[c] for c in unique))
    if unique != sub:  # a repeated letter: grad lives on the diagonal, placed by identity matrices
        spare = iter(c for c in string.ascii_letters if c not in "".join(subs) + out)
        seen, target, eyes, pairs = set(), "", [], []
        for c in sub:
            if c in seen:
                f = next(spare)
                target += f
                pairs.append(c + f)
                eyes.append(_eye(grad, sizes[c]))
            else:
                seen.add(c)
                target += c
        grad = einsum(",".join([unique] + pairs) + "->" + target, grad, *eyes)
    return unbroadcast(grad, ops[i].shape)


def _sublist_form(args: tuple) -> tuple:
    """``(equation, operands)`` of einsum's sublist form, ``einsum(a, [0, 1], b, [1, 2], [0, 2])``: each
    operand followed by its dimensions as ints in 0..51 (letters a-z, A-Z) or ``...``, then optionally the
    output's."""
    def letters(dims) -> str:
        if not all(d is Ellipsis or isinstance(d, int) and 0 <= d < 52 for d in dims):
            raise ValueError(f"einsum(): sublist entries must be ints in [0, 52) or ..., got {list(dims)}")
        return "".join("..." if d is Ellipsis else string.ascii_letters[d] for d in dims)

    output = args[-1] if len(args) % 2 else None
    pairs = args[:-1] if output is not None else args
    equation = ",".join(letters(dims) for dims in pairs[1::2])
    return (equation if output is None else f"{equation}->{letters(output)}"), pairs[0::2]


@autocast_op(LOWER)
def einsum(equation, *operands) -> Tensor:
    """Einstein summation, as ``torch.einsum``: explicit (``'ij,jk->ik'``) or implicit
    (``'ij,jk'``: letters seen once, alphabetically) output, ``...`` for broadcast dimensions,
    size-1 dimensions broadcast, repeated letters in one operand take diagonals (``'ii->i'``,
    ``'ii'`` for the trace). Operands may also be given as one list, or everything in the sublist form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``."""
    if isinstance(equation, Tensor):
        equation, operands = _sublist_form((equation, *operands))
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands or not all(isinstance(t, Tensor) for t in operands):
        raise TypeError(f"einsum needs one or more Tensor operands, got {[type(t).__name__ for t in operands]}")
    dtypes = {t.dtype.name for t in operands}
    if len(dtypes) > 1:
        raise RuntimeError(f"einsum needs operands of one dtype, got {sorted(dtypes)}; cast them first")
    plan = _einsum_plan(equation, tuple(t.shape for t in operands))
    return Einsum.apply(*operands, plan=plan)


# ---- inverses and determinants ----------------------------------------------------------
class Inv(Function):
    autocast_policy = {"cpu": FLOAT32}  # see lucid.amp.autocast (CPU only, as PyTorch)
    torch_name = "LinalgInvEx"  # PyTorch's node (its inv is inv_ex, checked)

    def forward(self, a):
        out = _lapack("linalg.inv", self.xp.linalg.inv, a)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        (y,) = self.saved_tensors
        yh = y.mH
        return -matmul(matmul(yh, g), yh)


def inv(A: Tensor) -> Tensor:
    """Inverse of a (batch of) square matrix; raises LinAlgError for a singular one (on the CPU)."""
    _check_matrix("linalg.inv", A)
    return Inv.apply(A)


inverse = with_parameter_names(inv, "inverse", A="input")  # torch.inverse(input) beside torch.linalg.inv(A)


def _with_matrix_dims(v: Tensor) -> Tensor:
    return v.reshape(v.shape + (1, 1))


class Det(Function):
    torch_name = "LinalgDet"

    def forward(self, a):
        xp = self.xp
        with float_errors_quiet():
            out = xp.linalg.det(a)
        # LAPACK's pivoting can step around a NaN entry and report 0; PyTorch's determinant is NaN then
        out = xp.where(xp.any(xp.isnan(a), axis=(-2, -1)), xp.full_like(out, math.nan), out)
        self.save_for_backward(a, out)
        return out

    def backward(self, g):
        a, d = self.saved_tensors
        if not bool(a.xp.any(d._data == 0)):
            return _with_matrix_dims(g * conj_if_complex(d)) * inv(a).mH
        return _det_grad_singular(a, g)


def _det_grad_singular(a: Tensor, g: Tensor) -> Tensor:
    """The gradient of ``det`` for any square ``a``, singular ones included (PyTorch 1.x's formula): with
    ``a = U diag(S) Vh``, the conjugate cofactor matrix is ``conj(det(U Vh)) U diag(prod_{j != i} S_j) Vh``."""
    U, S, Vh = svd(a, full_matrices=False)
    n = S.shape[-1]
    ones = S.narrow(-1, 0, 1) * 0 + 1
    before = cat([ones, S.narrow(-1, 0, n - 1)], dim=-1).cumprod(dim=-1)  # prod_{j < i} S_j
    after = cat([S.narrow(-1, 1, n - 1), ones], dim=-1).flip(-1).cumprod(dim=-1).flip(-1)  # prod_{j > i} S_j
    scale = g * conj_if_complex(det(matmul(U, Vh)))
    return matmul(U * (before * after * scale.reshape(scale.shape + (1,))).reshape(S.shape[:-1] + (1, n)), Vh)


def det(A: Tensor) -> Tensor:
    """Determinant of a (batch of) square matrix (NaN where the matrix has a NaN entry). Its gradient is
    ``det(A) A^-T``; for a batch with a singular matrix, the cofactor matrix through the SVD (one host read
    decides): the true derivative, which PyTorch's older releases gave (2.13 returns zeros there)."""
    _check_matrix("linalg.det", A)
    return Det.apply(A)


class Slogdet(Function):
    torch_name = "LinalgSlogdet"

    def forward(self, a):
        sign, logabsdet = self.xp.linalg.slogdet(a)
        self.save_for_backward(a, sign)
        return sign, logabsdet

    def backward(self, g_sign, g_logabsdet):
        a, sign = self.saved_tensors
        g = g_logabsdet
        if a.dtype.kind == "c":  # the sign's phase moves with Im tr(A^-1 dA) (PyTorch's slogdet_backward)
            g = g - 1j * (g_sign.conj() * sign).imag
        return _with_matrix_dims(g) * inv(a).mH


def slogdet(A: Tensor) -> SlogdetResult:
    """``(sign, logabsdet)`` of the determinant, without overflow. ``logabsdet`` is real; ``sign`` has
    ``A``'s dtype (``det / |det|`` for a complex ``A``, differentiable there as PyTorch's)."""
    _check_matrix("linalg.slogdet", A)
    return SlogdetResult(*Slogdet.apply(A))


# torch.linalg's spelling (A) for lucid.linalg; the top-level torch.det/slogdet take input
linalg_det, linalg_slogdet = det, slogdet
det, slogdet = (with_parameter_names(f, A="input") for f in (linalg_det, linalg_slogdet))


class Solve(Function):
    """``X`` with ``A X = B`` for matrix right-hand sides whose batch dimensions broadcast."""
    autocast_policy = {"cpu": FLOAT32}  # see lucid.amp.autocast (CPU only, as PyTorch)

    def forward(self, a, b, batch):
        xp = self.xp
        a_full = a if a.shape[:-2] == batch else xp.broadcast_to(a, batch + a.shape[-2:])
        b_full = b if b.shape[:-2] == batch else xp.broadcast_to(b, batch + b.shape[-2:])
        out = _lapack("linalg.solve", xp.linalg.solve, a_full, b_full)
        self.save_for_backward(a, b, out)
        return out

    def backward(self, g):
        a, b, x = self.saved_tensors
        gb = solve(a.mH, g)
        ga = -matmul(gb, x.mH) if self.needs_input_grad[0] else None
        return (None if ga is None else unbroadcast(ga, a.shape)), unbroadcast(gb, b.shape)


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """Solve ``A X = B`` (or ``X A = B`` with ``left=False``) for square ``A``. As
    ``torch.linalg.solve``, ``B`` is a (batch of) vector when it is 1-D or has ``A``'s shape
    without its last dimension, else a batch of matrices; batch dimensions broadcast."""
    A, B = _as_tensors("linalg.solve", A, B)
    _check_matrix("linalg.solve", A, kinds="fc")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if not left:  # X A = B  is  A^T X^T = B^T
        return solve(A.mT, B) if vector else solve(A.mT, B.mT).mT
    n = A.shape[-1]
    Bm = B.reshape(B.shape + (1,)) if vector else B
    if Bm.ndim < 2 or Bm.shape[-2] != n:
        raise RuntimeError(f"linalg.solve: A of shape {A.shape} does not fit B of shape {B.shape} (needs {n} rows)")
    batch = _broadcast_batch(A.shape[:-2], Bm.shape[:-2], f"linalg.solve of shapes {A.shape} and {B.shape}")
    X = Solve.apply(A, Bm, batch=batch)
    return X.reshape(X.shape[:-1]) if vector else X


# ---- decompositions -----------------------------------------------------------------------
class Cholesky(Function):
    autocast_policy = {"cpu": FLOAT32}  # see lucid.amp.autocast (CPU only, as PyTorch)
    torch_name = "LinalgCholeskyEx"  # PyTorch's node (its cholesky is cholesky_ex, checked)

    def forward(self, a):
        out = _lapack("linalg.cholesky", self.xp.linalg.cholesky, a)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        (L,) = self.saved_tensors  # PyTorch's cholesky_backward: L^-H phi L^-1
        P = matmul(L.mH, g).tril()
        phi = 0.5 * (P + P.tril(-1).mH)  # Hermitian off the diagonal, with P's diagonal halved
        L_inv = inv(L)
        return matmul(matmul(L_inv.mH, phi), L_inv)


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """Cholesky factor of a Hermitian (symmetric) positive-definite matrix: lower ``L`` with ``A = L L^H``
    (or ``U = L^H`` with ``upper=True``). Reads the lower triangle of ``A``, as LAPACK does."""
    _check_matrix("linalg.cholesky", A)
    L = Cholesky.apply(A)
    return rename_node(L.mH, "LinalgCholeskyEx") if upper else L  # PyTorch's one node, either triangle


def _qr_grad_deep(Q, R, gQ, gR):
    """The QR gradient for ``m >= n`` (Q is m x n, R is n x n), PyTorch's: ``(gQ + Q Y) R^-H`` with ``Y`` the
    Hermitian matrix of ``M = triu(gR R^H - Q^H gQ)`` whose diagonal is ``Re(diag(M))`` (R's is real)."""
    M = (matmul(gR, R.mH) - matmul(Q.mH, gQ)).triu()
    strict = M.triu(1)
    Y = strict + strict.mH + _diag_embed(M.diagonal(0, -2, -1).real)
    return solve(R, (gQ + matmul(Q, Y)).mH).mH  # rhs R^-H


class QR(Function):
    autocast_policy = {"cpu": FLOAT32}  # see lucid.amp.autocast (CPU only, as PyTorch)
    torch_name = "LinalgQr"

    def forward(self, a, mode):
        q, r = self.xp.linalg.qr(a, mode=mode)
        self.complete_tall = mode == "complete" and a.shape[-2] > a.shape[-1]
        self.save_for_backward(a, q, r)
        return q, r

    def backward(self, gQ, gR):
        if self.complete_tall:
            raise RuntimeError("linalg.qr: the gradient of mode='complete' needs m <= n (as PyTorch); use "
                               "mode='reduced'")
        A, Q, R = self.saved_tensors
        m, n = A.shape[-2:]
        if m >= n:
            return _qr_grad_deep(Q, R, gQ, gR)
        # A = [X | Y] with X square: X = Q U, Y = Q V where R = [U | V]
        Y, gU, gV = A.narrow(-1, m, n - m), gR.narrow(-1, 0, m), gR.narrow(-1, m, n - m)
        gX = _qr_grad_deep(Q, R.narrow(-1, 0, m), gQ + matmul(Y, gV.mH), gU)
        return cat([gX, matmul(Q, gV)], dim=-1)


def qr(A: Tensor, mode: str = "reduced") -> QRResult:
    """QR decomposition ``A = Q R`` (Q with orthonormal columns, R upper triangular with a real diagonal), as
    ``torch.linalg.qr``: ``mode`` ``'reduced'``, ``'complete'`` (square Q) or ``'r'`` (Q empty; R still
    differentiable here, where PyTorch refuses). The gradient needs ``A`` of full rank."""
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    _check_matrix("linalg.qr", A, square=False)
    Q, R = QR.apply(A, mode="complete" if mode == "complete" else "reduced")
    if mode == "r":
        Q = _constant(A, A.xp.zeros((0,), dtype=A._data.dtype, device=A._device.native))
    return QRResult(Q, R)


class SVD(Function):
    autocast_policy = {"cpu": FLOAT32}  # see lucid.amp.autocast (CPU only, as PyTorch)
    torch_name = "LinalgSvd"

    def forward(self, a, full_matrices):
        u, s, vh = _lapack("linalg.svd", self.xp.linalg.svd, a, full_matrices=full_matrices)
        self.full = full_matrices and a.shape[-1] != a.shape[-2]
        self.save_for_backward(u, s, vh)
        return u, s, vh

    def backward(self, gU, gS, gVh):
        U, S, Vh = self.saved_tensors
        if self.full:  # the columns of U / rows of Vh past min(m, n) are an arbitrary basis: ignored, as PyTorch
            k = S.shape[-1]
            U, gU, Vh, gVh = U.narrow(-1, 0, k), gU.narrow(-1, 0, k), Vh.narrow(-2, 0, k), gVh.narrow(-2, 0, k)
        m, n = U.shape[-2], Vh.shape[-1]
        UhgU = _skew(matmul(U.mH, gU))
        VhgV = _skew(matmul(Vh, gVh.mH))
        S_row, S_col = S.reshape(S.shape[:-1] + (1, -1)), S.reshape(S.shape + (1,))
        E = S_row * S_row - S_col * S_col  # E[j, k] = S_k^2 - S_j^2
        gA = (UhgU * S_row + S_col * VhgV) / _nonzero(E) + _diag_embed(gS)
        if U.dtype.kind == "c":  # each pair (u_k, v_k) has a free common phase: PyTorch's check and diagonal term
            d_U = UhgU.diagonal(0, -2, -1)
            _check_phase_free(d_U.imag, -VhgV.diagonal(0, -2, -1).imag, "linalg.svd", "singular vectors")
            gA = gA + _diag_embed(d_U / (2 * _nonzero(S)))
        if m > n:
            gUSinv = gU / _nonzero(S_row)
            return matmul(matmul(U, gA) + gUSinv - matmul(U, matmul(U.mH, gUSinv)), Vh)
        if m < n:
            SinvgVh = gVh / _nonzero(S_col)
            return matmul(U, matmul(gA, Vh) + SinvgVh - matmul(matmul(SinvgVh, Vh.mH), Vh))
        return matmul(U, matmul(gA, Vh))


def svd(A: Tensor, full_matrices: bool = True) -> SVDResult:
    """Singular value decomposition ``A = U diag(S) Vh`` (``S`` descending and real), as
    ``torch.linalg.svd``. Differentiable; with ``full_matrices=True`` the gradient ignores the columns of
    ``U`` and rows of ``Vh`` past ``min(m, n)`` (an arbitrary basis of the complement), as PyTorch. For a
    complex ``A`` a loss that depends on the phase of a singular pair raises in backward, as PyTorch."""
    _check_matrix("linalg.svd", A, square=False)
    return SVDResult(*SVD.apply(A, full_matrices=full_matrices))


@autocast_op({"cpu": FLOAT32})
def svdvals(A: Tensor) -> Tensor:
    """Singular values of ``A`` in descending order, real for a complex ``A`` (computed with the vectors when a
    gradient is needed: ``dS = Re diag(U^H dA V)``)."""
    _check_matrix("linalg.svdvals", A, square=False)
    if A.requires_grad and grad_mode.state.enabled or _function.dual_mode is not None:  # (forward AD too)
        return SVD.apply(A, full_matrices=False)[1]
    return _constant(A, _lapack("linalg.svdvals", A.xp.linalg.svdvals, A._data))


# ---- norms --------------------------------------------------------------------------------
class VectorNorm(Function):
    autocast_policy = {"cuda": FLOAT32}  # see lucid.amp.autocast
    torch_name = "LinalgVectorNorm"

    def forward(self, x, ord, axes, keepdims):
        xp = self.xp
        # float16 and bfloat16 (x is real floating here) are computed in float32, as PyTorch: 300² fits there
        half = self.backend.lucid_dtype(x.dtype).itemsize == 2
        with float_errors_quiet():  # 0 ** -1 = inf, inf - inf, overflow: silently, as PyTorch
            out = xp.linalg.vector_norm(xp.astype(x, xp.float32) if half else x, axis=axes, keepdims=keepdims,
                                        ord=ord)
        out = xp.astype(out, x.dtype) if half else out
        self.ord, self.axes, self.keepdims = ord, axes, keepdims
        self.save_for_backward(x, out)
        return out

    def backward(self, g):
        x, norm = self.saved_tensors
        if not self.keepdims:
            g = _axes.expand_reduced(g, x.shape, self.axes)
            norm = _axes.expand_reduced(norm, x.shape, self.axes)
        p = self.ord
        if p == 0:
            return _constant(x, x.xp.zeros_like(x._data))
        if p == 1:
            return g * x.sign()
        if p == 2:
            return x * (g / _nonzero(norm))
        if math.isinf(p):  # shared evenly by the entries that reach the max (min)
            hit = (x.abs() == norm).to(x.dtype)
            return g * x.sign() * hit / hit.sum(dim=self.axes, keepdim=True)
        magnitude = x.abs()
        magnitude = magnitude + (magnitude == 0).to(x.dtype)  # |x|**(p-1) is inf at 0 for p < 1; sign() zeroes it
        out = g * x.sign() * magnitude ** (p - 1) / _nonzero(norm) ** (p - 1)
        # p < 0 with a zero entry: the norm is 0 whatever the other entries are, so its gradient is 0 (PyTorch's)
        return out * (norm != 0).to(x.dtype) if p < 0 else out


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None, axis=None,
                keepdims: bool = False) -> Tensor:
    """The ``ord``-norm of ``x`` over ``dim`` (all dimensions, flattened, when None or ``()``), as
    ``torch.linalg.vector_norm``: ``ord`` is any number, ``inf``, ``-inf`` or 0 (count of non-zeros); ``dtype``
    must be complex for a complex ``x`` and real for a real one (as PyTorch)."""
    dim, keepdim = _axes.pick(dim, axis), _axes.keep(keepdim, keepdims)
    _check_tensor("linalg.vector_norm", x)
    if dim is not None and not isinstance(dim, int) and not len(dim):
        dim = None  # dim=() reduces every dimension, as PyTorch (and lucid's sum)
    x = _norm_input("linalg.vector_norm", x, dtype)
    if x.dtype.kind == "c":  # the norm of the magnitudes (real), as PyTorch; abs's gradient is PyTorch's sgn
        x = x.abs()
    _check_float("linalg.vector_norm", x)
    if isinstance(ord, str) or not isinstance(ord, (int, float)):
        raise ValueError(f"linalg.vector_norm: ord must be a number (or inf), got {ord!r}")
    axes = _axes.normalize(dim, x.ndim)
    if not x.ndim:  # a 0-d tensor is its own only element: dim 0 / -1 reduce nothing, as PyTorch
        axes = ()
    if ord < 0 or math.isinf(ord):
        empty = [a for a in axes if x.shape[a] == 0]
        if empty:
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {ord} norm over dimension {empty[0]} of the input (shape "
                f"{x.shape}): it is empty and that norm has no identity element; use a non-negative finite ord "
                f"or skip empty tensors")
    return VectorNorm.apply(x, ord=float(ord), axes=axes, keepdims=bool(keepdim))


def _norm_input(name: str, x: Tensor, dtype) -> Tensor:
    """``x`` cast to a norm's ``dtype=`` (if given), which must be complex for a complex ``x`` and real for a real
    one: PyTorch refuses a silent loss of the imaginary part, or a complex norm of a real tensor."""
    if dtype is None:
        return x
    dtype = _dt.to_dtype(dtype)
    if x.dtype.kind in "fc" and (dtype.kind == "c") != (x.dtype.kind == "c"):
        raise RuntimeError(f"{name}: dtype must be {'complex' if x.dtype.kind == 'c' else 'real'} for a "
                           f"{x.dtype.name} input, got {dtype.name}")
    return x.to(dtype)


_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:
    """A matrix norm over the two dimensions ``dim``, as ``torch.linalg.matrix_norm``: ``'fro'``,
    ``'nuc'`` (sum of singular values), 2 / -2 (largest / smallest singular value), 1 / -1
    (max / min column abs-sum), ``inf`` / ``-inf`` (max / min row abs-sum). Real for a complex ``A``."""
    _check_tensor("linalg.matrix_norm", A)
    A = _norm_input("linalg.matrix_norm", A, dtype)
    _check_float("linalg.matrix_norm", A, "fc")
    if ord not in _MATRIX_ORDS:
        raise ValueError(f"linalg.matrix_norm: ord must be one of {_MATRIX_ORDS}, got {ord!r}")
    if A.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm needs a tensor of at least 2 dimensions, got shape {A.shape}")
    if isinstance(dim, int) or len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must name two dimensions, got {dim}")
    rows, cols = _dims(dim, A.ndim, "linalg.matrix_norm")
    if ord == "fro":
        return vector_norm(A, 2, (rows, cols), keepdim)
    kept = tuple(1 if i in (rows, cols) else n for i, n in enumerate(A.shape))
    reduced = tuple(n for i, n in enumerate(A.shape) if i not in (rows, cols))
    if ord in ("nuc", 2, -2):
        S = svdvals(movedim(A, (rows, cols), (-2, -1)))
        out = S.sum(dim=-1) if ord == "nuc" else _extreme_norm(S, -1, ord, A.shape)
    else:  # 1, -1: max/min over columns of column sums; inf, -inf: over rows of row sums
        summed, over = (rows, cols) if abs(ord) == 1 else (cols, rows)
        sums = A.abs().sum(dim=summed, keepdim=True)
        out = _extreme_norm(sums, over, ord, A.shape, keepdim=True)
    return out.reshape(kept if keepdim else reduced)


def _extreme_norm(t: Tensor, dim: int, ord, shape, keepdim: bool = False) -> Tensor:
    """The max (``ord > 0``) or min of the non-negative ``t`` along ``dim``, ties sharing the gradient. Over
    nothing the max is 0 and the min has no value (IndexError), as ``torch.linalg.matrix_norm``."""
    if t.shape[dim]:
        return vector_norm(t, math.inf if ord > 0 else -math.inf, dim, keepdim)
    if ord > 0:
        return t.sum(dim=dim, keepdim=keepdim)
    raise IndexError(f"linalg.matrix_norm: the ord={ord} norm of a matrix of shape {shape} takes a minimum over an "
                     f"empty dimension, which has no value; use a positive ord or skip empty matrices")


def linalg_norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``torch.linalg.norm``: a vector norm when ``dim`` is an int (or ``A`` is 1-D), a matrix
    norm when ``dim`` is a pair (or ``A`` is 2-D); with ``ord`` and ``dim`` both None, the
    2-norm of the flattened tensor."""
    _check_tensor("linalg.norm", A)
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        raise RuntimeError(f"linalg.norm: dim must be an int or a pair, got {dim}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-D or 2-D, got shape {A.shape}")


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None, *, axis=None,
         keepdims: bool = False) -> Tensor:
    """``torch.norm`` (and ``Tensor.norm``): the vector ``p``-norm over ``dim`` (the whole
    tensor when None); ``'fro'`` is the 2-norm, ``'nuc'`` the nuclear matrix norm."""
    dim, keepdim = _axes.pick(dim, axis), _axes.keep(keepdim, keepdims)
    _check_tensor("norm", input)
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
            return vector_norm(input, 2, dim, keepdim, dtype=dtype)
        return matrix_norm(input, p, tuple(range(input.ndim)) if dim is None else dim, keepdim, dtype=dtype)
    return vector_norm(input, 2 if p is None else p, dim, keepdim, dtype=dtype)


METHODS = {
    "matmul": matmul, "__matmul__": matmul, "__rmatmul__": _rmatmul, "mm": mm, "bmm": bmm, "dot": dot,
    "outer": outer, "inverse": inverse, "det": det, "slogdet": slogdet, "norm": norm,
}
