"""Idioms from training scripts: transfer-learning style freezing, param groups, forward hooks for feature
extraction, tensor hooks, OneCycleLR/LambdaLR/SequentialLR/CosineAnnealingWarmRestarts, an EMA via
AveragedModel, torch.compile, torch.jit.script, IterableDataset with workers, worker_init_fn, gradient
accumulation, set_grad_enabled, clip_grad_value_, parameters_to_vector."""
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

rng = np.random.default_rng(19)


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


seed_everything(0)


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU())
        self.classifier = nn.Linear(16, 3)

    def forward(self, x):
        return self.classifier(self.features(x))


model = Backbone()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
for param in model.features[0].parameters():
    param.requires_grad = False
model.classifier = nn.Linear(16, 4)
with torch.no_grad():
    model.classifier.weight.copy_(torch.from_numpy(rng.normal(0, 0.3, size=(4, 16)).astype(np.float32)))
    model.classifier.bias.zero_()
print("trainable", sum(p.numel() for p in model.parameters() if p.requires_grad))
optimizer = torch.optim.SGD([
    {"params": model.features.parameters(), "lr": 1e-3},
    {"params": model.classifier.parameters()},
], lr=1e-2, momentum=0.9)
features = {}


def get_activation(name):
    def hook(model, input, output):
        features[name] = output.detach()
    return hook


handle = model.features[2].register_forward_hook(get_activation("fc2"))
grad_norms = []
x = torch.from_numpy(rng.standard_normal((32, 10)).astype(np.float32))
y = torch.from_numpy(rng.integers(0, 4, size=32))
sched = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[0.01, 0.1], total_steps=8)
accum = 2
for step in range(8):
    for k in range(accum):
        xb, yb = x[k * 16:(k + 1) * 16], y[k * 16:(k + 1) * 16]
        out = model(xb)
        if step == 0 and k == 0:
            h = out.register_hook(lambda g: grad_norms.append(g.norm().item()))
        loss = F.cross_entropy(out, yb) / accum
        loss.backward()
    torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
    optimizer.step()
    optimizer.zero_grad()
    sched.step()
    lr0, lr1 = sched.get_last_lr()[0], optimizer.param_groups[1]["lr"]
    print(f"step {step} lr0 {lr0:.6f} lr1 {lr1:.6f} loss {loss.item() * accum:.5f}")
handle.remove()
print(features["fc2"].shape, len(grad_norms), "grad-norm", grad_norms[0])
print("frozen", model.features[0].weight.grad is None)

opt2 = torch.optim.Adam(model.parameters(), lr=1.0)
lam = torch.optim.lr_scheduler.LambdaLR(opt2, lr_lambda=lambda epoch: 0.95 ** epoch)
warm = torch.optim.lr_scheduler.LinearLR(opt2, start_factor=0.1, total_iters=3)
cos = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt2, T_0=3, T_mult=2, eta_min=0.01)
lrs = []
opt3 = torch.optim.Adam(model.parameters(), lr=1.0)
seq = torch.optim.lr_scheduler.SequentialLR(opt3, schedulers=[
    torch.optim.lr_scheduler.LinearLR(opt3, start_factor=0.1, total_iters=3),
    torch.optim.lr_scheduler.CosineAnnealingLR(opt3, T_max=5)], milestones=[3])
for i in range(8):
    opt3.step()
    seq.step()
    lrs.append(round(seq.get_last_lr()[0], 5))
print("sequential", lrs)
for i in range(7):
    opt2.step()
    cos.step()
print("warm restarts", round(opt2.param_groups[0]["lr"], 6))

ema = torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9))
ema.update_parameters(model)
print("ema", ema.module.classifier.weight.shape, int(ema.n_averaged))
compiled = torch.compile(model)
print("compiled", torch.allclose(compiled(x), model(x)))


@torch.jit.script
def fused_gelu(x):
    return x * 0.5 * (1.0 + torch.erf(x / 1.41421))


print("jit", fused_gelu(torch.tensor([1.0])).item())
traced = torch.jit.trace(model, x[:2])
print("traced", traced(x[:2]).shape)


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        wid, nw = (0, 1) if info is None else (info.id, info.num_workers)
        for i in range(wid, self.n, nw):
            yield torch.tensor([float(i)]), i % 2


def worker_init_fn(worker_id):
    np.random.seed(np.random.get_state()[1][0] + worker_id)


loader = DataLoader(Stream(10), batch_size=3, num_workers=2, worker_init_fn=worker_init_fn)
seen = sorted(int(v) for xb, yb in loader for v in xb.view(-1).tolist())
print("iterable workers", seen)
with torch.set_grad_enabled(False):
    print("grad-enabled", model(x).requires_grad, torch.is_grad_enabled())
vec = torch.nn.utils.parameters_to_vector(model.parameters())
torch.nn.utils.vector_to_parameters(vec * 1.0, model.parameters())
print("vec", vec.shape, vec.norm().item())
md = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.Identity()})
pl = nn.ParameterList([nn.Parameter(torch.ones(2)) for _ in range(3)])
print(len(md), list(md.keys()), len(pl), sum(p.sum() for p in pl).item())
print([n for n, _ in model.named_modules()])
print(torch.where(torch.tensor([1.0, -1.0]) > 0, 1.0, 0.0).tolist(),
      torch.nan_to_num(torch.tensor([float("nan"), 1.0])).tolist())
print(torch.quantile(torch.arange(5.0), 0.25).item(),
      torch.searchsorted(torch.tensor([1, 3, 5]), torch.tensor([2, 6])).tolist(),
      torch.bucketize(torch.tensor([0.5, 2.5]), torch.tensor([1.0, 2.0])).tolist())
print(torch.multinomial(torch.tensor([0.0, 1.0, 0.0]), 2, replacement=True).tolist(),
      torch.topk(torch.tensor([3, 1, 2]), 2).indices.tolist())
print(x.new_zeros(2, 3).shape, x.new_tensor([1, 2]).dtype, x.new_full((2,), 3.0).tolist(), x.new_ones(1).dtype)
