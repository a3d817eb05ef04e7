"""Seq2seq with the full nn.Transformer (batch_first=True, norm_first, GELU) and teacher forcing on a reversal
task: nn.Transformer.generate_square_subsequent_mask, bool src/tgt/memory key-padding masks, a bool causal mask
too, label-smoothed CrossEntropyLoss(ignore_index=PAD), the Noam schedule through LambdaLR, gradient clipping,
then greedy decoding in eval; weights and data from NumPy."""
import math

import numpy as np
import torch
import torch.nn as nn
from torch.optim.lr_scheduler import LambdaLR

rng = np.random.default_rng(23)
PAD, BOS, EOS, V, D = 0, 1, 2, 10, 16


def make_batch(n=8):
    src = torch.full((n, 7), PAD, dtype=torch.long)
    tgt = torch.full((n, 8), PAD, dtype=torch.long)
    for i in range(n):
        L = int(rng.integers(3, 7))
        s = torch.from_numpy(rng.integers(3, V, size=L))
        src[i, :L] = s
        tgt[i, :L + 2] = torch.cat([torch.tensor([BOS]), s.flip(0), torch.tensor([EOS])])
    return src, tgt


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.src_emb = nn.Embedding(V, D, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(V, D, padding_idx=PAD)
        self.pos = nn.Parameter(torch.zeros(1, 16, D))
        self.transformer = nn.Transformer(d_model=D, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                                          dim_feedforward=32, dropout=0.0, activation="gelu", batch_first=True,
                                          norm_first=True)
        self.generator = nn.Linear(D, V)

    def embed(self, emb, tokens):
        return emb(tokens) * math.sqrt(D) + self.pos[:, :tokens.size(1)]

    def forward(self, src, tgt_in, tgt_mask):
        src_pad, tgt_pad = src == PAD, tgt_in == PAD
        out = self.transformer(self.embed(self.src_emb, src), self.embed(self.tgt_emb, tgt_in), tgt_mask=tgt_mask,
                               src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
                               memory_key_padding_mask=src_pad, tgt_is_causal=True)
        return self.generator(out)


model = Seq2Seq()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.2, size=tuple(p.shape)).astype(np.float32)))
    model.src_emb.weight[PAD] = 0
    model.tgt_emb.weight[PAD] = 0
criterion = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1)
optimizer = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
warmup = 4
scheduler = LambdaLR(optimizer, lr_lambda=lambda step: D ** -0.5 * min((step + 1) ** -0.5, (step + 1) * warmup ** -1.5))
mask = nn.Transformer.generate_square_subsequent_mask(7)
print(mask.dtype, mask[0, 1].item(), mask[1, 0].item())
for step in range(8):
    src, tgt = make_batch()
    tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]
    model.train()
    logits = model(src, tgt_in, nn.Transformer.generate_square_subsequent_mask(tgt_in.size(1)))
    loss = criterion(logits.reshape(-1, V), tgt_out.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    print(f"step {step} loss {loss.item():.5f}")
    print(f"lr {scheduler.get_last_lr()[0]:.6f}")
    print(f"norm {norm.item():.5f}")

# a bool causal mask gives the same output as the float one
model.eval()
src, tgt = make_batch(3)
bool_mask = torch.triu(torch.ones(7, 7, dtype=torch.bool), diagonal=1)
with torch.no_grad():
    a = model(src, tgt[:, :-1], nn.Transformer.generate_square_subsequent_mask(7))
    b = model(src, tgt[:, :-1], bool_mask)
print("bool vs float mask", (a - b).abs().max().item() < 1e-5, a.sum().item())


@torch.no_grad()
def greedy(model, src, max_len=8):
    memory = model.transformer.encoder(model.embed(model.src_emb, src), src_key_padding_mask=src == PAD)
    ys = torch.full((src.size(0), 1), BOS, dtype=torch.long)
    for _ in range(max_len - 1):
        m = nn.Transformer.generate_square_subsequent_mask(ys.size(1))
        out = model.transformer.decoder(model.embed(model.tgt_emb, ys), memory, tgt_mask=m,
                                        memory_key_padding_mask=src == PAD)
        nxt = model.generator(out[:, -1]).argmax(-1, keepdim=True)
        ys = torch.cat([ys, nxt], dim=1)
    return ys


ys = greedy(model, src)
print("greedy", ys.shape[1], int((ys * V ** torch.arange(ys.size(1))).sum()))
