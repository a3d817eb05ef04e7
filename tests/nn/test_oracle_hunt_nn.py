"""Differences from PyTorch found by comparing lucid.nn with it, each pinned by a test: CTC with every target
empty, the ``bias=False`` keyword of the batch, instance and group norms (PyTorch 2.13) and the reprs of
conv, padding, pooling, activation, RNN-cell, embedding and normalization layers."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.autograd import gradcheck


def make(arr, device, grad=False):
    arr = np.asarray(arr)
    return lucid.tensor(arr, dtype=lucid.float64 if arr.dtype.kind == "f" else None, device=device,
                        requires_grad=grad)


def host(t):
    return t.detach().numpy(force=True)


# ---- ctc_loss: a batch whose targets are all empty ----------------------------------------------------
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_ctc_all_targets_empty_backward(device, rng, reduction):
    """All target lengths 0 (a padded target of width 0): the one-state lattice's backward used to raise a
    broadcast error; now loss and gradient are PyTorch's (through a log_softmax, as PyTorch's gradient is)."""
    torch = pytest.importorskip("torch")
    logits = rng.standard_normal((6, 3, 4))
    x = make(logits, device, grad=True)
    y = F.ctc_loss(F.log_softmax(x, 2), make(np.zeros((3, 0), dtype=np.int64), device), [6, 5, 3], [0, 0, 0],
                   reduction=reduction)
    tx = torch.tensor(logits, requires_grad=True)
    ty = torch.nn.functional.ctc_loss(tx.log_softmax(2), torch.zeros((3, 0), dtype=torch.long), (6, 5, 3),
                                      (0, 0, 0), reduction=reduction)
    np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-10)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_ctc_all_targets_empty_gradcheck(device, rng):
    lp = make(np.log(rng.dirichlet(np.ones(3), size=(4, 2))), device, grad=True)
    empty = make(np.zeros((2, 0), dtype=np.int64), device)
    assert gradcheck(lambda a: F.ctc_loss(a, empty, [4, 2], [0, 0], reduction="none"), (lp,))


# ---- bias=False in the batch, instance and group norms ------------------------------------------------
NO_BIAS = [
    ("BatchNorm1d", (3,), {}, (4, 3, 5)),
    ("BatchNorm2d", (3,), {"momentum": None}, (4, 3, 2, 3)),
    ("InstanceNorm1d", (3,), {"affine": True, "track_running_stats": True}, (2, 3, 5)),
    ("GroupNorm", (1, 3), {}, (2, 3, 4)),
    ("SyncBatchNorm", (3,), {}, (4, 3, 2)),
]


@pytest.mark.parametrize("name, args, kwargs, shape", NO_BIAS, ids=[c[0] for c in NO_BIAS])
def test_norm_bias_false_matches_torch(device, rng, name, args, kwargs, shape):
    """``bias=False`` (keyword-only, PyTorch 2.13): a weight and no bias, the same state_dict keys and repr,
    and outputs, gradients and running statistics equal to PyTorch's over two training steps."""
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(*args, bias=False, **kwargs).double()
    with torch.no_grad():
        theirs.weight.normal_()
    ours = getattr(nn, name)(*args, bias=False, **kwargs)
    assert ours.bias is None and repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.to(device=device, dtype=lucid.float64)
    ours.load_state_dict({k: make(v.detach().numpy(), device) for k, v in theirs.state_dict().items()})
    for _ in range(2):
        data = rng.standard_normal(shape)
        x, tx = make(data, device, grad=True), torch.tensor(data, requires_grad=True)
        y, ty = ours(x), theirs(tx)
        np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        w = rng.standard_normal(shape)
        (y * make(w, device)).sum().backward()
        (ty * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(host(ours.weight.grad), theirs.weight.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (key, mine), ref in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(host(mine), ref.numpy(), rtol=1e-10, err_msg=key)


def test_norm_bias_false_gradcheck(device, rng):
    for module, shape in ((nn.BatchNorm1d(3, bias=False), (4, 3)), (nn.GroupNorm(3, 3, bias=False), (2, 3, 2)),
                          (nn.InstanceNorm1d(3, affine=True, bias=False), (2, 3, 4))):
        module.to(device=device, dtype=lucid.float64)
        x = make(rng.standard_normal(shape), device, grad=True)
        weight = make(rng.standard_normal(3), device, grad=True)

        def call(a, w, module=module):
            saved, module._parameters["weight"] = module._parameters["weight"], w
            try:
                return module(a)
            finally:
                module._parameters["weight"] = saved

        assert gradcheck(call, (x, weight))


def test_lazy_norm_and_sync_conversion_keep_bias_false(device):
    torch = pytest.importorskip("torch")
    lazy = nn.LazyBatchNorm1d(bias=False).to(device)
    lazy(lucid.randn(4, 3, device=device))
    theirs = torch.nn.LazyBatchNorm1d(bias=False)
    theirs(torch.randn(4, 3))
    assert repr(lazy) == repr(theirs) and list(lazy.state_dict()) == list(theirs.state_dict())
    lazy_in = nn.LazyInstanceNorm1d(affine=True, bias=False).to(device)
    lazy_in(lucid.randn(2, 3, 4, device=device))
    assert lazy_in.bias is None and lazy_in.weight.shape == (3,)
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm1d(3, bias=False)))
    assert isinstance(converted[0], nn.SyncBatchNorm) and converted[0].bias is None
    assert list(converted.state_dict()) == ["0.weight", "0.running_mean", "0.running_var", "0.num_batches_tracked"]


def test_fuse_linear_bn_without_bias(device, rng):
    """A BatchNorm with ``bias=False`` (or ``affine=False``) folds into the Linear before it."""
    from lucid.nn.utils.fusion import fuse_linear_bn_eval

    for bn in (nn.BatchNorm1d(4, bias=False), nn.BatchNorm1d(4, affine=False)):
        linear = nn.Linear(3, 4).to(device=device, dtype=lucid.float64).eval()
        bn = bn.to(device=device, dtype=lucid.float64)
        bn(make(rng.standard_normal((8, 4)), device))  # running statistics off their initial values
        bn.eval()
        x = make(rng.standard_normal((5, 3)), device)
        np.testing.assert_allclose(host(fuse_linear_bn_eval(linear, bn)(x)), host(bn(linear(x))), rtol=1e-10)


# ---- reprs ----------------------------------------------------------------------------------------------
REPRS = [
    ("Conv2d", (2, 4, 3), {"padding": "same", "groups": 2, "bias": False, "padding_mode": "reflect"}),
    ("Conv1d", (2, 4, 3), {"stride": 2, "padding": "valid"}),
    ("ConvTranspose1d", (2, 4, 3), {"padding_mode": "zeros", "output_padding": 1, "stride": 2}),
    ("ConstantPad2d", (1, 0.0), {}),
    ("ConstantPad1d", ((2, 3), -1.5), {}),
    ("ZeroPad2d", (1,), {}),
    ("ReflectionPad1d", ((1, 2),), {}),
    ("AvgPool1d", (3, 2, 1), {}),
    ("AvgPool2d", (3,), {}),
    ("MaxUnpool1d", (2,), {}),
    ("MaxUnpool3d", (2, 1), {}),
    ("Hardswish", (True,), {}),
    ("Hardsigmoid", (), {}),
    ("Softshrink", (0.7,), {}),
    ("Hardshrink", (), {}),
    ("RNNCell", (3, 4), {"nonlinearity": "relu", "bias": False}),
    ("GRUCell", (3, 4), {}),
    ("Embedding", (4, 3), {"padding_idx": 1, "sparse": True}),
    ("EmbeddingBag", (4, 3), {"max_norm": 2.0, "mode": "sum", "padding_idx": 1}),
    ("LayerNorm", ((3, 4),), {"bias": False}),
    ("LayerNorm", (4,), {"elementwise_affine": False}),
    ("GroupNorm", (2, 4), {}),
    ("BatchNorm2d", (4,), {"affine": False}),
    ("InstanceNorm3d", (4,), {}),
    ("MultiheadAttention", (8, 2), {"batch_first": True}),  # out_proj a NonDynamicallyQuantizableLinear
    ("TransformerEncoderLayer", (8, 2, 16), {"batch_first": True}),
    ("CrossEntropyLoss", (), {"label_smoothing": 0.1}),  # losses and distances print no settings
    ("BCEWithLogitsLoss", (), {"pos_weight": None, "reduction": "sum"}),
    ("TripletMarginLoss", (), {"margin": 0.5}),
    ("PairwiseDistance", (), {"p": 1.0}),
    ("CosineSimilarity", (), {"dim": 0}),
]


@pytest.mark.parametrize("name, args, kwargs", REPRS, ids=[c[0] for c in REPRS])
def test_repr_matches_torch(name, args, kwargs):
    torch = pytest.importorskip("torch")
    assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


def test_tupled_pool_sizes_still_pool(device, rng):
    """``AvgPool1d`` and ``MaxUnpool*d`` now keep tuple sizes (as PyTorch): their forward and gradient are
    unchanged, and their attributes are PyTorch's."""
    torch = pytest.importorskip("torch")
    pool = nn.AvgPool1d(3, 2, 1, count_include_pad=False)
    theirs = torch.nn.AvgPool1d(3, 2, 1, count_include_pad=False)
    assert (pool.kernel_size, pool.stride, pool.padding) == (theirs.kernel_size, theirs.stride, theirs.padding)
    data = rng.standard_normal((2, 3, 7))
    x = make(data, device, grad=True)
    np.testing.assert_allclose(host(pool(x)), theirs(torch.tensor(data)).numpy(), rtol=1e-12)
    assert gradcheck(pool, (x,))
    unpool, t_unpool = nn.MaxUnpool2d(2), torch.nn.MaxUnpool2d(2)
    assert (unpool.kernel_size, unpool.stride, unpool.padding) == (t_unpool.kernel_size, t_unpool.stride,
                                                                  t_unpool.padding)
    values, indices = torch.nn.functional.max_pool2d(torch.tensor(rng.standard_normal((1, 2, 4, 6))), 2,
                                                     return_indices=True)
    v = make(values.numpy(), device, grad=True)
    i = lucid.tensor(indices.numpy(), device=device)
    np.testing.assert_allclose(host(unpool(v, i)), t_unpool(values, indices).numpy())
    assert gradcheck(lambda a: unpool(a, i), (v,))
