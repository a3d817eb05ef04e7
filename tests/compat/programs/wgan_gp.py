"""WGAN-GP on a 2-D toy distribution: generator and critic MLPs, the gradient penalty through
torch.autograd.grad(outputs=..., inputs=..., grad_outputs=torch.ones_like(...), create_graph=True,
retain_graph=True)[0] and .norm(2, dim=1), Adam(betas=(0.5, 0.9)), n_critic critic steps per generator step with
requires_grad toggled on the critic's parameters; noise, data and interpolation weights from NumPy."""
import numpy as np
import torch
from torch import autograd, nn, optim

rng = np.random.default_rng(7)
DIM, Z, BATCH, LAMBDA, CRITIC_ITERS = 24, 4, 32, 10.0, 3


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(Z, DIM), nn.ReLU(True), nn.Linear(DIM, DIM), nn.ReLU(True),
                                  nn.Linear(DIM, 2))

    def forward(self, noise):
        return self.main(noise)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(2, DIM), nn.Tanh(), nn.Linear(DIM, DIM), nn.Tanh(), nn.Linear(DIM, 1))

    def forward(self, inputs):
        return self.main(inputs).view(-1)


def calc_gradient_penalty(netD, real_data, fake_data, alpha):
    alpha = alpha.expand(real_data.size())
    interpolates = alpha * real_data + ((1 - alpha) * fake_data)
    interpolates = autograd.Variable(interpolates, requires_grad=True)
    disc_interpolates = netD(interpolates)
    gradients = autograd.grad(outputs=disc_interpolates, inputs=interpolates,
                              grad_outputs=torch.ones(disc_interpolates.size()),
                              create_graph=True, retain_graph=True, only_inputs=True)[0]
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean() * LAMBDA


def numpy_like(t):
    return torch.from_numpy(rng.normal(0, 0.3, size=tuple(t.shape)).astype(np.float32))


netG, netD = Generator(), Discriminator()
with torch.no_grad():
    for p in list(netG.parameters()) + list(netD.parameters()):
        p.copy_(numpy_like(p))
optimizerD = optim.Adam(netD.parameters(), lr=1e-3, betas=(0.5, 0.9))
optimizerG = optim.Adam(netG.parameters(), lr=1e-3, betas=(0.5, 0.9))
one = torch.tensor(1, dtype=torch.float)
mone = one * -1
centers = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], dtype=np.float32) * 2


def data_batch():
    pts = centers[rng.integers(0, 4, size=BATCH)] + rng.normal(0, 0.05, size=(BATCH, 2)).astype(np.float32)
    return torch.from_numpy(pts.astype(np.float32))


for iteration in range(6):
    for p in netD.parameters():
        p.requires_grad = True
    for iter_d in range(CRITIC_ITERS):
        real_data_v = data_batch()
        netD.zero_grad()
        D_real = netD(real_data_v).mean()
        D_real.backward(mone)
        noise = torch.from_numpy(rng.standard_normal((BATCH, Z)).astype(np.float32))
        with torch.no_grad():
            fake = netG(noise)
        D_fake = netD(fake).mean()
        D_fake.backward(one)
        alpha = torch.from_numpy(rng.random((BATCH, 1)).astype(np.float32))
        gradient_penalty = calc_gradient_penalty(netD, real_data_v, fake, alpha)
        gradient_penalty.backward()
        D_cost = D_fake - D_real + gradient_penalty
        Wasserstein_D = D_real - D_fake
        optimizerD.step()
    for p in netD.parameters():
        p.requires_grad = False
    netG.zero_grad()
    noise = torch.from_numpy(rng.standard_normal((BATCH, Z)).astype(np.float32))
    G = netD(netG(noise)).mean()
    G.backward(mone)
    G_cost = -G
    optimizerG.step()
    d_grad = netD.main[0].weight.grad.norm().item()  # left from the critic steps: frozen D gathered nothing
    print(f"iter {iteration} D_cost {D_cost.item():.5f}")
    print(f"G_cost {G_cost.item():.5f}")
    print(f"W {Wasserstein_D.item():.5f}")
    print(f"D grad {d_grad:.5f}")

# the same penalty in the modern spelling, on a fresh interpolation: ones_like grad_outputs, grads of D's params
real, noise = data_batch(), torch.from_numpy(rng.standard_normal((BATCH, Z)).astype(np.float32))
for p in netD.parameters():
    p.requires_grad_(True)
eps = torch.from_numpy(rng.random((BATCH, 1)).astype(np.float32))
interp = (eps * real + (1 - eps) * netG(noise).detach()).requires_grad_(True)
d_interp = netD(interp)
grad = torch.autograd.grad(outputs=d_interp, inputs=interp, grad_outputs=torch.ones_like(d_interp),
                           create_graph=True, retain_graph=True)[0]
gp = ((grad.norm(2, dim=1) - 1) ** 2).mean()
w_grads = torch.autograd.grad(gp, list(netD.parameters()), allow_unused=True)
print("gp", gp.item())
print("gp grad norm 0", w_grads[0].norm().item())
print("gp grad norm 1", w_grads[1].norm().item())
print("last bias unused", w_grads[-1] is None or w_grads[-1].abs().sum().item())
print("G requires grad", all(p.requires_grad for p in netG.parameters()), netG.main[0].weight.grad.norm().item())

# a DCGAN-style conv critic (LeakyReLU, no norm layer, as WGAN-GP asks): the penalty's gradient for every parameter,
# the first conv's bias included (zeros: the input gradient does not depend on it), the last bias unused (None)
critic = nn.Sequential(nn.Conv2d(1, 4, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True), nn.Conv2d(4, 8, 4, 2, 1),
                       nn.LeakyReLU(0.2, inplace=True), nn.Flatten(), nn.Linear(8 * 2 * 2, 1))
with torch.no_grad():
    for p in critic.parameters():
        p.copy_(numpy_like(p))
real_img = torch.from_numpy(rng.standard_normal((4, 1, 8, 8)).astype(np.float32))
fake_img = torch.from_numpy(rng.standard_normal((4, 1, 8, 8)).astype(np.float32))
eps = torch.from_numpy(rng.random((4, 1, 1, 1)).astype(np.float32))
interp = (eps * real_img + (1 - eps) * fake_img).requires_grad_(True)
out = critic(interp)
grad = torch.autograd.grad(out, interp, torch.ones_like(out), create_graph=True)[0]
gp = ((grad.view(grad.size(0), -1).norm(2, dim=1) - 1) ** 2).mean() * LAMBDA
*param_grads, last_bias = torch.autograd.grad(gp, list(critic.parameters()), allow_unused=True)
print("conv critic gp", last_bias is None, gp.item())
for i, g in enumerate(param_grads):
    print("conv critic grad", i, g.norm().item())
