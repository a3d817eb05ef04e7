"""PyTorch's examples/word_language_model TransformerModel: sequence-first nn.TransformerEncoder with a
causal mask, sinusoidal PositionalEncoding buffer, log_softmax + NLLLoss, batchify/get_batch, a
hand-written SGD step after clip_grad_norm_; weights from NumPy."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(11)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        pe = pe.unsqueeze(0).transpose(0, 1)
        self.register_buffer("pe", pe)

    def forward(self, x):
        x = x + self.pe[: x.size(0), :]
        return self.dropout(x)


class TransformerModel(nn.Transformer):
    def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
        super().__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                                               num_encoder_layers=nlayers, dropout=dropout)
        self.model_type = "Transformer"
        self.src_mask = None
        self.pos_encoder = PositionalEncoding(ninp, dropout)
        self.input_emb = nn.Embedding(ntoken, ninp)
        self.ninp = ninp
        self.decoder = nn.Linear(ninp, ntoken)

    def _generate_square_subsequent_mask(self, sz):
        return torch.log(torch.tril(torch.ones(sz, sz)))

    def forward(self, src, has_mask=True):
        if has_mask:
            device = src.device
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                mask = self._generate_square_subsequent_mask(len(src)).to(device)
                self.src_mask = mask
        else:
            self.src_mask = None
        src = self.input_emb(src) * math.sqrt(self.ninp)
        src = self.pos_encoder(src)
        output = self.encoder(src, mask=self.src_mask)
        output = self.decoder(output)
        return F.log_softmax(output, dim=-1)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    data = data.view(bsz, -1).t().contiguous()
    return data


def get_batch(source, i, bptt=8):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].view(-1)
    return data, target


ntokens = 30
corpus = torch.from_numpy((np.arange(400) * 7 % 29 + (rng.random(400) < 0.1)).astype(np.int64))
train_data = batchify(corpus, 4)
model = TransformerModel(ntokens, 16, 2, 32, 2, dropout=0.0)
with torch.no_grad():
    for name, p in model.named_parameters():
        if "norm" in name:
            continue
        p.copy_(torch.from_numpy(rng.normal(0, 0.15, size=tuple(p.shape)).astype(np.float32)))
criterion = nn.NLLLoss()
print(train_data.shape, train_data.dtype, model.src_mask)
print(nn.Transformer.generate_square_subsequent_mask(3))
lr = 0.5
for epoch in range(2):
    model.train()
    for batch, i in enumerate(range(0, train_data.size(0) - 1, 8)):
        data, targets = get_batch(train_data, i)
        model.zero_grad()
        output = model(data)
        output = output.view(-1, ntokens)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        if batch % 3 == 0:
            print(f"| epoch {epoch:3d} | {batch:5d}/{len(train_data) // 8:5d} batches "
                  f"| loss {loss.item():5.4f} | ppl {math.exp(loss.item()):8.3f}")
model.eval()
total_loss = 0.0
with torch.no_grad():
    for i in range(0, train_data.size(0) - 1, 8):
        data, targets = get_batch(train_data, i)
        output = model(data)
        total_loss += len(data) * criterion(output.view(-1, ntokens), targets).item()
print("eval loss", total_loss / (len(train_data) - 1))
print(model.src_mask[:3, :3])
