"""PyTorch's spatial transformer tutorial, small: a localisation net regressing an affine theta (identity-
initialised), F.affine_grid + F.grid_sample, a CNN classifier with dropout2d off, nll_loss; from NumPy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

rng = np.random.default_rng(17)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
        self.conv2 = nn.Conv2d(4, 8, kernel_size=3)
        self.conv2_drop = nn.Dropout2d(p=0.0)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 4)
        self.localization = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3), nn.MaxPool2d(2, stride=2), nn.ReLU(True),
            nn.Conv2d(4, 6, kernel_size=3), nn.MaxPool2d(2, stride=2), nn.ReLU(True))
        self.fc_loc = nn.Sequential(nn.Linear(6 * 2 * 2, 16), nn.ReLU(True), nn.Linear(16, 3 * 2))
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    def stn(self, x):
        xs = self.localization(x)
        xs = xs.view(-1, 6 * 2 * 2)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size(), align_corners=False)
        x = F.grid_sample(x, grid, align_corners=False)
        return x

    def forward(self, x):
        x = self.stn(x)
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 8 * 2 * 2)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training and False)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


model = Net()
with torch.no_grad():
    for name, p in model.named_parameters():
        if not name.startswith("fc_loc.2"):
            p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
data_all = torch.from_numpy(rng.random((48, 1, 14, 14), dtype=np.float32))
target_all = torch.from_numpy(rng.integers(0, 4, size=48))
optimizer = optim.SGD(model.parameters(), lr=0.05)
with torch.no_grad():
    ident = F.grid_sample(data_all[:2], F.affine_grid(torch.eye(2, 3).unsqueeze(0).repeat(2, 1, 1), (2, 1, 14, 14),
                                                      align_corners=False), align_corners=False)
print("identity warp", (ident - data_all[:2]).abs().max().item() < 1e-5)
for epoch in range(1, 4):
    model.train()
    for batch_idx in range(3):
        data, target = data_all[batch_idx * 16:(batch_idx + 1) * 16], target_all[batch_idx * 16:(batch_idx + 1) * 16]
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{48}]\tLoss: {loss.item():.6f}")
with torch.no_grad():
    model.eval()
    out = model.stn(data_all[:4])
    theta = model.fc_loc(model.localization(data_all[:4]).view(-1, 24)).view(-1, 2, 3)
print(out.shape, theta.shape)
print("theta", theta[0].flatten().sum().item())
rot = torch.tensor([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]])
warped = F.grid_sample(data_all[:1], F.affine_grid(rot, (1, 1, 14, 14), align_corners=True), mode="nearest",
                       padding_mode="border", align_corners=True)
print("rot90", any(torch.allclose(warped[0, 0], torch.rot90(data_all[0, 0], k, [0, 1])) for k in (1, -1)))
grid = F.affine_grid(rot * 1.2, (1, 1, 14, 14), align_corners=False)
print("bilinear-zeros", F.grid_sample(data_all[:1], grid, align_corners=False).sum().item())
