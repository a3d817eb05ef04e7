"""optim.swap_in_optimizer_params_and_state against torch's: the step inside acts on the swap-in parameters
and state, the live ones come back untouched, bad input raises before anything changes."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import lucid
from lucid import optim

torch = pytest.importorskip("torch")


def _setup(lib, device, init, grad, foreach):
    tensor = (lambda a: lucid.tensor(a.copy(), device=device)) if lib is lucid else (lambda a: torch.tensor(a.copy()))
    p = tensor(init).requires_grad_()
    opt = lib.optim.Adam([p], lr=0.1, foreach=foreach)
    p.grad = tensor(grad)
    opt.step()
    return p, opt, tensor


@pytest.mark.parametrize("foreach", [False, True])
def test_matches_torch(device, rng, foreach):
    init, g1, g2 = (rng.standard_normal((3, 2)) for _ in range(3))
    results = []
    for lib in (lucid, torch):
        as_np = (lambda t: t.detach().cpu().numpy().copy()) if lib is torch else \
            (lambda t: t.detach().numpy(force=True).copy())
        p, opt, tensor = _setup(lib, device, init, g1, foreach)
        live = [as_np(p), as_np(opt.state[p]["exp_avg"]), as_np(opt.state[p]["exp_avg_sq"])]
        swap_p = tensor(init * 2).requires_grad_()
        sd = opt.state_dict()
        swap_sd = {"state": {0: {k: (v.clone() if hasattr(v, "clone") else v) for k, v in sd["state"][0].items()}},
                   "param_groups": [dict(sd["param_groups"][0], lr=0.5)]}
        with lib.optim.swap_in_optimizer_params_and_state(opt, {"w": swap_p}, swap_sd):
            assert opt.param_groups[0]["params"][0] is swap_p and opt.param_groups[0]["lr"] == 0.5
            swap_p.grad = tensor(g2)
            opt.step()
        assert opt.param_groups[0]["params"][0] is p and opt.param_groups[0]["lr"] == 0.1
        for before, after in zip(live, [p, opt.state[p]["exp_avg"], opt.state[p]["exp_avg_sq"]]):
            np.testing.assert_array_equal(before, as_np(after))  # the live parameter and state are untouched
        results.append((as_np(swap_p), as_np(swap_sd["state"][0]["exp_avg"])))  # in-place state edits propagate
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_bad_input(device, rng):
    p = lucid.tensor(rng.standard_normal(2), device=device, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    with pytest.raises(RuntimeError, match="initialized optimizer state"):
        with optim.swap_in_optimizer_params_and_state(opt, {"w": p}, opt.state_dict()):
            pass
    p.grad = lucid.ones_like(p)
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    for params, state, match in [({"w": p, "v": p}, sd, "one swap-in parameter"),
                                 ({"w": p}, {**sd, "state": {0: {}, 7: {}}}, "extra keys"),
                                 ({"w": p}, {"state": {}}, "param_groups"),
                                 ({"w": p}, [1], "state_dict")]:
        with pytest.raises(RuntimeError, match=match):
            with optim.swap_in_optimizer_params_and_state(opt, params, state):
                pass
        assert opt.param_groups[0]["params"][0] is p
