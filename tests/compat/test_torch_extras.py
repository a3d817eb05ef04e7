"""PyTorch's remaining top-level names: single recurrent steps on explicit weights, constant_pad_nd,
the per-rank grid samplers, eager control flow (cond, while_loop), the deprecated CPU/GPU autocast
switches, BFloat16Tensor, is_distributed and the removed symeig."""

from __future__ import annotations

import numpy as np
import pytest

import lucid

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(("name", "gates"), [("rnn_tanh_cell", 1), ("rnn_relu_cell", 1), ("gru_cell", 3),
                                             ("lstm_cell", 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_recurrent_steps_match_torch(device, rng, name, gates, bias):
    arrays = [rng.standard_normal(s) for s in ((3, 4), (3, 5), (3, 5), (gates * 5, 4), (gates * 5, 5),
                                                (gates * 5,), (gates * 5,))]
    ours = [lucid.tensor(a, device=device, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]

    def run(lib, t):
        hx = (t[1], t[2]) if name == "lstm_cell" else t[1]
        out = getattr(lib, name)(t[0], hx, t[3], t[4], *(t[5:] if bias else (None, None)))
        return out if isinstance(out, tuple) else (out,)

    a, b = run(lucid, ours), run(torch, theirs)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u.detach().numpy(force=True), v.detach().numpy(), rtol=1e-12, atol=1e-12)
    sum(o.sum() * (i + 1) for i, o in enumerate(a)).backward()
    sum(o.sum() * (i + 1) for i, o in enumerate(b)).backward()
    for u, v in zip(ours, theirs):
        if v.grad is not None:
            np.testing.assert_allclose(u.grad.numpy(force=True), v.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_constant_pad_nd_and_grid_samplers_match_torch(device, rng):
    x = rng.standard_normal((1, 2, 3, 4))
    got = lucid.constant_pad_nd(lucid.tensor(x, device=device), [1, 2, 0, 1], 0.5)
    want = torch.constant_pad_nd(torch.tensor(x), [1, 2, 0, 1], 0.5)
    np.testing.assert_array_equal(got.numpy(force=True), want.numpy())
    grid = rng.uniform(-1, 1, (1, 3, 2, 2))
    for mode, padding in ((0, 0), (1, 1), (2, 2)):
        got = lucid.grid_sampler_2d(lucid.tensor(x, device=device), lucid.tensor(grid, device=device), mode, padding,
                                    False)
        want = torch.grid_sampler_2d(torch.tensor(x), torch.tensor(grid), mode, padding, False)
        np.testing.assert_allclose(got.numpy(force=True), want.numpy(), rtol=1e-10, atol=1e-12)


def test_cond_and_while_loop_run_eagerly():
    x = lucid.tensor([1.0, 2.0])
    assert lucid.cond(x.sum() > 2, lambda t: t * 2, lambda t: t - 1, (x,)).tolist() == [2.0, 4.0]
    assert lucid.cond(False, lambda t: t * 2, lambda t: t - 1, [x]).tolist() == [0.0, 1.0]
    i, total = lucid.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s + i), (lucid.tensor(0), lucid.tensor(0)))
    assert (i.item(), total.item()) == (5, 10)
    with pytest.raises(TypeError, match="tuple or list"):
        lucid.while_loop(lambda i: i < 3, lambda i: (i + 1,), lucid.tensor(0))
    with pytest.raises(RuntimeError, match="2 values"):
        lucid.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1,), (lucid.tensor(0), lucid.tensor(0)))


def test_deprecated_autocast_switches_follow_the_device_ones():
    assert lucid.is_autocast_cpu_enabled() is lucid.is_autocast_enabled("cpu") is False
    lucid.set_autocast_cpu_enabled(True)
    try:
        assert lucid.is_autocast_enabled("cpu") and lucid.is_autocast_cpu_enabled()
    finally:
        lucid.set_autocast_cpu_enabled(False)
    assert not lucid.is_autocast_enabled("cpu")
    before = lucid.get_autocast_cpu_dtype()
    lucid.set_autocast_cpu_dtype(lucid.bfloat16)
    try:
        assert lucid.get_autocast_dtype("cpu") is lucid.bfloat16 is lucid.get_autocast_cpu_dtype()
    finally:
        lucid.set_autocast_cpu_dtype(before)
    assert lucid.get_autocast_gpu_dtype() is lucid.get_autocast_dtype("cuda")


def test_bfloat16_tensor_is_a_legacy_type_and_the_rest():
    t = lucid.BFloat16Tensor([1.0, 2.0])
    assert t.dtype is lucid.bfloat16 and isinstance(t, lucid.BFloat16Tensor)
    assert t.type() == "lucid.BFloat16Tensor"
    assert lucid.is_distributed(t) is False
    with pytest.raises(RuntimeError, match="linalg.eigh"):
        lucid.symeig(lucid.eye(2))
