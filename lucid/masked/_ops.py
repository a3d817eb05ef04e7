"""Masked reductions and normalizations (``torch.masked``'s functions).

Every function fills the masked-out elements of ``input`` with the identity of its
operation (:data:`_IDENTITY`) through :func:`_fill`, then calls lucid's ordinary
differentiable op, so the gradient at masked-out elements is zero and values match
PyTorch's, fully masked-out slices included (``sum`` 0, ``amax`` -inf, ``mean``/``var``/``median``
nan, ``softmax`` nan). ``mask`` broadcasts to ``input``; ``mask=None`` means "all valid".
An ``input`` that is a :class:`~lucid.masked.MaskedTensor` uses its own mask (PyTorch's rule); its
``mean``/``var``/``std`` count its valid elements, where PyTorch, given no ``mask=``, divides by the
whole slice's size (a choice: lucid's agrees with ``MaskedTensor.mean`` and with passing the mask).
"""

from __future__ import annotations

import math

from .. import dtypes
from .._tensor import Tensor, tensor
from .._typeinfo import iinfo
from ..linalg import vector_norm
from ..nn import functional as F
from ..ops.creation import ones_like
from ..ops.indexing import where
from .maskedtensor import MaskedTensor

__all__ = [
    "sum", "prod", "cumsum", "cumprod", "amax", "amin", "argmax", "argmin", "mean", "median", "norm",
    "var", "std", "logsumexp", "logaddexp", "softmax", "log_softmax", "softmin", "normalize",
]

# operation -> the element that leaves its result unchanged: a number, or "lowest"/"highest"
# (the dtype's -inf/+inf, or its integer minimum/maximum); absent: no identity (mean, var, std)
_IDENTITY = {
    "sum": 0, "cumsum": 0, "prod": 1, "cumprod": 1,
    "amax": "lowest", "argmax": "lowest", "logsumexp": "lowest", "logaddexp": "lowest", "softmax": "lowest",
    "amin": "highest", "argmin": "highest", "softmin": "highest",
    "median": math.nan,  # nanmedian skips nan
}
# integer inputs that sum/prod accumulate in int64, as PyTorch does (all unsigned ones, as its plain sum)
_SMALL_INTS = (dtypes.bool_, dtypes.uint8, dtypes.uint16, dtypes.uint32, dtypes.uint64, dtypes.int8, dtypes.int16,
               dtypes.int32)


def _identity(op: str, dtype, ord=None):
    """The identity of ``op`` on ``dtype`` (``norm`` with ``ord=-inf`` starts from +inf, other norms from 0)."""
    value = ("highest" if ord == -math.inf else 0) if op == "norm" else _IDENTITY[op]
    if value in ("lowest", "highest"):
        if dtype.is_floating_point or dtype.is_complex:
            return -math.inf if value == "lowest" else math.inf
        if dtype == dtypes.bool_:
            raise NotImplementedError(f"identity of {op} on {dtype} input (masked {op} needs a numeric dtype)")
        info = iinfo(dtype)
        return info.min if value == "lowest" else info.max
    return value


def _data_and_mask(input, mask):
    """``input``'s data and its canonical boolean mask (broadcast to ``input``; None: all valid)."""
    if isinstance(input, MaskedTensor):
        return input.get_data(), input.get_mask()
    if not isinstance(input, Tensor):
        raise TypeError(f"masked ops expect a Tensor or MaskedTensor input, got {type(input).__name__}")
    if mask is None:
        return input, None
    if not isinstance(mask, Tensor):
        raise TypeError(f"mask must be a Tensor, got {type(mask).__name__}")
    if mask.ndim > input.ndim:
        raise IndexError(
            f"mask of shape {tuple(mask.shape)} has more dimensions than input of shape {tuple(input.shape)}; "
            "a mask must broadcast to the input")
    if tuple(mask.shape) != tuple(input.shape):
        mask = mask.broadcast_to(input.shape)
    return input, mask.to(dtypes.bool_)


def _fill(op: str, input, mask, ord=None):
    """``input`` with masked-out elements replaced by ``op``'s identity (differentiable), and the mask.

    The one place every masked op goes through; ``mask`` is None when all elements are valid.
    """
    data, mask = _data_and_mask(input, mask)
    if mask is None:
        return data, None
    identity = tensor(_identity(op, data.dtype, ord), dtype=data.dtype, device=data.device)
    return where(mask, data, identity), mask


def _canonical_dim(dim, ndim: int) -> tuple[int, ...]:
    """``dim`` as a sorted tuple of non-negative dims (None or ``()``: all dims), checked as PyTorch does."""
    if dim is None or dim == ():
        return tuple(range(ndim))
    bound = max(ndim, 1)
    dims: list[int] = []
    for d in (dim,) if isinstance(dim, int) else dim:
        if not -bound <= d < bound:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], but got {d})")
        if d % bound in dims:
            raise RuntimeError(f"dim={d} appears multiple times in the list of dims")
        dims.append(d % bound)
    return tuple(sorted(dims))


def _accumulate_dtype(input, dtype):
    """sum/prod's output dtype: ``dtype``, else the input's, with small integers and bool widened to int64."""
    if dtype is not None:
        return dtype
    return dtypes.int64 if input.dtype in _SMALL_INTS else input.dtype


def _count(input, mask, dim, keepdim):
    """How many valid elements each reduced slice has (int64)."""
    valid = ones_like(input, dtype=dtypes.int64) if mask is None else mask
    return valid.sum(dim=_canonical_dim(dim, input.ndim), keepdim=bool(keepdim), dtype=dtypes.int64)


def sum(input, dim=None, *, keepdim=False, dtype=None, mask=None) -> Tensor:
    """Sum of the valid elements over ``dim`` (all dims if None); fully masked-out slices give 0."""
    filled, _ = _fill("sum", input, mask)
    dims = _canonical_dim(dim, filled.ndim)
    return filled.sum(dim=dims, keepdim=bool(keepdim), dtype=_accumulate_dtype(filled, dtype))


def prod(input, dim=None, *, keepdim=False, dtype=None, mask=None) -> Tensor:
    """Product of the valid elements over ``dim``; fully masked-out slices give 1."""
    filled, _ = _fill("prod", input, mask)
    return filled.to(_accumulate_dtype(filled, dtype)).prod(dim=_canonical_dim(dim, filled.ndim), keepdim=bool(keepdim))


def cumsum(input, dim, *, dtype=None, mask=None) -> Tensor:
    """Cumulative sum along ``dim`` with masked-out elements counted as 0."""
    filled, _ = _fill("cumsum", input, mask)
    return filled.cumsum(_canonical_dim(dim, filled.ndim)[0], dtype=dtype or filled.dtype)


def cumprod(input, dim, *, dtype=None, mask=None) -> Tensor:
    """Cumulative product along ``dim`` with masked-out elements counted as 1."""
    filled, _ = _fill("cumprod", input, mask)
    return filled.cumprod(_canonical_dim(dim, filled.ndim)[0], dtype=dtype or filled.dtype)


def amax(input, dim=None, *, keepdim=False, dtype=None, mask=None) -> Tensor:
    """Maximum of the valid elements; fully masked-out slices give -inf (the dtype's minimum for integers)."""
    filled, _ = _fill("amax", input, mask)
    return filled.amax(dim=_canonical_dim(dim, filled.ndim), keepdim=bool(keepdim)).to(dtype or filled.dtype)


def amin(input, dim=None, *, keepdim=False, dtype=None, mask=None) -> Tensor:
    """Minimum of the valid elements; fully masked-out slices give +inf (the dtype's maximum for integers)."""
    filled, _ = _fill("amin", input, mask)
    return filled.amin(dim=_canonical_dim(dim, filled.ndim), keepdim=bool(keepdim)).to(dtype or filled.dtype)


def argmax(input, dim=None, *, keepdim=False, dtype=None, mask=None) -> Tensor:
    """Index of the largest valid element (0 for a fully masked-out slice).

    As in PyTorch, the result is cast to ``dtype``, which defaults to the *input's* dtype (float indices for
    float input).
    """
    filled, _ = _fill("argmax", input, mask)
    return filled.argmax(dim=dim, keepdim=bool(keepdim)).to(dtype or filled.dtype)


def argmin(input, dim=None, *, keepdim=False, dtype=None, mask=None) -> Tensor:
    """Index of the smallest valid element, cast to ``dtype`` (default: the input's dtype, as PyTorch)."""
    filled, _ = _fill("argmin", input, mask)
    return filled.argmin(dim=dim, keepdim=bool(keepdim)).to(dtype or filled.dtype)


def _float_dtype(input, dtype, op: str):
    """The floating dtype mean computes in; integer inputs need an explicit floating ``dtype``."""
    source, dtype = ("Input", input.dtype) if dtype is None else ("Optional", dtype)
    if not (dtype.is_floating_point or dtype.is_complex):
        raise ValueError(
            f"{op}(): Could not infer output dtype. {source} dtype must be either a floating point or complex "
            f"dtype. Got: {dtype}")
    return dtype


def mean(input, dim=None, *, keepdim=False, dtype=None, mask=None) -> Tensor:
    """Mean of the valid elements; fully masked-out slices give nan (0 / 0)."""
    data, mask = _data_and_mask(input, mask)
    dtype = _float_dtype(data, dtype, "mean")
    return sum(data, dim, keepdim=keepdim, dtype=dtype, mask=mask) / _count(data, mask, dim, keepdim)


def median(input, dim=-1, *, keepdim=False, dtype=None, mask=None) -> Tensor:
    """Lower median of the valid elements along one ``dim``; fully masked-out slices give nan.

    Integer input is computed in float32 and cast back, which needs every slice to have a valid element.
    """
    data, mask = _data_and_mask(input, mask)
    dtype = dtype or data.dtype
    is_float = data.dtype.is_floating_point
    filled, _ = _fill("median", data if is_float else data.to(dtypes.float32), mask)
    out = filled.nanmedian(_canonical_dim(dim, filled.ndim)[0], keepdim=bool(keepdim)).values
    if is_float:
        return out
    if bool(out.isnan().any()):
        raise ValueError("masked median expects no fully masked out rows if dtype is not floating point")
    return out.to(dtype)


def logsumexp(input, dim=None, *, keepdim=False, dtype=None, mask=None) -> Tensor:
    """log(sum(exp)) of the valid elements; fully masked-out slices give -inf."""
    filled, _ = _fill("logsumexp", input, mask)
    return filled.logsumexp(dim=_canonical_dim(dim, filled.ndim), keepdim=bool(keepdim)).to(dtype or filled.dtype)


def logaddexp(input, other, *, dtype=None, input_mask=None, other_mask=None) -> Tensor:
    """Elementwise log(exp(input) + exp(other)) with each side's masked-out elements taken as -inf."""
    a, _ = _fill("logaddexp", input, input_mask)
    b, _ = _fill("logaddexp", other, other_mask)
    return a.logaddexp(b).to(dtype or a.dtype)


def norm(input, ord=2.0, dim=None, *, keepdim=False, dtype=None, mask=None) -> Tensor:
    """Vector ``ord``-norm of the valid elements (masked-out ones count as 0, or +inf for ``ord=-inf``)."""
    filled, _ = _fill("norm", input, mask, ord)
    return vector_norm(filled, ord, _canonical_dim(dim, filled.ndim), bool(keepdim), dtype=dtype or filled.dtype)


def _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt: bool) -> Tensor:
    """Variance (or its square root) of the valid elements with Bessel-style ``correction`` (default 1).

    The divisor is ``max(count - correction, 0)``, so slices with too few valid elements give nan or inf.
    """
    if unbiased is not None and correction is not None:
        raise ValueError("Only one of unbiased and correction may be given")
    correction = float(correction if correction is not None else (1 if unbiased is None or unbiased else 0))
    data, mask = _data_and_mask(input, mask)
    dtype = dtype or (data.dtype if data.dtype.is_floating_point or data.dtype.is_complex else dtypes.float32)
    compute = dtype if dtype.is_floating_point or dtype.is_complex else dtypes.float32
    count = _count(data, mask, dim, True)
    centred = data - sum(data, dim, keepdim=True, dtype=compute, mask=mask) / count
    total = sum(centred * centred.conj(), dim, keepdim=keepdim, dtype=compute, mask=mask)
    count = count.reshape(tuple(total.shape)).to(compute)
    if correction:
        count = (count - correction).clamp(min=0)
    out = (total / count).to(dtype)
    return out.sqrt() if take_sqrt else out


def var(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None, mask=None) -> Tensor:
    """Variance of the valid elements; fully masked-out slices give nan."""
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt=False)


def std(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None, mask=None) -> Tensor:
    """Standard deviation of the valid elements; fully masked-out slices give nan."""
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt=True)


def _softmax_family(op: str, input, dim, dtype, mask) -> Tensor:
    """softmax/log_softmax (masked-out elements as -inf) or softmin (as +inf) along one ``dim``.

    Masked-out elements of a slice with valid ones get 0 (log_softmax: -inf); fully masked-out slices nan.
    """
    filled, _ = _fill("softmin" if op == "softmin" else "softmax", input, mask)
    return getattr(F, op)(filled, _canonical_dim(dim, filled.ndim)[0], dtype=dtype or filled.dtype)


def softmax(input, dim, *, dtype=None, mask=None) -> Tensor:
    """Softmax over the valid elements along ``dim``."""
    return _softmax_family("softmax", input, dim, dtype, mask)


def log_softmax(input, dim, *, dtype=None, mask=None) -> Tensor:
    """Log-softmax over the valid elements along ``dim``."""
    return _softmax_family("log_softmax", input, dim, dtype, mask)


def softmin(input, dim, *, dtype=None, mask=None) -> Tensor:
    """Softmin over the valid elements along ``dim``."""
    return _softmax_family("softmin", input, dim, dtype, mask)


def normalize(input, ord, dim, *, eps=1e-12, dtype=None, mask=None) -> Tensor:
    """``input / max(norm(input, ord, dim), eps)`` over the valid elements; masked-out elements give 0."""
    filled, mask = _fill("sum", input, mask)
    denom = norm(filled, ord, dim, keepdim=True, dtype=dtype, mask=mask).clamp(min=eps)
    return filled / denom



def _masked_tensor_reduction(name: str):
    """``MaskedTensor.<name>``: the masked op over its data and mask; valid where the slice had a valid element."""
    masked_op = globals()[name]

    def op(self, dim=None, keepdim: bool = False, dtype=None):
        dims = _canonical_dim(dim, self.ndim)
        data = masked_op(self.get_data(), dim=dim, keepdim=keepdim, dtype=dtype, mask=self.get_mask())
        return MaskedTensor._from_values(data, self.get_mask().any(dim=dims, keepdim=bool(keepdim)))

    op.__name__ = name
    op.__doc__ = f"masked ``{name}`` of the valid elements; the result is valid where its slice had a valid element."
    return op


# MaskedTensor's reductions (PyTorch's list: torch.masked.maskedtensor.reductions.REDUCE_NAMES, less ``all``)
for _name in ("sum", "mean", "amin", "amax", "argmin", "argmax", "prod", "norm", "var", "std"):
    setattr(MaskedTensor, _name, _masked_tensor_reduction(_name))
del _name
