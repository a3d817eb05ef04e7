"""``lucid.autocast("cpu")`` against ``torch.autocast("cpu")`` (PyTorch 2.13): every op of PyTorch's CPU
lower-precision and float32 lists that lucid has, and ops PyTorch leaves alone on the CPU (softmax, norms,
reductions), give the same output dtype for float32, bfloat16 and mixed inputs, close values, and float32
gradients at float32 leaves; a small conv net runs with the dtypes PyTorch's has at each layer."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.amp as amp

torch = pytest.importorskip("torch")

R = np.random.default_rng(0)


def randn(*shape):
    return R.standard_normal(shape).astype(np.float32)


def spd(n):
    a = randn(n, n)
    return a @ a.T + n * np.eye(n, dtype=np.float32)


def labels(high, *shape):
    return R.integers(0, high, shape)


def signs(n):
    return np.where(R.random(n) < 0.5, -1, 1).astype(np.float32)


def lib_of(m):
    """``(module, functional, fft, linalg)`` of lucid or torch."""
    return m, m.nn.functional, m.fft, m.linalg


# name: (op(m, F, fft, linalg, *inputs), inputs); floating inputs get the case's dtype, integer ones stay
LOWER_CASES = {
    "conv1d": (lambda m, F, fft, la, x, w: F.conv1d(x, w), [randn(2, 3, 8), randn(4, 3, 3)]),
    "conv2d": (lambda m, F, fft, la, x, w, b: F.conv2d(x, w, b, padding=1), [randn(2, 3, 6, 6), randn(4, 3, 3, 3),
                                                                               randn(4)]),
    "conv3d": (lambda m, F, fft, la, x, w: F.conv3d(x, w), [randn(1, 2, 4, 4, 4), randn(3, 2, 3, 3, 3)]),
    "conv_transpose1d": (lambda m, F, fft, la, x, w: F.conv_transpose1d(x, w), [randn(2, 3, 8), randn(3, 4, 3)]),
    "conv_transpose2d": (lambda m, F, fft, la, x, w: F.conv_transpose2d(x, w), [randn(2, 3, 5, 5),
                                                                                 randn(3, 4, 3, 3)]),
    "conv_transpose3d": (lambda m, F, fft, la, x, w: F.conv_transpose3d(x, w), [randn(1, 2, 3, 3, 3),
                                                                                 randn(2, 3, 3, 3, 3)]),
    "mm": (lambda m, F, fft, la, a, b: m.mm(a, b), [randn(3, 4), randn(4, 5)]),
    "bmm": (lambda m, F, fft, la, a, b: m.bmm(a, b), [randn(2, 3, 4), randn(2, 4, 5)]),
    "matmul": (lambda m, F, fft, la, a, b: m.matmul(a, b), [randn(2, 3, 4), randn(4, 5)]),
    "matmul_operator": (lambda m, F, fft, la, a, b: a @ b, [randn(3, 4), randn(4, 5)]),
    "einsum": (lambda m, F, fft, la, a, b: m.einsum("ij,jk->ik", a, b), [randn(3, 4), randn(4, 5)]),
    "vecdot": (lambda m, F, fft, la, a, b: la.vecdot(a, b), [randn(3, 4), randn(3, 4)]),
    "addmm": (lambda m, F, fft, la, c, a, b: m.addmm(c, a, b), [randn(3, 5), randn(3, 4), randn(4, 5)]),
    "baddbmm": (lambda m, F, fft, la, c, a, b: m.baddbmm(c, a, b, beta=0.5, alpha=2),
                [randn(2, 3, 5), randn(2, 3, 4), randn(2, 4, 5)]),
    "addbmm": (lambda m, F, fft, la, c, a, b: m.addbmm(c, a, b), [randn(3, 5), randn(2, 3, 4), randn(2, 4, 5)]),
    "linear": (lambda m, F, fft, la, x, w, b: F.linear(x, w, b), [randn(3, 4), randn(5, 4), randn(5)]),
    "prelu": (lambda m, F, fft, la, x, w: F.prelu(x, w), [randn(2, 3, 4), np.full(3, 0.25, np.float32)]),
    "sdpa": (lambda m, F, fft, la, q, k, v: F.scaled_dot_product_attention(q, k, v),
             [randn(2, 5, 8), randn(2, 5, 8), randn(2, 5, 8)]),
}

FLOAT32_CASES = {
    "avg_pool3d": (lambda m, F, fft, la, x: F.avg_pool3d(x, 2), [randn(1, 2, 4, 4, 4)]),
    "max_pool3d": (lambda m, F, fft, la, x: F.max_pool3d(x, 2), [randn(1, 2, 4, 4, 4)]),
    "adaptive_avg_pool3d": (lambda m, F, fft, la, x: F.adaptive_avg_pool3d(x, 3), [randn(1, 2, 4, 4, 4)]),
    "adaptive_max_pool3d": (lambda m, F, fft, la, x: F.adaptive_max_pool3d(x, 3), [randn(1, 2, 4, 4, 4)]),
    "binary_cross_entropy": (lambda m, F, fft, la, p, t: F.binary_cross_entropy(m.sigmoid(p), t),
                             [randn(4), R.random(4).astype(np.float32)]),
    "binary_cross_entropy_with_logits": (lambda m, F, fft, la, x, t: F.binary_cross_entropy_with_logits(x, t),
                                         [randn(4), R.random(4).astype(np.float32)]),
    "grid_sample": (lambda m, F, fft, la, x, g: F.grid_sample(x, g, align_corners=False),
                    [randn(1, 2, 4, 4), R.uniform(-1, 1, (1, 3, 3, 2)).astype(np.float32)]),
    "prod": (lambda m, F, fft, la, x: m.prod(x), [randn(3, 4)]),
    "prod_dim": (lambda m, F, fft, la, x: m.prod(x, 1), [randn(3, 4)]),
    "quantile": (lambda m, F, fft, la, x: m.quantile(x, 0.3), [randn(10)]),
    "nanquantile": (lambda m, F, fft, la, x: m.nanquantile(x, 0.3), [randn(10)]),
    "cdist": (lambda m, F, fft, la, a, b: m.cdist(a, b), [randn(3, 4), randn(5, 4)]),
    "trace": (lambda m, F, fft, la, x: m.trace(x), [randn(3, 3)]),
    "cholesky": (lambda m, F, fft, la, a: la.cholesky(a), [spd(3)]),
    "inverse": (lambda m, F, fft, la, a: m.inverse(a), [spd(3)]),
    "linalg_inv": (lambda m, F, fft, la, a: la.inv(a), [spd(3)]),
    "pinverse": (lambda m, F, fft, la, a: m.pinverse(a), [randn(3, 4)]),
    "linalg_solve": (lambda m, F, fft, la, a, b: la.solve(a, b), [spd(3), randn(3, 2)]),
    "linalg_qr": (lambda m, F, fft, la, a: la.qr(a)[1], [spd(3)]),
    "linalg_svdvals": (lambda m, F, fft, la, a: la.svdvals(a), [randn(3, 3)]),
    "linalg_eigvalsh": (lambda m, F, fft, la, a: la.eigvalsh(a), [spd(3)]),
    "linalg_lstsq": (lambda m, F, fft, la, a, b: la.lstsq(a, b)[0], [randn(4, 3), randn(4, 2)]),
    "fft_rfft_abs": (lambda m, F, fft, la, x: fft.rfft(x).abs(), [randn(8)]),
    "fft_irfft": (lambda m, F, fft, la, x: fft.irfft(x), [randn(8)]),
    "fft_fft2_abs": (lambda m, F, fft, la, x: fft.fft2(x).abs(), [randn(4, 4)]),
    "mse_loss": (lambda m, F, fft, la, a, b: F.mse_loss(a, b), [randn(4), randn(4)]),
    "l1_loss": (lambda m, F, fft, la, a, b: F.l1_loss(a, b), [randn(4), randn(4)]),
    "smooth_l1_loss": (lambda m, F, fft, la, a, b: F.smooth_l1_loss(a, b), [randn(4), randn(4)]),
    "huber_loss": (lambda m, F, fft, la, a, b: F.huber_loss(a, b), [randn(4), randn(4)]),
    "cosine_embedding_loss": (lambda m, F, fft, la, a, b, y: F.cosine_embedding_loss(a, b, y),
                              [randn(3, 4), randn(3, 4), np.array([1, -1, 1])]),
    "nll_loss": (lambda m, F, fft, la, x, y: F.nll_loss(x, y), [randn(3, 4), labels(4, 3)]),
    "nll_loss2d": (lambda m, F, fft, la, x, y: F.nll_loss(x, y), [randn(2, 3, 4, 4), labels(3, 2, 4, 4)]),
    "cross_entropy": (lambda m, F, fft, la, x, y: F.cross_entropy(x, y), [randn(3, 4), labels(4, 3)]),
    "cross_entropy_probabilities": (lambda m, F, fft, la, x, p: F.cross_entropy(x, p),
                                    [randn(3, 4), R.random((3, 4)).astype(np.float32)]),
    "hinge_embedding_loss": (lambda m, F, fft, la, x, y: F.hinge_embedding_loss(x, y), [randn(4), signs(4)]),
    "poisson_nll_loss": (lambda m, F, fft, la, x, y: F.poisson_nll_loss(x, y),
                         [randn(4), R.random(4).astype(np.float32)]),
    "margin_ranking_loss": (lambda m, F, fft, la, a, b, y: F.margin_ranking_loss(a, b, y),
                            [randn(4), randn(4), signs(4)]),
    "soft_margin_loss": (lambda m, F, fft, la, x, y: F.soft_margin_loss(x, y.detach()), [randn(4), signs(4)]),
    "triplet_margin_loss": (lambda m, F, fft, la, a, p, n: F.triplet_margin_loss(a, p, n),
                            [randn(3, 4), randn(3, 4), randn(3, 4)]),
    "multi_margin_loss": (lambda m, F, fft, la, x, y: F.multi_margin_loss(x, y), [randn(3, 4), labels(4, 3)]),
    "multilabel_margin_loss": (lambda m, F, fft, la, x, y: F.multilabel_margin_loss(x, y),
                               [randn(3, 4), np.array([[0, 1, -1, 0]] * 3)]),
    "kl_div": (lambda m, F, fft, la, x, y: F.kl_div(x, y, reduction="batchmean"),
               [randn(3, 4), R.random((3, 4)).astype(np.float32)]),
    "ctc_loss": (lambda m, F, fft, la, x, y: F.ctc_loss(x.log_softmax(2), y, [6, 6], [2, 2]),
                 [randn(6, 2, 5), np.array([[1, 2], [3, 4]])]),
}

# PyTorch runs these in their inputs' dtype on the CPU (on CUDA most are float32); they must not be cast
UNTOUCHED_CASES = {
    "softmax": (lambda m, F, fft, la, x: F.softmax(x, 1), [randn(3, 4)]),
    "log_softmax": (lambda m, F, fft, la, x: F.log_softmax(x, 1), [randn(3, 4)]),
    "layer_norm": (lambda m, F, fft, la, x: F.layer_norm(x, (4,)), [randn(3, 4)]),
    "group_norm": (lambda m, F, fft, la, x: F.group_norm(x, 2), [randn(2, 4, 3)]),
    "batch_norm": (lambda m, F, fft, la, x: F.batch_norm(x, None, None, training=True), [randn(3, 4)]),
    "exp": (lambda m, F, fft, la, x: m.exp(x), [randn(3)]),
    "log": (lambda m, F, fft, la, x: m.log(x.abs()), [randn(3)]),
    "sum": (lambda m, F, fft, la, x: x.sum(), [randn(3)]),
    "mean": (lambda m, F, fft, la, x: x.mean(), [randn(3)]),
    "pow": (lambda m, F, fft, la, x: x ** 2, [randn(3)]),
    "cumsum": (lambda m, F, fft, la, x: m.cumsum(x, 0), [randn(3)]),
    "var": (lambda m, F, fft, la, x: m.var(x), [randn(3)]),
    "logsumexp": (lambda m, F, fft, la, x: m.logsumexp(x, 0), [randn(3)]),
    "softplus": (lambda m, F, fft, la, x: F.softplus(x), [randn(3)]),
    "vector_norm": (lambda m, F, fft, la, x: la.vector_norm(x), [randn(3, 3)]),
    "avg_pool2d": (lambda m, F, fft, la, x: F.avg_pool2d(x, 2), [randn(1, 2, 4, 4)]),
    "max_pool2d": (lambda m, F, fft, la, x: F.max_pool2d(x, 2), [randn(1, 2, 4, 4)]),
    "adaptive_avg_pool2d": (lambda m, F, fft, la, x: F.adaptive_avg_pool2d(x, 3), [randn(1, 2, 4, 4)]),
    "constant_pad": (lambda m, F, fft, la, x: F.pad(x, (1, 1)), [randn(2, 3)]),
    "mv": (lambda m, F, fft, la, a, v: m.mv(a, v), [randn(3, 4), randn(4)]),
    "dot": (lambda m, F, fft, la, a, b: m.dot(a, b), [randn(4), randn(4)]),
    "addmv": (lambda m, F, fft, la, c, a, v: m.addmv(c, a, v), [randn(3), randn(3, 4), randn(4)]),
    "addr": (lambda m, F, fft, la, c, a, b: m.addr(c, a, b), [randn(3, 4), randn(3), randn(4)]),
    "outer": (lambda m, F, fft, la, a, b: m.outer(a, b), [randn(3), randn(4)]),
    "cosine_similarity": (lambda m, F, fft, la, a, b: F.cosine_similarity(a, b), [randn(3, 4), randn(3, 4)]),
    "gelu": (lambda m, F, fft, la, x: F.gelu(x), [randn(3)]),
    "add": (lambda m, F, fft, la, a, b: a + b, [randn(3), randn(3)]),
}

CASES = {**LOWER_CASES, **FLOAT32_CASES, **UNTOUCHED_CASES}
# torch refuses these (mixed dtypes in an op autocast leaves alone) and lucid, outside autocast too, promotes
REFUSED_BY_TORCH_ONLY = {("addmv", "mixed")}
# the dtypes of the floating inputs: all float32, all bfloat16, or the first float32 and the rest bfloat16
MIXES = ("float32", "bfloat16", "mixed")


def _inputs(m, arrays, mix, requires_grad):
    """The case's arrays as tensors of ``m``; floating leaves in float32 require grad (to check their grads)."""
    out, leaves = [], []
    for i, a in enumerate(arrays):
        if a.dtype.kind != "f":
            out.append(m.tensor(a))
            continue
        low = mix == "bfloat16" or (mix == "mixed" and i > 0)
        t = m.tensor(a)
        if low:
            t = t.to(m.bfloat16)
        elif requires_grad:
            t.requires_grad_(True)
            leaves.append(t)
        out.append(t)
    return out, leaves


def _run(m, name, mix, requires_grad=True):
    op, arrays = CASES[name]
    inputs, leaves = _inputs(m, arrays, mix, requires_grad)
    with (amp.autocast("cpu") if m is lucid else torch.autocast("cpu")):
        y = op(*lib_of(m), *inputs)
    if leaves and y.requires_grad:
        y.float().sum().backward()
    return y, leaves


def _host(t):
    return np.asarray((t.detach().float() if t.dtype != lucid.float64 else t.detach()).numpy(), dtype=np.float64)


@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize("name", list(CASES))
def test_dtype_values_and_gradients_match_torch(name, mix):
    try:
        ref, ref_leaves = _run(torch, name, mix)
    except (RuntimeError, NotImplementedError) as e:  # torch refuses (mixed dtypes, no bfloat16 kernel)
        if (name, mix) in REFUSED_BY_TORCH_ONLY:
            pytest.skip(f"torch raises, lucid promotes: {e}")
        with pytest.raises((RuntimeError, TypeError, NotImplementedError)):
            _run(lucid, name, mix)
        pytest.skip(f"torch raises: {e}")
    y, leaves = _run(lucid, name, mix)
    assert str(y.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1], name
    tol = 2e-2 if "bfloat16" in (str(y.dtype), str(ref.dtype)) or mix != "float32" or name in LOWER_CASES else 1e-4
    np.testing.assert_allclose(_host(y), ref.detach().float().numpy(), rtol=tol * 4, atol=tol * 4)
    assert len(leaves) == len(ref_leaves)
    for ours, theirs in zip(leaves, ref_leaves):
        if theirs.grad is None:
            assert ours.grad is None
            continue
        assert ours.grad.dtype is lucid.float32
        np.testing.assert_allclose(_host(ours.grad), theirs.grad.numpy(), rtol=tol * 4, atol=tol * 4)


def test_the_cases_cover_torchs_cpu_lists_that_lucid_has():
    """PyTorch's CPU lists, as observed: the lowered ops come out in bfloat16 from float32 inputs, the
    float32 ones in float32 from bfloat16 inputs, the untouched ones in their inputs' dtype."""
    for name in LOWER_CASES:
        assert _run(torch, name, "float32", False)[0].dtype is torch.bfloat16, name
    for name in FLOAT32_CASES:
        assert _run(torch, name, "bfloat16", False)[0].dtype is torch.float32, name
    for name in UNTOUCHED_CASES:
        assert _run(torch, name, "float32", False)[0].dtype is torch.float32, name
        assert _run(torch, name, "bfloat16", False)[0].dtype is torch.bfloat16, name


def test_promote_ops():
    """cat, stack and index_copy of bfloat16 with float32 give float32, as PyTorch's CPU "promote" list."""
    for m in (lucid, torch):
        low, high = m.zeros(3, 2).to(m.bfloat16), m.ones(1, 2)
        with (amp.autocast("cpu") if m is lucid else torch.autocast("cpu")):
            got = [m.cat([low, high]).dtype, m.stack([low[0], high[0]]).dtype,
                   m.index_copy(low, 0, m.tensor([1]), high).dtype]
        assert [str(d).split(".")[-1] for d in got] == ["float32"] * 3


def test_defaults():
    assert amp.get_autocast_dtype("cpu") is lucid.bfloat16 and amp.get_autocast_dtype("cuda") is lucid.float16
    assert str(torch.get_autocast_dtype("cpu")) == "torch.bfloat16"
    with amp.autocast("cpu") as block:
        assert block.dtype is lucid.bfloat16 and amp.get_autocast_dtype("cpu") is lucid.bfloat16
    from lucid.torch_compat import cpu_amp

    with cpu_amp.autocast():
        assert (lucid.ones(2, 2) @ lucid.ones(2, 2)).dtype is lucid.bfloat16
    with amp.autocast("cpu", dtype=lucid.float16):  # PyTorch allows float16 on the CPU too
        assert (lucid.ones(2, 2) @ lucid.ones(2, 2)).dtype is lucid.float16
        assert lucid.ones(2, 2, dtype=lucid.float16).softmax(-1).dtype is lucid.float16


class _Net:
    """conv -> batch norm -> relu -> flatten -> linear -> cross_entropy, the same weights in both libraries."""

    def __init__(self, m):
        nn = m.nn
        self.m = m
        self.conv, self.bn, self.fc = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Linear(4 * 6 * 6, 5)

    def load(self, other):
        for mine, theirs in ((self.conv, other.conv), (self.bn, other.bn), (self.fc, other.fc)):
            for name, p in theirs.named_parameters():
                getattr(mine, name).data = lucid.tensor(p.detach().numpy())

    def params(self):
        return [self.conv.weight, self.conv.bias, self.bn.weight, self.bn.bias, self.fc.weight, self.fc.bias]

    def __call__(self, x, y):
        F = self.m.nn.functional
        a = self.conv(x)
        b = self.bn(a)
        c = F.relu(b)
        d = self.fc(c.flatten(1))
        loss = F.cross_entropy(d, y)
        return [a, b, c, d, loss]


def _model_outputs():
    torch.manual_seed(0)  # the weights come from torch's initialisers: unseeded, bfloat16 noise failed ~1 run in 13
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, 3, 6, 6)).astype(np.float32), rng.integers(0, 5, 2)
    ref, net = _Net(torch), _Net(lucid)
    net.load(ref)
    with torch.autocast("cpu"):
        theirs = ref(torch.tensor(x), torch.tensor(y))
    with amp.autocast("cpu"):
        ours = net(lucid.tensor(x), lucid.tensor(y))
    return net, ref, ours, theirs


def _names(tensors):
    return [str(t.dtype).split(".")[-1] for t in tensors]


def test_small_model_matches_torch_layer_by_layer():
    """conv -> bn -> relu -> linear -> cross_entropy: conv and linear in bfloat16, the loss in float32, values
    and float32 parameter gradients as PyTorch's."""
    net, ref, ours, theirs = _model_outputs()
    conv_linear_loss = [0, 3, 4]
    assert [_names(ours)[i] for i in conv_linear_loss] == [_names(theirs)[i] for i in conv_linear_loss] == [
        "bfloat16", "bfloat16", "float32"]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(_host(a), b.detach().float().numpy(), rtol=5e-2, atol=5e-2)
    theirs[-1].backward()
    ours[-1].backward()
    for i, (a, b) in enumerate(zip(net.params(), ref.params())):  # torch's batch norm runs in bfloat16: looser
        assert a.grad.dtype is lucid.float32
        if i == 1:  # the conv bias feeds a batch norm: its exact gradient is 0, both are rounding noise
            continue
        scale = float(np.abs(b.grad.numpy()).max())
        np.testing.assert_allclose(_host(a.grad), b.grad.numpy(), rtol=0.1, atol=0.15 * scale)


def test_small_model_batch_norm_keeps_bfloat16():
    """PyTorch's mixed-type norms (not an autocast rule): a bfloat16 input with float32 weights stays bfloat16."""
    _, _, ours, theirs = _model_outputs()
    assert _names(ours) == _names(theirs)


def test_grad_scaler_on_the_cpu():
    """torch.amp.GradScaler("cpu") with a bfloat16 autocast step: scaled loss, unscaled float32 grads, a step."""
    w0 = randn(4, 3)
    results = []
    for m, scaler_cls, block in ((lucid, amp.GradScaler, amp.autocast), (torch, torch.amp.GradScaler,
                                                                          torch.autocast)):
        w = m.tensor(w0).requires_grad_(True)
        opt = m.optim.SGD([w], lr=0.1)
        scaler = scaler_cls("cpu")
        with block("cpu"):
            loss = (m.ones(2, 4) @ w).float().pow(2).mean()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        results.append((np.asarray(w.detach().numpy()), float(scaler.get_scale())))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=2e-2, atol=2e-2)
    assert results[0][1] == results[1][1]
