"""lucid.amp: autocast's casting policy (per op class, nesting, decorator, threads, the cast
cache, gradients back to float32 leaves) and GradScaler (scaling, unscaling, skipped steps,
scale growth and backoff, state_dict), with PyTorch's GradScaler as an oracle.

The autocast tests here check the CUDA table and its float16 default; with no GPU they run it on the test
devices' arrays (the ``cuda_table`` fixture). The CPU table is checked against PyTorch in
test_autocast_cpu_oracle.py."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import lucid
import lucid.amp as amp
import lucid.nn.functional as F
from lucid import optim
from lucid.autograd import function


@pytest.fixture(autouse=True)
def cuda_table(monkeypatch):
    """Every device type follows the CUDA policy table, with its float16 default."""
    module = sys.modules["lucid.amp.autocast"]
    monkeypatch.setattr(module, "_table", lambda device_type: "cuda")
    monkeypatch.setattr(module, "_DEFAULT_DTYPES", {})


def half_ok(device):
    if not device.backend.supports(lucid.float16):
        pytest.skip(f"the {device.backend.name} backend has no float16")


def t(rng, *shape, device, dtype=lucid.float32, requires_grad=False):
    return lucid.tensor(rng.standard_normal(shape).astype(np.float32), dtype=dtype, device=device,
                        requires_grad=requires_grad)


def host(x):
    return np.asarray(x.detach().numpy(force=True), dtype=np.float64)


# ---- autocast: which ops run in which dtype -------------------------------------------------
def test_matmul_runs_in_float16_and_softmax_in_float32(device, rng):
    half_ok(device)
    a, b = t(rng, 8, 16, device=device), t(rng, 16, 4, device=device)
    h = t(rng, 3, 5, device=device, dtype=lucid.float16)
    with amp.autocast(device.type):
        y = a @ b
        s = h.softmax(dim=-1)
    assert y.dtype is lucid.float16 and s.dtype is lucid.float32
    np.testing.assert_allclose(host(y), host(a) @ host(b), rtol=2e-2, atol=2e-2)
    e = np.exp(host(h) - host(h).max(-1, keepdims=True))
    np.testing.assert_allclose(host(s), e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-6)
    # outside the block nothing is cast
    assert (a @ b).dtype is lucid.float32 and h.softmax(dim=-1).dtype is lucid.float16


def test_lower_precision_ops(device, rng):
    half_ok(device)
    x, w, bias = t(rng, 4, 6, device=device), t(rng, 3, 6, device=device), t(rng, 3, device=device)
    img, k = t(rng, 2, 3, 8, 8, device=device), t(rng, 4, 3, 3, 3, device=device)
    q = t(rng, 2, 5, 8, device=device)
    with amp.autocast(device.type):
        outs = {
            "linear": F.linear(x, w, bias), "mm": lucid.mm(x, w.mT), "bmm": lucid.bmm(q, q.mT),
            "einsum": lucid.einsum("ij,kj->ik", x, w), "conv2d": F.conv2d(img, k, padding=1),
            "conv_transpose2d": F.conv_transpose2d(img, k.permute(1, 0, 2, 3)),
            "sdpa": F.scaled_dot_product_attention(q, q, q, is_causal=True),
        }
    assert {name: y.dtype for name, y in outs.items()} == {name: lucid.float16 for name in outs}
    np.testing.assert_allclose(host(outs["linear"]), host(x) @ host(w).T + host(bias), rtol=2e-2, atol=2e-2)


def test_float32_ops(device, rng):
    half_ok(device)
    h = t(rng, 4, 6, device=device, dtype=lucid.float16)
    target = lucid.tensor([0, 2, 1, 5], device=device)
    with amp.autocast(device.type):
        outs = {
            "log_softmax": h.log_softmax(dim=1), "cross_entropy": F.cross_entropy(h, target),
            "layer_norm": F.layer_norm(h, (6,)), "exp": h.exp(), "log": h.abs().log(), "pow": h ** 2,
            "sum": h.sum(), "mean": h.mean(dim=0), "var": h.var(dim=1), "std": h.std(), "norm": lucid.norm(h),
            "mse_loss": F.mse_loss(h, h.detach() * 0), "softplus": F.softplus(h),
        }
    assert {name: y.dtype for name, y in outs.items()} == {name: lucid.float32 for name in outs}


def test_untouched_inputs(device, rng):
    """No policy: ops keep their dtype (mixed inputs promote); float64 and integers never change."""
    half_ok(device)
    h, f = t(rng, 3, 3, device=device, dtype=lucid.float16), t(rng, 3, 3, device=device)
    d = t(rng, 3, 3, device=device, dtype=lucid.float64)
    i = lucid.tensor(np.arange(9).reshape(3, 3), device=device)
    with amp.autocast(device.type):
        assert (h + h).dtype is lucid.float16 and F.relu(f).dtype is lucid.float32 and (h * f).dtype is lucid.float32
        assert (d @ d).dtype is lucid.float64 and d.exp().dtype is lucid.float64 and (i @ i).dtype is lucid.int64


def test_nesting_disabling_and_other_device_types(device, rng):
    half_ok(device)
    a = t(rng, 4, 4, device=device)
    other = "cuda" if device.type != "cuda" else "cpu"
    assert not amp.is_autocast_enabled(device.type)
    with amp.autocast(device.type):
        assert amp.is_autocast_enabled(device.type) and (a @ a).dtype is lucid.float16
        with amp.autocast(device.type, enabled=False):
            assert not amp.is_autocast_enabled(device.type) and (a @ a).dtype is lucid.float32
            with amp.autocast(device.type):
                assert (a @ a).dtype is lucid.float16
            assert (a @ a).dtype is lucid.float32
        assert (a @ a).dtype is lucid.float16
    with amp.autocast(other):  # autocast for another device type leaves these tensors alone
        assert (a @ a).dtype is lucid.float32
    assert not amp.is_autocast_enabled(device.type) and (a @ a).dtype is lucid.float32
    assert function.interceptors == ()  # nothing left on the hot path


def test_decorator(device, rng):
    half_ok(device)

    @amp.autocast(device.type)
    def forward(x):
        return x @ x

    a = t(rng, 3, 3, device=device)
    assert forward(a).dtype is lucid.float16 and forward(a).dtype is lucid.float16
    assert (a @ a).dtype is lucid.float32 and forward.__name__ == "forward"


def test_state_is_thread_local(device, rng):
    half_ok(device)
    a = t(rng, 3, 3, device=device)
    seen = []
    worker = threading.Thread(target=lambda: seen.append((a @ a).dtype))
    with amp.autocast(device.type):
        worker.start()
        worker.join()
        assert (a @ a).dtype is lucid.float16
    assert seen == [lucid.float32]


def test_gradients_reach_float32_leaves(device, rng):
    """float16 matmuls feeding float32 losses: float32 leaves get float32 gradients close to
    the float32 ones (float16 rounding only)."""
    half_ok(device)
    x = t(rng, 16, 8, device=device)
    w1, w2 = t(rng, 8, 4, device=device, requires_grad=True), t(rng, 8, 3, device=device, requires_grad=True)
    target = lucid.tensor(rng.integers(0, 4, 16), device=device)

    def loss_fn():
        return F.cross_entropy(x @ w1, target) + F.log_softmax(x @ w2, dim=1).exp().square().mean()

    with amp.autocast(device.type):
        loss = loss_fn()
    assert loss.dtype is lucid.float32
    loss.backward()
    got = [host(w.grad) for w in (w1, w2)]
    assert w1.grad.dtype is lucid.float32 and w2.grad.dtype is lucid.float32
    w1.grad = w2.grad = None
    loss_fn().backward()
    for g, ref in zip(got, (host(w1.grad), host(w2.grad))):
        np.testing.assert_allclose(g, ref, rtol=5e-2, atol=5e-3)


def test_mixed_operands_are_cast(device, rng):
    """A float16 activation meets float32 weights (the next layer of every network): the op casts
    both to float16 instead of refusing mixed dtypes, and gradients still reach the weights."""
    half_ok(device)
    x = t(rng, 16, 8, device=device)
    model = lucid.nn.Sequential(lucid.nn.Linear(8, 32), lucid.nn.ReLU(), lucid.nn.Linear(32, 4)).to(device)
    img, k1, k2 = (t(rng, 2, 3, 8, 8, device=device), t(rng, 4, 3, 3, 3, device=device),
                   t(rng, 5, 4, 3, 3, device=device))
    with amp.autocast(device.type):
        h = F.relu(x @ t(rng, 8, 8, device=device))  # float16
        outs = [model(x), h @ t(rng, 8, 2, device=device), F.conv2d(F.relu(F.conv2d(img, k1, padding=1)), k2),
                F.scaled_dot_product_attention(h[None], h[None], h[None], attn_mask=t(rng, 16, 16, device=device))]
    assert [y.dtype for y in outs] == [lucid.float16] * 4
    outs[0].float().sum().backward()
    assert all(p.grad is not None and p.grad.dtype is lucid.float32 for p in model.parameters())


def test_parameter_cast_cache(device, rng):
    """A parameter used twice in one block is cast once; an in-place change or a change of grad
    mode makes a new cast, so values and gradients stay right."""
    half_ok(device)
    w = t(rng, 4, 4, device=device, requires_grad=True)
    x = t(rng, 2, 4, device=device)
    with amp.autocast(device.type):
        y1, y2 = x @ w, x @ w
        assert y1.grad_fn._edges[1][0] is y2.grad_fn._edges[1][0]  # one ToCopy node feeds both
        with lucid.no_grad():
            y3 = x @ w
            w.mul_(2.0)
        y4 = x @ w
        assert not y3.requires_grad and y4.requires_grad
        (y1.sum() + y4.sum()).backward()
    np.testing.assert_allclose(host(y4), host(x) @ host(w), rtol=2e-2, atol=2e-2)
    np.testing.assert_allclose(host(w.grad), 2 * host(x).sum(0)[:, None].repeat(4, 1), rtol=2e-2, atol=2e-2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="device_type"):
        amp.autocast("tpu")
    with pytest.raises(ValueError, match="device_type"):
        amp.autocast("cuda:0")
    with pytest.raises(ValueError, match="16-bit"):
        amp.autocast("cpu", dtype=lucid.float32)


def test_policy_table_is_applied(monkeypatch):
    monkeypatch.undo()  # the real tables
    from lucid.ops.linalg import Cholesky
    from lucid.ops.reduction import Std

    assert amp.policy_for(Std.autocast_policy, "cuda") == amp.FLOAT32  # Std inherits Var's
    assert amp.policy_for(Std.autocast_policy, "cpu") is None
    assert amp.policy_for(Cholesky.autocast_policy, "cpu") == amp.FLOAT32
    assert amp.policy_for(lucid.ops.linalg.MatMul.autocast_policy, "strict") == amp.LOWER
    assert lucid.ops.arithmetic.Add.autocast_policy is None
    with pytest.raises(ValueError, match="autocast policy"):
        amp.autocast_op({"gpu": amp.LOWER})


def test_exactly_these_ops_have_an_autocast_policy():
    """The policy lives on each Function class; this pins which ops autocast casts, and how, per device type."""
    found, stack = {}, [lucid.autograd.Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            if vars(sub).get("autocast_policy") is not None:
                found[f"{sub.__module__.rsplit('.', 1)[-1]}.{sub.__name__}"] = sub.autocast_policy
            stack.append(sub)
    lower, float32 = amp.LOWER, amp.FLOAT32
    cuda, cpu = {"cuda": float32}, {"cpu": float32}
    assert found == {
        "linalg.MatMul": lower, "linalg.VectorNorm": cuda, "linears.LinearFunction": lower,
        "attention.Attention": lower, "recurrent.RecurrentFunction": lower,
        "softmaxes.SoftmaxFunction": cuda, "softmaxes.LogSoftmaxFunction": cuda, "normalization.Normalize": cuda,
        "loss.NLLLoss": float32, "loss.BinaryCrossEntropy": float32, "loss.CTCLossFunction": float32,
        "loss.BinaryCrossEntropyWithLogits": float32, "activation.Softplus": cuda, "arithmetic.Pow": cuda,
        **{f"linalg.{name}": cpu for name in ("Inv", "Solve", "Cholesky", "QR", "SVD")},
        **{f"decompositions.{name}": cpu for name in ("_Eigh", "_Eig", "_Pinv")},
        **{f"spectral.{name}": cpu for name in ("FFTn", "RFFTn", "IRFFTn")},
        "unpooling.MaxUnpool": cpu,
        **{f"elementwise.{name}": cuda for name in (
            "Exp", "Expm1", "Log", "Log2", "Log10", "Log1p", "Rsqrt", "Reciprocal", "Tan", "Sinh", "Cosh",
            "Asin", "Acos")},
        **{f"reduction.{name}": cuda for name in ("Sum", "Var", "LogSumExp", "Cumsum", "Cumprod")},
        "reduction.Prod": float32,
    }


def test_composites_are_one_op(device, rng):
    """A composite declared with autocast_op casts its arguments once and runs its body with autocast off:
    ``addmm`` gives float16 even with a float32 ``input`` (the add would promote otherwise), ``mse_loss`` of float16
    inputs runs in float32; ``index_copy`` promotes on the CPU table only."""
    half_ok(device)
    a, b, c = t(rng, 3, 4, device=device), t(rng, 4, 5, device=device), t(rng, 3, 5, device=device)
    h = t(rng, 4, device=device, dtype=lucid.float16)
    with amp.autocast(device.type):
        assert lucid.addmm(c, a, b).dtype is lucid.float16
        assert F.mse_loss(h, h * 0).dtype is lucid.float32
        assert amp.is_autocast_enabled(device.type)  # restored after the composite
    np.testing.assert_allclose(host(lucid.addmm(c, a, b)), host(c) + host(a) @ host(b), rtol=1e-5, atol=1e-5)


# ---- GradScaler -----------------------------------------------------------------------------
def params_and_opt(device, rng, **kw):
    p = [t(rng, 3, 2, device=device, requires_grad=True), t(rng, 2, device=device, requires_grad=True)]
    return p, optim.SGD(p, lr=0.1, **kw)


def set_grads(params, grads, device):
    for p, g in zip(params, grads):
        p.grad = lucid.tensor(np.asarray(g, dtype=np.float32), device=device)


def test_scale(device, rng):
    scaler = amp.GradScaler(init_scale=8.0)
    x = t(rng, 3, device=device)
    np.testing.assert_allclose(host(scaler.scale(x)), 8 * host(x))
    a, b = scaler.scale([x, x * 2])
    np.testing.assert_allclose(host(b), 16 * host(x))
    assert scaler.scale(x).dtype is lucid.float32 and scaler.get_scale() == 8.0
    with pytest.raises(TypeError, match="Tensor"):
        scaler.scale(3.0)
    off = amp.GradScaler(enabled=False)
    assert off.scale(x) is x and off.get_scale() == 1.0 and off.state_dict() == {}


def test_unscale_divides_grads_and_step_uses_them(device, rng):
    params, opt = params_and_opt(device, rng)
    start = [host(p) for p in params]
    grads = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    scaler = amp.GradScaler(init_scale=4.0)
    scaler.scale(lucid.zeros((), device=device))  # the loss a real step scales (PyTorch's scaler starts there)
    set_grads(params, [4 * np.asarray(g) for g in grads], device)
    scaler.unscale_(opt)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(host(p.grad), g, rtol=1e-6)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)  # does not unscale a second time
    for p, s, g in zip(params, start, grads):
        np.testing.assert_allclose(host(p), s - 0.1 * np.asarray(g), rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="already been called since the last update"):
        scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 4.0


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_grads_skip_the_step_and_back_off(device, rng, bad):
    params, opt = params_and_opt(device, rng, momentum=0.9)
    start = [host(p) for p in params]
    scaler = amp.GradScaler(init_scale=1024.0, growth_interval=2)
    scaler.scale(lucid.zeros((), device=device))
    scaler.update(2048.0)  # explicit scale
    g0 = rng.standard_normal((3, 2))
    g0[1, 0] = bad
    set_grads(params, [g0, rng.standard_normal(2)], device)
    assert scaler.step(opt) is None
    for p, s in zip(params, start):
        np.testing.assert_array_equal(host(p), s)
    assert opt.state[params[0]] == {} or opt.state[params[0]].get("momentum_buffer") is None
    scaler.update()
    assert scaler.get_scale() == 1024.0 and scaler.state_dict()["_growth_tracker"] == 0


def test_growth_after_growth_interval_clean_steps(device, rng):
    params, opt = params_and_opt(device, rng)
    scaler = amp.GradScaler(init_scale=2.0, growth_factor=3.0, backoff_factor=0.25, growth_interval=3)
    history = []
    for step in range(8):
        grads = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
        if step == 5:
            grads[1][0] = np.nan
        set_grads(params, grads, device)
        scaler.scale(lucid.zeros((), device=device))
        scaler.step(opt)
        scaler.update()
        history.append(scaler.get_scale())
    assert history == [2.0, 2.0, 6.0, 6.0, 6.0, 1.5, 1.5, 1.5]


def test_state_dict_round_trip(device, rng):
    params, opt = params_and_opt(device, rng)
    scaler = amp.GradScaler(init_scale=16.0, growth_factor=4.0, backoff_factor=0.125, growth_interval=5)
    scaler.scale(lucid.zeros((), device=device))
    set_grads(params, [rng.standard_normal((3, 2)), rng.standard_normal(2)], device)
    scaler.step(opt)
    scaler.update()
    state = scaler.state_dict()
    assert state == {"scale": 16.0, "growth_factor": 4.0, "backoff_factor": 0.125, "growth_interval": 5,
                     "_growth_tracker": 1}
    other = amp.GradScaler()
    other.load_state_dict(state)
    assert other.state_dict() == state
    with pytest.raises(RuntimeError, match="empty"):
        other.load_state_dict({})


def test_scaler_misuse(device, rng):
    params, opt = params_and_opt(device, rng)
    scaler = amp.GradScaler()
    set_grads(params, [np.ones((3, 2)), np.ones(2)], device)
    for call in (scaler.update, lambda: scaler.unscale_(opt), lambda: scaler.step(opt)):
        with pytest.raises(AssertionError, match=r"did not use scaler\.scale"):  # as PyTorch: nothing was scaled
            call()
    assert host(params[1].grad).tolist() == [1.0, 1.0]  # untouched
    for p in params:
        p.grad = None
    scaler.scale(lucid.zeros((), device=device))
    with pytest.raises(RuntimeError, match="No inf checks"):
        scaler.update()
    with pytest.raises(RuntimeError, match="Closure"):
        scaler.step(opt, closure=lambda: None)
    with pytest.raises(RuntimeError, match="none of its parameters has a gradient"):
        scaler.step(opt)
    for kwargs in (dict(growth_factor=1.0), dict(backoff_factor=1.0), dict(growth_interval=0), dict(init_scale=0)):
        with pytest.raises(ValueError):
            amp.GradScaler(**kwargs)


def test_float16_gradients_are_refused(device, rng):
    half_ok(device)
    p = t(rng, 3, device=device, dtype=lucid.float16, requires_grad=True)
    p.grad = lucid.ones(3, dtype=lucid.float16, device=device)
    scaler = amp.GradScaler()
    scaler.scale(lucid.zeros((), device=device))
    with pytest.raises(ValueError, match="float16 gradients"):
        scaler.unscale_(optim.SGD([p], lr=0.1))


def test_disabled_scaler_just_steps(device, rng):
    params, opt = params_and_opt(device, rng)
    start = host(params[1])
    set_grads(params, [np.ones((3, 2)), np.ones(2)], device)
    scaler = amp.GradScaler(enabled=False)
    scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    np.testing.assert_allclose(host(params[1]), start - 0.1, rtol=1e-6)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_mixed_precision_training_loop(device, rng):
    """autocast + GradScaler end to end: the first steps overflow float16 and are skipped (the
    scale backs off), then the loss goes down; parameters stay float32."""
    half_ok(device)
    x = t(rng, 64, 8, device=device)
    y = x @ t(rng, 8, 1, device=device)
    model = lucid.nn.Linear(8, 1).to(device)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = amp.GradScaler(growth_interval=10)
    losses, scales = [], []
    for _ in range(40):
        opt.zero_grad()
        with amp.autocast(device.type):
            loss = F.mse_loss(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
        scales.append(scaler.get_scale())
    assert min(scales) < 2.0**16  # float16 gradients overflowed at the initial scale: steps were skipped
    assert losses[-1] < 0.2 * losses[0]
    assert all(p.dtype is lucid.float32 for p in model.parameters())


def test_scale_trajectory_matches_torch(rng):
    torch = pytest.importorskip("torch")
    pattern = [False, False, True, False, False, False, True, True, False, False, False, False]
    ours = amp.GradScaler(init_scale=256.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=3)
    ref = torch.amp.GradScaler("cpu", init_scale=256.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=3)
    p_ours = lucid.tensor(np.zeros(2, np.float32), requires_grad=True)
    p_ref = torch.zeros(2, requires_grad=True)
    opt_ours, opt_ref = optim.SGD([p_ours], lr=0.1), torch.optim.SGD([p_ref], lr=0.1)
    for bad in pattern:
        ours.scale(lucid.zeros(()))
        ref.scale(torch.zeros(()))  # PyTorch's scaler starts on its first scale() call
        g = rng.standard_normal(2).astype(np.float32) * ours.get_scale()
        if bad:
            g[0] = np.inf
        p_ours.grad = lucid.tensor(g)
        p_ref.grad = torch.tensor(g)
        ours.step(opt_ours)
        ref.step(opt_ref)
        ours.update()
        ref.update()
        assert ours.get_scale() == ref.get_scale()
        np.testing.assert_allclose(p_ours.detach().numpy(), p_ref.detach().numpy(), rtol=1e-6, atol=1e-7)
