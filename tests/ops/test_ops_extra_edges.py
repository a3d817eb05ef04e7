"""Issue 12's ops at their edges: bad input raises a clear error and leaves every tensor as it was;
empty tensors; views, copies and in-place shape changes; the choices lucid makes where PyTorch leaves
them open."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lucid
from lucid.autograd import gradgradcheck


def _t(values, device, **kw):
    return lucid.tensor(np.asarray(values), device=device, **kw)


def _f64(values, device, **kw):
    return lucid.tensor(np.asarray(values, dtype=np.float64), dtype=lucid.float64, device=device, **kw)


# ---- bad input: (call(x, device), exception, message part); x is a float64 (4, 3) tensor that must not change ---
BAD = {
    "index_add_ source shape": (lambda x, d: x.index_add_(0, _t([0, 1], d), _f64(np.ones((2, 2)), d)),
                                RuntimeError, "must match"),
    "index_add_ float index": (lambda x, d: x.index_add_(0, _f64([0.0], d), _f64(np.ones((1, 3)), d)),
                               RuntimeError, "integer"),
    "index_copy_ index/source count": (lambda x, d: x.index_copy_(0, _t([0, 1, 2], d), _f64(np.ones((2, 3)), d)),
                                       RuntimeError, "must match"),
    "index_fill_ out of range": (lambda x, d: x.index_fill_(1, _t([3], d), 0.0), IndexError, "out of range"),
    "index_fill_ 1-d value": (lambda x, d: x.index_fill_(1, _t([0], d), _f64([1.0], d)), RuntimeError,
                              "0-dimensional"),
    "index_reduce_ sum": (lambda x, d: x.index_reduce_(0, _t([0], d), _f64(np.ones((1, 3)), d), "sum"),
                          RuntimeError, "prod, mean"),
    "scatter_reduce_ unknown": (lambda x, d: x.scatter_reduce_(0, _t([[0]], d), _f64([[1.0]], d), "max"),
                                RuntimeError, "reduce must be"),
    "scatter_reduce_ out of range": (lambda x, d: x.scatter_reduce_(0, _t([[4]], d), _f64([[1.0]], d), "sum"),
                                     RuntimeError, "out of bounds"),
    "put_ size mismatch": (lambda x, d: x.put_(_t([0, 1], d), _f64([1.0], d)), RuntimeError, "as many elements"),
    "put_ out of range": (lambda x, d: x.put_(_t([12], d), _f64([1.0], d)), IndexError, "out of bounds"),
    "index_put_ value shape": (lambda x, d: x.index_put_((_t([0, 1], d),), _f64(np.ones((3, 3)), d)),
                               RuntimeError, "shape mismatch"),
    "masked_scatter_ short source": (lambda x, d: x.masked_scatter_(_t(np.ones((4, 3), bool), d), _f64([1.0], d)),
                                     RuntimeError, "only 1"),
    "masked_scatter_ int mask": (lambda x, d: x.masked_scatter_(_t(np.ones((4, 3), int), d), x), TypeError, "bool"),
    "fill_diagonal_ 1-d": (lambda x, d: x[0].fill_diagonal_(1.0), RuntimeError, "larger than 1"),
    "addmm_ 1-d mat": (lambda x, d: x.addmm_(_f64([1.0, 2.0], d), _f64(np.ones((2, 3)), d)), RuntimeError, "2-D"),
    "addmm_ shapes": (lambda x, d: x.addmm_(_f64(np.ones((4, 2)), d), _f64(np.ones((3, 3)), d)), RuntimeError,
                      "shape"),
    "addbmm_ batch": (lambda x, d: x.addbmm_(_f64(np.ones((2, 4, 2)), d), _f64(np.ones((3, 2, 3)), d)),
                      RuntimeError, "batch size"),
    "addr_ input shape": (lambda x, d: x.addr_(_f64(np.ones(5), d), _f64(np.ones(3), d)), RuntimeError,
                          "broadcast"),
    "renorm_ negative maxnorm": (lambda x, d: x.renorm_(2, 0, -1.0), RuntimeError, "maxnorm"),
    "t_ of a leaf that requires grad": (lambda x, d: x.requires_grad_().t_(), RuntimeError, "leaf"),
    "resize_ of a tensor that requires grad": (lambda x, d: x.requires_grad_().resize_(2, 6), RuntimeError,
                                               "requires grad"),
    "mv vector size": (lambda x, d: x.mv(_f64([1.0, 2.0], d)), RuntimeError, "shape"),
    "vdot sizes": (lambda x, d: lucid.vdot(x[0], x[:, 0]), RuntimeError, "same size"),
    "inner last dims": (lambda x, d: lucid.inner(x, x.T), RuntimeError, "last dimensions"),
    "cdist columns": (lambda x, d: lucid.cdist(x, x[:, :2]), RuntimeError, "columns"),
    "cdist compute_mode": (lambda x, d: lucid.cdist(x, x, compute_mode="fast"), ValueError, "not a valid value"),
    "cdist dtypes": (lambda x, d: lucid.cdist(x, x.float()), RuntimeError, "same dtype"),
    "index_add_ source dtype": (lambda x, d: x.index_add_(0, _t([0], d), x[:1].float()), TypeError, "dtype"),
    "index_add_ out of range": (lambda x, d: x.index_add_(0, _t([0, 4], d), x[:2]), RuntimeError, "out of bounds"),
    "pdist 3-d": (lambda x, d: lucid.pdist(x.reshape(2, 2, 3)), RuntimeError, "2-D"),
    "trace 1-d": (lambda x, d: lucid.trace(x[0]), RuntimeError, "2-D"),
    "chain_matmul 1-d": (lambda x, d: lucid.chain_matmul(x, x[0]), RuntimeError, "2-D"),
    "median empty": (lambda x, d: lucid.median(x[:0]), IndexError, "no elements"),
    "median dim empty": (lambda x, d: lucid.median(x[:, :0], 1), IndexError, "empty"),
    "kthvalue k": (lambda x, d: x.kthvalue(4, 1), IndexError, "out of range"),
    "mode empty": (lambda x, d: x[:0].mode(0), IndexError, "empty"),
    "quantile q range": (lambda x, d: x.quantile(1.5), RuntimeError, "[0, 1]"),
    "quantile q dtype": (lambda x, d: x.quantile(_t([0.5], d, dtype=lucid.float32)), RuntimeError, "same dtype"),
    "quantile 2-d q": (lambda x, d: x.quantile(_f64([[0.5]], d)), RuntimeError, "0-D or 1-D"),
    "quantile interpolation": (lambda x, d: x.quantile(0.5, interpolation="cubic"), ValueError, "interpolation"),
    "quantile int input": (lambda x, d: lucid.quantile(x.long(), 0.5), TypeError, "floating"),
    "cov 3-d": (lambda x, d: lucid.cov(x.reshape(2, 2, 3)), RuntimeError, "2 or fewer"),
    "cov float fweights": (lambda x, d: lucid.cov(x, fweights=_f64([1.0, 1.0, 1.0], d)), RuntimeError, "integral"),
    "cov negative aweights": (lambda x, d: lucid.cov(x, aweights=_f64([1.0, -1.0, 1.0], d)), RuntimeError,
                              "negative"),
    "diff negative n": (lambda x, d: x.diff(-1), RuntimeError, "non-negative"),
    "diff prepend shape": (lambda x, d: x.diff(prepend=_f64(np.ones((3, 1)), d)), RuntimeError, "prepend"),
    "gradient too few points": (lambda x, d: lucid.gradient(x[:, :2], dim=1, edge_order=2), RuntimeError,
                                "at least"),
    "gradient coordinates length": (lambda x, d: lucid.gradient(x, spacing=(_f64([0.0, 1.0], d),), dim=0),
                                    RuntimeError, "coordinates"),
    "trapezoid x and dx": (lambda x, d: lucid.trapezoid(x, _f64([0.0, 1.0, 2.0], d), dx=1.0), RuntimeError,
                           "not both"),
    "searchsorted leading dims": (lambda x, d: lucid.searchsorted(x, x[:2]), RuntimeError, "leading dimensions"),
    "searchsorted side": (lambda x, d: lucid.searchsorted(x[0], x, side="middle"), ValueError, "side"),
    "searchsorted side vs right": (lambda x, d: lucid.searchsorted(x[0], x[0], right=True, side="left"),
                                   RuntimeError, "contradict"),
    "bucketize 2-d boundaries": (lambda x, d: lucid.bucketize(x, x), RuntimeError, "1-D"),
    "bincount negative": (lambda x, d: lucid.bincount(_t([1, -1], d)), RuntimeError, "non-negative"),
    "bincount float": (lambda x, d: lucid.bincount(x[0]), RuntimeError, "integer"),
    "bincount weights shape": (lambda x, d: lucid.bincount(_t([1, 2], d), x[0]), RuntimeError, "weights"),
    "histc bins": (lambda x, d: x.histc(0), RuntimeError, "positive"),
    "histc int": (lambda x, d: x.long().histc(), RuntimeError, "floating"),
    "histc min > max": (lambda x, d: x.histc(4, 2, 1), RuntimeError, "larger"),
    "histogram 2-d edges": (lambda x, d: x.histogram(x), RuntimeError, "1-D"),
    "histogramdd bins count": (lambda x, d: lucid.histogramdd(x, [2, 2]), RuntimeError, "3 dimensions"),
    "histogramdd range": (lambda x, d: lucid.histogramdd(x, 2, range=[0.0, 1.0]), RuntimeError, "min and a max"),
    "histogramdd weight shape": (lambda x, d: lucid.histogramdd(x, 2, weight=x), RuntimeError, "one per point"),
    "unravel_index bounds": (lambda x, d: lucid.unravel_index(_t([12], d), (4, 3)), RuntimeError, "out of bounds"),
    "unravel_index float": (lambda x, d: lucid.unravel_index(x, (4, 3)), TypeError, "integer"),
    "tril_indices negative": (lambda x, d: lucid.tril_indices(-1, 2, device=d), RuntimeError, "non-negative"),
    "triu_indices float dtype": (lambda x, d: lucid.triu_indices(2, 2, dtype=lucid.float32, device=d),
                                 RuntimeError, "integer"),
    "masked_select int mask": (lambda x, d: x.masked_select(_t(np.ones((4, 3), int), d)), TypeError, "bool"),
    "masked_select shapes": (lambda x, d: lucid.masked_select(x, _t(np.ones((2, 3), bool), d)), RuntimeError,
                             "broadcast"),
    "round decimals float": (lambda x, d: x.round(decimals=1.5), TypeError, "int"),
    "round decimals positional": (lambda x, d: lucid.round(x, 1), TypeError, "positional"),
    "round decimals integer": (lambda x, d: x.long().round(decimals=1), NotImplementedError, "int64"),
    "rot90 same dims": (lambda x, d: x.rot90(1, (0, 0)), RuntimeError, "differ"),
    "rot90 one dim": (lambda x, d: x.rot90(1, (0,)), RuntimeError, "two dims"),
    "fliplr 1-d": (lambda x, d: lucid.fliplr(x[0]), RuntimeError, "at least 2"),
    "tensor_split zero": (lambda x, d: x.tensor_split(0), RuntimeError, "larger than 0"),
    "tensor_split float tensor": (lambda x, d: x.tensor_split(_f64([1.0], d)), RuntimeError, "integer"),
    "hsplit uneven": (lambda x, d: x.hsplit(2), RuntimeError, "equal sections"),
    "vsplit 1-d": (lambda x, d: lucid.vsplit(x[0], 1), RuntimeError, "at least 2"),
    "dsplit 2-d": (lambda x, d: x.dsplit(1), RuntimeError, "at least 3"),
    "split_with_sizes sum": (lambda x, d: x.split_with_sizes([1, 1]), RuntimeError, "add up"),
    "block_diag 3-d": (lambda x, d: lucid.block_diag(x.reshape(2, 2, 3)), RuntimeError, "2 or fewer"),
    "sum_to_size": (lambda x, d: x.sum_to_size(2, 3), RuntimeError, "expandable"),
    "broadcast_shapes": (lambda x, d: lucid.broadcast_shapes((4, 3), (2, 3)), RuntimeError, "broadcast"),
    "diag 3-d": (lambda x, d: lucid.diag(x.reshape(2, 2, 3)), RuntimeError, "1-D or 2-D"),
    "diag_embed same dims": (lambda x, d: lucid.diag_embed(x, 0, 1, 1), RuntimeError, "differ"),
    "diagonal_scatter src shape": (lambda x, d: lucid.diagonal_scatter(x, x[0, :2]), RuntimeError, "region"),
    "select_scatter src shape": (lambda x, d: lucid.select_scatter(x, x[0], 1, 0), RuntimeError, "region"),
    "slice_scatter src shape": (lambda x, d: lucid.slice_scatter(x, x, 0, 0, 2), RuntimeError, "region"),
    "combinations 2-d": (lambda x, d: lucid.combinations(x), RuntimeError, "1-D"),
    "cartesian_prod 2-d": (lambda x, d: lucid.cartesian_prod(x), RuntimeError, "1-D"),
    "as_strided out of bounds": (lambda x, d: x.as_strided((4, 3), (3, 1), 1), RuntimeError, "out of bounds"),
    "as_strided ranks": (lambda x, d: lucid.as_strided(x, (4, 3), (3,)), RuntimeError, "one non-negative"),
    "as_strided_ out of bounds": (lambda x, d: x.as_strided_((13,), (1,)), RuntimeError, "out of bounds"),
    "as_strided_scatter src shape": (lambda x, d: x.as_strided_scatter(x, (2, 2), (1, 1)), RuntimeError,
                                     "src must be"),
    "empty_strided ranks": (lambda x, d: lucid.empty_strided((2, 3), (1,), device=d), RuntimeError, "one entry"),
    "empty_permuted layout": (lambda x, d: lucid.empty_permuted((2, 3), (0, 0), device=d), RuntimeError,
                              "permutation"),
}


# index ranges are read on host devices only (lucid.ops.indexing._in_range: elsewhere a check would sync every
# call); these writes read no element at the indices either, so nothing raises on a device, as on CUDA
UNCHECKED_ON_DEVICES = {"put_ out of range", "index_add_ out of range", "scatter_reduce_ out of range"}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_raises_and_changes_nothing(case, device):
    if case in UNCHECKED_ON_DEVICES and not device.host:
        pytest.skip("index ranges are checked on host devices only")
    call, error, part = BAD[case]
    values = np.arange(12, dtype=np.float64).reshape(4, 3) / 7
    x = _f64(values, device)
    version = x._version[0]
    with pytest.raises(error, match=None) as info:
        call(x, device)
    assert part in str(info.value), str(info.value)
    np.testing.assert_array_equal(x.detach().numpy(force=True), values)
    assert x.shape == (4, 3) and x._version[0] == version and x.grad_fn is None


def test_device_mismatch(device_pair):
    here, there = device_pair
    a, b = lucid.arange(4.0, device=here), lucid.arange(4.0, device=there)
    for call in (lambda: lucid.searchsorted(a, b), lambda: lucid.isin(a, b), lambda: lucid.bincount(
            lucid.tensor([0, 1], device=here), b[:2]), lambda: lucid.quantile(a, b[:1]),
            lambda: a.index_add(0, lucid.tensor([0], device=there), a[:1]), lambda: lucid.cov(
            a.reshape(1, 4), aweights=b)):
        with pytest.raises(lucid.DeviceMismatchError):
            call()


# ---- empty tensors ---------------------------------------------------------------------------------------------
def test_empty_inputs_against_torch(device):
    torch = pytest.importorskip("torch")
    e = np.zeros((0, 3))
    cases = {
        "nansum": lambda m, x: m.nansum(x, 0), "count_nonzero": lambda m, x: m.count_nonzero(x),
        "cummax": lambda m, x: m.cummax(x, 0).values, "logcumsumexp": lambda m, x: m.logcumsumexp(x, 0),
        "diff": lambda m, x: m.diff(x, dim=0), "msort": lambda m, x: m.msort(x),
        "tensor_split": lambda m, x: m.tensor_split(x, 2)[1], "ravel": lambda m, x: m.ravel(x),
        "kron": lambda m, x: m.kron(x, x), "histc": lambda m, x: m.histc(x, 3, 0, 1),
        "cdist": lambda m, x: m.cdist(x, x), "nanmean": lambda m, x: m.nanmean(x, 1),
        "rot90": lambda m, x: m.rot90(x), "block_diag": lambda m, x: m.block_diag(x, x[:, :1]),
        "unique_consecutive": lambda m, x: m.unique_consecutive(x), "argwhere": lambda m, x: m.argwhere(x),
        "index_add": lambda m, x: m.index_add(x, 0, x[:, 0].long(), x),
        "take": lambda m, x: m.take(x, x[:, 0].long()),
        "cumulative_trapezoid": lambda m, x: m.cumulative_trapezoid(x, dim=1),
        "cumprod": lambda m, x: m.cumprod(x, 0), "topk none": lambda m, x: x.topk(0, 1).values,
    }
    for name, fn in cases.items():
        mine = fn(lucid, lucid.tensor(e, dtype=lucid.float64, device=device))
        theirs = fn(torch, torch.tensor(e))
        assert mine.shape == tuple(theirs.shape), name
        np.testing.assert_array_equal(mine.numpy(force=True), theirs.numpy(), err_msg=name)
    x = lucid.tensor(e, dtype=lucid.float64, device=device, requires_grad=True)
    (x.cumprod(0).sum() + x.cumprod(1).sum() + x.cummin(0).values.sum() + x.topk(0, 0).values.sum()).backward()
    assert x.grad.shape == (0, 3)


# ---- views, copies and in-place shape changes -------------------------------------------------------------------
def test_copy_variants_own_their_memory(device):
    x = _f64(np.arange(6.0).reshape(2, 3), device)
    for out in (lucid.view_copy(x, 3, 2), lucid.permute_copy(x, (1, 0)), lucid.select_copy(x, 0, 1),
                lucid.slice_copy(x, 1, 0, 2), lucid.alias_copy(x), lucid.detach_copy(x), x.narrow_copy(0, 0, 1),
                *lucid.unbind_copy(x)):
        out[...] = -1.0
    np.testing.assert_array_equal(x.numpy(force=True), np.arange(6.0).reshape(2, 3))
    views = lucid.tensor_split(x, 2, 1) + lucid.hsplit(x, 3) + (lucid.ravel(x), lucid.atleast_3d(x))
    for v in views:
        assert v._base is x  # splits, ravel and atleast_* are views, as in PyTorch


def test_in_place_shape_changes(device):
    x = _f64(np.arange(6.0).reshape(2, 3), device, requires_grad=True)
    y = x * 1
    assert y.t_() is y and y.shape == (3, 2)
    y.unsqueeze_(0).transpose_(0, 2).squeeze_()
    assert y.shape == (2, 3)
    (y * _f64([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(force=True), [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    plain = lucid.zeros(2, 3, device=device)
    plain.swapdims_(0, 1)
    assert plain.shape == (3, 2)


def test_resize_keeps_leading_elements(device):
    x = _f64(np.arange(6.0), device)
    assert x.resize_(2, 3) is x and x.shape == (2, 3)
    x.resize_(4)
    np.testing.assert_array_equal(x.numpy(force=True), [0.0, 1.0, 2.0, 3.0])
    x.resize_as_(lucid.zeros(2, 3, device=device))
    assert x.shape == (2, 3)
    np.testing.assert_array_equal(x.numpy(force=True)[0], [0.0, 1.0, 2.0])


def test_in_place_index_ops_write_into_the_tensor_and_its_views(device):
    base = _f64(np.zeros((3, 4)), device)
    row = base[1]
    row.index_add_(0, _t([0, 0, 3], device), _f64([1.0, 2.0, 5.0], device))
    np.testing.assert_array_equal(base.numpy(force=True)[1], [3.0, 0.0, 0.0, 5.0])
    base.fill_diagonal_(7.0)
    assert float(row[1].item()) == 7.0
    base.put_(_t([-1], device), _f64([9.0], device), accumulate=True)
    assert float(base[2, 3].item()) == 9.0


def test_fill_diagonal_of_a_leaf_that_requires_grad_raises(device):
    x = _f64(np.zeros((2, 2)), device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.fill_diagonal_(1.0)
    np.testing.assert_array_equal(x.detach().numpy(force=True), np.zeros((2, 2)))


# ---- choices where PyTorch leaves the result open ---------------------------------------------------------------
def test_order_statistics_pick_the_first_equal_element(device):
    x = _f64([[2.0, 1.0, 2.0, 3.0, 1.0]], device)
    assert x.median(1).indices.tolist() == [0]
    assert x.kthvalue(2, 1).indices.tolist() == [4]  # stable order: the second 1.0 is the second smallest
    assert x.mode(1).indices.tolist() == [4]  # the last occurrence, as PyTorch


def _stable_rank_positions(a, rank):
    """Positions along the last axis of the elements of stable sorted rank ``rank`` (NaN last), by NumPy."""
    return np.take_along_axis(np.argsort(a, axis=-1, kind="stable"), rank, -1)[..., 0]


def test_order_statistics_of_long_rows_follow_the_stable_order(device):
    """Long rows take faster paths (topk: candidate blocks; kthvalue/median: a sort of values and counting);
    their indices are still those of a stable sort with NaN last, ties and all."""
    rng = np.random.default_rng(7)
    a = rng.integers(0, 12, (5, 301)).astype(np.float64)
    a[rng.random(a.shape) < 0.03] = np.nan
    a[1] = np.nan  # all NaN
    a[2, ::2] = np.inf
    a[3, :150] = -0.0
    x = _f64(a, device)
    for k in (1, 5, 17):
        for largest in (True, False):
            # descending: NaN first, then the rest from the largest; ties keep their order (lexsort is stable)
            order = (np.lexsort((np.where(np.isnan(a), 0, -a), ~np.isnan(a)), axis=1) if largest
                     else np.argsort(a, axis=1, kind="stable"))
            got = x.topk(k, dim=1, largest=largest)
            np.testing.assert_array_equal(got.indices.numpy(force=True), order[:, :k])
            np.testing.assert_array_equal(x.T.topk(k, dim=0, largest=largest).indices.numpy(force=True).T, order[:, :k])
    for k in (1, 2, 150, 301):
        got = x.kthvalue(k, 1).indices.numpy(force=True)
        np.testing.assert_array_equal(got, _stable_rank_positions(a, np.full((5, 1), k - 1)))
    nans = np.isnan(a).sum(1, keepdims=True)
    valid = a.shape[1] - nans
    np.testing.assert_array_equal(x.median(1).indices.numpy(force=True),
                                  _stable_rank_positions(a, np.where(nans > 0, valid, (a.shape[1] - 1) // 2)))
    np.testing.assert_array_equal(x.nanmedian(1).indices.numpy(force=True),
                                  _stable_rank_positions(a, np.maximum((valid - 1) // 2, 0)))
    ints = rng.integers(-3, 3, (4, 200))
    np.testing.assert_array_equal(_t(ints, device).topk(9, dim=1, largest=False).indices.numpy(force=True),
                                  np.argsort(ints, axis=1, kind="stable")[:, :9])


def test_index_copy_repeated_index_last_write_wins(device):
    x = _f64(np.zeros((2, 2)), device)
    out = x.index_copy(0, _t([1, 1], device), _f64([[1.0, 2.0], [3.0, 4.0]], device))
    np.testing.assert_array_equal(out.numpy(force=True), [[0.0, 0.0], [3.0, 4.0]])


def test_range_is_inclusive_and_warns(device):
    with pytest.warns(UserWarning, match="deprecated"):
        r = lucid.range(1, 2, 0.5, device=device)
    np.testing.assert_array_equal(r.numpy(force=True), [1.0, 1.5, 2.0])
    assert r.dtype is lucid.float32


def test_factories(device):
    e = lucid.empty_strided((2, 3), (1, 2), dtype=lucid.float64, device=device)
    assert e.shape == (2, 3) and e.dtype is lucid.float64 and e.device == device
    assert lucid.empty_permuted((2, 3, 4), (2, 0, 1), device=device).shape == (2, 3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logs = lucid.logspace(0, 3, 4, dtype=lucid.int64, device=device)
    assert logs.tolist() == [1, 10, 100, 1000]
    x = _f64([1.0, 2.0], device)
    assert lucid.fill(x, 3.0).tolist() == [3.0, 3.0] and x.tolist() == [1.0, 2.0]
    assert lucid.zero_(x) is x and x.tolist() == [0.0, 0.0]


# ---- second derivatives: the composites and Functions above differentiate their own backward ---------------------
def _idx(x, values):
    return lucid.tensor(values, device=x.device)


SECOND_ORDER = {
    "median": (lambda x: lucid.median(x, 1).values * x.sum(), (3, 4)),
    "quantile": (lambda x: lucid.quantile(x, 0.3, dim=0) ** 2, (4, 3)),
    "cummax": (lambda x: lucid.cummax(x, 1).values ** 2, (2, 5)),
    "logcumsumexp": (lambda x: lucid.logcumsumexp(x, 1), (2, 5)),
    "cov": (lambda x: lucid.cov(x), (2, 5)),
    "cdist": (lambda x: lucid.cdist(x, x * 0.5 + 1.0), (3, 2)),
    "cdist_matmul": (lambda x: lucid.cdist(x, x * 0.5 + 1.0), (30, 2)),
    "cdist_batched": (lambda x: lucid.cdist(x, x[:1, :2] * 0.5 + 1.0), (2, 3, 2)),
    "pdist": (lambda x: lucid.pdist(x), (4, 3)),
    "cummin_blocked": (lambda x: lucid.cummin(x, 1).values ** 2, (2, 11)),
    "cumprod_blocked_zeros": (lambda x: (x * _idx(x, (np.arange(288).reshape(9, 32) % 7 != 3) * 0.02)).cumprod(0),
                              (9, 32)),
    "topk_blocks": (lambda x: x.topk(3, dim=1).values ** 2, (2, 40)),
    "index_add_repeats": (lambda x: lucid.index_add(x ** 2, 0, _idx(x, [0, 2, 0, 0]), x * x[:1]), (4, 2)),
    "gradient": (lambda x: lucid.gradient(x * x, edge_order=2)[0], (4, 3)),
    "addmm": (lambda x: lucid.addmm(x[0], x, x.T @ x) ** 2, (3, 3)),
    "kron": (lambda x: lucid.kron(x, x), (2, 2)),
    "renorm": (lambda x: lucid.renorm(x, 2, 0, 0.5), (3, 2)),
    "scatter_reduce_prod": (lambda x: lucid.scatter_reduce(x, 0, _idx(x, [[0, 1], [0, 0]]), x[1:3] * 2, "prod"),
                            (4, 2)),
    "scatter_reduce_mean": (lambda x: lucid.scatter_reduce(x ** 2, 0, _idx(x, [[0, 1], [0, 0]]), x[:2], "mean"),
                            (3, 2)),
    "index_reduce_amax": (lambda x: lucid.index_reduce(x ** 2, 0, _idx(x, [1, 1]), x[:2] * 3, "amax"), (3, 2)),
    "diag_embed": (lambda x: lucid.diag_embed(x ** 2, 1), (2, 3)),
    "as_strided": (lambda x: lucid.as_strided(x ** 2, (2, 2), (1, 2)), (2, 3)),
    "t_": (lambda x: (x ** 2).t_(), (2, 3)),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_gradgradcheck(name, device):
    fn, shape = SECOND_ORDER[name]
    rng = np.random.default_rng(len(name))
    n = int(np.prod(shape))
    x = _f64(((rng.permutation(n) - n / 2 + 0.37) * 0.3).reshape(shape), device, requires_grad=True)
    assert gradgradcheck(fn, [x])


@pytest.mark.parametrize("block", [1, 50, 200])
def test_euclidean_blocks_match_torch(block, device, monkeypatch):
    """p=2 ``pdist`` and exact ``cdist`` run a block of rows at a time (``_BLOCK`` differences): every block size,
    seams included, gives PyTorch's distances and gradients; a repeated row's zero distances have gradient 0."""
    torch = pytest.importorskip("torch")
    from lucid.ops import products

    monkeypatch.setattr(products, "_BLOCK", block)
    rng = np.random.default_rng(block)
    a, b = rng.standard_normal((2, 7, 3)), rng.standard_normal((1, 5, 3))
    a[1, 4] = a[1, 2]
    cases = [(lambda m, x, y: m.pdist(x[1]), "pdist"),
             (lambda m, x, y: m.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist"), "cdist")]
    for fn, name in cases:
        ours = [_f64(v, device, requires_grad=True) for v in (a, b)]
        theirs = [torch.tensor(v, requires_grad=True) for v in (a, b)]
        out, want = fn(lucid, *ours), fn(torch, *theirs)
        g = rng.standard_normal(tuple(want.shape))
        out.backward(lucid.tensor(g, device=device))
        want.backward(torch.tensor(g))
        np.testing.assert_allclose(out.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-12, err_msg=name)
        for o, t in zip(ours, theirs):
            got = np.zeros(o.shape) if o.grad is None else o.grad.cpu().numpy()
            want_grad = np.zeros(o.shape) if t.grad is None else t.grad.numpy()
            np.testing.assert_allclose(got, want_grad, rtol=1e-10, atol=1e-12, err_msg=name)
