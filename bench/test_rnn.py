"""Recurrent layers (issue 13): one SGD step of an LSTM language model, as lucid, as hand-written
NumPy (the LSTM forward and backward by hand: the input projection of every step in one GEMM, a loop
over the steps, then one GEMM each for the weight gradients) and as PyTorch eager.

The model: embedding 128 of a 1000-token vocabulary, one LSTM layer of 256, a linear decoder back to
the vocabulary, cross-entropy over every position, SGD(lr=0.1); sequences of 64 steps, batch 32.
``test_lstm_lm_numpy_matches_lucid`` runs the NumPy and lucid steps on a small float64 model and
compares the losses and the updated weights, so the timed work cannot silently diverge.
"""

from __future__ import annotations

import numpy as np
from test_nn import PEDANTIC, host, np_cross_entropy
from test_training import _training_case

import lucid
import lucid.nn as nn

LR = 0.1


def lstm_lm(nn_module, vocab: int, emb: int, hidden: int):
    """The language model built from ``nn_module`` (``lucid.nn`` or ``torch.nn``): tokens ``(T, N)`` ->
    logits ``(T * N, vocab)``."""

    class LSTMLM(nn_module.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn_module.Embedding(vocab, emb)
            self.lstm = nn_module.LSTM(emb, hidden)
            self.dec = nn_module.Linear(hidden, vocab)

        def forward(self, tokens):
            out, _ = self.lstm(self.emb(tokens))
            return self.dec(out).reshape(-1, vocab)

    return LSTMLM()


# ---- hand-written NumPy ------------------------------------------------------------------------
def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def np_lstm_forward(gx, w_hh):
    """Zero initial state; ``gx`` ``(T, N, 4H)`` the input projections (biases included). Returns the
    hidden states ``(T, N, H)`` and the cache of the backward."""
    steps, batch, gates = gx.shape
    size = gates // 4
    hs = np.empty((steps, batch, size), gx.dtype)
    acts = np.empty_like(gx)
    cs = np.zeros((steps + 1, batch, size), gx.dtype)  # cs[0] is c_0
    tcs = np.empty_like(hs)
    h = np.zeros((batch, size), gx.dtype)
    for t in range(steps):
        a = gx[t] + h @ w_hh.T
        s = _sigmoid(a)
        s[:, 2 * size:3 * size] = np.tanh(a[:, 2 * size:3 * size])
        i, f, g, o = s[:, :size], s[:, size:2 * size], s[:, 2 * size:3 * size], s[:, 3 * size:]
        cs[t + 1] = f * cs[t] + i * g
        tcs[t] = np.tanh(cs[t + 1])
        h = hs[t] = o * tcs[t]
        acts[t] = s
    return hs, (acts, cs, tcs, hs)


def np_lstm_backward(dhs, w_hh, cache):
    """``(d gates pre-activation (T, N, 4H), h_{t-1} (T, N, H))`` from ``dhs`` the gradient of every
    hidden state; the weight gradients are then one GEMM each."""
    acts, cs, tcs, hs = cache
    steps, batch, size = hs.shape
    dg = np.empty_like(acts)
    dh = np.zeros((batch, size), hs.dtype)
    dc = np.zeros_like(dh)
    for t in reversed(range(steps)):
        a = acts[t]
        i, f, g, o = a[:, :size], a[:, size:2 * size], a[:, 2 * size:3 * size], a[:, 3 * size:]
        dh += dhs[t]
        dc += dh * o * (1 - tcs[t] ** 2)
        dg[t, :, :size] = dc * g * i * (1 - i)
        dg[t, :, size:2 * size] = dc * cs[t] * f * (1 - f)
        dg[t, :, 2 * size:3 * size] = dc * i * (1 - g * g)
        dg[t, :, 3 * size:] = dh * tcs[t] * o * (1 - o)
        dh = dg[t] @ w_hh
        dc *= f
    h_prev = np.concatenate([np.zeros_like(hs[:1]), hs[:-1]])
    return dg, h_prev


def np_lstm_lm_step(params, tokens, target):
    """Embedding, LSTM, decoder, cross-entropy, backward and the SGD update, in place."""
    emb, w_ih, w_hh, b_ih, b_hh, w_dec, b_dec = params
    steps, batch = tokens.shape
    e = emb[tokens].reshape(steps * batch, -1)
    gx = e @ w_ih.T
    gx += b_ih + b_hh
    hs, cache = np_lstm_forward(gx.reshape(steps, batch, -1), w_hh)
    h2 = hs.reshape(steps * batch, -1)
    logits = h2 @ w_dec.T
    logits += b_dec
    loss, g = np_cross_entropy(logits, target)
    g_dec, g_bdec = g.T @ h2, g.sum(0)
    dg, h_prev = np_lstm_backward((g @ w_dec).reshape(hs.shape), w_hh, cache)
    dg = dg.reshape(steps * batch, -1)
    g_ih, g_hh, g_b = dg.T @ e, dg.T @ h_prev.reshape(steps * batch, -1), dg.sum(0)
    g_emb = np.zeros_like(emb)
    np.add.at(g_emb, tokens.ravel(), dg @ w_ih)
    for p, gp in zip(params, (g_emb, g_ih, g_hh, g_b, g_b, g_dec, g_bdec)):
        p -= LR * gp
    return loss


# ---- the case ----------------------------------------------------------------------------------------
def _lstm_lm(impl, steps=64, batch=32, vocab=1000, emb=128, hidden=256, dtype=np.float32):
    """``(step, params)`` for ``impl``: ``step()`` runs one SGD step and returns the loss."""
    lucid.manual_seed(0)
    rng = np.random.default_rng(0)
    model = lstm_lm(nn, vocab, emb, hidden)
    tokens = rng.integers(0, vocab, (steps, batch))
    target = rng.integers(0, vocab, steps * batch)
    return _training_case(impl, model, lambda tnn: lstm_lm(tnn, vocab, emb, hidden), tokens, target,
                          lambda params, x, t: (lambda: np_lstm_lm_step(params, x, t)),
                          lambda optim, params: optim.SGD(params, lr=LR), dtype)


def test_lstm_lm_sgd_step(benchmark, run, impl):
    """LSTM LM (embedding 128, LSTM 256, vocabulary 1000), T 64, batch 32, SGD(lr=0.1): one step."""
    step, _ = _lstm_lm(impl)
    run(benchmark, step, rounds=10, **PEDANTIC)


def test_lstm_lm_numpy_matches_lucid():
    """Guard (not timed): three NumPy and lucid steps from the same weights give the same losses and
    weights (float64); the timed NumPy step stays float32."""
    small = dict(steps=5, batch=3, vocab=20, emb=4, hidden=6, dtype=np.float64)
    (np_step, np_params), (lucid_step, lucid_params) = _lstm_lm("numpy", **small), _lstm_lm("lucid", **small)
    for _ in range(3):
        np.testing.assert_allclose(np_step(), host(lucid_step()), rtol=1e-10)
    for a, b in zip(np_params, lucid_params):
        np.testing.assert_allclose(a, host(b), rtol=1e-9, atol=1e-12)
    step, params = _lstm_lm("numpy", **{**small, "dtype": np.float32})
    assert step().dtype == np.float32 and all(p.dtype == np.float32 for p in params)
