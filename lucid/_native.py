"""PyTorch's low-level top-level functions (``torch.native_layer_norm``, ``torch.batch_norm_stats``,
``torch.lstm``, ``torch.segment_reduce``, ...) that SyncBatchNorm implementations, hand-written recurrent
and normalization code and ported models call directly.

Each is built on lucid's own differentiable operations (the functional normalizations, dropouts,
``embedding_bag``, ``scatter_reduce``, the fused recurrence of ``nn.RNN``/``LSTM``/``GRU``), so each is
differentiable exactly where those are. Signatures, return tuples and dtypes are PyTorch's (aten's).
"""

from __future__ import annotations

import math
import operator

from ._tensor import Tensor, tensor
from .autograd import grad_mode
from .dtypes import bool_
from .nn import functional as F
from .nn.functional.dropouts import _check_p, _dropout
from .nn.functional.normalization import _update
from .nn.layers.rnn import RNNBase
from .ops.creation import arange, empty, full, ones, zeros
from .ops.linalg import vector_norm
from .ops.sampling import rand
from .ops.searching import searchsorted

__all__ = [
    "native_layer_norm", "native_batch_norm", "native_group_norm", "native_dropout", "native_norm", "norm_except_dim",
    "native_channel_shuffle", "batch_norm_stats", "batch_norm_elemt", "batch_norm_gather_stats",
    "batch_norm_gather_stats_with_counts", "batch_norm_backward_reduce", "batch_norm_backward_elemt",
    "batch_norm_update_stats", "embedding_bag", "feature_dropout", "feature_dropout_", "conv_tbc", "segment_reduce",
    "lstm", "gru", "rnn_tanh", "rnn_relu",
]

native_channel_shuffle = F.native_channel_shuffle
conv_tbc = F.conv_tbc


# ---- normalization with its statistics -------------------------------------------------------------------------
def _moments(x: Tensor, dims, eps: float) -> tuple:
    """``(mean, rstd)`` of ``x`` over ``dims`` (kept), the variance biased: the statistics a norm divides by."""
    mean = x.mean(dim=dims, keepdim=True)
    return mean, (x.var(dim=dims, correction=0, keepdim=True) + eps).rsqrt()


def native_layer_norm(input, normalized_shape, weight, bias, eps: float) -> tuple:
    """``(F.layer_norm(...), mean, rstd)``; ``mean`` and ``rstd`` have the input's shape with the normalized
    dimensions as 1 and, as PyTorch's, carry no gradient."""
    out = F.layer_norm(input, normalized_shape, weight, bias, eps)
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    with grad_mode.no_grad():
        mean, rstd = _moments(input, tuple(range(input.ndim - k, input.ndim)), eps)
    return out, mean, rstd


def native_batch_norm(input, weight, bias, running_mean, running_var, training: bool, momentum: float,
                      eps: float) -> tuple:
    """``(F.batch_norm(...), save_mean, save_invstd)``: in training the batch's per-channel mean and
    ``1 / sqrt(biased var + eps)`` (no gradient) and the running statistics updated in place as
    ``F.batch_norm``; in evaluation both are empty, as PyTorch's. Unlike PyTorch's, a training batch of one
    value per channel raises (as ``F.batch_norm``) rather than making the running variance infinite."""
    out = F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        none = empty(0, dtype=input.dtype, device=input.device)
        return out, none, none.clone()
    with grad_mode.no_grad():
        mean, invstd = _moments(input, (0,) + tuple(range(2, input.ndim)), eps)
    return out, mean.reshape(-1), invstd.reshape(-1)


def native_group_norm(input, weight, bias, N: int, C: int, HxW: int, group: int, eps: float) -> tuple:
    """``(F.group_norm(...), mean, rstd)`` with ``mean`` and ``rstd`` of shape ``(N, group)``; as PyTorch's, all
    three are differentiable. ``N``, ``C`` and ``HxW`` must describe the input."""
    if tuple(input.shape[:2]) != (N, C) or input.numel() != N * C * HxW:
        raise ValueError(f"native_group_norm: N={N}, C={C}, HxW={HxW} do not describe an input of shape "
                         f"{tuple(input.shape)}: expected (N, C, ...) with N * C * HxW elements")
    out = F.group_norm(input, group, weight, bias, eps)
    mean, rstd = _moments(input.reshape(N, group, -1), 2, eps)
    return out, mean.reshape(N, group), rstd.reshape(N, group)


def native_dropout(input: Tensor, p: float, train) -> tuple:
    """``(output, mask)``: ``mask`` (bool) keeps each element with probability ``1 - p`` and the output is
    ``input * mask / (1 - p)`` (zeros when ``p == 1``). ``train=False`` gives a copy of the input and an
    all-True mask; ``train=None`` drops, as PyTorch."""
    p = _check_p(p, "native_dropout")
    if train is not None and not train:
        return input.clone(), ones(input.shape, dtype=bool_, device=input.device)
    mask = rand(input.shape, dtype=input.dtype, device=input.device) >= p
    return input * (mask.to(input.dtype) * (0.0 if p == 1.0 else 1.0 / (1.0 - p))), mask


def native_norm(input, p=2, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The ``p``-norm of all the stored values of a sparse tensor, 0-D. As PyTorch, only sparse tensors and full
    reductions (``dim`` empty or every dimension), without ``keepdim`` or ``dtype``; not differentiable (PyTorch
    implements no derivative for it)."""
    if not getattr(input, "is_sparse", False):
        raise NotImplementedError("native_norm: only sparse tensors are supported, as in PyTorch; for a dense "
                                  "tensor use lucid.linalg.vector_norm or lucid.norm")
    dims = () if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    dims = tuple(operator.index(d) % input.ndim for d in dims)
    if dims and sorted(dims) != list(range(input.ndim)):
        raise RuntimeError(f"native_norm: sparse norms only support full reductions, so dim must be empty or "
                           f"contain every dimension of the input, got {dim} for {input.ndim} dimensions")
    if keepdim or dtype is not None:
        raise RuntimeError("native_norm: sparse norms support neither keepdim=True nor a dtype, as in PyTorch")
    with grad_mode.no_grad():
        return vector_norm(input.values(), p)


def norm_except_dim(v: Tensor, pow=2, dim: int = 0) -> Tensor:
    """The ``pow``-norm of ``v`` over every dimension but ``dim``, kept as size 1 (the ``g`` of weight norm);
    ``dim=-1`` means the norm of the whole tensor (0-D), as PyTorch."""
    if dim == -1:
        return vector_norm(v, pow)
    dim = operator.index(dim) % v.ndim
    return vector_norm(v, pow, tuple(d for d in range(v.ndim) if d != dim), keepdim=True)


# ---- SyncBatchNorm's kernels -----------------------------------------------------------------------------------
# PyTorch 2.13 registers all but batch_norm_update_stats for CUDA only; lucid's run on every device. Each is written
# with differentiable lucid ops.
def _channel_dims(input: Tensor) -> tuple:
    return (0,) + tuple(range(2, input.ndim))


def _per_channel(t: Tensor, input: Tensor) -> Tensor:
    """A ``(C,)`` tensor shaped to broadcast over ``input`` ``(N, C, ...)``."""
    return t.reshape((1, -1) + (1,) * (input.ndim - 2))


def batch_norm_stats(input: Tensor, eps: float) -> tuple:
    """``(mean, invstd)`` per channel of ``(N, C, ...)``: ``invstd = 1 / sqrt(biased var + eps)``."""
    mean, invstd = _moments(input, _channel_dims(input), eps)
    return mean.reshape(-1), invstd.reshape(-1)


def batch_norm_elemt(input, weight, bias, mean, invstd, eps: float) -> Tensor:
    """``(input - mean) * invstd * weight + bias`` per channel (``weight``/``bias`` may be None; ``eps`` is
    unused, as in PyTorch: ``invstd`` already holds it)."""
    out = (input - _per_channel(mean, input)) * _per_channel(invstd, input)
    if weight is not None:
        out = out * _per_channel(weight, input)
    return out if bias is None else out + _per_channel(bias, input)


def batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var, momentum: float, eps: float,
                                        counts) -> tuple:
    """The global ``(mean, invstd)`` from every process's ``mean`` and ``invstd`` ``(world, C)`` and element
    ``counts`` ``(world,)``; the running statistics (when given) move towards them by ``momentum``, with the
    unbiased variance over all ``sum(counts)`` elements. ``input`` only names the device, as in PyTorch."""
    counts = (counts if isinstance(counts, Tensor) else tensor(counts, device=input.device)).to(mean.dtype)
    counts = counts.reshape(-1, 1)
    total = counts.sum()
    global_mean = (mean * counts).sum(0) / total
    var = (((1 / (invstd * invstd) - eps) + (mean - global_mean) ** 2) * counts).sum(0) / total
    _update([(running_mean, global_mean), (running_var, var * (total / (total - 1)))], momentum)
    return global_mean, (var + eps).rsqrt()


def batch_norm_gather_stats(input, mean, invstd, running_mean, running_var, momentum: float, eps: float,
                            count: int) -> tuple:
    """``batch_norm_gather_stats_with_counts`` with ``count`` elements on every process."""
    counts = full((mean.shape[0],), count, dtype=mean.dtype, device=mean.device)
    return batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var, momentum, eps, counts)


def batch_norm_backward_reduce(grad_out, input, mean, invstd, weight, input_g: bool, weight_g: bool,
                               bias_g: bool) -> tuple:
    """``(sum_dy, sum_dy_xmu, grad_weight, grad_bias)`` per channel: the sums of ``grad_out`` and of
    ``grad_out * (input - mean)`` (when ``input_g``), ``sum_dy_xmu * invstd`` (when ``weight_g``) and
    ``sum_dy`` (when ``bias_g``); the ones not asked for are None."""
    dims = _channel_dims(input)
    sum_dy = grad_out.sum(dims) if input_g or bias_g else None
    sum_dy_xmu = (grad_out * (input - _per_channel(mean, input))).sum(dims) if input_g or weight_g else None
    return (sum_dy if input_g else None, sum_dy_xmu if input_g else None,
            sum_dy_xmu * invstd if weight_g else None, sum_dy if bias_g else None)


def batch_norm_backward_elemt(grad_out, input, mean, invstd, weight, sum_dy, sum_dy_xmu, count) -> Tensor:
    """The input's gradient of batch norm from the all-reduced sums: with ``n = sum(count)`` (the element
    counts of every process), ``(dy - sum_dy / n - (x - mean) * invstd² * sum_dy_xmu / n) * invstd * weight``."""
    n = count.sum().to(grad_out.dtype) if isinstance(count, Tensor) else float(count)
    invstd = _per_channel(invstd, input)
    grad = (grad_out - _per_channel(sum_dy, input) / n
            - (input - _per_channel(mean, input)) * (invstd * invstd) * (_per_channel(sum_dy_xmu, input) / n))
    scale = invstd if weight is None else invstd * _per_channel(weight, input)
    return grad * scale


def batch_norm_update_stats(input, running_mean, running_var, momentum: float) -> tuple:
    """``(mean, var)`` per channel (the variance biased), the running statistics (when given) moved towards them
    by ``momentum`` with the unbiased variance. Not differentiable, as PyTorch's."""
    dims = _channel_dims(input)
    with grad_mode.no_grad():
        mean, var = input.mean(dims), input.var(dims, correction=0)
        count = input.numel() // input.shape[1]
        _update([(running_mean, mean), (running_var, var * (count / (count - 1)))], momentum)
    return mean, var


# ---- embedding_bag, dropout, segment_reduce --------------------------------------------------------------------
_BAG_MODES = {0: "sum", 1: "mean", 2: "max"}


def embedding_bag(weight, indices, offsets, scale_grad_by_freq: bool = False, mode: int = 0, sparse: bool = False,
                  per_sample_weights=None, include_last_offset: bool = False, padding_idx=None) -> tuple:
    """``(output, offset2bag, bag_size, max_indices)`` as PyTorch's top level (on its CPU kernels), ``output``
    being ``F.embedding_bag``'s and the rest in the indices' integer dtype. ``offset2bag`` is each entry's
    bag, except in mode 0 (sum) on PyTorch's fast path (float32/float16/bfloat16 weights, no ``padding_idx``),
    where it is empty. ``bag_size`` and ``max_indices`` are zeros in mode 0; in mode 1 (mean) each bag's count
    of non-padding entries, twice; in mode 2 (max) that count, and per bag and column the row of ``weight``
    holding the maximum (its first entry; 0 for an empty bag). ``indices`` is 1-D, cut into bags at
    ``offsets``."""
    if mode not in _BAG_MODES:
        raise ValueError(f"embedding_bag: mode must be 0 (sum), 1 (mean) or 2 (max), got {mode!r}")
    if not isinstance(indices, Tensor) or indices.ndim != 1 or not isinstance(offsets, Tensor):
        raise ValueError(f"embedding_bag: expected 1-D indices and a 1-D offsets tensor, got indices "
                         f"{getattr(indices, 'shape', indices)} and offsets {getattr(offsets, 'shape', offsets)}")
    output = F.embedding_bag(indices, weight, offsets, scale_grad_by_freq=scale_grad_by_freq,
                             mode=_BAG_MODES[mode], sparse=sparse, per_sample_weights=per_sample_weights,
                             include_last_offset=include_last_offset, padding_idx=padding_idx)
    bags, device, n, kind = output.shape[0], indices.device, indices.shape[0], indices.dtype
    with grad_mode.no_grad():
        if mode == 0:
            no_bags = zeros(bags, dtype=kind, device=device)
            fast = padding_idx is None and weight.dtype.name in ("float32", "float16", "bfloat16")
            offset2bag = empty(0, dtype=kind, device=device) if fast else _offset2bag(offsets, bags, n, kind)
            return output, offset2bag, no_bags, no_bags.clone()
        offset2bag = _offset2bag(offsets, bags, n, kind)
        valid = (indices != padding_idx % weight.shape[0] if padding_idx is not None
                 else ones(n, dtype=bool_, device=device))
        bag_size = zeros(bags, dtype=kind, device=device).index_add(0, offset2bag, valid.to(kind))
        if mode == 1:
            return output, offset2bag, bag_size, bag_size.clone()
        width = weight.shape[1]
        hit = (weight.detach()[indices] == output.detach()[offset2bag]) & valid.reshape(-1, 1)
        position = arange(n, dtype=kind, device=device).reshape(-1, 1).expand(n, width)
        first = full((bags, width), n, dtype=kind, device=device).scatter_reduce(
            0, offset2bag.long().reshape(-1, 1).expand(n, width), position.masked_fill(~hit, n), "amin")
        max_indices = (indices[first.clamp(max=max(n - 1, 0)).long()] if n else first).masked_fill(first == n, 0)
    return output, offset2bag, bag_size, max_indices


def _offset2bag(offsets, bags, n, kind) -> Tensor:
    """The bag of each of ``n`` entries cut at ``offsets`` (of ``bags`` bags; entries past a last offset join
    the last bag, as PyTorch's)."""
    starts = offsets.long()[:bags]
    return (searchsorted(starts, arange(n, device=offsets.device), right=True) - 1).clamp(min=0).to(kind)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Zero whole feature maps (dim 1 of ``(N, C, ...)``) with probability ``p``, scaling the rest by
    ``1 / (1 - p)``, when ``train``; the input itself otherwise."""
    return _feature_dropout(input, p, train, False, "feature_dropout")


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``feature_dropout``."""
    return _feature_dropout(input, p, train, True, "feature_dropout_")


def _feature_dropout(input, p, train, inplace, name) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"{name}: feature dropout requires at least 2 dimensions in the input, got shape "
                           f"{tuple(input.shape)}")
    return _dropout(input, p, train, inplace, tuple(input.shape[:2]) + (1,) * (input.ndim - 2), name)


_SEGMENT_EMPTY = {"sum": 0.0, "mean": math.nan, "max": -math.inf, "min": math.inf, "prod": 1.0}
_SEGMENT_SCATTER = {"sum": "sum", "mean": "sum", "max": "amax", "min": "amin", "prod": "prod"}


def segment_reduce(data: Tensor, reduce: str, *, lengths=None, indices=None, offsets=None, axis: int = 0,
                   unsafe: bool = False, initial=None) -> Tensor:
    """Reduce consecutive segments of ``data`` along ``axis`` (``sum``, ``mean``, ``max``, ``min``, ``prod``),
    the segments given by ``lengths`` or ``offsets`` (of shape ``data.shape[:axis] + (segments,)``, or
    ``+ (segments + 1,)`` for offsets). ``initial`` joins every segment (``mean`` divides by the length only;
    an empty segment gives ``initial``); without it an empty segment gives 0, nan, -inf, inf or 1, as PyTorch.
    Differentiable through ``scatter_reduce`` (ties of max/min share the gradient). ``unsafe=True`` skips the
    check (on host devices) that the lengths cover the axis."""
    if reduce not in _SEGMENT_EMPTY:
        raise ValueError(f"segment_reduce: reduce must be one of {sorted(_SEGMENT_EMPTY)}, got {reduce!r}")
    if indices is not None:
        raise NotImplementedError("segment_reduce: indices are not supported (PyTorch does not implement them "
                                  "either); pass lengths or offsets")
    if (lengths is None) == (offsets is None):
        raise ValueError("segment_reduce: pass exactly one of lengths and offsets")
    if data.dtype.kind != "f":
        raise NotImplementedError(f"segment_reduce: expected floating data, got {data.dtype.name}")
    axis = operator.index(axis) % data.ndim
    lengths = (offsets[..., 1:] - offsets[..., :-1] if lengths is None else lengths).long()
    lead, size, trail = tuple(data.shape[:axis]), data.shape[axis], tuple(data.shape[axis + 1:])
    if tuple(lengths.shape[:-1]) != lead:
        raise RuntimeError(f"segment_reduce: lengths of shape {tuple(lengths.shape)} must be data.shape[:axis] + "
                         f"(segments,) = {lead} + (segments,) for data of shape {tuple(data.shape)}, axis={axis}")
    ends = lengths.cumsum(-1)
    if not unsafe and data.device.host and lengths.numel() and (
            bool((lengths < 0).any()) or bool((ends[..., -1] != size).any())):
        raise RuntimeError(f"segment_reduce: the segment lengths must be non-negative and sum to the size {size} "
                         f"of axis {axis}, got lengths {lengths.tolist()}")
    positions = arange(size, device=data.device).expand(lead + (size,)).contiguous()
    segment = searchsorted(ends.contiguous(), positions, right=True).clamp(max=lengths.shape[-1] - 1)
    segment = segment.reshape(lead + (size,) + (1,) * len(trail)).expand(data.shape)
    start = _SEGMENT_EMPTY["sum" if reduce == "mean" else reduce] if initial is None else initial
    out = full(lead + (lengths.shape[-1],) + trail, start, dtype=data.dtype, device=data.device)
    out = out.scatter_reduce(axis, segment, data, _SEGMENT_SCATTER[reduce], include_self=True)
    if reduce != "mean":
        return out
    counts = lengths.to(data.dtype).reshape(lengths.shape + (1,) * len(trail))
    return out / (counts if initial is None else counts.clamp(min=1))


# ---- multi-layer recurrences on flat weight lists --------------------------------------------------------------
class _FlatWeights:
    """The flat parameter list of ``torch.lstm``/``gru``/``rnn_*`` as the attributes that ``RNNBase``'s layer
    loop reads, so that the loop (the fused recurrence per layer and direction, dropout between layers)
    runs on them unchanged."""

    _run_direction = RNNBase._run_direction
    _run_layers = RNNBase._run_layers
    _stack_states = RNNBase._stack_states

    def __init__(self, name, mode, params, has_biases, num_layers, dropout, train, bidirectional):
        self.mode, self.num_layers, self.dropout, self.training = mode, num_layers, float(dropout), bool(train)
        self._directions = 2 if bidirectional else 1
        params = list(params)
        groups = num_layers * self._directions
        per = len(params) // groups if groups else 0
        base = 4 if has_biases else 2
        if per not in (base, base + 1) or per * groups != len(params) or (per > base and mode != "LSTM"):
            raise ValueError(f"{name}: expected {base} weights per layer and direction ({base + 1} for an LSTM "
                             f"with projections) for num_layers={num_layers}, bidirectional={bool(bidirectional)}, "
                             f"has_biases={bool(has_biases)}; got {len(params)}")
        kinds = ("w_ih", "w_hh") + (("b_ih", "b_hh") if has_biases else ()) + (("w_hr",) if per > base else ())
        self._weight_names = []
        for g in range(groups):
            names = {kind: f"{kind}_{g}" for kind in kinds}
            for k, kind in enumerate(kinds):
                setattr(self, names[kind], params[g * per + k])
            self._weight_names.append(tuple(names.get(k) for k in ("w_ih", "w_hh", "b_ih", "b_hh", "w_hr")))


def _recurrence(name, mode, input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    """Run ``mode`` over ``input`` ``(L, N, H_in)`` (``(N, L, H_in)`` with ``batch_first``) from the stacked
    states ``hx`` (a tuple ``(h, c)`` for an LSTM); returns ``(output, h_n)`` or ``(output, h_n, c_n)``."""
    net = _FlatWeights(name, mode, params, has_biases, num_layers, dropout, train, bidirectional)
    if not isinstance(input, Tensor) or input.ndim != 3:
        raise ValueError(f"{name}: expected a 3-D input, got {getattr(input, 'shape', type(input).__name__)}")
    x = input.transpose(0, 1) if batch_first else input
    states = list(zip(hx[0].unbind(0), hx[1].unbind(0))) if mode == "LSTM" else list(hx.unbind(0))
    if len(states) != num_layers * net._directions:
        raise ValueError(f"{name}: expected hidden states for {num_layers * net._directions} layers and "
                         f"directions, got {len(states)}")
    out, finals = net._run_layers(x, states)
    hidden = net._stack_states(finals)
    out = out.transpose(0, 1) if batch_first else out
    return (out, *hidden) if mode == "LSTM" else (out, hidden)


def lstm(input, hx, params, has_biases: bool, num_layers: int, dropout: float, train: bool, bidirectional: bool,
         batch_first: bool) -> tuple:
    """``(output, h_n, c_n)``: ``nn.LSTM``'s computation on ``hx = (h_0, c_0)`` and a flat ``params`` list
    (per layer and direction ``w_ih, w_hh[, b_ih, b_hh][, w_hr]``, as PyTorch's). The packed-sequence form
    (``batch_sizes``) is not provided: use ``nn.LSTM`` with a ``PackedSequence``."""
    if len(hx) != 2:
        raise ValueError(f"lstm: hx must be (h_0, c_0), got {len(hx)} tensors")
    return _recurrence("lstm", "LSTM", input, tuple(hx), params, has_biases, num_layers, dropout, train,
                       bidirectional, batch_first)


def _single_state(name: str, mode: str, doc: str):
    def run(input, hx, params, has_biases: bool, num_layers: int, dropout: float, train: bool, bidirectional: bool,
            batch_first: bool) -> tuple:
        return _recurrence(name, mode, input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                           batch_first)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = doc + (" on a flat ``params`` list (per layer and direction ``w_ih, w_hh[, b_ih, b_hh]``, as "
                         "PyTorch's); returns ``(output, h_n)``. The packed-sequence form is not provided.")
    return run


gru = _single_state("gru", "GRU", "``nn.GRU``'s computation")
rnn_tanh = _single_state("rnn_tanh", "RNN_TANH", "``nn.RNN``'s computation (tanh)")
rnn_relu = _single_state("rnn_relu", "RNN_RELU", "``nn.RNN``'s computation (relu)")
