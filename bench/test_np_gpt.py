"""Guard of the hand-written NumPy GPT step (``np_gpt.py``), not timed: a few NumPy and lucid AdamW steps of
``test_workloads.gpt`` at a small size, in float64, from the same weights, give the same losses and weights.

NumPy has no ``erf``, so ``np_gpt`` uses a fitted ``erfc`` (fractional error below 1.2e-7) where lucid's GELU is
exact to rounding. Hence two comparisons: with ``np_erfc`` swapped for ``math.erfc`` everything else must agree
to rounding (``test_gpt_numpy_matches_lucid_exact_erfc``), and the step as benchmarked must agree within what
the fit allows (``test_gpt_numpy_matches_lucid``).
"""

from __future__ import annotations

import math

import np_gpt
import numpy as np
from np_gpt import GPT_LR, np_erfc, np_gpt_loss_and_grads, np_gpt_step_factory
from test_nn import host
from test_training import _training_case
from test_workloads import gpt

import lucid
import lucid.nn as nn

# T 6 < context 8: the position embedding is sliced, its last rows get no gradient (only the decay)
SMALL = dict(vocab=11, d=16, heads=2, layers=2, context=8, batch=2, t=6)
STEPS = 3


def _gpt_case(impl, dtype, vocab, d, heads, layers, context, batch, t):
    """``(step, params)`` of ``impl`` for ``gpt`` built as ``test_workloads.gpt_step`` builds it (seed 0,
    AdamW(lr=3e-4)), at the given size."""
    lucid.manual_seed(0)
    rng = np.random.default_rng(0)
    idx, target = rng.integers(0, vocab, (batch, t)), rng.integers(0, vocab, batch * t)

    def build(tnn):
        return gpt(tnn, tnn.functional, vocab, d, heads, layers, context)

    return _training_case(impl, build(nn), build, idx, target,
                          lambda params, x, target: np_gpt_step_factory(params, x, target, heads),
                          lambda optim, params: optim.AdamW(params, lr=GPT_LR), dtype)


def _numpy_and_lucid():
    """``(numpy losses, lucid losses, numpy params, lucid params)`` after ``STEPS`` float64 steps of each."""
    (np_step, np_params), (lucid_step, lucid_params) = (_gpt_case(impl, np.float64, **SMALL)
                                                        for impl in ("numpy", "lucid"))
    np_losses = [np_step() for _ in range(STEPS)]
    lucid_losses = [host(lucid_step()) for _ in range(STEPS)]
    return np_losses, lucid_losses, np_params, [host(p) for p in lucid_params]


def test_np_erfc_fit_accuracy():
    """The fit's stated bound, which the tolerances below rest on: fractional error < 1.2e-7 for z >= 0."""
    z = np.linspace(0, 9, 90001)
    exact = np.array([math.erfc(v) for v in z])
    assert np.max(np.abs(np_erfc(z) / exact - 1)) < 1.2e-7


def test_gpt_numpy_matches_lucid_exact_erfc(monkeypatch):
    """With an exact ``erfc`` the NumPy step is lucid's to rounding (float64): embeddings, attention, LayerNorm,
    GELU, cross-entropy, the backward and AdamW all match."""
    monkeypatch.setattr(np_gpt, "np_erfc", lambda z: np.vectorize(math.erfc, otypes=[z.dtype])(z))
    np_losses, lucid_losses, np_params, lucid_params = _numpy_and_lucid()
    np.testing.assert_allclose(np_losses, lucid_losses, rtol=1e-10)
    for a, b in zip(np_params, lucid_params):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_gpt_numpy_matches_lucid():
    """The benchmarked step (fitted ``erfc``) against lucid in float64, to what the fit allows; a float32 step
    stays float32.

    Loss: the fit moves ``Phi`` by at most 1.2e-7 of ``min(Phi, 1 - Phi)``, so each GELU output by less than 1.2e-7
    of itself, and the loss (a smooth function of them) by less than about that: rtol 1e-7 (measured: 5e-11).
    Weights: AdamW moves a weight by about ``lr`` a step whatever its gradient's size (``m / sqrt(v)``), so an error
    small next to the largest gradients is large next to a nearly cancelled one, and its weight's step shifts far
    more than 1e-7 of ``lr``: an absolute tolerance of 2e-4 * lr over the 3 steps (measured: 2e-5 * lr), while a
    wrong gradient would shift a step by the order of ``lr`` itself.
    """
    np_losses, lucid_losses, np_params, lucid_params = _numpy_and_lucid()
    np.testing.assert_allclose(np_losses, lucid_losses, rtol=1e-7)
    for a, b in zip(np_params, lucid_params):
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-4 * GPT_LR)
    step, params = _gpt_case("numpy", np.float32, **SMALL)
    tokens = np.random.default_rng(1).integers(0, SMALL["vocab"], (SMALL["batch"], SMALL["t"]))
    loss, grads = np_gpt_loss_and_grads(params, tokens, tokens.ravel(), SMALL["heads"])
    assert loss.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)  # no promotion on the way
    assert step().dtype == np.float32 and all(p.dtype == np.float32 for p in params)
