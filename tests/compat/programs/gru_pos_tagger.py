"""A bidirectional GRU part-of-speech tagger over variable-length sentences: pad_sequence, pack_padded_sequence
with enforce_sorted=False (lengths as a CPU int64 tensor), pad_packed_sequence(total_length=), the final hidden
states of both directions, a character-level CNN (Conv1d + max over time via masked_fill) concatenated to word
embeddings, cross_entropy with ignore_index on padding and label smoothing, masked token accuracy, RMSprop, and
torch.nn.utils.rnn.pack_sequence / unpack_sequence round trips; weights from NumPy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence, unpack_sequence

rng = np.random.default_rng(27)
V, C, TAGS, PAD_TAG, EMB, HID, CH = 30, 12, 5, -100, 10, 8, 6
lengths = [5, 2, 7, 4, 3, 6]
words = [torch.from_numpy(rng.integers(1, V, size=n)) for n in lengths]
tags = [w % TAGS for w in words]  # a learnable rule
chars = [torch.from_numpy(rng.integers(1, C, size=(n, 4))) for n in lengths]


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, EMB, padding_idx=0)
        self.cemb = nn.Embedding(C, 4, padding_idx=0)
        self.cconv = nn.Conv1d(4, CH, kernel_size=3, padding=1)
        self.gru = nn.GRU(EMB + CH, HID, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * HID, TAGS)

    def forward(self, w, c, lens):
        B, T = w.shape
        ce = self.cemb(c.view(B * T, -1)).transpose(1, 2)
        cf = self.cconv(ce).masked_fill((c.view(B * T, -1) == 0).unsqueeze(1), float("-inf")).amax(dim=2)
        cf = torch.where(torch.isinf(cf), torch.zeros_like(cf), cf).view(B, T, CH)
        x = torch.cat([self.emb(w), cf], dim=-1)
        packed = pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
        out, h = self.gru(packed)
        out, out_lens = pad_packed_sequence(out, batch_first=True, total_length=T)
        return self.out(out), h, out_lens


model = Tagger()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
    model.emb.weight[0].zero_()
    model.cemb.weight[0].zero_()

w = pad_sequence(words, batch_first=True)
y = pad_sequence(tags, batch_first=True, padding_value=PAD_TAG)
c = pad_sequence(chars, batch_first=True)
lens = torch.tensor(lengths)
print("padded", tuple(w.shape), tuple(c.shape), y[1].tolist())

opt = torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.95)
for step in range(6):
    opt.zero_grad()
    logits, h, out_lens = model(w, c, lens)
    loss = F.cross_entropy(logits.reshape(-1, TAGS), y.reshape(-1), ignore_index=PAD_TAG, label_smoothing=0.1)
    loss.backward()
    opt.step()
    mask = y != PAD_TAG
    acc = ((logits.argmax(-1) == y) & mask).sum().float() / mask.sum()
    print(f"step {step} loss {loss.item():.5f} acc {acc.item():.4f} pad logits {logits[1, 3:].abs().sum().item():.4f}")
print("h", tuple(h.shape), h[0].sum().item(), h[1].sum().item(), out_lens.tolist())

# pack_sequence / unpack_sequence round trip through the GRU, unsorted
with torch.no_grad():
    feats = [torch.cat([model.emb(s), torch.zeros(len(s), CH)], dim=-1) for s in words]
    packed = pack_sequence(feats, enforce_sorted=False)
    print("batch_sizes", packed.batch_sizes.tolist(), "sorted", packed.sorted_indices.tolist())
    out, _ = model.gru(packed)
    seqs = unpack_sequence(out)
    print("unpacked", [tuple(s.shape) for s in seqs], seqs[2][-1].sum().item())
    single, _ = model.gru(feats[2].unsqueeze(0))
    print("matches unbatched", torch.allclose(single[0], seqs[2], atol=1e-5))
