"""An audio classifier on spectrograms, written without torchaudio: torch.stft with a Hann window (centered,
reflect padding), magnitudes and phases (abs, angle, view_as_real, torch.polar), a triangular mel filterbank
built from linspace/clamp, log-mel features with SpecAugment-style time and frequency masks, a Conv2d + GRU
classifier, torch.istft round trip error, F.interpolate (linear, 1-D) resampling, and a training step with
RMSprop and StepLR."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(41)
sr, n_fft, hop, n_mels = 800, 64, 16, 12
t = torch.arange(sr // 2) / sr
freqs = torch.tensor([55.0, 110.0, 220.0, 330.0])
waves = torch.stack([torch.sin(2 * math.pi * f * t) * torch.exp(-3 * t) for f in freqs])
waves = waves + torch.from_numpy(rng.normal(0, 0.05, size=waves.shape).astype(np.float32))
labels = torch.tensor([0, 1, 2, 1])

window = torch.hann_window(n_fft)
spec = torch.stft(waves, n_fft, hop_length=hop, window=window, center=True, pad_mode="reflect", return_complex=True)
print(tuple(spec.shape), spec.dtype)
mag, phase = spec.abs(), spec.angle()
print(f"{mag.mean().item():.5f} {phase.abs().mean().item():.5f} {torch.view_as_real(spec)[..., 1].std().item():.5f}")
rebuilt = torch.istft(torch.polar(mag, phase), n_fft, hop_length=hop, window=window, length=waves.shape[-1])
print(f"istft error {(rebuilt - waves).abs().max().item():.6f}")


def mel_filterbank(n_freqs, n_mels, sample_rate):
    hz_to_mel = lambda f: 2595.0 * torch.log10(1.0 + f / 700.0)  # noqa: E731
    mel_to_hz = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)  # noqa: E731
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_pts = torch.linspace(hz_to_mel(torch.tensor(0.0)), hz_to_mel(torch.tensor(sample_rate / 2.0)), n_mels + 2)
    f_pts = mel_to_hz(m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.min(down, up), min=0.0)


fb = mel_filterbank(n_fft // 2 + 1, n_mels, sr)
logmel = torch.log1p(torch.matmul(mag.pow(2).transpose(1, 2), fb).transpose(1, 2))
print(tuple(logmel.shape), f"{logmel.sum().item():.4f}")


def spec_augment(x, f_start, f_width, t_start, t_width):
    x = x.clone()
    freq_idx = torch.arange(x.shape[1]).view(1, -1, 1)
    time_idx = torch.arange(x.shape[2]).view(1, 1, -1)
    mask = ((freq_idx >= f_start) & (freq_idx < f_start + f_width)) | (
        (time_idx >= t_start) & (time_idx < t_start + t_width))
    return x.masked_fill(mask, 0.0)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                                  nn.MaxPool2d((2, 1)))
        self.gru = nn.GRU(4 * (n_mels // 2), 8, batch_first=True, bidirectional=True)
        self.out = nn.Linear(16, 3)

    def forward(self, x):
        h = self.conv(x.unsqueeze(1))
        b, c, f, frames = h.shape
        h = h.permute(0, 3, 1, 2).reshape(b, frames, c * f)
        seq, last = self.gru(h)
        return self.out(seq.mean(1)), last


model = Classifier()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9, momentum=0.5)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
for step in range(4):
    x = spec_augment(logmel, 2 + step, 3, 5 + 2 * step, 4)
    logits, last = model(x)
    loss = F.cross_entropy(logits, labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    print(f"step {step} loss {loss.item():.5f} last {tuple(last.shape)} lr {scheduler.get_last_lr()[0]:.4f}")

model.eval()
slow = F.interpolate(waves.unsqueeze(1), scale_factor=0.5, mode="linear", align_corners=False).squeeze(1)
slow_spec = torch.stft(slow, n_fft, hop_length=hop, window=window, return_complex=True).abs()
slow_mel = torch.log1p(torch.matmul(slow_spec.pow(2).transpose(1, 2), fb).transpose(1, 2))
with torch.no_grad():
    print(model(slow_mel)[0].softmax(-1).round(decimals=4).tolist())
