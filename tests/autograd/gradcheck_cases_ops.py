"""Gradcheck cases of issue 12's op families: statistics, products, calculus, scatters and reshaping
(``lucid/ops/{statistics,products,calculus,scatters,reshaping,searching}.py``)."""

from __future__ import annotations

from gradcheck_specs import CONST, DISTINCT, N, P, add, on_clone

import lucid


def _at(x, values, dtype=None):
    return lucid.tensor(values, dtype=dtype, device=x.device)


# ---- matrix products: lucid.f and Tensor.f (in-place forms on a clone) -----------------------------------------------
_PRODUCTS = {  # name: (lucid function, specs)
    "addmm": (lambda i, a, b: lucid.addmm(i, a, b, beta=0.5, alpha=2.0), (N(2, 4), N(2, 3), N(3, 4))),
    "addbmm": (lambda i, a, b: lucid.addbmm(i, a, b, beta=2.0), (N(2, 4), N(3, 2, 3), N(3, 3, 4))),
    "baddbmm": (lambda i, a, b: lucid.baddbmm(i, a, b, alpha=0.5), (N(3, 2, 4), N(3, 2, 3), N(3, 3, 4))),
    "addmv": (lambda i, m, v: lucid.addmv(i, m, v, beta=0.7), (N(2), N(2, 3), N(3))),
    "addr": (lambda i, a, b: lucid.addr(i, a, b, alpha=1.5), (N(3, 2), N(3), N(2))),
}
for _name, (_fn, _specs) in _PRODUCTS.items():
    add(f"lucid.{_name}", _fn, *_specs)
    add(f"Tensor.{_name}", lambda i, a, b, _n=_name: getattr(i, _n)(a, b), *_specs)
    add(f"Tensor.{_name}_", lambda i, a, b, _n=_name: getattr(i.clone(), _n + "_")(a, b), *_specs)
add("lucid.addmm", lambda i, a, b: lucid.addmm(i, a, b, beta=0), N(1, 4), N(2, 3), N(3, 4), variant="beta0")

for _name, _specs in {"mv": (N(2, 3), N(3)), "inner": (N(2, 3), N(4, 3)), "ger": (N(3), N(2)),
                      "vdot": (N(3), N(3)), "kron": (N(2, 3), N(2, 2)), "dist": (N(2, 3), N(3))}.items():
    add(f"lucid.{_name}", getattr(lucid, _name), *_specs)
    add(f"Tensor.{_name}", lambda a, b, _n=_name: getattr(a, _n)(b), *_specs)
add("lucid.dist", lambda a, b: lucid.dist(a, b, 3), N(2, 3), N(3), variant="p3")
add("lucid.trace", lucid.trace, N(3, 4), also={"Tensor.trace"})
# the input broadcast against the mask: its gradient sums the repeated selections
add("lucid.masked_select", lambda x: lucid.masked_select(
    x, lucid.tensor([[True], [False], [True]], device=x.device) | (x.detach() > 0)), N(1, 4),
    also={"Tensor.masked_select"})
add("lucid.chain_matmul", lucid.chain_matmul, N(2, 3), N(3, 4), N(4, 2))
add("lucid.cartesian_prod", lucid.cartesian_prod, N(3), N(2))
add("lucid.combinations", lambda x: lucid.combinations(x, 2, with_replacement=True), N(4))
add("lucid.vander", lambda x: lucid.vander(x, 4), N(3))
add("lucid.cdist", lucid.cdist, DISTINCT(2, 3, 2), N(2, 4, 2))
add("lucid.cdist", lambda a, b: lucid.cdist(a, b, 1.5), DISTINCT(3, 2), N(4, 2), variant="p1.5")
add("lucid.pdist", lucid.pdist, DISTINCT(4, 3), also={"F.pdist"})
add("lucid.renorm", lambda x: lucid.renorm(x, 2, 0, 1.0), P(3, 4), also={"Tensor.renorm"})
add("Tensor.renorm_", on_clone("renorm_", 1, 1, 1.5), P(3, 4))

# ---- statistics --------------------------------------------------------------------------------------------------
for _name in ("median", "nanmedian"):
    add(f"lucid.{_name}", getattr(lucid, _name), DISTINCT(3, 4), variant="all")
    add(f"lucid.{_name}", lambda x, _n=_name: getattr(lucid, _n)(x, 1).values, DISTINCT(3, 4), variant="dim")
    add(f"Tensor.{_name}", lambda x, _n=_name: getattr(x, _n)(0, keepdim=True), DISTINCT(3, 4))
for _name in ("quantile", "nanquantile"):
    add(f"lucid.{_name}", lambda x, _n=_name: getattr(lucid, _n)(x, 0.3, dim=1), DISTINCT(3, 5))
    add(f"Tensor.{_name}", lambda x, _n=_name: getattr(x, _n)(_at(x, [0.25, 0.9], x.dtype), interpolation="midpoint"),
        DISTINCT(7))
add("lucid.mode", lambda x: lucid.mode(x, 0), DISTINCT(3, 2), also={"Tensor.mode"})
add("lucid.kthvalue", lambda x: lucid.kthvalue(x, 2, 1), DISTINCT(3, 4), also={"Tensor.kthvalue"})
add("lucid.var_mean", lambda x: lucid.var_mean(x, 1), N(3, 4))
add("lucid.std_mean", lambda x: lucid.std_mean(x, 0, correction=0), N(3, 4))
for _name in ("cummax", "cummin"):
    add(f"lucid.{_name}", lambda x, _n=_name: getattr(lucid, _n)(x, 1), DISTINCT(3, 4), also={f"Tensor.{_name}"})
add("lucid.logcumsumexp", lambda x: lucid.logcumsumexp(x, 1), N(2, 5), also={"Tensor.logcumsumexp"})
add("lucid.aminmax", lambda x: lucid.aminmax(x, dim=0), DISTINCT(3, 4), also={"Tensor.aminmax"})
add("lucid.nansum", lambda x: lucid.nansum(x, 1), N(3, 4), also={"Tensor.nansum"})
add("lucid.nanmean", lambda x: lucid.nanmean(x, 0), N(3, 4), also={"Tensor.nanmean"})
add("lucid.msort", lucid.msort, DISTINCT(3, 4), also={"Tensor.msort"})
add("lucid.cov", lucid.cov, N(3, 5), also={"Tensor.cov"})
add("lucid.cov", lambda x, w: lucid.cov(x, fweights=_at(x, [1, 2, 1, 3, 1]), aweights=w), N(2, 5), P(5),
    variant="weights")
add("lucid.corrcoef", lucid.corrcoef, N(3, 5), also={"Tensor.corrcoef"})

# ---- calculus ----------------------------------------------------------------------------------------------------
add("lucid.diff", lambda x, p: lucid.diff(x, 2, 1, prepend=p), N(2, 4), N(2, 1), also={"Tensor.diff"})
add("lucid.gradient", lambda x: lucid.gradient(x, spacing=0.5, edge_order=2), N(3, 4))
add("lucid.gradient", lambda x, c: lucid.gradient(x, spacing=(c,), dim=1), N(2, 4),
    CONST(lambda r, d: lucid.tensor([0.0, 0.4, 1.1, 1.5], dtype=lucid.float64, device=d)), variant="coordinates")
add("lucid.trapezoid", lambda y, x: lucid.trapezoid(y, x), N(2, 4), N(4))
add("lucid.trapz", lambda y: lucid.trapz(y, dx=0.5, dim=0), N(3, 2))
add("lucid.cumulative_trapezoid", lambda y: lucid.cumulative_trapezoid(y), N(2, 4))

# ---- scatters ----------------------------------------------------------------------------------------------------
_SCATTERS = {  # name: (call(op, x, s) with op the function or the method, spec of s)
    "index_add": (lambda op, x, s: op(x, 0, _at(x, [0, 2, 2]), s, alpha=2), N(3, 3)),
    "index_copy": (lambda op, x, s: op(x, 1, _at(x, [2, 0]), s), N(4, 2)),
    "index_fill": (lambda op, x, v: op(x, 1, _at(x, [0, -1]), v), N()),
    "index_reduce": (lambda op, x, s: op(x, 0, _at(x, [0, 2, 2]), s, "prod"), N(3, 3)),
    "index_put": (lambda op, x, v: op(x, (_at(x, [0, 3, 0]),), v, True), N(3, 3)),
    "scatter_reduce": (lambda op, x, s: op(x, 0, _at(x, [[0, 1, 1], [2, 0, 0], [0, 1, 2]]), s, "mean"), N(3, 3)),
    "put": (lambda op, x, s: op(x, _at(x, [0, -1, 4]), s, accumulate=True), N(3)),
    "masked_scatter": (lambda op, x, s: op(x, x.detach() > 0, s), N(12)),
}
for _name, (_call, _spec) in _SCATTERS.items():
    add(f"lucid.{_name}", lambda x, s, _c=_call, _n=_name: _c(getattr(lucid, _n), x, s), N(4, 3), _spec)
    add(f"Tensor.{_name}", lambda x, s, _c=_call, _n=_name: _c(lambda t, *a, **k: getattr(t, _n)(*a, **k), x, s),
        N(4, 3), _spec)
    add(f"Tensor.{_name}_", lambda x, s, _c=_call, _n=_name: _c(
        lambda t, *a, **k: getattr(t.clone(), _n + "_")(*a, **k), x, s), N(4, 3), _spec)
for _reduce in ("sum", "prod", "amax", "amin"):
    for _self in (True, False):
        add("lucid.scatter_reduce", lambda x, s, _r=_reduce, _s=_self: lucid.scatter_reduce(
            x, 0, lucid.tensor([[0, 1, 1], [2, 0, 0], [0, 1, 2]], device=x.device), s, _r, include_self=_s),
            DISTINCT(4, 3), DISTINCT(3, 3, gap=0.13), variant=f"{_reduce}_{_self}")
add("lucid.take", lambda x: lucid.take(x, lucid.tensor([[0, -1], [5, 0]], device=x.device)), N(2, 3),
    also={"Tensor.take"})
add("lucid.diagonal_scatter", lambda x, s: lucid.diagonal_scatter(x, s, 1), N(3, 4), N(3),
    also={"Tensor.diagonal_scatter"})
add("lucid.select_scatter", lambda x, s: lucid.select_scatter(x, s, 1, -1), N(3, 4), N(3),
    also={"Tensor.select_scatter"})
add("lucid.slice_scatter", lambda x, s: lucid.slice_scatter(x, s, 1, 0, 4, 2), N(3, 4), N(3, 2),
    also={"Tensor.slice_scatter"})
add("lucid.diag", lambda x: lucid.diag(x, -1), N(3), also={"Tensor.diag"})
add("lucid.diag", lambda x: lucid.diag(x, 1), N(3, 4), variant="matrix")
add("lucid.diag_embed", lambda x: lucid.diag_embed(x, 1, 0, 2), N(2, 3), also={"Tensor.diag_embed"})
add("lucid.diagflat", lucid.diagflat, N(2, 2), also={"Tensor.diagflat"})
add("Tensor.fill_diagonal_", lambda x: (x * 1).fill_diagonal_(0.5, wrap=True), N(5, 2))

# ---- reshaping ---------------------------------------------------------------------------------------------------
_SHAPES = {  # name: (function taking one (3, 4, 2) tensor, also a method)
    "rot90": (lambda x: lucid.rot90(x, 3, (2, 0)), True), "fliplr": (lucid.fliplr, True),
    "flipud": (lucid.flipud, True), "tensor_split": (lambda x: lucid.tensor_split(x, [1, 3], 1), True),
    "hsplit": (lambda x: lucid.hsplit(x, 2), True), "vsplit": (lambda x: lucid.vsplit(x, [1]), True),
    "dsplit": (lambda x: lucid.dsplit(x, 2), True), "split_with_sizes": (lambda x: lucid.split_with_sizes(
        x, [1, 3], 1), True), "unsafe_chunk": (lambda x: lucid.unsafe_chunk(x, 2, 1), True),
    "unsafe_split": (lambda x: lucid.unsafe_split(x, 3, 1), True),
    "unsafe_split_with_sizes": (lambda x: lucid.unsafe_split_with_sizes(x, [2, 1]), True),
    "atleast_1d": (lucid.atleast_1d, False), "atleast_2d": (lambda x: lucid.atleast_2d(x[0, :, 0]), False),
    "atleast_3d": (lambda x: lucid.atleast_3d(x[0, :, 0], x[0]), False),
    "column_stack": (lambda x: lucid.column_stack([x[0, :, 0], x[1]]), False),
    "row_stack": (lambda x: lucid.row_stack([x[0], x[1, 0]]), False),
    "dstack": (lambda x: lucid.dstack([x[0], x[1]]), False), "ravel": (lucid.ravel, True),
    "broadcast_tensors": (lambda x: lucid.broadcast_tensors(x[:, :1], x[0]), False),
    "block_diag": (lambda x: lucid.block_diag(x[0], x[1, 0], x[2, 0, 0]), False),
    "fill": (lambda x: lucid.fill(x, x[0, 0, 0]), False),
}
_COPIES = {
    "view_copy": lambda x: lucid.view_copy(x, 4, 6), "permute_copy": lambda x: lucid.permute_copy(x, (2, 0, 1)),
    "expand_copy": lambda x: lucid.expand_copy(x, 2, 3, 4, 2), "diagonal_copy": lucid.diagonal_copy,
    "t_copy": lambda x: lucid.t_copy(x[0]), "transpose_copy": lambda x: lucid.transpose_copy(x, 0, 2),
    "unsqueeze_copy": lambda x: lucid.unsqueeze_copy(x, 1), "squeeze_copy": lambda x: lucid.squeeze_copy(x[:1]),
    "select_copy": lambda x: lucid.select_copy(x, 1, 2), "slice_copy": lambda x: lucid.slice_copy(x, 1, 1, 4, 2),
    "split_copy": lambda x: lucid.split_copy(x, 2, 1), "unbind_copy": lambda x: lucid.unbind_copy(x, 2),
    "split_with_sizes_copy": lambda x: lucid.split_with_sizes_copy(x, [1, 2]),
    "unfold_copy": lambda x: lucid.unfold_copy(x, 1, 2, 1), "narrow_copy": lambda x: lucid.narrow_copy(x, 0, 1, 2),
    "alias_copy": lucid.alias_copy,
}
for _name, (_fn, _method) in _SHAPES.items():
    add(f"lucid.{_name}", _fn, N(3, 4, 2), also={f"Tensor.{_name}"} if _method else ())
for _name, _fn in _COPIES.items():
    add(f"lucid.{_name}", _fn, N(3, 4, 2), also={"Tensor.narrow_copy"} if _name == "narrow_copy" else ())
add("lucid.as_strided", lambda x: lucid.as_strided(x, (3, 3), (2, 1), 1), N(3, 4),
    also={"Tensor.as_strided", "lucid.as_strided_copy"})
add("Tensor.as_strided_", lambda x: (x * 1).as_strided_((2, 2), (1, 3)), N(2, 3))
add("lucid.as_strided_scatter", lambda x, s: lucid.as_strided_scatter(x, s, (2, 2), (3, 1), 1), N(2, 3), N(2, 2),
    also={"Tensor.as_strided_scatter"})
add("lucid.addmv_", lambda i, m, v: lucid.addmv_(i * 1, m, v, alpha=2.0), N(2), N(2, 3), N(3))
add("lucid.index_put_", lambda x, v: lucid.index_put_(x * 1, (_at(x, [1, 0]),), v), N(3, 2), N(2))
add("Tensor.cumsum_", on_clone("cumsum_", 1), N(2, 3))
add("Tensor.cumprod_", on_clone("cumprod_", 0), N(3, 2))
add("Tensor.sum_to_size", lambda x: x.sum_to_size(1, 4, 1), N(3, 4, 2))
_IN_PLACE = {"t_": (), "transpose_": (0, 1), "swapaxes_": (1, 0), "swapdims_": (0, -1), "squeeze_": (),
             "unsqueeze_": (1,)}
for _name, _args in _IN_PLACE.items():
    add(f"Tensor.{_name}", lambda x, _n=_name, _a=_args: getattr(x * 1, _n)(*_a) * 2, N(3, 1) if _name == "squeeze_"
        else N(3, 2))

NOT_DIFFERENTIABLE = {
    # indices, counts, bools and bins: searching.py, and the integer-valued ones elsewhere
    *(f"lucid.{n}" for n in ("searchsorted", "bucketize", "isin", "bincount", "histc", "histogram", "histogramdd",
                             "unique_consecutive", "tril_indices", "triu_indices", "unravel_index", "argwhere",
                             "count_nonzero", "nonzero_static")),
    *(f"Tensor.{n}" for n in ("bincount", "histc", "histogram", "unique_consecutive", "argwhere", "count_nonzero",
                              "nonzero_static")),
    # factories and shape arithmetic: no tensor input to differentiate
    *(f"lucid.{n}" for n in ("range", "logspace", "empty_strided", "empty_permuted", "broadcast_shapes")),
    "lucid.detach_copy",  # a copy without history
    # resize_ refuses tensors that require grad (as PyTorch): it only works outside the graph
    "Tensor.resize_", "Tensor.resize_as_", "lucid.resize_as_",
}
