"""Issue 12's ops against PyTorch: each case is one function of the module (``lucid`` or ``torch``) and its
tensors, run on both; values, dtypes and shapes must match, and so must the gradients of a random
projection of every floating output. Inputs are drawn per case from a seeded generator."""

from __future__ import annotations

import math
import warnings
import zlib

import numpy as np
import pytest

import lucid

torch = pytest.importorskip("torch")


def _distinct(*shape):
    def draw(r):
        n = math.prod(shape)
        return ((r.permutation(n) - n / 2 + 0.37) * 0.1).reshape(shape)

    return draw


def _normal(*shape):
    return lambda r: r.standard_normal(shape)


def _positive(*shape):
    return lambda r: r.uniform(0.5, 2.0, shape)


def _ints(low, high, *shape):
    return lambda r: r.integers(low, high, shape)


def _fixed(values, dtype=None):
    return lambda r: np.asarray(values, dtype=dtype)


def _sprinkled(draw, value, fraction):
    """``draw`` with about ``fraction`` of its entries replaced by ``value`` (ties, zeros, NaNs)."""
    def sprinkle(r):
        a = draw(r)
        return np.where(r.random(a.shape) < fraction, value, a)

    return sprinkle


def _float_ints(low, high, *shape):
    """Whole numbers as float64: many ties, differentiable."""
    return lambda r: r.integers(low, high, shape).astype(np.float64)


D, N_, P_ = _distinct, _normal, _positive
NAN_ROWS = _fixed([[1.0, np.nan, 3.0, 0.5], [2.0, -1.0, 0.0, 4.0], [np.nan, np.nan, np.nan, np.nan]])
TIES = _fixed([[1.0, 2.0, 2.0, 3.0, 2.0, 1.0], [5.0, 5.0, 4.0, 4.0, 1.0, 1.0]])

# id: (fn(m, *tensors), [input draws], differentiable)
CASES = {
    # ---- statistics
    "median_all": (lambda m, x: m.median(x), [D(3, 4)], True),
    "median_even_all": (lambda m, x: m.median(x), [D(2, 3)], True),
    "median_ties_all": (lambda m, x: m.median(x), [TIES], True),
    "median_dim": (lambda m, x: m.median(x, 1), [D(3, 4)], True),
    "median_dim_keep_neg": (lambda m, x: x.median(-2, keepdim=True), [D(4, 3)], True),
    "median_ties_dim": (lambda m, x: m.median(x, 1), [TIES], True),
    "median_nan": (lambda m, x: m.median(x, 1).values, [NAN_ROWS], False),
    "median_nan_all": (lambda m, x: m.median(x), [NAN_ROWS], False),
    "nanmedian_nan": (lambda m, x: m.nanmedian(x, 1).values, [NAN_ROWS], False),
    "nanmedian_all": (lambda m, x: x.nanmedian(), [NAN_ROWS], False),
    "median_int": (lambda m, x: m.median(x, 0), [_ints(-5, 5, 5, 3)], False),
    "median_0d": (lambda m, x: m.median(x, 0), [_fixed(2.5)], True),
    # long slices: ranks found without an argsort; along dim 0 the counting runs as a blocked scan
    "median_long": (lambda m, x: m.median(x, 1), [D(4, 301)], True),
    "median_long_dim0": (lambda m, x: x.median(0, keepdim=True), [D(120, 40)], True),
    "median_long_nan": (lambda m, x: m.median(x, 1).values, [_sprinkled(N_(5, 200), np.nan, 0.01)], False),
    "nanmedian_long_nan": (lambda m, x: m.nanmedian(x, 0).values, [_sprinkled(N_(90, 40), np.nan, 0.3)], False),
    "quantile_scalar": (lambda m, x: m.quantile(x, 0.35), [D(3, 5)], True),
    "quantile_dim_keep": (lambda m, x: m.quantile(x, 0.8, dim=0, keepdim=True), [D(3, 5)], True),
    "quantile_nan": (lambda m, x: m.quantile(x, 0.5, dim=1), [NAN_ROWS], False),
    "nanquantile_nan": (lambda m, x: m.nanquantile(x, 0.4, dim=1), [NAN_ROWS], False),
    **{f"quantile_{how}": (lambda m, x, q, _h=how: m.quantile(x, q, dim=-1, keepdim=True, interpolation=_h),
                           [D(2, 6), _fixed([0.0, 0.33, 0.5, 1.0])], True)
       for how in ("linear", "lower", "higher", "midpoint", "nearest")},
    "quantile_nearest_half": (lambda m, x: m.quantile(x, 0.5, interpolation="nearest"), [D(4)], True),
    "mode": (lambda m, x: m.mode(x, 1), [TIES], False),
    "mode_float_grad": (lambda m, x: m.mode(x, 0), [D(3, 2)], True),
    "mode_int_keep": (lambda m, x: x.mode(keepdim=True), [_ints(0, 3, 3, 7)], False),
    "kthvalue": (lambda m, x: m.kthvalue(x, 3, 1), [D(3, 5)], True),
    "kthvalue_keep": (lambda m, x: x.kthvalue(1, 0, True), [D(3, 5)], True),
    "kthvalue_long": (lambda m, x: m.kthvalue(x, 37, 1), [D(4, 200)], True),
    "kthvalue_long_dim0": (lambda m, x: x.kthvalue(90, 0), [D(100, 40)], True),
    # long rows: only candidate blocks are sorted
    "topk_long": (lambda m, x: x.topk(5, dim=1), [D(4, 300)], True),
    "topk_long_smallest_dim0": (lambda m, x: m.topk(x, 12, dim=0, largest=False), [D(250, 3)], True),
    "topk_long_int": (lambda m, x: x.topk(7), [_ints(-10**6, 10**6, 3, 301)], False),
    "var_mean": (lambda m, x: m.var_mean(x, 1), [N_(3, 4)], True),
    "var_mean_unbiased": (lambda m, x: m.var_mean(x, 0, False, keepdim=True), [N_(3, 4)], True),
    "std_mean_correction": (lambda m, x: m.std_mean(x, dim=(0, 1), correction=2), [N_(3, 4)], True),
    "std_mean_all": (lambda m, x: m.std_mean(x), [N_(3, 4)], True),
    "cummax": (lambda m, x: m.cummax(x, 1), [D(3, 6)], True),
    "cummin_dim0": (lambda m, x: x.cummin(0), [D(5, 2)], True),
    "cummax_ties_nan": (lambda m, x: m.cummax(x, 0), [_fixed([1.0, 3.0, 3.0, 2.0, np.nan, 5.0, np.nan])], False),
    "cummin_ties_int": (lambda m, x: m.cummin(x, 0), [_fixed([3, 1, 1, 2, 0, 0], np.int64)], False),
    # long scans (blocked): ties go to the latest index, NaN stays; the gradient goes to that index
    "cummax_long_ties": (lambda m, x: m.cummax(x, 1), [_float_ints(0, 6, 4, 150)], True),
    "cummin_long_ties_dim0": (lambda m, x: x.cummin(0), [_float_ints(0, 6, 70, 40)], True),
    "cummax_long_nan": (lambda m, x: m.cummax(x, 1), [_sprinkled(_float_ints(0, 9, 3, 100), np.nan, 0.02)], False),
    "cummin_long_int": (lambda m, x: m.cummin(x, 1), [_ints(-50, 50, 3, 77)], False),
    "cumsum_long_dim0": (lambda m, x: x.cumsum(0), [N_(75, 40)], True),
    "cumprod_long_zeros": (lambda m, x: x.cumprod(1), [_sprinkled(P_(3, 90), 0.0, 0.03)], True),
    "cumprod_long_zeros_dim0": (lambda m, x: x.cumprod(0), [_sprinkled(P_(60, 40), 0.0, 0.03)], True),
    "logcumsumexp": (lambda m, x: m.logcumsumexp(x, 1), [N_(2, 9)], True),
    "logcumsumexp_wide": (lambda m, x: x.logcumsumexp(0), [_fixed([-1000.0, 0.0, 800.0, -5.0])], True),
    "aminmax": (lambda m, x: m.aminmax(x), [D(3, 4)], False),
    "aminmax_dim": (lambda m, x: m.aminmax(x, dim=1, keepdim=True), [D(3, 4)], True),
    "count_nonzero": (lambda m, x: m.count_nonzero(x, 0), [_ints(0, 2, 4, 3)], False),
    "count_nonzero_all": (lambda m, x: x.count_nonzero(), [_ints(0, 2, 4, 3)], False),
    "nansum": (lambda m, x: m.nansum(x, 1), [NAN_ROWS], True),
    "nansum_int": (lambda m, x: m.nansum(x), [_ints(0, 9, 3, 3)], False),
    "nanmean": (lambda m, x: x.nanmean(1, keepdim=True), [NAN_ROWS], False),
    "nanmean_grad": (lambda m, x: x.nanmean(0), [NAN_ROWS], True),  # every column has a number
    "msort": (lambda m, x: m.msort(x), [D(4, 3)], True),
    "cov": (lambda m, x: m.cov(x), [N_(3, 6)], True),
    "cov_1d": (lambda m, x: m.cov(x), [N_(6)], True),
    "cov_weights": (lambda m, x, f, a: m.cov(x, correction=2, fweights=f, aweights=a),
                    [N_(2, 5), _ints(1, 4, 5), P_(5)], True),
    "corrcoef": (lambda m, x: m.corrcoef(x), [N_(3, 6)], True),
    # ---- products
    "addmm": (lambda m, i, a, b: m.addmm(i, a, b, beta=0.5, alpha=-2), [N_(4), N_(2, 3), N_(3, 4)], True),
    "addmm_beta0_nan": (lambda m, i, a, b: m.addmm(i, a, b, beta=0), [_fixed([np.nan, 1.0]), N_(2, 3), N_(3, 2)],
                        False),
    "addmm_int": (lambda m, i, a, b: m.addmm(i, a, b), [_ints(0, 5, 2, 2), _ints(0, 5, 2, 3), _ints(0, 5, 3, 2)],
                  False),
    "addbmm": (lambda m, i, a, b: m.addbmm(i, a, b, alpha=3), [N_(2, 4), N_(3, 2, 3), N_(3, 3, 4)], True),
    "baddbmm": (lambda m, i, a, b: i.baddbmm(a, b, beta=2), [N_(3, 2, 4), N_(3, 2, 3), N_(3, 3, 4)], True),
    "addmv": (lambda m, i, a, b: m.addmv(i, a, b), [N_(2), N_(2, 3), N_(3)], True),
    "addr": (lambda m, i, a, b: m.addr(i, a, b, beta=0.1), [N_(3, 2), N_(3), N_(2)], True),
    "addr_inplace": (lambda m, i, a, b: (i * 1).addr_(a, b), [N_(3, 2), N_(3), N_(2)], True),
    "addmm_inplace": (lambda m, i, a, b: (i * 1).addmm_(a, b, alpha=0.5), [N_(2, 2), N_(2, 3), N_(3, 2)], True),
    "mv": (lambda m, a, b: a.mv(b), [N_(2, 3), N_(3)], True),
    "inner": (lambda m, a, b: m.inner(a, b), [N_(2, 3), N_(4, 3)], True),
    "inner_scalar": (lambda m, a, b: m.inner(a, b), [N_(), N_(2, 3)], True),
    "ger": (lambda m, a, b: m.ger(a, b), [N_(3), N_(2)], True),
    "vdot": (lambda m, a, b: m.vdot(a, b), [N_(4), N_(4)], True),
    "chain_matmul": (lambda m, a, b, c: m.chain_matmul(a, b, c), [N_(2, 3), N_(3, 4), N_(4, 2)], True),
    "trace": (lambda m, a: m.trace(a), [N_(3, 4)], True),
    "trace_int": (lambda m, a: a.trace(), [_ints(0, 9, 3, 3)], False),
    "kron": (lambda m, a, b: m.kron(a, b), [N_(2, 3), N_(3, 1, 2)], True),
    "cartesian_prod": (lambda m, a, b, c: m.cartesian_prod(a, b, c), [N_(2), N_(3), N_(2)], True),
    "cartesian_prod_one": (lambda m, a: m.cartesian_prod(a), [N_(3)], True),
    "combinations": (lambda m, a: m.combinations(a), [N_(4)], True),
    "combinations_r3": (lambda m, a: m.combinations(a, 3, True), [N_(3)], True),
    "combinations_none": (lambda m, a: m.combinations(a, 5), [N_(3)], False),
    "vander": (lambda m, a: m.vander(a), [N_(4)], False),  # torch 2.13's vander backward fails (in-place cumprod)
    "vander_increasing": (lambda m, a: m.vander(a, 3, True), [_ints(-3, 3, 4)], False),
    "dist": (lambda m, a, b: m.dist(a, b), [N_(2, 3), N_(3)], True),
    "dist_inf": (lambda m, a, b: a.dist(b, math.inf), [D(2, 3), N_(2, 3)], True),
    "dist_0": (lambda m, a, b: m.dist(a, b, 0), [N_(2, 3), N_(2, 3)], False),
    "cdist": (lambda m, a, b: m.cdist(a, b), [N_(2, 3, 4), N_(2, 5, 4)], True),
    "cdist_p1": (lambda m, a, b: m.cdist(a, b, p=1), [N_(3, 4), N_(2, 4)], True),
    "cdist_inf": (lambda m, a, b: m.cdist(a, b, p=math.inf), [D(3, 4), N_(2, 4)], True),
    # over 25 rows p=2 goes through a matrix product, as PyTorch; compute_mode forces either way
    "cdist_mm": (lambda m, a, b: m.cdist(a, b), [N_(30, 4), N_(27, 4)], True),
    "cdist_mm_batched": (lambda m, a, b: m.cdist(a, b), [N_(2, 1, 30, 3), N_(3, 5, 3)], True),
    # whole numbers: the product is exact, so equal rows are at distance exactly 0, whose gradient is 0
    "cdist_mm_same_points": (lambda m, a: m.cdist(a, a * 1), [_float_ints(-2, 2, 40, 2)], True),
    "cdist_mm_forced": (lambda m, a, b: m.cdist(a, b, compute_mode="use_mm_for_euclid_dist"), [N_(3, 4), N_(2, 4)],
                        True),
    "cdist_exact_forced": (lambda m, a, b: m.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist"),
                           [N_(30, 3), N_(26, 3)], True),
    # identical points: zero distances, whose gradient is 0 (not nan) for every p
    **{f"cdist_same_points_p{p}": (lambda m, a, _p=p: m.cdist(a, a[:2] * 1, p=_p), [N_(4, 3)], True)
       for p in (0, 0.5, 1, 2, 3, math.inf)},
    "cdist_inf_ties": (lambda m, a, b: m.cdist(a, b, p=math.inf), [_fixed([[0.0, 0.0], [1.0, 3.0]]),
                                                                     _fixed([[1.0, -1.0], [2.0, 0.0]])], True),
    "cdist_empty_columns": (lambda m, a, b: m.cdist(a, b, p=math.inf), [N_(3, 0), N_(30, 0)], True),
    "cdist_exact_batched": (lambda m, a, b: m.cdist(a, b), [N_(2, 1, 4, 3), N_(3, 5, 3)], True),
    "cdist_no_rows": (lambda m, a, b: m.cdist(a, b), [N_(0, 3), N_(4, 3)], True),
    "pdist": (lambda m, a: m.pdist(a), [N_(4, 3)], True),
    "pdist_same_points": (lambda m, a: m.pdist(a), [_float_ints(-1, 1, 6, 2)], True),  # zero distances: gradient 0
    "pdist_two_rows": (lambda m, a: m.pdist(a), [N_(2, 5)], True),
    "pdist_p3": (lambda m, a: m.pdist(a, 3), [N_(3, 2)], True),
    "renorm": (lambda m, a: m.renorm(a, 2, 1, 1.0), [N_(3, 4, 2)], True),
    "renorm_inplace": (lambda m, a: (a * 1).renorm_(1, 0, 2.0), [N_(3, 4)], True),
    # ---- calculus
    "diff": (lambda m, x: m.diff(x), [N_(3, 5)], True),
    "diff_n2_dim0": (lambda m, x, p, a: x.diff(2, 0, prepend=p, append=a), [N_(3, 2), N_(1, 2), N_(2, 2)], True),
    "diff_bool": (lambda m, x: m.diff(x), [_fixed([True, False, False, True])], False),
    "diff_int_big_n": (lambda m, x: m.diff(x, 5), [_ints(0, 9, 3)], False),
    "gradient": (lambda m, x: m.gradient(x), [N_(3, 5)], True),
    "gradient_spacing": (lambda m, x: m.gradient(x, spacing=[2.0, 0.5], edge_order=2), [N_(3, 5)], True),
    "gradient_dim": (lambda m, x: m.gradient(x, spacing=3.0, dim=1), [N_(3, 5)], True),
    "gradient_coords": (lambda m, x, c: m.gradient(x, spacing=(c,), dim=-1),
                        [N_(2, 5), _fixed([0.0, 0.5, 1.5, 1.7, 3.0])], True),
    "gradient_coords_2": (lambda m, x, c: m.gradient(x, spacing=(c,), dim=0, edge_order=2),
                          [N_(4, 2), _fixed([0.0, 0.3, 1.0, 1.2])], True),
    "trapezoid": (lambda m, y: m.trapezoid(y), [N_(3, 4)], True),
    "trapezoid_x": (lambda m, y, x: m.trapezoid(y, x, dim=0), [N_(3, 4), _fixed([0.0, 0.5, 2.0])], True),
    "trapezoid_dx": (lambda m, y: m.trapezoid(y, dx=0.25), [N_(3, 4)], True),
    "trapz": (lambda m, y, x: m.trapz(y, x), [N_(2, 4), N_(2, 4)], True),
    "cumulative_trapezoid": (lambda m, y, x: m.cumulative_trapezoid(y, x), [N_(2, 4), _fixed([0.0, 1.0, 1.5, 4.0])],
                             True),
    # ---- searching (no gradients)
    "searchsorted": (lambda m, s, v: m.searchsorted(s, v), [_fixed([1.0, 3.0, 3.0, 5.0]), _fixed([[0.0, 3.0, 6.0]])],
                     False),
    "searchsorted_right": (lambda m, s, v: m.searchsorted(s, v, right=True, out_int32=True),
                           [_fixed([1.0, 3.0, 3.0, 5.0]), _fixed([0.0, 3.0, 6.0])], False),
    "searchsorted_side_nd": (lambda m, s, v: m.searchsorted(s, v, side="right"),
                             [_fixed([[1.0, 3.0, 5.0], [2.0, 2.0, 6.0]]), _fixed([[3.0, 0.0], [2.0, 7.0]])], False),
    "searchsorted_sorter": (lambda m, s, v, o: m.searchsorted(s, v, sorter=o),
                            [_fixed([5.0, 1.0, 3.0]), _fixed([2.0, 4.0]), _fixed([1, 2, 0], np.int64)], False),
    "bucketize": (lambda m, x, b: m.bucketize(x, b), [_fixed([[0.5, 3.0], [7.0, 1.0]]), _fixed([1.0, 3.0, 5.0])],
                  False),
    "bucketize_right": (lambda m, x, b: m.bucketize(x, b, right=True), [_fixed([1.0, 3.0, 9.0]),
                                                                        _fixed([1.0, 3.0, 5.0])], False),
    "isin": (lambda m, a, b: m.isin(a, b), [_ints(0, 6, 3, 4), _ints(0, 6, 3)], False),
    "isin_invert": (lambda m, a, b: m.isin(a, b, invert=True), [_ints(0, 6, 3, 4), _ints(0, 6, 2, 2)], False),
    "bincount": (lambda m, x: m.bincount(x), [_ints(0, 6, 10)], False),
    "bincount_weights": (lambda m, x, w: x.bincount(w, minlength=9), [_ints(0, 6, 10), N_(10)], False),
    "bincount_int_weights": (lambda m, x, w: m.bincount(x, w), [_ints(0, 4, 6), _ints(0, 3, 6)], False),
    "bincount_empty": (lambda m, x: m.bincount(x, minlength=3), [_fixed([], np.int64)], False),
    "bincount_int32": (lambda m, x, w: m.bincount(x.int(), w.double()), [_ints(0, 6, 10), N_(10)], False),
    "histc": (lambda m, x: m.histc(x, 5), [N_(20)], False),
    "histc_range": (lambda m, x: x.histc(4, -1, 1), [N_(3, 7)], False),
    "histogram": (lambda m, x: m.histogram(x, 6), [N_(30)], False),
    "histogram_range_density": (lambda m, x: m.histogram(x, 4, range=(-1.0, 2.0), density=True), [N_(30)], False),
    "histogram_edges_weight": (lambda m, x, e, w: m.histogram(x, e, weight=w),
                               [N_(30), _fixed([-2.0, -0.5, 0.0, 0.3, 2.0]), P_(30)], False),
    "histogramdd": (lambda m, x, w: m.histogramdd(x, 3, weight=w), [N_(4, 5, 2), P_(4, 5)], False),
    "histogramdd_range_density": (lambda m, x: m.histogramdd(x, [2, 3, 1], range=[-1.0, 1.0, 0.0, 2.0, -3.0, 3.0],
                                                             density=True), [N_(20, 3)], False),
    "histogramdd_edges": (lambda m, x, e, f: m.histogramdd(x, [e, f]), [N_(20, 2), _fixed([-1.0, 0.0, 2.0]),
                                                                        _fixed([-3.0, -0.5, 0.1, 3.0])], False),
    "unique_consecutive": (lambda m, x: m.unique_consecutive(x, return_inverse=True, return_counts=True),
                           [_fixed([[1, 1, 2], [2, 3, 1]], np.int64)], False),
    "unique_consecutive_dim": (lambda m, x: x.unique_consecutive(return_counts=True, dim=1),
                               [_fixed([[1, 1, 2, 2], [3, 3, 1, 1]], np.int64)], False),
    "unique_dim": (lambda m, x: m.unique(x, return_inverse=True, return_counts=True, dim=0),
                   [_fixed([[1, 2], [0, 5], [1, 2], [0, 1]], np.int64)], False),
    "tril_indices": (lambda m: m.tril_indices(4, 3, -1), [], False),
    "triu_indices": (lambda m: m.triu_indices(3, 5, 2), [], False),
    "unravel_index": (lambda m, i: m.unravel_index(i, (3, 4, 2)), [_fixed([[0, 23], [-1, 7]], np.int64)], False),
    "argwhere": (lambda m, x: m.argwhere(x), [_ints(0, 2, 3, 4)], False),
    # ---- scatters
    "index_add": (lambda m, x, s, i: m.index_add(x, 1, i, s, alpha=-1.5), [N_(2, 4), N_(2, 3),
                                                                           _fixed([3, 0, 3], np.int64)], True),
    "index_add_inplace": (lambda m, x, s, i: (x * 1).index_add_(0, i, s), [N_(4, 2), N_(3, 2),
                                                                          _fixed([1, 1, 1], np.int64)], True),
    # many repeated rows (the backend's row scatter), and along a later dim
    "index_add_repeats": (lambda m, x, s, i: m.index_add(x, 0, i, s), [N_(10, 3), N_(100, 3), _ints(0, 10, 100)],
                          True),
    "index_add_repeats_dim1": (lambda m, x, s, i: x.index_add(1, i, s, alpha=2.0), [N_(2, 9, 3), N_(2, 80, 3),
                                                                                    _ints(0, 9, 80)], True),
    "index_add_int": (lambda m, x, s, i: x.index_add(0, i, s, alpha=3), [_ints(-5, 5, 4, 2), _ints(-5, 5, 70, 2),
                                                                          _ints(0, 4, 70)], False),
    "index_add_0d": (lambda m, x, s, i: x.index_add(0, i, s), [_fixed(1.5), _fixed(2.0), _fixed(0, np.int64)], True),
    "index_copy": (lambda m, x, s, i: x.index_copy(0, i, s), [N_(4, 2), N_(2, 2), _fixed([3, 0], np.int64)], True),
    "index_fill": (lambda m, x, i: m.index_fill(x, 1, i, -2.0), [N_(3, 4), _fixed([0, 2], np.int64)], True),
    "index_fill_tensor": (lambda m, x, i, v: x.index_fill(0, i, v), [N_(3, 4), _fixed([2], np.int64), N_()], True),
    **{f"index_reduce_{r}_{s}": (lambda m, x, src, i, _r=r, _s=s: m.index_reduce(x, 0, i, src, _r, include_self=_s),
                                 [D(4, 3), _distinct(5, 3), _fixed([0, 2, 2, 3, 0], np.int64)], True)
       for r in ("prod", "mean", "amax", "amin") for s in (True, False)},
    "index_put": (lambda m, x, i, j, v: m.index_put(x, (i, j), v), [N_(3, 4), _fixed([0, 2], np.int64),
                                                                     _fixed([1, 3], np.int64), N_(2)], True),
    "index_put_accumulate": (lambda m, x, i, v: x.index_put((i,), v, accumulate=True),
                             [N_(3, 4), _fixed([0, 2, 0], np.int64), N_(4)], True),
    "index_put_inplace": (lambda m, x, i, v: (x * 1).index_put_((i,), v), [N_(3, 2), _fixed([2, 0], np.int64), N_(2)],
                          True),
    **{f"scatter_reduce_{r}_{s}": (lambda m, x, src, i, _r=r, _s=s: x.scatter_reduce(1, i, src, _r, include_self=_s),
                                   [D(3, 4), _distinct(3, 5), _fixed([[0, 1, 1, 3, 0], [2, 2, 2, 2, 2],
                                                                      [0, 1, 2, 3, 3]], np.int64)], True)
       for r in ("sum", "prod", "mean", "amax", "amin") for s in (True, False)},
    "scatter_reduce_prod_zeros": (lambda m, x, src, i: m.scatter_reduce(x, 0, i, src, "prod"),
                                  [_fixed([[0.0, 2.0], [3.0, 0.0]]), _fixed([[0.0, 1.5], [2.0, 0.0], [0.5, 0.0]]),
                                   _fixed([[0, 1], [0, 1], [1, 1]], np.int64)], True),
    **{f"scatter_reduce_{r}_{s}_nan_inf": (  # NaN wins amax and amin from either side, as PyTorch
        lambda m, x, src, i, _r=r, _s=s: m.scatter_reduce(x, 0, i, src, _r, include_self=_s),
        [_fixed([1.0, np.nan, -np.inf, 2.0, 0.5]), _fixed([np.nan, 3.0, np.inf, -1.0, -np.inf, 4.0, np.nan, -2.0]),
         _fixed([0, 0, 1, 2, 2, 3, 3, 3], np.int64)], False)
       for r in ("amax", "amin", "prod") for s in (True, False)},
    "scatter_reduce_mean_int": (lambda m, x, src, i: m.scatter_reduce(x, 0, i, src, "mean"),
                                [_ints(-9, 9, 3), _ints(-9, 9, 4), _fixed([0, 0, 2, 0], np.int64)], False),
    "scatter_reduce_inplace": (lambda m, x, src, i: (x * 1).scatter_reduce_(0, i, src, "amax"),
                               [D(3), _distinct(4), _fixed([0, 0, 2, 0], np.int64)], True),
    "put": (lambda m, x, i, s: x.put(i, s), [N_(3, 4), _fixed([0, -1, 5], np.int64), N_(3)], True),
    "put_accumulate": (lambda m, x, i, s: m.put(x, i, s, accumulate=True), [N_(2, 3), _fixed([[1, 1], [5, 0]],
                                                                                             np.int64), N_(2, 2)],
                       True),
    "put_inplace": (lambda m, x, i, s: (x * 1).put_(i, s), [N_(2, 3), _fixed([4, 0], np.int64), N_(2)], True),
    "take": (lambda m, x, i: m.take(x, i), [N_(3, 4), _fixed([[0, -1], [7, 7]], np.int64)], True),
    "take_along_dim": (lambda m, x, i: m.take_along_dim(x, i, 1), [N_(3, 4), _fixed([[0], [3], [-1]], np.int64)], True),
    "masked_scatter": (lambda m, x, k, s: m.masked_scatter(x, k > 0, s), [N_(3, 4), _ints(0, 2, 4), N_(3, 5)], True),
    "masked_scatter_inplace": (lambda m, x, k, s: (x * 1).masked_scatter_(k > 0, s), [N_(2, 3), _ints(0, 2, 2, 3),
                                                                                      N_(7)], True),
    "masked_select": (lambda m, x, k: m.masked_select(x, k > 0), [N_(3, 4), _ints(0, 2, 3, 4)], True),
    # the mask broadcast against the input, and the input against the mask (its gradient summed back)
    "masked_select_mask_broadcast": (lambda m, x, k: x.masked_select(k > 0), [N_(3, 4), _ints(0, 2, 4)], True),
    "masked_select_input_broadcast": (lambda m, x, k: m.masked_select(x, k > 0), [N_(3, 1), _ints(0, 2, 2, 3, 4)],
                                      True),
    "masked_select_none": (lambda m, x: m.masked_select(x, x > 99), [N_(2, 3)], True),
    # round half to even with decimals, PyTorch's formula (x 10^d, or / 10^-d); the gradient is 0
    "round_decimals": (lambda m, x: m.round(x * 100, decimals=1), [_fixed([0.0125, 0.0135, -0.0125, 0.5, 1.23456])],
                       True),
    "round_negative_decimals": (lambda m, x: (x * 1000).round(decimals=-2), [_fixed([0.25, 0.35, -0.15, 1.2])], True),
    "round_decimals_float32": (lambda m, x: m.round(x.float() * 100, decimals=2), [N_(3, 4)], False),
    "diagonal_scatter": (lambda m, x, s: m.diagonal_scatter(x, s, -1), [N_(3, 4), N_(2)], True),
    "diagonal_scatter_dims": (lambda m, x, s: x.diagonal_scatter(s, 1, 2, 0), [N_(3, 2, 4), N_(2, 2)], True),
    "select_scatter": (lambda m, x, s: m.select_scatter(x, s, 1, -2), [N_(3, 4), N_(3)], True),
    "slice_scatter": (lambda m, x, s: m.slice_scatter(x, s, 1, 1, None, 2), [N_(3, 5), N_(3, 2)], True),
    "slice_scatter_default": (lambda m, x, s: x.slice_scatter(s), [N_(3, 2), N_(3, 2)], True),
    "diag_vector": (lambda m, x: m.diag(x, 2), [N_(3)], True),
    "diag_matrix": (lambda m, x: x.diag(-1), [N_(3, 4)], True),
    "diag_embed": (lambda m, x: m.diag_embed(x), [N_(2, 3)], True),
    "diag_embed_offset": (lambda m, x: x.diag_embed(-1, 2, 0), [N_(2, 3)], True),
    "diagflat": (lambda m, x: m.diagflat(x, -2), [N_(2, 2)], True),
    "fill_diagonal": (lambda m, x: (x * 1).fill_diagonal_(3.0), [N_(3, 5)], True),
    "fill_diagonal_wrap": (lambda m, x: (x * 1).fill_diagonal_(-1.0, wrap=True), [N_(7, 2)], True),
    "fill_diagonal_cube": (lambda m, x: (x * 1).fill_diagonal_(0.0), [N_(3, 3, 3)], True),
    "nonzero_static_pad": (lambda m, x: m.nonzero_static(x, size=9, fill_value=-7), [_ints(0, 2, 2, 3)], False),
    "nonzero_static_cut": (lambda m, x: x.nonzero_static(size=1), [_fixed([[0, 1], [1, 1]], np.int64)], False),
    # ---- reshaping
    **{f"rot90_{k}": (lambda m, x, _k=k: m.rot90(x, _k, (0, 2)), [N_(2, 3, 4)], True) for k in (-3, -1, 0, 1, 2, 3, 6)},
    "fliplr": (lambda m, x: m.fliplr(x), [N_(2, 3)], True),
    "flipud": (lambda m, x: x.flipud(), [N_(2, 3)], True),
    "tensor_split_int": (lambda m, x: m.tensor_split(x, 4, 1), [N_(2, 7)], True),
    "tensor_split_more_than_size": (lambda m, x: m.tensor_split(x, 5), [N_(3, 2)], True),
    "tensor_split_indices": (lambda m, x: x.tensor_split([1, 5, -1], dim=1), [N_(2, 7)], True),
    "hsplit": (lambda m, x: m.hsplit(x, [1, 2]), [N_(2, 4, 2)], True),
    "hsplit_1d": (lambda m, x: x.hsplit(3), [N_(6)], True),
    "vsplit": (lambda m, x: m.vsplit(x, 2), [N_(4, 3)], True),
    "dsplit": (lambda m, x: x.dsplit([1]), [N_(2, 2, 3)], True),
    "split_with_sizes": (lambda m, x: m.split_with_sizes(x, [2, 0, 1], -1), [N_(2, 3)], True),
    "unsafe_chunk": (lambda m, x: x.unsafe_chunk(3), [N_(5, 2)], True),
    "unsafe_split": (lambda m, x: m.unsafe_split(x, 2, 1), [N_(2, 5)], True),
    "atleast_1d": (lambda m, x: m.atleast_1d(x), [N_()], True),
    "atleast_2d": (lambda m, x, y: m.atleast_2d(x, y), [N_(3), N_(2, 2, 1)], True),
    "atleast_3d": (lambda m, x, y, z: m.atleast_3d([x, y, z]), [N_(), N_(3), N_(2, 3)], True),
    "column_stack": (lambda m, x, y, z: m.column_stack([x, y, z]), [N_(3), N_(3, 2), N_(3)], True),
    "row_stack": (lambda m, x, y: m.row_stack((x, y)), [N_(3), N_(2, 3)], True),
    "dstack": (lambda m, x, y: m.dstack([x, y]), [N_(3), N_(1, 3)], True),
    "ravel": (lambda m, x: m.ravel(x.transpose(0, 1)), [N_(2, 3)], True),
    "broadcast_tensors": (lambda m, x, y, z: m.broadcast_tensors(x, y, z), [N_(3, 1), N_(4), N_()], True),
    "block_diag": (lambda m, x, y, z: m.block_diag(x, y, z), [N_(2, 3), N_(3), N_()], True),
    "block_diag_int_promotion": (lambda m, x, y: m.block_diag(x, y), [_ints(0, 9, 2, 2), N_(1, 2)], False),
    "sum_to_size": (lambda m, x: x.sum_to_size(3, 1), [N_(2, 3, 4)], True),
    "view_copy": (lambda m, x: m.view_copy(x, (3, 2)), [N_(2, 3)], True),
    "permute_copy": (lambda m, x: m.permute_copy(x, (1, 0)), [N_(2, 3)], True),
    "expand_copy": (lambda m, x: m.expand_copy(x, (2, 3, 2)), [N_(3, 1)], True),
    "diagonal_copy": (lambda m, x: m.diagonal_copy(x, 1), [N_(3, 3)], True),
    "transpose_copy": (lambda m, x: m.transpose_copy(x, 0, 1), [N_(2, 3)], True),
    "unbind_copy": (lambda m, x: m.unbind_copy(x, 1), [N_(2, 3)], True),
    "select_copy": (lambda m, x: m.select_copy(x, 0, 1), [N_(2, 3)], True),
    "narrow_copy": (lambda m, x: x.narrow_copy(1, 1, 2), [N_(2, 3)], True),
    "unfold_copy": (lambda m, x: m.unfold_copy(x, 1, 2, 1), [N_(2, 3)], True),
    "as_strided": (lambda m, x: m.as_strided(x, (3, 3), (2, 1), 1), [N_(3, 4)], True),
    "as_strided_overlap": (lambda m, x: x.as_strided((2, 4), (0, 1)), [N_(2, 3)], True),
    "as_strided_inplace": (lambda m, x: (x * 1).as_strided_((2, 2), (1, 3), 1), [N_(2, 4)], True),
    # values only: torch 2.13's gradient of as_strided_scatter in its input fails torch's own gradcheck
    "as_strided_scatter": (lambda m, x, s: m.as_strided_scatter(x, s, (2, 2), (4, 1), 1), [N_(3, 4), N_(2, 2)],
                           False),
    "addmv_function": (lambda m, i, a, b: m.addmv_(i * 1, a, b, beta=3), [N_(2), N_(2, 3), N_(3)], True),
    "index_put_function": (lambda m, x, i, v: m.index_put_(x * 1, (i,), v, True), [N_(3), _fixed([1, 1], np.int64),
                                                                                   N_(2)], True),
    "cumsum_inplace": (lambda m, x: (x * 1).cumsum_(1), [N_(2, 3)], True),
    "cumprod_inplace_int": (lambda m, x: x.cumprod_(0), [_ints(1, 4, 4)], False),
    "t_inplace": (lambda m, x: (x * 1).t_(), [N_(2, 3)], True),
    "transpose_inplace": (lambda m, x: (x * 1).transpose_(0, 2) * 2, [N_(2, 3, 4)], True),
    "squeeze_inplace": (lambda m, x: (x * 1).squeeze_(1), [N_(2, 1, 3)], True),
    "unsqueeze_inplace": (lambda m, x: (x * 1).unsqueeze_(-1), [N_(2, 3)], True),
    "fill": (lambda m, x, v: m.fill(x, v), [N_(2, 3), N_()], True),
    "zero_": (lambda m, x: m.zero_(x * 1) + x, [N_(2, 3)], True),
    "logspace": (lambda m: m.logspace(-1, 2, 7, dtype=m.float64), [], False),
    "logspace_base": (lambda m: m.logspace(0, 4, 5, base=2, dtype=m.int64), [], False),
    # ---- edge cases found by running PyTorch's OpInfo samples through lucid
    "gradient_spacing_none": (lambda m, x: m.gradient(x, spacing=None, dim=None, edge_order=1), [N_(5)], True),
    "masked_scatter_broadcast_input": (lambda m, x, k, s: m.masked_scatter(x, k > 0, s), [N_(5), N_(5, 5), N_(5, 5)],
                                       True),
    "tensorsolve_dims": (lambda m, a, b: m.linalg.tensorsolve(a, b, dims=(0, 2)), [N_(2, 3, 6), N_(2, 3)], True),
    "frexp_grad": (lambda m, x: m.frexp(x), [_fixed([0.3, -5.0, 1e-310, 0.0, np.inf, 1.0, 0.5, -0.75])], True),
    "index_select_0d": (lambda m, x, i: m.index_select(x, 0, i), [N_(), _fixed([0])], True),
    "index_copy_0d": (lambda m, x, i, s: m.index_copy(x, 0, i, s), [N_(), _fixed([0]), N_()], True),
    "index_reduce_0d": (lambda m, x, i, s: x.index_reduce(0, i, s, "prod"), [N_(), _fixed([0]), N_()], True),
    "sort_0d": (lambda m, x: m.sort(x, 0, descending=True), [N_()], True),
    "argsort_0d": (lambda m, x: m.argsort(x), [N_()], False),
    "topk_0d": (lambda m, x: (m.topk(x, 1), m.topk(x, 0, largest=False)), [N_()], True),
    "cholesky_ex_empty": (lambda m, a: m.linalg.cholesky_ex(a), [N_(2, 0, 0)], False),
    "ldl_factor_solve_empty": (lambda m, a, b: m.linalg.ldl_solve(*m.linalg.ldl_factor(a), b), [N_(0, 0), N_(0, 3)],
                               False),
    "pinv_hermitian_empty": (lambda m, a: m.linalg.pinv(a, hermitian=True), [N_(2, 0, 0)], False),
    "linspace_int_truncates": (lambda m: m.linspace(-2.0, -3, 50, dtype=m.int64), [], False),
    "histogram_one_value": (lambda m, x: (m.histogram(x, 2), m.histogram(x, 3, range=(0.0, 0.0)),
                                          m.histogramdd(x.reshape(-1, 1), 2), m.histc(x, 4)),
                            [_fixed([2.0, 2.0])], False),
    "histc_equal_bounds_use_data": (lambda m, x: m.histc(x, 4, min=3, max=3), [_fixed([2.0, 2.0, 5.0])], False),
}


def _lucid(a, device, grad):
    kw = {"dtype": lucid.float64} if a.dtype == np.float64 else {}
    return lucid.tensor(a, device=device, requires_grad=grad and a.dtype == np.float64, **kw)


def _flat(out):
    """The tensors of an output (a tensor, a tuple/namedtuple of them, nested)."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


@pytest.mark.parametrize("cid", sorted(CASES))
def test_against_torch(cid, device):
    fn, draws, differentiable = CASES[cid]
    rng = np.random.default_rng(zlib.crc32(cid.encode()))
    arrays = [np.asarray(d(rng)) for d in draws]
    mine = [_lucid(a, device, differentiable) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=differentiable and a.dtype == np.float64) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, expected = fn(lucid, *mine), fn(torch, *theirs)
    assert type(out) is type(expected) or isinstance(out, tuple) == isinstance(expected, tuple)
    if hasattr(expected, "_fields"):  # torch.return_types: the same name and field names
        assert type(out).__name__ == type(expected).__name__ and tuple(out._fields) == tuple(expected._fields)
    outs, exps = _flat(out), _flat(expected)
    assert len(outs) == len(exps)
    for o, e in zip(outs, exps):
        assert o.shape == tuple(e.shape), (o.shape, tuple(e.shape))
        assert o.dtype.name == str(e.dtype).replace("torch.", ""), (o.dtype, e.dtype)
        np.testing.assert_allclose(o.detach().numpy(force=True), e.detach().numpy(), rtol=1e-10, atol=1e-12)
    if not differentiable:
        return
    weights = [rng.standard_normal(tuple(e.shape)) for e in exps]
    live = [(o, e, w) for o, e, w in zip(outs, exps, weights) if e.requires_grad]
    assert live, "a differentiable case must have an output that requires grad"
    sum((o * lucid.tensor(w, dtype=lucid.float64, device=device)).sum() for o, _, w in live).backward()
    sum((e * torch.tensor(w)).sum() for _, e, w in live).backward()
    for m, t in zip(mine, theirs):
        if t.requires_grad:
            expect = t.grad if t.grad is not None else torch.zeros_like(t)
            got = m.grad.numpy(force=True) if m.grad is not None else np.zeros(m.shape)
            np.testing.assert_allclose(got, expect.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["tril_indices", "triu_indices"])
def test_triangle_indices_against_torch(name, device):
    """Every row/column count and diagonal offset, empty and clipped triangles included (each row's columns are
    computed from its count, not from a mask)."""
    for row in (0, 1, 3, 6):
        for col in (0, 1, 4, 7):
            for offset in (-8, -3, -1, 0, 1, 2, 9):
                got = getattr(lucid, name)(row, col, offset, device=device)
                expect = getattr(torch, name)(row, col, offset)
                assert got.dtype == lucid.int64 and got.shape == tuple(expect.shape), (row, col, offset)
                np.testing.assert_array_equal(got.numpy(force=True), expect.numpy())
    assert getattr(lucid, name)(5, 4, 1, dtype=lucid.int32, device=device).dtype == lucid.int32
