"""Tensor construction, metadata, conversion, printing and bad-input errors."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import lucid


def test_construction_infers_pytorch_dtypes(device):
    assert lucid.tensor([1.0, 2.0], device=device).dtype == lucid.float32
    assert lucid.tensor([1, 2], device=device).dtype == lucid.int64
    assert lucid.tensor([True], device=device).dtype == lucid.bool
    assert lucid.tensor(np.zeros(2, np.float64), device=device).dtype == lucid.float64
    assert lucid.tensor(np.zeros(2, np.int32), device=device).dtype == lucid.int32
    assert lucid.Tensor(3.0, device=device).shape == ()
    t = lucid.Tensor([[1, 2], [3, 4]], dtype=lucid.float64, device=device)
    assert t.dtype == lucid.float64 and t.shape == (2, 2) and t.device == device


def test_unsupported_data_is_rejected():
    with pytest.raises(TypeError, match="timedelta64"):
        lucid.tensor(np.zeros(2, "m8[s]"))
    with pytest.raises(TypeError, match="unknown dtype"):
        lucid.zeros(2, dtype="float8")


def test_dtype_objects_compare_with_numpy_spellings():
    assert lucid.float32 == np.float32 and lucid.float32 == "float32"
    assert lucid.int64 == np.dtype("int64") and lucid.float64 != lucid.float32
    assert lucid.dtypes.to_dtype(float) is lucid.float32 and lucid.dtypes.to_dtype(int) is lucid.int64
    assert pickle.loads(pickle.dumps(lucid.float16)) is lucid.float16


def test_metadata(device):
    t = lucid.zeros(2, 3, 4, device=device)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.dim() == 3
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.numel() == 24 and len(t) == 2
    assert t.is_leaf and t.grad_fn is None and not t.requires_grad
    assert t.is_floating_point() and t.element_size() == 4 and t.nbytes == 96


def test_requires_grad_only_for_floats(device):
    i = lucid.arange(3, device=device)
    with pytest.raises(RuntimeError, match="floating point"):
        i.requires_grad_()
    assert not i.requires_grad
    x = lucid.ones(2, device=device).requires_grad_()
    assert x.requires_grad and x.is_leaf
    y = x * 2.0
    assert not y.is_leaf and y.grad_fn is not None
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False


def test_detach_shares_storage_and_version(device):
    x = lucid.ones(3, device=device, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad
    d += 1.0
    np.testing.assert_allclose(x.detach().numpy(force=True), [2.0, 2.0, 2.0])


def test_clone_free_data_property(device):
    x = lucid.tensor([1.0, 2.0], device=device, requires_grad=True)
    assert not x.data.requires_grad
    x.data = lucid.tensor([5.0, 6.0], device=device)
    assert x.tolist() == [5.0, 6.0] and x.requires_grad


def test_item_tolist_and_python_conversions(device):
    t = lucid.tensor([[1.5]], device=device)
    assert t.item() == 1.5 and float(t) == 1.5 and int(t) == 1 and bool(t)
    assert lucid.tensor([[1, 2], [3, 4]], device=device).tolist() == [[1, 2], [3, 4]]
    with pytest.raises(RuntimeError, match="one element"):
        lucid.ones(2, device=device).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(lucid.ones(2, device=device))


def test_numpy_conversion_rules():
    x = lucid.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)"):
        x.numpy()
    arr = x.detach().numpy()
    assert isinstance(arr, np.ndarray) and arr.tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match="detach"):
        np.asarray(x)
    np.testing.assert_array_equal(np.asarray(x.detach()), [1.0, 2.0])


def test_numpy_refuses_non_host_device(device_pair):
    _, there = device_pair
    if there.type == "cpu":
        pytest.skip("second device is the host")
    t = lucid.ones(2, device=there)
    with pytest.raises(TypeError, match=r"\.cpu\(\)"):
        t.numpy()
    assert t.cpu().numpy().tolist() == [1.0, 1.0]


def test_to_dtype_and_device(device_pair):
    here, there = device_pair
    x = lucid.tensor([1.5, 2.5], device=here)
    assert x.to(here) is x and x.to(lucid.float32) is x
    y = x.to(there)
    assert y.device == there and y.tolist() == [1.5, 2.5] and x.device == here
    z = x.to(there, lucid.float64)
    assert z.dtype == lucid.float64 and z.device == there
    w = x.to(lucid.ones(1, dtype=lucid.int32, device=there))
    assert w.dtype == lucid.int32 and w.device == there and w.tolist() == [1, 2]
    assert x.to(dtype="float64").dtype == lucid.float64


def test_repr_is_readable(device):
    x = lucid.tensor([1.0, 2.0], device=device, requires_grad=True)
    text = repr(x)
    assert text.startswith("tensor([1., 2.]") and "requires_grad=True" in text
    assert ("device=" in text) == (device.type != "cpu")
    assert "grad_fn=<MulBackward0>" in repr(x * 2.0)
    assert "dtype=lucid.float64" in repr(lucid.zeros(1, dtype=lucid.float64, device=device))
    assert "dtype" not in repr(lucid.zeros(1, device=device))


def test_deepcopy_and_pickle_keep_data_device_and_flag(device):
    x = lucid.tensor([1.0, 2.0], device=device, requires_grad=True)
    for clone in (copy.deepcopy(x), pickle.loads(pickle.dumps(x))):
        assert clone.tolist() == [1.0, 2.0] and clone.requires_grad and clone.device == device
        with lucid.no_grad():
            clone += 1.0
        assert x.tolist() == [1.0, 2.0]  # no shared storage
    with pytest.raises(RuntimeError, match="leaf"):
        copy.deepcopy(x * 2.0)


def test_dlpack_roundtrip_to_numpy():
    x = lucid.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(np.from_dlpack(x), [1.0, 2.0, 3.0])
    assert x.__array_namespace__() is lucid


def test_grad_setter_checks_shape(device):
    x = lucid.ones(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="shape"):
        x.grad = lucid.ones(3, device=device)
    x.grad = lucid.zeros(2, device=device)
    assert x.grad.tolist() == [0.0, 0.0]


def test_zero_fill_and_copy(device, device_pair):
    t = lucid.ones(3, device=device)
    version = t._version[0]
    t.zero_()
    assert t.tolist() == [0.0, 0.0, 0.0] and t._version[0] > version
    t.fill_(2.5)
    assert t.tolist() == [2.5, 2.5, 2.5]
    t.copy_(lucid.tensor([1, 2, 3], device=device))
    assert t.tolist() == [1.0, 2.0, 3.0] and t.dtype == lucid.float32
    here, there = device_pair
    dst = lucid.zeros(2, device=here)
    dst.copy_(lucid.tensor([4.0, 5.0], device=there))
    assert dst.tolist() == [4.0, 5.0] and dst.device == here


def test_tensor_copies_but_Tensor_shares_numpy_memory():
    a = np.zeros(3, dtype=np.float32)
    lucid.tensor(a).fill_(5.0)
    assert a.tolist() == [0.0, 0.0, 0.0]
    lucid.Tensor(a).fill_(5.0)  # the constructor wraps the array, as torch.from_numpy
    assert a.tolist() == [5.0, 5.0, 5.0]
    t = lucid.ones(2)
    lucid.tensor(t).zero_()
    assert t.tolist() == [1.0, 1.0]
