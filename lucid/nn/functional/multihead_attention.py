"""``multi_head_attention_forward``: PyTorch's functional multi-head attention, which
:class:`~lucid.nn.MultiheadAttention` runs with its own parameters.

The projections, the heads and the masks are composed of lucid ops around the fused
:func:`~lucid.nn.functional.attention.attention`, so gradients of any order work. Masks follow
``MultiheadAttention``'s convention: a bool mask is True where a key is NOT attended (the opposite of
``scaled_dot_product_attention``'s), a float mask is added to the scores.
"""

from __future__ import annotations

from ..._tensor import Tensor
from ...ops.creation import zeros
from ...ops.shape import cat, pad
from .attention import attention
from .linears import linear

__all__ = ["multi_head_attention_forward"]


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None, bias_v: Tensor | None,
        add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
        training: bool = True, key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False, q_proj_weight: Tensor | None = None,
        k_proj_weight: Tensor | None = None, v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True, is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """``(attn_output, attn_weights)`` of multi-head attention, as ``torch.nn.functional.multi_head_attention_forward``.

    Inputs are sequence first: ``query (L, N, E)``, ``key (S, N, kdim)``, ``value (S, N, vdim)``, or
    unbatched ``(L, E)``, ``(S, kdim)``, ``(S, vdim)``. The projections are ``in_proj_weight (3E, E)`` split in
    three, or ``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` with ``use_separate_proj_weight``;
    ``in_proj_bias (3E,)`` likewise. ``bias_k``/``bias_v`` ``(1, 1, E)`` append one key and value;
    ``add_zero_attn`` appends a zero one. ``static_k``/``static_v`` ``(N*num_heads, S, E/num_heads)`` replace the
    projected keys/values. ``key_padding_mask (N, S)`` and ``attn_mask (L, S)`` or ``(N*num_heads, L, S)``: bool
    (True = not attended) or float (added). ``is_causal`` is only a hint that ``attn_mask`` is causal (the mask
    decides, and is required with it). Dropout ``dropout_p`` applies when ``training``. The weights are
    ``(N, L, S)`` averaged over heads, or ``(N, num_heads, L, S)`` without ``average_attn_weights``; None
    without ``need_weights``. A query whose keys are all masked gets zeros, not NaN.
    """
    batched = query.ndim == 3
    if batched:  # batch first inside, as the heads and attention() want it
        query, key, value = swap_batch_and_sequence(query, key, value)
    out, weights = _attend(
        query, key, value, num_heads, (in_proj_weight,) if not use_separate_proj_weight else
        (q_proj_weight, k_proj_weight, v_proj_weight), in_proj_bias, out_proj_weight, out_proj_bias,
        key_padding_mask, attn_mask, bias_k, bias_v, add_zero_attn, dropout_p if training else 0.0,
        static_k, static_v, is_causal, embed_dim_to_check, batched)
    out = out.transpose(0, 1) if batched else out
    if not need_weights:
        return out, None
    return out, weights.mean(dim=-3) if average_attn_weights else weights


def swap_batch_and_sequence(query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The 3-D inputs with their first two dimensions swapped (views); one tensor passed as all three stays
    one, so self-attention keeps its single projection GEMM."""
    if query is key and key is value:
        query = key = value = query.transpose(0, 1)
        return query, key, value
    return tuple(x.transpose(0, 1) if x.ndim == 3 else x for x in (query, key, value))


def _attend(query: Tensor, key: Tensor, value: Tensor, num_heads: int, proj_weights: tuple,
            proj_bias: Tensor | None, out_weight: Tensor, out_bias: Tensor | None, key_padding_mask: Tensor | None,
            attn_mask: Tensor | None, bias_k: Tensor | None, bias_v: Tensor | None, add_zero_attn: bool,
            dropout_p: float, static_k: Tensor | None, static_v: Tensor | None, is_causal: bool, embed_dim: int,
            batched: bool) -> tuple:
    """``(out, weights)`` for batch-first inputs ``(N, L, E)`` (or unbatched ``(L, E)``): ``out`` in the layout of
    ``query``, ``weights`` ``(N, heads, L, S)`` (or ``(heads, L, S)``). ``proj_weights``: the packed ``(3E, E)``
    weight alone, or the three separate ones."""
    if is_causal and attn_mask is None:
        raise RuntimeError("multi-head attention: is_causal=True is a hint and needs the causal attn_mask too; "
                           "pass attn_mask=Transformer.generate_square_subsequent_mask(L)")
    if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
        raise ValueError(f"multi-head attention: embed_dim ({embed_dim}) must be a positive multiple of "
                         f"num_heads ({num_heads})")
    self_attention = query is key and key is value
    _check_inputs(query, key, value, proj_weights, embed_dim, batched)
    if not batched:
        query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    n, length, _ = query.shape
    heads, head_dim = num_heads, embed_dim // num_heads
    q, k, v = _project(query, key, value, proj_weights, proj_bias, self_attention)
    if bias_k is not None:
        if static_k is not None or static_v is not None:
            raise RuntimeError("multi-head attention: bias_k/bias_v cannot be added to static_k/static_v")
        k = cat([k, bias_k.expand(n, 1, embed_dim)], dim=1)
        v = cat([v, bias_v.expand(n, 1, embed_dim)], dim=1)
    k = _heads(k, n, heads, head_dim) if static_k is None else _static(static_k, "static_k", n, heads, head_dim)
    v = _heads(v, n, heads, head_dim) if static_v is None else _static(static_v, "static_v", n, heads, head_dim)
    q = _heads(q, n, heads, head_dim)
    source = k.shape[2] - (bias_k is not None)  # the keys the masks name (bias_k's comes after them)
    masks = [_attn_mask(attn_mask, n, heads, length, source), _padding_mask(key_padding_mask, n, source)]
    if bias_k is not None:
        masks = [_pad_key(m) for m in masks]
    if add_zero_attn:
        k, v = (cat([x, zeros(n, heads, 1, head_dim, dtype=x.dtype, device=x.device)], dim=2) for x in (k, v))
        masks = [_pad_key(m) for m in masks]
    keep, bias = _merge(masks, q.dtype)
    out, weights = attention(q, k, v, bias, keep, dropout_p)
    out = linear(out.transpose(1, 2).reshape(n, length, embed_dim), out_weight, out_bias)
    return (out, weights) if batched else (out.squeeze(0), weights.squeeze(0))


def _check_inputs(query: Tensor, key: Tensor, value: Tensor, proj_weights: tuple, embed_dim: int,
                  batched: bool) -> None:
    """Check the inputs' ranks, features and batch and sequence sizes against the weights."""
    ndim = 3 if batched else 2
    if query.ndim not in (2, 3) or key.ndim != ndim or value.ndim != ndim:
        raise RuntimeError(
            f"multi-head attention: query, key and value must all be 3-D (batched) or 2-D (unbatched), got "
            f"{query.shape}, {key.shape} and {value.shape}")
    if any(w is None for w in proj_weights):
        raise RuntimeError("multi-head attention: the projection weights are missing: give in_proj_weight, or "
                           "q_proj_weight, k_proj_weight and v_proj_weight with use_separate_proj_weight=True")
    packed = len(proj_weights) == 1
    kdim = embed_dim if packed else proj_weights[1].shape[-1]
    vdim = embed_dim if packed else proj_weights[2].shape[-1]
    for name, t, size in (("query", query, embed_dim), ("key", key, kdim), ("value", value, vdim)):
        if t.shape[-1] != size:
            raise RuntimeError(f"multi-head attention: {name} of shape {t.shape} must have {size} features")
    if key.shape[:-1] != value.shape[:-1]:
        raise RuntimeError(f"multi-head attention: key {key.shape} and value {value.shape} must have the same "
                           f"length and batch size")
    if batched and query.shape[0] != key.shape[0]:
        raise RuntimeError(f"multi-head attention: query {query.shape} and key {key.shape} have different batch "
                           f"sizes")
    return kdim, vdim


def _project(query: Tensor, key: Tensor, value: Tensor, weights: tuple, bias: Tensor | None,
             self_attention: bool) -> tuple:
    """The query/key/value projections; self-attention with the packed weight does them in one GEMM."""
    if len(weights) == 1:
        if self_attention:
            return linear(query, weights[0], bias).chunk(3, dim=-1)
        weights = weights[0].chunk(3)
    biases = (None,) * 3 if bias is None else bias.chunk(3)
    return tuple(linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))


def _heads(x: Tensor, n: int, heads: int, head_dim: int) -> Tensor:
    """``(N, S, E)`` as ``(N, heads, S, head_dim)``."""
    return x.reshape(n, x.shape[1], heads, head_dim).transpose(1, 2)


def _static(x: Tensor, name: str, n: int, heads: int, head_dim: int) -> Tensor:
    """``static_k``/``static_v`` ``(N*heads, S, head_dim)`` as ``(N, heads, S, head_dim)``."""
    if x.ndim != 3 or x.shape[0] != n * heads or x.shape[2] != head_dim:
        raise RuntimeError(f"multi-head attention: {name} must have shape ({n * heads}, S, {head_dim}) "
                           f"(batch*num_heads, source length, head_dim), got {x.shape}")
    return x.reshape(n, heads, x.shape[1], head_dim)


def _check_kind(mask: Tensor, name: str) -> None:
    """Masks are bool (True = not attended) or floating (added), as PyTorch requires: an integer mask (a uint8
    one meant ``1 = masked`` in old PyTorch) would otherwise be added to the scores as numbers."""
    if mask.dtype.kind not in ("b", "f"):
        raise TypeError(f"multi-head attention: only bool and floating types of {name} are supported, got "
                        f"{mask.dtype.name}")


def _attn_mask(mask: Tensor | None, n: int, heads: int, length: int, source: int) -> Tensor | None:
    """``attn_mask`` ``(L, S)`` or ``(N*heads, L, S)`` as a mask broadcastable to ``(N, heads, L, S)``."""
    if mask is None:
        return None
    _check_kind(mask, "attn_mask")
    if mask.shape == (length, source):
        return mask
    if mask.shape == (n * heads, length, source):
        return mask.reshape(n, heads, length, source)
    raise RuntimeError(
        f"multi-head attention: attn_mask must have shape ({length}, {source}) or ({n * heads}, {length}, {source}) "
        f"(batch*num_heads, target length, source length), got {mask.shape}")


def _padding_mask(mask: Tensor | None, n: int, source: int) -> Tensor | None:
    """``key_padding_mask`` ``(N, S)`` as a mask broadcastable to ``(N, heads, L, S)``."""
    if mask is None:
        return None
    _check_kind(mask, "key_padding_mask")
    if mask.shape != (n, source):
        raise RuntimeError(f"multi-head attention: key_padding_mask must have shape ({n}, {source}) (batch, source "
                           f"length), got {mask.shape}")
    return mask.reshape(n, 1, 1, source)


def _pad_key(mask: Tensor | None) -> Tensor | None:
    """One more key (``bias_k`` or the zero key) that every query may attend to."""
    return None if mask is None else pad(mask, (0, 1), value=False if mask.dtype.kind == "b" else 0)


def _merge(masks, dtype) -> tuple:
    """``(keep, bias)`` for :func:`attention`: the bool masks (True = masked out) inverted and
    combined, the float ones cast to ``dtype`` (as PyTorch accepts a float32 mask for float64 data) and added."""
    keep = bias = None
    for m in masks:
        if m is None:
            continue
        if m.dtype.kind == "b":
            allowed = ~m
            keep = allowed if keep is None else keep & allowed
        else:
            m = m.to(dtype)
            bias = m if bias is None else bias + m
    return keep, bias
