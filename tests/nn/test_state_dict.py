"""Module.state_dict / load_state_dict: order, persistence, in-place copies, errors, hooks."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import lucid
import lucid.nn as nn


class Block(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.weight = nn.Parameter(lucid.randn(2, 3, device=device))
        self.register_buffer("running_mean", lucid.zeros(3, device=device))
        self.register_buffer("num_batches_tracked", lucid.tensor(0, device=device))
        self.register_buffer("scratch", lucid.zeros(3, device=device), persistent=False)

    def forward(self, x):
        return (x * self.weight).sum(dim=1)


class Model(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.register_buffer("stats", lucid.ones(4, device=device))
        self.head = nn.Parameter(lucid.randn(4, device=device))
        self.blocks = nn.Sequential(Block(device), Block(device))


KEYS = ["head", "stats", "blocks.0.weight", "blocks.0.running_mean", "blocks.0.num_batches_tracked",
        "blocks.1.weight", "blocks.1.running_mean", "blocks.1.num_batches_tracked"]


def _values(module):
    return {k: v.numpy(force=True).copy() for k, v in module.state_dict().items()}


def _randomize(module, rng):
    with lucid.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            t.copy_(lucid.tensor(rng.integers(0, 100, size=t.shape), device=t.device))


# ---- state_dict -------------------------------------------------------------------------
def test_state_dict_order_and_persistence(device):
    sd = Model(device).state_dict()
    assert isinstance(sd, OrderedDict) and list(sd) == KEYS


def test_state_dict_values_are_detached_and_share_storage(device):
    m = Model(device)
    sd = m.state_dict()
    for value in sd.values():
        assert type(value) is lucid.Tensor and not value.requires_grad and value.grad_fn is None
        assert value.device is device
    assert sd["blocks.0.num_batches_tracked"].dtype is lucid.int64
    with lucid.no_grad():
        m.head.fill_(3.0)
    np.testing.assert_array_equal(sd["head"].numpy(force=True), np.full(4, 3.0))


def test_state_dict_keep_vars_and_prefix(device):
    m = Model(device)
    sd = m.state_dict(keep_vars=True)
    assert sd["head"] is m.head and sd["blocks.1.running_mean"] is m.blocks[1].running_mean
    assert list(m.blocks[0].state_dict(prefix="x.")) == ["x.weight", "x.running_mean", "x.num_batches_tracked"]


def test_state_dict_matches_torch_keys():
    torch = pytest.importorskip("torch")

    class TBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(2, 3))
            self.register_buffer("running_mean", torch.zeros(3))
            self.register_buffer("num_batches_tracked", torch.tensor(0))
            self.register_buffer("scratch", torch.zeros(3), persistent=False)

    class TModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("stats", torch.ones(4))
            self.head = torch.nn.Parameter(torch.randn(4))
            self.blocks = torch.nn.Sequential(TBlock(), TBlock())

    assert list(TModel().state_dict()) == KEYS


# ---- load_state_dict ----------------------------------------------------------------------
def test_load_copies_in_place(device, rng):
    src, dst = Model(device), Model(device)
    _randomize(src, rng)
    objects = {k: v for k, v in dst.state_dict(keep_vars=True).items()}
    result = dst.load_state_dict(src.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for key, obj in dst.state_dict(keep_vars=True).items():
        assert obj is objects[key] and obj.device is device
    for key, value in _values(src).items():
        np.testing.assert_array_equal(_values(dst)[key], value)
    assert dst.head.requires_grad and not dst.stats.requires_grad
    assert dst.blocks[0].num_batches_tracked.dtype is lucid.int64
    with lucid.no_grad():  # copies, not aliases of the source
        src.head.fill_(-1.0)
    assert (dst.head.detach().numpy(force=True) != -1.0).all()


def test_load_from_another_device_and_dtype(device_pair, rng):
    here, there = device_pair
    src, dst = Model(here), Model(there)
    _randomize(src, rng)
    sd = {k: v.to(lucid.float64) if v.is_floating_point() else v for k, v in src.state_dict().items()}
    dst.load_state_dict(sd)
    for key, value in dst.state_dict().items():
        assert value.device is there
        assert value.dtype is (lucid.int64 if key.endswith("tracked") else lucid.float32)
        np.testing.assert_array_equal(value.numpy(force=True), src.state_dict()[key].numpy(force=True))
    out = dst.blocks[0](lucid.ones(2, 3, device=there))
    assert out.device is there


def test_strict_errors_list_everything_and_change_nothing(device, rng):
    m = Model(device)
    sd = Model(device).state_dict()
    _randomize(m, rng)  # make m differ from sd, so a partial copy would show
    before = _values(m)
    del sd["head"], sd["blocks.1.running_mean"]
    sd["extra"] = lucid.zeros(1, device=device)
    sd["blocks.0.weight"] = lucid.zeros(5, device=device)
    sd["stats"] = lucid.zeros(7, device=device)
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(sd)
    msg = str(info.value)
    for text in ('Missing key(s) in state_dict: "head", "blocks.1.running_mean"',
                 'Unexpected key(s) in state_dict: "extra"',
                 "size mismatch for blocks.0.weight", "(5,)", "(2, 3)", "size mismatch for stats", "(7,)",
                 "nothing was changed"):
        assert text in msg
    for key, value in _values(m).items():
        np.testing.assert_array_equal(value, before[key])


def test_non_strict_returns_keys_and_loads_the_rest(device, rng):
    src, dst = Model(device), Model(device)
    _randomize(src, rng)
    sd = src.state_dict()
    del sd["head"]
    sd["unknown.weight"] = lucid.zeros(1, device=device)
    result = dst.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["head"] and result.unexpected_keys == ["unknown.weight"]
    assert result == (["head"], ["unknown.weight"])
    np.testing.assert_array_equal(dst.stats.numpy(force=True), src.stats.numpy(force=True))
    sd["stats"] = lucid.zeros(2, device=device)
    with pytest.raises(RuntimeError, match="size mismatch for stats"):
        dst.load_state_dict(sd, strict=False)


def test_non_strict_matches_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Module(), torch.nn.Module()
    ours.register_buffer("a", lucid.zeros(1))
    theirs.register_buffer("a", torch.zeros(1))
    ours.b, theirs.b = nn.Parameter(lucid.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    r1 = ours.load_state_dict({"a": lucid.ones(1), "z": lucid.ones(1)}, strict=False)
    r2 = theirs.load_state_dict({"a": torch.ones(1), "z": torch.ones(1)}, strict=False)
    assert (r1.missing_keys, r1.unexpected_keys) == (r2.missing_keys, r2.unexpected_keys)


def test_load_rejects_bad_values(device):
    m = Model(device)
    sd = m.state_dict()
    sd["head"] = [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(RuntimeError, match='expected a Tensor for "head", got list'):
        m.load_state_dict(sd)
    with pytest.raises(TypeError, match="mapping"):
        m.load_state_dict([("head", lucid.zeros(4))])


def test_load_assign_takes_the_state_dict_tensors(device_pair):
    here, there = device_pair
    m = Model(here)
    sd = {k: v.to(there) for k, v in Model(there).state_dict().items()}
    m.load_state_dict(sd, assign=True)
    assert isinstance(m.head, nn.Parameter) and m.head.requires_grad and m.head.device is there
    assert isinstance(m.stats, nn.Buffer) and not m.stats.requires_grad and m.stats.device is there
    assert m.blocks[0].scratch.device is here  # non-persistent buffers are not in the state dict
    with lucid.no_grad():
        sd["head"].fill_(5.0)
    np.testing.assert_array_equal(m.head.detach().numpy(force=True), np.full(4, 5.0))


def test_loaded_buffers_never_require_grad(device):
    m = Model(device)
    sd = {k: (v.detach().requires_grad_(True) if v.is_floating_point() else v) for k, v in m.state_dict().items()}
    m.load_state_dict(sd)
    assert not any(b.requires_grad for b in m.buffers())
    m.load_state_dict(sd, assign=True)
    assert not any(b.requires_grad for b in m.buffers())


def test_load_bumps_version_so_stale_graphs_fail(device):
    m = Block(device)
    out = m(lucid.ones(2, 3, device=device, requires_grad=True)).sum()
    m.load_state_dict(Block(device).state_dict())
    with pytest.raises(RuntimeError, match="in-place"):
        out.backward()


# ---- hooks --------------------------------------------------------------------------------
def test_state_dict_hooks(device):
    m = Model(device)
    calls = []
    pre = m.blocks[0].register_state_dict_pre_hook(lambda mod, prefix, keep_vars: calls.append((prefix, keep_vars)))

    def post(mod, sd, prefix, meta):
        sd[prefix + "note"] = lucid.tensor(1, device=device)
        calls.append(meta["version"])

    m.register_state_dict_post_hook(post)
    sd = m.state_dict()
    assert calls == [("blocks.0.", False), 1] and list(sd)[-1] == "note"
    pre.remove()
    m.state_dict(keep_vars=True)
    assert calls == [("blocks.0.", False), 1, 1]


def test_load_state_dict_pre_hook_can_rename_old_keys(device):
    m = Model(device)
    sd = m.state_dict()
    sd["blocks.0.old_mean"] = sd.pop("blocks.0.running_mean")
    seen = []

    def upgrade(mod, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
        seen.append(prefix)
        if prefix + "old_mean" in state_dict:
            state_dict[prefix + "running_mean"] = state_dict.pop(prefix + "old_mean")

    for block in m.blocks:
        block.register_load_state_dict_pre_hook(upgrade)
    assert m.load_state_dict(sd) == ([], [])
    assert seen == ["blocks.0.", "blocks.1."]
    assert "blocks.0.old_mean" in sd  # the caller's dict is not changed


def test_load_state_dict_pre_hook_errors_are_reported(device):
    m = Model(device)
    m.register_load_state_dict_pre_hook(lambda mod, sd, prefix, meta, strict, mk, uk, errors: errors.append("nope"))
    with pytest.raises(RuntimeError, match="nope"):
        m.load_state_dict(m.state_dict())


def test_load_state_dict_post_hook(device):
    m = Model(device)
    seen = []

    def post(mod, keys):
        seen.append(type(mod).__name__)
        keys.missing_keys.clear()

    m.register_load_state_dict_post_hook(post)
    handle = m.blocks[1].register_load_state_dict_post_hook(lambda mod, keys: seen.append(list(keys.unexpected_keys)))
    sd = m.state_dict()
    del sd["head"]
    sd["junk"] = lucid.zeros(1, device=device)
    result = m.load_state_dict(sd, strict=False)
    assert seen == [["junk"], "Model"] and result.missing_keys == []  # submodules' hooks first, as PyTorch
    handle.remove()
    m.register_load_state_dict_post_hook(lambda mod, keys: keys)
    with pytest.raises(RuntimeError, match="must return None"):
        m.load_state_dict(m.state_dict())


def test_inplace_update_keeps_buffer_order(device):
    m = lucid.nn.Module()
    m.register_buffer("a", lucid.zeros(2, device=device))
    m.register_buffer("b", lucid.zeros(2, device=device))
    with lucid.no_grad():
        m.a += 1.0
    assert list(m.state_dict()) == ["a", "b"]
    assert m.a.tolist() == [1.0, 1.0]


def _frozen_norm(m):
    """torchvision's FrozenBatchNorm2d idiom: a buffer-only norm layer whose ``_load_from_state_dict`` drops
    the ``num_batches_tracked`` a BatchNorm checkpoint carries, then calls the base class's."""

    class FrozenNorm(m.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.register_buffer("weight", m.ones(n))
            self.register_buffer("bias", m.zeros(n))

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                  error_msgs):
            state_dict.pop(prefix + "num_batches_tracked", None)
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                          unexpected_keys, error_msgs)

    return FrozenNorm


def test_load_from_state_dict_overrides_run_as_torch():
    """A module overriding ``_load_from_state_dict`` (renaming or dropping its entries, then ``super()``'s) loads
    a checkpoint as under PyTorch: same values, same missing/unexpected keys; a shape error still changes
    nothing in the other modules."""
    torch = pytest.importorskip("torch")
    for m in (torch, lucid):
        frozen = _frozen_norm(m)
        net = m.nn.Sequential(m.nn.Linear(3, 3), frozen(3))
        bn = m.nn.BatchNorm1d(3)
        with m.no_grad():
            bn.weight.fill_(2.0)
            bn.bias.fill_(-1.0)
        state = {f"1.{k}": v for k, v in bn.state_dict().items() if k in ("weight", "bias", "num_batches_tracked")}
        state.update({f"0.{k}": m.full_like(v, 0.5) for k, v in net[0].state_dict().items()})
        result = net.load_state_dict(state)
        assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
        assert net[1].weight.tolist() == [2.0] * 3 and net[1].bias.tolist() == [-1.0] * 3
        assert net[0].weight.sum().item() == 4.5
        bad = dict(state, **{"1.bias": m.zeros(4)})
        with pytest.raises(RuntimeError, match="size mismatch"):
            net.load_state_dict(dict(bad, **{"0.bias": m.zeros(3)}))
        if m is lucid:  # lucid's failed load changes nothing (PyTorch's has copied the entries it checked first)
            assert net[0].bias.tolist() == [0.5] * 3


def test_load_from_state_dict_called_alone_copies_at_once(device):
    """Outside ``load_state_dict`` (a library calling it on one module), the check copies straight away and
    reports into the lists it was given, as PyTorch's."""
    layer = nn.Linear(2, 2, device=device)
    missing, unexpected, errors = [], [], []
    layer._load_from_state_dict({"p.weight": lucid.ones(2, 2, device=device), "p.extra": lucid.ones(1)}, "p.", {},
                                True, missing, unexpected, errors)
    assert layer.weight.sum().item() == 4.0
    assert missing == ["p.bias"] and unexpected == ["p.extra"] and errors == []


def test_old_batchnorm_checkpoint_keeps_the_count(device):
    """BatchNorm's own ``_load_from_state_dict``: a plain dict (no version) without ``num_batches_tracked``
    loads and keeps the layer's count, as PyTorch."""
    bn = nn.BatchNorm1d(2, device=device)
    bn(lucid.randn(4, 2, device=device))
    old = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    assert bn.load_state_dict(old) is not None and bn.num_batches_tracked.item() == 1


def test_private_load_pre_hook_without_module(device):
    """PyTorch's private ``_register_load_state_dict_pre_hook``: the hook gets the module only ``with_module``."""
    layer = nn.Linear(2, 2, device=device)
    seen = []
    layer._register_load_state_dict_pre_hook(lambda sd, prefix, *rest: seen.append(("plain", prefix)))
    layer._register_load_state_dict_pre_hook(lambda mod, sd, prefix, *rest: seen.append((mod, prefix)),
                                             with_module=True)
    layer.load_state_dict(layer.state_dict())
    assert seen == [("plain", ""), (layer, "")]


def test_to_empty_gives_new_memory_of_each_shape(device_pair):
    """``to_empty(device=)``: every parameter, buffer and grad gets uninitialised memory of its shape and dtype
    on the device, in place (same objects); ``recurse=False`` leaves the submodules."""
    src, dst = device_pair
    net = nn.Sequential(nn.Linear(3, 2, device=src), nn.BatchNorm1d(2, device=src))
    net[0].weight.grad = lucid.ones(2, 3, device=src)
    weight = net[0].weight
    assert net.to_empty(device=dst, recurse=False) is net and net[0].weight.device == src
    net.to_empty(device=dst)
    assert net[0].weight is weight and weight.device == dst and weight.grad.device == dst
    assert [(t.shape, t.dtype, t.device) for t in net.state_dict().values()] == [
        ((2, 3), lucid.float32, dst), ((2,), lucid.float32, dst), ((2,), lucid.float32, dst),
        ((2,), lucid.float32, dst), ((2,), lucid.float32, dst), ((2,), lucid.float32, dst), ((), lucid.int64, dst)]
    assert weight.requires_grad and not net[1].running_mean.requires_grad
