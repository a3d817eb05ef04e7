"""PyTorch's examples/mnist, small: a CNN (conv, max-pool, batch norm, dropout off) on random 12x12 images,
Adadelta with StepLR, the usual device/seed/backends preamble and a few tensors printed."""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(0.0)
        self.fc1 = nn.Linear(16 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


def main():
    parser = argparse.ArgumentParser(description="PyTorch MNIST Example")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--no-cuda", action="store_true", default=True)
    args = parser.parse_args()
    use_cuda = not args.no_cuda and torch.cuda.is_available()
    torch.manual_seed(1)
    torch.backends.cudnn.benchmark = True
    device = torch.device("cuda" if use_cuda else "cpu")
    rng = np.random.default_rng(6)

    model = Net().to(device)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "bn" not in name:
                p.copy_(torch.from_numpy(rng.normal(0, 0.2, size=tuple(p.shape)).astype(np.float32)))
    images = torch.from_numpy(rng.random((96, 1, 12, 12), dtype=np.float32))
    labels = torch.from_numpy(rng.integers(0, 10, size=96))
    loader = DataLoader(TensorDataset(images, labels), batch_size=16)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    print(images.shape, images.dtype, labels.dtype, images.type(), isinstance(images, torch.FloatTensor))
    print(model.conv1.weight.shape[1:], model.conv1.weight.size(0), torch.finfo(images.dtype).eps)

    for epoch in range(1, args.epochs + 1):
        model.train()
        for batch_idx, (data, target) in enumerate(loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(loader.dataset)}] Loss: {loss.item():.6f}")
        scheduler.step()
        model.eval()
        with torch.no_grad():
            output = model(images)
            test_loss = F.nll_loss(output, labels, reduction="sum").item() / len(images)
            pred = output.argmax(dim=1, keepdim=True)
            correct = pred.eq(labels.view_as(pred)).sum().item()
        print(f"Test set: Average loss: {test_loss:.4f}, Accuracy: {correct}/{len(images)}")
    print(model.bn1.running_mean[:3])
    print(model.fc2.bias.detach()[:4])
    print(pred[:6].view(-1))


if __name__ == "__main__":
    main()
