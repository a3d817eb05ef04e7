"""Probabilistic modelling with torch.distributions: a one-layer flow, the affine+sigmoid TransformedDistribution
(AffineTransform, SigmoidTransform, ComposeTransform, inverse and log_abs_det_jacobian), fitted by log_prob to
data in (0, 1); a full-covariance MultivariateNormal(scale_tril=) fitted by maximum likelihood with a
tril-parametrised Cholesky factor; a VI-style Independent(Normal) posterior trained with rsample and the
analytic kl_divergence against a Normal prior (plus a Monte-Carlo check), a mixture via MixtureSameFamily, and
Beta/Gamma/LogNormal log_probs; seeded with torch.manual_seed for rsample noise."""
import numpy as np
import torch
import torch.distributions as D
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import constraints, transforms

rng = np.random.default_rng(3)
torch.manual_seed(0)

# 1. a logit-normal model of data in (0, 1): y = sigmoid(mu + sigma * z)
data = torch.from_numpy(1 / (1 + np.exp(-(0.7 + 0.5 * rng.standard_normal(64)))).astype(np.float32))
loc = nn.Parameter(torch.tensor(0.0))
log_scale = nn.Parameter(torch.tensor(0.3))
opt = torch.optim.Adam([loc, log_scale], lr=0.1)
for step in range(6):
    opt.zero_grad()
    base = D.Normal(torch.zeros(()), torch.ones(()))
    flow = D.TransformedDistribution(base, [transforms.AffineTransform(loc, log_scale.exp()),
                                            transforms.SigmoidTransform()])
    nll = -flow.log_prob(data).mean()
    nll.backward()
    opt.step()
    print(f"logit-normal {step} nll {nll.item():.5f} loc {loc.item():.4f} scale {log_scale.exp().item():.4f}")
compose = transforms.ComposeTransform([transforms.AffineTransform(loc.detach(), log_scale.exp().detach()),
                                       transforms.SigmoidTransform()])
z = torch.tensor([-1.0, 0.0, 2.0])
y = compose(z)
print("compose", y.tolist(), compose.inv(y).tolist(), compose.log_abs_det_jacobian(z, y).tolist())
print("support", compose.codomain is constraints.unit_interval or str(compose.codomain))

# 2. a full-covariance Gaussian by maximum likelihood
true_L = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [-0.3, 0.4, 0.5]])
x = torch.from_numpy((rng.standard_normal((200, 3)) @ true_L.T + np.array([1.0, -2.0, 0.5])).astype(np.float32))
mu = nn.Parameter(torch.zeros(3))
raw = nn.Parameter(torch.zeros(3, 3))
opt = torch.optim.Adam([mu, raw], lr=0.05)
for step in range(8):
    opt.zero_grad()
    L = torch.tril(raw, -1) + torch.diag_embed(F.softplus(torch.diagonal(raw)) + 1e-4)
    mvn = D.MultivariateNormal(mu, scale_tril=L)
    loss = -mvn.log_prob(x).mean()
    loss.backward()
    opt.step()
    print(f"mvn {step} nll {loss.item():.5f}")
print("mvn entropy", mvn.entropy().item(), "cov trace", mvn.covariance_matrix.trace().item(),
      "precision [0,1]", mvn.precision_matrix[0, 1].item())
print("mvn event/batch", tuple(mvn.event_shape), tuple(mvn.batch_shape), tuple(mvn.sample((5,)).shape))

# 3. variational posterior q(w) = Independent(Normal) against a N(0, 1) prior
target = torch.tensor([0.5, -1.0, 2.0, 0.0])
q_mu = nn.Parameter(torch.zeros(4))
q_rho = nn.Parameter(torch.full((4,), -1.0))
prior = D.Independent(D.Normal(torch.zeros(4), torch.ones(4)), 1)
opt = torch.optim.SGD([q_mu, q_rho], lr=0.05, momentum=0.5)
for step in range(6):
    opt.zero_grad()
    q = D.Independent(D.Normal(q_mu, F.softplus(q_rho)), 1)
    w = q.rsample((8,))
    nll = ((w - target) ** 2).sum(-1).mean()
    kl = D.kl_divergence(q, prior)
    (nll + 0.1 * kl).backward()
    opt.step()
    print(f"vi {step} nll {nll.item():.5f} kl {kl.item():.5f} has_rsample {q.has_rsample}")
with torch.no_grad():
    q = D.Independent(D.Normal(q_mu, F.softplus(q_rho)), 1)
    s = q.sample((4000,))
    mc_kl = (q.log_prob(s) - prior.log_prob(s)).mean()
    print("kl analytic", D.kl_divergence(q, prior).item(), "monte carlo close", abs(mc_kl.item() -
          D.kl_divergence(q, prior).item()) < 0.2)

# 4. a mixture and a few more families
mix = D.MixtureSameFamily(D.Categorical(logits=torch.tensor([0.0, 1.0])),
                          D.Normal(torch.tensor([-2.0, 1.5]), torch.tensor([0.5, 1.0])))
pts = torch.tensor([-2.0, 0.0, 1.5, 3.0])
print("mixture log_prob", mix.log_prob(pts).tolist(), "mean", mix.mean.item(), "var", mix.variance.item())
print("beta", D.Beta(torch.tensor(2.0), torch.tensor(3.0)).log_prob(torch.tensor([0.2, 0.7])).tolist())
print("gamma", D.Gamma(torch.tensor(2.0), torch.tensor(0.5)).log_prob(torch.tensor([1.0, 4.0])).tolist())
print("lognormal", D.LogNormal(0.0, 0.5).log_prob(torch.tensor([0.5, 1.0, 2.0])).tolist(),
      D.LogNormal(0.0, 0.5).mean.item())
print("kl normal-normal", D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(1.0, 2.0)).item(),
      "kl cat", D.kl_divergence(D.Categorical(probs=torch.tensor([0.2, 0.8])),
                                D.Categorical(probs=torch.tensor([0.5, 0.5]))).item())
