"""Module.to / cpu / cuda / float / double / half / type: in place, identity-preserving moves and casts."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.nn as nn


class Norm(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.weight = nn.Parameter(lucid.randn(3, device=device))
        self.register_buffer("running_mean", lucid.zeros(3, device=device))
        self.register_buffer("num_batches_tracked", lucid.tensor(0, device=device))
        self.register_buffer("cache", lucid.ones(3, device=device), persistent=False)
        self.plain = lucid.ones(3, device=device)

    def forward(self, x):
        return (x - self.running_mean) * self.weight * self.cache


class Net(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.norm = Norm(device)
        self.proj = nn.Parameter(lucid.randn(3, device=device))
        self.tied = self.proj

    def forward(self, x):
        return (self.norm(x) * self.proj).sum()


def _tensors(net):
    """Every parameter, grad and buffer of ``net``."""
    params = list(net.parameters())
    return params + [p.grad for p in params if p.grad is not None] + list(net.buffers())


def test_to_other_device_moves_everything_in_place(device_pair):
    here, there = device_pair
    net = Net(here)
    net(lucid.ones(3, device=here)).backward()
    objects = {id(t) for t in _tensors(net)}
    values = [t.numpy(force=True).copy() for t in _tensors(net)]
    grads = [p.grad for p in net.parameters()]
    assert net.to(there) is net
    assert {id(t) for t in _tensors(net)} == objects
    assert [p.grad for p in net.parameters()] == grads
    for t, v in zip(_tensors(net), values):
        assert t.device is there
        np.testing.assert_array_equal(t.numpy(force=True), v)
    assert net.tied is net.proj and net.norm.num_batches_tracked.dtype is lucid.int64
    assert net.norm.plain.device is here  # plain tensor attributes are not module state
    assert not any(b.requires_grad for b in net.buffers())
    assert all(p.requires_grad for p in net.parameters())
    out = net(lucid.ones(3, device=there))
    assert out.device is there
    out.backward()
    assert all(p.grad.device is there for p in net.parameters())


def test_forward_mixing_devices_raises(device_pair):
    here, there = device_pair
    net = Net(here).to(there)
    with pytest.raises(lucid.DeviceMismatchError):
        net(lucid.ones(3, device=here))


def test_to_accepts_device_forms(device_pair):
    here, there = device_pair
    net = Net(here)
    net.to(str(there))
    assert net.proj.device is there
    net.to(device=here)
    assert net.proj.device is here
    net.to(lucid.ones(1, dtype=lucid.float64, device=there))
    assert net.proj.device is there and net.proj.dtype is lucid.float64
    net.to(here, lucid.float32)
    assert net.proj.device is here and net.proj.dtype is lucid.float32
    net.to(there, non_blocking=True)
    assert net.norm.cache.device is there


def test_cpu(device):
    net = Net(device).cpu()
    assert all(t.device.type == "cpu" for t in _tensors(net))


def test_cuda_without_gpu_leaves_module_unchanged():
    if lucid.cuda.is_available():
        pytest.skip("a GPU is available")
    net = Net()
    with pytest.raises(lucid.BackendUnavailableError):
        net.cuda()
    assert all(t.device.type == "cpu" for t in _tensors(net))


@pytest.mark.parametrize("cast, dtype", [
    (lambda m: m.double(), lucid.float64), (lambda m: m.to(lucid.float64), lucid.float64),
    (lambda m: m.type(lucid.float64), lucid.float64), (lambda m: m.to(dtype="float64"), lucid.float64),
    (lambda m: m.double().float(), lucid.float32),
])
def test_dtype_casts_touch_floating_tensors_only(device, cast, dtype):
    net = Net(device)
    net(lucid.ones(3, device=device)).backward()
    objects = [id(t) for t in _tensors(net)]
    assert cast(net) is net
    assert [id(t) for t in _tensors(net)] == objects
    for t in _tensors(net):
        assert t.dtype is (lucid.int64 if t is net.norm.num_batches_tracked else dtype)
        assert t.device is device
    assert net.norm.plain.dtype is lucid.float32
    assert not any(b.requires_grad for b in net.buffers()) and all(p.requires_grad for p in net.parameters())
    out = net(lucid.ones(3, dtype=dtype, device=device))
    assert out.dtype is dtype


def test_half(device):
    net = Net(device)
    if not device.backend.supports(lucid.float16):
        with pytest.raises(TypeError, match="float16"):
            net.half()
        assert all(t.dtype in (lucid.float32, lucid.int64) for t in _tensors(net))  # nothing changed
        return
    net.half()
    assert net.proj.dtype is lucid.float16 and net.norm.running_mean.dtype is lucid.float16
    assert net.norm.num_batches_tracked.dtype is lucid.int64


def test_to_integer_dtype_raises(device):
    with pytest.raises(TypeError, match="floating point"):
        Net(device).to(lucid.int64)


def test_optimizer_made_before_to_keeps_working(device_pair):
    """An optimizer holds Parameter objects: after ``.to()`` its updates still reach the model."""
    here, there = device_pair
    net = Net(here)
    held = list(net.parameters())
    net.to(there).double()
    net(lucid.ones(3, dtype=lucid.float64, device=there)).backward()
    with lucid.no_grad():
        for p in held:
            p -= 0.5 * p.grad
    for p, q in zip(held, net.parameters()):
        assert p is q and p.device is there and p.dtype is lucid.float64


def test_graph_recorded_before_a_cast_refuses_to_backward(device):
    net = Net(device)
    out = net(lucid.ones(3, device=device))
    net.double()
    with pytest.raises(RuntimeError, match="in-place"):
        out.backward()
