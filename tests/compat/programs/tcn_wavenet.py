"""A WaveNet-style temporal convolutional network: dilated causal Conv1d by left padding with
``F.pad(x, (left, 0))``, ``nn.utils.parametrizations.weight_norm``, gated ``tanh * sigmoid`` units, residual
and skip connections over an ``nn.ModuleList``, Adam with ExponentialLR; a NumPy sine-mixture series is
predicted one step ahead."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import weight_norm

rng = np.random.default_rng(17)


class CausalConv1d(nn.Module):
    def __init__(self, cin, cout, kernel_size, dilation=1):
        super().__init__()
        self.left = (kernel_size - 1) * dilation
        self.conv = weight_norm(nn.Conv1d(cin, cout, kernel_size, dilation=dilation))

    def forward(self, x):
        return self.conv(F.pad(x, (self.left, 0)))


class ResidualBlock(nn.Module):
    def __init__(self, channels, skip_channels, dilation):
        super().__init__()
        self.filter = CausalConv1d(channels, channels, 2, dilation)
        self.gate = CausalConv1d(channels, channels, 2, dilation)
        self.res = nn.Conv1d(channels, channels, 1)
        self.skip = nn.Conv1d(channels, skip_channels, 1)

    def forward(self, x):
        h = torch.tanh(self.filter(x)) * torch.sigmoid(self.gate(x))
        return x + self.res(h), self.skip(h)


class WaveNet(nn.Module):
    def __init__(self, channels=8, skip_channels=8, dilations=(1, 2, 4, 8)):
        super().__init__()
        self.inp = CausalConv1d(1, channels, 2)
        self.blocks = nn.ModuleList([ResidualBlock(channels, skip_channels, d) for d in dilations])
        self.out = nn.Sequential(nn.ReLU(), nn.Conv1d(skip_channels, skip_channels, 1), nn.ReLU(),
                                 nn.Conv1d(skip_channels, 1, 1))

    def forward(self, x):
        x = self.inp(x)
        skips = 0
        for block in self.blocks:
            x, s = block(x)
            skips = skips + s
        return self.out(skips)


t = np.arange(600)
series = (np.sin(t * 0.07) + 0.5 * np.sin(t * 0.23 + 1.0) + rng.normal(0, 0.05, size=t.shape)).astype(np.float32)
windows = np.stack([series[i:i + 65] for i in range(0, 520, 8)])  # (65, 65)
x_all = torch.from_numpy(windows[:, :-1]).unsqueeze(1)
y_all = torch.from_numpy(windows[:, 1:]).unsqueeze(1)

model = WaveNet()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
print("parametrized", sorted({n.rsplit(".", 2)[-2] for n, _ in model.named_parameters() if "original" in n}))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)

for epoch in range(4):
    perm = rng.permutation(len(x_all))
    total = 0.0
    for i in range(0, len(perm), 16):
        idx = torch.from_numpy(perm[i:i + 16])
        pred = model(x_all[idx])
        loss = F.mse_loss(pred, y_all[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
    scheduler.step()
    print(f"epoch {epoch} lr {scheduler.get_last_lr()[0]:.6f} mse {total / len(perm):.6f}")

# causality: changing the future does not change earlier outputs
model.eval()
with torch.no_grad():
    x = x_all[:1].clone()
    before = model(x)
    x[..., 40:] += 1.0
    after = model(x)
print(f"past-change {(after[..., :40] - before[..., :40]).abs().max().item():.6f}")
print(f"future-change {(after[..., 40:] - before[..., 40:]).abs().max().item():.6f}")
g = model.blocks[0].filter.conv.parametrizations.weight.original0
print("g shape", tuple(g.shape))
print(f"g-norm {g.norm().item():.6f}")
