"""Numerical linear algebra as scripts use it outside nn: least squares with each lstsq driver, PCA by eigh and
svd, a Gaussian-process marginal likelihood through cholesky/slogdet fitted by gradient descent, LU solves,
pinv/matrix_rank/cond, matrix_exp and norms; printing the named result tuples as PyTorch does. From NumPy."""

import numpy as np
import torch

rng = np.random.default_rng(7)
D = torch.float64


def T(*shape):
    return torch.from_numpy(rng.normal(size=shape))


X = T(40, 3)
w_true = torch.tensor([1.5, -2.0, 0.5], dtype=D)
y = X @ w_true + 0.1 * T(40)
for driver in ["gelsy", "gelsd", "gelss", "gels"]:
    r = torch.linalg.lstsq(X, y.unsqueeze(1), driver=driver)
    print(driver, r.solution.squeeze(1), r.rank, r.residuals)

data = T(100, 4) @ T(4, 4) + T(1, 4)
centered = data - data.mean(0)
cov = centered.T @ centered / (data.shape[0] - 1)
evals, evecs = torch.linalg.eigh(cov)
print("pca eigenvalues", evals.flip(0), torch.cov(data.T).allclose(cov))
print("svdvals^2/(n-1)", torch.linalg.svdvals(centered) ** 2 / 99)
print("explained", (evals.flip(0).cumsum(0) / evals.sum()))
U, S, Vh = torch.linalg.svd(centered, full_matrices=False)
print("svd shapes", U.shape, S.shape, Vh.shape, (U * S @ Vh - centered).abs().max() < 1e-10)
print(torch.linalg.slogdet(cov))
print(torch.linalg.eigvalsh(cov), torch.linalg.matrix_rank(cov), torch.linalg.cond(cov))

# a GP regression: fit log length-scale and noise by maximising the marginal likelihood
xs = torch.linspace(-3, 3, 25, dtype=D).unsqueeze(1)
ys = torch.sin(2 * xs).squeeze(1) + 0.1 * T(25)
log_ell = torch.tensor(0.0, dtype=D, requires_grad=True)
log_noise = torch.tensor(-1.0, dtype=D, requires_grad=True)
opt = torch.optim.Adam([log_ell, log_noise], lr=0.05)
for step in range(30):
    K = torch.exp(-0.5 * torch.cdist(xs, xs) ** 2 / log_ell.exp() ** 2) + (log_noise.exp() ** 2 + 1e-6) * torch.eye(
        25, dtype=D
    )
    L = torch.linalg.cholesky(K)
    alpha = torch.cholesky_solve(ys.unsqueeze(1), L)
    nll = 0.5 * (ys.unsqueeze(0) @ alpha).squeeze() + L.diagonal().log().sum() + 12.5 * np.log(2 * np.pi)
    opt.zero_grad()
    nll.backward()
    opt.step()
    if step % 10 == 0 or step == 29:
        print(f"gp step {step} nll {nll.item():.6f} ell {log_ell.exp().item():.5f} noise {log_noise.exp().item():.5f}")
print("logdet check", torch.logdet(K).item(), 2 * L.diagonal().log().sum().item())
L2, info = torch.linalg.cholesky_ex(K)
print("cholesky_ex info", info, torch.linalg.inv_ex(K).info)

A = T(5, 5)
B = T(5, 2)
LU, piv = torch.linalg.lu_factor(A)
print(torch.linalg.lu_factor_ex(A).pivots, torch.linalg.lu_solve(LU, piv, B), torch.linalg.solve(A, B))
P, Lw, Up = torch.linalg.lu(A)
print("lu", (P @ Lw @ Up - A).abs().max() < 1e-12, torch.linalg.det(A), torch.det(A))
print(torch.linalg.solve_triangular(torch.triu(A) + 5 * torch.eye(5, dtype=D), B, upper=True))
print(
    torch.linalg.pinv(X).shape,
    (torch.linalg.pinv(X) @ y - torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze()).abs().max() < 1e-10,
)
print(torch.linalg.pinv(cov, hermitian=True), torch.linalg.pinv(X[:4], rtol=0.3))
print(
    torch.linalg.matrix_exp(0.1 * (A - A.T)),
    torch.linalg.matrix_power(A, 3).trace(),
    torch.linalg.multi_dot([A, B, B.T]).sum(),
)
for o in ["fro", "nuc", 1, -1, 2, -2, float("inf")]:
    print("norm", o, torch.linalg.matrix_norm(A, ord=o).item(), torch.linalg.cond(A, o).item())
print(
    torch.linalg.vector_norm(A, ord=3, dim=1),
    torch.linalg.vector_norm(A, ord=0),
    torch.linalg.norm(A[0], float("-inf")),
)
Q, R = torch.linalg.qr(X)
print(
    "qr",
    Q.shape,
    R.diagonal().abs(),
    torch.linalg.qr(X, mode="r").R.diagonal().abs(),
    torch.linalg.qr(X, mode="complete").Q.shape,
)
print(torch.linalg.householder_product(*torch.geqrf(X[:6])).abs().sum(0))
print(torch.linalg.cross(T(2, 3), T(2, 3)), torch.linalg.vander(torch.tensor([1.0, 2.0, 3.0]), N=4))
print(torch.linalg.tensorsolve(T(2, 3, 6), T(2, 3)))
vals = torch.linalg.eigvals(A)
print("eigvals", sorted(round(v, 6) for v in vals.abs().tolist()), vals.dtype, torch.linalg.eig(A).eigenvectors.dtype)

# gradients through decompositions
M = T(4, 4).requires_grad_()
loss = (
    torch.linalg.svdvals(M).sum()
    + torch.linalg.slogdet(M @ M.T + torch.eye(4, dtype=D)).logabsdet
    + torch.linalg.inv(M + 4 * torch.eye(4, dtype=D)).sum()
)
loss = loss + torch.linalg.eigvalsh(M + M.T).max() + torch.linalg.matrix_norm(M, "nuc") + torch.linalg.det(M)
loss.backward()
print("grad", loss.item(), M.grad)
