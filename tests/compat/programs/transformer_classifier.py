"""A sequence classifier with nn.TransformerEncoder (batch_first, no dropout), a learned [CLS] token,
a padding mask, label smoothing, Adam with a cosine learning-rate schedule and gradient clipping."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(7)
vocab, d_model, n_classes, seq_len, batch = 20, 16, 3, 10, 12


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model, padding_idx=0)
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
        layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, n_classes)

    def forward(self, tokens):
        x = self.embed(tokens)
        x = torch.cat([self.cls.expand(tokens.size(0), -1, -1), x], dim=1)
        pad = torch.cat([torch.zeros(tokens.size(0), 1, dtype=torch.bool), tokens == 0], dim=1)
        x = self.encoder(x, src_key_padding_mask=pad)
        return self.head(x[:, 0])


model = Classifier()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
lengths = rng.integers(3, seq_len + 1, size=48)
tokens = np.zeros((48, seq_len), dtype=np.int64)
for i, n in enumerate(lengths):
    tokens[i, :n] = rng.integers(1, vocab, size=n)
tokens = torch.from_numpy(tokens)
labels = torch.from_numpy(lengths % n_classes)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=12)

for step in range(12):
    index = torch.from_numpy(rng.permutation(48)[:batch])
    logits = model(tokens[index])
    loss = F.cross_entropy(logits, labels[index], label_smoothing=0.1)
    optimizer.zero_grad()
    loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    scheduler.step()
    print(f"{loss.item():.6f}")
    print(f"{norm.item():.6f}")
model.eval()
with torch.no_grad():
    accuracy = (model(tokens).argmax(-1) == labels).float().mean()
print(f"{accuracy.item():.6f}")
print(f"{scheduler.get_last_lr()[0]:.8f}")
