"""SN-GAN with the hinge loss on 8x8 images: a discriminator whose convolutions carry
torch.nn.utils.parametrizations.spectral_norm (and one Linear with the older nn.utils.spectral_norm hook), its
power-iteration vectors (_u/_v, weight_u/weight_v) set from NumPy so both runs start equal; a ConvTranspose2d +
BatchNorm2d + ReLU + Tanh generator; relu(1 - D(x)) + relu(1 + D(G(z))) for D and -D(G(z)) for G, Adam with
betas=(0.0, 0.9), two D steps per G step; the state_dict keys the parametrizations give, the largest singular value
of the normalized weights (torch.linalg.matrix_norm(ord=2), svdvals) against 1, eval() freezing the power
iteration, and samples from the eval-mode generator under torch.no_grad()."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrizations, spectral_norm

rng = np.random.default_rng(61)
Z = 8


def from_numpy(shape, scale=1.0):
    return torch.from_numpy(rng.normal(0, scale, size=shape).astype(np.float32))


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(Z, 16 * 2 * 2)
        self.net = nn.Sequential(
            nn.BatchNorm2d(16), nn.ReLU(),
            nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 4, stride=2, padding=1), nn.Tanh())

    def forward(self, z):
        return self.net(self.fc(z).view(-1, 16, 2, 2))


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = parametrizations.spectral_norm(nn.Conv2d(1, 8, 3, stride=2, padding=1))
        self.conv2 = parametrizations.spectral_norm(nn.Conv2d(8, 16, 3, stride=2, padding=1))
        self.fc = spectral_norm(nn.Linear(16 * 2 * 2, 1))

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), 0.1)
        h = F.leaky_relu(self.conv2(h), 0.1)
        return self.fc(h.flatten(1)).squeeze(1)


G, D = Generator(), Discriminator()
with torch.no_grad():
    for p in G.parameters():
        p.copy_(from_numpy(tuple(p.shape), 0.3) + (1.0 if p.dim() == 1 and p.shape[0] in (8, 16) else 0.0))
    for conv in (D.conv1, D.conv2):
        conv.parametrizations.weight.original.copy_(from_numpy(tuple(conv.weight.shape), 0.3))
        conv.bias.copy_(from_numpy(tuple(conv.bias.shape), 0.1))
        sn = conv.parametrizations.weight[0]
        sn._u.copy_(F.normalize(from_numpy(tuple(sn._u.shape)), dim=0))
        sn._v.copy_(F.normalize(from_numpy(tuple(sn._v.shape)), dim=0))
    D.fc.weight_orig.copy_(from_numpy(tuple(D.fc.weight_orig.shape), 0.3))
    D.fc.bias.copy_(from_numpy((1,), 0.1))
    D.fc.weight_u.copy_(F.normalize(from_numpy((1,)), dim=0))
    D.fc.weight_v.copy_(F.normalize(from_numpy((64,)), dim=0))

print(sorted(D.state_dict().keys()))
print([name for name, _ in D.named_parameters()])

yy, xx = np.mgrid[:8, :8]
real_images = np.stack([np.tanh(np.sin((xx + i) / 2.0) + np.cos(yy / (1 + i % 3))) for i in range(32)])[:, None]
real_images = torch.from_numpy(real_images.astype(np.float32))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.0, 0.9))
opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.9))

for it in range(4):
    for _ in range(2):
        real = real_images[torch.from_numpy(rng.choice(32, 8, replace=False))]
        z = from_numpy((8, Z))
        fake = G(z).detach()
        d_loss = F.relu(1.0 - D(real)).mean() + F.relu(1.0 + D(fake)).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
    z = from_numpy((8, Z))
    g_loss = -D(G(z)).mean()
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    print(f"iter {it} d_loss {d_loss.item():.6f} g_loss {g_loss.item():.6f} "
          f"D grads in G step {D.conv1.parametrizations.weight.original.grad.abs().sum().item():.5f}")

with torch.no_grad():
    for name, layer in (("conv1", D.conv1), ("conv2", D.conv2)):
        w = layer.weight.flatten(1)
        sigma = torch.linalg.matrix_norm(w, ord=2)
        top = torch.linalg.svdvals(layer.parametrizations.weight.original.flatten(1))[0]
        print(f"{name} sigma {sigma.item():.4f} orig top singular value {top.item():.5f}")
    print(f"fc sigma {torch.linalg.svdvals(D.fc.weight)[0].item():.4f}")

D.eval()
G.eval()
with torch.no_grad():
    u_before = D.conv1.parametrizations.weight[0]._u.clone()
    x = real_images[:4]
    out1, out2 = D(x), D(x)
    print("eval deterministic", torch.equal(out1, out2), torch.equal(u_before, D.conv1.parametrizations.weight[0]._u))
    print("eval scores", [round(v, 5) for v in out1.tolist()])
    samples = G(from_numpy((6, Z)))
    print(f"samples {tuple(samples.shape)} min {samples.min().item():.5f} max {samples.max().item():.5f} "
          f"mean {samples.mean().item():.6f}")
    print(f"bn running var {G.net[0].running_var.mean().item():.6f}")
