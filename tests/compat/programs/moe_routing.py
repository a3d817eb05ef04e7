"""Mixture-of-experts routing: top-k gate logits, softmax over the chosen k, one_hot/bincount/histc expert
counts, dispatch by torch.where + index_add_, the same combine by scatter_ into dense gates, a Switch-style
load-balancing loss, gradient accumulation over micro-batches, ReduceLROnPlateau."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(13)
d, hidden, n_experts, k, n_classes = 8, 16, 4, 2, 3


class Expert(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x):
        return self.fc2(F.silu(self.fc1(x)))


class MoE(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate = nn.Linear(d, n_experts, bias=False)
        self.experts = nn.ModuleList([Expert() for _ in range(n_experts)])

    def forward(self, x):
        logits = self.gate(x)  # T, E
        top_vals, top_idx = torch.topk(logits, k, dim=-1)
        weights = F.softmax(top_vals, dim=-1, dtype=torch.float32)
        out = torch.zeros_like(x)
        for e, expert in enumerate(self.experts):
            token, slot = torch.where(top_idx == e)
            if token.numel() == 0:
                continue
            y = expert(x[token]) * weights[token, slot, None]
            out.index_add_(0, token, y)
        # Switch-transformer auxiliary loss: fraction routed to each expert times its mean gate probability
        probs = logits.softmax(-1)
        mask = F.one_hot(top_idx, num_classes=n_experts).sum(dim=1).float()  # T, E
        aux = n_experts * (mask.mean(0) / k * probs.mean(0)).sum()
        return out, aux, logits, top_idx, weights


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(d, d)
        self.moe = MoE()
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, n_classes)

    def forward(self, x):
        h = self.inp(x)
        m, aux, logits, top_idx, weights = self.moe(h)
        return self.out(self.norm(h + m)), aux, logits, top_idx, weights


model = Model()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.4, size=tuple(p.shape)).astype(np.float32)))
        if name.startswith("norm.weight"):
            p.add_(1.0)
x_all = torch.from_numpy(rng.normal(size=(64, d)).astype(np.float32))
y_all = torch.from_numpy((x_all[:, :3].numpy().argmax(1)).astype(np.int64))

# the dense combine by scatter_ equals the sparse dispatch
with torch.no_grad():
    out, aux, logits, top_idx, weights = model(x_all[:16])
    h = model.inp(x_all[:16])
    dense = torch.zeros(16, n_experts).scatter_(1, top_idx, weights)
    all_out = torch.stack([e(h) for e in model.moe.experts], dim=1)  # T, E, d
    combined = (dense.unsqueeze(-1) * all_out).sum(1)
    print(f"{(combined - model.moe(h)[0]).abs().max().item() < 1e-5}")
    print(torch.bincount(top_idx.flatten(), minlength=n_experts).tolist())
    print(torch.histc(top_idx.flatten().float(), bins=n_experts, min=0, max=n_experts - 1).tolist())
    print(f"{dense.sum(1).mean().item():.6f}")

optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=1,
                                                       threshold=0.05)
accum_steps, micro = 4, 8
for step in range(6):
    optimizer.zero_grad()
    total, total_aux = 0.0, 0.0
    start = (step % 2) * 32
    for i in range(accum_steps):
        xb = x_all[start + i * micro:start + (i + 1) * micro]
        yb = y_all[start + i * micro:start + (i + 1) * micro]
        pred, aux, _, _, _ = model(xb)
        loss = F.cross_entropy(pred, yb) + 0.01 * aux
        (loss / accum_steps).backward()
        total += loss.item() / accum_steps
        total_aux += aux.item() / accum_steps
    optimizer.step()
    scheduler.step(total if step < 3 else 10.0)
    print(f"{total:.6f}")
    print(f"{total_aux:.6f}")
    print(f"{model.moe.gate.weight.grad.norm().item():.6f}")
    print(optimizer.param_groups[0]["lr"])

with torch.no_grad():
    _, _, logits, top_idx, _ = model(x_all)
    load = torch.bincount(top_idx[:, 0], minlength=n_experts).float() / len(x_all)
print(f"{load.max().item():.6f}")
print(f"{logits.softmax(-1).mean(0).max().item():.6f}")
