"""Indexing ops: x[key], x[key] = value, gather/scatter family, masks, where, sorting, unique.

Values are compared with NumPy (and PyTorch where installed); every differentiable op gets a
float64 gradcheck with repeated indices, and getitem / gather a gradgradcheck.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import lucid
from lucid.autograd import gradcheck, gradgradcheck

SHAPE = (3, 4, 2)
_masks = np.random.default_rng(1)
MASK3 = _masks.random(SHAPE) > 0.5
MASK2 = _masks.random(SHAPE[:2]) > 0.5
MASK1 = np.array([True, False, True, True])


def _t(values, device, **kw):
    # a copy, so that writes into the tensor can never reach the NumPy expectation's input
    return lucid.tensor(np.array(values) if isinstance(values, np.ndarray) else values, device=device, **kw)


def _host(t):
    return t.numpy(force=True)


def _lucid_key(key, device):
    key = key if isinstance(key, tuple) else (key,)
    return tuple(_t(k, device) if isinstance(k, np.ndarray) else k for k in key)


def _other_device(device):
    """A device other than ``device`` for mismatch errors (strict:N are fake GPUs on the CPU)."""
    if device.type == "cuda":
        return lucid.device("cpu")
    try:
        return lucid.device("strict:1" if str(device) != "strict:1" else "strict:0")
    except lucid.UnknownDeviceError:
        pytest.skip("needs the array-api-strict test backend for a second device")


# (key, whether it repeats an element) on a tensor of SHAPE; ndarrays become lucid tensors.
# NumPy and PyTorch agree on all of them (negative steps and out-of-range slice stops: NumPy only).
KEYS = {
    "int": (1, False),
    "negative int": (-1, False),
    "slice, int": ((slice(None), 2), False),
    "slices with steps": ((slice(1, None), slice(None, None, 2)), False),
    "negative step": ((Ellipsis, slice(None, None, -1)), False),
    "negative step, None, int": ((slice(3, 0, -2), None, -2), False),
    "None around ellipsis": ((None, Ellipsis, None), False),
    "out-of-range slice stops": (slice(-10, 10), False),
    "empty slice": (slice(2, 2), False),
    "repeated index": (np.array([0, 2, 2, 0]), True),
    "2-d index after slice": ((slice(None), np.array([[1, 1], [3, 0]])), True),
    "separated indices": ((np.array([0, 2, 2]), slice(None), np.array([1, 1, 0])), False),
    "broadcast indices": ((np.array([[0], [2]]), np.array([1, 3, 3])), True),
    "negative indices": ((Ellipsis, np.array([-1, 0, -1])), True),
    "full mask": (MASK3, False),
    "leading mask": (MASK2, False),
    "int and mask": ((1, MASK1), False),
    "list": ([0, 2], False),
    "empty list": ([], False),
}


@pytest.fixture(params=list(KEYS), ids=list(KEYS))
def key_case(request):
    return KEYS[request.param]


# ---- x[key] -------------------------------------------------------------------------------------
def test_getitem_matches_numpy(device, key_case, rng):
    key, _ = key_case
    a = rng.standard_normal(SHAPE)
    got = _t(a, device)[_lucid_key(key, device)]
    want = a[key]
    assert got.shape == want.shape
    np.testing.assert_array_equal(_host(got), want)


def test_getitem_gradcheck(device, key_case, rng):
    key, _ = key_case
    x = _t(rng.standard_normal(SHAPE), device, requires_grad=True)
    lkey = _lucid_key(key, device)
    assert gradcheck(lambda t: t[lkey], (x,))


@pytest.mark.parametrize("name", ["repeated index", "broadcast indices", "leading mask", "slices with steps"])
def test_getitem_gradgradcheck(device, name, rng):
    lkey = _lucid_key(KEYS[name][0], device)
    x = _t(rng.standard_normal(SHAPE), device, requires_grad=True)
    assert gradgradcheck(lambda t: t[lkey] ** 2, (x,))


def test_getitem_repeated_indices_accumulate(device, rng):
    # upstream Lucid dropped repeats: an embedding row used twice must get both gradients
    weight = _t(rng.standard_normal((5, 3)), device, requires_grad=True)
    ids = np.array([[1, 4, 1], [1, 0, 4]])
    upstream = rng.standard_normal((2, 3, 3))
    weight[_t(ids, device)].backward(_t(upstream, device))
    want = np.zeros((5, 3))
    np.add.at(want, ids, upstream)
    np.testing.assert_allclose(_host(weight.grad), want)


def test_getitem_view_shares_storage_and_version_without_grad(device, rng):
    x = _t(rng.standard_normal((3, 4)), device)
    w = _t(rng.standard_normal(4), device, requires_grad=True)
    row = x[1]
    z = (row * w).sum()  # saves row
    x.fill_(2.0)
    np.testing.assert_array_equal(_host(row), np.full(4, 2.0))  # a view: sees the write
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


def test_recorded_getitem_is_a_view_of_its_input(device, rng):
    a = rng.standard_normal((3, 4))
    leaf = _t(a, device, requires_grad=True)
    x = leaf * 1.0
    row = x[1]
    assert row._base is x and row._version is x._version
    row.add_(10.0)  # writes through to x, and x's history records it
    want = a.copy()
    want[1] += 10.0
    np.testing.assert_array_equal(_host(x.detach()), want)
    (x * x).sum().backward()
    np.testing.assert_allclose(_host(leaf.grad), 2 * want)


def test_getitem_errors(device):
    x = _t(np.zeros(SHAPE), device)
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[3]
    if device.host:  # off the host index tensors are not range-checked (a sync): tests/backend/test_host_syncs.py
        with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 1"):
            x[:, _t([0, 4], device)]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]
    with pytest.raises(IndexError, match="boolean mask of shape"):
        x[_t(np.ones((3, 3), dtype=bool), device)]
    with pytest.raises(IndexError, match="integer or bool"):
        x[_t([0.0, 1.0], device)]
    with pytest.raises(IndexError, match="valid indices"):
        x[1.5]


def test_index_on_another_device_raises(device):
    other = _other_device(device)
    x = _t(np.zeros((3, 4)), device)
    idx = _t([0, 1], other)
    with pytest.raises(lucid.DeviceMismatchError, match="move it there"):
        x[idx]
    with pytest.raises(lucid.DeviceMismatchError):
        x[_t(np.ones((3, 4), dtype=bool), other)]
    with pytest.raises(lucid.DeviceMismatchError):
        x[idx] = 1.0
    with pytest.raises(lucid.DeviceMismatchError):
        x[0] = _t(np.ones(4), other)
    with pytest.raises(lucid.DeviceMismatchError):
        x.gather(1, _t([[0], [1], [2]], other))
    with pytest.raises(lucid.DeviceMismatchError):
        x.index_select(0, idx)
    with pytest.raises(lucid.DeviceMismatchError):
        x.masked_fill(_t(np.ones((3, 4), dtype=bool), other), 0.0)
    with pytest.raises(lucid.DeviceMismatchError):
        lucid.where(_t(np.ones((3, 4), dtype=bool), other), x, 0.0)


# ---- x[key] = value -------------------------------------------------------------------------------
# NumPy does not define which of repeated writes wins: those keys have their own test below
@pytest.mark.parametrize("name", [name for name, (_, repeats) in KEYS.items() if not repeats])
def test_setitem_matches_numpy(device, name, rng):
    key = KEYS[name][0]
    a = rng.standard_normal(SHAPE)
    value = rng.standard_normal(a[key].shape)
    x = _t(a, device)
    before = x._version[0]
    x[_lucid_key(key, device)] = _t(value, device)
    want = a.copy()
    want[key] = value
    np.testing.assert_array_equal(_host(x), want)
    assert x._version[0] == before + 1


def test_setitem_broadcasts_and_casts(device, rng):
    a = rng.standard_normal((3, 4))
    x = _t(a, device)
    alias = x[:]  # a view: must see the in-place writes
    row = rng.standard_normal(4)
    x[1:] = _t(row.reshape(1, 1, 4), device)  # leading size-1 dims are dropped, as PyTorch
    x[0, ::-2] = 7
    x[_t(a > 1.0, device)] = -1.0
    want = a.copy()
    want[1:] = row
    want[0, ::-2] = 7
    want[a > 1.0] = -1.0
    np.testing.assert_array_equal(_host(x), want)
    np.testing.assert_array_equal(_host(alias), want)
    ints = _t([1, 2, 3], device)
    ints[0] = 2.7  # cast to the tensor's dtype, as PyTorch
    ints[1:] = _t([5.9, -1.2], device)
    assert ints.dtype is lucid.int64
    np.testing.assert_array_equal(_host(ints), [int(2.7), int(5.9), int(-1.2)])


def test_setitem_repeated_positions_last_write_wins(device, rng):
    a = rng.standard_normal(6)
    positions = [1, 4, 1, 1, 0]
    values = rng.standard_normal(5)
    x = _t(a, device)
    x[_t(positions, device)] = _t(values, device)
    want = a.copy()
    for p, v in zip(positions, values):
        want[p] = v
    np.testing.assert_array_equal(_host(x), want)


def test_setitem_shape_mismatch_leaves_tensor_unchanged(device):
    x = _t(np.zeros((3, 4)), device)
    with pytest.raises(RuntimeError, match="cannot be broadcast to indexing result of shape"):
        x[0] = _t(np.ones(3), device)
    np.testing.assert_array_equal(_host(x), np.zeros((3, 4)))
    assert x._version[0] == 0


def test_setitem_on_leaf_requiring_grad_raises(device):
    w = _t(np.ones((2, 3)), device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w[0] = 5.0
    np.testing.assert_array_equal(_host(w), np.ones((2, 3)))
    assert w._version[0] == 0
    with lucid.no_grad():
        w[0, 1:] = 5.0
    np.testing.assert_array_equal(_host(w), [[1.0, 5.0, 5.0], [1.0, 1.0, 1.0]])
    assert w._version[0] == 1 and w.is_leaf and w.requires_grad


def test_setitem_after_save_fails_backward(device):
    w = _t(np.ones(3), device, requires_grad=True)
    x = w * 2.0
    loss = (x * x).sum()  # saves x
    x[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_setitem_value_gives_tensor_a_graph(device, rng):
    buf = lucid.zeros(3, 4, dtype=lucid.float64, device=device)
    v = _t(rng.standard_normal(4), device, requires_grad=True)
    buf[1] = v
    assert buf.requires_grad and buf.grad_fn is not None
    up = rng.standard_normal((3, 4))
    buf.backward(_t(up, device))
    np.testing.assert_allclose(_host(v.grad), up[1])


@pytest.mark.parametrize("name", ["slices with steps", "negative step, None, int", "repeated index",
                                  "separated indices", "int and mask"])
def test_setitem_gradcheck(device, name, rng):
    key = KEYS[name][0]
    lkey = _lucid_key(key, device)
    x = _t(rng.standard_normal(SHAPE), device, requires_grad=True)
    region = np.zeros(SHAPE)[key].shape
    v = _t(rng.standard_normal(region[1:]), device, requires_grad=True)  # broadcast over the first dim

    def write(t, value):
        y = t * t
        y[lkey] = value * value
        return y

    assert gradcheck(write, (x, v))
    if name in ("slices with steps", "repeated index"):
        assert gradgradcheck(write, (x, v))


def test_positional_encoding_pattern(device):
    # the seed notebook's sinusoidal encoding, written into a buffer with strided setitem
    max_len, d_model = 10, 6
    pe = lucid.zeros(max_len, d_model, device=device)
    position = lucid.arange(0, max_len, device=device).to(lucid.float32).reshape(max_len, 1)
    div_term = (lucid.arange(0, d_model, 2, device=device).to(lucid.float32) * (-math.log(10000.0) / d_model)).exp()
    pe[:, 0::2] = lucid.sin(position * div_term)
    pe[:, 1::2] = lucid.cos(position * div_term)
    pos = np.arange(max_len, dtype=np.float32)[:, None]
    div = np.exp(np.arange(0, d_model, 2, dtype=np.float32) * np.float32(-math.log(10000.0) / d_model))
    want = np.zeros((max_len, d_model), dtype=np.float32)
    want[:, 0::2] = np.sin(pos * div)
    want[:, 1::2] = np.cos(pos * div)
    assert pe.dtype is lucid.float32 and pe._version[0] == 2
    np.testing.assert_allclose(_host(pe), want, rtol=1e-5, atol=1e-6)


# ---- gather / scatter family ------------------------------------------------------------------
def _coords(index, dim):
    """NumPy index tuple naming, for each entry of ``index``, its target along ``dim``."""
    grids = list(np.indices(index.shape))
    grids[dim] = index
    return tuple(grids)


def test_gather_matches_numpy(device, rng):
    a = rng.standard_normal((3, 4))
    idx1 = rng.integers(0, 4, size=(3, 6))  # more columns than a: repeats
    np.testing.assert_array_equal(_host(_t(a, device).gather(1, _t(idx1, device))), np.take_along_axis(a, idx1, 1))
    idx0 = rng.integers(0, 3, size=(2, 3))  # smaller than a outside dim 0 (PyTorch allows it)
    np.testing.assert_array_equal(_host(lucid.gather(_t(a, device), 0, _t(idx0, device))),
                                  np.take_along_axis(a[:, :3], idx0, 0))


def test_gather_gradcheck_and_gradgradcheck(device, rng):
    x = _t(rng.standard_normal((3, 4)), device, requires_grad=True)
    idx = _t(rng.integers(0, 4, size=(3, 6)), device)
    assert gradcheck(lambda t: t.gather(1, idx), (x,))
    assert gradgradcheck(lambda t: t.gather(1, idx) ** 2, (x,))
    assert gradgradcheck(lambda t: t.gather(-1, idx).exp(), (x,))


def test_gather_errors(device):
    x = _t(np.zeros((3, 4)), device)
    with pytest.raises(RuntimeError, match="index has 1 dimensions but the tensor has 2"):
        x.gather(1, _t([0, 1], device))
    if device.host:  # off the host index tensors are not range-checked (a sync)
        with pytest.raises(RuntimeError, match="index -1 is out of bounds for dimension 1 with size 4"):
            x.gather(1, _t([[0], [-1], [0]], device))
    with pytest.raises(RuntimeError, match="integer tensor"):
        x.gather(1, _t([[0.0]], device))
    with pytest.raises(RuntimeError, match="index has size 5 in dimension 0"):
        x.gather(1, _t(np.zeros((5, 1), dtype=np.int64), device))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64"])
def test_numpy_gather_and_scatter_extras_match_the_generic_kernels(rng, dtype):
    """NumPy's ``gathered`` (one take in the positions' shape, no bounds check) and ``scattered`` (added through a
    flat view) equal the generic ones bit for bit, repeated positions accumulating in order; their results own
    their memory (the engine copies a view that becomes a .grad)."""
    from lucid._backend import fused
    from lucid._backend.numpy_backend import NumpyBackend

    ours, generic = NumpyBackend(), fused.GenericKernels()
    generic.xp, generic.add_at = np, lambda target, index, values: np.add.at(target, index, values)
    x = (rng.standard_normal((6, 7)) * 100).astype(dtype)
    for positions in (rng.integers(0, 42, (5, 9)), rng.integers(0, 42, ()), np.zeros((0, 3), dtype=np.int64)):
        got, want = ours.gathered(x, positions), generic.gathered(x, positions)
        assert got.shape == want.shape == positions.shape and got.dtype == x.dtype and got.base is None
        np.testing.assert_array_equal(got, want)
    flat = rng.integers(0, 42, 300)  # about 7 per position
    values = (rng.standard_normal(300) * 100).astype(dtype)
    got, want = ours.scattered((6, 7), flat, values), generic.scattered((6, 7), flat, values)
    assert got.shape == (6, 7) and got.dtype == x.dtype and got.base is None
    np.testing.assert_array_equal(got, want)


def test_scatter_add_matches_numpy_and_gradchecks(device, rng):
    a = rng.standard_normal((3, 4))
    idx = rng.integers(0, 3, size=(4, 4))  # repeats along dim 0
    src = rng.standard_normal((5, 4))  # only the (4, 4) corner is used, as PyTorch
    got = _t(a, device).scatter_add(0, _t(idx, device), _t(src, device))
    want = a.copy()
    np.add.at(want, _coords(idx, 0), src[:4])
    np.testing.assert_allclose(_host(got), want)
    x = _t(a, device, requires_grad=True)
    s = _t(src, device, requires_grad=True)
    lidx = _t(idx, device)
    assert gradcheck(lambda t, u: lucid.scatter_add(t, 0, lidx, u), (x, s))
    assert gradgradcheck(lambda t, u: lucid.scatter_add(t * t, 0, lidx, u * u), (x, s))


def test_scatter_matches_numpy(device, rng):
    a = rng.standard_normal((3, 5))
    idx = np.stack([rng.permutation(5)[:3] for _ in range(3)])  # no repeats: NumPy's result is defined
    src = rng.standard_normal((3, 3))
    want = a.copy()
    np.put_along_axis(want, idx, src, 1)
    np.testing.assert_array_equal(_host(_t(a, device).scatter(1, _t(idx, device), _t(src, device))), want)
    want = a.copy()
    np.put_along_axis(want, idx, 0.5, 1)
    np.testing.assert_array_equal(_host(lucid.scatter(_t(a, device), 1, _t(idx, device), value=0.5)), want)
    np.testing.assert_array_equal(_host(lucid.scatter(_t(a, device), 1, _t(idx, device), 0.5)), want)


def test_scatter_gradcheck_with_repeats(device, rng):
    x = _t(rng.standard_normal((3, 4)), device, requires_grad=True)
    s = _t(rng.standard_normal((3, 3)), device, requires_grad=True)
    idx = _t([[0, 0, 3], [1, 2, 1], [2, 2, 2]], device)  # repeats: only the last write counts
    assert gradcheck(lambda t, u: t.scatter(1, idx, u), (x, s))
    assert gradgradcheck(lambda t, u: (t * t).scatter(1, idx, u * u), (x, s))
    assert gradcheck(lambda t: t.scatter(1, idx, value=2.0), (x,))


def test_index_write_and_its_backward_sort_the_positions_at_most_once(device, rng, monkeypatch):
    """The generic ``written`` of the forward and the winners of the backward share one stable sort of the
    positions (NumPy's ``written`` needs none); the values' gradient still goes to the last write alone."""
    sorts = []
    argsort = device.xp.argsort
    monkeypatch.setattr(device.xp, "argsort", lambda *a, **k: sorts.append(1) or argsort(*a, **k))
    x = _t(rng.standard_normal(6), device, requires_grad=True)
    v = _t(rng.standard_normal(5), device, requires_grad=True)
    y = x * 1.0
    y[_t([4, 1, 4, 0, 1], device)] = v
    (y * _t(np.arange(1.0, 7.0), device)).sum().backward()
    assert len(sorts) <= 1
    np.testing.assert_array_equal(_host(v.grad), [0.0, 0.0, 5.0, 1.0, 2.0])
    np.testing.assert_array_equal(_host(x.grad), [0.0, 0.0, 3.0, 4.0, 0.0, 6.0])


def test_inplace_scatter_forms(device, rng):
    a = rng.standard_normal((2, 4))
    idx = np.array([[3, 0], [1, 1]])
    src = rng.standard_normal((2, 2))
    x = _t(a, device)
    assert x.scatter_add_(1, _t(idx, device), _t(src, device)) is x
    want = a.copy()
    np.add.at(want, _coords(idx, 1), src)
    np.testing.assert_allclose(_host(x), want)
    y = _t(a, device)
    y.scatter_(1, _t(idx, device), 9.0)
    want = a.copy()
    np.put_along_axis(want, idx, 9.0, 1)
    np.testing.assert_array_equal(_host(y), want)
    assert x._version[0] == 1 and y._version[0] == 1
    w = _t(a, device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w.scatter_(1, _t(idx, device), 0.0)


def test_index_select(device, rng):
    a = rng.standard_normal((3, 4, 2))
    idx = np.array([2, 0, 2, 3])
    got = lucid.index_select(_t(a, device), 1, _t(idx, device))
    np.testing.assert_array_equal(_host(got), np.take(a, idx, axis=1))
    x = _t(a, device, requires_grad=True)
    lidx = _t(idx, device)
    assert gradcheck(lambda t: t.index_select(1, lidx), (x,))
    with pytest.raises(IndexError, match="0-D or 1-D"):
        x.index_select(0, _t([[0]], device))


def test_take_along_dim(device, rng):
    a = rng.standard_normal((3, 4))
    idx = np.array([[0, -1, 2]])  # broadcasts over dim 0; negative counts from the end
    got = lucid.take_along_dim(_t(a, device), _t(idx, device), dim=1)
    np.testing.assert_array_equal(_host(got), np.take_along_axis(a, np.broadcast_to(idx % 4, (3, 3)), 1))
    flat = np.array([11, 0, 5, 5])
    np.testing.assert_array_equal(_host(_t(a, device).take_along_dim(_t(flat, device))), a.reshape(-1)[flat])
    x = _t(a, device, requires_grad=True)
    lidx = _t(idx, device)
    assert gradcheck(lambda t: lucid.take_along_dim(t, lidx, dim=1), (x,))


# ---- masks, where, nonzero ------------------------------------------------------------------------
def test_masked_fill(device, rng):
    a = rng.standard_normal((3, 4))
    mask = rng.random(4) > 0.5  # broadcast over rows
    got = _t(a, device).masked_fill(_t(mask, device), -2.5)
    np.testing.assert_array_equal(_host(got), np.where(mask, -2.5, a))
    x = _t(a, device, requires_grad=True)
    value = _t(1.5, device, dtype=lucid.float64, requires_grad=True)
    lmask = _t(mask, device)
    assert gradcheck(lambda t, v: lucid.masked_fill(t, lmask, v), (x, value))
    y = _t(a, device)
    assert y.masked_fill_(_t(a > 0, device), 0.0) is y
    np.testing.assert_array_equal(_host(y), np.where(a > 0, 0.0, a))
    ints = _t([1, 2, 3], device).masked_fill(_t([True, False, True], device), 7.9)
    assert ints.dtype is lucid.int64
    np.testing.assert_array_equal(_host(ints), [int(7.9), 2, int(7.9)])
    with pytest.raises(TypeError, match="bool tensor"):
        x.masked_fill(_t([1, 0, 1, 0], device), 0.0)
    with pytest.raises(RuntimeError, match="does not broadcast"):
        x.masked_fill(_t(np.ones((2, 3, 4), dtype=bool), device), 0.0)


def test_where(device, rng):
    a, b = rng.standard_normal((3, 1)), rng.standard_normal((1, 4))
    cond = rng.random((3, 4)) > 0.5
    lc = _t(cond, device)
    np.testing.assert_array_equal(_host(lucid.where(lc, _t(a, device), _t(b, device))), np.where(cond, a, b))
    np.testing.assert_array_equal(_host(lucid.where(lc, _t(a, device), 0.0)), np.where(cond, a, 0.0))
    np.testing.assert_array_equal(_host(_t(a, device).where(lc, 3)), np.where(cond, a, 3))
    both = lucid.where(lc, 1.0, 0)
    assert both.dtype is lucid.float32 and both.device is device
    np.testing.assert_array_equal(_host(both), np.where(cond, 1.0, 0.0))
    x, y = _t(a, device, requires_grad=True), _t(b, device, requires_grad=True)
    assert gradcheck(lambda s, t: lucid.where(lc, s, t), (x, y))
    assert gradcheck(lambda s: lucid.where(lc, -1.0, s * s), (x,))
    assert gradgradcheck(lambda s, t: lucid.where(lc, s * s, t * s), (x, y))
    for got, want in zip(lucid.where(lc), np.nonzero(cond)):
        np.testing.assert_array_equal(_host(got), want)
    with pytest.raises(TypeError, match="bool tensor as condition"):
        lucid.where(_t([1, 0], device), 1.0, 0.0)


def test_nonzero(device, rng):
    a = rng.integers(-1, 2, size=(3, 4))
    got = lucid.nonzero(_t(a, device))
    assert got.dtype is lucid.int64
    np.testing.assert_array_equal(_host(got), np.argwhere(a))
    for got, want in zip(_t(a, device).nonzero(as_tuple=True), np.nonzero(a)):
        np.testing.assert_array_equal(_host(got), want)
    assert lucid.nonzero(_t(3.0, device)).shape == (1, 0)
    assert lucid.nonzero(_t(0.0, device)).shape == (0, 0)


# ---- sorting and selection ---------------------------------------------------------------------
def test_sort_and_argsort(device, rng):
    a = rng.integers(0, 4, size=(3, 6)).astype(np.float64)  # many ties: the sort is stable
    x = _t(a, device)
    values, indices = lucid.sort(x, dim=1)
    np.testing.assert_array_equal(_host(indices), np.argsort(a, axis=1, kind="stable"))
    np.testing.assert_array_equal(_host(values), np.sort(a, axis=1))
    down = x.sort(dim=0, descending=True)
    np.testing.assert_array_equal(_host(down.indices), np.argsort(-a, axis=0, kind="stable"))
    np.testing.assert_array_equal(_host(down.values), -np.sort(-a, axis=0))
    np.testing.assert_array_equal(_host(x.argsort(descending=True)), np.argsort(-a, axis=-1, kind="stable"))
    xg = _t(rng.standard_normal((3, 5)), device, requires_grad=True)
    assert gradcheck(lambda t: t.sort(dim=1, descending=True).values, (xg,))
    assert gradgradcheck(lambda t: t.sort(dim=0).values ** 2, (xg,))


_NAN_PAYLOADS = np.array([0x7FC00001, 0xFFC00000, 0x7F800001], dtype=np.uint32).view(np.float32)  # -nan, signalling
_EDGES = np.concatenate([np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-45, -1e-45, 1e-40, 3.4e38, -3.4e38, 1.0, 1.0,
                                   -1.0, 2.5], dtype=np.float32), _NAN_PAYLOADS])


def _stable_reference(a, axis, descending):
    """NumPy's stable argsort (NaN last, -0 equal to 0); descending by sorting the reversed array."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    return a.shape[axis] - 1 - np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)


@pytest.mark.parametrize("dtype", ["float32", "float16", "int8", "int16", "int32", "uint8", "float64", "int64"])
def test_argsort_is_stable_on_edge_values_of_every_dtype(device, dtype, rng):
    """NumPy sorts 32-bit and narrower dtypes by keys (value image, position) in one integer sort: the order is
    still the stable one with every NaN (any sign or payload) last, -0 tied with 0, extremes and ties kept."""
    if not device.backend.supports(getattr(lucid, dtype)):
        pytest.skip(f"the {device.backend.name} backend has no {dtype}")
    if dtype.startswith("float"):
        a = rng.choice(_EDGES, (9, 40))
        with np.errstate(over="ignore", invalid="ignore"):  # 3.4e38 is inf in float16; a signalling NaN
            a = a.astype(dtype)
    else:
        info = np.iinfo(dtype)
        a = rng.choice(np.array([info.min, info.min + 1, 0, 1, info.max - 1, info.max], dtype=dtype), (9, 40))
    x = lucid.tensor(a, device=device)
    for dim in (0, 1):
        for descending in (False, True):
            want = _stable_reference(a, dim, descending)
            got = x.argsort(dim=dim, descending=descending)
            assert got.dtype is lucid.int64
            np.testing.assert_array_equal(_host(got), want, err_msg=f"dim {dim} descending {descending}")
    if a.dtype.kind == "f":  # topk's candidate blocks (long rows) order with the same keys
        long = rng.choice(_EDGES, (3, 300)).astype(np.float32)
        for largest in (True, False):
            got = lucid.tensor(long, device=device).topk(7, largest=largest).indices
            np.testing.assert_array_equal(_host(got), _stable_reference(long, 1, largest)[:, :7])


def test_sort_of_float32_edge_values_against_torch(device, rng):
    torch = pytest.importorskip("torch")
    a = rng.choice(_EDGES[:14], (6, 50))  # torch's stable sort: NaN last, -0 tied with 0
    for descending in (False, True):
        values, indices = lucid.tensor(a, device=device).sort(dim=1, descending=descending)
        tvalues, tindices = torch.sort(torch.tensor(a), dim=1, descending=descending, stable=True)
        np.testing.assert_array_equal(_host(indices), tindices.numpy())
        np.testing.assert_array_equal(_host(values), tvalues.numpy())


def test_topk(device, rng):
    a = rng.standard_normal((3, 6))
    values, indices = _t(a, device).topk(3)
    want_idx = np.argsort(-a, axis=1, kind="stable")[:, :3]
    np.testing.assert_array_equal(_host(indices), want_idx)
    np.testing.assert_array_equal(_host(values), np.take_along_axis(a, want_idx, 1))
    low = lucid.topk(_t(a, device), 2, dim=0, largest=False)
    np.testing.assert_array_equal(_host(low.indices), np.argsort(a, axis=0, kind="stable")[:2])
    x = _t(a, device, requires_grad=True)
    assert gradcheck(lambda t: t.topk(4, dim=1).values, (x,))
    with pytest.raises(RuntimeError, match="k=7 is out of range"):
        x.topk(7)


def test_unique(device, rng):
    a = rng.integers(0, 5, size=(4, 3))
    values, inverse, counts = lucid.unique(_t(a, device), return_inverse=True, return_counts=True)
    want_values, want_inverse, want_counts = np.unique(a, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(_host(values), want_values)
    np.testing.assert_array_equal(_host(inverse), want_inverse.reshape(a.shape))
    np.testing.assert_array_equal(_host(counts), want_counts)
    f = rng.standard_normal(5).round(0)
    np.testing.assert_array_equal(_host(_t(f, device).unique()), np.unique(f))
    empty = lucid.unique(_t(np.zeros(0), device), return_counts=True)
    assert empty[0].shape == (0,) and empty[1].shape == (0,)


# ---- PyTorch oracles ------------------------------------------------------------------------------
TORCH_KEYS = {  # where PyTorch's order of result dims differs from NumPy's
    "int then separated index": lambda ix: (0, slice(None), ix([1, 0, 1])),
    "index, int, index": lambda ix: (ix([0, 2, 2]), 1, ix([1, 1, 0])),
    "None splits indices": lambda ix: (slice(None), ix([1, 3, 1]), None, ix([0, 1, 0])),
    "bool scalar": lambda ix: (True, 1),
    "int and bool scalar": lambda ix: (2, False),
    "repeated 2-d index": lambda ix: (ix([[0, 0], [2, 0]]),),
}


@pytest.mark.parametrize("name", list(TORCH_KEYS))
def test_getitem_against_torch(device, name, rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal(SHAPE)
    x = _t(a, device, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    out = x[TORCH_KEYS[name](lambda v: _t(v, device))]
    tout = tx[TORCH_KEYS[name](lambda v: torch.tensor(v))]
    assert out.shape == tuple(tout.shape)
    np.testing.assert_array_equal(_host(out), tout.detach().numpy())
    up = rng.standard_normal(out.shape)
    out.backward(_t(up, device))
    tout.backward(torch.tensor(up))
    np.testing.assert_allclose(_host(x.grad), tx.grad.numpy())


def test_gather_scatter_family_against_torch(device, rng):
    torch = pytest.importorskip("torch")
    a, src = rng.standard_normal((3, 4)), rng.standard_normal((3, 5))
    idx = rng.integers(0, 4, size=(3, 5))
    perm = np.stack([rng.permutation(4)[:3] for _ in range(3)])  # scatter: no repeats (PyTorch undefined)
    cases = {
        "gather": (lambda x, s, i, p: x.gather(1, i), lambda x, s, i, p: x.gather(1, i)),
        "scatter_add": (lambda x, s, i, p: x.scatter_add(1, i, s), lambda x, s, i, p: x.scatter_add(1, i, s)),
        "scatter": (lambda x, s, i, p: x.scatter(1, p, s[:, :3]), lambda x, s, i, p: x.scatter(1, p, s[:, :3])),
        "index_select": (lambda x, s, i, p: x.index_select(1, i[0]) * s[:, :1],
                         lambda x, s, i, p: x.index_select(1, i[0]) * s[:, :1]),
        "take_along_dim": (lambda x, s, i, p: lucid.take_along_dim(x, i[:1], 1),
                           lambda x, s, i, p: torch.take_along_dim(x, i[:1], 1)),
        "masked_fill": (lambda x, s, i, p: x.masked_fill(x > 0, 0.5) * s[:, :4],
                        lambda x, s, i, p: x.masked_fill(x > 0, 0.5) * s[:, :4]),
    }
    for name, (ours, theirs) in cases.items():
        x, s = _t(a, device, requires_grad=True), _t(src, device, requires_grad=True)
        tx, ts = torch.tensor(a, requires_grad=True), torch.tensor(src, requires_grad=True)
        out = ours(x, s, _t(idx, device), _t(perm, device))
        tout = theirs(tx, ts, torch.tensor(idx), torch.tensor(perm))
        np.testing.assert_allclose(_host(out), tout.detach().numpy(), err_msg=name)
        up = rng.standard_normal(out.shape)
        out.backward(_t(up, device))
        tout.backward(torch.tensor(up))
        np.testing.assert_allclose(_host(x.grad), tx.grad.numpy(), err_msg=name)
        if ts.grad is not None:
            np.testing.assert_allclose(_host(s.grad), ts.grad.numpy(), err_msg=name)



def test_scatter_reduce_argument_against_torch(device, rng):
    """``scatter(..., reduce="add"/"multiply")``, torch's deprecated form: values (in place too), the warning for a
    tensor src, the refusal of other names; the gradient (torch has none) is scatter_reduce's, gradchecked."""
    torch = pytest.importorskip("torch")
    a, src = rng.standard_normal((3, 4)), rng.standard_normal((3, 5))
    idx = rng.integers(0, 4, size=(3, 5))  # repeats: they combine
    for reduce in ("add", "multiply"):
        with pytest.warns(UserWarning, match="deprecated"):
            ours = lucid.scatter(_t(a, device), 1, _t(idx, device), _t(src, device), reduce=reduce)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = torch.scatter(torch.tensor(a), 1, torch.tensor(idx), torch.tensor(src), reduce=reduce)
        np.testing.assert_allclose(_host(ours), theirs.numpy(), rtol=1e-12, err_msg=reduce)
        x = _t(a, device)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a number src: no deprecation warning, as torch
            x.scatter_(1, _t(idx, device), 1.5, reduce=reduce)
        np.testing.assert_allclose(_host(x), torch.tensor(a).scatter_(1, torch.tensor(idx), 1.5, reduce=reduce).numpy(),
                                   rtol=1e-12, err_msg=reduce)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert gradcheck(lambda x, s, r=reduce: x.scatter(1, _t(idx, device), s, reduce=r),
                             (_t(a, device, requires_grad=True), _t(src, device, requires_grad=True)))
    with pytest.raises(RuntimeError, match="add or multiply"):
        _t(a, device).scatter(1, _t(idx, device), 1.0, reduce="sum")


def test_gather_scatter_on_0d_tensors_against_torch(device):
    """A 0-d tensor has one position along dim 0 (torch's rule); gather/scatter/scatter_add/scatter_reduce take it."""
    torch = pytest.importorskip("torch")
    zero = _t(np.array(0), device)
    x = _t(np.array(3.0), device, requires_grad=True)
    out = lucid.gather(x, 0, zero) * 2 + lucid.scatter_add(x, 0, zero, x) + x.scatter(0, zero, 5.0)
    tx = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    tz = torch.tensor(0)
    tout = torch.gather(tx, 0, tz) * 2 + torch.scatter_add(tx, 0, tz, tx) + tx.scatter(0, tz, 5.0)
    out.backward()
    tout.backward()
    np.testing.assert_allclose(_host(out), tout.detach().numpy())
    np.testing.assert_allclose(_host(x.grad), tx.grad.numpy())
    if device.host:  # off the host index tensors are not range-checked (a sync)
        with pytest.raises(RuntimeError, match="out of bounds"):
            lucid.gather(x, 0, _t(np.array(1), device))

def test_topk_sort_against_torch(device, rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((4, 5))  # distinct values: no tie order to disagree on
    for ours, theirs in [
        (lambda x: x.topk(3, dim=1), lambda x: x.topk(3, dim=1)),
        (lambda x: x.topk(2, dim=0, largest=False), lambda x: x.topk(2, dim=0, largest=False)),
        (lambda x: x.sort(dim=0, descending=True), lambda x: x.sort(dim=0, descending=True)),
        (lambda x: lucid.sort(x), lambda x: torch.sort(x)),
    ]:
        x, tx = _t(a, device, requires_grad=True), torch.tensor(a, requires_grad=True)
        (values, indices), (tvalues, tindices) = ours(x), theirs(tx)
        np.testing.assert_array_equal(_host(indices), tindices.numpy())
        np.testing.assert_array_equal(_host(values), tvalues.detach().numpy())
        up = rng.standard_normal(values.shape)
        values.backward(_t(up, device))
        tvalues.backward(torch.tensor(up))
        np.testing.assert_allclose(_host(x.grad), tx.grad.numpy())
