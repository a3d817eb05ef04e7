"""Scientific linear algebra: identifying a linear dynamical system dx/dt = A x from trajectories simulated with
torch.linalg.matrix_exp, least squares (torch.linalg.lstsq, QR via torch.linalg.qr, pinv), the fitted A's
eigenvalues (torch.linalg.eigvals, complex), a parameterised A trained through matrix_exp with Adam, symmetric
eigen-decomposition gradients (eigh), SVD low-rank truncation, torch.func (functional_call, jacrev, jacfwd,
hessian, vmap), trapezoid / cumulative_trapezoid integrals and torch.diff; float64 throughout (explicit dtypes:
the default dtype is left alone, as the programs share one process under PyTorch)."""
import numpy as np
import torch
import torch.nn as nn
from torch.func import functional_call, hessian, jacfwd, jacrev, vmap

rng = np.random.default_rng(101)
n, T, dt = 3, 15, 0.1
A_true = torch.tensor([[-0.2, 1.0, 0.0], [-1.0, -0.2, 0.3], [0.0, -0.3, -0.5]], dtype=torch.float64)
x0 = torch.from_numpy(rng.standard_normal((4, n)))
Phi = torch.linalg.matrix_exp(A_true * dt)
xs = [x0]
for _ in range(T - 1):
    xs.append(xs[-1] @ Phi.T)
traj = torch.stack(xs, dim=1)  # (batch, T, n)
traj = traj + 1e-3 * torch.from_numpy(rng.standard_normal(traj.shape))
print("traj", tuple(traj.shape), traj.dtype, traj[:, -1].norm().item())

X0 = traj[:, :-1].reshape(-1, n)
X1 = traj[:, 1:].reshape(-1, n)
sol = torch.linalg.lstsq(X0, X1).solution
Q, R = torch.linalg.qr(X0)
sol_qr = torch.linalg.solve_triangular(R, Q.T @ X1, upper=True)
print("lstsq vs qr", (sol - sol_qr).abs().max().item() < 1e-8,
      "pinv", (torch.linalg.pinv(X0) @ X1 - sol).abs().max().item() < 1e-8)
Phi_hat = sol.T
ev = torch.linalg.eigvals(Phi_hat)
order = torch.argsort(ev.real * 10 + ev.imag)
print("eig(Phi_hat)", [(round(v.real, 5), round(v.imag, 5)) for v in ev[order].tolist()])
A_log = torch.log(ev[order]) / dt
print("continuous eigs", [(round(v.real, 4), round(v.imag, 4)) for v in A_log.tolist()])


class LinearODE(nn.Module):
    def __init__(self):
        super().__init__()
        self.A = nn.Parameter(torch.from_numpy(0.1 * rng.standard_normal((n, n))))

    def forward(self, x, steps):
        step = torch.linalg.matrix_exp(self.A * dt)
        out = [x]
        for _ in range(steps - 1):
            out.append(out[-1] @ step.T)
        return torch.stack(out, dim=1)


model = LinearODE()
opt = torch.optim.Adam(model.parameters(), lr=0.05)
for it in range(10):
    opt.zero_grad()
    loss = (model(traj[:, 0], T) - traj).pow(2).mean()
    loss.backward()
    opt.step()
    if it % 3 == 0 or it == 9:
        print(f"fit {it} loss {loss.item():.8f} |grad| {model.A.grad.norm().item():.6f}")
print("A error", (model.A - A_true).norm().item())

# symmetric eigen-decomposition with gradients, SVD truncation
S = X0.T @ X0 / X0.size(0)
S.requires_grad_(True)
evals, evecs = torch.linalg.eigh(S)
(evals[-1] + evecs[:, -1].abs().sum()).backward()
print("eigh", evals.tolist(), "grad sym", (S.grad - S.grad.T).abs().max().item() < 1e-10, S.grad.trace().item())
U, sv, Vh = torch.linalg.svd(traj.reshape(4, -1), full_matrices=False)
rank2 = U[:, :2] @ torch.diag(sv[:2]) @ Vh[:2]
print("svd", [round(v, 5) for v in sv.tolist()], "rank-2 error", (rank2 - traj.reshape(4, -1)).norm().item())
print("matrix_rank", torch.linalg.matrix_rank(rank2).item(),
      "norms", torch.linalg.matrix_norm(S.detach(), ord="nuc").item(), torch.linalg.vector_norm(sv, ord=3).item())

# torch.func on the module
params = {k: v.detach() for k, v in model.named_parameters()}


def final_energy(p, x):
    return functional_call(model, p, (x.unsqueeze(0), 5))[0, -1].pow(2).sum()


J = jacrev(final_energy)(params, traj[0, 0])
print("jacrev wrt A", tuple(J["A"].shape), J["A"].sum().item())
Jx = jacfwd(lambda x: functional_call(model, params, (x.unsqueeze(0), 4))[0, -1])(traj[0, 0])
print("jacfwd wrt x0", Jx.diagonal().tolist())
H = hessian(lambda x: final_energy(params, x))(traj[0, 0])
print("hessian symmetric", torch.allclose(H, H.T), H.trace().item())
per_traj = vmap(lambda x: final_energy(params, x))(traj[:, 0])
print("vmap energies", [round(v, 6) for v in per_traj.tolist()])

# quadrature along the trajectory
t = torch.arange(T, dtype=torch.float64) * dt
energy = traj[0].pow(2).sum(-1)
print("trapezoid", torch.trapezoid(energy, t).item(), torch.trapezoid(energy, dx=dt).item())
print("cumulative", torch.cumulative_trapezoid(energy, t)[-3:].tolist(), "diff", torch.diff(energy, n=2)[:3].tolist())
