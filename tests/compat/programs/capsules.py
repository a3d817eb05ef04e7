"""A capsule-network toy (Sabour et al.): primary capsules from a conv, squash with norm(dim=-1, keepdim=True),
prediction vectors by torch.matmul broadcasting 5-D tensors, three iterations of dynamic routing (softmax over
the output capsules, einsum agreement), margin loss with F.relu(0.9 - lengths) ** 2, a masked reconstruction
decoder, Adam; weights and images from NumPy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(17)
B, C_IN, IMG, N_CLS, D_PRI, D_OUT = 6, 1, 8, 3, 4, 6


def squash(s, dim=-1):
    sq = (s ** 2).sum(dim=dim, keepdim=True)
    return sq / (1 + sq) * s / torch.sqrt(sq + 1e-8)


class CapsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(C_IN, 8, 3)
        self.primary = nn.Conv2d(8, 2 * D_PRI, 3, stride=2)
        n_pri = 2 * 2 * 2
        self.n_pri = n_pri
        self.W = nn.Parameter(torch.empty(1, n_pri, N_CLS, D_OUT, D_PRI))
        self.decoder = nn.Sequential(nn.Linear(N_CLS * D_OUT, 32), nn.ReLU(inplace=True), nn.Linear(32, IMG * IMG),
                                     nn.Sigmoid())

    def forward(self, x, y=None, iters=3):
        h = F.relu(self.conv(x))
        u = self.primary(h)  # (B, 2*D_PRI, 2, 2)
        u = u.view(x.size(0), 2, D_PRI, -1).permute(0, 1, 3, 2).reshape(x.size(0), -1, D_PRI)
        u = squash(u)
        u_hat = torch.matmul(self.W, u[:, :, None, :, None]).squeeze(-1)  # (B, n_pri, N_CLS, D_OUT)
        b = torch.zeros(x.size(0), self.n_pri, N_CLS)
        for i in range(iters):
            c = F.softmax(b, dim=2)
            s = torch.einsum("bij,bijk->bjk", c, u_hat)
            v = squash(s)
            if i < iters - 1:
                b = b + torch.einsum("bijk,bjk->bij", u_hat, v)
        lengths = v.norm(dim=-1)
        if y is None:
            y = lengths.argmax(dim=1)
        mask = F.one_hot(y, N_CLS).float()
        recon = self.decoder((v * mask[:, :, None]).flatten(1))
        return lengths, recon, c


def margin_loss(lengths, labels, m_pos=0.9, m_neg=0.1, lam=0.5):
    t = F.one_hot(labels, N_CLS).float()
    left = F.relu(m_pos - lengths) ** 2
    right = F.relu(lengths - m_neg) ** 2
    return (t * left + lam * (1 - t) * right).sum(dim=1).mean()


net = CapsNet()
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
x = torch.from_numpy(rng.random((B, C_IN, IMG, IMG)).astype(np.float32))
labels = torch.from_numpy(rng.integers(0, N_CLS, size=B))
opt = torch.optim.Adam(net.parameters(), lr=5e-3)
for step in range(6):
    lengths, recon, c = net(x, labels)
    loss = margin_loss(lengths, labels) + 0.0005 * F.mse_loss(recon, x.view(B, -1), reduction="sum")
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"step {step} loss {loss.item():.6f}")
    print(f"len {lengths.mean().item():.6f}")
with torch.no_grad():
    lengths, recon, c = net(x)
print("coupling sums", torch.allclose(c.sum(dim=2), torch.ones(B, net.n_pri)), c.max().item())
print("pred", (lengths.argmax(1) == labels).float().mean().item())
print("recon", recon.mean().item())
m = torch.from_numpy(rng.standard_normal((2, 3, 4)).astype(np.float32))
n = torch.from_numpy(rng.standard_normal((2, 4, 5)).astype(np.float32))
print("bmm einsum", (torch.einsum("bij,bjk->bik", m, n) - torch.bmm(m, n)).abs().max().item() < 1e-5,
      torch.einsum("bij,bjk->bik", m, n).sum().item())
