"""RealNVP on 2-D data: affine coupling layers with their masks registered as buffers, tanh-bounded scales,
``torch.exp`` and log-determinant accumulation, a MultivariateNormal / Normal base density with
``log_prob(...).sum(-1)``, Adam; data and weights from NumPy."""
import numpy as np
import torch
import torch.nn as nn
from torch.distributions import MultivariateNormal, Normal

rng = np.random.default_rng(11)


class Coupling(nn.Module):
    def __init__(self, mask, hidden=16):
        super().__init__()
        self.register_buffer("mask", mask)
        self.s = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 2), nn.Tanh())
        self.t = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 2))
        self.scale = nn.Parameter(torch.ones(1, 2))

    def forward(self, x):  # data -> latent
        x_masked = x * self.mask
        s = self.scale * self.s(x_masked) * (1 - self.mask)
        t = self.t(x_masked) * (1 - self.mask)
        z = x_masked + (1 - self.mask) * (x * torch.exp(s) + t)
        return z, s.sum(dim=1)

    def inverse(self, z):
        z_masked = z * self.mask
        s = self.scale * self.s(z_masked) * (1 - self.mask)
        t = self.t(z_masked) * (1 - self.mask)
        return z_masked + (1 - self.mask) * (z - t) * torch.exp(-s)


class RealNVP(nn.Module):
    def __init__(self, n_layers=4):
        super().__init__()
        masks = [torch.tensor([1.0, 0.0]) if i % 2 == 0 else torch.tensor([0.0, 1.0]) for i in range(n_layers)]
        self.layers = nn.ModuleList([Coupling(m) for m in masks])
        self.prior = MultivariateNormal(torch.zeros(2), torch.eye(2))

    def forward(self, x):
        log_det = torch.zeros(x.shape[0])
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return x, log_det

    def log_prob(self, x):
        z, log_det = self(x)
        return self.prior.log_prob(z) + log_det

    def sample_from(self, z):
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z


def two_moons(n):
    t = rng.uniform(0, np.pi, size=n)
    upper = rng.random(n) < 0.5
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    return (np.stack([x, y], 1) + rng.normal(0, 0.08, size=(n, 2))).astype(np.float32)


flow = RealNVP()
with torch.no_grad():
    for name, p in flow.named_parameters():
        if not name.endswith("scale"):
            p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
optimizer = torch.optim.Adam(flow.parameters(), lr=5e-3)
data = torch.from_numpy(two_moons(256))
base = Normal(torch.zeros(2), torch.ones(2))

for step in range(8):
    batch = data[(step * 64) % 256:(step * 64) % 256 + 64]
    loss = -flow.log_prob(batch).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"step {step} nll {loss.item():.6f}")

flow.eval()
fixed = torch.tensor([[0.0, 0.0], [1.0, 0.5], [-0.5, 0.8]])
with torch.no_grad():
    lp = flow.log_prob(fixed)
    z, log_det = flow(fixed)
    lp_normal = base.log_prob(z).sum(-1) + log_det
    back = flow.sample_from(z)
for i in range(3):
    print(f"log_prob[{i}] {lp[i].item():.6f}")
print(f"normal-vs-mvn {(lp - lp_normal).abs().max().item():.6f}")
print(f"inverse-error {(back - fixed).abs().max().item():.6f}")
print("mask buffers", sorted(k for k in flow.state_dict() if k.endswith("mask")))
cov = torch.tensor([[1.0, 0.3], [0.3, 0.5]])
correlated = MultivariateNormal(torch.tensor([0.5, -0.2]), covariance_matrix=cov)
print(f"correlated log_prob {correlated.log_prob(fixed).sum().item():.6f}")
print(f"correlated entropy {correlated.entropy().item():.6f}")
print(f"scale_tril {MultivariateNormal(torch.zeros(2), scale_tril=torch.linalg.cholesky(cov)).log_prob(z).mean():.6f}")
