"""Adafactor against torch.optim.Adafactor (trajectories on matrices, vectors and scalars, every option), its
state, foreach being ignored, bad options; SparseAdam's refusal of dense gradients."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
from lucid import optim

torch = pytest.importorskip("torch")

CONFIGS = [
    {},
    {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-20, 1e-2), "d": 2.0, "weight_decay": 0.1, "maximize": True},
    {"lr": 0.2, "weight_decay": 0.01, "foreach": True},
]


def _problem(rng, dtype):
    init = [rng.standard_normal(s).astype(dtype) for s in [(4, 5), (2, 3, 4), (5,), ()]]
    targets = [rng.standard_normal(x.shape).astype(dtype) for x in init]

    def loss(params, const):
        return sum(((p - const(t)) ** 4).sum() for p, t in zip(params, targets))

    return init, loss


@pytest.mark.parametrize("kwargs", CONFIGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trajectory_matches_torch(device, kwargs, dtype):
    init, loss = _problem(np.random.default_rng(0), dtype)
    ours = [lucid.tensor(x.copy(), device=device, requires_grad=True) for x in init]
    theirs = [torch.tensor(x.copy(), requires_grad=True) for x in init]
    o_opt = optim.Adafactor(ours, **kwargs)
    t_opt = torch.optim.Adafactor(theirs, **kwargs)
    tol = 1e-5 if dtype == np.float32 else 1e-11
    for step in range(6):
        for opt, params, const in ((o_opt, ours, lambda v: lucid.tensor(v, device=device)),
                                   (t_opt, theirs, torch.tensor)):
            opt.zero_grad()
            loss(params, const).backward()
            opt.step()
        for mine, ref in zip(ours, theirs):
            np.testing.assert_allclose(mine.detach().numpy(force=True), ref.detach().numpy(), rtol=tol, atol=tol,
                                       err_msg=f"step {step + 1}")
    state = o_opt.state[ours[0]]
    assert state["step"] == 6 and state["row_var"].shape == (4, 1) and state["col_var"].shape == (1, 5)
    assert o_opt.state[ours[2]]["variance"].shape == (5,)


def test_state_dict_round_trip(device, rng):
    p = lucid.tensor(rng.standard_normal((3, 2)), device=device, requires_grad=True)
    opt = optim.Adafactor([p])
    (p * p).sum().backward()
    opt.step()
    other = optim.Adafactor([lucid.tensor(np.zeros((3, 2)), device=device, requires_grad=True)])
    other.load_state_dict(opt.state_dict())
    q = other.param_groups[0]["params"][0]
    for key in ("row_var", "col_var"):
        np.testing.assert_array_equal(other.state[q][key].numpy(force=True), opt.state[p][key].numpy(force=True))
    bad = optim.Adafactor([lucid.tensor(np.zeros((2, 3)), device=device, requires_grad=True)])
    with pytest.raises(ValueError, match=r"needs \(2, 1\)"):
        bad.load_state_dict(opt.state_dict())


@pytest.mark.parametrize("kwargs,match", [({"lr": -1.0}, "lr"), ({"beta2_decay": 0.5}, "beta2_decay"),
                                          ({"eps": (-1.0, 1e-3)}, "epsilon1"), ({"eps": (None, -1.0)}, "epsilon2"),
                                          ({"d": 0.5}, "Clipping"), ({"weight_decay": -0.1}, "weight_decay"),
                                          ({"eps": (1.0,)}, "pair")])
def test_bad_options(device, kwargs, match):
    p = lucid.tensor(np.zeros(2), device=device, requires_grad=True)
    with pytest.raises(ValueError, match=match):
        optim.Adafactor([p], **kwargs)


def test_sparse_adam_refuses_a_dense_gradient(device):
    p = lucid.tensor(np.zeros(2), device=device, requires_grad=True)
    p.sum().backward()
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients, please consider Adam"):
        optim.SparseAdam([p]).step()
