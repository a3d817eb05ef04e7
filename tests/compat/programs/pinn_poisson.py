"""A physics-informed network for the 1-D Poisson problem -u'' = pi^2 sin(pi x) on [0, 1], u(0) = u(1) = 0:
the PDE residual from second derivatives by torch.autograd.grad(create_graph=True) twice, a tanh MLP, Dirichlet
boundary loss, interior points with requires_grad_, Adam then LBFGS with a closure (its gradients flow through
the double backward), torch.func.grad/vmap for the same residual at a few points, and the error to the exact
solution; weights from NumPy."""
import math

import numpy as np
import torch
import torch.nn as nn
from torch.func import grad, vmap

rng = np.random.default_rng(8)


class MLP(nn.Module):
    def __init__(self, width=16, depth=3):
        super().__init__()
        layers, d = [], 1
        for _ in range(depth):
            layers += [nn.Linear(d, width), nn.Tanh()]
            d = width
        layers.append(nn.Linear(d, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


model = MLP()
with torch.no_grad():
    for name, p in model.named_parameters():
        fan_in = p.shape[-1] if p.dim() == 2 else 1
        p.copy_(torch.from_numpy(rng.normal(0, 1 / math.sqrt(fan_in), size=tuple(p.shape)).astype(np.float32)))

x_int = torch.from_numpy(rng.uniform(0, 1, size=(32, 1)).astype(np.float32)).requires_grad_(True)
x_bc = torch.tensor([[0.0], [1.0]])
f = (math.pi ** 2) * torch.sin(math.pi * x_int.detach())


def residual(x, f=f):
    u = model(x)
    du = torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u), create_graph=True)[0]
    d2u = torch.autograd.grad(du.sum(), x, create_graph=True)[0]
    return -d2u - f, u, du


def pinn_loss():
    r, _, _ = residual(x_int)
    return (r ** 2).mean() + 10.0 * model(x_bc).pow(2).mean()


r, u, du = residual(x_int)
print("shapes", tuple(u.shape), tuple(du.shape), du.requires_grad, r.abs().mean().item())

opt = torch.optim.Adam(model.parameters(), lr=5e-3)
for step in range(6):
    opt.zero_grad()
    loss = pinn_loss()
    loss.backward()
    gn = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=50.0)
    opt.step()
    print(f"adam {step} loss {loss.item():.5f} grad norm {gn.item():.4f}")

lbfgs = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=8, history_size=10)


def closure():
    lbfgs.zero_grad()
    loss = pinn_loss()
    loss.backward()
    return loss


for outer in range(3):
    loss = lbfgs.step(closure)
    print(f"lbfgs {outer} loss {loss.item():.5f}")
print("lbfgs evals", lbfgs.state[next(iter(model.parameters()))]["func_evals"])

# the same second derivative by torch.func, per point, with vmap
def u_scalar(x):
    return model(x.reshape(1, 1)).squeeze()


d2 = vmap(grad(grad(u_scalar)))(x_int.detach()[:5, 0])
r5, _, _ = residual(x_int[:5], f[:5])
print("func d2u", [round(v, 4) for v in d2.tolist()])
print("agree", torch.allclose(-d2 - f[:5, 0], r5[:, 0], atol=1e-3))

with torch.no_grad():
    xs = torch.linspace(0, 1, 6).unsqueeze(-1)
    pred = model(xs)
    exact = torch.sin(math.pi * xs)
    print("pred", [round(v, 4) for v in pred.squeeze(-1).tolist()])
    print("max error", (pred - exact).abs().max().item(),
          "l2 rel", (torch.norm(pred - exact) / torch.norm(exact)).item())
