"""A 1-D Fourier neural operator learning the antiderivative-like operator u -> smoothed u: torch.fft.rfft /
irfft with a truncated set of modes, complex weights held as torch.cfloat Parameters (einsum on complex
tensors, autograd through the complex product), a 2-D spectral layer via rfft2/irfft2 on the side, GELU,
Adam with weight decay, and a StepLR; weights from NumPy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(5)
N, GRID, MODES, WIDTH = 8, 32, 6, 8


class SpectralConv1d(nn.Module):
    def __init__(self, in_ch, out_ch, modes):
        super().__init__()
        self.modes = modes
        scale = 1 / (in_ch * out_ch)
        self.weights = nn.Parameter(scale * torch.rand(in_ch, out_ch, modes, dtype=torch.cfloat))

    def forward(self, x):
        x_ft = torch.fft.rfft(x)
        out_ft = torch.zeros(x.size(0), self.weights.size(1), x.size(-1) // 2 + 1, dtype=torch.cfloat)
        out_ft[:, :, :self.modes] = torch.einsum("bix,iox->box", x_ft[:, :, :self.modes], self.weights)
        return torch.fft.irfft(out_ft, n=x.size(-1))


class FNO1d(nn.Module):
    def __init__(self, modes, width):
        super().__init__()
        self.fc0 = nn.Linear(2, width)
        self.convs = nn.ModuleList([SpectralConv1d(width, width, modes) for _ in range(2)])
        self.ws = nn.ModuleList([nn.Conv1d(width, width, 1) for _ in range(2)])
        self.fc1 = nn.Linear(width, 16)
        self.fc2 = nn.Linear(16, 1)

    def forward(self, u):
        grid = torch.linspace(0, 1, u.size(1)).reshape(1, -1, 1).repeat(u.size(0), 1, 1)
        x = self.fc0(torch.cat((u.unsqueeze(-1), grid), dim=-1)).permute(0, 2, 1)
        for conv, w in zip(self.convs, self.ws):
            x = F.gelu(conv(x) + w(x))
        x = F.gelu(self.fc1(x.permute(0, 2, 1)))
        return self.fc2(x).squeeze(-1)


model = FNO1d(MODES, WIDTH)
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.is_complex():
            re_, im_ = rng.normal(0, 0.05, size=(2, *p.shape)).astype(np.float32)
            p.copy_(torch.complex(torch.from_numpy(re_), torch.from_numpy(im_)))
        else:
            p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
print("complex params", [n for n, p in model.named_parameters() if p.is_complex()])
print("param count", sum(p.numel() for p in model.parameters()))

xs = np.linspace(0, 2 * np.pi, GRID, endpoint=False)
coef = rng.normal(size=(N, 3)).astype(np.float32)
u = torch.from_numpy(np.stack([c[0] * np.sin(xs) + c[1] * np.cos(2 * xs) + c[2] * np.sin(3 * xs) for c in coef])
                     .astype(np.float32))
# target: the operator keeping the two lowest frequencies, scaled, computed in the Fourier domain
spec = torch.fft.rfft(u, norm="ortho")
keep = torch.zeros_like(spec)
keep[:, :3] = spec[:, :3] * torch.tensor([1.0, 0.5j, -0.25])
target = torch.fft.irfft(keep, n=GRID, norm="ortho")
print("target", target.abs().sum().item(), spec.abs().max().item(), spec.angle()[0, 1].item())

optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)
for step in range(8):
    optimizer.zero_grad()
    pred = model(u)
    loss = F.mse_loss(pred, target)
    loss.backward()
    gnorm = model.convs[0].weights.grad.abs().sum()
    optimizer.step()
    scheduler.step()
    print(f"step {step} loss {loss.item():.6f} |grad spectral| {gnorm.item():.6f} lr {scheduler.get_last_lr()[0]:.5f}")

w = model.convs[1].weights
print("weight real/imag", w.real.sum().item(), w.imag.sum().item(), w.abs().mean().item(),
      w.conj()[0, 0, 1].imag.item())

# a 2-D spectral layer: rfft2 over the last two dims, two corner blocks of modes, irfft2 back
x2 = torch.from_numpy(rng.normal(size=(2, 3, 8, 8)).astype(np.float32)).requires_grad_()
w2 = torch.from_numpy((rng.normal(size=(3, 4, 3, 3)) + 1j * rng.normal(size=(3, 4, 3, 3))).astype(np.complex64))
w2.requires_grad_()
x_ft = torch.fft.rfft2(x2)
out_ft = torch.zeros(2, 4, 8, 5, dtype=torch.cfloat)
out_ft[:, :, :3, :3] = torch.einsum("bixy,ioxy->boxy", x_ft[:, :, :3, :3], w2)
out_ft[:, :, -3:, :3] = torch.einsum("bixy,ioxy->boxy", x_ft[:, :, -3:, :3], w2)
y2 = torch.fft.irfft2(out_ft, s=(8, 8))
y2.square().mean().backward()
print("fno2d", tuple(y2.shape), y2.std().item(), x2.grad.abs().sum().item(), w2.grad.abs().sum().item())
print("fftshift", torch.fft.fftshift(torch.fft.fftfreq(6, d=0.5)).tolist(), torch.fft.rfftfreq(6).tolist())
