"""A third hunt over lucid.optim against PyTorch 2.13: a parameter listed twice in one group (a warning, kept and
updated once per listing; twice across groups raises), ``capturable=True`` on parameters off the GPU (an
AssertionError at the first step with a gradient), and LBFGS's ``H_diag`` (1 before any history, then a 0-d
Tensor)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lucid
from lucid import optim

torch = pytest.importorskip("torch")

CAPTURABLE = ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "ASGD", "Adadelta", "RMSprop", "Rprop"]


def _pair(lib, device=None):
    kw = {} if device is None else {"device": device}
    return (lib.nn.Parameter(lib.ones(2, dtype=lib.float64, **kw)),
            lib.nn.Parameter(lib.ones(3, dtype=lib.float64, **kw)))


def _run_listed_twice(lib, name, foreach, device=None):
    p, q = _pair(lib, device)
    kw = {} if device is None else {"device": device}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt = getattr(lib.optim, name)([p, q, p], lr=0.1, foreach=foreach)
    for step in range(3):
        p.grad = lib.full((2,), 1.0 + step, dtype=lib.float64, **kw)
        q.grad = lib.ones(3, dtype=lib.float64, **kw)
        opt.step()
    messages = [(w.category, str(w.message)) for w in caught]
    return opt, [p.tolist(), q.tolist()], messages


@pytest.mark.parametrize("name", ["SGD", "Adam"])
@pytest.mark.parametrize("foreach", [False, True])
def test_a_parameter_listed_twice_warns_and_is_updated_per_listing(device, name, foreach):
    opt, values, messages = _run_listed_twice(lucid, name, foreach, device)
    t_opt, t_values, t_messages = _run_listed_twice(torch, name, False)  # torch's for-loop is the reference
    assert messages == t_messages and messages[0][0] is UserWarning
    assert "duplicate parameters" in messages[0][1]
    np.testing.assert_allclose(values[0], t_values[0], rtol=1e-12)
    np.testing.assert_allclose(values[1], t_values[1], rtol=1e-12)
    assert len(opt.param_groups[0]["params"]) == 3
    # the state dict numbers parameters by position, a twice-listed one by its last listing, and loads back
    saved = opt.state_dict()
    assert saved["param_groups"][0]["params"] == t_opt.state_dict()["param_groups"][0]["params"] == [2, 1, 2]
    assert sorted(saved["state"]) == sorted(t_opt.state_dict()["state"])
    opt.load_state_dict(saved)


def test_add_param_group_with_a_duplicate_warns_and_across_groups_raises():
    for lib in (lucid, torch):
        p, q = _pair(lib)
        opt = lib.optim.SGD([p], lr=0.1)
        with pytest.warns(UserWarning, match="duplicate parameters; in future, this will cause an error"):
            opt.add_param_group({"params": [q, q]})
        with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
            opt.add_param_group({"params": [p]})
        with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
            lib.optim.Adam([{"params": [p]}, {"params": [q, p]}])
        assert len(opt.param_groups) == 2


@pytest.mark.parametrize("name", CAPTURABLE)
def test_capturable_on_cpu_parameters_raises_at_step_as_torch(name):
    for lib in (lucid, torch):
        p = lib.nn.Parameter(lib.ones(2, 2))
        opt = getattr(lib.optim, name)([p], lr=0.1, capturable=True)
        opt.step()  # no gradient yet: nothing to check, as torch
        p.grad = lib.ones(2, 2)
        with pytest.raises(AssertionError) as caught:
            opt.step()
        assert str(caught.value).startswith("If capturable=True, params")
        assert p.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    what = {"NAdam": "params, mu_products and state_steps", "ASGD": "params, mus, etas, and state_steps"}
    assert f"If capturable=True, {what.get(name, 'params and state_steps')} must be on supported devices: ['cuda']" \
        in str(caught.value).replace("['cuda', 'xpu', 'hpu', 'privateuseone', 'xla']", "['cuda']") \
        .replace("['cuda', 'xpu', 'hpu', 'privateuseone']", "['cuda']")


def test_capturable_on_a_non_cuda_device_raises(device):
    p = lucid.nn.Parameter(lucid.ones(2, device=device))
    opt = optim.Adam([p], lr=0.1, capturable=True)
    p.grad = lucid.ones(2, device=device)
    if lucid.device(device).type == "cuda":
        opt.step()
        return
    with pytest.raises(AssertionError, match=r"Parameter 0 of group 0 is on .*capturable=False"):
        opt.step()


def test_lbfgs_h_diag_is_one_then_a_0d_tensor_as_torch():
    def run(lib, max_iter):
        p = lib.nn.Parameter(lib.tensor([1.0, 2.0]))
        opt = lib.optim.LBFGS([p], max_iter=max_iter)

        def closure():
            opt.zero_grad()
            loss = ((p - 3) ** 2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        return opt.state[p]["H_diag"]

    for max_iter in (1, 3):
        mine, theirs = run(lucid, max_iter), run(torch, max_iter)
        assert type(mine).__name__ == type(theirs).__name__
        if isinstance(theirs, torch.Tensor):
            assert tuple(mine.shape) == tuple(theirs.shape) == () and mine.dtype is lucid.float32
            assert float(mine) == pytest.approx(float(theirs), rel=1e-6)
        else:
            assert mine == theirs == 1
