"""A tiny UNet for binary segmentation: Conv2d/ConvTranspose2d, torch.cat skips, BatchNorm2d, MaxPool2d,
BCEWithLogitsLoss(pos_weight) + soft dice, Adam with weight decay, train/eval switching, IoU under no_grad."""

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(11)


def double_conv(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    def __init__(self, c=4):
        super().__init__()
        self.down1 = double_conv(1, c)
        self.down2 = double_conv(c, 2 * c)
        self.pool = nn.MaxPool2d(2)
        self.bottom = double_conv(2 * c, 4 * c)
        self.up2 = nn.ConvTranspose2d(4 * c, 2 * c, kernel_size=2, stride=2)
        self.dec2 = double_conv(4 * c, 2 * c)
        self.up1 = nn.ConvTranspose2d(2 * c, c, kernel_size=2, stride=2)
        self.dec1 = double_conv(2 * c, c)
        self.out = nn.Conv2d(c, 1, kernel_size=1)

    def forward(self, x):
        d1 = self.down1(x)
        d2 = self.down2(self.pool(d1))
        b = self.bottom(self.pool(d2))
        u2 = self.dec2(torch.cat([self.up2(b), d2], dim=1))
        u1 = self.dec1(torch.cat((self.up1(u2), d1), 1))
        return self.out(u1)


def dice_loss(logits, target, eps=1.0):
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum(dim=(1, 2, 3))
    union = prob.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
    return 1 - ((2 * inter + eps) / (union + eps)).mean()


model = UNet()
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.dim() > 1:
            p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
        elif "bias" in name:
            p.zero_()

# images with bright discs; the mask is the disc
n, size = 16, 16
yy, xx = np.mgrid[:size, :size]
images = np.zeros((n, 1, size, size), np.float32)
masks = np.zeros((n, 1, size, size), np.float32)
for i in range(n):
    cy, cx, r = rng.integers(4, 12), rng.integers(4, 12), rng.integers(2, 5)
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    masks[i, 0] = disc
    images[i, 0] = disc * 1.0 + rng.normal(0, 0.3, size=(size, size))
images, masks = torch.from_numpy(images), torch.from_numpy(masks)

criterion = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([3.0]))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)


def evaluate():
    model.eval()
    with torch.no_grad():
        pred = (torch.sigmoid(model(images)) > 0.5).float()
        inter = (pred * masks).sum()
        union = ((pred + masks) > 0).float().sum()
        iou = (inter / union.clamp(min=1)).item()
        acc = (pred == masks).float().mean().item()
    model.train()
    return iou, acc


print(f"{evaluate()[0]:.6f}")
for epoch in range(2):
    for start in range(0, n, 8):
        x, y = images[start:start + 8], masks[start:start + 8]
        logits = model(x)
        bce = criterion(logits, y)
        dice = dice_loss(logits, y)
        loss = bce + dice
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        print(f"{bce.item():.6f}")
        print(f"{dice.item():.6f}")
        print(f"{loss.item():.6f}")
    iou, acc = evaluate()
    print(f"{iou:.6f}")
    print(f"{acc:.6f}")
print(f"{model.down1[1].running_mean.sum().item():.6f}")
print(f"{model.down1[1].running_var.sum().item():.6f}")
print(model.down1[1].num_batches_tracked.item())
