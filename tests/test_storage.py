"""Tensor storages (``untyped_storage()``, ``storage()``, ``storage_offset()``, ``lucid.is_storage``) against
PyTorch: sizes, offsets, bytes and elements, and which tensors share a storage."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lucid

# a tensor made from a (3, 4) tensor, and whether it is a view of it (shares its storage)
DERIVED = {
    "itself": (lambda t: t, True),
    "row": (lambda t: t[1], True),
    "transpose": (lambda t: t.t(), True),
    "column": (lambda t: t[:, 1], True),
    "reshape": (lambda t: t.reshape(2, 6), True),
    "detached row": (lambda t: t[1].detach(), True),
    "data tail": (lambda t: t.data[2:], True),
    "clone": (lambda t: t.clone(), False),
    "flip": (lambda t: t.flip(0), False),
    "contiguous transpose": (lambda t: t.t().contiguous(), False),
    "sum": (lambda t: t.sum(), False),
}

DTYPES = ["float32", "float64", "int64", "bool"]


def _pair(device, dtype="float32"):
    torch = pytest.importorskip("torch")
    values = np.arange(12).reshape(3, 4) % (2 if dtype == "bool" else 12)
    return (lucid.tensor(values, dtype=getattr(lucid, dtype), device=device),
            torch.tensor(values, dtype=getattr(torch, dtype)))


def _addresses(device) -> bool:
    return device.type != "strict"  # array-api-strict hides memory addresses


@pytest.mark.parametrize("name", list(DERIVED))
def test_storage_size_offset_and_sharing_as_torch(device, name):
    make, shares = DERIVED[name]
    if name == "detached row" and not _addresses(device):
        pytest.skip("array-api-strict arrays do not say which array they view: a detached view owns its storage")
    x, tx = _pair(device)
    y, ty = make(x), make(tx)
    storage, theirs = y.untyped_storage(), ty.untyped_storage()
    assert storage.nbytes() == storage.size() == len(storage) == theirs.nbytes()
    assert storage.device == y.device and storage.element_size() == 1 and lucid.is_storage(storage)
    if not _addresses(device):
        with pytest.raises(RuntimeError, match="memory addresses"):
            storage.data_ptr()
        return
    assert y.storage_offset() == ty.storage_offset()
    assert (storage.data_ptr() == x.untyped_storage().data_ptr()) is shares
    assert (theirs.data_ptr() == tx.untyped_storage().data_ptr()) is shares
    if y.numel():
        assert y.data_ptr() == storage.data_ptr() + y.storage_offset() * y.element_size()


@pytest.mark.parametrize("name", list(DERIVED))
def test_is_set_to_and_const_data_ptr_as_torch(device, name):
    """``is_set_to`` (same memory viewed the same way) against PyTorch for each derived tensor, with itself, a
    fresh view of it and the base; ``const_data_ptr`` is ``data_ptr``."""
    if not _addresses(device):
        pytest.skip("array-api-strict hides memory addresses")
    x, tx = _pair(device)
    y, ty = DERIVED[name][0](x), DERIVED[name][0](tx)
    for other, their_other in [(y, ty), (y.view(y.shape), ty.view(ty.shape)), (x, tx), (x[1], tx[1])]:
        assert y.is_set_to(other) == ty.is_set_to(their_other)
    assert y.const_data_ptr() == y.data_ptr()


@pytest.mark.parametrize("dtype", DTYPES)
def test_storage_contents_as_torch(device, dtype):
    x, tx = _pair(device, dtype)
    for y, ty in [(x[1], tx[1]), (x.t(), tx.t())]:  # a view's storage is the whole block, in memory order
        ours, theirs = y.untyped_storage(), ty.untyped_storage()
        assert ours.tolist() == theirs.tolist()
        assert [ours[i] for i in (0, 5, -1)] == [theirs[i] for i in (0, 5, -1)]
        with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
            typed = y.storage()
        with warnings.catch_warnings():  # PyTorch warns once per process
            warnings.simplefilter("ignore")
            their_typed = ty.storage()
        assert typed.dtype is getattr(lucid, dtype) and typed.element_size() == their_typed.element_size()
        assert typed.size() == len(typed) == their_typed.size() and typed.nbytes() == their_typed.nbytes()
        assert typed.tolist() == their_typed.tolist()
        assert [typed[i] for i in (0, 7, -1)] == [their_typed[i] for i in (0, 7, -1)]
        assert isinstance(typed._untyped_storage, lucid.UntypedStorage) and typed.untyped() is typed._untyped_storage
        assert lucid.is_storage(typed) and typed.device == y.device
        if _addresses(device):
            assert typed.data_ptr() == ours.data_ptr()


def test_out_of_range_and_non_storages(device):
    x = lucid.zeros(3, device=device)
    with pytest.raises(IndexError, match="out of range for storage of size 12"):
        x.untyped_storage()[12]
    with pytest.warns(UserWarning):
        typed = x.storage()
    with pytest.raises(IndexError, match="out of range for storage of size 3"):
        typed[-4]
    assert not lucid.is_storage(x) and not lucid.is_storage(x.tolist())


def test_scalar_result_has_a_stable_storage(device):
    s = lucid.arange(4.0, device=device).sum()
    assert s.untyped_storage().nbytes() == 4 and s.untyped_storage().tolist() == list(np.float32(6).tobytes())
    if _addresses(device):
        assert s.untyped_storage().data_ptr() == s.untyped_storage().data_ptr() == s.data_ptr()


def test_numpy_views_share_the_arrays_storage():
    torch = pytest.importorskip("torch")
    host = np.arange(6.0).reshape(2, 3)
    ours, theirs = lucid.from_numpy(host.T), torch.from_numpy(host.T)
    assert ours.untyped_storage().data_ptr() == theirs.untyped_storage().data_ptr() == host.ctypes.data
    with pytest.warns(UserWarning):
        assert ours.storage().tolist() == host.ravel().tolist()


def test_shared_tensor_detection_as_hugging_face():
    """safetensors groups a state_dict's tensors by (device, storage address, storage bytes) to find shared
    ones: tied weights and views must land in one group, separate parameters in their own."""
    torch = pytest.importorskip("torch")

    def groups(state):
        found = {}
        for name, t in state.items():
            key = (str(t.device), t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
            found.setdefault(key, set()).add(name)
        return sorted(sorted(g) for g in found.values())

    def state(lib):
        lib.manual_seed(0)
        emb, head = lib.nn.Embedding(5, 3), lib.nn.Linear(3, 5, bias=False)
        head.weight = emb.weight
        return {"emb": emb.weight.detach(), "head": head.weight.detach(), "row": emb.weight.detach()[2],
                "other": lib.nn.Linear(3, 3).weight.detach()}

    assert groups(state(lucid)) == groups(state(torch)) == [["emb", "head", "row"], ["other"]]


NUMPY_PARTS = {
    "tail rows": lambda a: a[2:],
    "corner": lambda a: a[1:, 2:],
    "every other row": lambda a: a[::2],
    "every other column": lambda a: a[:, ::2],
    "transpose": lambda a: a.T,
    "column": lambda a: a[:, 1],
    "flat tail": lambda a: a.ravel()[3:],
    "0-d": lambda a: a[1:2, 2:3].reshape(()),
    "empty": lambda a: a[4:],
    "strided transpose": lambda a: a[1:, ::2].T,
}


@pytest.mark.parametrize("convert", ["from_numpy", "as_tensor", "asarray"])
@pytest.mark.parametrize("name", list(NUMPY_PARTS))
def test_tensor_of_part_of_a_numpy_array_as_torch(name, convert):
    """A tensor of part of a NumPy array shares its memory and, as PyTorch's, has a storage of its own that starts
    at the part's first element (offset 0) and ends at its last: ``from_numpy(a[2:])`` does not see ``a[:2]``."""
    torch = pytest.importorskip("torch")
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    part = NUMPY_PARTS[name](a)
    ours, theirs = getattr(lucid, convert)(part), getattr(torch, convert)(part)
    assert ours.storage_offset() == theirs.storage_offset() == 0
    assert ours.stride() == theirs.stride() and ours.is_contiguous() == theirs.is_contiguous()
    storage, their_storage = ours.untyped_storage(), theirs.untyped_storage()
    assert storage.nbytes() == their_storage.nbytes()
    assert storage.tolist() == their_storage.tolist()
    if part.size:  # (PyTorch's address of an empty tensor is arbitrary)
        assert ours.data_ptr() == storage.data_ptr() == part.ctypes.data
        # (torch.asarray copies a 0-d array; lucid's shares it, as asarray without copy=True promises)
        shared = theirs.data_ptr() == their_storage.data_ptr() == part.ctypes.data
        assert shared or (convert, name) == ("asarray", "0-d")
        assert ours[(0,) * part.ndim].untyped_storage().data_ptr() == storage.data_ptr()  # views keep the storage
        expected = a.copy()
        NUMPY_PARTS[name](expected)[...] *= -1
        ours.mul_(-1)  # writes through both sides, to the part only
        np.testing.assert_array_equal(a, expected)
        part[...] = 7
        assert (ours.numpy() == 7).all()


@pytest.mark.parametrize("convert", ["from_numpy", "as_tensor", "asarray"])
def test_numpy_arrays_with_negative_or_odd_strides_are_refused_as_torch(convert):
    torch = pytest.importorskip("torch")
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    odd = np.lib.stride_tricks.as_strided(np.arange(12, dtype=np.int32), shape=(3,), strides=(6,))
    for bad, match in [(a[::-1], "negative"), (a[:, ::-2], "negative"), (odd, "multiple of the element byte size")]:
        with pytest.raises(ValueError, match=match):
            getattr(torch, convert)(bad)
        with pytest.raises(ValueError, match=match):
            getattr(lucid, convert)(bad)
    assert lucid.from_numpy(a[::-1].copy()).tolist() == a[::-1].tolist()
