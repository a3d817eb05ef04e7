"""nn.Parameter and nn.Buffer: construction, dtypes, requires_grad rules, gradients, copies."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import lucid
import lucid.nn as nn


# ---- Parameter ----------------------------------------------------------------------
def test_parameter_defaults(device):
    t = lucid.randn(2, 3, device=device)
    p = nn.Parameter(t)
    assert isinstance(p, lucid.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf
    assert p.device is device and p.dtype is lucid.float32 and p.shape == (2, 3)
    np.testing.assert_array_equal(p.detach().numpy(force=True), t.numpy(force=True))


def test_parameter_shares_storage_with_its_tensor(device):
    t = lucid.zeros(3, device=device)
    p = nn.Parameter(t)
    with lucid.no_grad():
        p += 1.0
    np.testing.assert_array_equal(t.numpy(force=True), np.ones(3, np.float32))


@pytest.mark.parametrize("kind", [nn.Parameter, nn.Buffer])
def test_0d_parameter_and_buffer_share_storage_with_a_computed_tensor(device, kind):
    """As PyTorch: made from a 0-d result of arithmetic (CLIP's ``nn.Parameter(torch.ones([]) * np.log(1 /
    0.07))``), for which NumPy hands back a scalar rather than an array, they still share its storage."""
    t = lucid.ones([], device=device) * 2.0
    p = kind(t)
    with lucid.no_grad():
        p.add_(1.0)
    assert t.item() == 3.0 and p.item() == 3.0


def test_parameter_keeps_dtype_and_can_be_frozen(device):
    p = nn.Parameter(lucid.zeros(2, dtype=lucid.float64, device=device), requires_grad=False)
    assert p.dtype is lucid.float64 and not p.requires_grad


def test_parameter_of_non_leaf_is_a_leaf(device):
    x = lucid.randn(3, device=device, requires_grad=True)
    p = nn.Parameter(x * 2)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_parameter_empty_and_integer():
    assert nn.Parameter().shape == (0,) and nn.Parameter().dtype is lucid.float32
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(lucid.tensor([1, 2]))
    assert nn.Parameter(lucid.tensor([1, 2]), requires_grad=False).dtype is lucid.int64


def test_parameter_gets_gradients(device):
    p = nn.Parameter(lucid.tensor([1.0, 2.0, 3.0], device=device))
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(force=True), [2.0, 4.0, 6.0])


# ---- Buffer: construction and dtypes ---------------------------------------------------
@pytest.mark.parametrize("data", [
    [1.0, 2.0], 3.0, np.arange(3.0), np.arange(3.0, dtype=np.float16), np.arange(3.0, dtype=np.float64),
])
def test_buffer_floating_data_become_float32(data):
    b = nn.Buffer(data)
    assert isinstance(b, nn.Buffer) and b.dtype is lucid.float32
    np.testing.assert_allclose(b.numpy(), np.asarray(data, dtype=np.float32))


def test_buffer_float32_even_with_float64_default():
    lucid.set_default_dtype(lucid.float64)
    try:
        assert nn.Buffer([1.0]).dtype is lucid.float32
    finally:
        lucid.set_default_dtype(lucid.float32)


@pytest.mark.parametrize("data, dtype", [
    (3, lucid.int64), ([1, 2], lucid.int64), (np.arange(3, dtype=np.int32), lucid.int32),
    (np.arange(3, dtype=np.uint8), lucid.uint8), (True, lucid.bool_), (np.array([True, False]), lucid.bool_),
])
def test_buffer_integer_and_bool_data_keep_their_dtype(data, dtype):
    assert nn.Buffer(data).dtype is dtype


def test_buffer_from_tensor(device):
    t64 = lucid.tensor([1.0, 2.0], dtype=lucid.float64, device=device)
    b = nn.Buffer(t64)
    assert b.dtype is lucid.float32 and b.device is device
    ints = nn.Buffer(lucid.tensor([1, 2], device=device))
    assert ints.dtype is lucid.int64 and ints.device is device


def test_buffer_explicit_dtype(device):
    b = nn.Buffer(lucid.tensor([1.0, 2.0], device=device), dtype=lucid.float64)
    assert b.dtype is lucid.float64
    assert nn.Buffer([1, 2], dtype=lucid.float32).dtype is lucid.float32
    assert nn.Buffer(np.float64(0.1), dtype=lucid.float64).item() == 0.1  # no detour through float32


def test_buffer_shares_storage_with_float32_tensor(device):
    t = lucid.zeros(3, device=device)
    b = nn.Buffer(t)
    b.fill_(2.0)
    np.testing.assert_array_equal(t.numpy(force=True), [2.0, 2.0, 2.0])


def test_buffer_none_and_persistent_flag():
    b = nn.Buffer()
    assert b.shape == (0,) and b.dtype is lucid.float32 and b.persistent
    assert not nn.Buffer([1.0], persistent=False).persistent


def test_buffer_is_not_a_parameter(device):
    b = nn.Buffer(lucid.ones(2, device=device))
    assert isinstance(b, lucid.Tensor) and not isinstance(b, nn.Parameter)


# ---- Buffer: never requires grad --------------------------------------------------------
def test_buffer_requires_grad_cannot_be_switched_on(device):
    b = nn.Buffer(lucid.ones(3, device=device))
    assert b.requires_grad is False and b.is_leaf
    with pytest.raises(RuntimeError, match="never requires grad"):
        b.requires_grad_(True)
    with pytest.raises(RuntimeError, match="never requires grad"):
        b.requires_grad = True
    with pytest.raises(RuntimeError, match="never requires grad"):
        b.requires_grad_()
    assert b.requires_grad_(False) is b
    b.requires_grad = False
    assert b.requires_grad is False


def test_buffer_requires_grad_from_a_tensor_that_requires_grad(device):
    x = lucid.randn(3, device=device, requires_grad=True)
    b = nn.Buffer(x)
    assert not b.requires_grad and b.grad_fn is None


def test_mixing_buffer_and_grad_tensor_gives_grad_to_the_tensor_only(device):
    """Seed 000: output = x + buffer; backward gives x ones and leaves the buffer unchanged."""
    b = nn.Buffer(lucid.tensor([0.5, -1.0, 2.0], device=device))
    x = lucid.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    out = x * b + b
    out.backward(lucid.ones(3, device=device))
    np.testing.assert_allclose(x.grad.numpy(force=True), [0.5, -1.0, 2.0])
    assert b.grad is None and not b.requires_grad
    np.testing.assert_allclose(b.numpy(force=True), [0.5, -1.0, 2.0])


def test_inplace_update_of_buffer_with_grad_tensor_records_nothing(device):
    """``buffer += x`` with x requiring grad (grad mode on) changes the values; the buffer
    stays a leaf that does not require grad."""
    b = nn.Buffer(lucid.zeros(3, device=device))
    x = lucid.ones(3, device=device, requires_grad=True)
    b += x
    assert not b.requires_grad and b.grad_fn is None and b.is_leaf
    np.testing.assert_array_equal(b.numpy(force=True), [1.0, 1.0, 1.0])
    b.add_(x * 2)
    assert not b.requires_grad
    np.testing.assert_array_equal(b.numpy(force=True), [3.0, 3.0, 3.0])


def test_buffer_results_are_plain_tensors(device):
    b = nn.Buffer(lucid.ones(2, device=device))
    assert type(b + 1) is lucid.Tensor and type(b.detach()) is lucid.Tensor


def test_buffer_stays_gradless_through_to_deepcopy_pickle(device_pair):
    here, there = device_pair
    b = nn.Buffer(lucid.tensor([1.0, 2.0], device=here), persistent=False)
    assert not b.to(there).requires_grad and b.to(there).device is there
    assert not b.to(lucid.float64).requires_grad
    for clone in (copy.deepcopy(b), pickle.loads(pickle.dumps(b))):
        assert type(clone) is nn.Buffer and not clone.requires_grad and clone.persistent is False
        assert clone.device is here
        with pytest.raises(RuntimeError, match="never requires grad"):
            clone.requires_grad_(True)
        np.testing.assert_array_equal(clone.numpy(force=True), [1.0, 2.0])


def test_parameter_deepcopy_and_pickle_keep_type_and_grad_flag(device):
    p = nn.Parameter(lucid.tensor([1.0, 2.0], device=device))
    for clone in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(clone) is nn.Parameter and clone.requires_grad and clone.device is device
        with lucid.no_grad():
            clone.fill_(0.0)
        np.testing.assert_array_equal(p.detach().numpy(force=True), [1.0, 2.0])


def test_repr_names_the_kind(device):
    """A Parameter says so, as PyTorch's; a Buffer prints as the plain tensor a PyTorch buffer is."""
    torch = pytest.importorskip("torch")
    assert repr(nn.Buffer([1.0, 2.0])) == repr(torch.nn.Buffer(torch.tensor([1.0, 2.0]))) == "tensor([1., 2.])"
    assert repr(lucid.nn.BatchNorm1d(2).num_batches_tracked) == "tensor(0)"
    assert "requires_grad=True" in repr(nn.Parameter(lucid.ones(2, device=device)))
