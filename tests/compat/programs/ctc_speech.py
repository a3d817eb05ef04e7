"""A speech-recognition toy (DeepSpeech-style): variable-length feature sequences padded into a batch,
a bidirectional LSTM over ``pack_padded_sequence(enforce_sorted=False)`` / ``pad_packed_sequence``,
``log_softmax(2).transpose(0, 1)`` into ``nn.CTCLoss(blank=0, zero_infinity=True)``, and greedy decoding
with argmax + ``unique_consecutive``; features, labels and weights from NumPy."""
import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

rng = np.random.default_rng(7)
n_feats, n_classes = 6, 5  # class 0 is the CTC blank
prototypes = rng.normal(0, 1, size=(n_classes, n_feats))


def utterance():
    labels = rng.integers(1, n_classes, size=int(rng.integers(2, 5)))
    frames = []
    for lab in labels:
        frames += [prototypes[lab]] * int(rng.integers(2, 4)) + [prototypes[0]]
    feats = np.array(frames) + rng.normal(0, 0.3, size=(len(frames), n_feats))
    return feats.astype(np.float32), labels


class SpeechModel(nn.Module):
    def __init__(self, hidden=12):
        super().__init__()
        self.rnn = nn.LSTM(n_feats, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, n_classes)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, out_lengths = pad_packed_sequence(out, batch_first=True)
        return self.fc(out).log_softmax(2), out_lengths


def make_batch(n):
    utts = [utterance() for _ in range(n)]
    T = max(len(f) for f, _ in utts)
    x = torch.zeros(n, T, n_feats)
    for i, (f, _) in enumerate(utts):
        x[i, :len(f)] = torch.from_numpy(f)
    input_lengths = torch.tensor([len(f) for f, _ in utts], dtype=torch.long)
    targets = torch.cat([torch.from_numpy(lab) for _, lab in utts])
    target_lengths = torch.tensor([len(lab) for _, lab in utts], dtype=torch.long)
    return x, input_lengths, targets, target_lengths, utts


model = SpeechModel()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
criterion = nn.CTCLoss(blank=0, zero_infinity=True)
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)

for step in range(12):
    x, input_lengths, targets, target_lengths, _ = make_batch(6)
    log_probs, out_lengths = model(x, input_lengths)
    loss = criterion(log_probs.transpose(0, 1), targets, out_lengths, target_lengths)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    print(f"step {step} ctc {loss.item():.6f}")

# an impossible alignment (target longer than the input) is zeroed, not inf
x, input_lengths, targets, target_lengths, _ = make_batch(3)
short = torch.full((3,), 2, dtype=torch.long)
with torch.no_grad():
    log_probs, _ = model(x, input_lengths)
    lp = log_probs.transpose(0, 1)
    per_utt = nn.CTCLoss(blank=0, reduction="none", zero_infinity=True)(lp, targets, short, target_lengths)
    summed = nn.functional.ctc_loss(lp, targets, input_lengths, target_lengths, reduction="sum")
print("zeroed", per_utt.tolist())
print(f"sum {summed.item():.6f}")


def greedy_decode(log_probs, lengths):
    best = log_probs.argmax(dim=-1)
    out = []
    for seq, n in zip(best, lengths.tolist()):
        collapsed = torch.unique_consecutive(seq[:n])
        out.append([c for c in collapsed.tolist() if c != 0])
    return out


model.eval()
x, input_lengths, targets, target_lengths, utts = make_batch(4)
with torch.no_grad():
    log_probs, out_lengths = model(x, input_lengths)
decoded = greedy_decode(log_probs, out_lengths)
for (_, lab), hyp in zip(utts, decoded):
    print("ref", lab.tolist(), "hyp", hyp)
vals, counts = torch.unique_consecutive(log_probs[0].argmax(-1), return_counts=True)
print("runs", vals.tolist(), counts.tolist())
print(f"eval-ctc {criterion(log_probs.transpose(0, 1), targets, out_lengths, target_lengths).item():.6f}")
