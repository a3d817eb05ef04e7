"""Differences from PyTorch found by comparing lucid's Module API and serialization with it, each pinned by a test:
``get_extra_state``/``set_extra_state``, a state dict's ``_metadata``, the deprecated positional ``state_dict`` form,
the order of unexpected keys and of load post hooks, 0-d entries saved as shape ``(1,)``, ``assign=True`` with a
Parameter, ``set_submodule``, ``bfloat16()``, ``get_parameter`` of a None parameter, ``dir()`` of containers,
``always_call`` forward hooks, ``Sequential`` ``*``/``insert``, the ModuleList repr, the dict containers' methods,
``deepcopy`` of a Parameter with a gradient and a function ``map_location``."""

from __future__ import annotations

import copy
import io
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import lucid
import lucid.nn as nn


def host(t):
    return t.detach().numpy(force=True)


class Counter(nn.Module):
    """A module with extra state (a Python int) next to a parameter."""

    def __init__(self, device=None):
        super().__init__()
        self.w = nn.Parameter(lucid.ones(2, device=device))
        self.count = 0

    def forward(self, x):
        return x * self.w

    def get_extra_state(self):
        return {"count": self.count}

    def set_extra_state(self, state):
        self.count = state["count"]


# ---- state_dict / load_state_dict --------------------------------------------------------------------
def test_extra_state_round_trips_through_state_dict_and_save(device):
    model = nn.Sequential(Counter(device), nn.Linear(2, 2, device=device))
    model[0].count = 7
    sd = model.state_dict()
    assert list(sd) == ["0.w", "0._extra_state", "1.weight", "1.bias"]
    assert sd["0._extra_state"] == {"count": 7}
    other = nn.Sequential(Counter(device), nn.Linear(2, 2, device=device))
    assert other.load_state_dict(sd) == ([], [])
    assert other[0].count == 7
    f = io.BytesIO()
    lucid.save(sd, f)
    f.seek(0)
    other[0].count = 0
    other.load_state_dict(lucid.load(f))
    assert other[0].count == 7


def test_extra_state_missing_and_unexpected_keys(device):
    result = Counter(device).load_state_dict({"w": lucid.ones(2, device=device)}, strict=False)
    assert result == (["_extra_state"], [])
    with pytest.raises(RuntimeError, match='Missing key.*"_extra_state"'):
        Counter(device).load_state_dict({"w": lucid.ones(2, device=device)})
    plain = nn.Linear(1, 1, device=device)
    sd = {**plain.state_dict(), "_extra_state": 3}
    assert plain.load_state_dict(sd, strict=False) == ([], ["_extra_state"])
    with pytest.raises(RuntimeError):
        plain.get_extra_state()


def test_state_dict_metadata_reaches_load_hooks_and_survives_save(device):
    torch = pytest.importorskip("torch")
    model = nn.Sequential(nn.Linear(1, 1, device=device))
    sd = model.state_dict()
    tsd = torch.nn.Sequential(torch.nn.Linear(1, 1)).state_dict()
    assert dict(sd._metadata) == dict(tsd._metadata) == {"": {"version": 1}, "0": {"version": 1}}
    seen = []
    model[0].register_load_state_dict_pre_hook(lambda mod, state, prefix, meta, *rest: seen.append(dict(meta)))
    model.load_state_dict(sd)
    model.load_state_dict(dict(sd))  # a plain dict has no metadata: hooks get {} (PyTorch)
    f = io.BytesIO()
    lucid.save(sd, f)
    f.seek(0)
    model.load_state_dict(lucid.load(f))
    assert seen == [{"version": 1}, {}, {"version": 1}]


def test_state_dict_positional_arguments_still_work(device):
    layer = nn.Linear(1, 1, device=device)
    destination = OrderedDict()
    with pytest.warns(FutureWarning):
        out = layer.state_dict(destination, "p.")
    assert out is destination and list(destination) == ["p.weight", "p.bias"]


def test_unexpected_keys_are_listed_module_by_module(device):
    torch = pytest.importorskip("torch")
    keys = ["0.weight", "0.bias", "0.extra", "top", "1.weight"]
    model = nn.Sequential(nn.Linear(1, 1, device=device))
    result = model.load_state_dict({k: lucid.zeros(1, 1, device=device) if k == "0.weight" else
                                    lucid.zeros(1, device=device) for k in keys}, strict=False)
    expected = torch.nn.Sequential(torch.nn.Linear(1, 1)).load_state_dict(
        {k: torch.zeros(1, 1) if k == "0.weight" else torch.zeros(1) for k in keys}, strict=False)
    assert result.unexpected_keys == expected.unexpected_keys == ["top", "1.weight", "0.extra"]


def test_child_load_pre_hook_sees_only_its_entries(device):
    model = nn.Sequential(nn.Linear(1, 1, device=device))
    seen = []
    model[0].register_load_state_dict_pre_hook(lambda mod, state, prefix, *rest: seen.append(sorted(state)))
    model.load_state_dict({**model.state_dict(), "zz": lucid.zeros(1, device=device)}, strict=False)
    assert seen == [["0.bias", "0.weight"]]


def test_load_post_hooks_run_children_first(device):
    model = nn.Sequential(nn.Linear(1, 1, device=device))
    seen = []
    model.register_load_state_dict_post_hook(lambda mod, keys: seen.append(type(mod).__name__))
    model[0].register_load_state_dict_post_hook(lambda mod, keys: seen.append(type(mod).__name__))
    model.load_state_dict(model.state_dict())
    assert seen == ["Linear", "Sequential"]


def test_zero_dim_entry_loads_from_a_one_element_vector(device):
    module = nn.Module()
    module.register_buffer("step", lucid.tensor(0, device=device))
    module.load_state_dict({"step": lucid.tensor([3], device=device)})
    assert module.step.shape == () and module.step.item() == 3


def test_assign_keeps_a_given_parameter(device):
    layer = nn.Linear(2, 2, device=device)
    layer.weight.requires_grad_(False)
    p = nn.Parameter(lucid.ones(2, 2, device=device))
    layer.load_state_dict({"weight": p, "bias": lucid.zeros(2, device=device)}, assign=True)
    assert layer.weight is p and not p.requires_grad  # the module's requires_grad wins, as in PyTorch
    assert layer.bias.requires_grad


# ---- registration and traversal ----------------------------------------------------------------------
def test_get_parameter_of_a_none_parameter_raises(device):
    module = nn.Module()
    module.register_parameter("w", None)
    with pytest.raises(AttributeError, match="not a nn.Parameter"):
        module.get_parameter("w")
    module.register_buffer("b", None)
    with pytest.raises(AttributeError, match="not a buffer"):
        module.get_buffer("b")


def test_set_submodule(device):
    model = nn.Sequential(nn.Sequential(nn.Linear(1, 1, device=device)))
    model.set_submodule("0.0", nn.ReLU())
    assert isinstance(model[0][0], nn.ReLU)
    model.set_submodule("0.new", nn.Tanh())
    assert [name for name, _ in model.named_modules()] == ["", "0", "0.0", "0.new"]
    with pytest.raises(AttributeError):
        model.set_submodule("0.other", nn.Tanh(), strict=True)
    with pytest.raises(ValueError):
        model.set_submodule("", nn.Tanh())
    with pytest.raises(ValueError):
        model.set_submodule("0.0", 3)
    with pytest.raises(AttributeError, match="not an nn.Module"):
        nn.Sequential(nn.Linear(1, 1, device=device)).set_submodule("0.weight", nn.Tanh())
    with pytest.raises(AttributeError):
        model.set_submodule("5.x", nn.Tanh())


def test_bfloat16_casts_floating_tensors_only():
    bn = nn.BatchNorm1d(2)
    assert bn.bfloat16() is bn
    assert bn.weight.dtype == lucid.bfloat16 and bn.running_mean.dtype == lucid.bfloat16
    assert bn.num_batches_tracked.dtype == lucid.int64


def test_dir_leaves_out_numeric_member_names(device):
    seq = nn.Sequential(nn.ReLU(), nn.Tanh())
    params = nn.ParameterList([lucid.zeros(1, device=device)])
    assert not any(k[0].isdigit() for k in dir(seq)) and not any(k[0].isdigit() for k in dir(params))
    assert "append" in dir(seq)


# ---- forward hooks -----------------------------------------------------------------------------------
class Fails(nn.Module):
    def forward(self, x):
        raise ValueError("boom")


def test_always_call_forward_hook_runs_when_forward_raises(device):
    module = Fails()
    seen = []
    module.register_forward_hook(lambda mod, args, out: seen.append(("always", out)), always_call=True)
    module.register_forward_hook(lambda mod, args, out: seen.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        module(lucid.ones(1, device=device))
    assert seen == [("always", None)]


def test_always_call_hook_runs_once_and_its_own_error_is_a_warning(device):
    module = nn.Identity()
    seen = []
    module.register_forward_hook(lambda *a: seen.append(1), always_call=True)

    def bad(mod, args, out):
        raise KeyError("hook")

    module.register_forward_hook(bad)
    with pytest.raises(KeyError):
        module(lucid.ones(1, device=device))
    assert seen == [1]

    failing = Fails()
    failing.register_forward_hook(bad, always_call=True, with_kwargs=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError):
            failing(lucid.ones(1, device=device))
    assert any("always_call" in str(w.message) for w in caught)


# ---- containers --------------------------------------------------------------------------------------
def test_sequential_multiplication_and_insert():
    seq = nn.Sequential(nn.ReLU(), nn.Tanh())
    twice = seq * 2
    assert len(twice) == 4 and twice[0] is twice[2] is seq[0]
    assert [type(m) for m in 3 * nn.Sequential(nn.ReLU())] == [nn.ReLU] * 3
    seq *= 2
    assert len(seq) == 4 and seq[3] is seq[1]
    with pytest.raises(ValueError):
        seq * 0
    with pytest.raises(TypeError):
        seq * 2.0
    assert seq.insert(1, nn.Sigmoid()) is seq and isinstance(seq[1], nn.Sigmoid)


def test_module_list_repr_compresses_repeats():
    torch = pytest.importorskip("torch")
    mine = nn.ModuleList([nn.Linear(1, 1) for _ in range(4)] + [nn.ReLU(), nn.Sequential(nn.ReLU(), nn.ReLU())] * 2)
    theirs = torch.nn.ModuleList([torch.nn.Linear(1, 1) for _ in range(4)]
                                 + [torch.nn.ReLU(), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.ReLU())] * 2)
    assert repr(mine) == repr(theirs)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList()) == "ModuleList()"


def test_dict_containers_update_from_containers(device):
    md = nn.ModuleDict()
    md.update(nn.ModuleDict({"z": nn.ReLU(), "a": nn.Tanh()}))
    assert list(md) == ["z", "a"]
    pd = nn.ParameterDict()
    pd.update(nn.ParameterDict(OrderedDict(z=lucid.zeros(1, device=device), a=lucid.zeros(1, device=device))))
    assert list(pd) == ["z", "a"]


def test_parameter_dict_sorts_a_plain_dict_as_pytorch(device):
    torch = pytest.importorskip("torch")
    pd = nn.ParameterDict({"b": lucid.zeros(1, device=device), "a": lucid.zeros(1, device=device)})
    tpd = torch.nn.ParameterDict({"b": torch.zeros(1), "a": torch.zeros(1)})
    assert list(pd) == list(tpd) == ["a", "b"]
    assert list(pd.state_dict()) == list(tpd.state_dict())
    ordered = nn.ParameterDict(OrderedDict(b=lucid.zeros(1, device=device), a=lucid.zeros(1, device=device)))
    assert list(ordered) == ["b", "a"]


def test_parameter_dict_methods(device):
    pd = nn.ParameterDict(OrderedDict(b=lucid.zeros(1, device=device), c=lucid.zeros(2, device=device)))
    assert list(reversed(pd)) == ["c", "b"]
    new = pd.copy()
    assert type(new) is nn.ParameterDict and new["b"] is pd["b"] and list(new) == ["b", "c"]
    value = pd.setdefault("d", lucid.ones(3, device=device))
    assert isinstance(value, nn.Parameter) and list(pd) == ["b", "c", "d"]
    assert pd.setdefault("b") is pd["b"]
    key, value = pd.popitem()
    assert key == "d" and value.shape == (3,) and list(pd) == ["b", "c"]
    assert list(pd.fromkeys(["x", "y"], lucid.ones(1, device=device))) == ["x", "y"]
    other = nn.ParameterDict(OrderedDict(e=lucid.zeros(1, device=device)))
    assert list(pd | other) == ["b", "c", "e"] and list(pd) == ["b", "c"]
    assert list(other.__ror__(pd)) == ["b", "c", "e"]
    pd |= other
    assert list(pd) == ["b", "c", "e"]
    with pytest.raises(KeyError):
        nn.ParameterDict().popitem()


# ---- copying and serialization -----------------------------------------------------------------------
def test_deepcopy_of_a_parameter_drops_its_grad(device):
    layer = nn.Linear(2, 1, device=device)
    layer(lucid.ones(1, 2, device=device)).sum().backward()
    clone = copy.deepcopy(layer)
    assert clone.weight.grad is None and clone.weight.requires_grad
    assert layer.weight.grad is not None  # the original keeps its gradient
    t = lucid.ones(2, device=device, requires_grad=True)
    (t * 2).sum().backward()
    assert copy.deepcopy(t).grad is not None  # a plain tensor keeps it, as in PyTorch


def test_load_with_a_map_location_function(device):
    f = io.BytesIO()
    lucid.save({"w": lucid.tensor([1.0, 2.0], device=device)}, f)
    seen = []

    def mapper(t, location):
        seen.append((location, t.device.type))
        return t.to(device)

    f.seek(0)
    out = lucid.load(f, map_location=mapper)
    assert seen == [(str(device), "cpu")] and out["w"].device is device
    np.testing.assert_array_equal(host(out["w"]), [1.0, 2.0])
    f.seek(0)
    assert lucid.load(f, map_location=lambda t, location: None)["w"].device is device
    f.seek(0)
    with pytest.raises(lucid.serialization.SerializationError, match="must return a Tensor"):
        lucid.load(f, map_location=lambda t, location: 3)


def test_batchnorm_state_dict_without_num_batches_tracked(device):
    """A plain dict (no version) may lack num_batches_tracked, which keeps the module's count; a version-2 state
    dict (what state_dict() writes, as PyTorch's) may not."""
    torch = pytest.importorskip("torch")
    for lib, kw in ((lucid, {"device": device}), (torch, {})):
        bn = lib.nn.BatchNorm1d(3, **kw)
        bn.num_batches_tracked.add_(4)
        plain = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
        assert not bn.load_state_dict(plain).missing_keys
        assert int(bn.num_batches_tracked) == 4
        versioned = bn.state_dict()
        assert versioned._metadata[""]["version"] == 2
        del versioned["num_batches_tracked"]
        with pytest.raises(RuntimeError, match="num_batches_tracked"):
            bn.load_state_dict(versioned)


def test_parameter_container_reprs_as_torch():
    """ParameterList names each member's dtype, ParameterDict its type name (``torch.typename``); a 0-d member's
    size is empty, as PyTorch prints them (whitespace aside)."""
    torch = pytest.importorskip("torch")

    def reprs(lib):
        members = [lib.nn.Parameter(lib.tensor(1.0)), lib.nn.Parameter(lib.ones(2, 3, dtype=lib.float64))]
        return repr(lib.nn.ParameterList(members)), repr(lib.nn.ParameterDict(dict(zip("ab", members))))

    for ours, theirs in zip(reprs(lucid), reprs(torch)):
        assert ours.split() == theirs.replace("torch.", "lucid.").split()


def test_parameter_repr_as_torch():
    torch = pytest.importorskip("torch")
    for kw in ({}, {"requires_grad": False}):
        ours = repr(nn.Parameter(lucid.tensor([1.0, 2.0], dtype=lucid.float64), **kw))
        theirs = repr(torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64), **kw))
        assert ours == theirs.replace("torch.", "lucid.")
