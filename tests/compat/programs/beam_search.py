"""Beam search decoding with a tiny GRU decoder: a few teacher-forced training steps, then a batched beam search
under torch.inference_mode: log_softmax scores, torch.topk over the flattened beam*vocab scores, beam and
token ids by torch.div(..., rounding_mode="floor") and %, index_select of the GRU hidden states, torch.full with
dtype=torch.long, finished beams frozen with masked_fill_; weights and data from NumPy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(12)
V, E, H, BOS, EOS, BEAM, MAXLEN = 9, 8, 16, 0, 1, 3, 6


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(V, E)
        self.gru = nn.GRU(E, H, batch_first=True)
        self.out = nn.Linear(H, V)
        self.init_h = nn.Linear(4, H)

    def start(self, ctx):
        return torch.tanh(self.init_h(ctx)).unsqueeze(0)

    def forward(self, tokens, hidden):
        output, hidden = self.gru(self.embed(tokens), hidden)
        return self.out(output), hidden


dec = Decoder()
with torch.no_grad():
    for p in dec.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.4, size=tuple(p.shape)).astype(np.float32)))
ctx = torch.from_numpy(rng.standard_normal((5, 4)).astype(np.float32))
seqs = torch.from_numpy(rng.integers(2, V, size=(5, 4)))
tgt = torch.cat([seqs, torch.full((5, 1), EOS, dtype=torch.long)], dim=1)
inp = torch.cat([torch.full((5, 1), BOS, dtype=torch.long), seqs], dim=1)
opt = torch.optim.Adam(dec.parameters(), lr=0.02)
for step in range(5):
    logits, _ = dec(inp, dec.start(ctx))
    loss = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"step {step} loss {loss.item():.5f}")


def beam_search(dec, ctx, beam=BEAM, max_len=MAXLEN):
    B = ctx.size(0)
    hidden = dec.start(ctx).repeat_interleave(beam, dim=1)  # (1, B*beam, H)
    tokens = torch.full((B * beam, 1), BOS, dtype=torch.long)
    scores = torch.zeros(B, beam)
    scores[:, 1:] = float("-inf")  # only the first beam is live at the start
    scores = scores.view(-1)
    finished = torch.zeros(B * beam, dtype=torch.bool)
    for _ in range(max_len):
        logits, hidden = dec(tokens[:, -1:], hidden)
        logp = F.log_softmax(logits[:, -1], dim=-1)
        logp.masked_fill_(finished.unsqueeze(1), float("-inf"))
        logp[:, EOS].masked_fill_(finished, 0.0)  # a finished beam only extends with EOS at no cost
        cand = (scores.unsqueeze(1) + logp).view(B, beam * V)
        top_scores, top_idx = torch.topk(cand, beam, dim=1)
        beam_idx = torch.div(top_idx, V, rounding_mode="floor")
        token_idx = top_idx % V
        base = (torch.arange(B) * beam).unsqueeze(1)
        select = (base + beam_idx).view(-1)
        hidden = hidden.index_select(1, select)
        tokens = torch.cat([tokens.index_select(0, select), token_idx.view(-1, 1)], dim=1)
        finished = finished.index_select(0, select) | (token_idx.view(-1) == EOS)
        scores = top_scores.view(-1)
        if bool(finished.all()):
            break
    return tokens.view(B, beam, -1), scores.view(B, beam)


with torch.inference_mode():
    tokens, scores = beam_search(dec, ctx)
print("inference tensors", scores.is_inference(), tokens.dtype, tuple(tokens.shape[:2]))
for b in range(3):
    print(f"best {b} score {scores[b, 0].item():.5f}")
    print(f"best {b} ids", " ".join(str(t) for t in tokens[b, 0].tolist()),
          int((tokens[b, 0] * V ** torch.arange(tokens.size(-1))).sum()))  # the ids as one number
print("score order", bool((scores[:, :-1] >= scores[:, 1:]).all()), scores.sum().item())
print("floor div of negatives", torch.div(torch.tensor([-7, 7]), 2, rounding_mode="floor").tolist(),
      (torch.tensor([-7, 7]) % 3).sum().item())
