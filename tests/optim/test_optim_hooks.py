"""Optimizer hooks (step pre/post per optimizer and global, state_dict and load_state_dict pre/post), with
PyTorch's call order, argument forms and return-value rules."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
from lucid import optim
from lucid.optim import optimizer as optimizer_module


def _problem(device):
    p = lucid.tensor(np.array([1.0, -2.0]), device=device, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    return p, opt, closure


def test_step_hooks_order_and_removal(device):
    p, opt, closure = _problem(device)
    calls = []
    h1 = optimizer_module.register_optimizer_step_pre_hook(lambda o, a, k: calls.append(("global pre", o is opt)))
    h2 = optimizer_module.register_optimizer_step_post_hook(lambda o, a, k: calls.append(("global post", o is opt)))
    h3 = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", p.grad is not None)))
    h4 = opt.register_step_post_hook(lambda o, a, k: calls.append(("post", float(p.detach()[0].item()))))
    try:
        closure()
        opt.step()
        assert calls == [("global pre", True), ("pre", True), ("post", pytest.approx(0.8)), ("global post", True)]
        for h in (h1, h2, h3, h4):
            h.remove()
        calls.clear()
        closure()
        opt.step()
        assert calls == []
    finally:
        for h in (h1, h2):
            h.remove()


def test_step_pre_hook_can_replace_arguments(device):
    p, opt, closure = _problem(device)
    seen = []
    opt.register_step_pre_hook(lambda o, args, kwargs: ((), {"closure": closure}))
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append((args, sorted(kwargs))))
    loss = opt.step()  # no closure given: the hook supplies it
    assert float(loss.item()) == pytest.approx(5.0)
    assert seen == [((), ["closure"])]
    np.testing.assert_allclose(p.detach().numpy(force=True), [0.8, -1.6])


def test_step_pre_hook_bad_return_raises_before_the_step(device):
    p, opt, closure = _problem(device)
    opt.register_step_pre_hook(lambda o, a, k: "nonsense")
    closure()
    with pytest.raises(RuntimeError, match="pre-hook must return None or a tuple"):
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(force=True), [1.0, -2.0])  # not updated


def test_hooks_run_once_for_a_step_that_calls_super(device):
    class Wrapped(optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    p = lucid.tensor(np.array([1.0]), device=device, requires_grad=True)
    opt = Wrapped([p], lr=0.1)
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    (p * p).sum().backward()
    opt.step()
    assert calls == ["pre", "post"]


def test_state_dict_hooks(device):
    p, opt, closure = _problem(device)
    calls = []
    opt.register_state_dict_pre_hook(lambda o: calls.append("pre"))
    opt.register_state_dict_post_hook(lambda o, sd: calls.append("post") or {**sd, "extra": 1})
    opt.register_state_dict_pre_hook(lambda o: calls.append("first"), prepend=True)
    sd = opt.state_dict()
    assert calls == ["first", "pre", "post"] and sd["extra"] == 1


def test_load_state_dict_hooks(device):
    p, opt, closure = _problem(device)
    sd = opt.state_dict()
    calls = []

    def pre(o, state_dict):
        calls.append("pre")
        state_dict = {k: v for k, v in state_dict.items() if k != "extra"}
        state_dict["param_groups"][0]["lr"] = 0.5
        return state_dict

    opt.register_load_state_dict_pre_hook(pre)
    handle = opt.register_load_state_dict_post_hook(lambda o: calls.append(("post", o.param_groups[0]["lr"])))
    opt.load_state_dict({**sd, "extra": "dropped by the pre-hook"})
    assert calls == ["pre", ("post", 0.5)]
    handle.remove()
    calls.clear()
    opt.load_state_dict(sd)
    assert calls == ["pre"]


def test_hooks_are_not_copied(device):
    import copy

    p, opt, closure = _problem(device)
    opt.register_step_pre_hook(lambda o, a, k: None)
    assert len(copy.deepcopy(opt)._optimizer_step_pre_hooks) == 0


def test_non_callable_hook_is_rejected(device):
    p, opt, closure = _problem(device)
    with pytest.raises(TypeError, match="callable"):
        opt.register_step_pre_hook(3)
