"""nn linear layers, dropout family and embeddings: gradients on every backend, PyTorch oracles,
default initialisation, train/eval behaviour, repeated indices and padding rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F
from lucid.autograd import gradcheck, gradgradcheck
from lucid.nn import layers as L


def make(arr, device, grad=False, dtype=lucid.float64):
    return lucid.tensor(np.asarray(arr), dtype=dtype, device=device, requires_grad=grad)


def host(t):
    return t.detach().numpy(force=True)


def ints(arr, device):
    return lucid.tensor(np.asarray(arr, dtype=np.int64), device=device)


# ---- linear --------------------------------------------------------------------------------
def test_linear_gradcheck(device, rng):
    x = make(rng.standard_normal((2, 3, 4)), device, grad=True)
    w = make(rng.standard_normal((5, 4)), device, grad=True)
    b = make(rng.standard_normal(5), device, grad=True)
    assert gradcheck(F.linear, (x, w, b))
    assert gradcheck(F.linear, (x, w))
    assert gradgradcheck(lambda x, w, b: F.linear(x, w, b) ** 2, (x, w, b))


def test_linear_shapes_and_errors(device, rng):
    w = make(rng.standard_normal((5, 4)), device)
    assert F.linear(make(rng.standard_normal(4), device), w).shape == (5,)
    assert F.linear(make(rng.standard_normal((2, 0, 4)), device), w).shape == (2, 0, 5)
    assert F.linear(make(rng.standard_normal((3, 4)), device), make(np.ones(4), device)).shape == (3,)
    with pytest.raises(RuntimeError, match="features"):
        F.linear(make(np.ones((2, 3)), device), w)
    with pytest.raises(RuntimeError, match="dtype"):
        F.linear(make(np.ones((2, 4)), device, dtype=lucid.float32), w)


def test_bilinear_gradcheck(device, rng):
    args = (make(rng.standard_normal((2, 3)), device, grad=True), make(rng.standard_normal((2, 4)), device, grad=True),
            make(rng.standard_normal((2, 3, 4)), device, grad=True), make(rng.standard_normal(2), device, grad=True))
    assert gradcheck(F.bilinear, args)


def test_linear_and_bilinear_against_torch(device, rng):
    torch = pytest.importorskip("torch")
    lin, tlin = L.Linear(4, 3, device=device, dtype=lucid.float64), torch.nn.Linear(4, 3).double()
    bil, tbil = L.Bilinear(4, 2, 3, device=device, dtype=lucid.float64), torch.nn.Bilinear(4, 2, 3).double()
    for mine, theirs in ((lin, tlin), (bil, tbil)):
        with torch.no_grad():
            for name, p in mine.named_parameters():
                getattr(theirs, name).copy_(torch.tensor(host(p)))
    a, b = rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))
    outs = [(lin(make(a, device)), tlin(torch.tensor(a))), (bil(make(a, device), make(b, device)),
                                                            tbil(torch.tensor(a), torch.tensor(b)))]
    for (y, ty), (mine, theirs) in zip(outs, ((lin, tlin), (bil, tbil))):
        np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-12)
        g = rng.standard_normal(ty.shape)
        y.backward(make(g, device))
        ty.backward(torch.tensor(g))
        for name, p in mine.named_parameters():
            np.testing.assert_allclose(host(p.grad), getattr(theirs, name).grad.numpy(), rtol=1e-11, err_msg=name)


def test_linear_default_init(device):
    lucid.manual_seed(0)
    m = L.Linear(400, 300, device=device)
    assert m.weight.shape == (300, 400) and m.bias.shape == (300,) and m.weight.dtype is lucid.float32
    bound = 1 / math.sqrt(400)  # fan_in is in_features (upstream Lucid 2.5.8 used out_features)
    w, b = host(m.weight), host(m.bias)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound and abs(w.mean()) < 0.01 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.95 * bound
    assert L.Linear(3, 2, bias=False).bias is None
    assert repr(L.Linear(3, 2, bias=False)) == "Linear(in_features=3, out_features=2, bias=False)"
    bil = L.Bilinear(50, 20, 30)
    assert np.abs(host(bil.weight)).max() <= 1 / math.sqrt(50) and np.abs(host(bil.weight)).max() > 0.13


def test_linear_module_trains(device, rng):
    m = L.Linear(4, 2, device=device, dtype=lucid.float64)
    x = make(rng.standard_normal((8, 4)), device)
    m(x).square().mean().backward()
    assert m.weight.grad.shape == (2, 4) and m.bias.grad.shape == (2,)


def test_identity_flatten_unflatten(device, rng):
    x = make(rng.standard_normal((2, 3, 4, 5)), device)
    assert L.Identity(1, key=2)(x) is x
    assert L.Flatten()(x).shape == (2, 60)
    assert L.Flatten(0, 2)(x).shape == (24, 5)
    assert L.Unflatten(1, (3, 1))(x).shape == (2, 3, 1, 4, 5)
    y = L.Unflatten(1, (2, 30))(L.Flatten()(x))
    np.testing.assert_array_equal(host(y), host(x).reshape(2, 2, 30))


# ---- dropout -------------------------------------------------------------------------------
def test_dropout_train_and_eval(device):
    x = make(np.ones((200, 50)), device, grad=True)
    m = L.Dropout(0.3)
    y = m(x)
    vals = host(y)
    assert set(np.unique(vals)) <= {0.0, 1 / 0.7}
    assert abs((vals == 0).mean() - 0.3) < 0.03
    y.sum().backward()
    np.testing.assert_allclose(host(x.grad), vals)  # the gradient is the mask
    m.eval()
    assert m(x) is x
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.5, training=False) is x
    assert (host(F.dropout(x, 1.0)) == 0).all()


def test_dropout_is_reproducible(device):
    x = make(np.ones((4, 5)), device)
    lucid.manual_seed(3)
    a = host(F.dropout(x))
    lucid.manual_seed(3)
    np.testing.assert_array_equal(a, host(F.dropout(x)))


def test_dropout_inplace(device):
    x = make(np.ones((100,)), device)
    assert F.dropout(x, 0.5, inplace=True) is x
    assert set(np.unique(host(x))) == {0.0, 2.0}


@pytest.mark.parametrize("fn,spatial", [(F.dropout1d, 1), (F.dropout2d, 2), (F.dropout3d, 3)])
def test_channel_dropout(device, fn, spatial):
    for batched in (True, False):
        shape = ((8,) if batched else ()) + (40,) + (3,) * spatial
        y = host(fn(make(np.ones(shape), device), 0.5))
        per_channel = y.reshape(y.shape[: 1 + batched] + (-1,))
        # every channel is all zeros or all 2s
        assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()
        assert 0.2 < (per_channel == 0).all(-1).mean() < 0.8
    with pytest.raises(RuntimeError, match="spatial"):
        fn(make(np.ones((2,) * (spatial + 3)), device))


def test_channel_dropout_modules(device):
    x = make(np.ones((2, 3, 4, 4)), device)
    for m in (L.Dropout2d(0.5), L.AlphaDropout(0.2), L.FeatureAlphaDropout(0.2)):
        assert m.eval()(x) is x
    assert L.Dropout1d().train()(make(np.ones((2, 3, 4)), device)).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="between 0 and 1"):
        L.Dropout(1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, -0.1)


ALPHA = 1.7580993408473766  # scale * alpha of SELU


def alpha_constants(p):
    """PyTorch's alpha dropout: ``a``, and the value a dropped element takes."""
    a = ((ALPHA**2 * p + 1) * (1 - p)) ** -0.5
    return a, -ALPHA * a + ALPHA * a * p


def test_alpha_dropout_keeps_mean_and_variance(device, rng):
    x = make(rng.standard_normal(200_000), device)
    y = host(F.alpha_dropout(x, 0.3, training=True))
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    assert F.alpha_dropout(x, 0.3) is x  # training defaults to False, as in PyTorch
    z = host(F.feature_alpha_dropout(make(rng.standard_normal((400, 50, 10)), device), 0.3, training=True))
    dropped = np.isclose(z, alpha_constants(0.3)[1])
    assert ((dropped.all(-1)) | (~dropped).all(-1)).all() and 0.2 < dropped.all(-1).mean() < 0.4


def test_alpha_dropout_matches_torch_formula(device, rng):
    """Dropped elements take PyTorch's value and kept ones ``a * x + alpha * a * p`` (its
    ``x * keep * a + (keep - 1) * alpha * a + alpha * a * p``)."""
    x = rng.standard_normal(1000)
    y = host(F.alpha_dropout(make(x, device), 0.25, training=True))
    a, dropped_value = alpha_constants(0.25)
    dropped = np.isclose(y, dropped_value)
    assert 0.15 < dropped.mean() < 0.35
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] + ALPHA * a * 0.25, rtol=1e-12)


def test_drop_path_is_per_sample(device):
    x = make(np.ones((400, 3, 2)), device, grad=True)
    y = host(L.DropPath(0.25)(x))
    per_sample = y.reshape(400, -1)
    assert ((per_sample == 0).all(1) | (per_sample == 1 / 0.75).all(1)).all()
    assert 0.18 < (per_sample == 0).all(1).mean() < 0.32
    assert L.DropPath(0.25).eval()(x) is x
    assert set(np.unique(host(F.drop_path(x, 0.5, scale_by_keep=False)))) == {0.0, 1.0}


def test_drop_block(device):
    lucid.manual_seed(1)
    x = make(np.ones((4, 3, 16, 16)), device)
    m = L.DropBlock(block_size=4, p=0.2)
    y = host(m(x))
    zero = y == 0
    assert 0.1 < zero.mean() < 0.3
    kept = y[~zero]
    np.testing.assert_allclose(kept, np.full(kept.shape, y.size / kept.size))  # rescaled by numel / kept
    # dropped regions come in blocks: every zero has a 4x4 zero block containing it
    view = np.lib.stride_tricks.sliding_window_view
    blocks = view(zero, (4, 4), axis=(2, 3)).all((-1, -2))  # (.., 13, 13): all-zero 4x4 blocks by corner
    covered = view(np.pad(blocks, ((0, 0), (0, 0), (3, 3), (3, 3))), (4, 4), axis=(2, 3)).any((-1, -2))
    assert covered[zero].all()
    assert m.eval()(x) is x


# ---- embedding ---------------------------------------------------------------------------------
def test_embedding_gradcheck(device, rng):
    w = make(rng.standard_normal((5, 3)), device, grad=True)
    idx = ints([[0, 2, 2], [4, 1, 2]], device)
    assert gradcheck(lambda w: F.embedding(idx, w), (w,))
    # padding_idx and scale_grad_by_freq change the gradient on purpose: checked against torch below
    assert gradgradcheck(lambda w: F.embedding(idx, w) ** 2, (w,))


def test_repeated_indices_accumulate_and_padding_gets_no_grad(device, rng):
    w = make(rng.standard_normal((6, 2)), device, grad=True)
    F.embedding(ints([1, 1, 1, 3, 0, 0], device), w, padding_idx=0).sum().backward()
    np.testing.assert_array_equal(host(w.grad)[:, 0], [0, 3, 0, 1, 0, 0])
    m = L.Embedding(6, 2, padding_idx=-1, device=device)
    assert m.padding_idx == 5 and (host(m.weight)[5] == 0).all()
    m(ints([5, 5, 2], device)).sum().backward()
    np.testing.assert_array_equal(host(m.weight.grad)[:, 0], [0, 0, 1, 0, 0, 0])


def test_embedding_default_init_and_shapes(device):
    lucid.manual_seed(0)
    m = L.Embedding(1000, 64, device=device)
    w = host(m.weight)
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01  # N(0, 1), as PyTorch
    assert m(ints(np.zeros((2, 3, 4)), device)).shape == (2, 3, 4, 64)
    assert m(ints(7, device)).shape == (64,)
    assert repr(L.Embedding(10, 3, padding_idx=1)) == "Embedding(10, 3, padding_idx=1)"
    if device.host:  # off the host the range is not checked (a sync): tests/backend/test_host_syncs.py
        with pytest.raises(IndexError, match="out of range"):
            m(ints([1000], device))
    with pytest.raises(RuntimeError, match="integer"):
        m(make([1.0], device))


def test_embedding_against_torch(device, rng):
    torch = pytest.importorskip("torch")
    w0 = rng.standard_normal((7, 3)) * 2
    idx = np.array([[0, 2, 2, 6], [5, 1, 2, 0]])
    for kwargs in ({}, {"padding_idx": 2}, {"max_norm": 1.5}, {"max_norm": 1.0, "norm_type": 1.0},
                   {"scale_grad_by_freq": True, "padding_idx": 0}):
        w, tw = make(w0, device, grad=True), torch.tensor(w0, requires_grad=True)
        y, ty = F.embedding(ints(idx, device), w, **kwargs), torch.nn.functional.embedding(torch.tensor(idx), tw,
                                                                                         **kwargs)
        np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-12, err_msg=str(kwargs))
        np.testing.assert_allclose(host(w), tw.detach().numpy(), rtol=1e-12, err_msg=str(kwargs))  # renormed rows
        g = rng.standard_normal(ty.shape)
        y.backward(make(g, device))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(host(w.grad), tw.grad.numpy(), rtol=1e-12, err_msg=str(kwargs))


def test_from_pretrained(device, rng):
    w = make(rng.standard_normal((4, 2)), device)
    m = L.Embedding.from_pretrained(w)
    assert not m.weight.requires_grad and m.weight._data is w._data
    assert L.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    assert L.EmbeddingBag.from_pretrained(w, mode="sum").mode == "sum"


BAG_CASES = [
    ({"mode": "sum"}, [[1, 2, 3], [4, 4, 0]], None, False),
    ({"mode": "mean"}, [[1, 2, 3], [4, 4, 0]], None, False),
    ({"mode": "max"}, [[1, 2, 3], [4, 4, 0]], None, False),
    ({"mode": "mean", "padding_idx": 4}, [[1, 2, 3], [4, 4, 0]], None, False),
    ({"mode": "sum"}, [1, 2, 4, 5, 4, 3, 2, 6], [0, 3, 3, 5], False),
    ({"mode": "mean"}, [1, 2, 4, 5, 4, 3, 2, 6], [0, 3, 3, 5], False),
    ({"mode": "max", "padding_idx": 2}, [1, 2, 4, 5, 4, 3, 2, 6], [0, 3, 3, 5], False),
    ({"mode": "sum"}, [1, 2, 4, 5, 4, 3, 2, 6], [0, 3, 5, 8], True),
    ({"mode": "sum", "per_sample_weights": True}, [1, 2, 4, 5, 4, 3, 2, 6], [0, 3, 3, 5], False),
    ({"mode": "sum", "per_sample_weights": True}, [[1, 2, 3], [4, 4, 0]], None, False),
    ({"mode": "mean", "max_norm": 1.0}, [[1, 2, 3], [4, 4, 0]], None, False),
]


@pytest.mark.parametrize("kwargs,idx,offsets,last", BAG_CASES)
def test_embedding_bag_against_torch(device, rng, kwargs, idx, offsets, last):
    torch = pytest.importorskip("torch")
    kwargs = dict(kwargs)
    w0 = rng.standard_normal((7, 3))
    psw = rng.standard_normal(np.shape(idx)) if kwargs.pop("per_sample_weights", False) else None
    w, tw = make(w0, device, grad=True), torch.tensor(w0, requires_grad=True)
    off = None if offsets is None else ints(offsets, device)
    y = F.embedding_bag(ints(idx, device), w, off, per_sample_weights=None if psw is None else make(psw, device),
                        include_last_offset=last, **kwargs)
    ty = torch.nn.functional.embedding_bag(torch.tensor(idx), tw, None if offsets is None else torch.tensor(offsets),
                                           per_sample_weights=None if psw is None else torch.tensor(psw),
                                           include_last_offset=last, **kwargs)
    np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-12, atol=1e-15)
    g = rng.standard_normal(ty.shape)
    y.backward(make(g, device))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(host(w.grad), tw.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_embedding_bag_module_and_gradcheck(device, rng):
    m = L.EmbeddingBag(10, 4, mode="max", device=device, dtype=lucid.float64)
    assert m(ints([[1, 2], [3, 9], [0, 0]], device)).shape == (3, 4)
    assert m(ints([1, 2, 3], device), ints([0, 1], device)).shape == (2, 4)
    idx, off = ints([1, 2, 4, 1, 0], device), ints([0, 2, 2], device)
    for mode in ("sum", "mean", "max"):
        assert gradcheck(lambda w, mode=mode: F.embedding_bag(idx, w, off, mode=mode),
                         (make(rng.standard_normal((5, 2)), device, grad=True),))
    with pytest.raises(ValueError, match="mode"):
        L.EmbeddingBag(3, 2, mode="median")
    with pytest.raises(ValueError, match="offsets"):
        F.embedding_bag(ints([1, 2], device), m.weight)


def _bag_pair(torch, device, w0, idx, offsets, psw=None, dtype=lucid.float64, **kwargs):
    """``embedding_bag`` of lucid and of torch on the same data, each output's backward run with the same
    gradient: ``((y, w, psw), (ty, tw, tpsw))``."""
    tdtype = torch.float64 if dtype is lucid.float64 else torch.float32
    w, tw = make(w0, device, grad=True, dtype=dtype), torch.tensor(w0, dtype=tdtype, requires_grad=True)
    p = None if psw is None else make(psw, device, grad=True, dtype=dtype)
    tp = None if psw is None else torch.tensor(psw, dtype=tdtype, requires_grad=True)
    y = F.embedding_bag(ints(idx, device), w, None if offsets is None else ints(offsets, device), per_sample_weights=p,
                        **kwargs)
    ty = torch.nn.functional.embedding_bag(torch.tensor(np.asarray(idx)), tw,
                                           None if offsets is None else torch.tensor(np.asarray(offsets)),
                                           per_sample_weights=tp, **kwargs)
    g = np.random.default_rng(11).standard_normal(tuple(ty.shape))
    y.backward(make(g, device, dtype=dtype))
    ty.backward(torch.tensor(g, dtype=tdtype))
    return (y, w, p), (ty, tw, tp)


def _assert_bags_match(mine, theirs, **tolerance):
    """The outputs, and the gradients of the weight and of the per-sample weights (if any), match."""
    np.testing.assert_allclose(host(mine[0]), theirs[0].detach().numpy(), **tolerance)
    for m, t in zip(mine[1:], theirs[1:]):
        if t is not None:
            np.testing.assert_allclose(host(m.grad), t.grad.numpy(), **tolerance)


@pytest.mark.parametrize("mode", ["sum", "mean", "max", "sum_weighted"])
@pytest.mark.parametrize("skewed", [False, True])
def test_embedding_bag_large_and_uneven_against_torch(device, mode, skewed):
    """Thousands of entries in bags of very uneven sizes (a bag of 2000, many empty ones) and rows looked up
    thousands of times: the fused host op reduces these in several levels of pieces and several chunks."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    num, entries = 600, 6000
    idx = np.minimum(rng.zipf(1.3, entries), num) - 1 if skewed else rng.integers(0, num, entries)
    sizes = np.concatenate([[2000], np.minimum(rng.zipf(1.6, 800), 400)])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    offsets = offsets[offsets < entries]
    psw = rng.standard_normal(entries) if mode == "sum_weighted" else None
    mine, theirs = _bag_pair(torch, device, rng.standard_normal((num, 40)), idx, offsets, psw,
                             mode=mode.split("_")[0], padding_idx=0)
    _assert_bags_match(mine, theirs, rtol=1e-10, atol=1e-11)


def test_embedding_bag_float32_against_torch(device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    idx, offsets = rng.integers(0, 500, 5000), np.arange(0, 5000, 25)
    for mode in ("sum", "mean", "max"):
        mine, theirs = _bag_pair(torch, device, rng.standard_normal((500, 16)), idx, offsets, dtype=lucid.float32,
                                 mode=mode)
        assert mine[0].dtype is lucid.float32 and mine[1].grad.dtype is lucid.float32
        _assert_bags_match(mine, theirs, rtol=1e-5, atol=1e-5)


def test_embedding_bag_max_ties_infinities_and_padding_rows(device):
    """Of equal maxima the first entry gets the gradient (as PyTorch; off the host the scatter shares it);
    a bag of -inf rows keeps -inf; an inf or nan in a padding row or a left-out entry reaches no bag."""
    torch = pytest.importorskip("torch")
    w0 = np.array([[1.0, 5.0], [1.0, 5.0], [3.0, 2.0], [-np.inf, -np.inf], [np.inf, np.nan]])
    idx, offsets = [0, 1, 2, 1, 0, 3, 3, 4, 2, 4], [0, 3, 5, 7, 7]
    for mode in ("sum", "mean", "max"):
        mine, theirs = _bag_pair(torch, device, w0, idx, offsets, mode=mode, padding_idx=4)
        if mode == "max" and not device.host:
            np.testing.assert_array_equal(host(mine[0]), theirs[0].detach().numpy())
            continue
        _assert_bags_match(mine, theirs, rtol=0, atol=0)


@pytest.mark.parametrize("kwargs", [{"mode": "sum"}, {"mode": "mean", "padding_idx": 2}, {"mode": "max"},
                                    {"mode": "sum", "per_sample_weights": True},
                                    {"mode": "sum", "scale_grad_by_freq": True, "per_sample_weights": True},
                                    {"mode": "max", "scale_grad_by_freq": True}])
def test_embedding_bag_second_derivative(device, rng, kwargs):
    """create_graph runs the backward as recorded ops: it gives the first-order gradients, and differentiates
    (but for ``scale_grad_by_freq``, whose gradient is no derivative)."""
    kwargs = dict(kwargs)
    idx, off = ints([0, 2, 2, 4, 1, 3, 4, 0], device), ints([0, 2, 2, 5], device)
    inputs = [make(rng.permutation(15).reshape(5, 3) / 7.0, device, grad=True)]
    if kwargs.pop("per_sample_weights", False):
        inputs.append(make(rng.standard_normal(8), device, grad=True))

    def fn(w, psw=None):
        return F.embedding_bag(idx, w, off, per_sample_weights=psw, **kwargs)

    assert kwargs.get("scale_grad_by_freq") or gradgradcheck(fn, inputs)
    out = fn(*inputs)
    g = make(rng.standard_normal(out.shape), device)
    first = lucid.autograd.grad(out, inputs, g, retain_graph=True)
    recorded = lucid.autograd.grad(out, inputs, g, create_graph=True)
    for a, b in zip(first, recorded):
        np.testing.assert_allclose(host(a), host(b), rtol=1e-12)


def test_embedding_bag_scale_grad_by_freq(device, rng):
    """Each row's gradient divided by how often the input looks it up: the bags of ``F.embedding``'s rows with
    ``scale_grad_by_freq`` (PyTorch's CPU embedding_bag divides by the wrong rows' counts)."""
    idx, offsets = [3, 1, 3, 0, 3, 2, 1, 4], [0, 3, 3, 6]
    w0, g = rng.standard_normal((5, 2)), rng.standard_normal((4, 2))
    for mode in ("sum", "mean", "max"):
        w, ref = make(w0, device, grad=True), make(w0, device, grad=True)
        F.embedding_bag(ints(idx, device), w, ints(offsets, device), mode=mode, scale_grad_by_freq=True).backward(
            make(g, device))
        rows = F.embedding(ints(idx, device), ref, scale_grad_by_freq=True)
        reduce = {"sum": lambda r: r.sum(dim=0), "mean": lambda r: r.mean(dim=0), "max": lambda r: r.max(dim=0)[0]}
        bags = [reduce[mode](rows[a:b]) if b > a else lucid.zeros(2, dtype=lucid.float64, device=device)
                for a, b in zip(offsets, offsets[1:] + [len(idx)])]
        lucid.stack(bags).backward(make(g, device))
        np.testing.assert_allclose(host(w.grad), host(ref.grad), rtol=1e-12)


def test_one_hot(device):
    t = ints([[0, 2], [1, 3]], device)
    y = F.one_hot(t)
    assert y.dtype is lucid.int64 and y.shape == (2, 2, 4) and y.device is device
    np.testing.assert_array_equal(host(y), np.eye(4, dtype=np.int64)[[[0, 2], [1, 3]]])
    assert F.one_hot(t, 6).shape == (2, 2, 6)
    with pytest.raises(RuntimeError, match="class values"):
        F.one_hot(t, 3)
    with pytest.raises(RuntimeError, match="integer"):
        F.one_hot(make([1.0], device))
