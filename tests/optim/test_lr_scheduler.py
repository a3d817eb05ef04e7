"""lucid.optim.lr_scheduler: learning-rate (and momentum) sequences equal PyTorch's, match the
documented formulas, survive state_dict round trips, and bad input is refused."""

from __future__ import annotations

import copy
import math
from bisect import bisect_right

import pytest

import lucid
from lucid import optim
from lucid.optim import lr_scheduler

STEPS = 24


def warmup_cosine(base):
    """A custom scheduler as older training scripts write it: a subclass of ``_LRScheduler`` (PyTorch's former
    name of ``LRScheduler``) with its own ``get_lr``."""

    class WarmupCosine(base):
        def __init__(self, optimizer, warmup=3, total=12):
            self.warmup, self.total = warmup, total
            super().__init__(optimizer)

        def get_lr(self):
            e = self.last_epoch
            f = (e + 1) / self.warmup if e < self.warmup else 0.5 * (
                1 + math.cos(math.pi * min(e - self.warmup, self.total) / self.total))
            return [base_lr * f for base_lr in self.base_lrs]

    return WarmupCosine

# name -> (factory(scheduler module, optimizer), optimizer kind): the same lambda builds the
# lucid and the torch scheduler
CASES = {
    "LambdaLR": (lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e), "sgd"),
    "LambdaLR-per-group": (lambda m, o: m.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e]), "sgd"),
    "MultiplicativeLR": (lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9 if e % 2 else 0.99), "sgd"),
    "StepLR": (lambda m, o: m.StepLR(o, step_size=3, gamma=0.5), "sgd"),
    "MultiStepLR": (lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3), "sgd"),
    "ConstantLR": (lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=4), "sgd"),
    "LinearLR": (lambda m, o: m.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=6), "sgd"),
    "ExponentialLR": (lambda m, o: m.ExponentialLR(o, gamma=0.8), "sgd"),
    "PolynomialLR": (lambda m, o: m.PolynomialLR(o, total_iters=7, power=2.0), "sgd"),
    "CosineAnnealingLR": (lambda m, o: m.CosineAnnealingLR(o, T_max=5, eta_min=0.001), "sgd"),
    "CosineAnnealingWarmRestarts": (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01),
                                    "sgd"),
    "CyclicLR-triangular2": (lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=5,
                                                     mode="triangular2"), "sgd"),
    "CyclicLR-exp_range-adam": (lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=4,
                                                        mode="exp_range", gamma=0.9, base_momentum=0.7,
                                                        max_momentum=0.95), "adam"),
    "OneCycleLR": (lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=STEPS + 1), "sgd"),
    "OneCycleLR-linear-three-phase-adam": (lambda m, o: m.OneCycleLR(o, max_lr=0.3, epochs=5, steps_per_epoch=5,
                                                                     anneal_strategy="linear", three_phase=True,
                                                                     pct_start=0.25), "adam"),
    "SequentialLR": (lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=4),
                                                     m.ExponentialLR(o, gamma=0.9)], milestones=[4]), "sgd"),
    "ChainedScheduler": (lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.5, total_iters=3),
                                                          m.ExponentialLR(o, gamma=0.9)]), "sgd"),
    "custom-_LRScheduler-subclass": (lambda m, o: warmup_cosine(m._LRScheduler)(o), "sgd"),
}


def make_optimizer(module, tensor, kind):
    """Two param groups (lr 0.1 and 0.05), SGD with momentum or Adam, from lucid or torch."""
    groups = [{"params": [tensor([0.0])]}, {"params": [tensor([0.0])], "lr": 0.05}]
    if kind == "adam":
        return module.Adam(groups, lr=0.1)
    return module.SGD(groups, lr=0.1, momentum=0.9)


def lucid_optimizer(kind="sgd"):
    return make_optimizer(optim, lambda v: lucid.tensor(v, requires_grad=True), kind)


def trace(optimizer, scheduler, steps=STEPS):
    """(last_lr, lrs, momenta) right after construction and after each step."""

    def snapshot():
        return (list(scheduler.get_last_lr()), [g["lr"] for g in optimizer.param_groups],
                [g["betas"][0] if "betas" in g else g["momentum"] for g in optimizer.param_groups])

    out = [snapshot()]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        out.append(snapshot())
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_sequence_equals_torch(name):
    torch = pytest.importorskip("torch")
    factory, kind = CASES[name]
    opt = lucid_optimizer(kind)
    ours = trace(opt, factory(lr_scheduler, opt))
    topt = make_optimizer(torch.optim, lambda v: torch.tensor(v, requires_grad=True), kind)
    theirs = trace(topt, factory(torch.optim.lr_scheduler, topt))
    assert ours == theirs


def test_old_base_class_name_is_a_subclass_as_in_torch():
    torch = pytest.importorskip("torch")
    for module, opt in ((lr_scheduler, lucid_optimizer()), (torch.optim.lr_scheduler, make_optimizer(
            torch.optim, lambda v: torch.tensor(v, requires_grad=True), "sgd"))):
        assert issubclass(module._LRScheduler, module.LRScheduler)
        assert not isinstance(module.StepLR(opt, 2), module._LRScheduler)


@pytest.mark.parametrize("kwargs", [dict(patience=2, factor=0.5), dict(mode="max", threshold=0.05, cooldown=2),
                                    dict(threshold_mode="abs", threshold=0.02, patience=1, min_lr=[0.02, 0.001])])
def test_reduce_on_plateau_equals_torch(kwargs):
    torch = pytest.importorskip("torch")
    metrics = [1.0, 0.9, 0.95, 0.91, 0.905, 0.93, 0.89, 0.9, 0.9, 0.9, 0.88, 0.95, 0.97, 0.99, 0.985, 1.0, 1.0]

    def run(module, tensor, make):
        opt = make_optimizer(module, tensor, "sgd")
        sched = make.ReduceLROnPlateau(opt, **kwargs)
        lrs = []
        for m in metrics:
            opt.step()
            sched.step(m)
            lrs.append((sched.get_last_lr(), sched.num_bad_epochs, sched.cooldown_counter, sched.best))
        return lrs

    ours = run(optim, lambda v: lucid.tensor(v, requires_grad=True), lr_scheduler)
    theirs = run(torch.optim, lambda v: torch.tensor(v, requires_grad=True), torch.optim.lr_scheduler)
    assert ours == theirs


# ---- documented formulas (no torch needed) ----------------------------------------------------
def lrs_after_each_step(scheduler, optimizer, steps=STEPS):
    out = [[g["lr"] for g in optimizer.param_groups]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        out.append([g["lr"] for g in optimizer.param_groups])
    return out


FORMULAS = {
    "LambdaLR": lambda base, e: base * 0.95 ** e,
    "StepLR": lambda base, e: base * 0.5 ** (e // 3),
    "MultiStepLR": lambda base, e: base * 0.3 ** bisect_right([2, 5, 5, 9], e),
    "ConstantLR": lambda base, e: base * (0.25 if e < 4 else 1.0),
    "LinearLR": lambda base, e: base * (0.2 + (0.9 - 0.2) * min(6, e) / 6),
    "ExponentialLR": lambda base, e: base * 0.8 ** e,
    "PolynomialLR": lambda base, e: base * (1 - min(7, e) / 7) ** 2,
    "CosineAnnealingLR": lambda base, e: 0.001 + (base - 0.001) * (1 + math.cos(math.pi * e / 5)) / 2,
    # restarts at 3, 3 + 6 = 9, 9 + 12 = 21: T_cur is the epoch within the current period
    "CosineAnnealingWarmRestarts": lambda base, e: 0.01 + (base - 0.01) * (1 + math.cos(
        math.pi * (e - [0, 3, 9, 21][bisect_right([3, 9, 21], e)]) / [3, 6, 12, 24][bisect_right([3, 9, 21], e)])) / 2,
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_sequence_follows_the_formula(name):
    opt = lucid_optimizer()
    lrs = lrs_after_each_step(CASES[name][0](lr_scheduler, opt), opt)
    for epoch, values in enumerate(lrs):
        assert values == pytest.approx([FORMULAS[name](base, epoch) for base in (0.1, 0.05)], rel=1e-9, abs=1e-15)


def test_cyclic_triangular_follows_the_formula():
    """lr = base + (max - base) * max(0, 1 - |x|), x = epoch / step - 2 * cycle + 1; momentum inverse."""
    opt = lucid_optimizer()
    sched = lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=4, base_momentum=0.8, max_momentum=0.9)
    for epoch in range(STEPS + 1):
        cycle = math.floor(1 + epoch / 8)
        height = max(0.0, 1 - abs(epoch / 4 - 2 * cycle + 1))
        assert sched.get_last_lr() == pytest.approx([0.01 + 0.09 * height] * 2, rel=1e-12)
        assert opt.param_groups[0]["momentum"] == pytest.approx(0.9 - 0.1 * height, rel=1e-12)
        opt.step()
        sched.step()


def test_one_cycle_reaches_its_landmarks():
    opt = lucid_optimizer()
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=20, pct_start=0.25, div_factor=10,
                                    final_div_factor=100)
    lrs = lrs_after_each_step(sched, opt, steps=19)
    assert lrs[0][0] == pytest.approx(0.1) and opt.param_groups[0]["initial_lr"] == pytest.approx(0.1)
    assert lrs[4][0] == pytest.approx(1.0)  # the peak is at pct_start * total_steps - 1
    assert lrs[19][0] == pytest.approx(0.1 / 100)
    assert all(a[0] < b[0] for a, b in zip(lrs[:4], lrs[1:5])) and all(a[0] > b[0] for a, b in zip(lrs[4:], lrs[5:]))
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)
    sched.step()  # PyTorch allows last_epoch == total_steps, and refuses the step after
    with pytest.raises(ValueError, match="Tried to step 21 times"):
        sched.step()


def test_reduce_on_plateau_follows_its_rule():
    """patience=2: the third epoch in a row without an improvement of more than 10% (relative)
    halves the lr; cooldown=1 ignores the epoch after a reduction."""
    opt = lucid_optimizer()
    sched = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, threshold=0.1, cooldown=1, min_lr=0.03)
    metrics = [1.0, 0.95, 0.93, 0.92, 0.91, 0.9, 0.89, 0.88, 0.5, 0.6]
    # bad epochs: 0.95 .. 0.92 (not < 0.9 * 1.0) -> reduce after 0.92; 0.91 in cooldown; 0.9 (< 0.9? no),
    # 0.89 (0.89 < 0.9 * 1.0 -> improvement, best 0.89); 0.88 bad; 0.5 improvement; 0.6 bad
    expected = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05]
    for m, lr in zip(metrics, expected):
        opt.step()
        sched.step(m)
        assert sched.get_last_lr()[0] == pytest.approx(lr)
    assert opt.param_groups[1]["lr"] == pytest.approx(0.03)  # 0.05 -> 0.025, clipped to min_lr
    assert sched.best == 0.5


def test_sequential_switches_at_milestones():
    opt = lucid_optimizer()
    sched = CASES["SequentialLR"][0](lr_scheduler, opt)
    lrs = [g[0] for g in lrs_after_each_step(sched, opt, steps=8)]
    linear = [0.1 * (0.1 + 0.9 * min(4, e) / 4) for e in range(4)]
    assert lrs == pytest.approx(linear + [0.1 * 0.9 ** e for e in range(5)], rel=1e-12)


# ---- stepping with an epoch, warnings, saving ------------------------------------------------------
def test_step_with_epoch_uses_the_closed_form():
    opt = lucid_optimizer()
    sched = lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    opt.step()
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(7)
    assert sched.get_last_lr() == pytest.approx([0.1 * 0.25, 0.05 * 0.25])


def test_warns_when_stepped_before_the_optimizer():
    opt = lucid_optimizer()
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step"):
        sched.step()


def _resume(name, roundtrip):
    factory, kind = CASES[name]
    opt = lucid_optimizer(kind)
    sched = factory(lr_scheduler, opt)
    trace(opt, sched, steps=7)
    saved_opt, saved_sched = roundtrip(opt.state_dict()), roundtrip(sched.state_dict())
    expected = trace(opt, sched, steps=10)
    fresh = lucid_optimizer(kind)
    resumed_sched = factory(lr_scheduler, fresh)  # as in PyTorch: build the scheduler, then load both
    fresh.load_state_dict(saved_opt)
    resumed_sched.load_state_dict(saved_sched)
    assert trace(fresh, resumed_sched, steps=10) == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_round_trip_resumes_the_sequence(name):
    _resume(name, copy.deepcopy)


@pytest.mark.skipif(not hasattr(lucid, "save"), reason="lucid.save is not available yet")
@pytest.mark.parametrize("name", ["MultiStepLR", "CosineAnnealingLR", "OneCycleLR", "SequentialLR"])
def test_state_dict_round_trip_through_save_and_load(name, tmp_path):
    def through_file(state_dict):
        path = tmp_path / "state.safetensors"
        lucid.save(state_dict, path)
        return lucid.load(path)

    _resume(name, through_file)


@pytest.mark.parametrize("through_file", [False, True])
def test_plateau_state_dict_round_trip(through_file, tmp_path):
    if through_file and not hasattr(lucid, "save"):
        pytest.skip("lucid.save is not available yet")

    def roundtrip(state_dict):
        if not through_file:
            return copy.deepcopy(state_dict)
        lucid.save(state_dict, tmp_path / "state.safetensors")
        return lucid.load(tmp_path / "state.safetensors")

    opt = lucid_optimizer()
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    sched.step(math.inf)  # best stays inf (a value JSON-based formats must carry)
    for m in [1.0, 1.0, 1.0]:
        sched.step(m)
    fresh_opt = lucid_optimizer()
    fresh = lr_scheduler.ReduceLROnPlateau(fresh_opt, patience=5)
    fresh_opt.load_state_dict(roundtrip(opt.state_dict()))
    fresh.load_state_dict(roundtrip(sched.state_dict()))
    for m in [1.0, 1.0, 0.5]:
        sched.step(m)
        fresh.step(m)
        assert fresh.get_last_lr() == sched.get_last_lr() and fresh.patience == 1


def test_lambda_state_keeps_callable_objects_state():
    class Schedule:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    opt = lucid_optimizer()
    fn = Schedule()
    sched = lr_scheduler.LambdaLR(opt, fn)
    fn.rate = 0.25
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.25}, {"rate": 0.25}]
    other = lr_scheduler.LambdaLR(lucid_optimizer(), Schedule())
    other.load_state_dict(state)
    assert other.lr_lambdas[0].rate == 0.25
    assert lr_scheduler.LambdaLR(lucid_optimizer(), lambda e: 1.0).state_dict()["lr_lambdas"] == [None, None]


# ---- bad input ------------------------------------------------------------------------------------
def test_bad_input_raises_clear_errors():
    opt = lucid_optimizer()
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="one value per param group"):
        lr_scheduler.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(TypeError, match="should be a function"):
        lr_scheduler.MultiplicativeLR(opt, 0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        lr_scheduler.ConstantLR(opt, factor=1.5)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        lr_scheduler.LinearLR(opt, start_factor=0.0)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(lucid_optimizer(), step_size=2, last_epoch=3)
    with pytest.raises(ValueError, match="T_0"):
        lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="total_steps"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="pct_start"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="momentum"):
        lr_scheduler.CyclicLR(optim.Adagrad([lucid.zeros(1, requires_grad=True)]), base_lr=0.01, max_lr=0.1)
    with pytest.raises(ValueError, match="mode"):
        lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, mode="sawtooth")
    with pytest.raises(ValueError, match="Factor"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="median")
    with pytest.raises(ValueError, match="milestone"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.ExponentialLR(opt, 0.9)] * 2, milestones=[])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        lr_scheduler.ChainedScheduler([lr_scheduler.ReduceLROnPlateau(opt)])
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.ChainedScheduler([lr_scheduler.ExponentialLR(opt, 0.9),
                                       lr_scheduler.ExponentialLR(lucid_optimizer(), 0.9)])
