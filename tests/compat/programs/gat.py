"""A two-layer graph attention network (GAT, Velickovic et al.) written without sparse tensors: per-edge
attention logits gathered with index_select, leaky_relu, a softmax over each node's incoming edges
(scatter_reduce amax with include_self=False, exp, scatter_add_ / index_add_ for the sum), multi-head concat,
ELU, dropout p=0 in eval; cross_entropy on a train mask, Adam; weights from NumPy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(31)
N, F_in, C, HEADS, HID = 30, 6, 3, 4, 5
y = torch.from_numpy(rng.integers(0, C, size=N))
pairs = [(i, j) for i in range(N) for j in range(N) if i != j and rng.random() < (0.3 if y[i] == y[j] else 0.03)]
edge_index = torch.tensor(pairs, dtype=torch.long).t().contiguous()
loops = torch.arange(N).unsqueeze(0).expand(2, -1)
edge_index = torch.cat([edge_index, loops], dim=1)
x = torch.from_numpy(rng.standard_normal((N, F_in)).astype(np.float32)) + F.one_hot(y, F_in).float()
print(edge_index.shape, edge_index.dtype)


def segment_softmax(logits, index, num_nodes):
    """softmax of per-edge logits (E, H) over the edges sharing a destination node."""
    H = logits.size(1)
    idx = index.unsqueeze(-1).expand(-1, H)
    node_max = torch.zeros(num_nodes, H).scatter_reduce(0, idx, logits, reduce="amax", include_self=False)
    e = (logits - node_max.gather(0, idx)).exp()
    denom = torch.zeros(num_nodes, H, dtype=e.dtype).scatter_add_(0, idx, e)
    return e / (denom.index_select(0, index) + 1e-16)


class GATConv(nn.Module):
    def __init__(self, in_ch, out_ch, heads, concat=True, dropout=0.0):
        super().__init__()
        self.heads, self.out_ch, self.concat = heads, out_ch, concat
        self.lin = nn.Linear(in_ch, heads * out_ch, bias=False)
        self.att_src = nn.Parameter(torch.empty(1, heads, out_ch))
        self.att_dst = nn.Parameter(torch.empty(1, heads, out_ch))
        self.bias = nn.Parameter(torch.zeros(heads * out_ch if concat else out_ch))
        self.dropout = dropout

    def forward(self, x, edge_index):
        src, dst = edge_index[0], edge_index[1]
        h = self.lin(x).view(-1, self.heads, self.out_ch)
        a_src = (h * self.att_src).sum(dim=-1)
        a_dst = (h * self.att_dst).sum(dim=-1)
        logits = F.leaky_relu(a_src.index_select(0, src) + a_dst.index_select(0, dst), negative_slope=0.2)
        alpha = segment_softmax(logits, dst, x.size(0))
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        msg = h[src] * alpha.unsqueeze(-1)
        out = torch.zeros(x.size(0), self.heads, self.out_ch).index_add_(0, dst, msg)
        out = out.reshape(-1, self.heads * self.out_ch) if self.concat else out.mean(dim=1)
        return out + self.bias, alpha


class GAT(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = GATConv(F_in, HID, HEADS, dropout=0.0)
        self.conv2 = GATConv(HID * HEADS, C, 1, concat=False)

    def forward(self, x, edge_index):
        x = F.dropout(x, p=0.6, training=False)
        x = F.elu(self.conv1(x, edge_index)[0])
        return self.conv2(x, edge_index)[0]


model = GAT()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
train_mask = torch.arange(N) < 18
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
for epoch in range(20):
    model.train()
    optimizer.zero_grad()
    out = model(x, edge_index)
    loss = F.cross_entropy(out[train_mask], y[train_mask])
    loss.backward()
    optimizer.step()
    if epoch % 4 == 0:
        model.eval()
        with torch.no_grad():
            pred = model(x, edge_index).argmax(dim=-1)
        acc = (pred[~train_mask] == y[~train_mask]).float().mean()
        print(f"epoch {epoch:02d} acc {acc.item():.4f}")
        print(f"loss {loss.item():.5f}")
model.eval()
with torch.no_grad():
    _, alpha = model.conv1(x, edge_index)
    per_node = torch.zeros(N, HEADS).index_add_(0, edge_index[1], alpha)
print("alpha sums to one", torch.allclose(per_node, torch.ones(N, HEADS), atol=1e-5))
print("alpha max", alpha.max().item())
print("alpha[:3] sum", alpha[:3].sum().item())
print("grad norm", model.conv1.att_src.grad.norm().item())
