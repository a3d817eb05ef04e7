"""Shape ops: values against NumPy, gradients by finite differences (first and second order),
PyTorch as an oracle for values and gradients, dim/axis handling, and the errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
from lucid.autograd import gradcheck, gradgradcheck


def host(t):
    return t.numpy(force=True)


def as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def np_pad(a, widths, mode="constant", **kw):
    """NumPy's pad with torch-ordered widths (last dimension first)."""
    pairs = [(0, 0)] * a.ndim
    for k in range(len(widths) // 2):
        pairs[a.ndim - 1 - k] = (widths[2 * k], widths[2 * k + 1])
    return np.pad(a, pairs, mode=mode, **kw)


MANY_REPEATS = [1, 0, 2, 3, 1, 1, 0, 2, 1, 4, 1]

# id, input shapes, lucid function of tensors, NumPy function of arrays
CASES = [
    ("flatten", [(2, 3, 4)], lambda x: lucid.flatten(x, 1), lambda a: a.reshape(2, 12)),
    ("flatten_neg", [(2, 3, 4)], lambda x: x.flatten(-3, -2), lambda a: a.reshape(6, 4)),
    ("flatten_0d", [()], lambda x: x.flatten(), lambda a: a.reshape(1)),
    ("unflatten", [(2, 6)], lambda x: x.unflatten(-1, (3, -1)), lambda a: a.reshape(2, 3, 2)),
    ("squeeze_all", [(1, 3, 1, 2)], lambda x: x.squeeze(), np.squeeze),
    ("squeeze_tuple", [(1, 3, 1, 2)], lambda x: lucid.squeeze(x, (0, -2)), lambda a: np.squeeze(a, (0, 2))),
    ("squeeze_not_one", [(2, 3)], lambda x: x.squeeze(1), lambda a: a),
    ("squeeze_axis", [(2, 1)], lambda x: lucid.squeeze(x, axis=-1), lambda a: a[:, 0]),
    ("unsqueeze_end", [(2, 3)], lambda x: x.unsqueeze(-1), lambda a: a[..., None]),
    ("unsqueeze_mid", [(2, 3)], lambda x: lucid.unsqueeze(x, axis=1), lambda a: np.expand_dims(a, 1)),
    ("transpose", [(2, 3, 4)], lambda x: x.transpose(-1, 0), lambda a: np.swapaxes(a, -1, 0)),
    ("transpose_all", [(2, 3, 4)], lambda x: lucid.transpose(x), lambda a: a.transpose()),
    ("transpose_axes", [(2, 3, 4)], lambda x: x.transpose(axes=(1, 2, 0)), lambda a: a.transpose(1, 2, 0)),
    ("swapaxes", [(2, 3, 4)], lambda x: lucid.swapaxes(x, 1, 2), lambda a: np.swapaxes(a, 1, 2)),
    ("permute", [(2, 3, 4)], lambda x: x.permute(2, 0, 1), lambda a: np.transpose(a, (2, 0, 1))),
    ("permute_seq", [(2, 3, 4)], lambda x: lucid.permute(x, (1, -1, 0)), lambda a: np.transpose(a, (1, 2, 0))),
    ("movedim", [(2, 3, 4)], lambda x: x.movedim((0, 1), (-1, 0)), lambda a: np.moveaxis(a, (0, 1), (-1, 0))),
    ("T", [(2, 3, 4)], lambda x: x.T, lambda a: a.T),
    ("mT", [(2, 3, 4)], lambda x: x.mT, lambda a: np.swapaxes(a, -1, -2)),
    ("t", [(2, 3)], lambda x: x.t(), lambda a: a.T),
    ("cat_last", [(2, 3), (2, 1), (2, 4)], lambda *xs: lucid.cat(xs, -1), lambda *a: np.concatenate(a, -1)),
    ("cat_axis", [(1, 3), (2, 3)], lambda x, y: lucid.concatenate([x, y], axis=0), lambda *a: np.concatenate(a)),
    ("stack_last", [(2, 3), (2, 3)], lambda *xs: lucid.stack(xs, -1), lambda *a: np.stack(a, -1)),
    ("stack_mid", [(2, 3)] * 3, lambda *xs: lucid.stack(xs, dim=1), lambda *a: np.stack(a, 1)),
    ("hstack", [(3,), (2,)], lambda *xs: lucid.hstack(xs), lambda *a: np.hstack(a)),
    ("hstack_2d", [(2, 1), (2, 3)], lambda *xs: lucid.hstack(xs), lambda *a: np.hstack(a)),
    ("vstack", [(3,), (2, 3)], lambda *xs: lucid.vstack(xs), lambda *a: np.vstack(a)),
    ("split_int", [(2, 5, 3)], lambda x: x.split(2, 1), lambda a: tuple(np.split(a, [2, 4], axis=1))),
    ("split_list", [(2, 5, 3)], lambda x: lucid.split(x, [1, 0, 4], -2), lambda a: tuple(np.split(a, [1, 1], axis=1))),
    ("chunk", [(5, 2)], lambda x: x.chunk(3), lambda a: tuple(np.split(a, [2, 4]))),
    ("unbind", [(2, 3, 2)], lambda x: x.unbind(-2), lambda a: tuple(a[:, i] for i in range(3))),
    ("narrow", [(2, 5)], lambda x: x.narrow(1, -3, 2), lambda a: a[:, 2:4]),
    ("repeat", [(2, 3)], lambda x: x.repeat(2, 1, 3), lambda a: np.tile(a, (2, 1, 3))),
    ("repeat_zero", [(2, 3)], lambda x: x.repeat((0, 2)), lambda a: np.tile(a, (0, 2))),
    ("tile", [(2, 3)], lambda x: lucid.tile(x, (2,)), lambda a: np.tile(a, 2)),
    ("repeat_interleave", [(2, 3)], lambda x: x.repeat_interleave(2), lambda a: np.repeat(a, 2)),
    ("repeat_interleave_dim", [(2, 3)], lambda x: x.repeat_interleave(3, dim=0), lambda a: np.repeat(a, 3, 0)),
    ("repeat_interleave_list", [(2, 3)], lambda x: lucid.repeat_interleave(x, [1, 0, 2], dim=-1),
     lambda a: np.repeat(a, [1, 0, 2], axis=-1)),
    ("repeat_interleave_many", [(2, 11)], lambda x: lucid.repeat_interleave(x, MANY_REPEATS, dim=1),
     lambda a: np.repeat(a, MANY_REPEATS, axis=1)),  # more runs than Take copies one by one
    ("flip", [(2, 3, 4)], lambda x: lucid.flip(x, (0, 2)), lambda a: np.flip(a, (0, 2))),
    ("flip_method", [(2, 3, 4)], lambda x: x.flip(-1, 0), lambda a: np.flip(a, (-1, 0))),
    ("roll", [(2, 3, 4)], lambda x: x.roll((1, -2), (0, 2)), lambda a: np.roll(a, (1, -2), (0, 2))),
    ("roll_flat", [(2, 3)], lambda x: lucid.roll(x, 4), lambda a: np.roll(a, 4)),
    ("pad_constant", [(2, 3, 4)], lambda x: lucid.pad(x, (1, 2, 0, 1), value=0.5),
     lambda a: np_pad(a, (1, 2, 0, 1), constant_values=0.5)),
    ("pad_crop", [(2, 3, 4)], lambda x: lucid.pad(x, (-1, 2, 1, -2)), lambda a: np_pad(a[:, :1, 1:], (0, 2, 1, 0))),
    ("pad_reflect", [(2, 3, 4)], lambda x: lucid.pad(x, (2, 1, 1, 2), mode="reflect"),
     lambda a: np_pad(a, (2, 1, 1, 2), "reflect")),
    ("pad_replicate", [(2, 3, 4)], lambda x: lucid.pad(x, (3, 1, 0, 2), mode="replicate"),
     lambda a: np_pad(a, (3, 1, 0, 2), "edge")),
    ("pad_circular", [(2, 3, 4)], lambda x: lucid.pad(x, (2, 3, 1, 0), mode="circular"),
     lambda a: np_pad(a, (2, 3, 1, 0), "wrap")),
    ("pad_circular_wraps", [(2, 3)], lambda x: lucid.pad(x, (5, 0), mode="circular"),
     lambda a: np_pad(a, (5, 0), "wrap")),
    ("pad_replicate_3d", [(1, 2, 3, 4, 3)], lambda x: lucid.pad(x, (2, 1, 0, 3, 1, 1), mode="replicate"),
     lambda a: np_pad(a, (2, 1, 0, 3, 1, 1), "edge")),
    ("tril", [(2, 3, 4)], lambda x: x.tril(-1), lambda a: np.tril(a, -1)),
    ("triu", [(2, 3, 4)], lambda x: lucid.triu(x, 1), lambda a: np.triu(a, 1)),
    ("diagonal", [(3, 4)], lambda x: x.diagonal(), np.diagonal),
    ("diagonal_neg_dims", [(3, 2, 4)], lambda x: x.diagonal(1, -1, 0), lambda a: np.diagonal(a, 1, 2, 0)),
    ("diagonal_neg_offset", [(2, 4, 3)], lambda x: lucid.diagonal(x, -2, axis1=1, axis2=2),
     lambda a: np.diagonal(a, -2, 1, 2)),
    ("diagonal_empty", [(2, 3)], lambda x: x.diagonal(4), lambda a: np.diagonal(a, 4)),
    ("meshgrid_ij", [(2,), (3,)], lambda x, y: lucid.meshgrid(x, y),
     lambda a, b: tuple(np.meshgrid(a, b, indexing="ij"))),
    ("meshgrid_xy", [(2,), (3,), ()], lambda *xs: lucid.meshgrid(list(xs), indexing="xy"),
     lambda *a: tuple(np.meshgrid(*a, indexing="xy"))),
    ("clone", [(2, 3)], lambda x: x.clone(), lambda a: a.copy()),
    ("expand_as", [(3, 1)], lambda x: x.expand_as(lucid.zeros(2, 3, 4, device=x.device)),
     lambda a: np.broadcast_to(a, (2, 3, 4))),
]
CASE_IDS = [c[0] for c in CASES]
BY_ID = {c[0]: c for c in CASES}


def _inputs(shapes, device, rng, requires_grad=False):
    arrays = [rng.standard_normal(s) for s in shapes]
    return arrays, [lucid.tensor(a, device=device, requires_grad=requires_grad) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_values_match_numpy(case, device, rng):
    _, shapes, fn, np_fn = case
    arrays, xs = _inputs(shapes, device, rng)
    got, want = as_tuple(fn(*xs)), as_tuple(np_fn(*arrays))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.device is device and g.dtype is lucid.float64
        assert g.shape == w.shape
        np.testing.assert_array_equal(host(g), w)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gradcheck(case, device, rng):
    _, shapes, fn, _ = case
    _, xs = _inputs(shapes, device, rng, requires_grad=True)
    assert gradcheck(fn, xs)


SECOND_ORDER = ["permute", "movedim", "cat_last", "stack_mid", "split_list", "chunk", "unbind", "narrow",
                "repeat", "repeat_interleave_list", "flip", "roll", "pad_constant", "pad_crop", "pad_reflect",
                "pad_circular", "pad_replicate_3d", "repeat_interleave_many", "tril", "diagonal_neg_dims",
                "meshgrid_xy", "clone"]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_gradgradcheck(name, device, rng):
    """Backward of each op is itself differentiable (op composed with a square, so it is not linear)."""
    _, shapes, fn, _ = BY_ID[name]
    squared = lambda *a: tuple(o * o for o in as_tuple(fn(*a)))  # noqa: E731
    arrays, _ = _inputs(shapes, device, rng)
    xs = [lucid.tensor(a, device=device, requires_grad=True) for a in arrays]
    assert gradgradcheck(squared, xs)


def test_grad_of_several_outputs_of_one_node(device, rng):
    x = lucid.tensor(rng.standard_normal((4, 2)), device=device, requires_grad=True)
    a, b = (x * 1.0).split(2)  # the split node's input is another node, not a leaf
    (gx,) = lucid.autograd.grad([a, b], [x], [lucid.ones_like(a), 2 * lucid.ones_like(b)])
    np.testing.assert_array_equal(host(gx), np.repeat([[1.0], [2.0]], [2, 2], axis=0) * np.ones((4, 2)))


# ---- behaviour ------------------------------------------------------------------------
def test_multi_output_grads_reach_only_what_was_used(device, rng):
    x = lucid.tensor(rng.standard_normal((4, 3)), device=device, requires_grad=True)
    a, _, c = x.split([1, 2, 1])
    (a.sum() + 2 * c.sum()).backward()
    want = np.zeros((4, 3))
    want[0], want[3] = 1, 2
    np.testing.assert_array_equal(host(x.grad), want)


def test_cat_grads_only_for_inputs_that_need_them(device, rng):
    x = lucid.tensor(rng.standard_normal((2, 2)), device=device, requires_grad=True)
    y = lucid.tensor(rng.standard_normal((1, 2)), device=device)
    lucid.cat([x, y]).sum().backward()
    np.testing.assert_array_equal(host(x.grad), np.ones((2, 2)))
    assert y.grad is None


def test_cat_promotes_dtypes(device):
    i = lucid.tensor([1, 2], device=device)
    f = lucid.tensor([0.5], device=device)
    out = lucid.cat([i, f])
    assert out.dtype is lucid.float32
    np.testing.assert_array_equal(host(out), [1.0, 2.0, 0.5])
    assert lucid.stack([i, i]).dtype is lucid.int64


def test_integer_and_bool_inputs(device):
    x = lucid.tensor(np.arange(12).reshape(3, 4), device=device)
    np.testing.assert_array_equal(host(lucid.pad(x, (1, 1), value=7)), np_pad(host(x), (1, 1), constant_values=7))
    np.testing.assert_array_equal(host(lucid.pad(x, (1, 2), mode="reflect")), np_pad(host(x), (1, 2), "reflect"))
    b = lucid.tensor(np.ones((3, 3), dtype=bool), device=device)
    np.testing.assert_array_equal(host(b.tril()), np.tril(np.ones((3, 3), dtype=bool)))
    assert x.flip(0).dtype is lucid.int64 and x.diagonal().dtype is lucid.int64


def test_clone_owns_its_storage_and_contiguous_is_self(device, rng):
    x = lucid.tensor(rng.standard_normal((2, 3)), device=device)
    y = x.clone()
    y.add_(1.0)
    np.testing.assert_array_equal(host(y), host(x) + 1)
    assert x.contiguous() is x


def test_T_of_low_rank_tensors_is_identity(device):
    v = lucid.tensor([1.0, 2.0], device=device)
    s = lucid.tensor(3.0, device=device)
    for same, of in [(v.T, v), (s.T, s), (v.t(), v)]:  # new views of the same elements, as in PyTorch
        assert same is not of and same._base is of and same.tolist() == of.tolist()


def test_tril_inplace(device, rng):
    a = rng.standard_normal((3, 4))
    x = lucid.tensor(a, device=device)
    assert x.tril_(1) is x
    np.testing.assert_array_equal(host(x), np.tril(a, 1))
    x.triu_()
    np.testing.assert_array_equal(host(x), np.triu(np.tril(a, 1)))


def test_chunk_and_split_of_uneven_and_empty_dims(device):
    x = lucid.zeros(6, device=device)
    assert [p.shape for p in x.chunk(4)] == [(2,), (2,), (2,)]  # fewer pieces, as PyTorch
    e = lucid.zeros(0, 2, device=device)
    assert [p.shape for p in e.chunk(3)] == [(0, 2)] * 3
    assert [p.shape for p in e.split(2)] == [(0, 2)]
    assert isinstance(lucid.split(lucid.zeros(3, device=device), 3), tuple)


def test_dim_and_axis_are_both_accepted(device, rng):
    a = rng.standard_normal((2, 3))
    x = lucid.tensor(a, device=device)
    for fn, np_fn in [
        (lambda **k: lucid.cat([x, x], **k), lambda: np.concatenate([a, a], 1)),
        (lambda **k: lucid.stack([x, x], **k), lambda: np.stack([a, a], 1)),
        (lambda **k: x.split(2, **k)[0], lambda: a[:, :2]),
        (lambda **k: x.unbind(**k)[0], lambda: a[:, 0]),
        (lambda **k: x.roll(1, **({"dims": k["dim"]} if "dim" in k else k)), lambda: np.roll(a, 1, 1)),
    ]:
        np.testing.assert_array_equal(host(fn(dim=1)), np_fn())
        np.testing.assert_array_equal(host(fn(axis=1)), np_fn())
    with pytest.raises(TypeError, match="got both"):
        lucid.cat([x, x], dim=0, axis=1)


# ---- errors ------------------------------------------------------------------------------
def _error_cases(x, device):
    """(call, exception type, message pattern); ``x`` has shape (2, 3, 4)."""
    m = lucid.zeros(2, 3, device=device)
    v = lucid.zeros(3, device=device)
    return [
        (lambda: x.permute(1, 0), RuntimeError, r"names 2 dimensions .* shape \(2, 3, 4\)"),
        (lambda: x.permute(0, 0, 1), RuntimeError, "more than once"),
        (lambda: x.transpose(0, 3), IndexError, r"dimension 3 is out of range .* \[-3, 2\]"),
        (lambda: x.unsqueeze(4), IndexError, r"out of range"),
        (lambda: x.squeeze(-4), IndexError, r"out of range"),
        (lambda: x.flatten(2, 1), RuntimeError, "start_dim 2 comes after end_dim 1"),
        (lambda: x.unflatten(1, (2, 2)), RuntimeError, r"sizes \(2, 2\) don't fit dimension 1 of size 3"),
        (lambda: x.movedim((0, 1), 2), RuntimeError, "same length"),
        (lambda: x.transpose(0, 1.5), TypeError, "must be an int"),
        (lambda: lucid.cat([x, m]), RuntimeError, r"tensor 1 has shape \(2, 3\) but tensor 0 has shape \(2, 3, 4\)"),
        (lambda: lucid.cat([x, lucid.zeros(2, 2, 4, device=device)], 2), RuntimeError,
         "every dimension except 2"),
        (lambda: lucid.cat([]), ValueError, "non-empty"),
        (lambda: lucid.cat(x), TypeError, "single Tensor"),
        (lambda: lucid.cat([x, 1.0]), TypeError, "element 1 is a float"),
        (lambda: lucid.cat([lucid.tensor(1.0, device=device)]), RuntimeError, "at least 1 dimension"),
        (lambda: lucid.stack([m, m.T]), RuntimeError, r"got \(2, 3\) at entry 0 and \(3, 2\) at entry 1"),
        (lambda: x.split([1, 1], 1), RuntimeError, r"add up to 3, the size of dimension 1"),
        (lambda: x.split(0), ValueError, "split_size must be positive"),
        (lambda: x.chunk(0), RuntimeError, "chunks must be positive"),
        (lambda: x.narrow(1, 2, 2), RuntimeError, "don't fit dimension 1 of size 3"),
        (lambda: x.repeat(2, 2), RuntimeError, r"2 sizes \(2, 2\) given for a tensor of shape \(2, 3, 4\)"),
        (lambda: x.repeat(1, -1, 1), ValueError, "non-negative"),
        (lambda: x.repeat_interleave([1, 2], dim=1), RuntimeError,
         r"one non-negative count per element of dimension 1 \(size 3\)"),
        (lambda: x.roll((1, 2), 0), RuntimeError, "same length"),
        (lambda: lucid.pad(x, (1, 2, 3)), RuntimeError, "even number of widths"),
        (lambda: lucid.pad(x, (1,) * 8), RuntimeError, r"at most 6 for a tensor of shape \(2, 3, 4\)"),
        (lambda: lucid.pad(x, (1, 1), mode="wrap"), NotImplementedError, "unknown mode 'wrap'"),
        (lambda: lucid.pad(x, (4, 0), mode="reflect"), RuntimeError,
         r"smaller than the dimension, got padding \(4, 0\)"),
        (lambda: lucid.pad(x, (1, 1), mode="reflect", value=2.0), ValueError, "takes no value"),
        (lambda: lucid.pad(x, (-3, -2)), ValueError, r"crops more than dimension 2 of the tensor of shape \(2, 3, 4\)"),
        (lambda: lucid.pad(x, (2, -5)), ValueError, "crops more than"),
        (lambda: lucid.pad(lucid.zeros(2, 0, device=device), (1, 1), mode="replicate"), ValueError, "non-empty"),
        (lambda: lucid.pad(x, (-4, 1), mode="circular"), ValueError, "non-empty dimension after cropping"),
        (lambda: v.tril(), RuntimeError, r"at least 2 dimension\(s\), got shape \(3,\)"),
        (lambda: v.mT, RuntimeError, "at least 2"),
        (lambda: x.t(), RuntimeError, "at most 2 dimensions"),
        (lambda: x.diagonal(0, 1, -2), RuntimeError, "must differ"),
        (lambda: lucid.meshgrid(v, m), RuntimeError, r"argument 1 has shape \(2, 3\)"),
        (lambda: lucid.meshgrid(v, v, indexing="yx"), ValueError, "'ij' or 'xy'"),
        (lambda: lucid.meshgrid(v, lucid.zeros(2, dtype=lucid.float64, device=device)), TypeError, "one dtype"),
        (lambda: lucid.meshgrid(), ValueError, "at least one"),
        (lambda: lucid.tensor(1.0, device=device).unbind(), RuntimeError, "at least 1"),
    ]


def test_errors_are_clear(device):
    x = lucid.zeros(2, 3, 4, device=device)
    for call, exc, pattern in _error_cases(x, device):
        with pytest.raises(exc, match=pattern):
            call()
    assert x.shape == (2, 3, 4)


def test_device_mismatch(device_pair):
    here, there = device_pair
    a, b = lucid.zeros(2, device=here), lucid.zeros(2, device=there)
    for call in (lambda: lucid.cat([a, b]), lambda: lucid.stack([a, b]), lambda: lucid.meshgrid(a, b)):
        with pytest.raises(lucid.DeviceMismatchError, match="device"):
            call()


# ---- PyTorch as an oracle -------------------------------------------------------------------
def _oracle(device, lfn, tfn, *shapes, seed=0):
    """Same inputs through lucid and torch: outputs equal, and gradients of a random projection equal."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    xs = [lucid.tensor(a, device=device, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    got, want = as_tuple(lfn(*xs)), as_tuple(tfn(*ts))
    assert len(got) == len(want)
    vs = [rng.standard_normal(tuple(w.shape)) for w in want]
    for g, w in zip(got, want):
        np.testing.assert_allclose(host(g), w.detach().numpy(), rtol=1e-12, atol=0)
    sum((g * lucid.tensor(v, device=device)).sum() for g, v in zip(got, vs)).backward()
    sum((w * torch.tensor(v)).sum() for w, v in zip(want, vs)).backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(host(x.grad), t.grad.numpy(), rtol=1e-12, atol=1e-12)


PAD_CASES = [
    ("constant", (2, 3, 4), (1, 2)),
    ("constant", (2, 3, 4), (-1, 2, 1, -1)),
    ("constant", (2, 3, 4), (0, 1, 2, 0, 1, 1)),
    ("reflect", (2, 3, 4), (2, 1)),
    ("reflect", (2, 2, 3, 4), (1, 3, 2, 0)),
    ("reflect", (1, 2, 3, 4, 3), (1, 1, 2, 1, 1, 0)),
    ("reflect", (1, 2, 3), (-1, 2)),
    ("replicate", (2, 3), (2, 2)),
    ("replicate", (2, 2, 3, 4), (3, 1, 0, 2)),
    ("replicate", (1, 2, 3, 2, 2), (1, 0, 2, 1, 0, 3)),
    ("replicate", (2, 1), (-2, 3)),
    ("circular", (2, 3, 4), (1, 2)),
    ("circular", (1, 2, 3, 4), (2, 1, 1, 3)),
    ("circular", (1, 2, 3), (-1, 2)),
    # longer axes, 1-d and 3-d padding in every mode, crops mixed with pads
    ("reflect", (2, 3, 40), (5, 7)),
    ("reflect", (1, 2, 9, 10), (3, -2, 4, 1)),
    ("replicate", (2, 3, 6), (4, 5)),
    ("replicate", (1, 2, 3, 4, 5), (2, 1, 0, 3, 1, 1)),
    ("replicate", (2, 3, 7, 6), (-2, 3, 2, -1)),
    ("circular", (2, 5), (2, 3)),
    ("circular", (1, 2, 3, 4, 3), (1, 2, 2, 1, 1, 2)),
    ("circular", (1, 2, 6), (-2, 3)),
]


@pytest.mark.parametrize("mode,shape,widths", PAD_CASES)
def test_pad_matches_torch(mode, shape, widths, device):
    torch = pytest.importorskip("torch")
    value = {"value": 0.25} if mode == "constant" else {}
    _oracle(device, lambda x: lucid.pad(x, widths, mode=mode, **value),
            lambda x: torch.nn.functional.pad(x, widths, mode=mode, **value), shape)


# method name, arguments, input shape: called the same way on a lucid and a torch tensor
TORCH_METHOD_CASES = [
    ("repeat", (2, 1, 3), (2, 3)),
    ("repeat", (3, 2), (2, 3)),
    ("tile", ((2,),), (2, 3)),
    ("roll", (2, None), (3, 2, 4)),
    ("roll", (-1, 0), (3, 2, 4)),
    ("roll", ((1, 5), (2, 0)), (3, 2, 4)),
    ("roll", ((1, 2), (1, 1)), (3, 2, 4)),
    ("split", (2, 1), (2, 5, 4)),
    ("split", ([1, 3, 1], 1), (2, 5, 4)),
    ("split", (4, -1), (2, 5, 4)),
    ("split", ([0, 2], 0), (2, 5, 4)),
    ("chunk", (3, 1), (2, 5, 4)),
    ("unbind", (1,), (2, 3, 2)),
    *[(name, (k,), (2, 3, 4)) for name in ("tril", "triu") for k in (-2, -1, 0, 1, 3)],
    *[("diagonal", args, (3, 2, 4)) for args in [(0, 0, 1), (1, 0, 2), (-1, 2, 0), (2, -1, -2), (-5, 0, 1)]],
]


@pytest.mark.parametrize("name,args,shape", TORCH_METHOD_CASES)
def test_methods_match_torch(name, args, shape, device):
    pytest.importorskip("torch")
    _oracle(device, lambda x: getattr(x, name)(*args), lambda x: getattr(x, name)(*args), shape)


def test_repeat_interleave_matches_torch(device):
    torch = pytest.importorskip("torch")
    _oracle(device, lambda x: x.repeat_interleave([2, 0, 1], dim=1),
            lambda x: x.repeat_interleave(torch.tensor([2, 0, 1]), dim=1), (2, 3))
    _oracle(device, lambda x: x.repeat_interleave(2), lambda x: x.repeat_interleave(2), (2, 3))


@pytest.mark.parametrize("indexing", ["ij", "xy"])
@pytest.mark.parametrize("shapes", [[(2,), (3,), (4,)], [(3,), ()]])
def test_meshgrid_matches_torch(indexing, shapes, device):
    torch = pytest.importorskip("torch")
    _oracle(device, lambda *xs: lucid.meshgrid(*xs, indexing=indexing),
            lambda *ts: torch.meshgrid(*ts, indexing=indexing), *shapes)
