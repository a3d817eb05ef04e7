"""nn.Module: registration, traversal, modes, hooks, repr, containers, deepcopy/pickle."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import lucid
import lucid.nn as nn


class Scale(nn.Module):
    """y = x * weight + shift (a parameter and a persistent buffer)."""

    def __init__(self, n=3, device=None):
        super().__init__()
        self.weight = nn.Parameter(lucid.ones(n, device=device))
        self.register_buffer("shift", lucid.zeros(n, device=device))

    def forward(self, x):
        return x * self.weight + self.shift

    def extra_repr(self):
        return f"n={self.weight.shape[0]}"


class Net(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.a = Scale(device=device)
        self.b = Scale(device=device)
        self.bias = nn.Parameter(lucid.zeros(3, device=device))
        self.register_buffer("steps", lucid.tensor(0, device=device))
        self.register_buffer("cache", lucid.zeros(3, device=device), persistent=False)

    def forward(self, x):
        return self.b(self.a(x)) + self.bias


# ---- registration -------------------------------------------------------------------
def test_attribute_assignment_registers(device):
    net = Net(device)
    assert list(net._parameters) == ["bias"]
    assert list(net._buffers) == ["steps", "cache"]
    assert list(net._modules) == ["a", "b"]
    assert isinstance(net.steps, nn.Buffer) and isinstance(net.cache, nn.Buffer)
    assert net.steps.dtype is lucid.int64 and net.steps.device is device


def test_plain_tensor_attribute_is_not_a_buffer(device):
    """Seed 002: ``self.count = torch.tensor(0)`` is not a buffer."""
    net = Net(device)
    net.count = lucid.tensor(0, device=device)
    assert type(net.count) is lucid.Tensor
    assert "count" not in dict(net.named_buffers()) and "count" not in net.state_dict()
    assert "count" in net.__dict__


def test_register_buffer_accepts_tensor_buffer_array_none(device):
    m = nn.Module()
    t = lucid.tensor([1.0, 2.0], dtype=lucid.float64, device=device)
    m.register_buffer("t", t)
    assert isinstance(m.t, nn.Buffer) and m.t.dtype is lucid.float64 and m.t.device is device
    t.fill_(5.0)  # storage is shared with the registered buffer
    np.testing.assert_array_equal(m.t.numpy(force=True), [5.0, 5.0])
    b = nn.Buffer([1.0], persistent=False)
    m.register_buffer("b", b)
    assert m.b is b and "b" not in m.state_dict()  # the Buffer's own flag by default
    m.register_buffer("b2", nn.Buffer([1.0], persistent=False), persistent=True)
    assert m.b2.persistent and "b2" in m.state_dict()
    m.register_buffer("arr", np.arange(3.0))
    assert isinstance(m.arr, nn.Buffer) and m.arr.dtype is lucid.float32
    m.register_buffer("none", None)
    assert m.none is None and "none" not in dict(m.named_buffers())
    with pytest.raises(TypeError, match="buffer 'bad'"):
        m.register_buffer("bad", "text")


def test_buffer_registered_from_grad_tensor_is_detached(device):
    m = nn.Module()
    x = lucid.randn(3, device=device, requires_grad=True)
    m.register_buffer("b", x * 2)
    assert not m.b.requires_grad and m.b.grad_fn is None


@pytest.mark.parametrize("register", ["register_parameter", "register_buffer", "add_module", "register_module"])
def test_name_validation(register):
    m = Net()
    value = {"register_parameter": nn.Parameter(lucid.ones(1)), "register_buffer": lucid.ones(1)}.get(register, Scale())
    fn = getattr(m, register)
    with pytest.raises(TypeError, match="should be a string"):
        fn(1, value)
    with pytest.raises(KeyError, match="empty"):
        fn("", value)
    with pytest.raises(KeyError, match=r"contain \"\.\""):
        fn("a.b", value)
    for taken in ("bias", "steps", "a", "forward", "training"):
        kind_table = {"register_parameter": "_parameters", "register_buffer": "_buffers"}.get(register, "_modules")
        if taken not in getattr(m, kind_table):
            with pytest.raises(KeyError, match="already exists"):
                fn(taken, value)


def test_register_wrong_types():
    m = nn.Module()
    with pytest.raises(TypeError, match="nn.Parameter or None"):
        m.register_parameter("w", lucid.ones(2))
    with pytest.raises(TypeError, match="not a Module"):
        m.add_module("m", lucid.ones(2))
    m.register_parameter("opt", None)
    assert m.opt is None and list(m.parameters()) == []


def test_assigning_plain_tensor_to_parameter_name_raises(device):
    net = Net(device)
    with pytest.raises(TypeError, match="as parameter 'bias'"):
        net.bias = lucid.ones(3, device=device)
    net.bias = None
    assert net.bias is None and "bias" not in dict(net.named_parameters())


def test_plain_tensor_assigned_to_buffer_name_stays_buffer(device):
    net = Net(device)
    net.cache = lucid.ones(3, device=device)
    assert isinstance(net.cache, nn.Buffer) and "cache" not in net.state_dict()  # stays non-persistent
    net.steps = lucid.tensor(5, device=device)
    assert isinstance(net.steps, nn.Buffer) and net.state_dict()["steps"].item() == 5
    with pytest.raises(TypeError, match="as buffer 'steps'"):
        net.steps = 5


def test_none_buffer_keeps_its_persistence_when_filled(device):
    m = nn.Module()
    m.register_buffer("cache", None, persistent=False)
    m.cache = lucid.ones(2, device=device)
    assert isinstance(m.cache, nn.Buffer) and "cache" not in m.state_dict()
    assert "cache" in dict(m.named_buffers())


def test_reassigning_changes_kind(device):
    m = Net(device)
    m.steps = nn.Parameter(lucid.ones(1, device=device))
    assert "steps" in m._parameters and "steps" not in m._buffers
    m.bias = nn.Buffer(lucid.zeros(3, device=device))
    assert "bias" in m._buffers and "bias" not in m._parameters
    m.a = nn.Buffer([1.0])
    assert "a" in m._buffers and "a" not in m._modules
    m.plain = 3
    m.plain = Scale()
    assert "plain" in m._modules and "plain" not in m.__dict__


def test_assignment_before_init_raises():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(lucid.ones(1))

    with pytest.raises(AttributeError, match=r"call super\(\)\.__init__\(\) first"):
        Bad()


def test_delattr_and_dir_and_missing_attribute(device):
    net = Net(device)
    assert {"a", "bias", "steps", "cache"} <= set(dir(net))
    del net.bias, net.steps, net.a
    assert "bias" not in net._parameters and "steps" not in net._buffers and "a" not in net._modules
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'bias'"):
        net.bias  # noqa: B018
    net.register_buffer("steps", lucid.tensor(1), persistent=False)
    del net.steps
    net.steps = nn.Buffer(lucid.tensor(1))
    assert "steps" in net.state_dict()  # the old non-persistent flag was forgotten


# ---- traversal ------------------------------------------------------------------------
def test_named_members(device):
    net = Net(device)
    assert [n for n, _ in net.named_parameters()] == ["bias", "a.weight", "b.weight"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "cache", "a.shift", "b.shift"]
    assert [n for n, _ in net.named_parameters(prefix="m", recurse=False)] == ["m.bias"]
    assert [n for n, _ in net.named_modules()] == ["", "a", "b"]
    assert [n for n, _ in net.named_children()] == ["a", "b"]
    assert list(net.children()) == [net.a, net.b]
    assert list(net.modules()) == [net, net.a, net.b]
    assert [p is q for p, q in zip(net.parameters(), [net.bias, net.a.weight, net.b.weight])] == [True] * 3
    assert len(list(net.buffers(recurse=False))) == 2


def test_shared_members_are_listed_once(device):
    net = Net(device)
    net.b = net.a
    net.tied = nn.Parameter(lucid.ones(1, device=device))
    net.tied2 = net.tied
    assert [n for n, _ in net.named_modules()] == ["", "a"]
    assert [n for n, _ in net.named_modules(remove_duplicate=False)] == ["", "a", "b"]
    assert [n for n, _ in net.named_parameters()] == ["bias", "tied", "a.weight"]
    names = [n for n, _ in net.named_parameters(remove_duplicate=False)]
    assert names == ["bias", "tied", "tied2", "a.weight", "b.weight"]
    assert list(net.state_dict()) == ["bias", "tied", "tied2", "steps", "a.weight", "a.shift", "b.weight", "b.shift"]


def test_torch_oracle_member_order():
    torch = pytest.importorskip("torch")

    class TScale(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.ones(3))
            self.register_buffer("shift", torch.zeros(3))

    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = TScale(), TScale()
            self.bias = torch.nn.Parameter(torch.zeros(3))
            self.register_buffer("steps", torch.tensor(0))
            self.register_buffer("cache", torch.zeros(3), persistent=False)

    ours, theirs = Net(), TNet()
    for method in ("named_parameters", "named_buffers", "named_modules"):
        assert [n for n, _ in getattr(ours, method)()] == [n for n, _ in getattr(theirs, method)()]
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_get_submodule_parameter_buffer(device):
    outer = nn.Module()
    outer.net = Net(device)
    assert outer.get_submodule("net.a") is outer.net.a and outer.get_submodule("") is outer
    assert outer.get_parameter("net.a.weight") is outer.net.a.weight
    assert outer.get_parameter("net.bias") is outer.net.bias
    assert outer.get_buffer("net.b.shift") is outer.net.b.shift
    with pytest.raises(AttributeError, match="has no attribute `c`"):
        outer.get_submodule("net.c")
    with pytest.raises(AttributeError, match="`bias` is not a Module"):
        outer.get_submodule("net.bias")
    with pytest.raises(AttributeError, match="`steps` is not a nn.Parameter"):
        outer.get_parameter("net.steps")
    with pytest.raises(AttributeError, match="`bias` is not a buffer"):
        outer.get_buffer("net.bias")
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        outer.get_buffer("net.nope")


def test_apply_visits_children_first(device):
    net = Net(device)
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Scale", "Scale", "Net"]

    def init(m):
        if isinstance(m, Scale):
            with lucid.no_grad():
                m.weight.fill_(2.0)

    net.apply(init)
    np.testing.assert_array_equal(net.b.weight.detach().numpy(force=True), [2.0, 2.0, 2.0])


def test_train_eval(device):
    net = Net(device)
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="bool"):
        net.train("no")


def test_zero_grad_and_requires_grad_(device):
    net = Net(device)
    net(lucid.ones(3, device=device)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    grads = [p.grad for p in net.parameters()]
    net.zero_grad(set_to_none=False)
    for p, g in zip(net.parameters(), grads):
        assert p.grad is g  # zeroed in place
        np.testing.assert_array_equal(g.numpy(force=True), np.zeros(3))
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.requires_grad_(False) is net and not any(p.requires_grad for p in net.parameters())
    net.a.requires_grad_()
    assert [p.requires_grad for p in net.parameters()] == [False, True, False]


def test_forward_missing():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


# ---- repr -----------------------------------------------------------------------------
def test_repr_nested_and_torch_oracle():
    torch = pytest.importorskip("torch")

    class TScale(torch.nn.Module):
        def extra_repr(self):
            return "n=3"

    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = TScale(), TScale()

    TNet.__name__ = "Net"
    TScale.__name__ = "Scale"
    tseq = torch.nn.Sequential(TNet(), torch.nn.ModuleList([TScale()]), torch.nn.ModuleDict({"k": TScale()}))
    seq = nn.Sequential(Net(), nn.ModuleList([Scale()]), nn.ModuleDict({"k": Scale()}))
    assert repr(seq) == repr(tseq)
    assert repr(nn.Module()) == "Module()" and repr(Scale()) == "Scale(n=3)"


# ---- forward hooks --------------------------------------------------------------------
def test_forward_pre_and_post_hooks(device):
    m = Scale(device=device)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append(("pre", mod is m, len(args))))
    h2 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    h3 = m.register_forward_hook(lambda mod, args, out: out + 1)
    h4 = m.register_forward_hook(lambda mod, args, out: calls.append(("post", out.shape)), prepend=True)
    out = m(lucid.ones(3, device=device))
    np.testing.assert_array_equal(out.detach().numpy(force=True), [3.0, 3.0, 3.0])
    assert calls == [("pre", True, 1), ("post", (3,))]
    for h in (h1, h2, h3, h4):
        h.remove()
    h1.remove()  # removing twice is harmless
    np.testing.assert_array_equal(m(lucid.ones(3, device=device)).detach().numpy(force=True), [1.0, 1.0, 1.0])


def test_forward_hooks_with_kwargs_and_context_manager(device):
    class KW(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    m = KW()
    x = lucid.ones(2, device=device)
    with m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"scale": 3.0}), with_kwargs=True):
        seen = []
        with m.register_forward_hook(lambda mod, args, kwargs, out: seen.append(kwargs), with_kwargs=True):
            np.testing.assert_array_equal(m(x).numpy(force=True), [3.0, 3.0])
        assert seen == [{"scale": 3.0}]
    np.testing.assert_array_equal(m(x, scale=2.0).numpy(force=True), [2.0, 2.0])
    with pytest.raises(TypeError, match="callable"):
        m.register_forward_hook(3)


# ---- backward hooks -------------------------------------------------------------------
class Mix(nn.Module):
    """out = (x * w, x * y): two tensor inputs, a non-tensor input, two outputs."""

    def __init__(self, device=None):
        super().__init__()
        self.w = nn.Parameter(lucid.tensor([1.0, 2.0, 3.0], device=device))

    def forward(self, x, flag, y):
        return x * self.w, x * y


def test_full_backward_hook_values(device, rng):
    m = Mix(device)
    xv, yv = rng.standard_normal(3), rng.standard_normal(3)
    x = lucid.tensor(xv, device=device, requires_grad=True)
    y = lucid.tensor(yv, device=device, requires_grad=True)
    got = []
    m.register_full_backward_hook(lambda mod, gi, go: got.append((mod, gi, go)))
    a, b = m(x, "flag", y)
    (a.sum() * 2 + (b * 3).sum()).backward()
    assert len(got) == 1
    mod, gi, go = got[0]
    assert mod is m and len(gi) == 3 and gi[1] is None and len(go) == 2
    np.testing.assert_allclose(go[0].numpy(force=True), np.full(3, 2.0))
    np.testing.assert_allclose(go[1].numpy(force=True), np.full(3, 3.0))
    np.testing.assert_allclose(gi[0].numpy(force=True), 2 * np.array([1.0, 2.0, 3.0]) + 3 * yv, rtol=1e-6)
    np.testing.assert_allclose(gi[2].numpy(force=True), 3 * xv, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(force=True), gi[0].numpy(force=True))


def test_full_backward_hook_torch_oracle(rng):
    torch = pytest.importorskip("torch")

    class TMix(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor([1.0, 2.0, 3.0]))

        def forward(self, x, flag, y):
            return x * self.w, x * y

    xv, yv = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    results = []
    for mod, lib in ((Mix(), lucid), (TMix(), torch)):
        seen = []
        mod.register_full_backward_pre_hook(lambda m, go, seen=seen: seen.append(("pre", len(go))))
        mod.register_full_backward_hook(lambda m, gi, go, seen=seen: seen.append(([g is None for g in gi], len(go))))
        x = lib.tensor(xv, requires_grad=True)
        y = lib.tensor(yv, requires_grad=False)
        a, b = mod(x, 1, y)
        (a * b).sum().backward()
        results.append((seen, x.grad.numpy().copy(), mod.w.grad.numpy().copy()))
    assert results[0][0] == results[1][0]
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6)
    np.testing.assert_allclose(results[0][2], results[1][2], rtol=1e-6)


def test_global_module_hooks_as_torch(device):
    """``torch.nn.modules.module.register_module_*_hook``: every module's call runs them, ahead of its own hooks;
    the order of calls and the gradients match PyTorch's, and removing the handles stops them."""
    torch = pytest.importorskip("torch")
    w1, w2 = np.linspace(-1, 1, 12).reshape(3, 4), np.linspace(0.5, -0.5, 6).reshape(2, 3)

    def run(lib, mod, make):
        net = lib.nn.Sequential(lib.nn.Linear(4, 3, bias=False), lib.nn.Tanh(), lib.nn.Linear(3, 2, bias=False))
        net = net.to(make(w1).device).double()
        with lib.no_grad():
            net[0].weight.copy_(make(w1))
            net[2].weight.copy_(make(w2))
        seen = []
        own = net[2].register_full_backward_pre_hook(lambda m, go: seen.append(("own pre", type(m).__name__)))
        handles = [
            mod.register_module_forward_pre_hook(lambda m, a: seen.append(("pre", type(m).__name__))),
            mod.register_module_forward_hook(lambda m, a, kw, o: seen.append(("fwd", sorted(kw))) or o * 2,
                                             with_kwargs=True),
            mod.register_module_full_backward_pre_hook(lambda m, go: seen.append(("bpre", type(m).__name__))),
            mod.register_module_full_backward_hook(
                lambda m, gi, go: seen.append(("bwd", type(m).__name__, gi[0] is None)) or
                (None if gi[0] is None else (gi[0] * 3,))),
        ]
        x = make(np.linspace(0, 1, 8).reshape(2, 4)).requires_grad_()
        net(x).sum().backward()
        for h in (*handles, own):
            h.remove()
        count = len(seen)
        net(x)
        assert len(seen) == count
        return seen, x.grad.numpy(force=True) if lib is lucid else x.grad.numpy(), net[0].weight.grad
    got = run(lucid, lucid.nn.module, lambda a: lucid.tensor(a, dtype=lucid.float64, device=device))
    want = run(torch, torch.nn.modules.module, lambda a: torch.tensor(a, dtype=torch.float64))
    assert got[0] == want[0]
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    np.testing.assert_allclose(got[2].numpy(force=True), want[2].numpy(), rtol=1e-12)


@pytest.mark.filterwarnings("ignore:Using a non-full backward hook")
def test_legacy_backward_hook_sees_torchs_grad_output(rng):
    """``register_backward_hook`` (PyTorch's deprecated form, as in Grad-CAM code): its ``grad_output`` is
    PyTorch's; lucid's ``grad_input`` is the full hook's (the module's input gradients)."""
    torch = pytest.importorskip("torch")
    xv = rng.standard_normal((2, 3)).astype(np.float32)
    outputs = []
    for lib in (torch, lucid):
        lib.manual_seed(0)
        layer = lib.nn.Linear(3, 4)
        seen = []
        layer.register_backward_hook(lambda m, gi, go, seen=seen: seen.append(go[0].numpy().copy()))
        (layer(lib.tensor(xv, requires_grad=True)) ** 2).sum().backward()
        outputs.append(seen)
    assert len(outputs[0]) == len(outputs[1]) == 1
    np.testing.assert_allclose(outputs[1][0], outputs[0][0], rtol=1e-6)


def test_module_compile_runs_the_module_as_written(device):
    """``model.compile(...)`` (PyTorch's in-place torch.compile) returns None and leaves the module working."""
    m = Scale(device=device)
    x = lucid.ones(3, device=device)
    before = m(x).tolist()
    assert m.compile(mode="reduce-overhead", fullgraph=True) is None
    assert m(x).tolist() == before


def test_backward_hooks_replace_gradients(device):
    m = Scale(device=device)
    x = lucid.ones(3, device=device, requires_grad=True)
    m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 10,))
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] + 1,))
    m(x).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(force=True), np.full(3, 10.0))  # pre-hook scaled grad_output
    np.testing.assert_allclose(x.grad.numpy(force=True), np.full(3, 11.0))
    m2 = Scale(device=device)
    m2.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="returned 2 gradients, but 1 were expected"):
        m2(lucid.ones(3, device=device, requires_grad=True)).sum().backward()


def test_backward_hook_when_no_input_requires_grad(device):
    m = Scale(device=device)
    seen = []
    handle = m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go[0].shape)))
    m(lucid.ones(3, device=device)).sum().backward()
    assert seen == [((None,), (3,))]
    handle.remove()
    m(lucid.ones(3, device=device)).sum().backward()
    assert len(seen) == 1
    with lucid.no_grad():
        m.register_full_backward_hook(lambda *a: seen.append(a))
        m(lucid.ones(3, device=device))  # nothing is recorded, nothing breaks


# ---- containers -----------------------------------------------------------------------
def test_sequential(device):
    s = nn.Sequential(Scale(device=device), Scale(device=device))
    assert len(s) == 2 and s[0] is s._modules["0"] and s[-1] is s._modules["1"]
    out = s(lucid.ones(3, device=device) * 2)
    np.testing.assert_array_equal(out.detach().numpy(force=True), [2.0, 2.0, 2.0])
    head = s[:1]
    assert isinstance(head, nn.Sequential) and len(head) == 1 and head[0] is s[0]
    extra = Scale(device=device)
    assert s.append(extra) is s and s[2] is extra
    s.insert(0, Scale(device=device))
    assert list(s._modules) == ["0", "1", "2", "3"] and s[3] is extra
    s.extend([Scale(device=device)])
    assert s.pop(3) is extra and len(s) == 4 and list(s._modules) == ["0", "1", "2", "3"]
    del s[1:3]
    assert len(s) == 2 and list(s._modules) == ["0", "1"]
    s[0] = extra
    assert s[0] is extra
    assert [type(m) for m in s] == [Scale, Scale]
    with pytest.raises(IndexError, match="out of range"):
        s[5]
    assert list(s.state_dict()) == ["0.weight", "0.shift", "1.weight", "1.shift"]


def test_sequential_from_ordered_dict_keeps_names():
    s = nn.Sequential(OrderedDict([("first", Scale()), ("second", Scale())]))
    assert list(s._modules) == ["first", "second"] and s[1] is s.second
    assert list(s[1:]._modules) == ["second"]
    assert len(s + nn.Sequential(Scale())) == 3


def test_module_list(device):
    layers = nn.ModuleList([Scale(device=device) for _ in range(3)])
    assert len(layers) == 3 and [n for n, _ in layers.named_parameters()] == ["0.weight", "1.weight", "2.weight"]
    assert isinstance(layers[1:], nn.ModuleList) and len(layers[1:]) == 2
    layers += [Scale(device=device)]
    layers.append(Scale(device=device))
    assert len(layers) == 5
    with pytest.raises(TypeError, match="not a Module"):
        layers.append(lucid.ones(1))
    with pytest.raises(NotImplementedError):
        layers(1)

    class Owner(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = layers

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    assert len(list(Owner().parameters())) == 5


def test_module_dict(device):
    d = nn.ModuleDict({"x": Scale(device=device)})
    d["y"] = Scale(device=device)
    d.update([("z", Scale(device=device))])
    assert list(d) == ["x", "y", "z"] and "y" in d and len(d) == 3
    assert list(d.keys()) == ["x", "y", "z"] and [k for k, _ in d.items()] == ["x", "y", "z"]
    assert d.pop("y") is not None and "y" not in d
    del d["z"]
    assert list(d.state_dict()) == ["x.weight", "x.shift"]
    with pytest.raises(KeyError, match="contain"):
        d["a.b"] = Scale()
    d.clear()
    assert len(d) == 0


def test_parameter_list_and_dict(device):
    pl = nn.ParameterList([lucid.zeros(2, device=device), nn.Parameter(lucid.ones(1, device=device))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    pl.append(lucid.ones(3, device=device))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    p = nn.Parameter(lucid.ones(4, device=device))
    pl[0] = p
    assert pl[0] is p and pl[-1].shape == (3,)
    assert "Parameter containing: [lucid.float32 of size 4" in repr(pl)
    with pytest.raises(TypeError, match="Parameters or Tensors"):
        pl.append([1.0])
    pd = nn.ParameterDict({"a": lucid.zeros(2, device=device)})
    pd["b"] = nn.Parameter(lucid.ones(1, device=device))
    assert isinstance(pd["a"], nn.Parameter) and list(pd) == ["a", "b"] and pd.get("c") is None
    assert [n for n, _ in pd.named_parameters()] == ["a", "b"]
    pd.pop("a")
    assert list(pd.state_dict()) == ["b"]


# ---- deepcopy and pickle ---------------------------------------------------------------
@pytest.mark.parametrize("clone", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))], ids=["deepcopy", "pickle"])
def test_copies_keep_types_flags_devices_and_share_nothing(device, clone):
    net = Net(device)
    net.tied = net.a.weight
    net(lucid.ones(3, device=device)).sum().backward()
    twin = clone(net)
    assert type(twin) is Net and type(twin.a) is Scale
    for (name, p), (name2, q) in zip(net.named_parameters(), twin.named_parameters()):
        assert name == name2 and type(q) is nn.Parameter and q is not p
        assert q.requires_grad and q.device is device
    for (name, b), (name2, c) in zip(net.named_buffers(), twin.named_buffers()):
        assert name == name2 and type(c) is nn.Buffer and not c.requires_grad and c.device is device
        assert c.persistent == b.persistent
    assert list(twin.state_dict()) == list(net.state_dict())
    assert twin.tied is twin.a.weight
    with lucid.no_grad():
        for q in twin.parameters():
            q.fill_(7.0)
        for c in twin.buffers():
            c.fill_(7)
    assert all((p.detach().numpy(force=True) != 7).all() for p in net.parameters())
    assert all((b.numpy(force=True) != 7).all() for b in net.buffers())
    out = twin(lucid.ones(3, device=device))
    np.testing.assert_array_equal(out.detach().numpy(force=True), [112.0] * 3)  # (7 * 7 + 7) * 7 + 7 + 7


def test_replacing_a_member_keeps_its_place():
    """``seq[1] = ...``-style replacement (what convert_sync_batchnorm does) keeps the order of children,
    parameters and buffers, as PyTorch's dict assignment does; a change of kind re-registers at the end."""
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    setattr(seq, "1", nn.Tanh())
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "Linear"]
    lin = nn.Linear(2, 2)
    lin.register_buffer("stat", lucid.zeros(2))
    lin.weight = nn.Parameter(lucid.ones(2, 2))
    lin.stat = nn.Buffer(lucid.ones(2))
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    assert list(lin.state_dict()) == ["weight", "bias", "stat"]
