"""A program that leans on PyTorch's random numbers: torch.manual_seed, then data from torch.randn/randint, default
layer initialisation, dropout, trunc_normal_ and a shuffled DataLoader; seeded alike, lucid draws the same numbers."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
x = torch.randn(96, 10)
y = torch.randint(0, 3, (96,))
model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 3))
nn.init.trunc_normal_(model[3].weight, std=0.02)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
for epoch in range(3):
    total = 0.0
    for xb, yb in loader:
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    print("epoch", epoch, total / len(loader))
model.eval()
with torch.no_grad():
    print("accuracy", (model(x).argmax(1) == y).float().mean().item())
print("first weight", model[0].weight[0, 0].item())
