"""Exact Gaussian-process regression: an RBF kernel via torch.cdist, softplus-parametrised hyperparameters
(lengthscale, signal and noise variance) fitted by the negative log marginal likelihood (torch.linalg.cholesky,
torch.cholesky_solve, the log-determinant from the Cholesky diagonal, checked against torch.logdet /
torch.linalg.slogdet) with LBFGS (strong Wolfe) after a few Adam steps; predictive means and variances through
torch.linalg.solve_triangular, and a sample from the posterior via MultivariateNormal(scale_tril=) in float64."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(17)
N, M = 24, 7
x_train = torch.from_numpy(np.sort(rng.uniform(-3, 3, size=(N, 1)), axis=0))
y_train = torch.sin(2 * x_train[:, 0]) + 0.1 * torch.from_numpy(rng.standard_normal(N))
x_test = torch.linspace(-3.5, 3.5, M, dtype=torch.float64).unsqueeze(-1)
print(x_train.dtype, tuple(x_train.shape), y_train.mean().item())


class RBFKernel(nn.Module):
    def __init__(self):
        super().__init__()
        self.raw_lengthscale = nn.Parameter(torch.tensor(0.0, dtype=torch.float64))
        self.raw_variance = nn.Parameter(torch.tensor(0.5, dtype=torch.float64))

    def forward(self, a, b):
        ls = F.softplus(self.raw_lengthscale)
        d2 = torch.cdist(a / ls, b / ls).pow(2)
        return F.softplus(self.raw_variance) * torch.exp(-0.5 * d2)


class ExactGP(nn.Module):
    def __init__(self, x, y):
        super().__init__()
        self.kernel = RBFKernel()
        self.raw_noise = nn.Parameter(torch.tensor(-1.0, dtype=torch.float64))
        self.register_buffer("x", x)
        self.register_buffer("y", y)

    def noise(self):
        return F.softplus(self.raw_noise) + 1e-6

    def neg_log_marginal_likelihood(self):
        n = self.x.size(0)
        K = self.kernel(self.x, self.x) + self.noise() * torch.eye(n, dtype=self.x.dtype)
        L = torch.linalg.cholesky(K)
        alpha = torch.cholesky_solve(self.y.unsqueeze(-1), L)
        logdet = 2 * torch.log(torch.diagonal(L)).sum()
        return 0.5 * (self.y.unsqueeze(0) @ alpha).squeeze() + 0.5 * logdet + 0.5 * n * math.log(2 * math.pi), K

    @torch.no_grad()
    def predict(self, xs):
        K = self.kernel(self.x, self.x) + self.noise() * torch.eye(self.x.size(0), dtype=self.x.dtype)
        L = torch.linalg.cholesky(K)
        Ks = self.kernel(self.x, xs)
        v = torch.linalg.solve_triangular(L, Ks, upper=False)
        alpha = torch.linalg.solve_triangular(L.mT, torch.linalg.solve_triangular(L, self.y.unsqueeze(-1),
                                                                                   upper=False), upper=True)
        mean = (Ks.T @ alpha).squeeze(-1)
        cov = self.kernel(xs, xs) - v.T @ v
        return mean, cov


gp = ExactGP(x_train, y_train)
nll, K = gp.neg_log_marginal_likelihood()
sign, logabsdet = torch.linalg.slogdet(K)
print(f"initial nll {nll.item():.6f} logdet {torch.logdet(K).item():.6f} slogdet {sign.item()} {logabsdet.item():.6f}")

adam = torch.optim.Adam(gp.parameters(), lr=0.1)
for step in range(5):
    adam.zero_grad()
    loss, _ = gp.neg_log_marginal_likelihood()
    loss.backward()
    adam.step()
    print(f"adam {step} nll {loss.item():.6f} grad noise {gp.raw_noise.grad.item():.6f}")

lbfgs = torch.optim.LBFGS(gp.parameters(), lr=1.0, max_iter=15, line_search_fn="strong_wolfe")


def closure():
    lbfgs.zero_grad()
    loss, _ = gp.neg_log_marginal_likelihood()
    loss.backward()
    return loss


for outer in range(2):
    loss = lbfgs.step(closure)
    print(f"lbfgs {outer} nll {loss.item():.6f}")
final, _ = gp.neg_log_marginal_likelihood()
print(f"final nll {final.item():.6f}")
print("lengthscale", F.softplus(gp.kernel.raw_lengthscale).item(), "variance",
      F.softplus(gp.kernel.raw_variance).item(), "noise", gp.noise().item())

mean, cov = gp.predict(x_test)
var = cov.diagonal().clamp_min(1e-10)
for i in range(M):
    print(f"x {x_test[i, 0].item():+.3f} mean {mean[i].item():+.5f} std {var[i].sqrt().item():.5f}")
print("rmse vs sin", torch.sqrt(F.mse_loss(mean, torch.sin(2 * x_test[:, 0]))).item())

post = torch.distributions.MultivariateNormal(mean, scale_tril=torch.linalg.cholesky(cov + 1e-6 * torch.eye(M,
                                                                                                            dtype=cov.dtype)))
print("posterior entropy", post.entropy().item(), "log_prob at mean", post.log_prob(mean).item())
print("posterior stddev", post.stddev.sum().item(), post.covariance_matrix.trace().item())
eig = torch.linalg.eigvalsh(K)
print("K eig min/max", eig.min().item(), eig.max().item(), torch.linalg.cond(K).item() > 1)
