"""Attention: ``scaled_dot_product_attention``, one fused op with a hand-written backward.

``softmax(q @ k^T * scale + mask) @ v`` is computed in one forward (scores, a numerically stable
softmax, optional dropout, the weighted sum) and one backward written in lucid ops, so higher-order
gradients work. The attention weights are a second output, which is what
:class:`~lucid.nn.MultiheadAttention` returns with ``need_weights=True``.
"""

from __future__ import annotations

import math
import operator

from ..._backend.device import on_input_device
from ..._backend.fused import fresh_op
from ..._tensor import Tensor
from ...amp.autocast import casts_for
from ...autograd.function import LOWER, Function, rename_node
from ...ops.arithmetic import unbroadcast
from ...ops.sampling import rand
from ..attention import SDPBackend, _enabled, check_kernel

__all__ = ["scaled_dot_product_attention"]


class Attention(Function):
    """``(out, weights)``: ``weights = softmax(where(keep, q k^T * scale + bias, -inf))`` along the
    keys and ``out = (weights * drop) @ v``. ``bias`` (a float tensor or None) is added to the
    scores; ``keep`` (a bool array or None) says which scores take part; ``drop`` (an array of
    0 and ``1/(1-p)``, or None) is the dropout mask. A row whose keys are all masked gets zero
    weights (and so a zero output), as PyTorch's ``scaled_dot_product_attention``.
    """
    autocast_policy = LOWER  # see lucid.amp.autocast

    def forward(self, q, k, v, bias, keep, drop, scale):
        xp = self.xp
        self.scale = scale
        self.bias_shape = None if bias is None else tuple(bias.shape)
        s = xp.matmul(q, xp.matrix_transpose(k))
        s *= scale  # in place, as the steps below: s is this op's own score-sized temporary
        if bias is not None:
            s = s + bias
        if keep is not None:
            s = xp.where(keep, s, xp.asarray(-math.inf, dtype=s.dtype, device=self.device.native))
        top = xp.max(s, axis=-1, keepdims=True)
        zero = xp.zeros((), dtype=s.dtype, device=self.device.native)
        s -= xp.where(xp.isfinite(top), top, zero)
        p = xp.exp(s)  # a row of -inf gives exp(-inf) = 0
        total = xp.sum(p, axis=-1, keepdims=True)
        p /= xp.where(total > 0, total, zero + 1)
        out = xp.matmul(p if drop is None else p * drop, v)
        if out.dtype != q.dtype:  # NumPy's bfloat16 (ml_dtypes) products are float32: back to the inputs' dtype
            out, p = xp.astype(out, q.dtype), xp.astype(p, q.dtype)
        self.save_for_backward(q, k, v, p, drop)
        return out, p

    _fill_missing_grads = False  # an unused output (the weights, usually) gets no zeros: its term is skipped

    def backward(self, g, g_weights):
        q, k, v, p, drop = self.saved_tensors
        need = self.needs_input_grad
        gq = gk = gv = gbias = None
        if need[2] and g is not None:
            gv = unbroadcast((p if drop is None else p * drop).mT @ g, v.shape)
        if not (need[0] or need[1] or need[3]):
            return gq, gk, gv, gbias
        gp = None
        if g is not None:
            gp = g @ v.mT
            if drop is not None:
                gp = gp * drop
        if g_weights is not None:
            gp = g_weights if gp is None else gp + g_weights
        gs = p * (gp - (gp * p).sum(dim=-1, keepdim=True))  # through the softmax
        if need[0]:
            gq = unbroadcast((gs @ k) * self.scale, q.shape)
        if need[1]:
            gk = unbroadcast((gs.mT @ q) * self.scale, k.shape)
        if need[3]:
            gbias = unbroadcast(gs, self.bias_shape)
        return gq, gk, gv, gbias

    def vjp(self, g, g_weights):
        """``backward``'s formulas on arrays, each step rounded alike, with the score-sized temporaries
        updated in place; the Tensor ``backward`` when inputs broadcast, a bias takes a gradient or the
        dtype is complex."""
        q, k, v, p, drop = self.saved_arrays
        grad = g if g is not None else g_weights
        if (need := self.needs_input_grad)[3] or grad.dtype not in self.device.real_floating or not (
                q.shape[:-2] == k.shape[:-2] == v.shape[:-2] == p.shape[:-2]):
            return Function.vjp(self, g, g_weights)
        xp = self.xp
        gq = gk = gv = None
        if need[2] and g is not None:
            gv = xp.matmul(xp.matrix_transpose(p if drop is None else p * drop), g)
        if not (need[0] or need[1]):
            return gq, gk, gv, None
        gp = None
        if g is not None:
            gp = xp.matmul(g, xp.matrix_transpose(v))
            if drop is not None:
                gp *= drop
        if g_weights is not None:
            gp = xp.asarray(g_weights, copy=True) if gp is None else fresh_op(xp, operator.iadd, gp, g_weights)
        gp -= xp.sum(gp * p, axis=-1, keepdims=True)
        gp *= p  # now the scores' gradient
        if need[0]:
            gq = xp.matmul(gp, k)
            gq *= self.scale
        if need[1]:
            gk = xp.matmul(xp.matrix_transpose(gp), q)
            gk *= self.scale
        return (*(g if g is None or g.dtype == q.dtype else xp.astype(g, q.dtype) for g in (gq, gk, gv)), None)


def _broadcast_shapes(a: tuple, b: tuple) -> tuple | None:
    """The broadcast of two shapes, or None when they do not broadcast."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and 1 not in (x, y):
            return None
        out.append(max(x, y) if 1 in (x, y) else x)
    return tuple(reversed(out))


def _check_mask(mask: Tensor, query: Tensor, scores: tuple, what: str) -> None:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{what} must be a Tensor, got {type(mask).__name__}")
    if mask.device is not query.device:
        raise RuntimeError(f"{what} is on {mask.device} but the query is on {query.device}; move it with .to()")
    if mask.dtype.kind != "b" and mask.dtype is not query.dtype and not casts_for(mask):
        raise TypeError(
            f"{what} must be bool (True = take part) or of the query's dtype {query.dtype.name} (added to the "
            f"scores), got {mask.dtype.name}"
        )
    if _broadcast_shapes(mask.shape, scores) != scores:
        raise RuntimeError(f"{what} of shape {mask.shape} does not broadcast to the attention scores' shape {scores}")


def attention(query: Tensor, key: Tensor, value: Tensor, bias: Tensor | None = None, keep: Tensor | None = None,
              dropout_p: float = 0.0, scale: float | None = None) -> tuple[Tensor, Tensor]:
    """``(output, weights)`` of attention with an additive float ``bias`` and a bool ``keep`` mask
    (True = take part), both broadcastable to the scores ``(..., L, S)`` (shared by
    ``scaled_dot_product_attention`` and ``MultiheadAttention``). ``weights`` are after dropout, as
    PyTorch's ``MultiheadAttention`` returns them."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"attention: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise RuntimeError(f"attention: {name} needs at least 2 dimensions (..., length, features), got {t.shape}")
        if t.dtype.kind != "f" or (t.dtype is not query.dtype and not casts_for(t)):
            raise TypeError(
                f"attention: query, key and value must share one floating dtype, got {query.dtype.name}, "
                f"{key.dtype.name} and {value.dtype.name}"
            )
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(
            f"attention: query {query.shape}, key {key.shape} and value {value.shape} do not fit: query and key "
            f"need the same feature size and key and value the same length"
        )
    batch = _broadcast_shapes(query.shape[:-2], key.shape[:-2])
    batch = None if batch is None else _broadcast_shapes(batch, value.shape[:-2])
    if batch is None:
        raise RuntimeError(f"attention: the batch dimensions of query {query.shape}, key {key.shape} and value "
                           f"{value.shape} do not broadcast")
    scores = batch + (query.shape[-2], key.shape[-2])
    if bias is not None:
        _check_mask(bias, query, scores, "attention bias (float attn_mask)")
    if keep is not None:
        _check_mask(keep, query, scores, "attention mask")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"attention: dropout_p has to be between 0 and 1, got {dropout_p}")
    drop = None
    if dropout_p > 0.0:
        kept = rand(scores, dtype=query.dtype, device=query.device) >= dropout_p
        drop = kept.to(query.dtype) * (1.0 / (1.0 - dropout_p) if dropout_p < 1.0 else 0.0)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    out, weights = Attention.apply(query, key, value, bias, keep=None if keep is None else keep._data,
                                   drop=None if drop is None else drop._data, scale=scale)
    return out, weights if drop is None else weights * drop


def _causal(query: Tensor, key: Tensor) -> Tensor:
    """The ``(L, S)`` bool mask that lets query ``i`` see keys ``0..i`` (top-left aligned, as PyTorch)."""
    xp, dev = query.xp, query.device
    rows = xp.arange(query.shape[-2], device=dev.native)
    cols = xp.arange(key.shape[-2], device=dev.native)
    return Tensor._make(cols[None, :] <= rows[:, None], dev)


@on_input_device
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value`` for ``query (..., L, E)``, ``key (..., S, E)``,
    ``value (..., S, Ev)`` (batch dimensions broadcast); ``scale`` defaults to ``1/sqrt(E)``.

    ``attn_mask``: bool (True = the query may attend to that key) or a float tensor added to the
    scores, broadcastable to ``(..., L, S)``. ``is_causal`` masks the keys after each query (it
    cannot be combined with ``attn_mask``, as in PyTorch). Dropout is applied whenever
    ``dropout_p > 0``: pass ``dropout_p`` only while training, as with ``torch``. A query whose
    keys are all masked gets a zero output (PyTorch's behaviour, not NaN). ``enable_gqa`` lets
    ``key``/``value`` have fewer heads (dimension -3) than ``query``, each shared by a group.
    Inside :func:`lucid.nn.attention.sdpa_kernel` it raises where PyTorch would find no allowed kernel.
    """
    check_kernel(query.device.type)
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both")
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3 and query.shape[-3] != key.shape[-3]:
        heads, kv_heads = query.shape[-3], key.shape[-3]
        if heads % kv_heads or value.ndim < 3 or value.shape[-3] != kv_heads:
            raise RuntimeError(
                f"scaled_dot_product_attention: with enable_gqa the query's {heads} heads must be a multiple of "
                f"the key's and value's heads, got key {key.shape} and value {value.shape}"
            )
        key = key.repeat_interleave(heads // kv_heads, dim=-3)
        value = value.repeat_interleave(heads // kv_heads, dim=-3)
    keep = _causal(query, key) if is_causal else None
    bias = None
    if attn_mask is not None:
        if isinstance(attn_mask, Tensor) and attn_mask.dtype.kind == "b":
            keep = attn_mask
        else:
            bias = attn_mask
    out = attention(query, key, value, bias, keep, dropout_p, scale)[0]
    return rename_node(out, _torch_node(query, key, value, attn_mask, dropout_p, enable_gqa))


def _torch_node(query, key, value, attn_mask, dropout_p, enable_gqa) -> str:
    """The node PyTorch's CPU records (lucid's one kernel is named as that, on every device): its flash kernel's
    where that kernel takes the call (4-D inputs of one batch size, heads equal or grouped, one feature size, no
    dropout, no mask requiring grad, the kernel allowed), else its math path's last matmul's."""
    q, k, v = query.shape, key.shape, value.shape
    flash = (query.ndim == key.ndim == value.ndim == 4 and dropout_p == 0 and q[0] == k[0] == v[0] and k[1] == v[1]
             and (q[1] == k[1] or enable_gqa) and q[3] == k[3] == v[3]
             and not (isinstance(attn_mask, Tensor) and attn_mask.requires_grad)
             and SDPBackend.FLASH_ATTENTION in _enabled[0])
    return "ScaledDotProductFlashAttentionForCpu" if flash else "Mm" if query.ndim == value.ndim == 2 else "UnsafeView"
