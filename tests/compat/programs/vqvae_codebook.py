"""A VQ-VAE on tiny images: a conv encoder, a codebook as nn.Embedding whose nearest entry is found both by
torch.cdist + argmin and by the expanded squared distance (sum of squares - 2 x @ e.T), quantization through
F.embedding and the straight-through estimator (z + (q - z).detach()), codebook + commitment losses, codebook usage
and perplexity from torch.bincount / F.one_hot, a ConvTranspose2d decoder, an EMA codebook update (index_add_,
scatter_add_, mul_/add_ under no_grad), and the reconstruction of a batch from indices alone."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(41)
K, D, BETA = 12, 4, 0.25


class VectorQuantizer(nn.Module):
    def __init__(self, num_embeddings, embedding_dim, beta):
        super().__init__()
        self.embedding = nn.Embedding(num_embeddings, embedding_dim)
        self.embedding.weight.data.uniform_(-1.0 / num_embeddings, 1.0 / num_embeddings)
        self.beta = beta

    def forward(self, z):
        z = z.permute(0, 2, 3, 1).contiguous()  # B, H, W, D
        flat = z.view(-1, z.shape[-1])
        d = (flat ** 2).sum(dim=1, keepdim=True) + (self.embedding.weight ** 2).sum(1) \
            - 2 * torch.matmul(flat, self.embedding.weight.t())
        indices = torch.argmin(d, dim=1)
        by_cdist = torch.cdist(flat, self.embedding.weight).argmin(dim=-1)
        q = F.embedding(indices, self.embedding.weight).view(z.shape)
        codebook_loss = F.mse_loss(q, z.detach())
        commitment_loss = F.mse_loss(z, q.detach())
        loss = codebook_loss + self.beta * commitment_loss
        q = z + (q - z).detach()
        one_hot = F.one_hot(indices, self.embedding.num_embeddings).float()
        avg_probs = one_hot.mean(dim=0)
        perplexity = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-10)))
        return q.permute(0, 3, 1, 2), loss, perplexity, indices, bool((by_cdist == indices).all())


class VQVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 8, 4, stride=2, padding=1), nn.ReLU(),
                                     nn.Conv2d(8, D, 3, padding=1))
        self.vq = VectorQuantizer(K, D, BETA)
        self.decoder = nn.Sequential(nn.Conv2d(D, 8, 3, padding=1), nn.ReLU(),
                                     nn.ConvTranspose2d(8, 1, 4, stride=2, padding=1))

    def forward(self, x):
        z = self.encoder(x)
        q, vq_loss, perplexity, indices, agree = self.vq(z)
        return self.decoder(q), vq_loss, perplexity, indices, agree, z


model = VQVAE()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))

yy, xx = np.mgrid[:8, :8]
imgs = np.stack([((xx + i) % 4 < 2) * 1.0 + 0.1 * np.cos(yy * (i % 3)) for i in range(12)])[:, None]
imgs = torch.tensor(imgs, dtype=torch.float32)
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
data_var = imgs.var()
print(f"data var {data_var.item():.6f}")

for step in range(6):
    batch = imgs[torch.from_numpy(rng.choice(12, 6, replace=False))]
    recon, vq_loss, perplexity, indices, agree, _ = model(batch)
    recon_loss = F.mse_loss(recon, batch) / data_var
    loss = recon_loss + vq_loss
    opt.zero_grad()
    loss.backward()
    opt.step()
    enc_grad = model.encoder[0].weight.grad.abs().sum().item()
    print(f"step {step} recon {recon_loss.item():.6f} vq {vq_loss.item():.6f} ppl {perplexity.item():.4f} "
          f"enc_grad {enc_grad:.5f} agree {agree}")

# codebook usage and an EMA-style codebook update (as in VQ-VAE-2) on a fresh encoding
with torch.no_grad():
    _, _, _, indices, _, z = model(imgs)
    flat = z.permute(0, 2, 3, 1).reshape(-1, D)
    counts = torch.bincount(indices, minlength=K)
    print("counts", counts.tolist(), counts.sum().item())
    sums = torch.zeros(K, D).index_add_(0, indices, flat)
    sums2 = torch.zeros(K, D).scatter_add_(0, indices.unsqueeze(1).expand(-1, D), flat)
    print("index_add == scatter_add", torch.allclose(sums, sums2))
    cluster_size = torch.ones(K)
    cluster_size.mul_(0.9).add_(counts.float(), alpha=0.1)
    n = cluster_size.sum()
    cluster_size = (cluster_size + 1e-5) / (n + K * 1e-5) * n
    embed_avg = model.vq.embedding.weight.clone().mul_(0.9).add_(sums, alpha=0.1)
    model.vq.embedding.weight.copy_(embed_avg / cluster_size.unsqueeze(1))
    print(f"new codebook norm {model.vq.embedding.weight.norm().item():.5f}")

    # decode from indices alone (as a prior would hand them over)
    codes = indices.view(imgs.shape[0], 4, 4)
    q = model.vq.embedding(codes).permute(0, 3, 1, 2)
    out = model.decoder(q)
    print(f"decoded {tuple(out.shape)} {out.mean().item():.6f} {out.std().item():.6f}")
    used = torch.unique(indices, sorted=True)
    print("unique codes", used.tolist(), used.numel())
