"""PyTorch's examples/word_language_model, small: Embedding -> LSTM -> Linear, truncated BPTT with the
hidden state detached between batches, gradient clipping and a hand-written SGD update."""

import math

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(4)
ntokens, ninp, nhid, nlayers, bptt, batch_size, lr, clip = 50, 16, 24, 2, 8, 4, 1.0, 0.25
corpus = torch.from_numpy(rng.integers(0, ntokens, size=400))


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()


class RNNModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Embedding(ntokens, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers)
        self.decoder = nn.Linear(nhid, ntokens)

    def forward(self, input, hidden):
        emb = self.encoder(input)
        output, hidden = self.rnn(emb, hidden)
        decoded = self.decoder(output).view(-1, ntokens)
        return nn.functional.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(nlayers, bsz, nhid), weight.new_zeros(nlayers, bsz, nhid))


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def get_batch(source, i):
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].reshape(-1)


model = RNNModel()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.2, 0.2, size=tuple(p.shape)).astype(np.float32)))
criterion = nn.NLLLoss()
train_data = batchify(corpus, batch_size)

for epoch in range(2):
    model.train()
    hidden = model.init_hidden(batch_size)
    total = 0.0
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        data, targets = get_batch(train_data, i)
        model.zero_grad()
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)  # as PyTorch's word_language_model example writes it
        total += loss.item()
        print(f"{loss.item():.6f}")
    print(f"{math.exp(total / (batch + 1)):.6f}")
