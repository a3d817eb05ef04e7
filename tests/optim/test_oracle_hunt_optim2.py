"""A second differential hunt over lucid.optim against PyTorch 2.13: every optimizer's trajectory over twenty
float64 steps with its options (maximize, foreach, fused, several groups, parameters without gradients, Tensor
options), PyTorch's checks of Tensor ``lr``/``betas``, stateless SGD, the schedulers' sequences over fifty steps
and their state dicts, and ``get_lr`` outside ``step``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lucid
from lucid import optim

torch = pytest.importorskip("torch")

SHAPES = [(4, 3), (5,), ()]
OPTIONS = {
    "SGD": dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "ASGD": dict(lr=0.05, t0=5, lambd=1e-3, weight_decay=0.01),
    "Adam": dict(lr=0.05, amsgrad=True, weight_decay=0.01),
    "AdamW": dict(lr=0.05, amsgrad=True),
    "Adamax": dict(lr=0.05, weight_decay=0.01),
    "NAdam": dict(lr=0.05, weight_decay=0.01, momentum_decay=0.01),
    "RAdam": dict(lr=0.05, weight_decay=0.01, decoupled_weight_decay=True),
    "Adagrad": dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01),
    "Adadelta": dict(lr=0.5, rho=0.8, weight_decay=0.01),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.01),
    "Rprop": dict(lr=0.02, etas=(0.3, 1.5), step_sizes=(1e-4, 0.2)),
    "Adafactor": dict(lr=0.05, weight_decay=0.01),
}
VARIANTS = {
    "plain": ({}, None, 0),
    "maximize": ({"maximize": True}, None, 0),
    "foreach": ({"foreach": True}, None, 0),
    "groups": ({}, [{"lr": 0.01}, {"weight_decay": 0.0}], 0),
    "grad-none": ({}, None, 3),
}


def host(t):
    return np.array(t.detach().numpy(force=True) if isinstance(t, lucid.Tensor) else t.detach().numpy(), copy=True)


def trajectory(lib, name, kwargs, groups=None, skip_every=0, steps=20, device=None):
    """The parameters after each of ``steps`` steps; every ``skip_every``-th gradient (staggered) is None."""
    rng = np.random.default_rng(1)
    make = (lambda a: lucid.tensor(a, device=device)) if lib is lucid else torch.tensor
    params = [make(rng.standard_normal(s)).requires_grad_() for s in SHAPES]
    opt = getattr(lib.optim, name)(
        [{"params": params[:2], **groups[0]}, {"params": params[2:], **groups[1]}] if groups else params, **kwargs)
    out = []
    for k in range(steps):
        for i, p in enumerate(params):
            x = host(p)
            skip = skip_every and (k + i) % skip_every == 0
            p.grad = None if skip else make(np.sin(x * (k % 5 + 1)) + 0.3 * x - 0.1 * i)
        opt.step()
        out.append([host(p) for p in params])
    return out, opt, params


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_twenty_steps_match_torch(device, name, variant):
    extra, groups, skip = VARIANTS[variant]
    kwargs = dict(OPTIONS[name], **extra)
    ours, o_opt, o_params = trajectory(lucid, name, kwargs, groups, skip, device=device)
    # against PyTorch's single-tensor code, which lucid's flat (foreach) path reproduces exactly (PyTorch's own
    # foreach ASGD rounds differently from its single-tensor one)
    theirs, t_opt, t_params = trajectory(torch, name, dict(kwargs, foreach=False), groups, skip)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12, err_msg=f"step {step + 1}")
    for p, q in zip(o_params, t_params):  # the same parameters hold state (the same steps each)
        assert (p in o_opt.state) == (q in t_opt.state)
        if "step" in t_opt.state.get(q, {}):
            assert o_opt.state[p]["step"].item() == t_opt.state[q]["step"].item()


def test_stateless_sgd_keeps_no_state():
    """Plain SGD (no momentum) makes no state entries, as PyTorch's: ``state`` and the state dict stay empty."""
    for lib in (lucid, torch):
        p = lib.zeros(2, requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1)
        p.grad = lib.ones(2)
        opt.step()
        assert p not in opt.state and opt.state_dict()["state"] == {}


@pytest.mark.parametrize("name", ["Adam", "AdamW", "ASGD", "NAdam", "Adagrad", "Rprop"])
def test_a_tensor_lr_is_read_as_its_value(name):
    """lucid reads a 0-d Tensor ``lr`` (or ``betas``) as its value: the trajectory is that of the same float32
    number (PyTorch computes a few scalar factors in the Tensor's float32 instead, so its trajectories differ from
    its own float-lr ones in that rounding). PyTorch accepts the same Tensor options."""
    kwargs = OPTIONS[name]
    as_tensor = dict(kwargs, lr=lucid.tensor(kwargs["lr"]))
    if "betas" in getattr(optim, name)([lucid.zeros(1, requires_grad=True)]).defaults:
        as_tensor["betas"] = (lucid.tensor(0.875), lucid.tensor(0.9375))
        kwargs = dict(kwargs, betas=(0.875, 0.9375))
    with_tensor, _, _ = trajectory(lucid, name, as_tensor, steps=5)
    with_float, _, _ = trajectory(lucid, name, dict(kwargs, lr=float(np.float32(kwargs["lr"]))), steps=5)
    for a, b in zip(with_tensor, with_float):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    torch_kwargs = {k: torch.tensor(v.item()) if isinstance(v, lucid.Tensor) else v for k, v in as_tensor.items()}
    if "betas" in as_tensor:
        torch_kwargs["betas"] = tuple(torch.tensor(b.item()) for b in as_tensor["betas"])
    trajectory(torch, name, torch_kwargs, steps=1)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_tensor_lr_and_betas_checks_match_torch(name):
    """Adam/AdamW refuse Tensor ``lr``/``betas`` with foreach=True unless capturable, and ``betas`` mixing a
    number and a Tensor, as PyTorch does; a Tensor option must hold one element (ValueError) everywhere."""
    bad = [
        (dict(lr="t", foreach=True), "lr as a Tensor is not supported"),
        (dict(betas=("t", "t"), foreach=True), r"betas\[0\] as a Tensor is not supported"),
        (dict(betas=("t", 0.999)), "betas must be either both floats or both Tensors"),
        (dict(lr="2"), "Tensor lr must be 1-element"),
    ]
    for kwargs, message in bad:
        for lib in (lucid, torch):
            tensors = {"t": lib.tensor(0.5), "2": lib.tensor([0.1, 0.2])}
            built = {k: tuple(tensors.get(b, b) for b in v) if isinstance(v, tuple) else tensors.get(v, v)
                     for k, v in kwargs.items()}
            with pytest.raises(ValueError, match=message):
                getattr(lib.optim, name)([lib.zeros(2, requires_grad=True)], **built)
    opt = getattr(optim, name)([lucid.zeros(2, requires_grad=True)], lr=lucid.tensor(0.1), foreach=True,
                               capturable=True)
    assert opt.param_groups[0]["capturable"] is True
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        optim.SGD([lucid.zeros(2, requires_grad=True)], lr=lucid.tensor([0.1, 0.2]))


# ---- LR schedulers ---------------------------------------------------------------------------------------
SCHEDULERS = {
    "StepLR": lambda m, o: m.StepLR(o, 7, 0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, [3, 10, 10, 40], 0.5),
    "ConstantLR": lambda m, o: m.ConstantLR(o),
    "LinearLR-to-zero": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=30),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, 0.93),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=30, power=0.5),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=3, eta_min=0.001),
    "CyclicLR-triangular": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=5),
    "CyclicLR-no-momentum": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=4, cycle_momentum=False),
    "CyclicLR-scale-iterations": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=4, scale_fn=lambda x: 0.99 ** x,
                                                         scale_mode="iterations"),
    "CyclicLR-scale-cycle": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=4, scale_fn=lambda x: 1 / x),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, 0.5, total_steps=51),
    "OneCycleLR-no-momentum": lambda m, o: m.OneCycleLR(o, 0.5, total_steps=60, cycle_momentum=False, div_factor=10,
                                                        final_div_factor=100),
    "OneCycleLR-three-phase": lambda m, o: m.OneCycleLR(o, 0.5, total_steps=60, three_phase=True, pct_start=0.2),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 1 / (1 + e)),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.97),
    "SequentialLR-three": lambda m, o: m.SequentialLR(o, [m.LinearLR(o, 0.1, total_iters=5), m.CosineAnnealingLR(o, 20),
                                                          m.ExponentialLR(o, 0.9)], milestones=[5, 25]),
    "ChainedScheduler-optimizer": lambda m, o: m.ChainedScheduler([m.ExponentialLR(o, 0.9), m.MultiStepLR(o, [4, 9])],
                                                                  optimizer=o),
}


def _optimizer(lib):
    groups = [{"params": [lib.zeros(1, requires_grad=True)]}, {"params": [lib.zeros(1, requires_grad=True)],
                                                                "lr": 0.05}]
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


def _schedule(lib, factory, steps=50):
    opt = _optimizer(lib)
    scheduler = factory(lib.optim.lr_scheduler, opt)
    seq = [(list(scheduler.get_last_lr()), [g["momentum"] for g in opt.param_groups])]
    for _ in range(steps):
        opt.step()
        scheduler.step()
        seq.append((list(scheduler.get_last_lr()), [g["momentum"] for g in opt.param_groups]))
    return seq, scheduler


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_fifty_steps_and_state_dict_keys_match_torch(name):
    ours, o_sched = _schedule(lucid, SCHEDULERS[name])
    theirs, t_sched = _schedule(torch, SCHEDULERS[name])
    for step, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(np.array(a, dtype=float), np.array(b, dtype=float), rtol=1e-12, atol=0,
                                   err_msg=f"step {step}")
    assert list(o_sched.state_dict()) == list(t_sched.state_dict())  # in PyTorch's order, as printed


@pytest.mark.parametrize("kwargs", [dict(patience=0, cooldown=1, min_lr=[0.01, 0.04], factor=0.5),
                                    dict(mode="max", threshold_mode="abs", threshold=0.01, patience=1, cooldown=2),
                                    dict(patience=1, min_lr=0.02, eps=1e-3, factor=0.9)])
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.85, 0.85, 0.86, 0.87, 0.7, 0.7, 0.7, 0.71, 0.72, 0.9] * 3
    runs = []
    for lib in (lucid, torch):
        opt = _optimizer(lib)
        scheduler = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        seq = []
        for m in metrics:
            opt.step()
            scheduler.step(m)
            seq.append(list(scheduler.get_last_lr()) + [scheduler.num_bad_epochs, scheduler.cooldown_counter])
        runs.append((seq, list(scheduler.state_dict())))  # the keys in PyTorch's order, as printed
    np.testing.assert_allclose(np.array(runs[0][0]), np.array(runs[1][0]), rtol=1e-12)
    assert runs[0][1] == runs[1][1]


def test_get_lr_outside_step_warns_as_torch():
    """``get_lr()`` computes the next rates; called by the user it warns (as PyTorch) and points to
    ``get_last_lr()``; ``step`` itself never warns so."""
    for lib in (lucid, torch):
        opt = _optimizer(lib)
        scheduler = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            opt.step()
            scheduler.step()
            scheduler.step(1.5)  # a fractional epoch is not deprecated for this scheduler
        with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
            scheduler.get_lr()


ADD_GROUP_SCHEDULERS = {
    "StepLR": lambda m, o: m.StepLR(o, 2, 0.5),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, 0.9),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, 5),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 0.9 ** e),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, 2),
    "CyclicLR": lambda m, o: m.CyclicLR(o, 0.01, 0.1, 2),
    "SequentialLR": lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, 0.5, 2), m.ExponentialLR(o, 0.9)], [2]),
}


@pytest.mark.parametrize("name", sorted(ADD_GROUP_SCHEDULERS))
def test_a_param_group_added_after_the_scheduler_as_torch(name):
    """Schedulers that derive the rates from the current groups also schedule a group added later; those that
    derive them from ``base_lrs`` raise ValueError, as PyTorch's strict zip does (they set none of the group's)."""
    runs = []
    for lib in (lucid, torch):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
        scheduler = ADD_GROUP_SCHEDULERS[name](lib.optim.lr_scheduler, opt)
        opt.step()
        scheduler.step()
        opt.add_param_group({"params": [lib.zeros(1, requires_grad=True)], "lr": 0.5})
        lrs = []
        try:
            for _ in range(3):
                opt.step()
                scheduler.step()
                lrs.append([round(g["lr"], 12) for g in opt.param_groups])
        except ValueError:
            lrs.append("ValueError")
        runs.append(lrs)
    assert runs[0] == runs[1]
