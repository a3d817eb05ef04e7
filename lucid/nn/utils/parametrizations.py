"""Weight and spectral normalisation and orthogonal weights as parametrizations
(``torch.nn.utils.parametrizations``): the modern form of :mod:`lucid.nn.utils.weight_norm` / ``spectral_norm``,
with PyTorch's state-dict keys (``parametrizations.weight.original0`` / ``original1`` for ``g`` / ``v``;
``parametrizations.weight.0._u`` and ``_v`` for the power-iteration vectors; ``parametrizations.weight.0.base``
for :func:`orthogonal`'s trivialization base)."""

from __future__ import annotations

from ..._tensor import Tensor
from ..._typeinfo import finfo
from ...autograd.grad_mode import no_grad
from ...ops.creation import eye
from ...ops.decompositions import geqrf, householder_product, matrix_exp
from ...ops.linalg import solve, vector_norm
from ...ops.mathops import allclose
from ...ops.sampling import randn
from ...ops.shape import cat
from ..module import Module
from .parametrize import register_parametrization
from .weight_norm import _norm_except_dim, _weight_norm

__all__ = ["orthogonal", "weight_norm", "spectral_norm"]


class _WeightNorm(Module):
    """``g * v / ||v||`` (norm over every dimension but ``dim``; ``dim=-1``: of the whole tensor)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple:
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrise ``module.<name>`` as ``g * v / ||v||`` (``original0`` = g, ``original1`` = v).
    Returns the module."""
    return register_parametrization(module, name, _WeightNorm(dim), unsafe=True)


def _normalize(x: Tensor, eps: float) -> Tensor:
    return x / vector_norm(x, 2).clamp(min=eps)


class _SpectralNorm(Module):
    """``weight / sigma``, ``sigma`` the largest singular value of the weight as a ``(size(dim), -1)``
    matrix, estimated by power iteration on the buffers ``_u``/``_v`` (15 steps at creation, then
    ``n_power_iterations`` per forward in training mode); a 1-D weight is just normalised."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        if not -weight.ndim <= dim < weight.ndim:
            raise IndexError(f"spectral_norm: dim {dim} is out of range for a {weight.ndim}-D weight")
        if n_power_iterations <= 0:
            raise ValueError(f"spectral_norm: n_power_iterations must be positive, got {n_power_iterations}")
        self.dim, self.eps = dim % weight.ndim, eps
        if weight.ndim > 1:
            self.n_power_iterations = n_power_iterations
            h, w = self._matrix(weight).shape
            with no_grad():
                self.register_buffer("_u", _normalize(randn(h, dtype=weight.dtype, device=weight.device), eps))
                self.register_buffer("_v", _normalize(randn(w, dtype=weight.dtype, device=weight.device), eps))
            self._power_method(self._matrix(weight), 15)

    def _matrix(self, weight: Tensor) -> Tensor:
        if self.dim:
            weight = weight.movedim(self.dim, 0)
        return weight.reshape(weight.shape[0], -1)

    def _power_method(self, matrix: Tensor, steps: int) -> None:
        with no_grad():
            for _ in range(steps):
                self._u.copy_(_normalize(matrix @ self._v, self.eps))
                self._v.copy_(_normalize(matrix.mT @ self._u, self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return _normalize(weight, self.eps)
        matrix = self._matrix(weight)
        if self.training:
            self._power_method(matrix, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()  # the buffers change next forward; the graph keeps these
        return weight / (u * (matrix @ v)).sum()

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Divide ``module.<name>`` by its spectral norm on each access. ``dim`` is the output dimension
    (default 0, 1 for the ConvTranspose layers). Returns the module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter or buffer {name!r}")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    return register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))


# ---- orthogonal ---------------------------------------------------------------------------------------------
_ORTHOGONAL_MAPS = ("matrix_exp", "cayley", "householder")


def _is_orthogonal(Q: Tensor) -> bool:
    """Whether the columns of ``Q`` are orthonormal, to ``10 * n * eps`` (PyTorch's tolerance)."""
    n, k = Q.shape[-2:]
    return allclose(Q.mH @ Q, eye(k, dtype=Q.dtype, device=Q.device), atol=10.0 * n * finfo(Q.dtype).eps)


def _make_orthogonal(A: Tensor) -> Tensor:
    """The ``Q`` of ``A = QR`` (``A`` tall) with ``diag(R)`` made non-negative: unique for a full-rank ``A``."""
    X, tau = geqrf(A)
    return householder_product(X, tau) * X.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


def _eye_like(Q: Tensor) -> Tensor:
    """Ones on the (last two dimensions') diagonal of a tensor shaped as ``Q``, zeros elsewhere."""
    n, k = Q.shape[-2:]
    return eye(n, k, dtype=Q.dtype, device=Q.device).expand(Q.shape).clone()


class _Orthogonal(Module):
    """An orthogonal matrix (or batch of them, over the last two dimensions) made from an unconstrained one by
    ``matrix_exp`` / ``cayley`` of a skew-symmetric matrix or a product of Householder reflectors; with
    ``use_trivialization`` the result is multiplied by the buffer ``base`` (PyTorch's dynamic trivialization)."""

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True) -> None:
        super().__init__()
        if weight.is_complex() and orthogonal_map == "householder":
            raise ValueError("The householder parametrization does not support complex tensors.")
        if weight.is_complex():  # PyTorch makes unitary matrices; lucid's matrix_exp, solve and geqrf are real-only
            raise TypeError(f"orthogonal: complex (unitary) weights are not supported by lucid yet (its matrix_exp, "
                            f"solve and geqrf are real-only), got {weight.dtype}")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2:]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = X.tril()  # n*k - k(k-1)/2 free parameters
            if n != k:  # embed into a square matrix
                X = cat([X, X.new_zeros(n, n - k).expand(X.shape[:-2] + (n, n - k))], dim=-1)
            A = X - X.mH  # skew-symmetric (skew-Hermitian)
            if self.orthogonal_map == "matrix_exp":
                Q = matrix_exp(A)
            else:  # the Cayley retraction (I + A/2)(I - A/2)^{-1}
                Id = eye(n, dtype=A.dtype, device=A.device)
                Q = solve(Id - 0.5 * A, Id + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = householder_product(A, tau)
            # the diagonal of X holds the signs (+-1); it is cast, so not differentiated (as PyTorch)
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if "base" in self._buffers:
            Q = self.base @ Q
        return Q.mT if transposed else Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        """The original that gives ``Q``: with a ``base``, ``base`` becomes ``Q`` (made orthogonal by QR if it
        is not, completed to a square one if it is not square) and the original ``-I``; without one, the
        Householder reflectors of ``Q`` (``matrix_exp``/``cayley`` raise NotImplementedError, as PyTorch)."""
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {Q.shape}.")
        with no_grad():
            Q_init = Q
            n, k = Q.shape[-2:]
            transpose = n < k
            if transpose:
                Q = Q.mT
                n, k = k, n
            if "base" not in self._buffers:
                if self.orthogonal_map in ("matrix_exp", "cayley"):
                    raise NotImplementedError("It is not possible to assign to the matrix exponential "
                                              "or the Cayley parametrizations when use_trivialization=False.")
                A, tau = geqrf(Q)
                # diag(A) = diag(R): keep its signs, flipped where LAPACK skipped the reflection (tau == 0)
                diag = A.diagonal(dim1=-2, dim2=-1).sign()
                diag = diag * (1 - 2 * (tau == 0.0).to(dtype=diag.dtype))
                eye_k = _eye_like(A)
                A = A * (1 - eye_k) + eye_k * diag.unsqueeze(-2)
                return A.mT if transpose else A
            if n == k:
                Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
            else:  # complete Q to an n x n orthogonal matrix with random columns
                N = randn(*(Q.shape[:-2] + (n, n - k)), dtype=Q.dtype, device=Q.device)
                Q = _make_orthogonal(cat([Q, N], dim=-1))
            self.base = Q
            # -I: householder(zeros) and matrix_exp(0) then give I, so the weight is base (as PyTorch)
            return -_eye_like(Q_init)


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Make ``module.<name>`` an orthogonal matrix (orthonormal columns when tall, rows when wide; a tensor of
    more than two dimensions is a batch of matrices over its last two, so a Conv weight is a batch of kernels,
    as PyTorch). ``orthogonal_map`` is ``"matrix_exp"``, ``"cayley"`` or ``"householder"`` (default
    ``"matrix_exp"`` for square or complex matrices, ``"householder"`` otherwise); ``use_trivialization``
    keeps a ``base`` buffer the map is multiplied by. The initial weight is the current one made orthogonal
    by QR (kept if it already is). Complex (unitary) weights are not supported yet: lucid's ``matrix_exp``,
    ``solve`` and ``geqrf`` are real-only (a TypeError says so). Returns the module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = ("matrix_exp" if weight.shape[-2] == weight.shape[-1] or weight.is_complex()
                          else "householder")
    if orthogonal_map not in _ORTHOGONAL_MAPS:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    return register_parametrization(module, name, orth, unsafe=True)
