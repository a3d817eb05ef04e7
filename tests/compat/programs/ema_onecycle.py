"""Weight EMA and schedules: swa_utils.AveragedModel with a custom avg_fn and with get_ema_multi_avg_fn,
OneCycleLR, the GradScaler(enabled=False) training pattern, a state_dict round trip through torch.save/torch.load
(BytesIO and a temporary file), a frozen sub-module via requires_grad_(False), no-weight-decay groups, and a
timm ModelEmaV3-style EMA copy updated with torch._foreach_lerp_ / _foreach_mul_ + _foreach_add_, and a
warmup schedule written the old way, as a subclass of torch.optim.lr_scheduler._LRScheduler."""

import copy
import io
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import _LRScheduler
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

rng = np.random.default_rng(17)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Linear(6, 12), nn.LayerNorm(12), nn.GELU())
        self.body = nn.Sequential(nn.Linear(12, 12), nn.BatchNorm1d(12), nn.ReLU())
        self.head = nn.Linear(12, 2)

    def forward(self, x):
        return self.head(self.body(self.stem(x)))


model = Net()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.4, size=tuple(p.shape)).astype(np.float32)))
model.stem.requires_grad_(False)
print(sum(p.numel() for p in model.parameters() if p.requires_grad))



def param_groups(net):
    """Weight decay on the trainable matrices only: biases and norm weights get none."""
    decay = [p for n, p in net.named_parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for n, p in net.named_parameters() if p.requires_grad and (p.ndim == 1 or "norm" in n)]
    return [{"params": decay, "weight_decay": 5e-3}, {"params": no_decay, "weight_decay": 0.0}]


optimizer = torch.optim.SGD(param_groups(model), lr=0.05, momentum=0.9)
steps = 10
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.2, total_steps=steps, pct_start=0.3)
scaler = torch.amp.GradScaler("cpu", enabled=False)

ema_decay = 0.8
ema = AveragedModel(model, avg_fn=lambda avg, new, num: ema_decay * avg + (1 - ema_decay) * new)
ema_multi = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(ema_decay), use_buffers=True)


class ModelEma(nn.Module):
    """timm's ModelEmaV3 update: floating tensors by foreach lerp (or mul + add), the rest copied."""

    def __init__(self, model, decay, use_lerp):
        super().__init__()
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay, self.use_lerp = decay, use_lerp

    @torch.no_grad()
    def update(self, model):
        ema_lerp, model_lerp = [], []
        for ema_v, model_v in zip(self.module.state_dict().values(), model.state_dict().values()):
            if ema_v.is_floating_point():
                ema_lerp.append(ema_v)
                model_lerp.append(model_v)
            else:
                ema_v.copy_(model_v)
        if self.use_lerp:
            torch._foreach_lerp_(ema_lerp, model_lerp, weight=1.0 - self.decay)
        else:
            torch._foreach_mul_(ema_lerp, scalar=self.decay)
            torch._foreach_add_(ema_lerp, model_lerp, alpha=1.0 - self.decay)


ema_lerp, ema_mul_add = ModelEma(model, ema_decay, use_lerp=True), ModelEma(model, ema_decay, use_lerp=False)
x = torch.from_numpy(rng.normal(size=(40, 6)).astype(np.float32))
y = torch.from_numpy((x[:, 0] * x[:, 1] > 0).numpy().astype(np.int64))
for step in range(steps):
    xb, yb = x[(step % 4) * 10:(step % 4) * 10 + 10], y[(step % 4) * 10:(step % 4) * 10 + 10]
    with torch.autocast("cpu", enabled=False):
        loss = F.cross_entropy(model(xb), yb)
    optimizer.zero_grad()
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()
    ema.update_parameters(model)
    ema_multi.update_parameters(model)
    ema_lerp.update(model)
    ema_mul_add.update(model)
    print(f"{loss.item():.6f}")
    print(f"{scheduler.get_last_lr()[0]:.8f}")
    print(f"{optimizer.param_groups[0]['momentum']:.6f}")
print(f"{scaler.get_scale():.1f}")
print(scaler.is_enabled())
print(int(ema.n_averaged))
print(f"{ema.module.head.weight.sum().item():.6f}")
print(f"{ema_multi.module.head.weight.sum().item():.6f}")
print(f"{ema_multi.module.body[1].running_mean.sum().item():.6f}")
print(f"{ema.module.body[1].running_mean.sum().item():.6f}")
print(f"{model.stem[0].weight.grad is None}")
print(f"{ema_lerp.module.head.weight.sum().item():.6f}")
print(f"{ema_mul_add.module.body[1].running_var.sum().item():.6f}")
print(int(ema_lerp.module.body[1].num_batches_tracked))
print(torch._foreach_norm([ema_lerp.module.head.weight, ema_mul_add.module.head.weight])[1].item() > 0)

# state_dict round trip: in memory and through a file
buffer = io.BytesIO()
torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "step": steps}, buffer)
buffer.seek(0)
checkpoint = torch.load(buffer, weights_only=True)
restored = Net()
restored.load_state_dict(checkpoint["model"])
restored_ema = AveragedModel(Net(), avg_fn=ema.avg_fn)
restored_ema.load_state_dict(checkpoint["ema"])
print(checkpoint["step"])
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "sched.pt")
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, path)
    state = torch.load(path, map_location="cpu")
restored.stem.requires_grad_(False)
optimizer2 = torch.optim.SGD(param_groups(restored), lr=0.05, momentum=0.9)
optimizer2.load_state_dict(state["optimizer"])
print(f"{optimizer2.param_groups[0]['lr']:.8f}")
print(state["scheduler"]["last_epoch"])
print(f"{optimizer2.state[restored.head.weight]['momentum_buffer'].norm().item():.6f}")
scheduler2 = torch.optim.lr_scheduler.OneCycleLR(optimizer2, max_lr=0.2, total_steps=steps + 5, pct_start=0.3)
scheduler2.load_state_dict(state["scheduler"])
print(f"{scheduler2.get_last_lr()[0]:.8f}")

class WarmupLinear(_LRScheduler):
    def __init__(self, optimizer, warmup_steps, t_total, last_epoch=-1):
        self.warmup_steps, self.t_total = warmup_steps, t_total
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        step = self.last_epoch
        if step < self.warmup_steps:
            return [base_lr * (step + 1) / self.warmup_steps for base_lr in self.base_lrs]
        return [base_lr * max(0.0, (self.t_total - step) / (self.t_total - self.warmup_steps))
                for base_lr in self.base_lrs]


warmup = WarmupLinear(optimizer2, warmup_steps=2, t_total=5)
for step in range(4):
    loss = F.cross_entropy(restored(x), y)
    optimizer2.zero_grad()
    loss.backward()
    optimizer2.step()
    warmup.step()
    print(f"{loss.item():.6f}")
    print(f"{warmup.get_last_lr()[1]:.8f}")

model.eval()
restored.eval()
ema.eval()
restored_ema.eval()
with torch.no_grad():
    print(f"{(model(x) - restored(x)).abs().max().item():.6f}")
    print(f"{(ema(x) - restored_ema(x)).abs().max().item():.6f}")
    print(f"{F.cross_entropy(ema(x), y).item():.6f}")
    print(f"{F.cross_entropy(ema_multi(x), y).item():.6f}")
