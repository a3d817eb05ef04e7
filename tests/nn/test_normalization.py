"""Normalization: batch/instance/layer/group/RMS/local-response norm against NumPy and PyTorch
(values and input/weight/bias gradients); first and second order gradchecks on every backend;
BatchNorm's buffers and train/eval behaviour (running statistics against a NumPy computation,
momentum=None as a cumulative average, int64 num_batches_tracked); the modules; errors."""

from __future__ import annotations

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


def np_norm(x, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


def test_norms_match_numpy(device, rng):
    x = rng.standard_normal((4, 6, 3, 2))
    t = make(x, device)
    np.testing.assert_allclose(host(F.batch_norm(t, None, None, training=True)), np_norm(x, (0, 2, 3)), atol=1e-12)
    np.testing.assert_allclose(host(F.instance_norm(t)), np_norm(x, (2, 3)), atol=1e-12)
    np.testing.assert_allclose(host(F.layer_norm(t, (3, 2))), np_norm(x, (2, 3)), atol=1e-12)
    groups = np_norm(x.reshape(4, 2, -1), (2,)).reshape(x.shape)
    np.testing.assert_allclose(host(F.group_norm(t, 2)), groups, atol=1e-12)
    rms = x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(host(F.rms_norm(t, 2, eps=1e-6)), rms, atol=1e-12)


RM, RV = np.array([0.3, -0.2, 0.5]), np.array([0.8, 1.5, 0.6])

# id, lucid call, torch call (t = torch), argument shapes (input first)
CASES = [
    ("batch_train", lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
     lambda t, x, w, b: t.nn.functional.batch_norm(x, None, None, w, b, True), [(3, 2, 2, 2), (2,), (2,)]),
    ("batch_train_2d", lambda x, w, b: F.batch_norm(x, None, None, w, b, True, eps=0.1),
     lambda t, x, w, b: t.nn.functional.batch_norm(x, None, None, w, b, True, eps=0.1), [(4, 3), (3,), (3,)]),
    ("batch_eval", lambda x, w, b: F.batch_norm(x, make(RM, x.device), make(RV, x.device), w, b),
     lambda t, x, w, b: t.nn.functional.batch_norm(x, t.tensor(RM), t.tensor(RV), w, b), [(2, 3, 2), (3,), (3,)]),
    ("instance", lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
     lambda t, x, w, b: t.nn.functional.instance_norm(x, weight=w, bias=b), [(2, 2, 3, 2), (2,), (2,)]),
    ("instance_eval", lambda x: F.instance_norm(x, make(RM, x.device), make(RV, x.device), use_input_stats=False),
     lambda t, x: t.nn.functional.instance_norm(x, t.tensor(RM), t.tensor(RV), use_input_stats=False), [(2, 3, 2)]),
    ("layer", lambda x, w, b: F.layer_norm(x, (3, 2), w, b),
     lambda t, x, w, b: t.nn.functional.layer_norm(x, (3, 2), w, b), [(2, 2, 3, 2), (3, 2), (3, 2)]),
    ("layer_plain", lambda x: F.layer_norm(x, 4, eps=1e-3), lambda t, x: t.nn.functional.layer_norm(x, (4,), eps=1e-3),
     [(3, 4)]),
    ("group", lambda x, w, b: F.group_norm(x, 2, w, b), lambda t, x, w, b: t.nn.functional.group_norm(x, 2, w, b),
     [(2, 4, 2, 2), (4,), (4,)]),
    ("group_5d", lambda x, w, b: F.group_norm(x, 3, w, b),
     lambda t, x, w, b: t.nn.functional.group_norm(x, 3, w, b), [(2, 6, 2, 3, 2), (6,), (6,)]),
    ("group_no_spatial", lambda x, w, b: F.group_norm(x, 3, w, b),  # nothing to fold: the general path
     lambda t, x, w, b: t.nn.functional.group_norm(x, 3, w, b), [(4, 6), (6,), (6,)]),
    ("group_plain", lambda x: F.group_norm(x, 2), lambda t, x: t.nn.functional.group_norm(x, 2), [(3, 4, 5)]),
    ("instance_plain", lambda x: F.instance_norm(x), lambda t, x: t.nn.functional.instance_norm(x), [(2, 3, 4)]),
    ("rms", lambda x, w: F.rms_norm(x, (3, 2), w), lambda t, x, w: t.nn.functional.rms_norm(x, (3, 2), w),
     [(2, 2, 3, 2), (3, 2)]),
    ("lrn", lambda x: F.local_response_norm(x, 3), lambda t, x: t.nn.functional.local_response_norm(x, 3),
     [(2, 4, 2, 2)]),
    ("lrn_3d", lambda x: F.local_response_norm(x, 2, 0.1, 0.5, 2.0),
     lambda t, x: t.nn.functional.local_response_norm(x, 2, 0.1, 0.5, 2.0), [(2, 4, 3)]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_norm_matches_torch(case, device, rng):
    torch = pytest.importorskip("torch")
    _, ours_fn, torch_fn, shapes = case
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [make(a, device, True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = ours_fn(*ours), torch_fn(torch, *theirs)
    np.testing.assert_allclose(host(y), ty.detach().numpy(), atol=1e-10)
    g = rng.standard_normal(y.shape)
    y.backward(make(g, device))
    ty.backward(torch.tensor(g))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(host(o.grad), t.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_norm_gradcheck(case, device, rng):
    _, ours_fn, _, shapes = case
    inputs = [make(rng.standard_normal(s), device, True) for s in shapes]
    assert gradcheck(ours_fn, inputs)
    assert gradgradcheck(ours_fn, inputs)


@pytest.mark.parametrize("offset, broadcast", [(0.0, True), (0.0, False), (100.0, False)])
def test_group_norm_float32_accuracy(device, rng, offset, broadcast):
    """Group and instance norm in float32 (normalized a slice of rows at a time: several slices here) against
    their float64 values from the same inputs: within 16 ulp of the largest value (or of 1, or of the count of a
    sum), also far from zero mean (45 ulp without correcting the mean by the centred values' own mean); for a
    broadcast (per channel) and a full gradient."""
    def float32(a):
        return np.asarray(a, dtype=np.float32).astype(np.float64)

    x = float32(rng.standard_normal((4, 16, 48, 48)) + offset)
    w, b = float32(rng.standard_normal(16)), float32(rng.standard_normal(16))
    g = np.broadcast_to(float32(rng.standard_normal((16, 1, 1))), x.shape) if broadcast else \
        float32(rng.standard_normal(x.shape))
    for fn in (lambda x, w, b: F.group_norm(x, 4, w, b), lambda x, w, b: F.instance_norm(x, weight=w, bias=b)):
        results = []
        for dtype in (lucid.float32, lucid.float64):
            ts = [make(a, device, True, dtype) for a in (x, w, b)]
            y = fn(*ts)
            assert y.dtype is dtype
            y.backward(make(g, device, dtype=dtype))
            results.append([host(y)] + [host(t.grad) for t in ts])
        for got, want, scale in zip(*results, (1.0, 1.0, x.size / 16, x.size / 16)):
            assert np.abs(got - want).max() <= 16 * np.spacing(np.float32(max(np.abs(want).max(), scale)))


def test_group_norm_special_values_match_torch(device):
    """inf and nan spread through their group as in PyTorch (silently); -0, subnormal and constant groups too."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((2, 4, 3, 3)).astype(np.float32)
    x[0, 0, 0, 0], x[1, 2, 1, 1], x[0, 3, 0, 0] = np.inf, np.nan, -0.0
    x[1, :2] = 1e-42  # a constant, subnormal group
    ours, theirs = make(x, device, True, lucid.float32), torch.tensor(x, requires_grad=True)
    y, ty = F.group_norm(ours, 2), torch.nn.functional.group_norm(theirs, 2)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(host(y), ty.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(host(ours.grad), theirs.grad.numpy(), atol=1e-5)


# ---- BatchNorm ------------------------------------------------------------------------------
def test_batchnorm_buffers(device):
    bn = L.BatchNorm2d(3, device=device)
    np.testing.assert_array_equal(host(bn.running_mean), np.zeros(3))
    np.testing.assert_array_equal(host(bn.running_var), np.ones(3))
    assert bn.num_batches_tracked.dtype == lucid.int64 and bn.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(host(bn.weight), np.ones(3))
    np.testing.assert_array_equal(host(bn.bias), np.zeros(3))
    assert set(bn.state_dict()) == {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
    assert all(not b.requires_grad for b in bn.buffers())
    bn.double()
    assert bn.num_batches_tracked.dtype == lucid.int64 and bn.running_mean.dtype == lucid.float64


def test_batchnorm_train_updates_running_stats(device, rng):
    bn = L.BatchNorm2d(3, momentum=0.2, device=device)
    buffers = list(bn.buffers())
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.standard_normal((4, 3, 2, 5)) * 2 + 1
        y = bn(make(x, device, dtype=lucid.float32))
        np.testing.assert_allclose(host(y), np_norm(x, (0, 2, 3)), atol=1e-4)
        mean = 0.8 * mean + 0.2 * x.mean((0, 2, 3))
        var = 0.8 * var + 0.2 * x.var((0, 2, 3), ddof=1)  # the unbiased batch variance
    np.testing.assert_allclose(host(bn.running_mean), mean, rtol=1e-5)
    np.testing.assert_allclose(host(bn.running_var), var, rtol=1e-5)
    assert bn.num_batches_tracked.item() == 3 and bn.num_batches_tracked.dtype == lucid.int64
    assert all(a is b for a, b in zip(buffers, bn.buffers()))  # updated in place
    bn.eval()
    x = rng.standard_normal((2, 3, 2, 2))
    want = (x - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5)
    np.testing.assert_allclose(host(bn(make(x, device, dtype=lucid.float32))), want, atol=1e-5)
    assert bn.num_batches_tracked.item() == 3


def test_batchnorm_cumulative_average(device, rng):
    bn = L.BatchNorm1d(2, momentum=None, device=device)
    batches = [rng.standard_normal((5, 2)) for _ in range(4)]
    for x in batches:
        bn(make(x, device, dtype=lucid.float32))
    np.testing.assert_allclose(host(bn.running_mean), np.mean([b.mean(0) for b in batches], 0), rtol=1e-5)
    np.testing.assert_allclose(host(bn.running_var), np.mean([b.var(0, ddof=1) for b in batches], 0), rtol=1e-5)


def test_batchnorm_without_running_stats(device, rng):
    bn = L.BatchNorm1d(3, affine=False, track_running_stats=False, device=device)
    assert bn.running_mean is None and bn.num_batches_tracked is None and not list(bn.parameters())
    x = rng.standard_normal((4, 3, 2))
    bn.eval()  # no running statistics: batch statistics even in eval
    np.testing.assert_allclose(host(bn(make(x, device, dtype=lucid.float32))), np_norm(x, (0, 2)), atol=1e-5)


def test_batchnorm_of_an_empty_batch_is_empty_and_keeps_running_stats(device):
    """As PyTorch: an empty output, zero parameter gradients, the running statistics unchanged but the batch
    counted; one value per channel still raises."""
    bn = L.BatchNorm1d(5, momentum=0.3, device=device)
    x = lucid.zeros(0, 5, 9, device=device, requires_grad=True)
    y = bn(x)
    y.sum().backward()
    assert y.shape == (0, 5, 9) and x.grad.shape == (0, 5, 9) and host(bn.weight.grad).tolist() == [0.0] * 5
    assert host(bn.running_mean).tolist() == [0.0] * 5 and host(bn.running_var).tolist() == [1.0] * 5
    assert int(bn.num_batches_tracked.item()) == 1
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(lucid.zeros(1, 5, device=device))


def test_batchnorm_module_matches_torch(rng):
    torch = pytest.importorskip("torch")
    ours, theirs = L.BatchNorm2d(3, momentum=0.3, dtype=lucid.float64), torch.nn.BatchNorm2d(3, momentum=0.3).double()
    for _ in range(2):
        x = rng.standard_normal((4, 3, 2, 3))
        xo, xt = make(x, "cpu", True), torch.tensor(x, requires_grad=True)
        ours(xo).pow(2).sum().backward()
        theirs(xt).pow(2).sum().backward()
        np.testing.assert_allclose(host(xo.grad), xt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(host(ours.weight.grad), theirs.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(host(ours.running_var), theirs.running_var.numpy(), atol=1e-12)
    ours.eval(), theirs.eval()
    x = rng.standard_normal((2, 3, 2, 3))
    np.testing.assert_allclose(host(ours(make(x, "cpu"))), theirs(torch.tensor(x)).detach().numpy(), atol=1e-12)


def test_instancenorm_running_stats_match_torch(rng):
    torch = pytest.importorskip("torch")
    ours = L.InstanceNorm1d(3, affine=True, track_running_stats=True, dtype=lucid.float64)
    theirs = torch.nn.InstanceNorm1d(3, affine=True, track_running_stats=True).double()
    x = rng.standard_normal((4, 3, 5))
    np.testing.assert_allclose(host(ours(make(x, "cpu"))), theirs(torch.tensor(x)).detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(host(ours.running_mean), theirs.running_mean.numpy(), atol=1e-12)
    np.testing.assert_allclose(host(ours.running_var), theirs.running_var.numpy(), atol=1e-12)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(host(ours(make(x[0], "cpu"))), theirs(torch.tensor(x[0])).detach().numpy(), atol=1e-12)


def test_instancenorm_defaults(device):
    m = L.InstanceNorm2d(4, device=device)
    assert m.weight is None and m.running_mean is None
    assert m(lucid.randn(2, 4, 3, 3, device=device)).shape == (2, 4, 3, 3)


@pytest.mark.parametrize("make_pair", [
    lambda t: (L.LayerNorm((3, 2), dtype=lucid.float64), t.nn.LayerNorm((3, 2)).double()),
    lambda t: (L.LayerNorm(2, bias=False, dtype=lucid.float64), t.nn.LayerNorm(2, bias=False).double()),
    lambda t: (L.GroupNorm(2, 4, dtype=lucid.float64), t.nn.GroupNorm(2, 4).double()),
    lambda t: (L.RMSNorm((3, 2), dtype=lucid.float64), t.nn.RMSNorm((3, 2)).double()),
    lambda t: (L.LocalResponseNorm(3), t.nn.LocalResponseNorm(3)),
], ids=["LayerNorm", "LayerNorm_nobias", "GroupNorm", "RMSNorm", "LocalResponseNorm"])
def test_norm_modules_match_torch(make_pair, rng):
    torch = pytest.importorskip("torch")
    ours, theirs = make_pair(torch)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    x = rng.standard_normal((2, 4, 3, 2))
    xo, xt = make(x, "cpu", True), torch.tensor(x, requires_grad=True)
    y, ty = ours(xo), theirs(xt)
    np.testing.assert_allclose(host(y), ty.detach().numpy(), atol=1e-10)
    y.pow(3).sum().backward()
    ty.pow(3).sum().backward()
    np.testing.assert_allclose(host(xo.grad), xt.grad.numpy(), atol=1e-9)
    for (_, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(host(p.grad), tp.grad.numpy(), atol=1e-9)


def test_norm_module_shapes(device):
    x = lucid.randn(2, 3, 4, device=device)
    for m in (L.BatchNorm1d(3), L.InstanceNorm1d(3), L.LayerNorm(4), L.GroupNorm(3, 3), L.RMSNorm(4),
              L.LocalResponseNorm(2)):
        assert m.to(device)(x).shape == x.shape
    assert L.BatchNorm1d(3).to(device)(lucid.randn(5, 3, device=device)).shape == (5, 3)
    assert L.BatchNorm3d(2).to(device)(lucid.randn(2, 2, 2, 2, 2, device=device)).shape == (2, 2, 2, 2, 2)
    assert L.InstanceNorm2d(3).to(device)(lucid.randn(3, 4, 4, device=device)).shape == (3, 4, 4)
    assert "eps=1e-05" in repr(L.LayerNorm(4))


def test_norm_errors(device):
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        L.BatchNorm1d(3).to(device)(lucid.randn(1, 3, device=device))
    with pytest.raises(ValueError, match="4-D"):
        L.BatchNorm2d(3).to(device)(lucid.randn(2, 3, 4, device=device))
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(lucid.randn(2, 3, device=device), (2,))
    with pytest.raises(RuntimeError, match="num_groups"):
        F.group_norm(lucid.randn(2, 3, 4, device=device), 2)
    with pytest.raises(RuntimeError, match="running_mean"):
        F.batch_norm(lucid.randn(2, 3, device=device), None, None, training=False)
    with pytest.raises(RuntimeError, match="3 elements"):
        F.batch_norm(lucid.randn(2, 3, device=device), None, None, lucid.ones(4, device=device), training=True)
    with pytest.raises(ValueError, match="divisible"):
        L.GroupNorm(2, 5)


def test_functional_normalize(device, rng):
    x = lucid.tensor(rng.standard_normal((3, 4)), device=device, requires_grad=True)
    want = x.detach().numpy(force=True)
    want = want / np.linalg.norm(want, axis=1, keepdims=True)
    np.testing.assert_allclose(F.normalize(x).detach().numpy(force=True), want, rtol=1e-12)
    assert gradcheck(lambda t: F.normalize(t, p=3.0, dim=0), (x,))
    zero = lucid.zeros(2, 3, dtype=lucid.float64, device=device)
    assert not np.isnan(F.normalize(zero).numpy(force=True)).any()


# ---- a forward that raises changes no running statistic -------------------------------------------
def _buffers(m):
    return {name: host(b).copy() for name, b in m.named_buffers()}


@pytest.mark.parametrize("momentum", [0.1, None])
def test_failed_batchnorm_forward_changes_no_buffer(device, momentum):
    """Before: num_batches_tracked was counted before the input's channels were checked."""
    cases = [
        (L.BatchNorm2d, lambda: lucid.randn(2, 4, 3, 3, device=device), "expected 3 channels.*\\(2, 4, 3, 3\\)"),
        (L.BatchNorm2d, lambda: lucid.randn(2, 3, 3, device=device), "4-D"),
        (L.BatchNorm1d, lambda: lucid.randn(1, 3, device=device), "more than 1 value per channel"),
        (L.BatchNorm1d, lambda: lucid.tensor([[1, 2, 3], [4, 5, 6]], device=device), "floating"),
        (L.BatchNorm3d, lambda: lucid.randn(2, 2, 2, 2, 2, device=device), "expected 3 channels"),
    ]
    for layer, make_input, message in cases:
        bn = layer(3, momentum=momentum).to(device)
        bn(lucid.randn(*((4, 3) + (2,) * (layer.dims if layer is not L.BatchNorm1d else 0)), device=device))
        before = _buffers(bn)
        with pytest.raises((ValueError, TypeError, RuntimeError), match=message):
            bn(make_input())
        after = _buffers(bn)
        assert before.keys() == after.keys()
        for name in before:
            np.testing.assert_array_equal(after[name], before[name], err_msg=f"{layer.__name__}.{name}")


def test_failed_instancenorm_forward_changes_no_buffer(device):
    for affine in (False, True):
        m = L.InstanceNorm2d(3, affine=affine, track_running_stats=True).to(device)
        m(lucid.randn(2, 3, 4, 4, device=device))
        before = _buffers(m)
        for bad, message in ((lucid.randn(2, 4, 4, 4, device=device), "expected 3 channels.*dimension 1"),
                             (lucid.randn(4, 4, 4, device=device), "expected 3 channels.*dimension 0"),
                             (lucid.randn(2, 3, 1, 1, device=device), "more than 1 spatial element"),
                             (lucid.randn(2, 3, device=device), "3-D or 4-D")):
            with pytest.raises(ValueError, match=message):
                m(bad)
            after = _buffers(m)
            for name in before:
                np.testing.assert_array_equal(after[name], before[name])
    assert L.InstanceNorm2d(3)(lucid.randn(1, 5, 2, 2, device=device)).shape == (1, 5, 2, 2)  # no stats: any C


def test_functional_batch_norm_failure_leaves_running_stats(device):
    mean, var = lucid.zeros(3, device=device), lucid.ones(3, device=device)
    with pytest.raises(RuntimeError, match="3 elements"):
        F.batch_norm(lucid.randn(4, 3, device=device), mean, var, weight=lucid.ones(2, device=device), training=True)
    with pytest.raises(RuntimeError, match="3 elements"):  # running_var sized for 2 channels: mean untouched too
        F.batch_norm(lucid.randn(4, 3, device=device), mean, lucid.ones(2, device=device), training=True)
    np.testing.assert_array_equal(host(mean), np.zeros(3))
    np.testing.assert_array_equal(host(var), np.ones(3))
