"""A BiLSTM-CRF tagger (PyTorch's advanced tutorial, batched): nn.Embedding(padding_idx=0), a BiLSTM, a CRF
whose forward algorithm is ``torch.logsumexp`` over broadcast transitions, a gold-path score by gather and
advanced indexing, masks applied with ``torch.where``, Viterbi decoding with ``max(dim)`` values and indices,
and backtracking through ``.tolist()``; sentences and weights from NumPy."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(13)
n_words, n_tags = 20, 5
START, STOP = n_tags, n_tags + 1  # two extra tag states


def sentence():
    n = int(rng.integers(3, 8))
    words = rng.integers(1, n_words, size=n)
    tags = (words % n_tags + (rng.random(n) < 0.1)) % n_tags
    return words.tolist(), tags.tolist()


class BiLSTM_CRF(nn.Module):
    def __init__(self, emb=8, hidden=8):
        super().__init__()
        self.embedding = nn.Embedding(n_words, emb, padding_idx=0)
        self.lstm = nn.LSTM(emb, hidden // 2, batch_first=True, bidirectional=True)
        self.hidden2tag = nn.Linear(hidden, n_tags + 2)
        self.transitions = nn.Parameter(torch.randn(n_tags + 2, n_tags + 2))  # [to, from]

    def init_constraints(self):
        with torch.no_grad():
            self.transitions.data[START, :] = -10000.0
            self.transitions.data[:, STOP] = -10000.0

    def emissions(self, words):
        out, _ = self.lstm(self.embedding(words))
        return self.hidden2tag(out)

    def forward_alg(self, feats, mask):
        B, T, K = feats.shape
        alpha = torch.full((B, K), -10000.0)
        alpha[:, START] = 0.0
        for t in range(T):
            # scores[b, to, from] = alpha[b, from] + trans[to, from] + emit[b, to]
            scores = alpha.unsqueeze(1) + self.transitions.unsqueeze(0) + feats[:, t].unsqueeze(2)
            new_alpha = torch.logsumexp(scores, dim=2)
            alpha = torch.where(mask[:, t].unsqueeze(1), new_alpha, alpha)
        return torch.logsumexp(alpha + self.transitions[STOP].unsqueeze(0), dim=1)

    def score_sentence(self, feats, tags, mask):
        B, T, _ = feats.shape
        emit = feats.gather(2, tags.unsqueeze(2)).squeeze(2)
        prev = torch.cat([torch.full((B, 1), START, dtype=torch.long), tags[:, :-1]], dim=1)
        trans = self.transitions[tags, prev]
        score = torch.where(mask, emit + trans, torch.zeros_like(emit)).sum(1)
        lengths = mask.long().sum(1)
        last = tags[torch.arange(B), lengths - 1]
        return score + self.transitions[STOP, last]

    def neg_log_likelihood(self, words, tags):
        mask = words != 0
        feats = self.emissions(words)
        return (self.forward_alg(feats, mask) - self.score_sentence(feats, tags, mask)).mean()

    def viterbi_decode(self, words):
        mask = words != 0
        feats = self.emissions(words)
        B, T, K = feats.shape
        score = torch.full((B, K), -10000.0)
        score[:, START] = 0
        backpointers = []
        for t in range(T):
            total = score.unsqueeze(1) + self.transitions.unsqueeze(0)
            best, best_ids = total.max(dim=2)
            backpointers.append(best_ids)
            score = torch.where(mask[:, t].unsqueeze(1), best + feats[:, t], score)
        final = score + self.transitions[STOP]
        path_scores, best_last = torch.max(final, 1)
        paths = []
        for b, n in enumerate(mask.sum(1).tolist()):
            best_tag = best_last[b].item()
            path = [best_tag]
            for bp in reversed(backpointers[1:n]):
                best_tag = bp[b][best_tag].item()
                path.append(best_tag)
            paths.append(path[::-1])
        return path_scores, paths


def pad(seqs):
    out = torch.zeros(len(seqs), max(len(s) for s in seqs), dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s)
    return out


model = BiLSTM_CRF()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.4, size=tuple(p.shape)).astype(np.float32)))
    model.embedding.weight[0].fill_(0)
model.init_constraints()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, weight_decay=1e-4)
data = [sentence() for _ in range(40)]

for epoch in range(3):
    for i in range(0, len(data), 10):
        batch = data[i:i + 10]
        words, tags = pad([w for w, _ in batch]), pad([t for _, t in batch])
        model.zero_grad()
        loss = model.neg_log_likelihood(words, tags)
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch} nll {loss.item():.6f}")

with torch.no_grad():
    words = pad([w for w, _ in data[:4]])
    scores, paths = model.viterbi_decode(words)
for (w, t), path, s in zip(data[:4], paths, scores.tolist()):
    print("gold", t, "pred", path)
    print(f"score {s:.5f}")
print("padding row", model.embedding.weight[0].abs().sum().item())
