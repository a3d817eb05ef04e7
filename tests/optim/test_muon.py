"""Muon against a NumPy transcription of torch.optim.Muon's algorithm (exact, float64) and against torch itself
(bfloat16 Newton-Schulz there: agreement to about 1e-2), its options and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
from lucid import optim

CONFIGS = [{}, {"lr": 0.02, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0},
           {"lr": 0.01, "adjust_lr_fn": "match_rms_adamw", "ns_steps": 3, "ns_coefficients": (3.0, -4.0, 2.0)},
           {"lr": 0.01, "adjust_lr_fn": "original", "eps": 1e-3}]


def _reference(p, grads, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
               ns_coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None):
    """torch.optim.Muon's single-tensor step in NumPy float64, step after step."""
    p, buf, a, b, c = p.copy(), np.zeros_like(p), *ns_coefficients
    for g in grads:
        buf = buf + (1 - momentum) * (g - buf)
        u = g + momentum * (buf - g) if nesterov else buf
        x = u.T if u.shape[0] > u.shape[1] else u
        x = x / max(np.linalg.norm(x), eps)
        for _ in range(ns_steps):
            gram = x @ x.T
            x = a * x + (b * gram + c * gram @ gram) @ x
        x = x.T if u.shape[0] > u.shape[1] else x
        rows, cols = p.shape
        adamw = adjust_lr_fn == "match_rms_adamw"
        ratio = 0.2 * math.sqrt(max(rows, cols)) if adamw else math.sqrt(max(1, rows / cols))
        p = p * (1 - lr * weight_decay) - lr * ratio * x
    return p


@pytest.mark.parametrize("kwargs", CONFIGS)
@pytest.mark.parametrize("shape", [(5, 3), (3, 6)])
def test_matches_the_algorithm(device, rng, kwargs, shape):
    init = rng.standard_normal(shape)
    grads = [rng.standard_normal(shape) for _ in range(4)]
    p = lucid.tensor(init.copy(), device=device, requires_grad=True)
    opt = optim.Muon([p], **kwargs)
    for g in grads:
        p.grad = lucid.tensor(g, device=device)
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(force=True), _reference(init, grads, **kwargs), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_close_to_torch(device, rng, kwargs):
    torch = pytest.importorskip("torch")
    init, grads = rng.standard_normal((6, 4)), [rng.standard_normal((6, 4)) for _ in range(3)]
    p = lucid.tensor(init.copy(), device=device, requires_grad=True)
    q = torch.tensor(init.copy(), requires_grad=True)
    ours, theirs = optim.Muon([p], **kwargs), torch.optim.Muon([q], **kwargs)
    for g in grads:
        p.grad, q.grad = lucid.tensor(g, device=device), torch.tensor(g)
        ours.step()
        theirs.step()
    step_ours, step_theirs = p.detach().numpy(force=True) - init, q.detach().numpy() - init
    assert np.abs(step_ours - step_theirs).max() <= 0.03 * np.abs(step_theirs).max()


def test_bad_parameters_and_options(device):
    vec = lucid.tensor(np.zeros(3), device=device, requires_grad=True)
    mat = lucid.tensor(np.zeros((2, 2)), device=device, requires_grad=True)
    with pytest.raises(ValueError, match="2D parameters"):
        optim.Muon([vec])
    for kwargs, match in [({"lr": -1.0}, "lr"), ({"adjust_lr_fn": "other"}, "not supported"),
                          ({"ns_steps": 100}, "less than 100"), ({"ns_coefficients": (1.0, 2.0)}, "exactly 3")]:
        with pytest.raises(ValueError, match=match):
            optim.Muon([mat], **kwargs)
