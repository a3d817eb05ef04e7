"""A name classifier (PyTorch's char-RNN tutorial, batched): nn.Embedding(padding_idx), a bidirectional
GRU over packed variable-length sequences, pad_packed_sequence, gradient clipping, ReduceLROnPlateau
and StepLR; weights from NumPy."""
import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

rng = np.random.default_rng(3)
all_letters = "abcdefghijklmnopqrstuvwxyz"
n_letters = len(all_letters) + 1  # 0 is padding
categories = ["en", "fr", "de"]


def word(c):
    L = int(rng.integers(3, 9))
    base = [1 + (c * 7 + j * (c + 1)) % 26 for j in range(L)]
    return [b if rng.random() > 0.2 else int(rng.integers(1, 27)) for b in base]


data = [(word(c), c) for c in rng.integers(0, 3, size=60)]


class RNN(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.embedding = nn.Embedding(n_letters, 12, padding_idx=0)
        self.gru = nn.GRU(12, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, len(categories))

    def forward(self, x, lengths):
        emb = self.embedding(x)
        packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        out, h_n = self.gru(packed)
        out, out_lens = pad_packed_sequence(out, batch_first=True)
        h = torch.cat([h_n[-2], h_n[-1]], dim=1)
        return self.fc(h), out, out_lens


model = RNN()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
    model.embedding.weight[0].zero_()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=0)
step = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.9)
criterion = nn.CrossEntropyLoss()

for epoch in range(4):
    total = 0.0
    for i in range(0, len(data), 15):
        batch = data[i:i + 15]
        seqs = [torch.tensor(s, dtype=torch.long) for s, _ in batch]
        lengths = torch.tensor([len(s) for s in seqs])
        x = pad_sequence(seqs, batch_first=True, padding_value=0)
        y = torch.LongTensor([c for _, c in batch])
        optimizer.zero_grad()
        logits, out, out_lens = model(x, lengths)
        loss = criterion(logits, y)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        total += loss.item() * y.size(0)
        print(f"epoch {epoch} batch {i // 15} loss {loss.item():.5f} grad-norm {norm:.4f}")
    step.step()
    plateau.step(total / len(data))
    print(f"epoch {epoch} lr {optimizer.param_groups[0]['lr']:.6f}")
print(out.shape, out_lens.tolist() == lengths.tolist(), out_lens.dtype)
print("padding row stays zero", model.embedding.weight[0].abs().sum().item())
model.eval()
with torch.no_grad():
    seqs = [torch.tensor(s) for s, _ in data]
    logits, _, _ = model(pad_sequence(seqs, batch_first=True), torch.tensor([len(s) for s in seqs]))
    acc = (logits.argmax(1) == torch.tensor([c for _, c in data])).float().mean()
print(f"accuracy {acc.item():.4f}")
