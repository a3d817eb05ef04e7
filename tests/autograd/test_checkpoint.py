"""lucid.utils.checkpoint: results and gradients equal to the plain call (dropout included, the
random state being replayed), parameters-only segments, checkpoint_sequential."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.nn as nn
from lucid.utils.checkpoint import checkpoint, checkpoint_sequential


def _model(device):
    lucid.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Tanh(), nn.Linear(8, 8), nn.Dropout(0.3),
                         nn.Linear(8, 2)).to(device)


def _run(model, x, call):
    """Output, input gradient and parameter gradients of ``call(model, x)`` from a fixed seed."""
    model.zero_grad()
    x = x.detach().requires_grad_()
    lucid.manual_seed(1)
    out = call(model, x)
    (out * out).sum().backward()
    return [out.detach().numpy(force=True), x.grad.numpy(force=True),
            *(p.grad.numpy(force=True) for p in model.parameters())]


def _assert_same(got, want):
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_checkpoint_matches_the_plain_call_with_dropout(device, use_reentrant):
    model = _model(device)
    x = lucid.randn(5, 4, device=device)
    plain = _run(model, x, lambda m, a: m(a))
    _assert_same(_run(model, x, lambda m, a: checkpoint(m, a, use_reentrant=use_reentrant)), plain)
    _assert_same(_run(model, x, lambda m, a: checkpoint_sequential(m, 3, a, use_reentrant=use_reentrant)), plain)


def test_without_preserving_the_rng_state_the_masks_differ(device):
    model = _model(device)
    x = lucid.randn(5, 4, device=device)
    plain = _run(model, x, lambda m, a: m(a))
    got = _run(model, x, lambda m, a: checkpoint(m, a, use_reentrant=False, preserve_rng_state=False))
    np.testing.assert_allclose(got[0], plain[0])  # the forward is the same draw
    assert not all(np.allclose(a, b) for a, b in zip(got[1:], plain[1:]))  # the recomputation drew new masks


def test_backward_leaves_the_random_state_where_it_was(device):
    model = _model(device)
    x = lucid.randn(5, 4, device=device)
    lucid.manual_seed(3)
    out = checkpoint(model, x, use_reentrant=False)
    state = lucid.random.get_rng_state(str(device))
    out.sum().backward()
    assert lucid.equal(lucid.random.get_rng_state(str(device)), state)


def test_parameters_only_kwargs_and_mixed_outputs(device):
    w = lucid.tensor([1.0, 2.0], device=device, requires_grad=True)
    x = lucid.tensor([3.0, 4.0], device=device)  # does not require grad: only w gets a gradient

    def segment(a, scale=1.0):
        return (a * w).sin() * scale, (a > 3.5), "label"

    out, mask, label = checkpoint(segment, x, scale=2.0, use_reentrant=False)
    assert label == "label" and not mask.requires_grad and out.requires_grad
    out.sum().backward()
    want = (2.0 * np.cos(np.array([3.0, 8.0])) * np.array([3.0, 4.0]))
    np.testing.assert_allclose(w.grad.numpy(force=True), want, rtol=1e-6)


def test_nothing_requiring_grad_and_no_grad_mode(device):
    x = lucid.ones(2, device=device)
    assert not checkpoint(lambda a: a * 2, x, use_reentrant=False).requires_grad
    w = lucid.ones(2, device=device, requires_grad=True)
    with lucid.no_grad():
        assert not checkpoint(lambda a: a * w, x, use_reentrant=False).requires_grad


def test_reentrant_differences_kept_as_torch(device):
    """use_reentrant=True (the default when left out, with a warning): no argument requiring grad gives an output
    without gradient (PyTorch's warning; the parameters inside get none), and keyword arguments are refused."""
    model = _model(device)
    x = lucid.randn(5, 4, device=device)
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        assert not checkpoint(model, x, use_reentrant=True).requires_grad
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        assert checkpoint(model, x.requires_grad_()).requires_grad
    assert checkpoint(model, x, use_reentrant=False).requires_grad
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        checkpoint(lambda a, scale: a * scale, x, scale=2.0, use_reentrant=True)


def test_bad_arguments_raise(device):
    with pytest.raises(TypeError, match="callable"):
        checkpoint(3, lucid.ones(1, device=device))
    with pytest.raises(ValueError, match="segments"):
        checkpoint_sequential([], 2, lucid.ones(1, device=device))


def test_parameter_gradients_reach_autograd_grad_and_hooks(device):
    model = _model(device)
    x = lucid.randn(5, 4, device=device, requires_grad=True)
    params = list(model.parameters())
    lucid.manual_seed(1)
    want = lucid.autograd.grad((model(x) ** 2).sum(), [x, *params])
    posted = []
    for p in params:
        p.register_post_accumulate_grad_hook(lambda p: posted.append(p))
    lucid.manual_seed(1)
    got = lucid.autograd.grad((checkpoint(model, x, use_reentrant=False) ** 2).sum(), [x, *params])
    _assert_same([g.numpy(force=True) for g in got], [g.numpy(force=True) for g in want])
    assert all(p.grad is None for p in params) and not posted  # autograd.grad touches no .grad
    lucid.manual_seed(1)
    (checkpoint(model, x, use_reentrant=False) ** 2).sum().backward()
    assert len(posted) == len(params)


def test_double_backward_through_a_checkpoint(device):
    x = lucid.tensor([0.5, 1.5], dtype=lucid.float64, device=device, requires_grad=True)
    (g,) = lucid.autograd.grad(checkpoint(lambda a: (a ** 3).sum(), x, use_reentrant=False), x, create_graph=True)
    (gg,) = lucid.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(force=True), [3.0, 9.0])
