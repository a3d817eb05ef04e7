"""``MultiheadAttention`` (PyTorch's parameters, argument order, masks and defaults)."""

from __future__ import annotations

from ..._tensor import Tensor
from ...ops.creation import empty
from .. import init
from ..functional.multihead_attention import multi_head_attention_forward, swap_batch_and_sequence
from ..module import Module
from ..parameter import Parameter
from .linear import NonDynamicallyQuantizableLinear

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
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **factory)
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

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """``(attn_output, attn_weights)``: the output in the layout of ``query``, and the weights
        ``(N, L, S)`` (averaged over heads) or ``(N, num_heads, L, S)`` when ``need_weights``, else None.

        ``key_padding_mask (N, S)`` and ``attn_mask (L, S)`` or ``(N*num_heads, L, S)``: bool with
        True = NOT attended (PyTorch's convention here, the opposite of ``scaled_dot_product_attention``),
        or float, added to the scores. ``is_causal`` is a hint that ``attn_mask`` is the causal mask
        (PyTorch requires the mask with it; the mask decides). Queries with every key masked give zeros.
        This is :func:`~lucid.nn.functional.multi_head_attention_forward` with the module's parameters.
        """
        batch_first = self.batch_first and query.ndim == 3
        if batch_first:  # the function takes the sequence first, as PyTorch's
            query, key, value = swap_batch_and_sequence(query, key, value)
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias, self.bias_k,
            self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        return (out.transpose(0, 1) if batch_first else out), weights

