"""A tiny Vision Transformer: patch embedding by a strided Conv2d (and the same by unfold/reshape/permute),
a [CLS] token and positional embedding as nn.Parameter, a pre-norm GELU nn.TransformerEncoder, AdamW with a
LambdaLR linear warmup + decay, no weight decay on norms/biases/tokens, clip_grad_norm_'s returned norm."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(21)
img, patch, d, n_classes = 8, 4, 16, 3
n_patches = (img // patch) ** 2


class ViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, d, kernel_size=patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, n_patches + 1, d))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        layer = nn.TransformerEncoderLayer(d_model=d, nhead=2, dim_feedforward=2 * d, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(d), enable_nested_tensor=False)
        self.head = nn.Linear(d, n_classes)

    def embed(self, x):
        x = self.patch_embed(x)  # B, d, H/p, W/p
        return x.flatten(2).transpose(1, 2)  # B, N, d

    def forward(self, x):
        x = self.embed(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1) + self.pos_embed
        x = self.blocks(x)
        return self.head(x[:, 0])


def unfold_patches(x, p):
    """The patches the strided convolution sees, built with Tensor.unfold, as (B, N, C*p*p)."""
    b, c = x.shape[:2]
    x = x.unfold(2, p, p).unfold(3, p, p)  # B, C, H/p, W/p, p, p
    return x.permute(0, 2, 3, 1, 4, 5).reshape(b, -1, c * p * p)


model = ViT()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.2, size=tuple(p.shape)).astype(np.float32)))
        if "norm" in name and name.endswith("weight"):
            p.add_(1.0)

images = torch.from_numpy(rng.normal(size=(24, 3, img, img)).astype(np.float32))
labels = torch.from_numpy(rng.integers(0, n_classes, size=24))
images[labels == 1, 0] += 1.0
images[labels == 2, :, :4] -= 1.0

# patch embedding by unfold == by the strided convolution; F.unfold gives the same patches
with torch.no_grad():
    by_conv = model.embed(images)
    w = model.patch_embed.weight.reshape(d, -1)
    by_unfold = unfold_patches(images, patch) @ w.t() + model.patch_embed.bias
    by_f_unfold = F.unfold(images, kernel_size=patch, stride=patch).transpose(1, 2) @ w.T + model.patch_embed.bias
print(f"{(by_conv - by_unfold).abs().max().item() < 1e-5}")
print(f"{(by_conv - by_f_unfold).abs().max().item() < 1e-5}")
print(f"{by_unfold.sum().item():.5f}")

decay, no_decay = [], []
for name, p in model.named_parameters():
    if not p.requires_grad:
        continue
    if p.ndim <= 1 or name.endswith(".bias") or name in {"cls_token", "pos_embed"}:
        no_decay.append(p)
    else:
        decay.append(p)
print(len(decay), len(no_decay))
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                               {"params": no_decay, "weight_decay": 0.0}], lr=3e-3, betas=(0.9, 0.95))
warmup, total = 3, 10


def lr_lambda(step):
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))


scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
for step in range(total):
    index = torch.from_numpy(rng.permutation(24)[:8])
    logits = model(images[index])
    loss = F.cross_entropy(logits, labels[index])
    optimizer.zero_grad()
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
    optimizer.step()
    scheduler.step()
    print(f"{loss.item():.6f}")
    print(f"{grad_norm:.6f}")
    print(f"{scheduler.get_last_lr()[0]:.8f}")
model.eval()
with torch.no_grad():
    probs = model(images).softmax(dim=-1)
print(f"{(probs.argmax(-1) == labels).float().mean().item():.6f}")
print(f"{probs.max(dim=-1).values.mean().item():.6f}")
