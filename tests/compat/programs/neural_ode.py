"""A neural ODE fitted to a spiral with a hand-written RK4 integrator: torch.linspace time grid, the trajectory
kept with torch.stack, MSE, Adam; then torch.autograd.functional.jacobian and hessian of the learned vector field
at a point (and vjp/jvp/hvp); weights from NumPy."""
import numpy as np
import torch
import torch.nn as nn
from torch.autograd.functional import hessian, hvp, jacobian, jvp, vjp

rng = np.random.default_rng(21)
T = 12
t = torch.linspace(0.0, 2.0, T)
true_A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]])
true_y0 = torch.tensor([[2.0, 0.0]])


def rk4(func, y0, t):
    ys = [y0]
    y = y0
    for t0, t1 in zip(t[:-1], t[1:]):
        dt = t1 - t0
        k1 = func(t0, y)
        k2 = func(t0 + dt / 2, y + dt * k1 / 2)
        k3 = func(t0 + dt / 2, y + dt * k2 / 2)
        k4 = func(t1, y + dt * k3)
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        ys.append(y)
    return torch.stack(ys)


class Lambda(nn.Module):
    def forward(self, t, y):
        return torch.mm(y ** 3, true_A)


with torch.no_grad():
    true_y = rk4(Lambda(), true_y0, t)
print(tuple(true_y.shape), true_y[-1].abs().sum().item())


class ODEFunc(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
        self.nfe = 0

    def forward(self, t, y):
        self.nfe += 1
        return self.net(y ** 3)


func = ODEFunc()
with torch.no_grad():
    for p in func.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
optimizer = torch.optim.Adam(func.parameters(), lr=1e-2)
for itr in range(8):
    optimizer.zero_grad()
    pred_y = rk4(func, true_y0, t)
    loss = torch.mean((pred_y - true_y) ** 2)
    loss.backward()
    optimizer.step()
    print(f"iter {itr} loss {loss.item():.6f}")
print("nfe", func.nfe)

point = torch.tensor([0.5, -0.3])


def field(y):
    return func(0.0, y.unsqueeze(0)).squeeze(0)


J = jacobian(field, point)
print("jacobian", tuple(J.shape), J[0, 0].item())
print("jacobian [1, 0]", J[1, 0].item())
print("det", torch.det(J).item())


def energy(y):
    return field(y).pow(2).sum()


Hs = hessian(energy, point, create_graph=False)
print("hessian", (Hs - Hs.T).abs().max().item() < 1e-5, Hs[0, 0].item())
print("hessian [0, 1]", Hs[0, 1].item())
v = torch.tensor([1.0, 2.0])
_, jv = jvp(field, point, v)
_, vj = vjp(field, point, v)
_, hv = hvp(energy, point, v)
print("jvp", (jv - J @ v).abs().max().item() < 1e-5, jv.sum().item())
print("vjp", (vj - v @ J).abs().max().item() < 1e-5, vj.sum().item())
print("hvp", hv.sum().item())
Jb = jacobian(lambda a, b: a * b.sin(), (point, v), vectorize=True)
print("jacobian of two inputs", len(Jb), Jb[1].diagonal().sum().item())
