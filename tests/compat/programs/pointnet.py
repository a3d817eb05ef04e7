"""PointNet, tiny (classification of NumPy point clouds): a shared MLP by ``Conv1d(kernel_size=1)`` +
BatchNorm1d, a T-Net predicting a feature transform applied with ``torch.bmm``, global max pooling by
``torch.max(x, 2, keepdim=True)[0]``, the orthogonality regulariser ``||I - A A^T||`` with
``torch.eye(k).unsqueeze(0).expand / repeat``, ``F.nll_loss`` on ``log_softmax``, and accuracy by
``pred.eq(target.view_as(pred)).sum().item()``. Unlike the original, layers feeding a BatchNorm have no bias and
the T-Net has no BatchNorm after fc1: the gradients of such biases (and of a bias before a max then a BatchNorm)
are rounding noise, which Adam blows up into steps of size lr, so the run would depend on float rounding."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(29)


class TNet(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.k = k
        self.conv1 = nn.Conv1d(k, 16, 1, bias=False)
        self.conv2 = nn.Conv1d(16, 32, 1, bias=False)
        self.fc1 = nn.Linear(32, 16)
        self.fc2 = nn.Linear(16, k * k)
        self.bn1 = nn.BatchNorm1d(16)
        self.bn2 = nn.BatchNorm1d(32)

    def forward(self, x):
        batchsize = x.size()[0]
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = torch.max(x, 2, keepdim=True)[0]
        x = x.view(-1, 32)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        iden = torch.eye(self.k, dtype=torch.float32).view(1, self.k * self.k).repeat(batchsize, 1)
        x = x + iden
        return x.view(-1, self.k, self.k)


class PointNetCls(nn.Module):
    def __init__(self, k=3):
        super().__init__()
        self.stn = TNet(3)
        self.conv1 = nn.Conv1d(3, 16, 1, bias=False)
        self.fstn = TNet(16)
        self.conv2 = nn.Conv1d(16, 32, 1, bias=False)
        self.bn1 = nn.BatchNorm1d(16)
        self.bn2 = nn.BatchNorm1d(32)
        self.fc = nn.Linear(32, k)

    def forward(self, x):
        n_pts = x.size(2)
        trans = self.stn(x)
        x = torch.bmm(x.transpose(2, 1), trans).transpose(2, 1)
        x = F.relu(self.bn1(self.conv1(x)))
        trans_feat = self.fstn(x)
        x = torch.bmm(x.transpose(2, 1), trans_feat).transpose(2, 1)
        point_feat = x
        x = self.bn2(self.conv2(x))
        x, idx = torch.max(x, 2)
        assert point_feat.shape[2] == n_pts and idx.max() < n_pts
        return F.log_softmax(self.fc(x), dim=1), trans, trans_feat


def feature_transform_regularizer(trans):
    d = trans.size()[1]
    identity = torch.eye(d).unsqueeze(0).expand(trans.shape[0], d, d)
    return torch.mean(torch.norm(torch.bmm(trans, trans.transpose(2, 1)) - identity, dim=(1, 2)))


def cloud(label, n=24):
    pts = rng.normal(0, 1, size=(n, 3))
    if label == 0:
        pts /= np.linalg.norm(pts, axis=1, keepdims=True)  # sphere
    elif label == 1:
        pts *= [1.5, 0.3, 0.3]  # rod
    else:
        pts *= [1.0, 1.0, 0.1]  # disc
    return (pts + rng.normal(0, 0.05, size=pts.shape)).astype(np.float32)


labels = rng.integers(0, 3, size=64)
points = torch.from_numpy(np.stack([cloud(c) for c in labels])).transpose(2, 1)  # (B, 3, N)
target = torch.from_numpy(labels)

classifier = PointNetCls()
with torch.no_grad():
    for name, p in classifier.named_parameters():
        if "bn" not in name:
            p.copy_(torch.from_numpy(rng.normal(0, 0.2, size=tuple(p.shape)).astype(np.float32)))
optimizer = torch.optim.Adam(classifier.parameters(), lr=0.005, betas=(0.9, 0.999))
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

for epoch in range(3):
    classifier.train()
    for i in range(0, 64, 16):
        pts, tgt = points[i:i + 16], target[i:i + 16]
        optimizer.zero_grad()
        pred, trans, trans_feat = classifier(pts)
        loss = F.nll_loss(pred, tgt) + feature_transform_regularizer(trans_feat) * 0.001
        loss.backward()
        optimizer.step()
        pred_choice = pred.data.max(1)[1]
        correct = pred_choice.eq(tgt.data).cpu().sum()
    scheduler.step()
    print(f"epoch {epoch} correct {correct.item()} / 16")
    print(f"epoch {epoch} loss {loss.item():.6f}")

classifier.eval()
with torch.no_grad():
    output, trans, trans_feat = classifier(points)
    test_loss = F.nll_loss(output, target, reduction="sum").item()
    pred = output.argmax(dim=1, keepdim=True)
    correct = pred.eq(target.view_as(pred)).sum().item()
print(f"test loss {test_loss / len(target):.6f}")
print(f"accuracy {correct} / {len(target)}")
print(f"reg {feature_transform_regularizer(trans).item():.6f}")
print(f"running_mean {classifier.bn2.running_mean.sum().item():.6f}")
print("batches tracked", classifier.bn2.num_batches_tracked.item())
