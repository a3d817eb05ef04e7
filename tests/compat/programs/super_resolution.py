"""PyTorch's examples/super_resolution: Conv2d stack ending in nn.PixelShuffle, orthogonal init with
calculate_gain, MSELoss, PSNR; then overwritten with NumPy weights so both runs agree."""
from math import log10

import numpy as np
import torch
import torch.nn as nn
import torch.nn.init as init
import torch.optim as optim


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super().__init__()
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 16, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(16, 16, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(16, 8, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(8, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        x = self.pixel_shuffle(self.conv4(x))
        return x

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain("relu"))
        init.orthogonal_(self.conv2.weight, init.calculate_gain("relu"))
        init.orthogonal_(self.conv3.weight, init.calculate_gain("relu"))
        init.orthogonal_(self.conv4.weight)


torch.manual_seed(123)
rng = np.random.default_rng(123)
model = Net(upscale_factor=2)
w = model.conv2.weight.view(16, -1)
print("orthogonal", torch.allclose(w @ w.t(), 2 * torch.eye(16), atol=1e-4))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.1, size=tuple(p.shape)).astype(np.float32)))
hr = torch.from_numpy(rng.random((16, 1, 16, 16), dtype=np.float32))
lr_img = nn.functional.interpolate(hr, scale_factor=0.5, mode="bilinear", align_corners=False)
print(lr_img.shape, nn.functional.pixel_unshuffle(hr, 2).shape)
criterion = nn.MSELoss()
optimizer = optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(1, 6):
    epoch_loss = 0
    for i in range(0, 16, 4):
        input, target = lr_img[i:i + 4], hr[i:i + 4]
        optimizer.zero_grad()
        loss = criterion(model(input), target)
        epoch_loss += loss.item()
        loss.backward()
        optimizer.step()
    print(f"===> Epoch {epoch} Complete: Avg. Loss: {epoch_loss / 4:.6f}")
    with torch.no_grad():
        mse = criterion(model(lr_img), hr)
        psnr = 10 * log10(1 / mse.item())
    print(f"===> Avg. PSNR: {psnr:.4f} dB")
out = model(lr_img[:1]).clamp(0, 1)
print(out.shape, out.requires_grad)
up = nn.Upsample(scale_factor=2, mode="nearest")(lr_img[:1])
print("nearest up", up.sum().item())
print("bicubic", nn.functional.interpolate(lr_img[:1], size=(16, 16), mode="bicubic", align_corners=True).mean().item())
