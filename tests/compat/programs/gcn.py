"""A two-layer GCN (Kipf & Welling) written without sparse tensors: an edge_index, self-loops,
degrees with scatter_add_, symmetric normalisation, message passing with index_add_, a train/test mask,
log_softmax + nll_loss, Adam with weight decay; weights from NumPy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(4)
N, F_in, C = 40, 8, 3
y = torch.from_numpy(rng.integers(0, C, size=N))
src, dst = [], []
for i in range(N):
    for j in range(i + 1, N):
        if rng.random() < (0.25 if y[i] == y[j] else 0.02):
            src += [i, j]
            dst += [j, i]
edge_index = torch.tensor([src, dst], dtype=torch.long)
x = torch.from_numpy(rng.standard_normal((N, F_in)).astype(np.float32)) + F.one_hot(y, F_in).float()
print(edge_index.shape, edge_index.dtype, x.dtype)


def add_self_loops(edge_index, num_nodes):
    loop = torch.arange(num_nodes, dtype=torch.long, device=edge_index.device)
    loop = loop.unsqueeze(0).repeat(2, 1)
    return torch.cat([edge_index, loop], dim=1)


def degree(index, num_nodes, dtype=torch.float):
    out = torch.zeros((num_nodes,), dtype=dtype, device=index.device)
    one = torch.ones((index.size(0),), dtype=out.dtype, device=out.device)
    return out.scatter_add_(0, index, one)


class GCNConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels))
        nn.init.xavier_uniform_(self.weight)
        nn.init.zeros_(self.bias)

    def forward(self, x, edge_index):
        edge_index = add_self_loops(edge_index, x.size(0))
        row, col = edge_index
        deg = degree(col, x.size(0), dtype=x.dtype)
        deg_inv_sqrt = deg.pow(-0.5)
        deg_inv_sqrt[deg_inv_sqrt == float("inf")] = 0
        norm = deg_inv_sqrt[row] * deg_inv_sqrt[col]
        x = x @ self.weight
        msg = norm.view(-1, 1) * x[row]
        out = torch.zeros_like(x).index_add_(0, col, msg)
        return out + self.bias


class GCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = GCNConv(F_in, 16)
        self.conv2 = GCNConv(16, C)

    def forward(self, x, edge_index):
        x = F.dropout(x, p=0.5, training=self.training and False)
        x = self.conv1(x, edge_index).relu()
        x = self.conv2(x, edge_index)
        return F.log_softmax(x, dim=1)


model = GCN()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
train_mask = torch.zeros(N, dtype=torch.bool)
train_mask[:20] = True
test_mask = ~train_mask
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
for epoch in range(30):
    model.train()
    optimizer.zero_grad()
    out = model(x, edge_index)
    loss = F.nll_loss(out[train_mask], y[train_mask])
    loss.backward()
    optimizer.step()
    if epoch % 3 == 0:
        model.eval()
        pred = model(x, edge_index).argmax(dim=1)
        correct = (pred[test_mask] == y[test_mask]).sum()
        acc = int(correct) / int(test_mask.sum())
        print(f"Epoch: {epoch:03d}, Loss: {loss:.4f}, Test Acc: {acc:.4f}")
# scatter-based mean aggregation, scatter_reduce and a dense adjacency via index_put_
h = model.conv1(x, edge_index)
agg = torch.zeros(N, 16).scatter_add_(0, edge_index[1].unsqueeze(-1).expand(-1, 16), h[edge_index[0]])
cnt = degree(edge_index[1], N).clamp(min=1).unsqueeze(-1)
print("mean agg", (agg / cnt).abs().sum().item())
mx = torch.full((N,), -1e9).scatter_reduce(0, edge_index[1], x[edge_index[0], 0], reduce="amax", include_self=False)
print("max agg", mx[:4].sum().item())
A = torch.zeros(N, N).index_put_((edge_index[0], edge_index[1]), torch.ones(edge_index.size(1)), accumulate=True)
print("adj", A.sum().item(), torch.equal(A, A.T), A.nonzero().shape[0])
print("bincount", torch.bincount(edge_index[0], minlength=N)[:5].tolist(),
      torch.unique(y, return_counts=True)[1].sum().item())
