"""SimCLR-style contrastive learning: two views per sample, F.normalize, a temperature-scaled similarity
matrix with its diagonal masked out, NT-Xent as cross_entropy with labels from arange/roll/cat,
SGD with Nesterov momentum and a CosineAnnealingLR schedule, then a LARS optimizer written as a
torch.optim.Optimizer subclass (as in Barlow Twins' code) with a linear-warmup LambdaLR."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(5)
n, dim, feat, proj = 12, 10, 16, 8


class SimCLR(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(dim, feat), nn.BatchNorm1d(feat), nn.ReLU())
        self.projector = nn.Sequential(nn.Linear(feat, feat), nn.ReLU(), nn.Linear(feat, proj))

    def forward(self, x):
        h = self.encoder(x)
        return h, self.projector(h)


def nt_xent(z1, z2, temperature=0.5):
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)
    sim = z @ z.T / temperature
    mask = torch.eye(sim.size(0), dtype=torch.bool)
    sim = sim.masked_fill(mask, float("-inf"))
    b = z1.shape[0]
    labels = torch.arange(2 * b).roll(b)
    return F.cross_entropy(sim, labels)


def info_nce(z1, z2, temperature=0.2):
    """The same loss written the other common way: positives first, then the negatives."""
    z1, z2 = F.normalize(z1, p=2, dim=-1), F.normalize(z2, p=2, dim=-1)
    z = torch.cat((z1, z2))
    sim = torch.matmul(z, z.t())
    b = z1.size(0)
    sim.fill_diagonal_(-9e15)
    positives = torch.cat([torch.diag(sim, b), torch.diag(sim, -b)]).unsqueeze(1)
    negatives = sim[~torch.eye(2 * b, dtype=torch.bool)].view(2 * b, -1)
    logits = torch.cat([positives, negatives], dim=1) / temperature
    labels = torch.zeros(2 * b, dtype=torch.long)
    return F.cross_entropy(logits, labels), (logits.argmax(dim=1) == labels).float().mean()


class LARS(torch.optim.Optimizer):
    def __init__(self, params, lr, weight_decay=0, momentum=0.9, eta=0.001, weight_decay_filter=None,
                 lars_adaptation_filter=None):
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, eta=eta,
                        weight_decay_filter=weight_decay_filter, lars_adaptation_filter=lars_adaptation_filter)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        for g in self.param_groups:
            for p in g["params"]:
                dp = p.grad
                if dp is None:
                    continue
                if g["weight_decay_filter"] is None or not g["weight_decay_filter"](p):
                    dp = dp.add(p, alpha=g["weight_decay"])
                if g["lars_adaptation_filter"] is None or not g["lars_adaptation_filter"](p):
                    param_norm = torch.norm(p)
                    update_norm = torch.norm(dp)
                    one = torch.ones_like(param_norm)
                    q = torch.where(param_norm > 0.0,
                                    torch.where(update_norm > 0, (g["eta"] * param_norm / update_norm), one), one)
                    dp = dp.mul(q)
                param_state = self.state[p]
                if "mu" not in param_state:
                    param_state["mu"] = torch.zeros_like(p)
                mu = param_state["mu"]
                mu.mul_(g["momentum"]).add_(dp)
                p.add_(mu, alpha=-g["lr"])


def exclude_bias_and_norm(p):
    return p.ndim == 1


model = SimCLR()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.4, size=tuple(p.shape)).astype(np.float32)))
data = torch.from_numpy(rng.normal(size=(48, dim)).astype(np.float32))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=8, eta_min=1e-3)

for step in range(8):
    x = data[(step * n) % 48:(step * n) % 48 + n]
    noise1 = torch.from_numpy(rng.normal(0, 0.1, size=(n, dim)).astype(np.float32))
    noise2 = torch.from_numpy(rng.normal(0, 0.1, size=(n, dim)).astype(np.float32))
    scale = torch.from_numpy(rng.uniform(0.8, 1.2, size=(n, 1)).astype(np.float32))
    _, z1 = model(x + noise1)
    _, z2 = model(x * scale + noise2)
    loss = nt_xent(z1, z2)
    loss2, top1 = info_nce(z1, z2)
    optimizer.zero_grad()
    (loss + 0.5 * loss2).backward()
    optimizer.step()
    scheduler.step()
    print(f"{loss.item():.6f}")
    print(f"{loss2.item():.6f}")
    print(f"{top1.item():.6f}")
    print(f"{scheduler.get_last_lr()[0]:.8f}")
print(f"{optimizer.state[model.projector[2].weight]['momentum_buffer'].norm().item():.6f}")

optimizer = LARS(model.parameters(), lr=0.5, weight_decay=1e-4, eta=0.02,
                 weight_decay_filter=exclude_bias_and_norm, lars_adaptation_filter=exclude_bias_and_norm)
warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 3))
for step in range(4):
    x = data[step * n:(step + 1) * n]
    views = [x + torch.from_numpy(rng.normal(0, 0.1, size=(n, dim)).astype(np.float32)) for _ in range(2)]
    loss = nt_xent(model(views[0])[1], model(views[1])[1], temperature=0.1)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    warmup.step()
    print(f"{loss.item():.6f}")
    print(f"{optimizer.param_groups[0]['lr']:.6f}")
print(f"{optimizer.state[model.encoder[0].weight]['mu'].norm().item():.6f}")

model.eval()
with torch.no_grad():
    h, _ = model(data)
    h = F.normalize(h, dim=1)
    sim = h @ h.T
    sim.masked_fill_(torch.eye(48, dtype=torch.bool), -float("inf"))
    top = sim.topk(3, dim=1)
print(f"{top.values.mean().item():.6f}")
