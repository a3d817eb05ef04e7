"""Differences from PyTorch found by an oracle hunt over lucid.optim, lucid.nn.utils and lucid.amp, each
checked against torch (skipped where it is not installed) and kept fixed."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import lucid
from lucid import amp, optim
from lucid.nn import utils


def host(t):
    return np.array(t.detach().numpy(force=True), copy=True)


# ---- Optimizer.load_state_dict: PyTorch's scalar state is one-element Tensors ------------------------
@pytest.mark.parametrize("name,kwargs", [("Adam", dict(lr=0.05, amsgrad=True)), ("NAdam", dict(lr=0.05)),
                                         ("ASGD", dict(lr=0.05, t0=2)), ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
                                         ("Adafactor", dict(lr=0.05))])
def test_load_state_dict_of_a_torch_optimizer_resumes_its_trajectory(device, name, kwargs):
    """torch keeps ``step`` (and ASGD's ``eta``/``mu``, NAdam's ``mu_product``) as 0-d float32 Tensors. Converted
    to lucid Tensors they were refused (\"state 'step' must be an integer, got a Tensor\"); now they load as the
    numbers lucid keeps and the trajectory goes on as torch's."""
    torch = pytest.importorskip("torch")
    init = [np.linspace(-1, 1, 12).reshape(3, 4), np.linspace(0, 2, 5)]

    def set_grads(params, k, lib, **kw):
        for i, p in enumerate(params):
            p.grad = lib.tensor(np.sin(host(p) * (k + 2)) + i, **kw)

    theirs = [torch.tensor(x, requires_grad=True) for x in init]
    topt = getattr(torch.optim, name)(theirs, **kwargs)
    for k in range(4):
        set_grads(theirs, k, torch)
        topt.step()

    def convert(v):
        if isinstance(v, torch.Tensor):
            return lucid.tensor(v.detach().numpy().copy(), device=device)
        if isinstance(v, dict):
            return {k: convert(x) for k, x in v.items()}
        return [convert(x) for x in v] if isinstance(v, list) else v

    sd = convert(topt.state_dict())
    assert isinstance(sd["state"][0]["step"], lucid.Tensor)
    ours = [lucid.tensor(host(p), device=device, requires_grad=True) for p in theirs]
    opt = getattr(optim, name)(ours, **kwargs)
    opt.load_state_dict(sd)
    step = opt.state_dict()["state"][0]["step"]
    assert isinstance(step, lucid.Tensor) and step.shape == () and step.dtype is lucid.float32
    assert step.device.type == "cpu" and step.item() == 4
    for k in range(4, 10):
        set_grads(theirs, k, torch)
        topt.step()
        set_grads(ours, k, lucid, device=device)
        opt.step()
    for p, t in zip(ours, theirs):  # ASGD's eta/mu and NAdam's mu_product are rounded to float32 in both
        np.testing.assert_allclose(host(p), t.detach().numpy(), rtol=1e-12)


def test_load_state_dict_still_refuses_a_fractional_step(device):
    p = lucid.tensor([1.0, 2.0], device=device, requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = lucid.ones(2, device=device)
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["step"] = 2.0  # a whole float is a step
    opt.load_state_dict(sd)
    assert opt.state[p]["step"].item() == 2 and opt.state[p]["step"].dtype is lucid.float32
    for bad in (1.5, lucid.tensor(1.5, device=device), lucid.tensor([1.0, 2.0], device=device)):
        sd["state"][0]["step"] = bad
        with pytest.raises(TypeError, match="'step' must be an integer"):
            opt.load_state_dict(sd)
    assert opt.state[p]["step"].item() == 2


# ---- clip_grad_norm_ with gradients of several dtypes --------------------------------------------------
def test_clip_grad_norm_of_mixed_dtypes_uses_the_promoted_dtype(device):
    """Each tensor's norm was cast to the first tensor's dtype: a float64 norm of 1e39 became float32 inf, so
    the total was inf and clipping zeroed every gradient. torch stacks the norms with promotion (float64)."""
    torch = pytest.importorskip("torch")
    grads = [np.array([3.0, 4.0], np.float32), np.array([1e39, 0.0, 1e38])]
    params = [lucid.zeros(g.shape, dtype=lucid.tensor(g).dtype, device=device, requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype, requires_grad=True) for g in grads]
    for p, t, g in zip(params, theirs, grads):
        p.grad, t.grad = lucid.tensor(g, device=device), torch.from_numpy(g.copy())
    total = utils.clip_grad_norm_(params, 1.0)
    their_total = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert total.dtype == lucid.float64 and str(their_total.dtype) == "torch.float64"
    np.testing.assert_allclose(host(total), their_total.numpy(), rtol=1e-12)
    for p, t in zip(params, theirs):
        assert p.grad.dtype.name == str(t.grad.dtype).removeprefix("torch.")
        np.testing.assert_allclose(host(p.grad), t.grad.numpy(), rtol=1e-6)
    assert host(params[1].grad)[0] > 0.99  # not zeroed


# ---- weight_norm with a negative dim -----------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:.*weight_norm.* is deprecated:FutureWarning")
@pytest.mark.parametrize("dim", [-2, -3, 1])
@pytest.mark.parametrize("form", ["hook", "parametrization"])
def test_weight_norm_negative_dim_counts_from_the_end(device, dim, form):
    """dim=-2 normalised over every dimension (g of shape (1, 1, 1)); torch's norm_except_dim treats only -1 as
    "the whole tensor" and counts other negative dims from the end (g of shape (1, 3, 1))."""
    torch = pytest.importorskip("torch")
    w = np.random.default_rng(0).standard_normal((4, 3, 2))
    ours, theirs = lucid.nn.Conv1d(3, 4, 2).to(device), torch.nn.Conv1d(3, 4, 2)
    with lucid.no_grad():
        ours.weight.copy_(lucid.tensor(w, dtype=lucid.float32, device=device))
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w, dtype=torch.float32))
    if form == "hook":
        utils.weight_norm(ours, dim=dim)
        torch.nn.utils.weight_norm(theirs, dim=dim)
        g, their_g = ours.weight_g, theirs.weight_g
    else:
        utils.parametrizations.weight_norm(ours, dim=dim)
        torch.nn.utils.parametrizations.weight_norm(theirs, dim=dim)
        g, their_g = ours.parametrizations.weight.original0, theirs.parametrizations.weight.original0
    assert tuple(g.shape) == tuple(their_g.shape)
    np.testing.assert_allclose(host(g), their_g.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(host(ours.weight), w, rtol=1e-5, atol=1e-6)


def test_weight_norm_dim_out_of_range_raises(device):
    with pytest.raises(IndexError, match="dim 3 is out of range for a 3-D weight"):
        utils.weight_norm(lucid.nn.Conv1d(3, 4, 2).to(device), dim=3)
    with pytest.raises(IndexError, match="dim -4 is out of range"):
        utils.weight_norm(lucid.nn.Conv1d(3, 4, 2).to(device), dim=-4)


def test_spectral_norm_refuses_zero_power_iterations(device):
    """With 0 iterations sigma came from the random initial u, v; torch (and lucid's parametrization form)
    refuse it."""
    with pytest.raises(ValueError, match="n_power_iterations must be positive"):
        utils.spectral_norm(lucid.nn.Linear(3, 2).to(device), n_power_iterations=0)


# ---- GradScaler and bfloat16 gradients ---------------------------------------------------------------
def test_grad_scaler_unscales_bfloat16_gradients(device):
    """torch refuses only float16 gradients in unscale_; bfloat16 ones (float32's range) were refused too."""
    if not device.backend.supports(lucid.bfloat16):
        pytest.skip(f"the {device.backend.name} backend has no bfloat16")
    p = lucid.tensor([1.0, 2.0], dtype=lucid.bfloat16, device=device, requires_grad=True)
    opt = optim.SGD([p], lr=0.5)
    scaler = amp.GradScaler(init_scale=8.0)
    scaler.scale(lucid.zeros((), device=device))
    p.grad = lucid.tensor([8.0, 16.0], dtype=lucid.bfloat16, device=device)
    scaler.unscale_(opt)
    np.testing.assert_array_equal(host(p.grad).astype(np.float32), [1.0, 2.0])
    scaler.step(opt)
    scaler.update()
    np.testing.assert_array_equal(host(p).astype(np.float32), [0.5, 1.0])
    q = lucid.tensor([1.0], dtype=lucid.float16, device=device, requires_grad=True) \
        if device.backend.supports(lucid.float16) else None
    if q is not None:
        q.grad = lucid.ones(1, dtype=lucid.float16, device=device)
        scaler = amp.GradScaler()
        scaler.scale(lucid.zeros((), device=device))
        with pytest.raises(ValueError, match="float16 gradients"):
            scaler.unscale_(optim.SGD([q], lr=0.1))


def test_zero_grad_in_place_on_a_view_grad():
    """zero_grad(set_to_none=False) zeroes a gradient that is a view (writing through it, as PyTorch) rather than
    raising from detach_(), which PyTorch calls only on a gradient with history."""
    torch = pytest.importorskip("torch")
    ours, theirs = lucid.nn.Parameter(lucid.ones(4)), torch.nn.Parameter(torch.ones(4))
    our_base, their_base = lucid.ones(2, 4), torch.ones(2, 4)
    ours.grad, theirs.grad = our_base[0], their_base[0]
    lucid.optim.SGD([ours], lr=0.1).zero_grad(set_to_none=False)
    torch.optim.SGD([theirs], lr=0.1).zero_grad(set_to_none=False)
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    np.testing.assert_array_equal(our_base.numpy(), their_base.numpy())


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "NAdam", "RAdam", "Adamax",
                                  "Adadelta", "Rprop", "ASGD"])
def test_pytorch_implementation_switches_are_those_pytorch_takes(name):
    """Each optimizer takes the switches (fused, capturable, differentiable) that PyTorch's does, no others, and
    keeps them in its groups; fused=True is lucid's foreach path, differentiable=True refuses clearly."""
    torch = pytest.importorskip("torch")
    cls = getattr(optim, name)
    switches = {"fused", "capturable", "differentiable"}
    assert switches & set(inspect.signature(cls).parameters) == \
        switches & set(inspect.signature(getattr(torch.optim, name)).parameters)
    takes = switches & set(inspect.signature(cls).parameters)
    with pytest.raises(NotImplementedError, match="differentiable"):
        cls([lucid.nn.Parameter(lucid.ones(3))], lr=0.1, differentiable=True)
    for other in sorted(switches - takes) + ["fusion"]:
        with pytest.raises(TypeError):
            cls([lucid.nn.Parameter(lucid.ones(3))], lr=0.1, **{other: True})
    on = {k: True for k in takes - {"differentiable", "capturable"}}  # capturable steps raise off the GPU (optim3)
    ps, qs = ([lucid.nn.Parameter(lucid.arange(3.0) + i) for i in range(2)] for _ in range(2))
    plain, switched = cls(ps, lr=0.1), cls(qs, lr=0.1, **on)
    assert all(switched.param_groups[0][k] is True for k in on) and switched.param_groups[0]["foreach"] is None
    if "fused" in takes:
        with pytest.raises(RuntimeError, match="cannot be `True` together"):
            cls(qs, lr=0.1, fused=True, foreach=True)
    for _ in range(3):
        for p in ps + qs:
            p.grad = lucid.sin(p.detach() * 3)
        plain.step()
        switched.step()
    assert bool(switched._layouts) is ("fused" in on)  # fused ran the flat (foreach) path
    for p, q in zip(ps, qs):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
