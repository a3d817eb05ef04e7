"""The nnx additions against PyTorch: top-level functional forms (torch's signatures), max unpooling and
the ``*_with_indices`` pools, channel shuffle, deprecated aliases (they warn), SyncBatchNorm, NLLLoss2d,
fractional max pooling, lazy layers, AdaptiveLogSoftmaxWithLoss, DataParallel/Container and the nn.utils
extras (norms, fusion)."""

from __future__ import annotations

import numpy as np
import pytest
from test_attention import compare_with_torch, host, load_torch, make

import lucid
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.nn import utils


def _both(torch, device, *arrays):
    return ([None if a is None else make(a, device) for a in arrays],
            [None if a is None else torch.tensor(a) for a in arrays])


# ---- top-level functional forms --------------------------------------------------------------------------------
def _top_level_cases(rng):
    x4, w4 = rng.standard_normal((2, 4, 5, 5)), rng.standard_normal((3, 4, 3, 3))
    x3, v = rng.standard_normal((2, 4, 6)), rng.standard_normal(4)
    a, b = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    y = np.array([1.0, -1.0, 1.0])
    return [
        ("relu", (a,), ()), ("selu", (a,), ()), ("celu", (a,), (0.5,)), ("threshold", (a,), (0.1, 3.0)),
        ("hardshrink", (a,), (0.3,)), ("prelu", (x3, np.abs(v)), ()), ("rrelu", (a,), (0.1, 0.3, False)),
        ("dropout", (a,), (0.4, False)), ("alpha_dropout", (a,), (0.4, False)),
        ("conv2d", (x4, w4), (None, 1, 1)), ("conv1d", (x3, w4[:, :, 0]), (None, 2)),
        ("convolution", (x4, w4, v[:3]), ([1, 2], [0, 1], [1, 1], False, [0, 0], 1)),
        ("convolution", (x4, w4.transpose(1, 0, 2, 3)), (None, [2, 2], [1, 1], [1, 1], True, [1, 1], 1)),
        ("avg_pool1d", (x3,), (2, 1, 1)), ("max_pool2d", (x4,), (2,)), ("max_pool1d_with_indices", (x3,), (2,)),
        ("adaptive_avg_pool1d", (x3,), (3,)), ("adaptive_max_pool1d", (x3,), (4,)),
        ("batch_norm", (x3, v, v, v, np.abs(v) + 1), (False, 0.1, 1e-5, False)),
        ("instance_norm", (x3, v, v, None, None), (True, 0.1, 1e-5, False)),
        ("layer_norm", (x3,), ((6,),)), ("group_norm", (x3,), (2,)), ("rms_norm", (x3,), ((6,),)),
        ("embedding", (a,), ()), ("pixel_shuffle", (x4,), (2,)), ("pixel_unshuffle", (x4[:, :, :4, :4],), (2,)),
        ("channel_shuffle", (x4,), (2,)), ("cosine_similarity", (a, b), ()), ("pairwise_distance", (a, b), ()),
        ("kl_div", (a, np.abs(b)), (2,)), ("binary_cross_entropy_with_logits", (a, np.abs(b) / 3), (None, None, 0)),
        ("cosine_embedding_loss", (a, b, y), (0.1, 2)), ("hinge_embedding_loss", (a, np.sign(b)), (1.0, 1)),
        ("margin_ranking_loss", (a[:, 0], b[:, 0], y), (0.2, 0)), ("triplet_margin_loss", (a, b, a[::-1].copy()), ()),
        ("poisson_nll_loss", (a, np.abs(b)), (True, True, 1e-8, 2)),
        ("affine_grid_generator", (rng.standard_normal((2, 2, 3)),), ((2, 1, 3, 4), False)),
        ("grid_sampler", (x4, rng.uniform(-1, 1, (2, 3, 2, 2))), (1, 2, True)),
    ]


def test_top_level_functional_forms_match_torch(device, rng):
    torch = pytest.importorskip("torch")
    for name, arrays, args in _top_level_cases(rng):
        ours, theirs = _both(torch, device, *arrays)
        if name == "embedding":  # (weight, indices)
            ours, theirs = [ours[0], lucid.tensor([[0, 2], [1, 1]], device=device)], [theirs[0],
                                                                                   torch.tensor([[0, 2], [1, 1]])]
        got, want = getattr(lucid, name)(*ours, *args), getattr(torch, name)(*theirs, *args)
        got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
        for g, w in zip(got, want):
            np.testing.assert_allclose(host(g), w.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_top_level_inplace_forms_and_tensor_methods(device, rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((3, 4))
    for name, args in (("relu_", ()), ("selu_", ()), ("celu_", (0.5,)), ("threshold_", (0.1, 2.0)),
                       ("dropout_", (0.3, False))):
        ours, theirs = make(a, device), torch.tensor(a)
        assert getattr(lucid, name)(ours, *args) is ours
        getattr(torch, name)(theirs, *args)
        np.testing.assert_allclose(host(ours), theirs.numpy(), rtol=1e-12)
    ours, theirs = make(a, device), torch.tensor(a)
    np.testing.assert_allclose(host(ours.hardshrink(0.4)), theirs.hardshrink(0.4).numpy())
    slope = torch.tensor([0.2], dtype=torch.float64)
    np.testing.assert_allclose(host(ours.prelu(make([0.2], device))), theirs.prelu(slope).numpy())
    assert ours.relu_() is ours and host(ours).min() == 0.0
    with pytest.raises(TypeError):
        lucid.dropout(ours, 0.5)  # train is required, as in torch
    with pytest.raises(ValueError, match="reduction"):
        lucid.kl_div(ours, ours, 3)
    with pytest.raises(ValueError, match="interpolation_mode"):
        lucid.grid_sampler(lucid.zeros(1, 1, 2, 2), lucid.zeros(1, 1, 1, 2), 5, 0, False)


# ---- pooling with indices and unpooling ------------------------------------------------------------------------
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_unpool_matches_torch(device, rng, nd):
    torch = pytest.importorskip("torch")
    shape = (2, 3) + (5, 4, 6)[:nd]
    x = rng.standard_normal(shape)
    out, idx = getattr(F, f"max_pool{nd}d_with_indices")(make(x, device, grad=True), 2)
    t_out, t_idx = getattr(torch.nn.functional, f"max_pool{nd}d_with_indices")(torch.tensor(x), 2)
    np.testing.assert_array_equal(host(idx), t_idx.numpy())
    unpool, t_unpool = getattr(nn, f"MaxUnpool{nd}d")(2), getattr(torch.nn, f"MaxUnpool{nd}d")(2)
    np.testing.assert_array_equal(host(unpool(out, idx, output_size=shape)), t_unpool(t_out, t_idx, shape).numpy())
    default = unpool(out, idx)
    assert default.shape == t_unpool(t_out, t_idx).shape
    g = rng.standard_normal(default.shape)
    (default * make(g, device)).sum().backward()
    assert default.grad_fn is not None and np.isfinite(host(out)).all()
    unbatched = unpool(out[0], idx[0])
    np.testing.assert_array_equal(host(unbatched), host(default[0]))
    with pytest.raises(ValueError, match="within one stride"):
        unpool(out, idx, output_size=tuple(n + 5 for n in shape[2:]))
    with pytest.raises(ValueError, match="indices"):
        unpool(out, idx[:1])
    a_out, a_idx = getattr(F, f"adaptive_max_pool{nd}d_with_indices")(make(x, device), 2)
    t_a, t_ai = getattr(torch.nn.functional, f"adaptive_max_pool{nd}d_with_indices")(torch.tensor(x), 2)
    np.testing.assert_array_equal(host(a_out), t_a.numpy())
    np.testing.assert_array_equal(host(a_idx), t_ai.numpy())


def test_max_unpool_repeated_indices_match_torch(device, rng):
    """Overlapping windows name a position more than once: it holds the value (equal for all) and each entry's
    gradient is the output gradient read back there, repeats included (not only the last write's, as scatter)."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 6, 5))
    out, idx = F.max_pool2d(make(x, device), 3, stride=1, return_indices=True)
    t_out, t_idx = torch.nn.functional.max_pool2d(torch.tensor(x), 3, stride=1, return_indices=True)
    values = make(host(out), device, grad=True)
    t_values = t_out.detach().requires_grad_()
    got = F.max_unpool2d(values, idx, 3, stride=1)
    expect = torch.nn.functional.max_unpool2d(t_values, t_idx, 3, stride=1)
    np.testing.assert_array_equal(host(got), expect.detach().numpy())
    g = rng.standard_normal(tuple(expect.shape))
    (got * make(g, device)).sum().backward()
    (expect * torch.tensor(g)).sum().backward()
    assert len(np.unique(t_idx.numpy())) < t_idx.numel()  # the case has repeats
    np.testing.assert_allclose(host(values.grad), t_values.grad.numpy(), rtol=1e-12)


def test_channel_shuffle(device, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 6, 3))
    np.testing.assert_array_equal(host(nn.ChannelShuffle(3)(make(x, device))),
                                  torch.nn.ChannelShuffle(3)(torch.tensor(x)).numpy())
    assert repr(nn.ChannelShuffle(3)) == "ChannelShuffle(groups=3)"
    with pytest.raises(ValueError, match="divisible"):
        F.channel_shuffle(make(x, device), 4)


# ---- deprecated aliases ----------------------------------------------------------------------------------------
def test_deprecated_aliases_warn_and_match(device, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2, 3, 4))
    for name, kwargs in (("upsample", {"scale_factor": 2, "mode": "bilinear"}), ("upsample_nearest", {"size": 5}),
                         ("upsample_bilinear", {"scale_factor": 2})):
        with pytest.warns(UserWarning, match="interpolate"):
            got = getattr(F, name)(make(x, device), **kwargs)
        with pytest.warns(UserWarning):  # torch's own warning
            want = getattr(torch.nn.functional, name)(torch.tensor(x), **kwargs)
        np.testing.assert_allclose(host(got), want.numpy(), rtol=1e-12)
    w = lucid.empty(3, 4)
    with pytest.warns(FutureWarning, match="nn.init.constant_"):
        assert nn.init.constant(w, 0.25) is w
    assert (host(w) == 0.25).all()
    with pytest.warns(UserWarning, match="Container is deprecated"):
        box = nn.Container(a=nn.Linear(2, 2))
    assert [n for n, _ in box.named_children()] == ["a"]


# ---- normalisation and losses -----------------------------------------------------------------------------------
def test_sync_batchnorm_is_batchnorm_and_converts(device, rng):
    x = make(rng.standard_normal((4, 3, 2, 5)), device)
    plain = nn.BatchNorm2d(3, device=device, dtype=lucid.float64)
    model = nn.Sequential(nn.Conv2d(3, 3, 1), nn.Sequential(plain))
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model, process_group="group")
    sync = converted[1][0]
    assert isinstance(sync, nn.SyncBatchNorm) and sync.weight is plain.weight
    assert sync.running_mean is plain.running_mean and sync.process_group == "group"
    reference = nn.BatchNorm2d(3, device=device, dtype=lucid.float64)
    np.testing.assert_allclose(host(sync(x)), host(reference(x)), rtol=1e-12)
    np.testing.assert_allclose(host(plain.running_var), host(reference.running_var), rtol=1e-12)
    assert sync(make(rng.standard_normal((4, 3)), device)).shape == (4, 3)  # any (N, C, *)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        sync(make(rng.standard_normal(3), device))


def test_nll_loss_2d(device, rng):
    x = make(rng.standard_normal((2, 3, 2, 2)), device)
    t = lucid.tensor(rng.integers(0, 3, (2, 2, 2)), device=device)
    assert isinstance(nn.NLLLoss2d(), nn.NLLLoss)
    np.testing.assert_allclose(host(nn.NLLLoss2d()(x, t)), host(nn.NLLLoss()(x, t)))


def test_adaptive_log_softmax_matches_torch(device, rng):
    torch = pytest.importorskip("torch")
    ours = nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4, 10, 15], div_value=2.0, head_bias=True)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4, 10, 15], div_value=2.0, head_bias=True)
    load_torch(ours, theirs, device)
    x = rng.standard_normal((6, 8))
    target = [0, 5, 12, 19, 3, 16]
    lx, tx = make(x, device, grad=True), torch.tensor(x, requires_grad=True)
    out, t_out = ours(lx, lucid.tensor(target, device=device)), theirs(tx, torch.tensor(target))
    np.testing.assert_allclose(host(out.output), t_out.output.detach().numpy(), rtol=1e-10)
    out.loss.backward()
    t_out.loss.backward()
    np.testing.assert_allclose(host(lx.grad), tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(host(ours.get_parameter(name).grad), p.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(host(ours.log_prob(make(x, device))), theirs.log_prob(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10)
    np.testing.assert_array_equal(host(ours.predict(make(x, device))), theirs.predict(torch.tensor(x)).numpy())
    single = ours(make(x[1], device), lucid.tensor(5, device=device))
    assert single.output.shape == () and np.isclose(host(single.output), host(out.output)[1])
    with pytest.raises(RuntimeError, match="should be in"):
        ours(make(x, device), lucid.tensor([0, 1, 2, 3, 4, 20], device=device))
    with pytest.raises(ValueError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 20, [10, 4])


# ---- lazy layers --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, args, shape", [
    ("LazyLinear", (3,), (4, 5)), ("LazyConv1d", (4, 3), (2, 6, 7)), ("LazyConv2d", (4, 3), (6, 5, 5)),
    ("LazyConv3d", (2, 2), (1, 3, 3, 3, 3)), ("LazyConvTranspose1d", (4, 3), (2, 6, 5)),
    ("LazyConvTranspose2d", (4, 3), (1, 6, 3, 3)), ("LazyConvTranspose3d", (2, 2), (1, 2, 2, 2, 2)),
    ("LazyBatchNorm1d", (), (4, 3)), ("LazyBatchNorm2d", (), (2, 3, 2, 2)), ("LazyBatchNorm3d", (), (2, 3, 1, 2, 2)),
    ("LazyInstanceNorm1d", (), (2, 3, 5)), ("LazyInstanceNorm2d", (), (2, 3, 2, 2)),
    ("LazyInstanceNorm3d", (), (2, 3, 1, 2, 2)),
])
def test_lazy_layers_become_their_eager_layer(device, rng, name, args, shape):
    torch = pytest.importorskip("torch")
    kwargs = {"affine": True, "track_running_stats": True} if "Instance" in name else {}
    ours, theirs = getattr(nn, name)(*args, device=device, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    params = list(ours.parameters())
    assert params and all(isinstance(p, nn.UninitializedParameter) for p in params)
    ours(lucid.zeros(*shape, device=device))
    theirs(torch.zeros(shape))
    assert type(ours).__name__ == type(theirs).__name__ == name[4:]
    assert [p is q for p, q in zip(params, ours.parameters())] == [True] * len(params)  # same objects, materialised
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert not any(isinstance(p, nn.UninitializedParameter) for p in ours.parameters())
    assert all(p.device == lucid.device(device) for p in ours.parameters())
    load_torch(ours, theirs, device)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    compare_with_torch(torch, ours, theirs, [make(x, device, grad=True)], [torch.tensor(x, requires_grad=True)], rng)


def test_lazy_linear_initialises_and_trains(device, rng):
    lucid.manual_seed(0)
    layer = nn.LazyLinear(3, device=device)
    assert repr(nn.UninitializedParameter()) == "<UninitializedParameter>"
    layer(lucid.zeros(2, 400, device=device))
    w = host(layer.weight).copy()
    assert type(layer) is nn.Linear and layer.in_features == 400
    assert 0.04 < np.abs(w).max() <= 0.05  # U(-1/sqrt(400), 1/sqrt(400)), as Linear
    opt = lucid.optim.SGD(layer.parameters(), lr=0.1)  # built after the dry run, as PyTorch asks
    layer(lucid.ones(2, 400, device=device)).sum().backward()
    opt.step()
    assert not np.allclose(host(layer.weight), w)
    buffer = nn.UninitializedBuffer(device=device)
    buffer.materialize((2, 3))
    assert type(buffer) is nn.Buffer and buffer.shape == (2, 3)


def test_lazy_layer_loads_a_state_dict_before_its_first_forward(device, rng):
    source = nn.Sequential(nn.Linear(5, 3), nn.BatchNorm1d(3)).to(device)
    lazy = nn.Sequential(nn.LazyLinear(3), nn.LazyBatchNorm1d()).to(device)
    lazy.load_state_dict(source.state_dict())
    assert lazy[0].weight.shape == (3, 5) and type(lazy[0]).__name__ == "LazyLinear"
    x = lucid.randn(4, 5, device=device)
    np.testing.assert_allclose(host(lazy(x)), host(source(x)), rtol=1e-6)  # the loaded values, not re-drawn
    assert type(lazy[0]) is nn.Linear and lazy[0].in_features == 5


def test_lazy_instance_norm_unbatched(device):
    """PyTorch reads num_features from dim 1 even of unbatched input (then fails); lucid reads the channels."""
    norm = nn.LazyInstanceNorm1d(affine=True, device=device)
    assert norm(lucid.randn(3, 5, device=device)).shape == (3, 5) and norm.num_features == 3


def test_lazy_conv_rejects_channels_groups_mismatch(device):
    conv = nn.LazyConv2d(4, 3, groups=2)
    with pytest.raises(ValueError, match="divisible by groups"):
        conv(lucid.zeros(1, 3, 5, 5))


# ---- DataParallel --------------------------------------------------------------------------------------------------
def test_data_parallel_passthrough(device, rng):
    inner = nn.Linear(3, 2, device=device)
    model = nn.DataParallel(inner, device_ids=[0])
    x = lucid.randn(4, 3, device=device)
    np.testing.assert_array_equal(host(model(x)), host(inner(x)))
    assert list(model.state_dict()) == ["module.weight", "module.bias"] and model.module is inner


# ---- nn.utils extras -----------------------------------------------------------------------------------------------
def test_total_norm_and_clipping_match_torch(device, rng):
    torch = pytest.importorskip("torch")
    grads = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    for norm_type in (2.0, 1.0, float("inf")):
        got = utils.get_total_norm([make(g, device) for g in grads], norm_type)
        want = torch.nn.utils.get_total_norm([torch.tensor(g) for g in grads], norm_type)
        np.testing.assert_allclose(host(got), want.numpy(), rtol=1e-12)
    ours = [nn.Parameter(make(g, device)) for g in grads]
    theirs = [torch.nn.Parameter(torch.tensor(g)) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = make(g, device), torch.tensor(g)
    total = utils.get_total_norm([p.grad for p in ours])
    utils.clip_grads_with_norm_(ours, 0.5, total)
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.5, torch.nn.utils.get_total_norm([q.grad for q in theirs]))
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(host(p.grad), q.grad.numpy(), rtol=1e-12)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        utils.clip_grad_norm(ours, 0.1)
    bad = [make([float("nan")], device)]
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.get_total_norm(bad, error_if_nonfinite=True)


def test_fusion_matches_torch(device, rng):
    torch = pytest.importorskip("torch")
    for transpose in (False, True):
        conv_cls = "ConvTranspose2d" if transpose else "Conv2d"
        ours = [getattr(nn, conv_cls)(2, 3, 2), nn.BatchNorm2d(3)]
        theirs = [getattr(torch.nn, conv_cls)(2, 3, 2), torch.nn.BatchNorm2d(3)]
        with torch.no_grad():
            theirs[1].running_mean.normal_()
            theirs[1].running_var.uniform_(0.5, 2)
            theirs[1].weight.normal_()
        for o, t in zip(ours, theirs):
            load_torch(o, t, device)
            o.eval()
            t.eval()
        fused = utils.fuse_conv_bn_eval(*ours, transpose=transpose)
        t_fused = torch.nn.utils.fuse_conv_bn_eval(*theirs, transpose=transpose)
        assert fused is not ours[0] and isinstance(fused.weight, nn.Parameter)
        np.testing.assert_allclose(host(fused.weight), t_fused.weight.detach().numpy(), rtol=1e-10)
        x = rng.standard_normal((1, 2, 4, 4))
        np.testing.assert_allclose(host(fused(make(x, device))), host(ours[1](ours[0](make(x, device)))), rtol=1e-9)
    linear, bn = nn.Linear(3, 4, device=device), nn.BatchNorm1d(4, device=device)
    bn.running_mean.copy_(lucid.randn(4, device=device))
    with pytest.raises(RuntimeError, match="eval"):
        utils.fuse_linear_bn_eval(linear, bn)
    linear.eval()
    bn.eval()
    fused = utils.fuse_linear_bn_eval(linear, bn)
    x = lucid.randn(2, 3, device=device)
    np.testing.assert_allclose(host(fused(x)), host(bn(linear(x))), rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="features"):
        utils.fuse_linear_bn_eval(linear, nn.BatchNorm1d(3, device=device).eval())


def test_skip_init_and_memory_format(device):
    layer = utils.skip_init(nn.Linear, 3, 4, device=device)
    assert isinstance(layer, nn.Linear) and layer.weight.device == lucid.device(device)
    with pytest.raises(ValueError, match="device"):
        utils.skip_init(nn.ReLU)
    assert utils.convert_conv2d_weight_memory_format(layer, None) is layer
    assert utils.convert_conv3d_weight_memory_format(layer, None) is layer


# ---- fractional max pooling ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("nd, shape, kernel, out", [(2, (2, 3, 9, 7), (2, 3), (4, 3)), (2, (3, 10, 10), 3, (8, 8)),
                                                    (3, (1, 2, 6, 7, 8), 2, (3, 4, 5))])
def test_fractional_max_pool_matches_torch(device, rng, nd, shape, kernel, out):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape)
    samples = rng.uniform(0, 1, (1 if len(shape) == nd + 1 else shape[0], shape[-nd - 1], nd))
    ours = getattr(nn, f"FractionalMaxPool{nd}d")(kernel, out, return_indices=True,
                                                  _random_samples=make(samples, device))
    theirs = getattr(torch.nn, f"FractionalMaxPool{nd}d")(kernel, out, return_indices=True,
                                                          _random_samples=torch.tensor(samples))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["_random_samples"]
    (y, idx), (t_y, t_idx) = ours(make(x, device)), theirs(torch.tensor(x))
    np.testing.assert_array_equal(host(y), t_y.numpy())
    np.testing.assert_array_equal(host(idx), t_idx.numpy())
    lx, tx = make(x, device, grad=True), torch.tensor(x, requires_grad=True)
    g = rng.standard_normal(t_y.shape)
    (ours(lx)[0] * make(g, device)).sum().backward()
    (theirs(tx)[0] * torch.tensor(g)).sum().backward()
    np.testing.assert_array_equal(host(lx.grad), tx.grad.numpy())
    ratio = getattr(F, f"fractional_max_pool{nd}d")(make(x, device), kernel, output_ratio=0.5)
    assert ratio.shape == tuple(shape[:-nd]) + tuple(int(n * 0.5) for n in shape[-nd:])


def test_fractional_max_pool_errors(device):
    with pytest.raises(ValueError, match="either an output size"):
        nn.FractionalMaxPool2d(2)
    with pytest.raises(ValueError, match="only one"):
        nn.FractionalMaxPool2d(2, 3, 0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.FractionalMaxPool2d(2, output_ratio=1.5)
    with pytest.raises(RuntimeError, match="does not fit"):
        F.fractional_max_pool2d(lucid.zeros(1, 1, 4, 4, device=device), 2, (4, 4))
    with pytest.raises(ValueError, match="_random_samples"):
        F.fractional_max_pool2d(lucid.zeros(1, 1, 4, 4, device=device), 2, (2, 2),
                                _random_samples=lucid.zeros(1, 1, 3, device=device))


@pytest.mark.parametrize("size", [2, 3, 5, 8])
def test_cross_map_lrn2d_values_match_torch(device, rng, size):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 6, 3, 2))
    ours, theirs = nn.CrossMapLRN2d(size, 0.1, 0.75, 2.0), torch.nn.CrossMapLRN2d(size, 0.1, 0.75, 2.0)
    np.testing.assert_allclose(host(ours(make(x, device))), theirs(torch.tensor(x)).numpy(), rtol=1e-12)
    assert repr(ours) == "CrossMapLRN2d(" + theirs.extra_repr() + ")"
    assert lucid.autograd.gradcheck(ours, [make(x[:1, :, :2, :1], device, grad=True)])  # the forward's derivative
    with pytest.raises(ValueError, match="4-D"):
        ours(make(x[0], device))


@pytest.mark.parametrize("out_features, bias, probabilities", [((), False, False), ((), True, True), ((2, 3), True,
                                                                                                    False)])
def test_linear_cross_entropy_matches_torch(device, rng, out_features, bias, probabilities):
    torch = pytest.importorskip("torch")
    kwargs = {"out_features": out_features, "bias": bias, "label_smoothing": 0.1,
              "weight": None if probabilities else rng.uniform(0.5, 1.5, 5)}
    ours = nn.LinearCrossEntropyLoss(4, 5, **{**kwargs, "weight": None if kwargs["weight"] is None else
                                              make(kwargs["weight"], device)}, options=nn.LinearCrossEntropyOptions())
    theirs = torch.nn.LinearCrossEntropyLoss(4, 5, **{**kwargs, "weight": None if kwargs["weight"] is None else
                                                      torch.tensor(kwargs["weight"])})
    load_torch(ours, theirs, device)
    x = rng.standard_normal((3, 4))
    if probabilities:
        p = rng.uniform(0.1, 1, (3, 5))
        target, t_target = make(p / p.sum(1, keepdims=True), device), torch.tensor(p / p.sum(1, keepdims=True))
    else:
        t = rng.integers(0, 5, (3, *out_features))
        target, t_target = lucid.tensor(t, device=device), torch.tensor(t)
    lx, tx = make(x, device, grad=True), torch.tensor(x, requires_grad=True)
    loss, t_loss = ours(lx, target), theirs(tx, t_target)
    np.testing.assert_allclose(host(loss), t_loss.detach().numpy(), rtol=1e-10)
    loss.backward()
    t_loss.backward()
    np.testing.assert_allclose(host(lx.grad), tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(host(ours.linear.weight.grad), theirs.linear.weight.grad.numpy(), rtol=1e-10,
                               atol=1e-14)
    if probabilities:
        with pytest.raises(RuntimeError, match="ignore_index"):
            F.linear_cross_entropy(lx, ours.linear.weight, target, ignore_index=0)


def test_factory_kwargs():
    assert nn.factory_kwargs({"device": "cpu", "factory_kwargs": {"dtype": lucid.float64}}) == {
        "device": "cpu", "dtype": lucid.float64}
    assert nn.factory_kwargs(None) == {}
    with pytest.raises(TypeError, match="unexpected"):
        nn.factory_kwargs({"size": 3})
    with pytest.raises(TypeError, match="twice"):
        nn.factory_kwargs({"dtype": lucid.float32, "factory_kwargs": {"dtype": lucid.float64}})
