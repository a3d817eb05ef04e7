"""An MNIST-style classifier: an MLP on random 8x8 "digits", batches from a DataLoader, SGD with momentum."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 48)
        self.fc2 = nn.Linear(48, 32)
        self.fc3 = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return F.log_softmax(self.fc3(x), dim=1)


model = Net()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.2, size=tuple(p.shape)).astype(np.float32)))

images = torch.from_numpy(rng.random((256, 1, 8, 8), dtype=np.float32))
labels = torch.from_numpy(rng.integers(0, 10, size=256))
loader = DataLoader(TensorDataset(images, labels), batch_size=32, shuffle=False)
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)

for epoch in range(3):
    model.train()
    for data, target in loader:
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        print(f"{loss.item():.6f}")
    scheduler.step()
    model.eval()
    with torch.no_grad():
        output = model(images)
        test_loss = F.nll_loss(output, labels, reduction="sum").item() / len(images)
        correct = output.argmax(dim=1, keepdim=True).eq(labels.view_as(output.argmax(dim=1, keepdim=True))).sum()
    print(f"{test_loss:.6f}")
    print(f"{correct.item() / len(images):.6f}")
