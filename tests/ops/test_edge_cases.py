"""Edge cases across reductions, softmaxes, norms, activations and losses (issue 11): each gives
PyTorch's silent inf/nan result, never a NumPy RuntimeWarning; and ``Tensor.to`` names an unknown
dtype as a dtype."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import lucid
import lucid.nn.functional as LF

inf, nan = math.inf, math.nan

# name: (call(lib, F, t), needs float16); t(values, dtype="float64") makes a tensor of lib on the device
BATTERY = {
    "mean of empty": (lambda L, F, t: t(np.zeros(0)).mean(), False),
    "mean of empty over dim": (lambda L, F, t: t(np.zeros((0, 3))).mean(0), False),
    "mean of +inf and -inf": (lambda L, F, t: t([inf, -inf]).mean(), False),
    "sum of +inf and -inf": (lambda L, F, t: t([inf, -inf]).sum(), False),
    "prod of inf and 0": (lambda L, F, t: t([inf, 0.0]).prod(), False),
    "cumsum of +inf and -inf": (lambda L, F, t: t([inf, -inf]).cumsum(0), False),
    "cumprod of inf and 0": (lambda L, F, t: t([inf, 0.0]).cumprod(0), False),
    "var of inf": (lambda L, F, t: t([inf, 1.0]).var(), False),
    "std of inf": (lambda L, F, t: t([inf, 0.0]).std(), False),
    "logsumexp of all -inf": (lambda L, F, t: L.logsumexp(t([[-inf, -inf], [0.0, -inf]]), 1), False),
    "logsumexp over empty": (lambda L, F, t: L.logsumexp(t(np.zeros((2, 0))), 1), False),
    "softmax of all -inf": (lambda L, F, t: L.softmax(t([-inf, -inf]), 0), False),
    "softmax with +inf": (lambda L, F, t: L.softmax(t([inf, 1.0]), 0), False),
    "log_softmax of all -inf": (lambda L, F, t: L.log_softmax(t([-inf, -inf]), 0), False),
    "log_softmax with +inf": (lambda L, F, t: L.log_softmax(t([inf, 0.0]), 0), False),
    "vector_norm p=-1 with a zero": (lambda L, F, t: L.linalg.vector_norm(t([0.0, 1.0]), -1), False),
    "vector_norm of inf": (lambda L, F, t: L.linalg.vector_norm(t([inf, -inf])), False),
    "softsign of inf": (lambda L, F, t: F.softsign(t([-inf, inf])), False),
    "silu of -inf": (lambda L, F, t: F.silu(t([-inf, inf])), False),
    "gelu of -inf": (lambda L, F, t: F.gelu(t([-inf, inf])), False),
    "mish of -inf": (lambda L, F, t: F.mish(t([-inf, inf])), False),
    "hardswish of -inf": (lambda L, F, t: F.hardswish(t([-inf, inf])), False),
    "cross_entropy, every target ignored": (lambda L, F, t: F.cross_entropy(t(np.zeros((2, 3))), t([-100, -100],
                                                                                                   "int64")), False),
    "cross_entropy of an empty batch": (lambda L, F, t: F.cross_entropy(t(np.zeros((0, 3))), t(np.zeros(0), "int64"),
                                                                        label_smoothing=0.1), False),
    "cross_entropy with -inf logits": (lambda L, F, t: F.cross_entropy(
        t([[-inf, 0.0], [-inf, -inf]]), t([1, 1], "int64"), reduction="none"), False),
    "nll_loss, every target ignored": (lambda L, F, t: F.nll_loss(
        t(np.zeros((2, 3))), t([-100, -100], "int64")), False),
    "mse_loss of empty": (lambda L, F, t: F.mse_loss(t(np.zeros(0)), t(np.zeros(0))), False),
    "binary_cross_entropy of empty": (lambda L, F, t: F.binary_cross_entropy(t(np.zeros(0)), t(np.zeros(0))), False),
    "softplus float16 near the threshold": (lambda L, F, t: F.softplus(t([10.0, 30.0], "float16"), beta=2.0), True),
    "gelu tanh float16": (lambda L, F, t: F.gelu(t([-300.0, 300.0], "float16"), approximate="tanh"), True),
    "mean of float16": (lambda L, F, t: t([60000.0, 60000.0], "float16").mean(), True),
    "vector_norm of float16": (lambda L, F, t: L.linalg.vector_norm(t([300.0, 300.0], "float16")), True),
}


def _maker(lib, device=None):
    def t(values, dtype="float64"):
        kwargs = {"device": device} if device is not None else {}
        return lib.tensor(np.asarray(values), dtype=getattr(lib, dtype), **kwargs)

    return t


@pytest.mark.parametrize("name", BATTERY)
def test_no_numpy_warning_and_torchs_value(device, name):
    call, half = BATTERY[name]
    if half and not device.backend.supports(lucid.float16):
        pytest.skip("no float16 on this backend")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = call(lucid, LF, _maker(lucid, device)).numpy(force=True)
    torch = pytest.importorskip("torch")
    want = call(torch, torch.nn.functional, _maker(torch)).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-3 if half else 1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_backward_without_counted_targets_is_quiet(device, reduction):
    x = lucid.tensor(np.zeros((2, 3)), device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LF.cross_entropy(x, lucid.tensor([-100, -100], device=device), reduction=reduction).backward()
    np.testing.assert_array_equal(x.grad.numpy(force=True), np.zeros((2, 3)))


@pytest.mark.parametrize("name", ["float128", "complex256", "torch.uint4"])
def test_to_an_unknown_dtype_names_the_dtype(device, name):
    """Not "unknown device 'float128'": the dtype is named, with the valid ones listed."""
    with pytest.raises(TypeError, match=rf"unknown dtype '{name}'; use one of lucid.float16, .*lucid.float32"):
        lucid.ones(2, device=device).to(name)


def test_to_still_reads_devices_and_known_dtype_names(device):
    x = lucid.ones(2, device=device).to("float64")
    assert x.dtype is lucid.float64 and x.device is device
    with pytest.raises(lucid.UnknownDeviceError, match="unknown device 'cpuu'"):
        x.to("cpuu")


def test_in_place_writes_into_full_reduction_results(device):
    """NumPy gives a scalar (not a 0-d array) for a full reduction; in-place ops on its tensor still work."""
    x = lucid.tensor([1.0, 2.0, 3.0], device=device)
    s = x.sum()
    s.add_(1)
    s.mul_(2)
    assert s.item() == 14.0
    m = x.max()
    m[...] = 7
    assert m.item() == 7.0
    p = lucid.nn.Parameter(lucid.zeros((), device=device))
    with lucid.no_grad():
        p.copy_(x.mean())
    assert p.item() == 2.0
    y = lucid.tensor([1.0, 2.0], device=device, requires_grad=True)
    z = (y * 2).sum()
    z.mul_(3)
    z.backward()
    assert y.grad.tolist() == [6.0, 6.0]
