"""``MultiheadAttention`` (PyTorch's parameters, argument order, masks and defaults)."""

from __future__ import annotations

from ..._tensor import Tensor
from ...ops.creation import empty, zeros
from ...ops.shape import cat, pad
from .. import init
from ..functional.attention import attention
from ..functional.linears import linear
from ..module import Module
from ..parameter import Parameter
from .linear import Linear

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Attention with ``num_heads`` heads of size ``embed_dim // num_heads`` (Vaswani et al., 2017).

    Parameters as PyTorch's, so a torch ``state_dict`` loads unchanged: ``in_proj_weight``
    ``(3*embed_dim, embed_dim)`` and ``in_proj_bias`` when ``kdim == vdim == embed_dim``, else
    ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``; ``out_proj`` (a Linear);
    ``bias_k``/``bias_v`` ``(1, 1, embed_dim)`` with ``add_bias_kv``. Initialised as PyTorch:
    xavier-uniform projections, zero biases, xavier-normal ``bias_k``/``bias_v``.
    Inputs are ``(L, N, E)``, or ``(N, L, E)`` with ``batch_first``, or unbatched ``(L, E)``.
    Attention dropout is applied in training mode only.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be positive, got {embed_dim} and {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout has to be between 0 and 1, got {dropout}")
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, dropout, batch_first
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim = embed_dim // num_heads
        self.add_zero_attn = add_zero_attn
        factory = {"device": device, "dtype": dtype}
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **factory))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **factory))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **factory))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **factory))
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **factory))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **factory)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, **factory))
            self.bias_v = Parameter(empty(1, 1, embed_dim, **factory))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's initialisation (``out_proj.weight`` keeps Linear's default)."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _project(self, query: Tensor, key: Tensor, value: Tensor, self_attention: bool) -> tuple:
        """The query/key/value projections; self-attention does them in one GEMM."""
        b = (None,) * 3 if self.in_proj_bias is None else self.in_proj_bias.chunk(3)
        if self._qkv_same_embed_dim:
            if self_attention:
                return linear(query, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
            weights = self.in_proj_weight.chunk(3)
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        return tuple(linear(x, w, bias) for x, w, bias in zip((query, key, value), weights, b))

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """``(attn_output, attn_weights)``: the output in the layout of ``query``, and the weights
        ``(N, L, S)`` (averaged over heads) or ``(N, num_heads, L, S)`` when ``need_weights``, else None.

        ``key_padding_mask (N, S)`` and ``attn_mask (L, S)`` or ``(N*num_heads, L, S)``: bool with
        True = NOT attended (PyTorch's convention here, the opposite of ``scaled_dot_product_attention``),
        or float, added to the scores. ``is_causal`` is a hint that ``attn_mask`` is the causal mask
        (PyTorch requires the mask with it; the mask decides). Queries with every key masked give zeros.
        """
        if is_causal and attn_mask is None:
            raise RuntimeError(
                "MultiheadAttention: is_causal=True is a hint and needs the causal attn_mask too; pass "
                "attn_mask=Transformer.generate_square_subsequent_mask(L)"
            )
        self_attention = query is key and key is value
        batched = query.ndim == 3
        self._check_inputs(query, key, value, batched)
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        n, length, _ = query.shape
        heads, head_dim = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value, self_attention)
        masks = [_attn_mask(attn_mask, n, heads, length, key.shape[1]),
                 _padding_mask(key_padding_mask, n, key.shape[1])]
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(n, 1, self.embed_dim)], dim=1)
            v = cat([v, self.bias_v.expand(n, 1, self.embed_dim)], dim=1)
            masks = [_pad_key(m) for m in masks]
        q, k, v = (x.reshape(n, x.shape[1], heads, head_dim).transpose(1, 2) for x in (q, k, v))
        if self.add_zero_attn:
            k, v = (cat([x, zeros(n, heads, 1, head_dim, dtype=x.dtype, device=x.device)], dim=2) for x in (k, v))
            masks = [_pad_key(m) for m in masks]
        keep, bias = _merge(masks, q.dtype)
        out, weights = attention(q, k, v, bias, keep, self.dropout if self.training else 0.0)
        out = self.out_proj(out.transpose(1, 2).reshape(n, length, self.embed_dim))
        if not batched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(dim=1)
        return out, weights if batched else weights.squeeze(0)

    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor, batched: bool) -> None:
        ndim = 3 if batched else 2
        if query.ndim not in (2, 3) or key.ndim != ndim or value.ndim != ndim:
            raise RuntimeError(
                f"MultiheadAttention: query, key and value must all be 3-D (batched) or 2-D (unbatched), got "
                f"{query.shape}, {key.shape} and {value.shape}"
            )
        for name, t, size in (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim)):
            if t.shape[-1] != size:
                raise RuntimeError(f"MultiheadAttention: {name} of shape {t.shape} must have {size} features")
        seq = 1 if batched and self.batch_first else 0
        if key.shape[seq] != value.shape[seq] or (batched and key.shape[1 - seq] != value.shape[1 - seq]):
            raise RuntimeError(f"MultiheadAttention: key {key.shape} and value {value.shape} must have the same length "
                               f"and batch size")
        if batched and query.shape[1 - seq] != key.shape[1 - seq]:
            raise RuntimeError(
                f"MultiheadAttention: query {query.shape} and key {key.shape} have different batch sizes")

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, " \
               f"batch_first={self.batch_first}"


def _attn_mask(mask: Tensor | None, n: int, heads: int, length: int, source: int) -> Tensor | None:
    """``attn_mask`` ``(L, S)`` or ``(N*heads, L, S)`` as a mask broadcastable to ``(N, heads, L, S)``."""
    if mask is None:
        return None
    if mask.shape == (length, source):
        return mask
    if mask.shape == (n * heads, length, source):
        return mask.reshape(n, heads, length, source)
    raise RuntimeError(
        f"MultiheadAttention: attn_mask must have shape ({length}, {source}) or ({n * heads}, {length}, {source}) "
        f"(batch*num_heads, target length, source length), got {mask.shape}"
    )


def _padding_mask(mask: Tensor | None, n: int, source: int) -> Tensor | None:
    """``key_padding_mask`` ``(N, S)`` as a mask broadcastable to ``(N, heads, L, S)``."""
    if mask is None:
        return None
    if mask.shape != (n, source):
        raise RuntimeError(f"MultiheadAttention: key_padding_mask must have shape ({n}, {source}) (batch, source "
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
