"""Optimizer state dicts interchange with PyTorch's both ways: lucid's ``state_dict()`` has torch's structure
(group options with their defaults, per-parameter state names, scalar state such as ``step`` as 0-d float32 CPU
tensors, array state shaped and typed like the parameter), so a dict saved by lucid, converted to torch tensors,
loads into ``torch.optim`` and continues the same trajectory, and torch's loads into lucid the same way."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import lucid
from lucid import optim

torch = pytest.importorskip("torch")

# every optimizer both libraries have, with options that reach each state entry
CASES = [
    ("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("ASGD", {"lr": 0.05, "t0": 2}), ("Adam", {"lr": 0.05}), ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05}), ("Adamax", {"lr": 0.05}), ("NAdam", {"lr": 0.05}),
    ("NAdam", {"lr": 0.05, "decoupled_weight_decay": True, "weight_decay": 0.1}), ("RAdam", {"lr": 0.05}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}), ("Adadelta", {}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}), ("Rprop", {}), ("Adafactor", {}),
    ("Muon", {"lr": 0.02}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]
SHAPES = [(3, 4), (4,), (2, 5)]
MATRICES = [(3, 4), (5, 2), (2, 5)]  # Muon takes 2-D parameters only
# Muon orthogonalises in bfloat16 in PyTorch and in the parameter's dtype in lucid: its steps agree to ~1e-2
TOLERANCE = {"Muon": 5e-2}
# PyTorch's load_state_dict casts every state tensor but ``step`` to the parameter's dtype, so after loading, its
# ASGD's eta/mu and NAdam's mu_product are float64 and no longer rounded to float32 as a fresh optimizer's are;
# lucid keeps the float32 of a fresh optimizer, and the two differ by that rounding
TORCH_LOADED_TOLERANCE = {**TOLERANCE, "NAdam": 1e-9, "ASGD": 1e-9}


def host(t):
    return np.array(t.detach().numpy(force=True), copy=True)


def to_torch(value):
    """A lucid state dict (or any part of one) with every lucid Tensor made a torch tensor of the same dtype."""
    if isinstance(value, lucid.Tensor):
        return torch.from_numpy(host(value))
    if isinstance(value, dict):
        return {k: to_torch(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_torch(v) for v in value)
    return value


def to_lucid(value, device=None):
    """A torch state dict with every torch tensor made a lucid Tensor (on ``device``)."""
    if isinstance(value, torch.Tensor):
        return lucid.tensor(value.detach().numpy().copy(), device=device)
    if isinstance(value, dict):
        return {k: to_lucid(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_lucid(v, device) for v in value)
    return value


def _init(seed=0, name=""):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in (MATRICES if name == "Muon" else SHAPES)]


def _set_grads(params, k, make):
    """The same gradients in both libraries: computed on the host from the parameter's current values."""
    for i, p in enumerate(params):
        p.grad = make(np.sin(host(p) * (k + 2)) + 0.1 * i)


def _lucid(name, kwargs, values, device=None):
    params = [lucid.tensor(v.copy(), device=device, requires_grad=True) for v in values]
    return params, getattr(optim, name)(params, **kwargs)


def _torch(name, kwargs, values):
    params = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    return params, getattr(torch.optim, name)(params, **kwargs)


def _steps(params, opt, ks, make):
    for k in ks:
        _set_grads(params, k, make)
        opt.step()


def _describe(value):
    """What the structure comparison looks at: a tensor's kind, shape, dtype name and device type; a number's
    being a number; anything else as it is."""
    if isinstance(value, (lucid.Tensor, torch.Tensor)):
        dtype = str(value.dtype).rsplit(".", 1)[-1]
        return ("tensor", tuple(value.shape), dtype, value.device.type)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return ("number", value)
    return value


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_state_dict_structure_matches_torch(name, kwargs):
    """After two steps: the same groups (keys in the same order, the same values, PyTorch's defaults for the
    implementation switches) and the same state entries (order, shapes, dtypes, devices)."""
    values = _init(0, name)
    ours, o_opt = _lucid(name, kwargs, values)
    theirs, t_opt = _torch(name, kwargs, values)
    _steps(ours, o_opt, range(2), lucid.tensor)
    _steps(theirs, t_opt, range(2), torch.tensor)
    mine, ref = o_opt.state_dict(), t_opt.state_dict()
    assert list(mine) == list(ref)
    for g, h in zip(mine["param_groups"], ref["param_groups"]):
        assert list(g) == list(h)
        assert {k: _describe(v) for k, v in g.items()} == {k: _describe(v) for k, v in h.items()}
    assert list(mine["state"]) == list(ref["state"])
    for i in ref["state"]:
        assert list(mine["state"][i]) == list(ref["state"][i])
        assert [_describe(v) for v in mine["state"][i].values()] == [_describe(v) for v in ref["state"][i].values()]


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_scalar_state_values_match_torch(name, kwargs):
    """The scalar entries (step, ASGD's eta and mu, NAdam's mu_product) hold torch's values exactly, float32
    rounding included, and sit on the CPU as 0-d float32 tensors."""
    values = _init(1, name)
    ours, o_opt = _lucid(name, kwargs, values)
    theirs, t_opt = _torch(name, kwargs, values)
    _steps(ours, o_opt, range(5), lucid.tensor)
    _steps(theirs, t_opt, range(5), torch.tensor)
    for p, q in zip(ours, theirs):
        for key in o_opt.scalar_state:
            mine, ref = o_opt.state[p][key], t_opt.state[q][key]
            assert mine.shape == () and mine.dtype is lucid.float32 and mine.device.type == "cpu"
            assert mine.item() == ref.item(), key


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_lucid_state_dict_loads_into_torch_and_continues(device, name, kwargs):
    """N steps in lucid, its state dict converted to torch tensors and loaded into torch's optimizer on the same
    parameter values, then M more steps in both: the parameters agree."""
    values = _init(2, name)
    ours, o_opt = _lucid(name, kwargs, values, device)
    _steps(ours, o_opt, range(4), lambda a: lucid.tensor(a, device=device))
    theirs, t_opt = _torch(name, kwargs, [host(p) for p in ours])
    t_opt.load_state_dict(to_torch(o_opt.state_dict()))
    _steps(ours, o_opt, range(4, 10), lambda a: lucid.tensor(a, device=device))
    _steps(theirs, t_opt, range(4, 10), torch.tensor)
    tol = TORCH_LOADED_TOLERANCE.get(name, 1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(host(p), q.detach().numpy(), rtol=tol, atol=tol)
    for i, q in enumerate(theirs):
        if "step" in t_opt.state[q]:
            assert t_opt.state[q]["step"].item() == 10 and o_opt.state[ours[i]]["step"].item() == 10


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_torch_state_dict_loads_into_lucid_and_continues(device, name, kwargs):
    """The other way: N steps in torch, loaded into lucid (scalar state back on the CPU as 0-d float32 Tensors,
    array state on the parameter's device), M more steps in both."""
    values = _init(3, name)
    theirs, t_opt = _torch(name, kwargs, values)
    _steps(theirs, t_opt, range(4), torch.tensor)
    ours, o_opt = _lucid(name, kwargs, [q.detach().numpy() for q in theirs], device)
    o_opt.load_state_dict(to_lucid(t_opt.state_dict(), device))
    for p in ours:
        for key, value in o_opt.state[p].items():
            on_cpu = key in o_opt.scalar_state
            assert value.device.type == "cpu" if on_cpu else value.device == p.device, key
    _steps(ours, o_opt, range(4, 10), lambda a: lucid.tensor(a, device=device))
    _steps(theirs, t_opt, range(4, 10), torch.tensor)
    tol = TOLERANCE.get(name, 1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(host(p), q.detach().numpy(), rtol=tol, atol=tol)


def test_lbfgs_state_dict_loads_into_torch_and_continues():
    """LBFGS keeps its history on the first parameter; lucid's converted state dict resumes torch's search."""
    rng = np.random.default_rng(4)
    a, c = rng.uniform(0.5, 2.0, 6), rng.standard_normal(6)

    def run(lib, opt, p, iterations):
        const = lucid.tensor if lib is lucid else torch.tensor

        def closure():
            opt.zero_grad()
            loss = (const(a) * (p - const(c)) ** 4).sum()
            loss.backward()
            return loss

        for _ in range(iterations):
            opt.step(closure)

    kwargs = {"lr": 0.5, "max_iter": 3, "history_size": 4, "line_search_fn": "strong_wolfe"}
    p = lucid.tensor(rng.standard_normal(6), requires_grad=True)
    o_opt = optim.LBFGS([p], **kwargs)
    run(lucid, o_opt, p, 2)
    q = torch.tensor(host(p), requires_grad=True)
    t_opt = torch.optim.LBFGS([q], **kwargs)
    sd = o_opt.state_dict()
    assert set(sd["state"][0]) == {"func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag",
                                   "prev_flat_grad", "prev_loss", "al"}
    t_opt.load_state_dict(to_torch(sd))
    run(lucid, o_opt, p, 2)
    run(torch, t_opt, q, 2)
    np.testing.assert_allclose(host(p), q.detach().numpy(), rtol=1e-9, atol=1e-12)
    assert t_opt.state[q]["n_iter"] == o_opt.state[p]["n_iter"]


def test_step_is_updated_in_place_as_torch():
    """``state[p]["step"]`` is one Tensor for the optimizer's life, counted up in place (as PyTorch's
    ``step_t += 1``), so a reference taken earlier, or a state dict not deep-copied, sees later steps."""
    for lib in (lucid, torch):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        opt = lib.optim.Adam([p], lr=0.1)
        p.grad = lib.ones(2)
        opt.step()
        step, saved, snapshot = opt.state[p]["step"], opt.state_dict(), copy.deepcopy(opt.state_dict())
        opt.step()
        assert opt.state[p]["step"] is step and step.item() == 2
        assert saved["state"][0]["step"].item() == 2 and snapshot["state"][0]["step"].item() == 1


def test_scalar_state_follows_a_float64_default_dtype():
    """PyTorch makes scalar state float64 when the default dtype is float64; lucid does the same."""
    previous = lucid.get_default_dtype(), torch.get_default_dtype()
    try:
        lucid.set_default_dtype(lucid.float64)
        torch.set_default_dtype(torch.float64)
        for lib in (lucid, torch):
            p = lib.tensor([1.0, 2.0], requires_grad=True)
            opt = lib.optim.NAdam([p], lr=0.1)
            p.grad = lib.ones(2)
            opt.step()
            assert str(opt.state[p]["step"].dtype).endswith("float64")
            assert str(opt.state[p]["mu_product"].dtype).endswith("float64")
    finally:
        lucid.set_default_dtype(previous[0])
        torch.set_default_dtype(previous[1])


def test_state_dict_survives_lucid_save_and_load(tmp_path, device):
    """A state dict written with ``lucid.save`` and read back loads into a fresh optimizer, which then steps
    exactly as the one it came from."""
    values = _init(5)
    ours, opt = _lucid("NAdam", {"lr": 0.05}, values, device)
    make = lambda a: lucid.tensor(a, device=device)  # noqa: E731
    _steps(ours, opt, range(3), make)
    lucid.save(opt.state_dict(), tmp_path / "opt.lcd")
    again, opt2 = _lucid("NAdam", {"lr": 0.05}, [host(p) for p in ours], device)
    opt2.load_state_dict(lucid.load(tmp_path / "opt.lcd"))
    assert opt2.state[again[0]]["step"].dtype is lucid.float32
    _steps(ours, opt, range(3, 6), make)
    _steps(again, opt2, range(3, 6), make)
    for p, q in zip(ours, again):
        np.testing.assert_array_equal(host(p), host(q))


def test_an_older_lucid_state_dict_still_loads(device):
    """State dicts saved before scalar state became Tensors (``step`` a Python int, no ``capturable``/
    ``differentiable``/``fused`` options) load, take the current form, and resume the same trajectory."""
    values = _init(6)
    ours, opt = _lucid("Adam", {"lr": 0.05}, values, device)
    make = lambda a: lucid.tensor(a, device=device)  # noqa: E731
    _steps(ours, opt, range(3), make)
    old = copy.deepcopy(opt.state_dict())
    for state in old["state"].values():
        state["step"] = int(state["step"].item())
    for group in old["param_groups"]:
        for key in ("capturable", "differentiable", "fused"):
            del group[key]
    again, opt2 = _lucid("Adam", {"lr": 0.05}, [host(p) for p in ours], device)
    opt2.load_state_dict(old)
    step = opt2.state[again[0]]["step"]
    assert step.dtype is lucid.float32 and step.device.type == "cpu" and step.item() == 3
    assert opt2.param_groups[0]["fused"] is None and opt2.param_groups[0]["capturable"] is False
    _steps(ours, opt, range(3, 6), make)
    _steps(again, opt2, range(3, 6), make)
    for p, q in zip(ours, again):
        np.testing.assert_array_equal(host(p), host(q))
