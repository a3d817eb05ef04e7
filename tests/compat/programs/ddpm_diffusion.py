"""A DDPM training loop on tiny images: a linear beta schedule (torch.linspace, cumprod, sqrt), the per-sample
alphas gathered by timestep (Tensor.gather, reshape to (B, 1, 1, 1)), alphas_cumprod_prev by F.pad(value=1.0),
sinusoidal time embeddings (torch.exp/arange/cat of sin and cos), a small conv UNet with GroupNorm + SiLU + a time
MLP added per channel, avg_pool2d down / nearest interpolate up, MSE on the predicted noise, AdamW + clip_grad_norm_,
an EMA copy of the weights (copy.deepcopy, lerp_ under no_grad), and a few ancestral sampling steps under
torch.no_grad(). Noise and timesteps come from NumPy, so both runs see the same draws."""
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(31)
T, C, IMG = 50, 8, 8


def sinusoidal_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=-1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, tdim):
        super().__init__()
        self.norm1 = nn.GroupNorm(4, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time = nn.Linear(tdim, cout)
        self.norm2 = nn.GroupNorm(4, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(temb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class TinyUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.time_mlp = nn.Sequential(nn.Linear(C, 2 * C), nn.SiLU(), nn.Linear(2 * C, 2 * C))
        self.inc = nn.Conv2d(1, C, 3, padding=1)
        self.down = ResBlock(C, 2 * C, 2 * C)
        self.mid = ResBlock(2 * C, 2 * C, 2 * C)
        self.up = ResBlock(4 * C, C, 2 * C)
        self.out = nn.Sequential(nn.GroupNorm(4, C), nn.SiLU(), nn.Conv2d(C, 1, 3, padding=1))

    def forward(self, x, t):
        temb = self.time_mlp(sinusoidal_embedding(t, C))
        h0 = self.inc(x)
        h1 = self.down(h0, temb)
        h2 = self.mid(F.avg_pool2d(h1, 2), temb)
        h2 = F.interpolate(h2, scale_factor=2, mode="nearest")
        h = self.up(torch.cat([h2, h1], dim=1), temb)
        return self.out(h)


betas = torch.linspace(1e-4, 0.05, T)
alphas = 1.0 - betas
alphas_cumprod = torch.cumprod(alphas, dim=0)
alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
sqrt_ac = alphas_cumprod.sqrt()
sqrt_one_minus_ac = torch.sqrt(1.0 - alphas_cumprod)
posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
print(f"schedule {alphas_cumprod[-1].item():.6f} {posterior_variance[1:].mean().item():.8f}")


def extract(a, t, shape):
    out = a.gather(-1, t)
    return out.reshape(t.shape[0], *((1,) * (len(shape) - 1)))


def q_sample(x0, t, noise):
    return extract(sqrt_ac, t, x0.shape) * x0 + extract(sqrt_one_minus_ac, t, x0.shape) * noise


model = TinyUNet()
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.dim() > 1:
            fan_in = p[0].numel()
            p.copy_(torch.from_numpy(rng.normal(0, 1 / math.sqrt(fan_in), size=tuple(p.shape)).astype(np.float32)))
        elif "norm" in name and name.endswith("weight"):
            p.fill_(1.0)
        else:
            p.copy_(torch.from_numpy(rng.normal(0, 0.05, size=tuple(p.shape)).astype(np.float32)))
ema = copy.deepcopy(model).eval()
for p in ema.parameters():
    p.requires_grad_(False)

yy, xx = np.mgrid[:IMG, :IMG]
data = np.stack([np.sin(xx / (1 + i % 3)) * np.cos(yy / (2 + i % 2)) for i in range(16)])[:, None].astype(np.float32)
data = torch.from_numpy(data)
opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-2)

for step in range(6):
    idx = torch.from_numpy(rng.permutation(16)[:8])
    x0 = data[idx]
    t = torch.from_numpy(rng.integers(0, T, size=8)).long()
    noise = torch.from_numpy(rng.standard_normal(x0.shape).astype(np.float32))
    xt = q_sample(x0, t, noise)
    loss = F.mse_loss(model(xt, t), noise)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    gn = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.lerp_(pm, 0.1)
    print(f"step {step} loss {loss.item():.6f} grad {gn.item():.5f}")


@torch.no_grad()
def p_sample(net, x, t_index):
    t = torch.full((x.shape[0],), t_index, dtype=torch.long)
    beta_t = extract(betas, t, x.shape)
    eps = net(x, t)
    mean = (x - beta_t / extract(sqrt_one_minus_ac, t, x.shape) * eps) / extract(alphas, t, x.shape).sqrt()
    if t_index == 0:
        return mean
    z = torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32))
    return mean + extract(posterior_variance, t, x.shape).sqrt() * z


x = torch.from_numpy(rng.standard_normal((2, 1, IMG, IMG)).astype(np.float32))
for i in reversed(range(4)):
    x = p_sample(ema, x, i)
    print(f"sample t={i} mean {x.mean().item():.6f} std {x.std().item():.6f}")
print("clamped", x.clamp(-1, 1).abs().max().item() <= 1.0, tuple(x.shape))
print(f"ema drift {sum((a - b).pow(2).sum() for a, b in zip(ema.parameters(), model.parameters())).item():.6f}")
