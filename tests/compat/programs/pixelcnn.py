"""PixelCNN-style masked convolutions: a Conv2d subclass with a type-A/B mask registered as a buffer and
applied in forward (``self.weight.data *= self.mask``, and ``F.conv2d(x, self.weight * self.mask, self.bias)``),
BatchNorm, 256-way pixel logits (N, 256, H, W) with cross_entropy against (N, H, W) targets, Adam, and a
greedy autoregressive sample loop; weights and images from NumPy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(41)


class MaskedConv2d(nn.Conv2d):
    def __init__(self, mask_type, *args, **kwargs):
        super().__init__(*args, **kwargs)
        assert mask_type in {"A", "B"}
        self.register_buffer("mask", self.weight.data.clone())
        _, _, kH, kW = self.weight.size()
        self.mask.fill_(1)
        self.mask[:, :, kH // 2, kW // 2 + (mask_type == "B"):] = 0
        self.mask[:, :, kH // 2 + 1:] = 0

    def forward(self, x):
        self.weight.data *= self.mask
        return super().forward(x)


class MaskedConvFunctional(nn.Conv2d):
    """The same mask applied out of place, so the gradient flows through the product."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kH, kW = self.kernel_size
        mask = torch.ones_like(self.weight)
        mask[:, :, kH // 2, kW // 2 + 1:] = 0
        mask[:, :, kH // 2 + 1:] = 0
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, self.stride, self.padding)


fm = 8
net = nn.Sequential(
    MaskedConv2d("A", 1, fm, 5, 1, 2, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
    MaskedConv2d("B", fm, fm, 3, 1, 1, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
    MaskedConvFunctional(fm, fm, 3, 1, 1), nn.ReLU(True),
    nn.Conv2d(fm, 256, 1))
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.2, size=tuple(p.shape)).astype(np.float32)))
print("mask A row", net[0].mask[0, 0, 2].tolist())
print(sorted(net.state_dict().keys())[:4], len(net.state_dict()))

images = torch.from_numpy(rng.integers(0, 256, size=(6, 1, 6, 6)).astype(np.float32) / 255.0)
optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
for step in range(6):
    net.train()
    target = (images[:, 0] * 255).long()
    logits = net(images)
    loss = F.cross_entropy(logits, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item():.5f}")
print("grad shape", net[0].weight.grad.shape)
print("masked-out weights after the last step", net[3].weight.data[:, :, 2:].abs().sum().item())
print("functional mask grad, masked row", net[6].weight.grad[:, :, 2].abs().sum().item())
print("functional mask grad, open row", net[6].weight.grad[:, :, 0].abs().sum().item())

net.eval()
sample = torch.zeros(2, 1, 4, 4)
with torch.no_grad():
    for i in range(4):
        for j in range(4):
            out = net(sample)
            probs = F.softmax(out[:, :, i, j], dim=1)
            sample[:, :, i, j] = probs.argmax(dim=1, keepdim=True).float() / 255.0
print("sample sum", (sample * 255).round().sum().item())
print("sample max", sample.max().item())
