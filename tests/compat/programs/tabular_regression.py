"""A tabular-data pipeline: NaN-aware standardisation (torch.nanmean, torch.nan_to_num, isnan masks), quantile
binning (torch.quantile, torch.bucketize, searchsorted), one-hot categorical features, torch.cov / corrcoef,
an MLP with BatchNorm1d and weight_norm, heteroscedastic regression with GaussianNLLLoss plus HuberLoss,
OneCycleLR, a TensorDataset/DataLoader with a seeded generator for shuffling, sliding windows via Tensor.unfold,
histc, kthvalue, median and topk summaries; weights from NumPy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import weight_norm
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(9)
N, NUM, CATS = 96, 4, 3
X = rng.standard_normal((N, NUM)).astype(np.float32) * np.array([1.0, 5.0, 0.1, 2.0], dtype=np.float32) + 3.0
X[rng.random((N, NUM)) < 0.08] = np.nan
cat = rng.integers(0, CATS, size=N)
x = torch.from_numpy(X)
c = torch.from_numpy(cat)
y = torch.nan_to_num(x[:, 0] * 0.5 - x[:, 3] * 0.2, nan=0.0) + torch.tensor([0.0, 1.0, -1.0])[c]
y = y + 0.1 * torch.from_numpy(rng.standard_normal(N).astype(np.float32))

mean = torch.nanmean(x, dim=0)
print("nan count", torch.isnan(x).sum().item(), "nanmean", [round(v, 4) for v in mean.tolist()])
filled = torch.where(torch.isnan(x), mean.expand_as(x), x)
std = filled.std(dim=0, unbiased=True)
z = (filled - mean) / std
print("cov", torch.cov(z.T).diagonal().tolist(), "corr[0,3]", torch.corrcoef(z.T)[0, 3].item())
edges = torch.quantile(z[:, 1], torch.tensor([0.25, 0.5, 0.75]))
bins = torch.bucketize(z[:, 1].contiguous(), edges)
print("edges", [round(v, 4) for v in edges.tolist()], "bin counts", torch.bincount(bins, minlength=4).tolist())
print("searchsorted", torch.searchsorted(edges, torch.tensor([-1.0, 0.0, 1.0]), right=True).tolist())
features = torch.cat([z, F.one_hot(c, CATS).float(), F.one_hot(bins, 4).float(), torch.isnan(x).float()], dim=1)
print("features", tuple(features.shape))


class Net(nn.Module):
    def __init__(self, d_in):
        super().__init__()
        self.fc1 = nn.Linear(d_in, 16, bias=False)  # a bias before BatchNorm has no gradient but noise
        self.bn = nn.BatchNorm1d(16)
        self.fc2 = weight_norm(nn.Linear(16, 2))  # after the BatchNorm: its scale is not normalised away

    def forward(self, f):
        h = F.silu(self.bn(self.fc1(f)))
        mu, raw_var = self.fc2(h).unbind(-1)
        return mu, F.softplus(raw_var) + 1e-3


net = Net(features.size(1))
with torch.no_grad():
    for name, p in net.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
print("params", sorted(n for n, _ in net.named_parameters()))
loader = DataLoader(TensorDataset(features, y), batch_size=32, shuffle=True,
                    generator=torch.Generator().manual_seed(7))
opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=9)
gnll, huber = nn.GaussianNLLLoss(), nn.HuberLoss(delta=0.5)
for epoch in range(3):
    net.train()
    total = 0.0
    for fb, yb in loader:
        opt.zero_grad()
        mu, var = net(fb)
        loss = gnll(mu, yb, var) + huber(mu, yb)
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item() * len(yb)
    print(f"epoch {epoch} loss {total / N:.5f} lr {sched.get_last_lr()[0]:.5f} "
          f"bn mean {net.bn.running_mean.sum().item():.5f}")

net.eval()
with torch.no_grad():
    mu, var = net(features)
    resid = (mu - y).abs()
    print("eval mae", resid.mean().item(), "median", resid.median().item(),
          "3rd smallest", resid.kthvalue(3).values.item())
    print("top3", [round(v, 4) for v in resid.topk(3).values.tolist()],
          "histc", torch.histc(resid, bins=4, min=0, max=2).tolist())
    print("calibrated", ((resid ** 2) / var).mean().item())
    windows = y.unfold(0, 8, 4)
    print("windows", tuple(windows.shape), windows.mean(dim=1)[:3].tolist())
    print("weight_norm g", net.fc2.parametrizations.weight.original0.norm().item())
