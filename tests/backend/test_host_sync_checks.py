"""What the sync-free paths changed, checked on every backend: data checks (index ranges, class
targets, BCE probabilities, embedding_bag offsets) still raise on host devices and are skipped
elsewhere; the branch-free paths (max-pool nan rule, ``_Positions.write``, embedding_bag by
scatter, drop_block's scale, ``lucid._backend.arrays``) give PyTorch's values; and no code in
lucid calls array-api-compat's ``xp.clip``/``xp.sign`` (masked writes, a host sync each on CuPy).
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest
from sync_counting import gpu_like  # noqa: F401 (fixture)

import lucid
import lucid.nn.functional as F
from lucid._backend import arrays

LUCID = pathlib.Path(lucid.__file__).parent


def make(values, device, dtype=lucid.float64, grad=False):
    return lucid.tensor(np.asarray(values), dtype=dtype, device=device, requires_grad=grad)


def ints(values, device):
    return lucid.tensor(np.asarray(values), dtype=lucid.int64, device=device)


def host(t):
    return t.detach().numpy(force=True)


# ---- no array-api-compat clip/sign in lucid --------------------------------------------------------
def test_no_compat_clip_or_sign_in_lucid():
    """array-api-compat's CuPy ``clip``/``sign`` make masked writes (two host syncs a call): lucid
    uses ``lucid._backend.arrays.clip``/``sign`` instead. A regression names file and line."""
    pattern = re.compile(r"\bxp\s*\.\s*(clip|sign)\s*\(")
    found = [f"{path.relative_to(LUCID.parent)}:{n}: {line.strip()}"
             for path in sorted(LUCID.rglob("*.py")) if path.name != "_tensor.pyi"
             for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, "use lucid._backend.arrays.clip/sign instead of xp.clip/xp.sign:\n" + "\n".join(found)


def test_clip_and_sign_helpers_match_torch(device):
    torch = pytest.importorskip("torch")
    values = np.array([-3.0, -0.5, -0.0, 0.0, 0.25, 2.0, np.inf, -np.inf, np.nan])
    x, tx = make(values, device)._data, torch.tensor(values)
    xp = device.xp
    for lo, hi in [(-1.0, 1.0), (0.0, None), (None, 0.5), (1.0, -1.0)]:
        got = lucid.Tensor._make(arrays.clip(xp, x, lo, hi), device)
        np.testing.assert_array_equal(host(got), torch.clamp(tx, lo, hi).numpy())
    bounds = make(np.linspace(-1, 1, values.size), device)._data
    got = lucid.Tensor._make(arrays.clip(xp, x, bounds, None), device)
    np.testing.assert_array_equal(host(got), torch.clamp(tx, min=torch.linspace(-1, 1, values.size,
                                                                                 dtype=torch.float64)).numpy())
    copy = arrays.clip(xp, x)
    assert copy is not x and np.array_equal(host(lucid.Tensor._make(copy, device)), values, equal_nan=True)
    np.testing.assert_array_equal(host(lucid.Tensor._make(arrays.sign(xp, x), device)), torch.sign(tx).numpy())
    for dtype, tdtype, data in [(lucid.int64, torch.int64, [-5, 0, 7]), (lucid.uint8, torch.uint8, [0, 3, 255])]:
        t = lucid.tensor(data, dtype=dtype, device=device)
        out = lucid.Tensor._make(arrays.sign(xp, t._data), device)
        assert out.dtype == dtype
        np.testing.assert_array_equal(host(out), torch.sign(torch.tensor(data, dtype=tdtype)).numpy())


# ---- data checks: on host devices they raise, elsewhere they are skipped --------------------------
CHECKS = {
    "cross_entropy": (lambda d: F.cross_entropy(make(np.zeros((2, 3)), d), ints([0, 3], d)),
                      IndexError, "out of bounds for 3 classes"),
    "nll_loss": (lambda d: F.nll_loss(make(np.zeros((2, 3)), d), ints([-1, 0], d)), IndexError, "target -1"),
    "multi_margin_loss": (lambda d: F.multi_margin_loss(make(np.zeros((2, 3)), d), ints([5, 0], d)),
                          IndexError, "target 5"),
    "binary_cross_entropy": (lambda d: F.binary_cross_entropy(make([0.5, 1.5], d), make([0.0, 1.0], d)),
                             RuntimeError, "between 0 and 1"),
    "embedding": (lambda d: F.embedding(ints([1, 4], d), make(np.zeros((4, 2)), d)), IndexError, "index 4"),
    "embedding_bag_offsets": (lambda d: F.embedding_bag(ints([1, 2, 3], d), make(np.zeros((4, 2)), d),
                                                        ints([0, 2, 1], d)), ValueError, "never decrease"),
    "getitem": (lambda d: make(np.zeros(3), d)[ints([0, 3], d)], IndexError, "index 3 is out of bounds"),
    "gather": (lambda d: make(np.zeros((2, 2)), d).gather(1, ints([[0, -1], [1, 0]], d)), RuntimeError,
               "index -1"),  # torch's class for gather
}
# the ones whose unchecked result is still defined off the host (what the backend's gather does with a
# bad index is not: CuPy wraps it around, array-api-strict raises NumPy's IndexError)
DEFINED_OFF_HOST = {"binary_cross_entropy", "embedding_bag_offsets"}


@pytest.mark.parametrize("name", list(CHECKS))
def test_data_checks_raise_on_host_devices(name, device):
    if not device.host:
        pytest.skip("off the host the check is skipped (see test_data_checks_are_skipped_off_the_host)")
    run, error, message = CHECKS[name]
    with pytest.raises(error, match=message):
        run(device)


@pytest.mark.parametrize("name", sorted(DEFINED_OFF_HOST))
def test_data_checks_are_skipped_off_the_host(name, gpu_like):  # noqa: F811
    CHECKS[name][0](gpu_like)  # no error and, as test_host_syncs shows, no sync


def test_host_flag_of_the_backends():
    assert lucid.device("cpu").host
    pytest.importorskip("array_api_strict")
    assert lucid.device("strict:0").host and not lucid.device("strict:1").host and not lucid.device("strict:2").host


# ---- branch-free paths give PyTorch's values ------------------------------------------------------
@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=2, padding=1), dict(kernel_size=3, stride=2,
                                                                                              padding=1)])
@pytest.mark.parametrize("fill", ["none", "nan", "-inf"])
def test_max_pool_nan_and_padding_rules_match_torch(device, kwargs, fill):
    """On a device that cannot cheaply ask "any nan?" the nan rule (the last nan of a window wins) always
    runs, and padded non-overlapping pools take the general path: the values and gradients are PyTorch's."""
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(3).standard_normal((2, 2, 6, 6))
    if fill != "none":
        data[0, 0, :2, :2] = float(fill)
        data[1, 1, 3, 4] = float(fill)
    x, tx = make(data, device, grad=True), torch.tensor(data, requires_grad=True)
    y, idx = F.max_pool2d(x, return_indices=True, **kwargs)
    ty, tidx = torch.nn.functional.max_pool2d(tx, return_indices=True, **kwargs)
    np.testing.assert_array_equal(host(y), ty.detach().numpy())
    np.testing.assert_array_equal(host(idx), tidx.numpy())
    g = np.random.default_rng(4).standard_normal(ty.shape)
    y.backward(make(g, device))
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(host(x.grad), tx.grad.numpy())


@pytest.mark.parametrize("idx,offsets,last,kwargs", [
    ([1, 2, 4, 5, 4, 3, 2, 6], [0, 3, 8], True, {"mode": "sum"}),  # the last offset is the input's length
    ([1, 2, 4, 5, 4, 3, 2, 6], [0, 3, 3, 8], True, {"mode": "max"}),
    ([1, 2, 4, 5, 4, 3, 2, 6], [0, 0, 8, 8], False, {"mode": "mean"}),  # empty bags first and last
    ([3, 3, 3, 1], [0, 2], False, {"mode": "max", "padding_idx": 3}),  # a bag of padding only
    ([3, 3, 3, 1], [0, 2], False, {"mode": "mean", "padding_idx": 3}),
])
def test_embedding_bag_by_scatter_matches_torch(device, idx, offsets, last, kwargs):
    torch = pytest.importorskip("torch")
    w0 = np.random.default_rng(5).standard_normal((7, 3))
    w, tw = make(w0, device, grad=True), torch.tensor(w0, requires_grad=True)
    y = F.embedding_bag(ints(idx, device), w, ints(offsets, device), include_last_offset=last, **kwargs)
    ty = torch.nn.functional.embedding_bag(torch.tensor(idx), tw, torch.tensor(offsets), include_last_offset=last,
                                           **kwargs)
    np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-12, atol=1e-15)
    g = np.random.default_rng(6).standard_normal(ty.shape)
    y.backward(make(g, device))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(host(w.grad), tw.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_embedding_bag_without_bags(device):
    w = make(np.ones((4, 2)), device)
    assert F.embedding_bag(ints([1, 2], device), w, ints([], device)).shape == (0, 2)
    assert F.embedding_bag(ints([1, 2], device), w, ints([0], device), include_last_offset=True).shape == (0, 2)


def test_setitem_with_repeated_positions_keeps_the_last_write(device):
    """``_Positions.write`` finds each position's last write by ``searchsorted`` (no boolean mask)."""
    torch = pytest.importorskip("torch")
    base, values = np.arange(6.0), np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    where_ = [4, 1, 4, -2, 0]
    x, tx = make(base, device), torch.tensor(base)
    x[ints(where_, device)] = make(values, device)
    tx[torch.tensor(where_)] = torch.tensor(values)  # CPU PyTorch writes in order: the last write wins
    np.testing.assert_array_equal(host(x), tx.numpy())
    y = make(base, device).scatter(0, ints([5, 5, 2], device), make([7.0, 8.0, 9.0], device))
    np.testing.assert_array_equal(host(y), [0.0, 1.0, 9.0, 3.0, 4.0, 8.0])


def test_drop_block_scale_stays_on_the_device(device):
    """Kept elements are scaled by numel / kept (timm's rule); nothing kept gives zeros, not nan."""
    lucid.manual_seed(7)
    out = host(F.drop_block(make(np.ones((2, 3, 9, 9)), device), 3, 0.3))
    kept = np.count_nonzero(out)
    assert 0 < kept < out.size
    np.testing.assert_allclose(out[out != 0], out.size / kept, rtol=1e-12)
    # one block covers the whole 3 x 3 map and p=1 drops it everywhere
    np.testing.assert_array_equal(host(F.drop_block(make(np.ones((2, 3, 3, 3)), device), 3, 1.0)), 0.0)
