"""lucid.optim.swa_utils against torch.optim.swa_utils: AveragedModel (SWA, EMA, custom avg_fn /
multi_avg_fn, use_buffers), update_bn and SWALR."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
from lucid import nn, optim
from lucid.optim import swa_utils

torch = pytest.importorskip("torch")


def _models(device):
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)).to(device).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2)).double()
    _copy_into(ours, theirs)
    return ours, theirs


def _copy_into(ours, theirs):
    """Give the torch model the lucid model's parameters and buffers."""
    with torch.no_grad():
        for t, l_ in zip(theirs.state_dict().values(), ours.state_dict().values()):
            t.copy_(torch.from_numpy(np.array(l_.numpy(force=True))))


def _perturb_and_run(ours, theirs, rng):
    """New random parameters in both models, and one training-mode forward (moves the BN statistics)."""
    with torch.no_grad(), lucid.no_grad():
        for (_, lp), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            new = rng.standard_normal(tuple(tp.shape))
            lp.copy_(lucid.tensor(new, device=lp.device))
            tp.copy_(torch.from_numpy(new))
    x = rng.standard_normal((5, 3))
    ours(lucid.tensor(x, device=next(ours.parameters()).device))
    theirs(torch.from_numpy(x))


def _assert_same(ours, theirs):
    for (name, t), (_, l_) in zip(theirs.state_dict().items(), ours.state_dict().items()):
        np.testing.assert_allclose(l_.numpy(force=True), t.numpy(), rtol=1e-12, atol=1e-12, err_msg=name)


def _kwargs(kind, lib):
    utils = lib.optim.swa_utils
    return {
        "swa": {},
        "ema_multi": {"multi_avg_fn": utils.get_ema_multi_avg_fn(0.9)},
        "ema_buffers": {"multi_avg_fn": utils.get_ema_multi_avg_fn(0.8), "use_buffers": True},
        "ema_single": {"avg_fn": utils.get_ema_avg_fn(0.7)},
        "swa_multi": {"multi_avg_fn": utils.get_swa_multi_avg_fn()},
        "swa_buffers": {"use_buffers": True},
        "swa_single": {"avg_fn": utils.get_swa_avg_fn()},
    }[kind]


@pytest.mark.parametrize("kind", ["swa", "ema_multi", "ema_buffers", "ema_single", "swa_multi", "swa_buffers",
                                  "swa_single"])
def test_averaged_model_matches_torch(device, rng, kind):
    ours, theirs = _models(device)
    avg_ours = swa_utils.AveragedModel(ours, **_kwargs(kind, lucid))
    avg_theirs = torch.optim.swa_utils.AveragedModel(theirs, **_kwargs(kind, torch))
    for _ in range(4):
        _perturb_and_run(ours, theirs, rng)
        avg_ours.update_parameters(ours)
        avg_theirs.update_parameters(theirs)
        _assert_same(avg_ours, avg_theirs)
    assert int(avg_ours.n_averaged.item()) == 4 and avg_ours.n_averaged.dtype == lucid.int64
    x = rng.standard_normal((2, 3))
    avg_ours.eval()
    avg_theirs.eval()
    np.testing.assert_allclose(avg_ours(lucid.tensor(x, device=device)).numpy(force=True),
                               avg_theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)


def test_averaged_model_is_a_copy_and_records_no_graph(device, rng):
    ours, _ = _models(device)
    avg = swa_utils.AveragedModel(ours)
    assert all(a is not b for a, b in zip(avg.module.parameters(), ours.parameters()))
    avg.update_parameters(ours)
    avg.update_parameters(ours)
    assert all(p.grad_fn is None and p.is_leaf for p in avg.parameters())
    assert "n_averaged" in avg.state_dict()


def test_averaged_model_rejects_two_averaging_functions(device):
    ours, _ = _models(device)
    with pytest.raises(AssertionError, match="Only one"):
        swa_utils.AveragedModel(ours, avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    with pytest.raises(ValueError, match=r"\[0,1\]"):
        swa_utils.get_ema_multi_avg_fn(1.5)


def test_update_bn_matches_torch(device, rng):
    ours, theirs = _models(device)
    ours.train(False)
    theirs.train(False)
    ours[1].momentum = theirs[1].momentum = 0.3
    batches = [rng.standard_normal((4, 3)) for _ in range(3)]
    swa_utils.update_bn([(lucid.tensor(b, device=device), 0) for b in batches], ours)
    torch.optim.swa_utils.update_bn([(torch.from_numpy(b), 0) for b in batches], theirs)
    _assert_same(ours, theirs)
    assert ours[1].momentum == 0.3 and not ours.training  # restored


def test_update_bn_without_batch_norm_is_a_no_op(device, rng):
    model = nn.Linear(3, 2).to(device)
    before = model.weight.numpy(force=True).copy()
    swa_utils.update_bn([lucid.tensor(rng.standard_normal((2, 3)), dtype=lucid.float32, device=device)], model)
    np.testing.assert_array_equal(model.weight.numpy(force=True), before)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 4])
def test_swalr_matches_torch(device, strategy, anneal_epochs):
    p = lucid.tensor(np.zeros(2), device=device, requires_grad=True)
    q = torch.zeros(2, requires_grad=True)
    ours = optim.SGD([{"params": [p]}, {"params": [lucid.tensor(np.zeros(1), device=device, requires_grad=True)],
                                        "lr": 0.3}], lr=1.0)
    theirs = torch.optim.SGD([{"params": [q]}, {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}], lr=1.0)
    s_ours = swa_utils.SWALR(ours, swa_lr=[0.05, 0.1], anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    s_theirs = torch.optim.swa_utils.SWALR(theirs, swa_lr=[0.05, 0.1], anneal_epochs=anneal_epochs,
                                           anneal_strategy=strategy)
    for _ in range(7):
        assert s_ours.get_last_lr() == pytest.approx(s_theirs.get_last_lr(), rel=1e-12)
        ours.step()
        theirs.step()
        s_ours.step()
        s_theirs.step()
    assert ours.param_groups[1]["lr"] == pytest.approx(0.1)
    state = s_ours.state_dict()
    assert "optimizer" not in state and state["anneal_epochs"] == anneal_epochs
    assert s_ours.anneal_func(0.5) == pytest.approx(0.5 if strategy == "linear" else (1 - math.cos(math.pi / 2)) / 2)


def test_swalr_rejects_bad_arguments(device):
    opt = optim.SGD([lucid.tensor(np.zeros(1), device=device, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match="anneal_strategy"):
        swa_utils.SWALR(opt, 0.1, anneal_strategy="step")
    with pytest.raises(ValueError, match="anneal_epochs"):
        swa_utils.SWALR(opt, 0.1, anneal_epochs=-1)
    with pytest.raises(ValueError, match="one value per param group"):
        swa_utils.SWALR(opt, [0.1, 0.2])
