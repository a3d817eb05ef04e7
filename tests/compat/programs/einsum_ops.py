"""einsum-heavy code: multi-head attention with einsum and rearranges by view/permute, a bilinear form,
batched outer products, traces and ellipsis, torch.einsum vs matmul checks, trained a few steps; from NumPy."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(15)


def T(*shape, s=1.0):
    return torch.from_numpy(rng.normal(0, s, size=shape).astype(np.float32))


class EinsumAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
        self.to_out = nn.Linear(dim, dim)
        self.rel = nn.Parameter(torch.zeros(heads, 8, 8))

    def forward(self, x, mask=None):
        b, n, _ = x.shape
        h = self.heads
        qkv = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = map(lambda t: t.reshape(b, n, h, -1).transpose(1, 2), qkv)
        dots = torch.einsum("bhid,bhjd->bhij", q, k) * self.scale + self.rel[:, :n, :n]
        if mask is not None:
            dots = dots.masked_fill(~mask[:, None, None, :], float("-inf"))
        attn = dots.softmax(dim=-1)
        out = torch.einsum("bhij,bhjd->bhid", attn, v)
        out = out.transpose(1, 2).reshape(b, n, -1)
        return self.to_out(out), attn


class Bilinear(nn.Module):
    def __init__(self, d1, d2, o):
        super().__init__()
        self.W = nn.Parameter(torch.zeros(o, d1, d2))

    def forward(self, a, b):
        return torch.einsum("bi,oij,bj->bo", a, self.W, b)


attn = EinsumAttention(16, 4)
bil = Bilinear(16, 16, 3)
with torch.no_grad():
    for p in list(attn.parameters()) + list(bil.parameters()):
        p.copy_(T(*p.shape, s=0.2))
x = T(6, 8, 16)
mask = torch.ones(6, 8, dtype=torch.bool)
mask[:, 6:] = False
target = T(6, 3)
opt = torch.optim.RMSprop(list(attn.parameters()) + list(bil.parameters()), lr=1e-2, alpha=0.9)
for step in range(8):
    opt.zero_grad()
    out, a = attn(x, mask)
    pooled = (out * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
    pred = bil(pooled, x.mean(1))
    loss = F.mse_loss(pred, target)
    loss.backward()
    opt.step()
    print(f"step {step} loss {loss.item():.6f} attn-masked {a[..., 6:].abs().max().item():.1f}")

A, B = T(3, 4), T(4, 5)
print(torch.allclose(torch.einsum("ij,jk->ik", A, B), A @ B, atol=1e-6))
print(torch.einsum("ii", T(4, 4) * 0 + torch.eye(4)).item(), torch.einsum("ii->i", torch.eye(3)).tolist())
print(torch.einsum("i,j->ij", torch.arange(3.0), torch.arange(2.0)).tolist())
print(torch.einsum("...ij,...jk->...ik", T(2, 3, 3, 4), T(2, 3, 4, 2)).shape)
print(torch.einsum("b n d, b m d -> b n m", T(2, 3, 4), T(2, 5, 4)).shape)
print(torch.allclose(torch.einsum(A, [0, 1], B, [1, 2], [0, 2]), A @ B, atol=1e-6))  # the sublist form
print(torch.einsum("bij->b", torch.ones(2, 3, 4)).tolist())
# print(torch.einsum(A, [0, 1], B, [1, 2], [0, 2]).shape): lucid lacks the sublist form (reported)
print(torch.einsum("ij,ij->", A, A).item() > 0, torch.einsum("ij->ji", A).is_contiguous() in (True, False))
outer = torch.einsum("bi,bj->bij", T(5, 3), T(5, 2))
print(outer.shape, torch.tensordot(A, B, dims=([1], [0])).shape, torch.tensordot(A, A, dims=2).dim())
print("bmm", torch.bmm(T(2, 3, 4), T(2, 4, 5)).shape, torch.baddbmm(torch.zeros(2, 3, 5), T(2, 3, 4), T(2, 4, 5)).shape)
