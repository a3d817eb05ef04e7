"""lucid.amp against torch.amp, found by an oracle hunt: the dtype a nested or later autocast block inherits, and
GradScaler's float32 scale, its getters/setters and scaling of any iterable."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.amp as amp
from lucid import optim


def bf16_ok(device):
    if not device.backend.supports(lucid.bfloat16):
        pytest.skip(f"the {device.backend.name} backend has no bfloat16")


def _dtypes(lib, autocast, get_dtype, device):
    """The dtypes of ``x @ x`` and get_autocast_dtype seen through nested blocks (same code for both libraries)."""
    x = lib.ones(2, 2, device=device)
    seen = []
    with autocast(device.type, dtype=lib.bfloat16):
        with autocast(device.type):  # no dtype: the enclosing block's
            seen.append((x @ x).dtype)
        with autocast(device.type, enabled=False):
            seen += [(x @ x).dtype, get_dtype(device.type)]
            with autocast(device.type):
                seen.append((x @ x).dtype)
        seen.append(get_dtype(device.type))
    return [str(d).split(".")[-1] for d in seen]


def test_nested_autocast_without_dtype_inherits_the_enclosing_one(device):
    torch = pytest.importorskip("torch")
    bf16_ok(device)
    ours = _dtypes(lucid, amp.autocast, amp.get_autocast_dtype, device)
    ref = _dtypes(torch, torch.autocast, torch.get_autocast_dtype, torch.device("cpu"))
    assert ours == ref == ["bfloat16", "float32", "bfloat16", "bfloat16", "bfloat16"]
    default = lucid.bfloat16 if device.type == "cpu" else lucid.float16  # PyTorch's defaults
    assert amp.get_autocast_dtype(device.type) is default  # restored after the blocks


def test_autocast_uses_the_dtype_set_autocast_dtype_chose(device):
    torch = pytest.importorskip("torch")
    bf16_ok(device)
    x = lucid.ones(2, 2, device=device)
    before = amp.get_autocast_dtype(device.type)
    amp.set_autocast_dtype(device.type, lucid.bfloat16)
    torch.set_autocast_dtype("cpu", torch.bfloat16)
    try:
        with amp.autocast(device.type), torch.autocast("cpu"):
            assert (x @ x).dtype is lucid.bfloat16
            assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype is torch.bfloat16
            amp.set_autocast_dtype(device.type, lucid.float16)  # inside a block: until the block ends
        assert amp.get_autocast_dtype(device.type) is lucid.bfloat16
    finally:
        amp.set_autocast_dtype(device.type, before)


def _trajectory(scaler, lib, device=None):
    p = lib.zeros(2, requires_grad=True) if device is None else lucid.zeros(2, device=device, requires_grad=True)
    opt = (optim if lib is lucid else lib.optim).SGD([p], lr=0.1)
    scaler.scale(lib.ones(()) if device is None else lucid.ones((), device=device))
    scales = [scaler.get_scale()]  # PyTorch's scaler answers init_scale itself until its first scale() call
    for g in [1.0, float("inf"), 1.0, 1.0, float("nan"), 1.0]:
        scaler.scale(lib.ones(()) if device is None else lucid.ones((), device=device))
        p.grad = lib.tensor([g, 1.0]) if device is None else lucid.tensor([g, 1.0], device=device)
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    scaler.update(0.1)
    return scales + [scaler.get_scale(), scaler.state_dict()["scale"]]


def test_scale_is_a_float32_number_step_by_step_as_torch(device):
    """A scale that is not a power of two (init_scale=3.3, backoff 0.3, growth 1.7) rounds as PyTorch's float32
    scale tensor does, after every update."""
    torch = pytest.importorskip("torch")
    kw = dict(init_scale=3.3, growth_factor=1.7, backoff_factor=0.3, growth_interval=1)
    ours = _trajectory(amp.GradScaler("cpu", **kw), lucid, device)
    ref = _trajectory(torch.amp.GradScaler("cpu", **kw), torch)
    assert ours == ref
    assert ours[0] == float(np.float32(3.3)) != 3.3


def test_growth_and_backoff_getters_and_setters_as_torch():
    torch = pytest.importorskip("torch")
    seen = []
    for scaler in (amp.GradScaler("cpu", growth_interval=7), torch.amp.GradScaler("cpu", growth_interval=7)):
        before = (scaler.get_growth_factor(), scaler.get_backoff_factor(), scaler.get_growth_interval(),
                  scaler._get_growth_tracker())
        scaler.set_growth_factor(3.0)
        scaler.set_backoff_factor(0.25)
        scaler.set_growth_interval(2)
        seen.append((before, scaler.state_dict()))
    assert seen[0] == seen[1]
    assert seen[0][1]["growth_factor"] == 3.0 and seen[0][1]["growth_interval"] == 2


def test_scale_of_any_iterable_is_a_lazy_map_as_torch(device):
    torch = pytest.importorskip("torch")
    ours = amp.GradScaler("cpu", init_scale=4.0).scale(iter([lucid.ones(2, device=device),
                                                             lucid.ones((), device=device)]))
    ref = torch.amp.GradScaler("cpu", init_scale=4.0).scale(iter([torch.ones(2), torch.ones(())]))
    assert type(ours) is type(ref) is map
    assert [o.tolist() for o in ours] == [r.tolist() for r in ref] == [[4.0, 4.0], 4.0]
    with pytest.raises(TypeError, match="Tensor or an iterable of Tensors"):
        amp.GradScaler("cpu").scale(3.0)
