"""Knowledge-graph and recommender idioms: TransE with nn.Embedding(sparse=True) entity/relation tables trained
by optim.SparseAdam while a dense projection uses Adam (two optimizers, one backward), F.pairwise_distance scores
and F.margin_ranking_loss against negatives from fixed corrupted indices, max_norm renormalisation of the
embeddings; then a bag-of-items recommender with nn.EmbeddingBag(mode='mean', offsets, per_sample_weights with
mode='sum'), padding_idx, BCEWithLogits on dot products; weights from NumPy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(44)
E, R, D, B = 20, 4, 8, 12


class TransE(nn.Module):
    def __init__(self):
        super().__init__()
        self.ent = nn.Embedding(E, D, sparse=True)
        self.rel = nn.Embedding(R, D, sparse=True)
        self.proj = nn.Linear(D, D, bias=False)

    def score(self, h, r, t):
        hp, tp = self.proj(self.ent(h)), self.proj(self.ent(t))
        return F.pairwise_distance(hp + self.rel(r), tp, p=2)


model = TransE()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.4, size=tuple(p.shape)).astype(np.float32)))
    model.proj.weight.add_(torch.eye(D))

heads = torch.from_numpy(rng.integers(0, E, size=(3, B)))
rels = torch.from_numpy(rng.integers(0, R, size=(3, B)))
tails = (heads + rels + 1) % E  # a learnable structure: tail = head + relation + 1
corrupt = torch.from_numpy(rng.integers(0, E, size=(3, B)))

sparse_opt = torch.optim.SparseAdam(list(model.ent.parameters()) + list(model.rel.parameters()), lr=0.05)
dense_opt = torch.optim.Adam(model.proj.parameters(), lr=0.01)
for epoch in range(2):
    for i in range(3):
        sparse_opt.zero_grad()
        dense_opt.zero_grad()
        pos = model.score(heads[i], rels[i], tails[i])
        neg = model.score(heads[i], rels[i], corrupt[i])
        loss = F.margin_ranking_loss(neg, pos, torch.ones_like(pos), margin=1.0)
        loss.backward()
        g = model.ent.weight.grad
        sparse_opt.step()
        dense_opt.step()
        print(f"epoch {epoch} batch {i} loss {loss.item():.5f} sparse {g.is_sparse} nnz rows "
              f"{g.coalesce().indices().unique().numel()}")
    with torch.no_grad():
        norms = model.ent.weight.norm(dim=1, keepdim=True)
        model.ent.weight.div_(norms.clamp(min=1.0))
    print("entity norms max", model.ent.weight.norm(dim=1).max().item())

with torch.no_grad():
    h, r = heads[0, :4], rels[0, :4]
    all_t = torch.arange(E)
    scores = torch.stack([model.score(hi.expand(E), r.new_full((E,), int(ri)), all_t) for hi, ri in zip(h, r)])
    ranks = (scores.argsort(dim=1) == tails[0, :4].unsqueeze(1)).nonzero()[:, 1]
    print("hits ranks", ranks.tolist(), "mrr", (1.0 / (ranks.float() + 1)).mean().item())

# a bag-of-items recommender: each user is the mean of the items they clicked
N_ITEMS, U = 15, 5
bag = nn.EmbeddingBag(N_ITEMS, D, mode="mean")
items = nn.Embedding(N_ITEMS, D, padding_idx=0)
with torch.no_grad():
    bag.weight.copy_(torch.from_numpy(rng.normal(0, 0.5, size=(N_ITEMS, D)).astype(np.float32)))
    items.weight.copy_(torch.from_numpy(rng.normal(0, 0.5, size=(N_ITEMS, D)).astype(np.float32)))
    items.weight[0].zero_()
clicks = torch.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
offsets = torch.tensor([0, 3, 5, 9, 10])
cand = torch.tensor([[2, 0, 7], [5, 9, 0], [8, 1, 3], [10, 14, 0], [12, 4, 6]])
labels = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
opt = torch.optim.Adagrad(list(bag.parameters()) + list(items.parameters()), lr=0.1)
for step in range(5):
    opt.zero_grad()
    users = bag(clicks, offsets)
    logits = torch.einsum("ud,ucd->uc", users, items(cand))
    loss = F.binary_cross_entropy_with_logits(logits, labels, pos_weight=torch.tensor([2.0, 1.0, 1.0]))
    loss.backward()
    opt.step()
    print(f"rec {step} loss {loss.item():.5f} pad grad {items.weight.grad[0].abs().sum().item()}")
weighted = nn.EmbeddingBag.from_pretrained(bag.weight.detach(), mode="sum")
w = torch.linspace(0.5, 1.5, clicks.numel())
print("weighted bag", weighted(clicks, offsets, per_sample_weights=w).sum(dim=1).tolist())
print("max bag", F.embedding_bag(clicks, bag.weight, offsets, mode="max").sum().item())
