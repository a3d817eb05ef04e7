"""Look-up tables: ``embedding``, ``embedding_bag`` and ``one_hot``.

Rows are read with lucid's indexing (``weight[indices]``), whose backward scatter-adds, so an
index that occurs several times gets the sum of its gradients (upstream Lucid 2.5.8 kept one).
"""

from __future__ import annotations

from ... import dtypes as _dt
from ..._backend.device import DeviceMismatchError, on_input_device
from ..._tensor import Tensor
from ...autograd.function import Function
from ...autograd.grad_mode import no_grad
from ...ops.creation import arange, zeros
from ...ops.indexing import unique, where
from ...ops.linalg import vector_norm

__all__ = ["embedding", "embedding_bag", "one_hot"]


class _ScaleGrad(Function):
    """Identity forward; backward multiplies the gradient by a constant ``factor`` (zero for the
    padding index, ``1 / count`` for ``scale_grad_by_freq``)."""

    def forward(self, x, factor):
        self.factor = factor
        return x

    def backward(self, g):
        return g * Tensor._make(self.factor, self.device)


def _indices(input, like: Tensor, name: str) -> Tensor:
    """``input`` as an integer tensor on ``like``'s device."""
    if not isinstance(input, Tensor):
        input = Tensor(input, device=like.device)
    if input.dtype.kind not in "iu":
        raise TypeError(f"{name}: indices must be an integer tensor, got {input.dtype.name}")
    if input.device is not like.device:
        raise DeviceMismatchError(f"{name}: indices are on {input.device} but the weight is on {like.device}")
    return input


def _padding(padding_idx, num: int, name: str):
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise ValueError(f"{name}: padding_idx {padding_idx} must be within num_embeddings ({num})")
    return padding_idx % num


def _check_range(idx: Tensor, num: int, name: str) -> None:
    """IndexError naming the first index outside ``[0, num)``; on host devices only (see ``Backend.is_host``):
    elsewhere the read would sync every call, and PyTorch checks on CUDA with an asynchronous device assert."""
    if idx._device.host and idx.numel() and (bool((idx < 0).any()) or bool((idx >= num).any())):
        bad = idx[(idx < 0) | (idx >= num)].reshape(-1)[0].item()
        raise IndexError(f"{name}: index {bad} is out of range for a table of {num} rows")


def _renorm_(weight: Tensor, idx: Tensor, max_norm: float, norm_type: float) -> None:
    """Scale the rows of ``weight`` named in ``idx`` whose ``norm_type``-norm exceeds ``max_norm`` down
    to ``max_norm`` (in place, not recorded; PyTorch's ``embedding_renorm_``). Only those rows are written."""
    with no_grad():
        rows = unique(idx.reshape(-1))
        values = weight[rows]
        norms = vector_norm(values, norm_type, dim=1, keepdim=True)
        scale = where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        delta = values * scale - values
        weight.device.backend.add_at(weight._data, rows._data, delta._data)
        weight._version[0] += 1


def _checked(input, weight: Tensor, padding_idx, sparse: bool, name: str):
    """The checks ``embedding`` and ``embedding_bag`` share: dense gradients, a 2-D weight,
    integer indices in range; returns the indices and the normalised ``padding_idx``."""
    if sparse:
        raise NotImplementedError(f"{name}: lucid has no sparse gradients; use sparse=False")
    if weight.ndim != 2:
        raise RuntimeError(f"{name}: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    num = weight.shape[0]
    input = _indices(input, weight, name)
    padding_idx = _padding(padding_idx, num, name)
    _check_range(input, num, name)
    return input, padding_idx


@on_input_device
def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` ``(num_embeddings, dim)`` at the integer ``input`` (any shape): output
    ``input.shape + (dim,)``. The ``padding_idx`` row gets no gradient; ``max_norm`` first rescales
    the looked-up rows in place to at most that norm; ``scale_grad_by_freq`` divides each row's
    gradient by how often it occurs in ``input``. ``sparse`` gradients are not supported."""
    input, padding_idx = _checked(input, weight, padding_idx, sparse, "embedding")
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    return _lookup(weight, input, input, padding_idx, scale_grad_by_freq)


def _lookup(weight: Tensor, index: Tensor, counted: Tensor, padding_idx, scale_grad_by_freq: bool) -> Tensor:
    """``weight[index]`` with the gradient of the ``padding_idx`` row dropped and, for
    ``scale_grad_by_freq``, each row's gradient divided by how often it occurs in ``counted``."""
    out = weight[index]
    if not out.requires_grad or (padding_idx is None and not scale_grad_by_freq):
        return out
    xp, dev = index.xp, index.device
    dtype = weight._data.dtype
    flat = xp.reshape(xp.astype(index._data, xp.int64), (-1,))
    factor = xp.ones(flat.shape, dtype=dtype, device=dev.native)
    if scale_grad_by_freq:
        counts = xp.zeros((weight.shape[0],), dtype=dtype, device=dev.native)
        seen = xp.reshape(xp.astype(counted._data, xp.int64), (-1,))
        dev.backend.add_at(counts, seen, xp.ones(seen.shape, dtype=dtype, device=dev.native))
        c = xp.take(counts, flat)
        factor = xp.where(c > 0, 1 / xp.maximum(c, 1), xp.zeros_like(c))
    if padding_idx is not None:
        factor = xp.where(flat == padding_idx, xp.zeros_like(factor), factor)
    return _ScaleGrad.apply(out, factor=xp.reshape(factor, index.shape + (1,)))


def _bags(input: Tensor, offsets, include_last_offset: bool):
    """``(entries, bag, valid, bags)``: the indices as one 1-D array, the bag of each entry, whether it
    is in one (with ``include_last_offset``, entries past the last offset are not), and the number of
    bags. Bags come from ``searchsorted`` on the device: the offsets are never read back (a host sync
    every call on a GPU); they are checked on host devices only (see ``Backend.is_host``)."""
    xp, dev = input.xp, input.device
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: offsets must be None for a 2-D input (each row is a bag)")
        bags, length = input.shape
        bag = xp.reshape(xp.broadcast_to(xp.reshape(xp.arange(bags, dtype=xp.int64, device=dev.native), (-1, 1)),
                                         input.shape), (-1,))
        return xp.reshape(input._data, (-1,)), bag, xp.ones(bag.shape, dtype=xp.bool, device=dev.native), bags
    if input.ndim != 1 or offsets is None:
        raise ValueError(
            f"embedding_bag: expected a 2-D input (bags as rows), or a 1-D input with 1-D offsets; got input "
            f"shape {input.shape} and offsets {'None' if offsets is None else tuple(offsets.shape)}"
        )
    offsets = _indices(offsets, input, "embedding_bag")
    if offsets.ndim != 1:
        raise ValueError(f"embedding_bag: offsets must be 1-D, got shape {offsets.shape}")
    n = input.shape[0]
    starts = xp.astype(offsets._data, xp.int64)
    end = xp.asarray(n, dtype=xp.int64, device=dev.native)
    if include_last_offset and starts.shape[0]:
        end, starts = starts[-1], starts[:-1]
    if dev.host and starts.shape[0]:
        ends = xp.concat([starts[1:], xp.reshape(end, (1,))])
        if int(starts[0]) != 0 or bool(xp.any(ends < starts)) or int(ends[-1]) > n:
            raise ValueError("embedding_bag: offsets must start at 0, never decrease and stay within the input")
    position = xp.arange(n, dtype=xp.int64, device=dev.native)
    bag = xp.searchsorted(starts, position, side="right") - 1  # the last bag starting at or before each entry
    return input._data, bag, (bag >= 0) & (position < end), starts.shape[0]


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embeddings: a 2-D ``input`` holds one bag per row; a 1-D
    ``input`` is cut into bags at ``offsets``. Each looked-up row is scatter-added (or, for ``max``,
    scatter-maxed) into its bag: no per-bag Python loop, and no host sync (the bag sizes are never
    read). Entries equal to ``padding_idx`` are left out of their bag; an empty bag gives zeros.
    ``per_sample_weights`` (``mode="sum"`` only) weight each looked-up row."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights only work with mode='sum', not {mode!r}")
    input, padding_idx = _checked(input, weight, padding_idx, sparse, "embedding_bag")
    if per_sample_weights is not None and per_sample_weights.shape != input.shape:
        raise ValueError(
            f"embedding_bag: per_sample_weights of shape {per_sample_weights.shape} must match the input "
            f"shape {input.shape}"
        )
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    entries, bag, valid, bags = _bags(input, offsets, include_last_offset)
    xp, dev, width = input.xp, input.device, weight.shape[1]
    if padding_idx is not None:
        valid = valid & (entries != padding_idx)
    if bags == 0 or entries.shape[0] == 0:
        return zeros(bags, width, dtype=weight.dtype, device=weight.device)
    rows = _lookup(weight, Tensor._make(entries, dev), input, None, scale_grad_by_freq)  # (entries, width)
    keep = Tensor._make(xp.astype(valid, weight._data.dtype), dev)
    target = Tensor._make(xp.where(valid, bag, 0), dev)  # entries of no bag go to bag 0 with no weight
    count = zeros(bags, dtype=weight.dtype, device=weight.device).scatter_add(0, target, keep).unsqueeze(1)
    target = target.unsqueeze(1).expand(-1, width)
    if mode == "max":
        rows = where(keep.unsqueeze(1) > 0, rows, -float("inf"))
        best = zeros(bags, width, dtype=weight.dtype, device=weight.device).scatter_reduce(
            0, target, rows, "amax", include_self=False)
        return where(count > 0, best, 0.0)
    if per_sample_weights is not None:
        keep = keep * per_sample_weights.reshape(-1)
    total = zeros(bags, width, dtype=weight.dtype, device=weight.device).scatter_add(
        0, target, rows * keep.unsqueeze(1))
    return total if mode == "sum" else total / count.clamp(min=1)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``(..., num_classes)`` int64 tensor with a 1 at each value of the integer ``tensor``;
    ``num_classes=-1`` means ``max + 1``."""
    if not isinstance(tensor, Tensor) or tensor.dtype.kind not in "iu":
        got = tensor.dtype.name if isinstance(tensor, Tensor) else type(tensor).__name__
        raise TypeError(f"one_hot is only applicable to integer (index) tensors, got {got}")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("one_hot: can not infer the number of classes from an empty tensor")
        num_classes = int(tensor.max().item()) + 1
    if tensor.numel() and (bool((tensor < 0).any()) or bool((tensor >= num_classes).any())):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes}) (num_classes={num_classes})")
    classes = arange(num_classes, device=tensor.device)
    return (tensor.unsqueeze(-1) == classes).to(_dt.int64)
