"""Every lr_scheduler step by step: StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts
(T_mult, fractional epochs), CyclicLR (triangular2, exp_range, momentum cycling), OneCycleLR (cos; linear three-phase;
Adam's beta1 cycling), PolynomialLR, LinearLR, ConstantLR, LambdaLR (one lambda per group), MultiplicativeLR,
SequentialLR, ChainedScheduler, a custom LRScheduler subclass, ReduceLROnPlateau in every mode with cooldown and
per-group min_lr, and a state_dict() resume mid-schedule: get_last_lr(), the groups' lr and momentum, the
state_dict keys (in PyTorch's order)."""

import torch
from torch.optim import lr_scheduler as L


def sgd(groups=2):
    params = [{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.1 * (i + 1)} for i in range(groups)]
    return torch.optim.SGD(params, lr=0.1, momentum=0.9)


class WarmupCosine(L.LRScheduler):
    def __init__(self, optimizer, warmup, total, last_epoch=-1):
        self.warmup, self.total = warmup, total
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e = self.last_epoch
        if e < self.warmup:
            return [b * (e + 1) / self.warmup for b in self.base_lrs]
        t = (e - self.warmup) / max(1, self.total - self.warmup)
        return [b * 0.5 * (1 + torch.cos(torch.tensor(t * 3.141592653589793)).item()) for b in self.base_lrs]


SCHEDULES = {
    "step": lambda o: L.StepLR(o, 3, gamma=0.5),
    "multistep": lambda o: L.MultiStepLR(o, [2, 5, 5, 9], gamma=0.3),
    "exponential": lambda o: L.ExponentialLR(o, 0.9),
    "cosine": lambda o: L.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
    "warm_restarts": lambda o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
    "polynomial": lambda o: L.PolynomialLR(o, total_iters=6, power=2.0),
    "linear": lambda o: L.LinearLR(o, start_factor=0.25, total_iters=4),
    "constant": lambda o: L.ConstantLR(o, factor=0.5, total_iters=3),
    "lambda": lambda o: L.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: 1 / (e + 1)]),
    "multiplicative": lambda o: L.MultiplicativeLR(o, lambda e: 0.95),
    "sequential": lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=3), L.CosineAnnealingLR(o, 4),
                                               L.ExponentialLR(o, 0.8)], milestones=[3, 7]),
    "chained": lambda o: L.ChainedScheduler([L.ConstantLR(o, factor=0.1, total_iters=2), L.ExponentialLR(o, 0.9)]),
    "onecycle": lambda o: L.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=14),
    "onecycle_3phase": lambda o: L.OneCycleLR(o, max_lr=1.0, epochs=3, steps_per_epoch=5, anneal_strategy="linear",
                                              three_phase=True, div_factor=10, final_div_factor=100),
    "cyclic_tri2": lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=2, step_size_down=3, mode="triangular2"),
    "cyclic_exp": lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=2, mode="exp_range", gamma=0.9,
                                       base_momentum=0.8, max_momentum=0.95),
    "custom": lambda o: WarmupCosine(o, 3, 12),
}

for name, make in SCHEDULES.items():
    opt = sgd()
    sched = make(opt)
    lrs, moms = [], []
    for _ in range(14):
        opt.step()
        sched.step()
        lrs.append(round(sched.get_last_lr()[1], 6))
        moms.append(round(opt.param_groups[0]["momentum"], 4))
    print(name, lrs, moms if moms[0] != 0.9 or len(set(moms)) > 1 else "")
    print("  keys", [k for k in sched.state_dict() if not k.startswith("_")])

    # resume mid-schedule: a fresh optimizer and scheduler loaded from the state dicts
    first, resumed = sgd(), sgd()
    s1 = make(first)
    for _ in range(5):
        first.step()
        s1.step()
    s2 = make(resumed)
    resumed.load_state_dict(first.state_dict())
    s2.load_state_dict(s1.state_dict())
    a, b = [], []
    for _ in range(5):
        for o, s, out in ((first, s1, a), (resumed, s2, b)):
            o.step()
            s.step()
            out.append(round(s.get_last_lr()[0], 6))
    print("  resumed", a == b, b, getattr(s2, "last_epoch", None))

# fractional epochs of CosineAnnealingWarmRestarts, as its docs use it inside the batch loop
opt = sgd(1)
sched = L.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
lrs = []
for epoch in range(4):
    for it in range(4):
        opt.step()
        sched.step(epoch + it / 4)
        lrs.append(round(opt.param_groups[0]["lr"], 6))
print("fractional", lrs, sched.T_cur, sched.T_i)

# Adam's beta1 follows OneCycleLR's momentum
p = torch.nn.Parameter(torch.zeros(2))
opt = torch.optim.Adam([p], lr=0.1)
sched = L.OneCycleLR(opt, max_lr=0.5, total_steps=8)
betas = []
for _ in range(8):
    opt.step()
    sched.step()
    betas.append(round(opt.param_groups[0]["betas"][0], 5))
print("onecycle betas", betas)

for mode, threshold_mode in [("min", "rel"), ("min", "abs"), ("max", "rel"), ("max", "abs")]:
    opt = sgd()
    sched = L.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=1, threshold=0.05, threshold_mode=threshold_mode,
                                cooldown=1, min_lr=[0.02, 0.001])
    sign = 1 if mode == "min" else -1
    rec = []
    for v in [1.0, 0.97, 0.97, 0.94, 0.5, 0.5, 0.49, 0.5, 0.5, 0.5, 0.5, 0.5]:
        sched.step(sign * v)
        rec.append([round(x, 5) for x in sched.get_last_lr()])
    print("plateau", mode, threshold_mode, rec, sched.num_bad_epochs, sched.cooldown_counter, sched.best)
    print("  keys", list(sched.state_dict()))
