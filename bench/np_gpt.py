"""The GPT training step of ``test_workloads.gpt_step`` written by hand in NumPy: forward, backward
and the AdamW update, so the benchmark can set lucid against plain NumPy on a transformer too.

The model is ``test_workloads.gpt``: token and position embeddings, pre-LayerNorm decoder blocks
(``test_gpu.decoder_block``: causal self-attention, a 4x MLP with exact GELU, both residual), a final
LayerNorm and a linear head, cross-entropy over every position, ``AdamW(lr=3e-4)`` with PyTorch's
defaults. Everything is batched: one GEMM per linear layer over all ``batch * time`` rows and stacked
matmuls over ``(batch, heads)`` for the attention; nothing loops over tokens, heads or the batch.
Float32 parameters stay float32 throughout.

The exact GELU needs ``erf``, which NumPy lacks: ``np_erfc`` is Numerical Recipes' Chebyshev fit
(fractional error below 1.2e-7 for every argument), so a float64 run agrees with lucid within what
that fit allows rather than to rounding (``test_np_gpt.py`` checks both).
"""

from __future__ import annotations

import math

import numpy as np
from test_nn import np_cross_entropy, np_layer_norm, np_layer_norm_backward, np_mha, np_mha_backward
from test_training import np_adam, np_adam_state

GPT_LR, WEIGHT_DECAY = 3e-4, 1e-2
BLOCK_PARAMS = 12  # ln1 w/b, ln2 w/b, qkv w/b, proj w/b, fc1 w/b, fc2 w/b: a block's named_parameters order

# Numerical Recipes (2nd ed., section 6.2) ``erfcc``: erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z / 2), z >= 0;
# P's coefficients from the constant term up.
_ERFC_COEFFS = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398,
                1.48851587, -0.82215223, 0.17087277)


# ---- exact GELU ----------------------------------------------------------------------------------
def np_erfc(z):
    """``erfc(z)`` for ``z >= 0`` (Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7), in ``z``'s dtype."""
    t = 1 / (1 + 0.5 * z)
    poly = _ERFC_COEFFS[-1] * t
    for c in _ERFC_COEFFS[-2:0:-1]:  # Horner, in place
        poly += c
        poly *= t
    poly += _ERFC_COEFFS[0]
    poly -= z * z
    np.exp(poly, out=poly)
    poly *= t
    return poly


def np_normal_cdf(x):
    """``Phi(x)`` from the lower tail ``Phi(-|x|) = erfc(|x| / sqrt 2) / 2``: that tail for ``x <= -0``, one minus
    it for ``x >= +0`` (picked by sign arithmetic: ``np.where`` is slow over a random sign pattern); the lower
    tail is never subtracted from 1, so it keeps the fit's relative accuracy."""
    tail = np_erfc(np.abs(x) * (1 / math.sqrt(2)))
    tail *= 0.5
    cdf = np.copysign(0.5, x)
    cdf += 0.5  # 1 for x >= +0, 0 for x <= -0
    cdf -= np.copysign(tail, x, out=tail)
    return cdf


def np_gelu(x):
    """Exact GELU ``x * Phi(x)`` and its slope ``Phi(x) + x * phi(x)`` (``phi`` the normal density), both in the
    forward pass: the backward is then one product. Returns ``(y, slope)``."""
    cdf = np_normal_cdf(x)
    slope = np.square(x)
    slope *= -0.5
    np.exp(slope, out=slope)
    slope *= x
    slope *= 1 / math.sqrt(2 * math.pi)
    slope += cdf
    cdf *= x
    return cdf, slope


# ---- the model -----------------------------------------------------------------------------------
def np_block_forward(h, block, heads):
    """One pre-LN block on ``h (B, T, d)``: ``h + attn(ln1(h))``, then ``+ fc2(gelu(fc1(ln2(h))))``.
    Returns ``(h, cache)``."""
    ln1_w, ln1_b, ln2_w, ln2_b, w_qkv, b_qkv, w_proj, b_proj, w1, b1, w2, b2 = block
    a, ln1 = np_layer_norm(h, ln1_w, ln1_b)
    out, attn = np_mha(a, w_qkv, b_qkv, w_proj, b_proj, heads, causal=True)
    h = h + out
    m, ln2 = np_layer_norm(h.reshape(-1, h.shape[-1]), ln2_w, ln2_b)
    u = m @ w1.T
    u += b1
    act, slope = np_gelu(u)
    out = act @ w2.T
    out += b2
    return h + out.reshape(h.shape), (ln1, attn, ln2, m, slope, act, w1, w2)


def np_block_backward(gh, cache):
    """``(gradient of the block's input, its 12 parameter gradients in named_parameters order)``."""
    ln1, attn, ln2, m, slope, act, w1, w2 = cache
    g = gh.reshape(-1, gh.shape[-1])
    gw2, gb2 = g.T @ act, g.sum(0)
    gu = g @ w2
    gu *= slope  # through GELU
    gw1, gb1 = gu.T @ m, gu.sum(0)
    gm, gln2_w, gln2_b = np_layer_norm_backward(gu @ w1, ln2)
    gh = gh + gm.reshape(gh.shape)
    ga, gw_qkv, gb_qkv, gw_proj, gb_proj = np_mha_backward(gh, attn)
    gx, gln1_w, gln1_b = np_layer_norm_backward(ga, ln1)
    gh += gx
    return gh, [gln1_w, gln1_b, gln2_w, gln2_b, gw_qkv, gb_qkv, gw_proj, gb_proj, gw1, gb1, gw2, gb2]


def np_gpt_loss_and_grads(params, tokens, target, heads):
    """Forward and backward of ``gpt`` on ``tokens (B, T)``: ``(mean cross-entropy, gradients)``, the
    gradients in the order of ``params`` (the lucid model's ``named_parameters``)."""
    tok, pos, *block_params, ln_w, ln_b, head_w, head_b = params
    blocks = [block_params[i:i + BLOCK_PARAMS] for i in range(0, len(block_params), BLOCK_PARAMS)]
    b, t = tokens.shape
    h = tok[tokens] + pos[:t]
    caches = []
    for block in blocks:
        h, cache = np_block_forward(h, block, heads)
        caches.append(cache)
    f, ln = np_layer_norm(h.reshape(b * t, -1), ln_w, ln_b)
    logits = f @ head_w.T
    logits += head_b
    loss, g = np_cross_entropy(logits, target)
    g_head_w, g_head_b = g.T @ f, g.sum(0)
    gh, g_ln_w, g_ln_b = np_layer_norm_backward(g @ head_w, ln)
    gh = gh.reshape(b, t, -1)
    block_grads = []
    for cache in reversed(caches):
        gh, grads = np_block_backward(gh, cache)
        block_grads[:0] = grads
    g_tok, g_pos = np.zeros_like(tok), np.zeros_like(pos)
    np.add.at(g_tok, tokens.ravel(), gh.reshape(b * t, -1))
    g_pos[:t] = gh.sum(0)
    return loss, [g_tok, g_pos, *block_grads, g_ln_w, g_ln_b, g_head_w, g_head_b]


def np_adamw(params, grads, state, lr, weight_decay=WEIGHT_DECAY):
    """PyTorch's AdamW, in place: the decoupled decay ``p *= 1 - lr * weight_decay``, then Adam's step."""
    for p in params:
        p *= 1 - lr * weight_decay
    np_adam(params, grads, state, lr)


def np_gpt_step_factory(params, tokens, target, heads=4, lr=GPT_LR):
    """``step()``: one training step of ``gpt`` (forward, backward, AdamW) on ``params`` in place, returning
    the loss; the AdamW moments and step count live in the closure (``_training_case``'s ``numpy_step``)."""
    state = np_adam_state(params)

    def step():
        loss, grads = np_gpt_loss_and_grads(params, tokens, target, heads)
        np_adamw(params, grads, state, lr)
        return loss

    return step
