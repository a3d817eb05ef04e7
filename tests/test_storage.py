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
