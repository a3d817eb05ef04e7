"""CLIP-style contrastive training of two towers: an image tower (Conv2d, BatchNorm2d, GELU, CLIP's attention pooling
by nn.MultiheadAttention, its printed repr) and a text tower (nn.Embedding with padding_idx, a masked mean over
tokens, LayerNorm), a learnable logit_scale initialised to log(1/0.07) (exp, clamp in place under no_grad),
F.normalize, the symmetric cross-entropy over the similarity matrix with torch.arange labels, top-1/top-2 retrieval
accuracy (argmax, topk, eq/any), a DataLoader over a TensorDataset (shuffle=False, drop_last), Adam with parameter
groups at their own lr (and its printed repr), StepLR, and zero-shot classification with class prompts under
torch.inference_mode(). The images go through CLIP's preprocessing first: F.interpolate(mode="bicubic",
antialias=True) down to 8x8, then per-channel normalization."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(53)
VOCAB, SEQ, EMB, N = 20, 6, 8, 24


class AttentionPool2d(nn.Module):
    """CLIP's attention pooling: the mean token, with a positional embedding, attends over the feature map."""

    def __init__(self, spatial, dim, heads, out_dim):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.zeros(spatial ** 2 + 1, dim))
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.proj = nn.Linear(dim, out_dim, bias=False)

    def forward(self, x):
        x = x.flatten(start_dim=2).permute(0, 2, 1)  # N, HW, C
        x = torch.cat([x.mean(dim=1, keepdim=True), x], dim=1) + self.positional_embedding[None]
        out, weights = self.attn(x[:, :1], x, x, need_weights=True)
        return self.proj(out.squeeze(1)), weights


class ImageEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.GELU(),
            nn.Conv2d(8, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.GELU())
        self.attnpool = AttentionPool2d(4, 8, 2, EMB)

    def forward(self, x):
        return self.attnpool(self.features(x))[0]


class TextEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, 12, padding_idx=0)
        self.ln = nn.LayerNorm(12)
        self.proj = nn.Linear(12, EMB)

    def forward(self, tokens):
        mask = (tokens != 0).unsqueeze(-1).float()
        h = self.tok(tokens)
        pooled = (h * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.proj(self.ln(pooled))


class CLIP(nn.Module):
    def __init__(self):
        super().__init__()
        self.visual = ImageEncoder()
        self.text = TextEncoder()
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))

    def forward(self, images, tokens):
        img = F.normalize(self.visual(images), dim=-1)
        txt = F.normalize(self.text(tokens), p=2, dim=1)
        scale = self.logit_scale.exp()
        logits_per_image = scale * img @ txt.t()
        return logits_per_image, logits_per_image.T


model = CLIP()
print(model.visual)
with torch.no_grad():
    for name, p in model.named_parameters():
        if name == "logit_scale":
            continue
        if p.dim() > 1:
            p.copy_(torch.from_numpy(rng.normal(0, 0.4, size=tuple(p.shape)).astype(np.float32)))
        elif name.endswith("weight"):
            p.fill_(1.0)
        else:
            p.zero_()
    model.text.tok.weight[0].zero_()

classes = rng.integers(0, 4, size=N)
images = rng.normal(0, 0.5, size=(N, 3, 13, 13)).astype(np.float32)
for i, c in enumerate(classes):
    images[i, c % 3] += 1.0 + 0.5 * (c // 3)
tokens = np.zeros((N, SEQ), np.int64)
for i, c in enumerate(classes):
    length = 3 + i % 3
    tokens[i, :length] = rng.integers(1, VOCAB, size=length)
    tokens[i, 0] = 1 + c
# CLIP's preprocessing: a bicubic, antialiased resize (torchvision's Resize) and per-channel normalization
pixels = F.interpolate(torch.from_numpy(images), size=(8, 8), mode="bicubic", align_corners=False, antialias=True)
mean, std = pixels.mean(dim=(0, 2, 3), keepdim=True), pixels.std(dim=(0, 2, 3), keepdim=True)
pixels = (pixels - mean) / std
print(f"resized {tuple(pixels.shape)} {pixels.abs().sum().item():.4f} {pixels[0, 0, 0, :3].tolist()}")
dataset = TensorDataset(pixels, torch.from_numpy(tokens))
loader = DataLoader(dataset, batch_size=8, shuffle=False, drop_last=True)
print(len(dataset), len(loader))

opt = torch.optim.Adam([
    {"params": model.visual.parameters()},
    {"params": model.text.parameters(), "lr": 5e-3},
    {"params": [model.logit_scale], "lr": 1e-3},
], lr=1e-2)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
print(opt)

for epoch in range(3):
    model.train()
    total, correct = 0.0, 0
    for img, tok in loader:
        logits_i, logits_t = model(img, tok)
        labels = torch.arange(img.shape[0], dtype=torch.long)
        loss = (F.cross_entropy(logits_i, labels) + F.cross_entropy(logits_t, labels)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        total += loss.item() * img.shape[0]
        correct += (logits_i.argmax(dim=1) == labels).sum().item()
    sched.step()
    print(f"epoch {epoch} loss {total / 24:.6f} acc {correct}/24 scale {model.logit_scale.exp().item():.5f} "
          f"lrs {[g['lr'] for g in opt.param_groups]}")

model.eval()
with torch.inference_mode():
    logits_i, _ = model(dataset.tensors[0], dataset.tensors[1])
    top2 = logits_i.topk(2, dim=1).indices
    hit2 = (top2 == torch.arange(N).unsqueeze(1)).any(dim=1).float().mean()
    print(f"retrieval top1 {(logits_i.argmax(1) == torch.arange(N)).float().mean().item():.5f} "
          f"top2 {hit2.item():.5f}")
    prompts = torch.zeros(4, SEQ, dtype=torch.long)
    prompts[:, 0] = torch.arange(1, 5)
    img_emb = F.normalize(model.visual(dataset.tensors[0]), dim=-1)
    txt_emb = F.normalize(model.text(prompts), dim=-1)
    probs = (100.0 * img_emb @ txt_emb.T).softmax(dim=-1)
    pred = probs.argmax(-1)
    print("zero-shot", pred.tolist())
    print(f"zero-shot acc {(pred == torch.from_numpy(classes)).float().mean().item():.5f} "
          f"conf {probs.max(-1).values.mean().item():.5f}")
    print(f"pad row {model.text.tok.weight[0].abs().sum().item():.6f} "
          f"bn mean {model.visual.features[1].running_mean.sum().item():.6f}")
