"""PyTorch's low-level top-level functions (``lucid._native``): values, gradients, running-statistic updates
and the structure and dtypes of the returned tuples, with PyTorch as the oracle (its CPU kernels; the
SyncBatchNorm kernels it has for CUDA only are compared with the formulas they implement, through
``F.batch_norm`` and its gradient). Their gradchecks are in tests/autograd/gradcheck_cases_native.py."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F

torch = pytest.importorskip("torch")


def host(t):
    return t.detach().numpy(force=True) if hasattr(t, "numpy") else np.asarray(t)


def pair(rng, device, *shape, grad=True):
    """The same float64 values as a lucid tensor on ``device`` and a torch tensor."""
    a = rng.standard_normal(shape)
    return (lucid.tensor(a, dtype=lucid.float64, device=device, requires_grad=grad),
            torch.tensor(a, dtype=torch.float64, requires_grad=grad))


def close(a, b, **kw):
    np.testing.assert_allclose(host(a), b.detach().numpy(), rtol=kw.get("rtol", 1e-7), atol=kw.get("atol", 1e-9))


def grads(outputs, inputs, weights):
    """The gradients of ``sum(w * o)`` with respect to ``inputs`` (lucid or torch alike)."""
    total = sum((o * w).sum() for o, w in zip(outputs, weights))
    mod = lucid if isinstance(total, lucid.Tensor) else torch
    return mod.autograd.grad(total, inputs)


# ---- native norms ------------------------------------------------------------------------------------------------
def test_native_layer_norm(device, rng):
    (x, tx), (w, tw), (b, tb) = pair(rng, device, 4, 3, 5), pair(rng, device, 5), pair(rng, device, 5)
    out, mean, rstd = lucid.native_layer_norm(x, [5], w, b, 1e-5)
    tout, tmean, trstd = torch.native_layer_norm(tx, [5], tw, tb, 1e-5)
    for a, t in ((out, tout), (mean, tmean), (rstd, trstd)):
        assert a.shape == tuple(t.shape) and a.dtype == lucid.float64
        close(a, t)
    assert not mean.requires_grad and not rstd.requires_grad and out.requires_grad
    g = rng.standard_normal((4, 3, 5))
    for a, t in zip(grads([out], [x, w, b], [lucid.tensor(g, device=device)]), grads([tout], [tx, tw, tb],
                                                                                         [torch.tensor(g)])):
        close(a, t)


@pytest.mark.parametrize("training", [True, False])
def test_native_batch_norm(device, rng, training):
    (x, tx), (w, tw), (b, tb) = pair(rng, device, 4, 3, 5), pair(rng, device, 3), pair(rng, device, 3)
    stats = rng.uniform(0.5, 2.0, (2, 3))
    rm, rv = (lucid.tensor(s, dtype=lucid.float64, device=device) for s in stats)
    trm, trv = (torch.tensor(s) for s in stats)
    out, mean, invstd = lucid.native_batch_norm(x, w, b, rm, rv, training, 0.2, 1e-5)
    tout, tmean, tinvstd = torch.native_batch_norm(tx, tw, tb, trm, trv, training, 0.2, 1e-5)
    for a, t in ((out, tout), (mean, tmean), (invstd, tinvstd), (rm, trm), (rv, trv)):
        assert a.shape == tuple(t.shape) and a.dtype == lucid.float64
        close(a, t)
    assert not mean.requires_grad
    g = rng.standard_normal((4, 3, 5))
    for a, t in zip(grads([out], [x, w, b], [lucid.tensor(g, device=device)]), grads([tout], [tx, tw, tb],
                                                                                         [torch.tensor(g)])):
        close(a, t)


def test_native_batch_norm_without_running_stats(device, rng):
    x, tx = pair(rng, device, 6, 2)
    out, mean, invstd = lucid.native_batch_norm(x, None, None, None, None, True, 0.1, 1e-5)
    tout, tmean, tinvstd = torch.native_batch_norm(tx, None, None, None, None, True, 0.1, 1e-5)
    for a, t in ((out, tout), (mean, tmean), (invstd, tinvstd)):
        close(a, t)
    with pytest.raises(RuntimeError, match="running_mean and running_var"):  # PyTorch crashes here
        lucid.native_batch_norm(x, None, None, None, None, False, 0.1, 1e-5)


def test_native_group_norm(device, rng):
    (x, tx), (w, tw), (b, tb) = pair(rng, device, 2, 6, 4), pair(rng, device, 6), pair(rng, device, 6)
    outs = lucid.native_group_norm(x, w, b, 2, 6, 4, 3, 1e-5)
    touts = torch.native_group_norm(tx, tw, tb, 2, 6, 4, 3, 1e-5)
    for a, t in zip(outs, touts):
        assert a.shape == tuple(t.shape) and a.requires_grad
        close(a, t)
    ws = [rng.standard_normal(tuple(t.shape)) for t in touts]  # mean and rstd are differentiable too
    for a, t in zip(grads(outs, [x, w, b], [lucid.tensor(v, device=device) for v in ws]),
                    grads(touts, [tx, tw, tb], [torch.tensor(v) for v in ws])):
        close(a, t)
    with pytest.raises(ValueError, match="do not describe"):
        lucid.native_group_norm(x, w, b, 2, 6, 5, 3, 1e-5)


def test_norm_except_dim(device, rng):
    x, tx = pair(rng, device, 4, 3, 5)
    for p, dim in ((2, 0), (2, 1), (3, 2), (2, -1)):
        out, tout = lucid.norm_except_dim(x, p, dim), torch.norm_except_dim(tx, p, dim)
        assert out.shape == tuple(tout.shape)
        close(out, tout)
        close(lucid.autograd.grad(out.sum(), x)[0], torch.autograd.grad(tout.sum(), tx)[0])


def test_native_norm_is_sparse_only(device):
    dense = [[0.0, 1.5, 0.0], [-2.0, 0.0, 3.0]]
    s = lucid.tensor(dense, device=device).to_sparse()
    ts = torch.tensor(dense).to_sparse()
    for args in ((), (3,), (2, [0, 1], False, None)):
        close(lucid.native_norm(s, *args), torch.native_norm(ts, *args), rtol=1e-6)
    with pytest.raises(RuntimeError, match="full reductions"):
        lucid.native_norm(s, 2, [1], False, None)
    for keepdim, dtype in ((True, None), (False, lucid.float64)):
        with pytest.raises(RuntimeError, match="neither keepdim"):
            lucid.native_norm(s, 2, [0, 1], keepdim, dtype)
    with pytest.raises(NotImplementedError, match="sparse"):
        lucid.native_norm(lucid.tensor(dense, device=device))


def test_native_channel_shuffle(device):
    x = lucid.arange(24.0, device=device).reshape(2, 6, 2)
    expected = torch.native_channel_shuffle(torch.arange(24.0).reshape(2, 6, 2), 3)
    close(lucid.native_channel_shuffle(x, 3), expected)
    close(F.native_channel_shuffle(x, 3), expected)


# ---- dropouts ----------------------------------------------------------------------------------------------------
def test_native_dropout(device, rng):
    x, _ = pair(rng, device, 40, 30)
    lucid.manual_seed(0)
    out, mask = lucid.native_dropout(x, 0.3, True)
    assert mask.dtype == lucid.bool_ and mask.shape == x.shape and 0.6 < host(mask).mean() < 0.8
    np.testing.assert_allclose(host(out), host(x) * host(mask) / 0.7)
    np.testing.assert_allclose(host(lucid.autograd.grad(out.sum(), x)[0]), host(mask) / 0.7)
    out, mask = lucid.native_dropout(x, 0.3, False)  # a copy and an all-True mask, as torch
    assert out is not x and host(mask).all()
    np.testing.assert_array_equal(host(out), host(x))
    out, mask = lucid.native_dropout(x, 1.0, None)  # train=None drops; p=1 zeros everything
    tout, tmask = torch.native_dropout(torch.ones(2), 1.0, None)
    assert not host(mask).any() and not tmask.any()
    np.testing.assert_array_equal(host(out), 0.0)


def test_feature_dropout(device):
    lucid.manual_seed(1)
    x = lucid.ones(8, 6, 5, device=device)
    out = host(lucid.feature_dropout(x, 0.5, True))
    assert set(np.unique(out)) <= {0.0, 2.0} and (out == out[..., :1]).all()  # whole maps dropped
    assert lucid.feature_dropout(x, 0.5, False) is x
    y = x.clone()
    assert lucid.feature_dropout_(y, 0.5, True) is y and set(np.unique(host(y))) <= {0.0, 2.0}
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        lucid.feature_dropout(lucid.ones(3, device=device), 0.5, True)


# ---- SyncBatchNorm's kernels -------------------------------------------------------------------------------------
def _flat(t):
    return t.transpose(0, 1).reshape(t.shape[1], -1)


def test_batch_norm_stats_elemt_and_backward_match_batch_norm(device, rng):
    """The kernels of one process compose to ``F.batch_norm`` in training and its gradients (torch's)."""
    (x, tx), (w, tw), (b, tb) = pair(rng, device, 4, 3, 5), pair(rng, device, 3), pair(rng, device, 3)
    mean, invstd = lucid.batch_norm_stats(x, 1e-5)
    close(mean, _flat(tx).mean(1))
    close(invstd, (_flat(tx).var(1, unbiased=False) + 1e-5).rsqrt())
    out = lucid.batch_norm_elemt(x, w, b, mean, invstd, 1e-5)
    tout = torch.nn.functional.batch_norm(tx, None, None, tw, tb, True, 0.1, 1e-5)
    close(out, tout)
    g = rng.standard_normal((4, 3, 5))
    tgx, tgw, tgb = torch.autograd.grad(tout, [tx, tw, tb], torch.tensor(g))
    dy = lucid.tensor(g, device=device)
    sum_dy, sum_dy_xmu, gw, gb = lucid.batch_norm_backward_reduce(dy, x, mean, invstd, w, True, True, True)
    close(gw, tgw)
    close(gb, tgb)
    count = lucid.tensor([20], dtype=lucid.int32, device=device)
    close(lucid.batch_norm_backward_elemt(dy, x, mean, invstd, w, sum_dy, sum_dy_xmu, count), tgx)
    assert lucid.batch_norm_backward_reduce(dy, x, mean, invstd, w, False, True, False)[::3] == (None, None)


def test_batch_norm_gather_stats_merges_processes(device, rng):
    """Two processes' statistics gathered equal the statistics of their concatenated batches, and the running
    statistics move as ``F.batch_norm``'s (torch's) on that whole batch."""
    (x, _), (y, _) = pair(rng, device, 3, 2, 4, grad=False), pair(rng, device, 5, 2, 4, grad=False)
    stats = [lucid.batch_norm_stats(t, 1e-5) for t in (x, y)]
    means, invstds = (lucid.stack(list(s), 0) for s in zip(*stats))
    whole = torch.tensor(np.concatenate([host(x), host(y)]))
    trm, trv = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    torch.nn.functional.batch_norm(whole, trm, trv, None, None, True, 0.1, 1e-5)
    rm, rv = lucid.zeros(2, dtype=lucid.float64, device=device), lucid.ones(2, dtype=lucid.float64, device=device)
    counts = lucid.tensor([12.0, 20.0], dtype=lucid.float64, device=device)
    mean, invstd = lucid.batch_norm_gather_stats_with_counts(x, means, invstds, rm, rv, 0.1, 1e-5, counts)
    close(mean, _flat(whole).mean(1))
    close(invstd, (_flat(whole).var(1, unbiased=False) + 1e-5).rsqrt())
    close(rm, trm)
    close(rv, trv)
    same = lucid.batch_norm_gather_stats(x, means[:1].expand(2, 2), invstds[:1].expand(2, 2), None, None, 0.1, 1e-5,
                                         12)
    close(same[0], torch.tensor(host(stats[0][0])))
    close(same[1], torch.tensor(host(stats[0][1])))


def test_batch_norm_update_stats(device, rng):
    x, tx = pair(rng, device, 4, 3, 5)
    rm, rv = lucid.zeros(3, dtype=lucid.float64, device=device), lucid.ones(3, dtype=lucid.float64, device=device)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    outs, touts = lucid.batch_norm_update_stats(x, rm, rv, 0.1), torch.batch_norm_update_stats(tx, trm, trv, 0.1)
    for a, t in zip(outs + (rm, rv), touts + (trm, trv)):
        close(a, t)
    assert not outs[0].requires_grad
    mean, var = lucid.batch_norm_update_stats(x, None, None, 0.1)
    close(var, touts[1])


# ---- embedding_bag, conv_tbc, segment_reduce -------------------------------------------------------------------
@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize(("include_last_offset", "padding_idx"), [(False, None), (True, None), (False, 2)])
def test_embedding_bag_tuple(device, rng, mode, include_last_offset, padding_idx):
    weight, tweight = pair(rng, device, 10, 3)
    idx = [1, 2, 4, 5, 4, 3, 2, 9]
    offs = [0, 2, 2, 5] + ([8] if include_last_offset else [])
    outs = lucid.embedding_bag(weight, lucid.tensor(idx, device=device), lucid.tensor(offs, device=device), False,
                               mode, False, None, include_last_offset, padding_idx)
    touts = torch.embedding_bag(tweight, torch.tensor(idx), torch.tensor(offs), False, mode, False, None,
                                include_last_offset, padding_idx)
    close(outs[0], touts[0])
    for a, t in zip(outs[1:], touts[1:]):
        assert a.dtype == lucid.int64 and a.shape == tuple(t.shape)
        np.testing.assert_array_equal(host(a), t.numpy())
    g = rng.standard_normal(tuple(touts[0].shape))
    close(grads([outs[0]], [weight], [lucid.tensor(g, device=device)])[0], grads([touts[0]], [tweight],
                                                                               [torch.tensor(g)])[0])


def test_conv_tbc(device, rng):
    (x, tx), (w, tw), (b, tb) = pair(rng, device, 6, 2, 3), pair(rng, device, 3, 3, 4), pair(rng, device, 4)
    for pad in (0, 1):
        out, tout = lucid.conv_tbc(x, w, b, pad), torch.conv_tbc(tx, tw, tb, pad)
        assert out.shape == tuple(tout.shape)
        close(out, tout)
        g = rng.standard_normal(tuple(tout.shape))
        for a, t in zip(grads([out], [x, w, b], [lucid.tensor(g, device=device)]),
                        grads([tout], [tx, tw, tb], [torch.tensor(g)])):
            close(a, t)
    close(F.conv_tbc(x, w, b), torch.conv_tbc(tx, tw, tb))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("initial", [None, 1.5])
def test_segment_reduce(device, reduce, initial):
    data = [1.0, 3.0, 3.0, 5.0, 5.0, 4.0, 0.0]  # ties within a segment and a zero in a product
    x = lucid.tensor(data, dtype=lucid.float64, device=device, requires_grad=True)
    tx = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    lengths, offsets = [2, 0, 3, 2], [0, 2, 2, 5, 7]
    out = lucid.segment_reduce(x, reduce, lengths=lucid.tensor(lengths, device=device), initial=initial)
    tout = torch.segment_reduce(tx, reduce, lengths=torch.tensor(lengths), initial=initial)
    close(out, tout)
    close(lucid.segment_reduce(x, reduce, offsets=lucid.tensor(offsets, device=device), initial=initial), tout)
    finite = np.isfinite(tout.detach().numpy())
    g = np.where(finite, np.arange(1.0, 5.0), 0.0)
    close(lucid.autograd.grad(out, x, lucid.tensor(g, device=device))[0], torch.autograd.grad(tout, tx,
                                                                                              torch.tensor(g))[0])


def test_segment_reduce_along_an_axis_with_batched_lengths(device, rng):
    x, tx = pair(rng, device, 2, 6, 3)
    lengths = [[2, 4], [3, 3]]
    out = lucid.segment_reduce(x, "max", lengths=lucid.tensor(lengths, device=device), axis=1)
    tout = torch.segment_reduce(tx, "max", lengths=torch.tensor(lengths), axis=1)
    close(out, tout)
    close(lucid.autograd.grad(out.sum(), x)[0], torch.autograd.grad(tout.sum(), tx)[0])


def test_segment_reduce_errors(device):
    x = lucid.ones(4, device=device)
    with pytest.raises(RuntimeError, match="data.shape"):  # lengths must be batched like the axes before axis
        lucid.segment_reduce(lucid.ones(2, 4, device=device), "sum", lengths=lucid.tensor([1, 3], device=device),
                             axis=1)
    with pytest.raises(ValueError, match="reduce must be one of"):
        lucid.segment_reduce(x, "median", lengths=lucid.tensor([4], device=device))
    with pytest.raises(NotImplementedError, match="floating"):
        lucid.segment_reduce(lucid.ones(4, dtype=lucid.int64, device=device), "sum",
                             lengths=lucid.tensor([4], device=device))
    if x.device.host:  # the lengths are read back on host devices only
        with pytest.raises(RuntimeError, match="sum to the size"):
            lucid.segment_reduce(x, "sum", lengths=lucid.tensor([1, 2], device=device))


# ---- multi-layer recurrences on flat weights -------------------------------------------------------------------
RECURRENCES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def _weights(rng, device, gates, layers, directions, inputs, hidden, biases, proj=0):
    lucid_params, torch_params = [], []
    out = proj or hidden
    for layer in range(layers):
        for _ in range(directions):
            shapes = [(gates * hidden, inputs if layer == 0 else out * directions), (gates * hidden, out)]
            shapes += [(gates * hidden,)] * 2 if biases else []
            shapes += [(proj, hidden)] if proj else []
            for shape in shapes:
                a, t = pair(rng, device, *shape)
                lucid_params.append(a * 0.5)
                torch_params.append(t * 0.5)
    return lucid_params, torch_params


@pytest.mark.parametrize("name", list(RECURRENCES))
@pytest.mark.parametrize(("layers", "bidirectional", "biases", "batch_first"),
                         [(1, False, True, False), (2, True, True, True), (2, False, False, False)])
def test_recurrences_match_torch(device, rng, name, layers, bidirectional, biases, batch_first):
    directions = 2 if bidirectional else 1
    x, tx = pair(rng, device, *((2, 4, 3) if batch_first else (4, 2, 3)))
    params, tparams = _weights(rng, device, RECURRENCES[name], layers, directions, 3, 5, biases)
    (h, th), (c, tc) = (pair(rng, device, layers * directions, 2, 5) for _ in range(2))
    hx, thx = ((h, c), (th, tc)) if name == "lstm" else (h, th)
    args = (biases, layers, 0.0, True, bidirectional, batch_first)
    outs, touts = getattr(lucid, name)(x, hx, params, *args), getattr(torch, name)(tx, thx, tparams, *args)
    assert len(outs) == len(touts)
    for a, t in zip(outs, touts):
        assert a.shape == tuple(t.shape)
        close(a, t)
    leaves, tleaves = [x, h, *params], [tx, th, *tparams]
    ws = [rng.standard_normal(tuple(t.shape)) for t in touts]
    for a, t in zip(grads(outs, leaves, [lucid.tensor(v, device=device) for v in ws]),
                    grads(touts, tleaves, [torch.tensor(v) for v in ws])):
        close(a, t)


def test_lstm_with_projection(device, rng):
    x, tx = pair(rng, device, 4, 2, 3)
    params, tparams = _weights(rng, device, 4, 2, 1, 3, 5, True, proj=2)
    (h, th), (c, tc) = pair(rng, device, 2, 2, 2), pair(rng, device, 2, 2, 5)
    outs = lucid.lstm(x, (h, c), params, True, 2, 0.0, False, False, False)
    touts = torch.lstm(tx, (th, tc), tparams, True, 2, 0.0, False, False, False)
    for a, t in zip(outs, touts):
        close(a, t)


def test_recurrence_dropout_between_layers_and_errors(device, rng):
    x, _ = pair(rng, device, 4, 2, 3)
    params, _ = _weights(rng, device, 3, 2, 1, 3, 5, True)
    h = lucid.zeros(2, 2, 5, dtype=lucid.float64, device=device)
    plain = lucid.gru(x, h, params, True, 2, 0.5, False, False, False)[0]
    lucid.manual_seed(0)
    dropped = lucid.gru(x, h, params, True, 2, 0.5, True, False, False)[0]
    assert not np.allclose(host(plain), host(dropped))
    with pytest.raises(ValueError, match="weights per layer"):
        lucid.gru(x, h, params[:-1], True, 2, 0.0, False, False, False)
    with pytest.raises(ValueError, match="hidden states"):
        lucid.gru(x, h[:1], params, True, 2, 0.0, False, False, False)


def test_embedding_bag_fast_path_and_index_dtype(device):
    """PyTorch's sum fast path (float32 weights, no padding_idx) leaves offset2bag empty; the bookkeeping
    takes the indices' dtype."""
    weight = lucid.ones(10, 3, device=device)
    idx, offs = [1, 2, 4, 5], [0, 1]
    for dtype, tdtype in ((lucid.int32, torch.int32), (lucid.int64, torch.int64)):
        for mode in (0, 1):
            outs = lucid.embedding_bag(weight, lucid.tensor(idx, dtype=dtype, device=device),
                                       lucid.tensor(offs, dtype=dtype, device=device), False, mode)
            touts = torch.embedding_bag(torch.ones(10, 3), torch.tensor(idx, dtype=tdtype),
                                        torch.tensor(offs, dtype=tdtype), False, mode)
            for a, t in zip(outs[1:], touts[1:]):
                assert a.dtype == dtype and a.shape == tuple(t.shape)
                np.testing.assert_array_equal(host(a), t.numpy())
