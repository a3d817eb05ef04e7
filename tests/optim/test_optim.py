"""lucid.optim: trajectories against PyTorch (oracle) and against NumPy formulas of the
documented algorithms, state_dict round trips, foreach, in-place updates, and bad input."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

import lucid
from lucid import optim

# (optimizer, options): every option each optimizer has is exercised by at least one entry
CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.9), amsgrad=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.05, amsgrad=True)),
    ("Adamax", dict(lr=0.05, weight_decay=0.1)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, momentum_decay=0.01)),
    ("RAdam", dict(lr=0.05, betas=(0.9, 0.99))),
    ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2, maximize=True)),
    ("Adadelta", dict(lr=1.0)),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1)),
    ("Rprop", dict(lr=0.01)),
    ("Rprop", dict(lr=0.02, etas=(0.4, 1.5), step_sizes=(1e-3, 0.05), maximize=True)),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=2)),
    ("ASGD", dict(lr=0.05, weight_decay=0.1)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CONFIGS)]


def leaf(array, device, dtype=None):
    """A fresh leaf tensor requiring grad (its own copy of ``array``)."""
    return lucid.tensor(np.array(array, copy=True), dtype=dtype, device=device, requires_grad=True)


def host(t):
    """A host copy (``numpy()`` shares memory on the CPU, and the optimizer updates in place)."""
    return np.array(t.detach().numpy(force=True), copy=True)


# ---- the two problems -------------------------------------------------------------------
def quadratic(rng, dtype=np.float32):
    """Initial values and ``loss(params, lib)`` of sum_i a_i (p_i - c_i)^2 over three params."""
    shapes = [(3, 4), (4,), ()]
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    a = [rng.uniform(0.5, 2.0, s).astype(dtype) for s in shapes]
    c = [rng.standard_normal(s).astype(dtype) for s in shapes]

    def loss(params, const):
        return sum((((p - const(ci)) ** 2) * const(ai)).sum() for p, ai, ci in zip(params, a, c))

    return init, loss


def mlp(rng, dtype=np.float32):
    """Initial values and ``loss`` of a 4-5-3 tanh MLP regressing random targets."""
    x = rng.standard_normal((6, 4)).astype(dtype)
    y = rng.standard_normal((6, 3)).astype(dtype)
    init = [rng.standard_normal(s).astype(dtype) * 0.5 for s in [(4, 5), (5,), (5, 3), (3,)]]

    def loss(params, const):
        w1, b1, w2, b2 = params
        h = (const(x) @ w1 + b1).tanh()
        return ((h @ w2 + b2 - const(y)) ** 2).mean()

    return init, loss


PROBLEMS = {"quadratic": quadratic, "mlp": mlp}


def lucid_run(name, kwargs, init, loss, device, steps, **extra):
    """Parameter values after each of ``steps`` steps (and the optimizer)."""
    params = [leaf(x, device) for x in init]
    opt = getattr(optim, name)(params, **kwargs, **extra)
    const = lambda v: lucid.tensor(v, device=device)  # noqa: E731
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        loss(params, const).backward()
        opt.step()
        trajectory.append([host(p) for p in params])
    return trajectory, opt, params


# ---- against PyTorch ---------------------------------------------------------------------
@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_trajectory_matches_torch(device, name, kwargs, problem):
    torch = pytest.importorskip("torch")
    init, loss = PROBLEMS[problem](np.random.default_rng(1))
    steps = 8
    ours, _, _ = lucid_run(name, kwargs, init, loss, device, steps)
    params = [torch.tensor(x, requires_grad=True) for x in init]
    opt = getattr(torch.optim, name)(params, foreach=False, **kwargs)
    for step in range(steps):
        opt.zero_grad()
        loss(params, torch.tensor).backward()
        opt.step()
        for mine, theirs in zip(ours[step], params):
            np.testing.assert_allclose(mine, theirs.detach().numpy(), rtol=2e-5, atol=2e-6,
                                       err_msg=f"{name} {kwargs} step {step + 1}")


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_complex_parameters_step_as_torchs_float_pairs(device, name, kwargs, foreach):
    """A complex parameter steps as PyTorch's ``view_as_real`` of it (each part its own moments), its state
    complex; a real one beside it (so ``foreach`` has a bucket) steps as usual."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    z0 = (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(np.complex64)
    c = (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(np.complex64)
    w0, a = rng.standard_normal(4).astype(np.float32), rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
    sign = -1 if kwargs.get("maximize") else 1  # a bounded problem either way

    def run(const, params, opt):
        for _ in range(6):
            opt.zero_grad()
            z, w = params
            (sign * (z - const(c)).abs() ** 2 * const(a) * (w.cos() + 2)).sum().backward()
            opt.step()
        return [host(p) for p in params]

    params = [leaf(z0, device), leaf(w0, device)]
    opt = getattr(optim, name)(params, foreach=foreach, **kwargs)
    ours = run(lambda v: lucid.tensor(v, device=device), params, opt)
    params = [torch.tensor(z0, requires_grad=True), torch.tensor(w0, requires_grad=True)]
    theirs = run(torch.tensor, params, getattr(torch.optim, name)(params, foreach=False, **kwargs))
    for mine, their in zip(ours, theirs):
        np.testing.assert_allclose(mine, their, rtol=2e-5, atol=2e-6, err_msg=f"{name} {kwargs}")
    state = opt.state[opt.param_groups[0]["params"][0]]
    arrays = [v for k, v in state.items() if isinstance(v, lucid.Tensor) and k not in opt.scalar_state]
    assert all(v.dtype is lucid.complex64 for v in arrays)


def test_optimizers_refusing_complex_parameters_say_so(device):
    z = leaf(np.ones((2, 2), np.complex64), device)
    for make in (optim.LBFGS, optim.Adafactor, optim.Muon):  # PyTorch's Adafactor and Muon refuse them too
        with pytest.raises(TypeError, match=f"{make.__name__} does not support complex parameters"):
            make([z])


# ---- against the documented algorithms, in NumPy (no torch needed) ----------------------------
def _sgd(x, g, s, t, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    g = (-g if maximize else g) + weight_decay * x
    if momentum:
        s["b"] = g if t == 1 else momentum * s["b"] + (1 - dampening) * g
        g = g + momentum * s["b"] if nesterov else s["b"]
    return x - lr * g


def _adam(x, g, s, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
          decoupled_weight_decay=False):
    b1, b2 = betas
    g = -g if maximize else g
    if decoupled_weight_decay:
        x = x * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * x
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
    s["vmax"] = np.maximum(s.get("vmax", 0), s["v"]) if amsgrad else s["v"]
    m_hat, v_hat = s["m"] / (1 - b1 ** t), s["vmax"] / (1 - b2 ** t)
    return x - lr * m_hat / (np.sqrt(v_hat) + eps)


def _adamw(x, g, s, t, weight_decay=1e-2, **kw):
    return _adam(x, g, s, t, weight_decay=weight_decay, decoupled_weight_decay=True, **kw)


def _adamax(x, g, s, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
    b1, b2 = betas
    g = g + weight_decay * x
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["u"] = np.maximum(b2 * s.get("u", 0), np.abs(g) + eps)
    return x - lr / (1 - b1 ** t) * s["m"] / s["u"]


def _nadam(x, g, s, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
           decoupled_weight_decay=False):
    b1, b2 = betas
    if decoupled_weight_decay:
        x = x * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * x
    mu = [b1 * (1 - 0.5 * 0.96 ** (i * momentum_decay)) for i in range(1, t + 2)]
    # the running product mu_1 ... mu_t is kept in float32, as PyTorch's state tensor keeps it
    s["prod"] = float(np.float32(s.get("prod", 1.0)) * np.float32(mu[t - 1]))
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
    denom = np.sqrt(s["v"] / (1 - b2 ** t)) + eps
    return (x - lr * (1 - mu[t - 1]) / (1 - s["prod"]) * g / denom
            - lr * mu[t] / (1 - s["prod"] * mu[t]) * s["m"] / denom)


def _radam(x, g, s, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False):
    b1, b2 = betas
    if decoupled_weight_decay:
        x = x * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * x
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
    m_hat = s["m"] / (1 - b1 ** t)
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
    if rho <= 5:
        return x - lr * m_hat
    adaptive = np.sqrt(1 - b2 ** t) / (np.sqrt(s["v"]) + eps)
    rect = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    return x - lr * m_hat * adaptive * rect


def _adagrad(x, g, s, t, lr, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False):
    g = (-g if maximize else g) + weight_decay * x
    s["sum"] = s.get("sum", initial_accumulator_value) + g * g
    return x - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s["sum"]) + eps)


def _adadelta(x, g, s, t, lr, rho=0.9, eps=1e-6, weight_decay=0):
    g = g + weight_decay * x
    s["v"] = rho * s.get("v", 0) + (1 - rho) * g * g
    delta = np.sqrt(s.get("u", 0) + eps) / np.sqrt(s["v"] + eps) * g
    s["u"] = rho * s.get("u", 0) + (1 - rho) * delta * delta
    return x - lr * delta


def _rmsprop(x, g, s, t, lr, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False):
    g = g + weight_decay * x
    s["v"] = alpha * s.get("v", 0) + (1 - alpha) * g * g
    v = s["v"]
    if centered:
        s["mean"] = alpha * s.get("mean", 0) + (1 - alpha) * g
        v = v - s["mean"] ** 2
    if momentum:
        s["b"] = momentum * s.get("b", 0) + g / (np.sqrt(v) + eps)
        return x - lr * s["b"]
    return x - lr * g / (np.sqrt(v) + eps)


def _rprop(x, g, s, t, lr, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False):
    g = -g if maximize else g
    size, prev = s.get("size", np.full_like(x, lr)), s.get("prev", np.zeros_like(x))
    same, flip = g * prev > 0, g * prev < 0
    size = np.where(same, np.minimum(size * etas[1], step_sizes[1]),
                    np.where(flip, np.maximum(size * etas[0], step_sizes[0]), size))
    g = np.where(flip, 0.0, g)
    s["size"], s["prev"] = size, g
    return x - np.sign(g) * size


def _asgd(x, g, s, t, lr, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0):
    g = g + weight_decay * x
    eta, mu = s.get("eta", float(np.float32(lr))), s.get("mu", 1.0)
    x = x * (1 - lambd * eta) - eta * g
    s["ax"] = x if mu == 1 else s["ax"] + mu * (x - s["ax"])
    # eta and mu are kept in float32, as PyTorch's state tensors keep them
    s["eta"], s["mu"] = (float(np.float32(v)) for v in (lr / (1 + lambd * lr * t) ** alpha, 1 / max(1, t - t0)))
    return x


REFERENCE = {"SGD": _sgd, "Adam": _adam, "AdamW": _adamw, "Adamax": _adamax, "NAdam": _nadam, "RAdam": _radam,
             "Adagrad": _adagrad, "Adadelta": _adadelta, "RMSprop": _rmsprop, "Rprop": _rprop, "ASGD": _asgd}


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_matches_documented_update(device, name, kwargs):
    """Three steps (RAdam: nine, to reach its rectified phase) in float64 on
    f(x) = sum a (x - c)^2, whose gradient is 2 a (x - c)."""
    rng = np.random.default_rng(2)
    a, c = rng.uniform(0.5, 2.0, 5), rng.standard_normal(5)
    x_ref = rng.standard_normal(5)
    x = leaf(x_ref, device)
    opt = getattr(optim, name)([x], **kwargs)
    state = {}
    for t in range(1, (9 if name == "RAdam" else 3) + 1):
        x_ref = REFERENCE[name](x_ref, 2 * a * (x_ref - c), state, t, **kwargs)
        opt.zero_grad()
        (lucid.tensor(a, device=device) * (x - lucid.tensor(c, device=device)) ** 2).sum().backward()
        opt.step()
        np.testing.assert_allclose(host(x), x_ref, rtol=1e-10, atol=1e-12, err_msg=f"step {t}")
    if name == "ASGD":
        np.testing.assert_allclose(host(opt.state[x]["ax"]), state["ax"], rtol=1e-10)


# ---- foreach, in-place updates, state ------------------------------------------------------
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_foreach_equals_the_loop(device, name, kwargs):
    init, loss = mlp(np.random.default_rng(3))
    loop, opt_loop, p_loop = lucid_run(name, kwargs, init, loss, device, 4, foreach=False)
    flat, opt_flat, p_flat = lucid_run(name, kwargs, init, loss, device, 4, foreach=True)
    assert opt_flat._layouts and not opt_loop._layouts  # the flat path ran
    for a, b in zip(loop, flat):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    for p, q in zip(p_loop, p_flat):
        s, t = opt_loop.state[p], opt_flat.state[q]
        assert s.keys() == t.keys()
        for k in s:
            if isinstance(s[k], lucid.Tensor):  # scalar state (step, ...) sits on the CPU, as PyTorch's
                assert t[k].shape == s[k].shape
                assert t[k].device == device or k in opt_flat.scalar_state and t[k].device.type == "cpu"
                np.testing.assert_array_equal(host(s[k]), host(t[k]))
            else:
                assert s[k] == t[k]


@pytest.mark.parametrize("name,kwargs", [CONFIGS[4], CONFIGS[2]], ids=["Adam", "SGD"])
def test_foreach_with_changing_parameter_sets(device, name, kwargs):
    """Parameters that skip steps (no grad) get their own step counts: foreach falls back to
    the loop where the scalar state differs and rebuilds its flat layout as the set changes."""
    init, loss = mlp(np.random.default_rng(9))
    runs = []
    for foreach in (False, True):
        params = [leaf(x, device) for x in init]
        opt = getattr(optim, name)(params, foreach=foreach, **kwargs)
        for step in range(6):
            opt.zero_grad()
            loss(params, lambda v: lucid.tensor(v, device=device)).backward()
            if step % 3 == 1:
                params[1].grad = None  # b1 sits this step out
            if step == 4:
                params[3].grad = None
            opt.step()
        runs.append(([host(p) for p in params], opt))
    for x, y in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(x, y)
    assert runs[1][1]._layouts  # the flat path ran for the parameters in step with each other


def _combos():
    """Every combination of the options of SGD, Adam and AdamW (the updates written in place)."""
    out = []
    for momentum, dampening, wd, nesterov, maximize in itertools.product((0, 0.9), (0, 0.3), (0, 0.01),
                                                                         (False, True), (False, True)):
        if not nesterov or (momentum and not dampening):
            out.append(("SGD", dict(lr=0.05, momentum=momentum, dampening=dampening, weight_decay=wd,
                                    nesterov=nesterov, maximize=maximize)))
    for amsgrad, wd, maximize, decoupled in itertools.product((False, True), (0, 0.1), (False, True), (False, True)):
        out.append(("Adam", dict(lr=0.05, betas=(0.8, 0.9), amsgrad=amsgrad, weight_decay=wd, maximize=maximize,
                                 decoupled_weight_decay=decoupled)))
        if not decoupled:
            out.append(("AdamW", dict(lr=0.05, amsgrad=amsgrad, weight_decay=wd, maximize=maximize)))
    return out


COMBOS = _combos()


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("name,kwargs", COMBOS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(COMBOS)])
def test_every_option_combination_matches_torch(device, name, kwargs, foreach):
    """Six steps on sum a (p - c)^2 (gradients given) over a parameter large enough to be updated in slices
    (add_scaled_), a vector and a 0-d one, against torch.optim (float32)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    shapes = [(600, 257), (7,), ()]
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    a = [rng.uniform(0.5, 2.0, s).astype(np.float32) for s in shapes]
    c = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ours = [leaf(x, device) for x in init]
    theirs = [torch.tensor(x, requires_grad=True) for x in init]
    opt = getattr(optim, name)(ours, foreach=foreach, **kwargs)
    topt = getattr(torch.optim, name)(theirs, foreach=False, **kwargs)
    for step in range(6):
        for p, t, ai, ci in zip(ours, theirs, a, c):  # both get the gradient 2 a (p - c) at torch's p
            g = 2 * ai * (t.detach().numpy() - ci)
            p.grad, t.grad = lucid.tensor(g, device=device), torch.tensor(g)
        opt.step()
        topt.step()
        for mine, t in zip(ours, theirs):
            np.testing.assert_allclose(host(mine), t.detach().numpy(), rtol=2e-5, atol=2e-6,
                                       err_msg=f"{name} {kwargs} step {step + 1}")
        for p, t in zip(ours, theirs):
            for k, v in topt.state[t].items():
                if k != "step":
                    np.testing.assert_allclose(host(opt.state[p][k]), v.numpy(), rtol=2e-5, atol=2e-6, err_msg=k)


@pytest.mark.parametrize("foreach", [False, True])
def test_update_is_in_place_on_the_parameter(device, foreach):
    p = leaf(np.ones((2, 3), np.float32), device)
    q = leaf(np.ones(3, np.float32), device)
    opt = optim.Adam([p, q], lr=0.1, foreach=foreach)
    for _ in range(2):
        storage, version = p._data, p._version[0]
        opt.zero_grad()
        ((p * 2.0).sum() + (q * 3.0).sum()).backward()
        grad_before = host(p.grad)
        opt.step()
        assert p._data is storage and p._version[0] > version and p.device == device
        assert opt.param_groups[0]["params"][0] is p
        np.testing.assert_array_equal(host(p.grad), grad_before)  # the gradient is left alone
    assert not np.allclose(host(p), 1.0)


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_0d_leaves_made_by_arithmetic_are_updated_as_by_torch(device, name, kwargs, foreach):
    """0-d leaves computed by arithmetic (``(torch.ones([]) * 2.5).requires_grad_()``), for which NumPy hands back
    a scalar rather than an array, are updated in place as PyTorch updates them: the update used to raise or leave
    them unchanged."""
    torch = pytest.importorskip("torch")

    def run(lib, device=None):
        a, b = ((lib.ones([], device=device) * v).requires_grad_() for v in (np.float64(2.5), 1.5))
        opt = getattr(lib.optim, name)([a, b], foreach=foreach, **kwargs)
        for _ in range(3):
            opt.zero_grad()
            (a * a * b).backward()
            opt.step()
        return a, b

    ours, theirs = run(lucid, device), run(torch)
    for mine, their in zip(ours, theirs):
        assert mine.device == device
        np.testing.assert_allclose(host(mine), their.detach().numpy(), rtol=2e-5, atol=2e-6)


def test_parameters_without_grad_are_skipped(device):
    used, unused = leaf([1.0, 2.0], device), leaf([3.0, 4.0], device)
    opt = optim.SGD([used, unused], lr=0.5, momentum=0.9)
    (used * used).sum().backward()
    opt.step()
    np.testing.assert_allclose(host(used), [0.0, 0.0])
    np.testing.assert_allclose(host(unused), [3.0, 4.0])
    assert unused not in opt.state and "momentum_buffer" in opt.state[used]


def test_amsgrad_keeps_its_running_max(device):
    rng = np.random.default_rng(4)
    p = leaf(rng.standard_normal(6), device)
    opt = optim.Adam([p], lr=0.1, betas=(0.5, 0.5), amsgrad=True)
    running = np.zeros(6)
    for scale in (3.0, 1.0, 0.1, 2.0):
        opt.zero_grad()
        (p * lucid.tensor(rng.standard_normal(6) * scale, device=device)).sum().backward()
        opt.step()
        running = np.maximum(running, host(opt.state[p]["exp_avg_sq"]))
        np.testing.assert_array_equal(host(opt.state[p]["max_exp_avg_sq"]), running)
    assert "max_exp_avg_sq" in opt.state_dict()["state"][0]


def test_param_groups_have_their_own_options(device):
    a, b = leaf([1.0, 1.0], device), leaf([2.0], device)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.0)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 0.5
    assert opt.param_groups[1]["momentum"] == 0.0
    ((a * a).sum() + (b * b).sum()).backward()
    opt.step()
    np.testing.assert_allclose(host(a), [1.0 - 0.1 * 2.0] * 2)
    np.testing.assert_allclose(host(b), [2.0 - 0.5 * 4.0])
    c = leaf([1.0], device)
    opt.add_param_group({"params": [c], "lr": 1.0})
    assert opt.param_groups[2]["momentum"] == 0.0 and len(opt.param_groups) == 3


def test_named_parameters_are_accepted(device):
    w = leaf([1.0], device)
    opt = optim.SGD([("w", w)], lr=0.1)
    assert opt.param_groups[0]["params"] == [w] and opt.param_groups[0]["param_names"] == ["w"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w"]


def test_nn_parameters_are_optimized(device):
    nn = pytest.importorskip("lucid.nn")
    w = nn.Parameter(lucid.tensor([1.0, -1.0], device=device))
    opt = optim.SGD([w], lr=0.25)
    (w * w).sum().backward()
    opt.step()
    assert isinstance(w, nn.Parameter)
    np.testing.assert_allclose(host(w), [0.5, -0.5])


def test_trains_a_module_and_resumes_from_a_checkpoint(device, tmp_path):
    """The usual loop: an optimizer over model.parameters() (a generator), a checkpoint of the
    model and optimizer state, and a resumed run that continues exactly."""
    nn = pytest.importorskip("lucid.nn")
    if not (hasattr(nn, "Linear") and hasattr(lucid, "save")):
        pytest.skip("needs nn.Linear and lucid.save")
    rng = np.random.default_rng(10)
    x = lucid.tensor(rng.standard_normal((16, 3)).astype(np.float32), device=device)
    y = lucid.tensor(rng.standard_normal((16, 2)).astype(np.float32), device=device)

    def build():
        lucid.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2)).to(device)
        return model, optim.AdamW(model.parameters(), lr=0.05)

    def train(model, opt, steps):
        losses = []
        for _ in range(steps):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(float(loss))
        return losses

    model, opt = build()
    first = train(model, opt, 10)
    assert first[-1] < first[0]
    lucid.save({"model": model.state_dict(), "optim": opt.state_dict()}, tmp_path / "ckpt.safetensors")
    expected = train(model, opt, 5)
    resumed_model, resumed_opt = build()
    checkpoint = lucid.load(tmp_path / "ckpt.safetensors")
    resumed_model.load_state_dict(checkpoint["model"])
    resumed_opt.load_state_dict(checkpoint["optim"])
    assert resumed_opt.param_groups[0]["params"] == list(resumed_model.parameters())
    assert train(resumed_model, resumed_opt, 5) == expected


def test_custom_optimizer_written_the_pytorch_way(device):
    class SignSGD(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        @lucid.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p -= group["lr"] * p.grad.sign()
                        self.state[p]["steps"] = self.state[p].get("steps", 0) + 1

    p = leaf([1.0, -2.0], device)
    opt = SignSGD([p])
    (p * p).sum().backward()
    opt.step()
    np.testing.assert_allclose(host(p), [0.9, -1.9])
    assert opt.state_dict()["state"] == {0: {"steps": 1}} and opt._opt_called


def test_required_option_must_be_given_by_every_group(device):
    """``lr=required`` (optimizers written as PyTorch's SGD): a group without it raises PyTorch's ValueError."""
    from lucid.optim.optimizer import required

    class LARS(optim.Optimizer):
        def __init__(self, params, lr=required, trust=0.001):
            super().__init__(params, dict(lr=lr, trust=trust))

    p, q = leaf([1.0], device), leaf([2.0], device)
    with pytest.raises(ValueError, match="didn't specify a value of required optimization parameter lr"):
        LARS([p])
    opt = LARS([{"params": [p], "lr": 0.5}, {"params": [q], "lr": 0.1, "trust": 0.01}])
    assert [(g["lr"], g["trust"]) for g in opt.param_groups] == [(0.5, 0.001), (0.1, 0.01)]
    assert repr(required) == "<required parameter>" and LARS([p], lr=0.2).param_groups[0]["lr"] == 0.2


def test_zero_grad(device):
    p = leaf([1.0, 2.0], device)
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and not grad.requires_grad
    np.testing.assert_array_equal(host(grad), [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_step_returns_the_closure_loss_and_lr_changes_apply(device):
    p = leaf([2.0], device)
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 4.0
    np.testing.assert_allclose(host(p), [1.6])
    opt.param_groups[0]["lr"] = 0.5
    opt.step(closure)
    np.testing.assert_allclose(host(p), [0.0], atol=1e-7)


def test_repr_lists_groups():
    text = repr(optim.Adam([leaf([1.0], "cpu")], lr=0.5))
    assert text.startswith("Adam (") and "Parameter Group 0" in text and "lr: 0.5" in text


def test_repr_with_several_groups_as_torch():
    """PyTorch's layout, a blank line between the groups included (a printed optimizer reads the same)."""
    torch = pytest.importorskip("torch")

    def text(lib):
        w, b = lib.ones(1, requires_grad=True), lib.ones(1, requires_grad=True)
        groups = [{"params": [w]}, {"params": [b], "lr": 0.5}]
        return repr(lib.optim.SGD(groups, lr=0.1, momentum=0.9))

    assert text(lucid) == text(torch)


# ---- state_dict ---------------------------------------------------------------------------------
def _resume_matches(name, kwargs, device, roundtrip, foreach=False):
    """Run 3 steps, save, run 3 more; a fresh optimizer on copies of the saved parameters that
    loads the saved state must produce the same 3 steps."""
    init, loss = mlp(np.random.default_rng(5))
    params = [leaf(x, device) for x in init]
    const = lambda v: lucid.tensor(v, device=device)  # noqa: E731
    opt = getattr(optim, name)(params, foreach=foreach, **kwargs)

    def run(opt, params):
        out = []
        for _ in range(3):
            opt.zero_grad()
            loss(params, const).backward()
            opt.step()
            out.append([host(p) for p in params])
        return out

    run(opt, params)
    saved = roundtrip(opt.state_dict())
    copies = [leaf(host(p), device) for p in params]
    expected = run(opt, params)
    fresh = getattr(optim, name)(copies, foreach=foreach, **kwargs)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["params"] == copies  # still the model's own tensors
    assert all(any(p is q for q in copies) for p in fresh.state)
    resumed = run(fresh, copies)
    for a, b in zip(expected, resumed):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    return opt, fresh


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_state_dict_round_trip_resumes_the_trajectory(device, name, kwargs):
    _resume_matches(name, kwargs, device, copy.deepcopy)


@pytest.mark.parametrize("name,kwargs", [CONFIGS[4], CONFIGS[17]], ids=["Adam", "RMSprop"])
def test_state_dict_round_trip_with_foreach(device, name, kwargs):
    _resume_matches(name, kwargs, device, copy.deepcopy, foreach=True)


@pytest.mark.skipif(not hasattr(lucid, "save"), reason="lucid.save is not available yet")
@pytest.mark.parametrize("name,kwargs", [CONFIGS[1], CONFIGS[4], CONFIGS[20]], ids=["SGD", "Adam", "ASGD"])
def test_state_dict_round_trip_through_save_and_load(device, name, kwargs, tmp_path):
    def through_file(state_dict):
        path = tmp_path / "optim.safetensors"
        lucid.save(state_dict, path)
        return lucid.load(path)

    _resume_matches(name, kwargs, device, through_file)


def test_state_dict_layout(device):
    a, b, c = leaf([1.0], device), leaf([2.0], device), leaf([3.0], device)
    opt = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}])
    ((a * b).sum() + c.sum()).backward()
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert sorted(sd["state"]) == [0, 1, 2]
    assert sd["state"][0]["step"] == 1 and isinstance(sd["state"][0]["exp_avg"], lucid.Tensor)


def test_load_state_dict_places_state_on_each_parameters_device(device_pair):
    here, there = device_pair
    p = leaf([1.0, 2.0], here)
    opt = optim.Adam([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    q = leaf(host(p), there)
    other = optim.Adam([q], lr=0.1)
    other.load_state_dict(opt.state_dict())
    assert other.state[q]["exp_avg"].device == there
    assert other.state[q]["exp_avg"]._data is not opt.state[p]["exp_avg"]._data
    (q * q).sum().backward()
    other.step()
    assert q.device == there


def test_load_state_dict_keys_stored_as_text(device):
    p = leaf([1.0, 2.0], device)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    (p * p).sum().backward()
    opt.step()
    sd = opt.state_dict()
    sd["state"] = {str(k): v for k, v in sd["state"].items()}
    fresh = optim.SGD([leaf(host(p), device)], lr=0.1, momentum=0.9)
    fresh.load_state_dict(sd)
    assert "momentum_buffer" in next(iter(fresh.state.values()))


def test_load_state_dict_rejects_mismatches_and_changes_nothing(device):
    a, b = leaf([1.0], device), leaf([2.0], device)
    opt = optim.SGD([a, b], lr=0.1)
    before = opt.state_dict()
    one = optim.SGD([leaf([0.0], device)], lr=0.3)
    with pytest.raises(ValueError, match="group 0 has 1 parameters"):
        opt.load_state_dict(one.state_dict())
    two_groups = optim.SGD([{"params": [leaf([0.0], device)]}, {"params": [leaf([0.0], device)]}], lr=0.3)
    with pytest.raises(ValueError, match="2 parameter groups"):
        opt.load_state_dict(two_groups.state_dict())
    bad = opt.state_dict()
    bad["state"] = {7: {"momentum_buffer": None}}
    with pytest.raises(ValueError, match="parameter 7"):
        opt.load_state_dict(bad)
    bad = copy.deepcopy(opt.state_dict())
    bad["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="lr"):
        opt.load_state_dict(bad)
    assert opt.state_dict() == before and opt.param_groups[0]["params"] == [a, b]


# ---- bad input ----------------------------------------------------------------------------------
def test_bad_construction_raises_clear_errors(device):
    p = leaf([1.0], device)
    with pytest.raises(ValueError, match="Invalid lr"):
        optim.SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="Invalid lr"):
        optim.Adam([{"params": [p], "lr": -1.0}])
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="betas"):
        optim.AdamW([p], betas=(0.9,))
    with pytest.raises(ValueError, match="Invalid eps"):
        optim.RMSprop([p], eps=-1e-8)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="eta values"):
        optim.Rprop([p], etas=(1.5, 1.2))
    with pytest.raises(ValueError, match="rho"):
        optim.Adadelta([p], rho=1.5)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="floating-point"):
        optim.SGD([lucid.tensor([1, 2], device=device)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2.0], lr=0.1)
    with pytest.raises(TypeError, match="Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="set"):
        optim.SGD({p}, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)


# ---- LBFGS ------------------------------------------------------------------------------------
def _lbfgs_closure(opt, params, loss, const):
    def closure():
        opt.zero_grad()
        value = loss(params, const)
        value.backward()
        return value

    return closure


def test_lbfgs_closed_form_on_isotropic_quadratic(device):
    """On f = 0.5 |x - c|^2 the first iteration moves by -min(1, 1/|g|_1) g, and the second
    (with the curvature pair y = s, so H = I) lands exactly on c."""
    rng = np.random.default_rng(6)
    x0, c = rng.standard_normal(7), rng.standard_normal(7)
    const = lambda v: lucid.tensor(v, device=device)  # noqa: E731
    loss = lambda ps, k: 0.5 * ((ps[0] - k(c)) ** 2).sum()  # noqa: E731
    for max_iter, expected in [(1, x0 - min(1.0, 1.0 / np.abs(x0 - c).sum()) * (x0 - c)), (2, c)]:
        x = leaf(x0, device)
        opt = optim.LBFGS([x], lr=1, max_iter=max_iter, max_eval=10)
        opt.step(_lbfgs_closure(opt, [x], loss, const))
        np.testing.assert_allclose(host(x), expected, rtol=1e-12, atol=1e-12)
    x = leaf(x0, device)
    opt = optim.LBFGS([x], line_search_fn="strong_wolfe")
    opt.step(_lbfgs_closure(opt, [x], loss, const))
    np.testing.assert_allclose(host(x), c, atol=1e-9)


@pytest.mark.parametrize("problem,dtype,tol", [("quadratic", np.float32, 1e-5), ("quadratic", np.float64, 1e-9),
                                               ("mlp", np.float64, 1e-9)])
@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_matches_torch(device, line_search_fn, problem, dtype, tol):
    """Float64 checks the algorithm step for step (line-search branches included); float32 the
    tolerance (PyTorch keeps the line search's scalars as float32 tensors, lucid as floats)."""
    torch = pytest.importorskip("torch")
    init, loss = PROBLEMS[problem](np.random.default_rng(7), dtype)
    params = [leaf(x, device) for x in init]
    const = lambda v: lucid.tensor(v, device=device)  # noqa: E731
    opt = optim.LBFGS(params, lr=0.5, max_iter=4, history_size=3, line_search_fn=line_search_fn)
    theirs = [torch.tensor(x, requires_grad=True) for x in init]
    topt = torch.optim.LBFGS(theirs, lr=0.5, max_iter=4, history_size=3, line_search_fn=line_search_fn)
    for _ in range(3):
        ours_loss = opt.step(_lbfgs_closure(opt, params, loss, const))
        their_loss = topt.step(_lbfgs_closure(topt, theirs, loss, torch.tensor))
        assert float(ours_loss) == pytest.approx(their_loss.item(), rel=tol)
        for p, q in zip(params, theirs):
            np.testing.assert_allclose(host(p), q.detach().numpy(), rtol=tol, atol=tol / 10)
    state, tstate = opt.state[params[0]], topt.state[theirs[0]]
    assert state["n_iter"] == tstate["n_iter"] and state["func_evals"] == tstate["func_evals"]


@pytest.mark.parametrize("through_file", [False, True])
def test_lbfgs_state_dict_round_trip(device, through_file, tmp_path):
    """LBFGS's state (direction, curvature history lists, counters) saves and resumes."""
    if through_file and not hasattr(lucid, "save"):
        pytest.skip("lucid.save is not available yet")
    init, loss = quadratic(np.random.default_rng(8), np.float64)
    const = lambda v: lucid.tensor(v, device=device)  # noqa: E731
    params = [leaf(x, device) for x in init]
    opt = optim.LBFGS(params, lr=0.5, max_iter=2, max_eval=10, history_size=2)
    opt.step(_lbfgs_closure(opt, params, loss, const))
    opt.step(_lbfgs_closure(opt, params, loss, const))
    if through_file:
        lucid.save(opt.state_dict(), tmp_path / "lbfgs.safetensors")
        saved = lucid.load(tmp_path / "lbfgs.safetensors")
    else:
        saved = copy.deepcopy(opt.state_dict())
    assert len(saved["state"][0]["old_dirs"]) == 2
    copies = [leaf(host(p), device) for p in params]
    opt.step(_lbfgs_closure(opt, params, loss, const))
    fresh = optim.LBFGS(copies, lr=0.5, max_iter=2, max_eval=10, history_size=2)
    fresh.load_state_dict(saved)
    fresh.step(_lbfgs_closure(fresh, copies, loss, const))
    for p, q in zip(params, copies):
        np.testing.assert_array_equal(host(p), host(q))


def test_lbfgs_bad_input(device):
    p = leaf([1.0], device)
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([p], line_search_fn="armijo")
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [p]}, {"params": [leaf([2.0], device)]}])
    with pytest.raises(TypeError, match="closure"):
        optim.LBFGS([p]).step()


# ---- nothing half-changed: load_state_dict checks everything first, step checks before updating ----------
def _snapshot(opt):
    """Everything an optimizer holds, as host values, plus the identities of its objects."""
    def plain(v):
        if isinstance(v, lucid.Tensor):
            return ("T", v.shape, v.dtype.name, host(v).tolist())
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    state = {id(p): {k: plain(v) for k, v in s.items()} for p, s in opt.state.items()}
    groups = [{k: (plain(v) if k != "params" else [id(p) for p in v]) for k, v in g.items()} for g in opt.param_groups]
    objects = (id(opt.state), id(opt.param_groups), [id(g) for g in opt.param_groups],
               {id(p): {k: id(v) for k, v in s.items()} for p, s in opt.state.items()})
    return state, groups, objects


def _stepped_adam(device, **kwargs):
    params = [leaf(np.arange(6.0).reshape(2, 3), device), leaf([1.0, -2.0], device)]
    opt = optim.Adam(params, lr=0.1, **kwargs)
    sum((p * p).sum() for p in params).backward()
    opt.step()
    return params, opt


def _corrupt(sd, device):
    """(label, change to a state dict copy, error type, message pattern) for each kind of bad state dict."""
    wrong = lucid.zeros(3, device=device)
    ints = lucid.zeros((2,), dtype=lucid.int64, device=device)
    return [
        ("exp_avg shape", lambda d: d["state"][1].update(exp_avg=wrong), ValueError,
         r"parameter 1 \(group 0, position 1\).*'exp_avg' has shape \(3,\), but the parameter has shape \(2,\)"),
        ("exp_avg dtype", lambda d: d["state"][1].update(exp_avg_sq=ints), TypeError, r"'exp_avg_sq' has dtype int64"),
        ("missing key", lambda d: d["state"][0].pop("exp_avg_sq"), ValueError, r"parameter 0.*lacks \['exp_avg_sq'\]"),
        ("extra key", lambda d: d["state"][0].update(junk=1.0), ValueError, r"unexpected \['junk'\]"),
        ("step type", lambda d: d["state"][0].update(step="1"), TypeError, r"'step' must be an integer, got str"),
        ("step float", lambda d: d["state"][0].update(step=1.5), TypeError, r"'step' must be an integer"),
        ("state type", lambda d: d["state"].update({0: [1]}), TypeError, r"parameter 0 .*must be a dict"),
        ("lr type", lambda d: d["param_groups"][0].update(lr="0.1"), TypeError,
         r"group 0: optimizer option 'lr' must be a number, got str '0.1'"),
        ("lr bool", lambda d: d["param_groups"][0].update(lr=True), TypeError, r"'lr' must be a number"),
        ("betas length", lambda d: d["param_groups"][0].update(betas=(0.9,)), ValueError, r"group 0: Invalid betas"),
        ("betas type", lambda d: d["param_groups"][0].update(betas=("a", 0.9)), TypeError, r"'betas' must be a pair"),
        ("amsgrad type", lambda d: d["param_groups"][0].update(amsgrad="yes"), TypeError, r"'amsgrad' must be a bool"),
        ("eps value", lambda d: d["param_groups"][0].update(eps=-1.0), ValueError, r"group 0: Invalid eps"),
        ("index twice", lambda d: d["param_groups"][0].update(params=[0, 0]), ValueError, r"lists 0 at position 1"),
        ("params type", lambda d: d["param_groups"][0].update(params=None), TypeError, r"'params'"),
        ("no state", lambda d: d.pop("state"), ValueError, r"no 'state' entry"),
        ("state not a dict", lambda d: d.update(state=[]), TypeError, r"'state' must be a dict"),
        ("group count", lambda d: d["param_groups"].append(dict(d["param_groups"][0])), ValueError,
         r"2 parameter groups"),
        ("param count", lambda d: d["param_groups"][0].update(params=[0]), ValueError, r"group 0 has 1 parameters"),
    ]


def test_load_state_dict_validates_everything_before_changing_anything(device):
    params, opt = _stepped_adam(device)
    sd = opt.state_dict()
    before = _snapshot(opt)
    for label, change, error, pattern in _corrupt(sd, device):
        bad = copy.deepcopy(sd)
        change(bad)
        with pytest.raises(error, match=pattern):
            opt.load_state_dict(bad)
        assert _snapshot(opt) == before, label
    opt.load_state_dict(sd)  # the good one still loads, and stepping goes on
    opt.step()


@pytest.mark.parametrize("foreach", [False, True])
def test_wrong_shaped_state_never_half_updates(device, foreach):
    """Before: a (3,) exp_avg for a (2,) parameter loaded fine, and the next step updated parameter 0,
    then failed on parameter 1."""
    params, opt = _stepped_adam(device, foreach=foreach)
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][1]["exp_avg"] = lucid.zeros(3, device=device)
    fresh_params = [leaf(host(p), device) for p in params]
    fresh = optim.Adam(fresh_params, lr=0.1, foreach=foreach)
    with pytest.raises(ValueError, match="exp_avg"):
        fresh.load_state_dict(sd)
    assert not fresh.state
    # state assigned by hand: step refuses before touching any parameter
    opt.state[params[1]]["exp_avg"] = lucid.zeros(3, device=device)
    values = [host(p) for p in params]
    before = _snapshot(opt)
    with pytest.raises(ValueError, match=r"parameter 1 of group 0: its state 'exp_avg' is \(3,\).*Nothing was updated"):
        opt.step()
    for p, v in zip(params, values):
        np.testing.assert_array_equal(host(p), v)
    assert _snapshot(opt) == before


def test_load_state_dict_matches_torch_on_what_it_accepts(device):
    """A state dict made by torch.optim.Adam (converted to lucid Tensors, step as an int) loads and
    resumes the same trajectory; torch itself loads a wrong-shaped exp_avg silently and fails in step."""
    torch = pytest.importorskip("torch")
    init = [np.arange(6.0).reshape(2, 3), np.array([1.0, -2.0])]
    tparams = [torch.tensor(x, requires_grad=True) for x in init]
    topt = torch.optim.Adam(tparams, lr=0.1)
    for _ in range(2):
        topt.zero_grad()
        sum((p * p).sum() for p in tparams).backward()
        topt.step()
    tsd = topt.state_dict()
    ours = set(optim.Adam([leaf([0.0], device)]).defaults) | {"params"}
    sd = {"param_groups": [{k: v for k, v in g.items() if k in ours} for g in tsd["param_groups"]],
          "state": {k: {"step": int(s["step"]), "exp_avg": lucid.tensor(s["exp_avg"].numpy(), device=device),
                        "exp_avg_sq": lucid.tensor(s["exp_avg_sq"].numpy(), device=device)}
                    for k, s in tsd["state"].items()}}
    params = [leaf(p.detach().numpy(), device) for p in tparams]
    opt = optim.Adam(params, lr=0.5)
    opt.load_state_dict(sd)
    for o, ps in ((opt, params), (topt, tparams)):
        o.zero_grad()
        sum((p * p).sum() for p in ps).backward()
        o.step()
    for p, t in zip(params, tparams):
        np.testing.assert_allclose(host(p), t.detach().numpy(), rtol=1e-12)
    bad = copy.deepcopy(tsd)
    bad["state"][1]["exp_avg"] = torch.zeros(3, dtype=torch.float64)
    topt.load_state_dict(bad)  # torch accepts it ...
    with pytest.raises(RuntimeError):
        topt.step()  # ... and fails in step; lucid refuses at load (above)


def test_option_types_are_checked_at_construction(device):
    p = leaf([1.0], device)
    with pytest.raises(TypeError, match="'lr' must be a number, got str"):
        optim.SGD([p], lr="0.1")
    with pytest.raises(TypeError, match="'nesterov' must be a bool"):
        optim.SGD([p], lr=0.1, momentum=0.9, nesterov=1)
    with pytest.raises(TypeError, match="'foreach' must be a bool or None"):
        optim.Adam([p], foreach="yes")
    with pytest.raises(TypeError, match="'etas' must be a pair of numbers"):
        optim.Rprop([p], etas=(0.5, "1.2"))
    with pytest.raises(TypeError, match="'history_size' must be an integer"):
        optim.LBFGS([p], history_size=2.5)
    with pytest.raises(TypeError, match="'lr' must be a number"):
        optim.Adam([{"params": [p], "lr": None}])
    optim.Adam([p], lr=np.float32(0.1), betas=[0.9, np.float64(0.99)])  # NumPy numbers and lists are fine


def test_lbfgs_load_state_dict_checks_its_state(device):
    init, loss = quadratic(np.random.default_rng(8), np.float64)
    const = lambda v: lucid.tensor(v, device=device)  # noqa: E731
    params = [leaf(x, device) for x in init]
    opt = optim.LBFGS(params, lr=0.5, max_iter=2, history_size=2)
    opt.step(_lbfgs_closure(opt, params, loss, const))
    opt.step(_lbfgs_closure(opt, params, loss, const))
    sd = opt.state_dict()
    before = _snapshot(opt)
    n = sum(p.numel() for p in params)
    cases = [
        (lambda d: d["state"][0].update(d=lucid.zeros(n + 1, dtype=lucid.float64, device=device)), ValueError,
         rf"'d' must hold flat float64 vectors of the {n} elements"),
        (lambda d: d["state"][0]["old_dirs"].pop(), ValueError, "one length"),
        (lambda d: d["state"][0].pop("prev_flat_grad"), ValueError, r"missing \['prev_flat_grad'\]"),
        (lambda d: d["state"][0].update(n_iter="2"), TypeError, "'n_iter' must be an integer"),
        (lambda d: d["state"].update({1: {"n_iter": 0}}), ValueError, "first parameter only"),
    ]
    for change, error, pattern in cases:
        bad = copy.deepcopy(sd)
        change(bad)
        with pytest.raises(error, match=pattern):
            opt.load_state_dict(bad)
        assert _snapshot(opt) == before
    opt.load_state_dict(sd)
