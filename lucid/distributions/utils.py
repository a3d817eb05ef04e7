"""Helpers shared by the distributions (``torch.distributions.utils``): broadcasting parameters,
probabilities <-> logits, lazily derived parameters."""

from __future__ import annotations

import math
import numbers

from .. import dtypes as _dt
from .. import ops
from .._backend.device import DeviceMismatchError
from .._tensor import Size, Tensor
from .._tensor import tensor as _tensor
from .._typeinfo import finfo
from ..autograd import grad_mode

__all__ = ["broadcast_all", "logits_to_probs", "clamp_probs", "probs_to_logits", "lazy_property", "euler_constant",
           "tril_matrix_to_vec", "vec_to_tril_matrix"]

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, complex)


def broadcast_all(*values) -> tuple[Tensor, ...]:
    """The values broadcast to one shape; numbers become tensors of the first tensor's dtype and device
    (the default dtype on the default device when all are numbers), as PyTorch's. Tensors on two devices
    raise DeviceMismatchError (lucid moves nothing behind the user's back)."""
    if not all(isinstance(v, Tensor) or _is_number(v) for v in values):
        raise ValueError("Input arguments must all be instances of Number or lucid.Tensor.")
    devices = list(dict.fromkeys(v.device for v in values if isinstance(v, Tensor)))
    if len(devices) > 1:
        raise DeviceMismatchError(f"the parameters of a distribution are on {devices[0]} and {devices[1]}; "
                                  "move them to one device")
    if not all(isinstance(v, Tensor) for v in values):
        first = next((v for v in values if isinstance(v, Tensor)), None)
        options = ({"dtype": _dt.get_default_dtype()} if first is None
                   else {"dtype": first.dtype, "device": first.device})
        values = tuple(v if isinstance(v, Tensor) else _tensor(float(v), **options) for v in values)
    return tuple(ops.broadcast_tensors(*values)) if len(values) > 1 else (values[0],)


def _standard_normal(shape, dtype, device) -> Tensor:
    """Standard normal noise from lucid's generator of ``device`` (``lucid.manual_seed`` seeds it)."""
    return ops.randn(tuple(shape), dtype=dtype, device=device)


def _sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """``value`` summed over its ``dim`` rightmost dimensions."""
    if dim == 0:
        return value
    keep = value.ndim - dim
    return value.reshape(tuple(value.shape[:keep]) + (math.prod(value.shape[keep:]),)).sum(-1)


def _size(shape) -> Size:
    """``shape`` (a tuple, list, Size or int) as a Size."""
    if isinstance(shape, int):
        return Size((shape,))
    return Size(tuple(int(s) for s in shape))


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Probabilities from log-odds (``is_binary``) or from unnormalised log-probabilities on the last dim."""
    return ops.sigmoid(logits) if is_binary else ops.softmax(logits, dim=-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """``probs`` clamped to ``[eps, 1 - eps]`` with the machine epsilon of its dtype."""
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Log-odds (``is_binary``) or log-probabilities of (clamped) probabilities."""
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


def _tril_positions(n: int, diag: int) -> list[int]:
    """The flat (row-major) positions in an ``n x n`` matrix of the entries on or below diagonal ``diag``."""
    return [i * n + j for i in range(n) for j in range(n) if j < i + diag + 1]


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The entries of ``mat`` on or below diagonal ``diag``, in row order, as the last dimension."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    index = _tensor(_tril_positions(n, diag), dtype=_dt.int64, device=mat.device)
    return ops.index_select(mat.reshape(tuple(mat.shape[:-2]) + (n * n,)), -1, index)


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The ``D x D`` matrices whose entries on or below diagonal ``diag`` are ``vec``'s last dimension in row
    order (zeros elsewhere); ValueError when that length is no such count. A gather, so gradients flow."""
    m = vec.shape[-1]
    n = round((-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2)
    positions = _tril_positions(n, diag)
    if len(positions) != m:
        raise ValueError(f"The size of last dimension is {m} which cannot be expressed as the lower triangular part "
                         "of a square D x D matrix.")
    source = {p: k for k, p in enumerate(positions)}
    index = _tensor([source.get(p, m) for p in range(n * n)], dtype=_dt.int64, device=vec.device)  # m: a zero
    padded = ops.pad(vec, (0, 1), value=0.0)
    return ops.index_select(padded, -1, index).reshape(tuple(vec.shape[:-1]) + (n, n))


class lazy_property:  # noqa: N801  (PyTorch's name)
    """A parameter derived from another on first use (``probs`` from ``logits``...), computed with
    gradients on and then stored on the instance."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        with grad_mode.set_grad_enabled(True):
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class BinaryProbs:
    """The ``probs``/``logits`` of a yes/no event, for the distributions built on one (Bernoulli, Binomial,
    NegativeBinomial, Geometric, LogitRelaxedBernoulli): exactly one is given and kept as ``_param``, the other is
    derived on first use."""

    def _set_probs_or_logits(self, probs, logits, *others) -> tuple:
        """Check that exactly one of ``probs``/``logits`` is given, broadcast it with ``others`` and keep it;
        returns ``others`` broadcast (``broadcast_all`` order: others first, as PyTorch's)."""
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        *others, self._param = broadcast_all(*others, probs if probs is not None else logits)
        setattr(self, "probs" if probs is not None else "logits", self._param)
        return tuple(others)

    def _expand_probs_or_logits(self, new, batch_shape) -> None:
        """Give ``new`` (an ``expand`` result) the parameter this one has, expanded."""
        for name in ("probs", "logits"):
            if name in self.__dict__:
                new._param = self.__dict__[name].expand(batch_shape)
                setattr(new, name, new._param)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return self._param.shape
