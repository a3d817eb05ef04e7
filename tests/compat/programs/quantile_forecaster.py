"""A probabilistic time-series forecaster: a pre-norm nn.TransformerEncoder (batch_first=True, norm_first=True,
GELU) over lagged windows with a causal mask from nn.Transformer.generate_square_subsequent_mask, sinusoidal
positional encodings kept with register_buffer(persistent=False), three quantile heads trained with the pinball
loss, gradient accumulation over micro-batches, AdamW with a warmup (LinearLR) chained to cosine decay by
SequentialLR, ReduceLROnPlateau on a validation loss, torch.utils.data windows with a DataLoader (no shuffle);
weights from NumPy, dropout 0."""
import math

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

rng = np.random.default_rng(12)
T, L, D, Q = 120, 12, 16, torch.tensor([0.1, 0.5, 0.9])
t = np.arange(T)
series = np.sin(2 * np.pi * t / 12) + 0.3 * np.sin(2 * np.pi * t / 5) + 0.1 * rng.standard_normal(T)
series = series.astype(np.float32)


class Windows(Dataset):
    def __init__(self, x, length):
        self.x, self.length = torch.from_numpy(x), length

    def __len__(self):
        return len(self.x) - self.length

    def __getitem__(self, i):
        return self.x[i:i + self.length], self.x[i + 1:i + self.length + 1]


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        pos = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe.unsqueeze(0), persistent=False)

    def forward(self, x):
        return x + self.pe[:, :x.size(1)]


class Forecaster(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(1, D)
        self.pos = PositionalEncoding(D)
        layer = nn.TransformerEncoderLayer(D, nhead=2, dim_feedforward=32, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(D)
        self.head = nn.Linear(D, len(Q))

    def forward(self, x):
        mask = nn.Transformer.generate_square_subsequent_mask(x.size(1))
        h = self.encoder(self.pos(self.inp(x.unsqueeze(-1))), mask=mask, is_causal=True)
        return self.head(self.norm(h))


def pinball(pred, target, q=Q):
    diff = target.unsqueeze(-1) - pred
    return torch.maximum(q * diff, (q - 1) * diff).mean()


model = Forecaster()
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.dim() > 1:
            p.copy_(torch.from_numpy(rng.normal(0, 0.2, size=tuple(p.shape)).astype(np.float32)))
        elif "norm" in name and name.endswith("weight"):
            p.fill_(1.0)
        else:
            p.zero_()
print("buffers", [n for n, _ in model.named_buffers()], "state keys", len(model.state_dict()))
mask = nn.Transformer.generate_square_subsequent_mask(4)
print("mask", mask.tolist())

train = Windows(series[:96], L)
val_x, val_y = Windows(series[84:], L)[0]
loader = DataLoader(train, batch_size=14, shuffle=False, drop_last=True)
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
warmup = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.2, total_iters=3)
cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=1e-4)
sched = torch.optim.lr_scheduler.SequentialLR(opt, [warmup, cosine], milestones=[3])
accum = 2
for epoch in range(2):
    model.train()
    opt.zero_grad()
    total = 0.0
    for i, (x, y) in enumerate(loader):
        loss = pinball(model(x), y) / accum
        loss.backward()
        total += loss.item()
        if (i + 1) % accum == 0:
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
    model.eval()
    with torch.no_grad():
        vq = model(val_x.unsqueeze(0))[0]
        vloss = pinball(vq, val_y)
    print(f"epoch {epoch} train {total:.5f} val {vloss.item():.5f} lr {opt.param_groups[0]['lr']:.6f}")

plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=0)
for v in [0.5, 0.4, 0.45, 0.46, 0.3]:
    plateau.step(v)
    print("plateau lr", f"{opt.param_groups[0]['lr']:.6f}", plateau.num_bad_epochs)

with torch.no_grad():
    q = model(val_x.unsqueeze(0))[0]
    coverage = ((val_y >= q[:, 0]) & (val_y <= q[:, 2])).float().mean()
    crossing = (q[:, 0] > q[:, 2]).sum()
    print("last step quantiles", [round(v, 4) for v in q[-1].tolist()], "coverage", coverage.item(),
          "crossings", crossing.item())
    print("median mae", (q[:, 1] - val_y).abs().mean().item())
