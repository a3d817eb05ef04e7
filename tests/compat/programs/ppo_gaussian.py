"""A PPO-style update for a continuous action space: a Gaussian policy (torch.distributions.Normal with a
learned log-std), value head, GAE computed in a loop, clipped surrogate objective (ratio, clamp, torch.min),
entropy bonus, minibatches via torch.randperm; also Independent, MultivariateNormal, kl_divergence."""
import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Categorical, Independent, MultivariateNormal, Normal, kl_divergence

rng = np.random.default_rng(16)
torch.manual_seed(16)


class ActorCritic(nn.Module):
    def __init__(self, obs_dim, act_dim):
        super().__init__()
        self.actor = nn.Sequential(nn.Linear(obs_dim, 32), nn.Tanh(), nn.Linear(32, act_dim))
        self.critic = nn.Sequential(nn.Linear(obs_dim, 32), nn.Tanh(), nn.Linear(32, 1))
        self.log_std = nn.Parameter(torch.zeros(act_dim) - 0.5)

    def dist(self, obs):
        mu = self.actor(obs)
        std = self.log_std.exp().expand_as(mu)
        return Normal(mu, std)

    def forward(self, obs):
        return self.dist(obs), self.critic(obs).squeeze(-1)


ac = ActorCritic(3, 2)
with torch.no_grad():
    for p in ac.parameters():
        if p.dim() > 0:
            p.copy_(torch.from_numpy(rng.normal(0, 0.4, size=tuple(p.shape)).astype(np.float32)))
opt = torch.optim.Adam(ac.parameters(), lr=3e-3, eps=1e-5)
T = 64
obs = torch.from_numpy(rng.standard_normal((T, 3)).astype(np.float32))
with torch.no_grad():
    d, values = ac(obs)
    noise = torch.from_numpy(rng.standard_normal((T, 2)).astype(np.float32))
    actions = d.mean + d.stddev * noise
    old_logp = d.log_prob(actions).sum(-1)
rewards = -(actions - obs[:, :2]).pow(2).sum(-1)
dones = torch.zeros(T)
dones[31] = 1.0
gamma, lam = 0.99, 0.95
advantages = torch.zeros_like(rewards)
lastgaelam = 0
for t in reversed(range(T)):
    nextnonterminal = 1.0 - dones[t]
    nextvalues = values[t + 1] if t + 1 < T else torch.tensor(0.0)
    delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
    advantages[t] = lastgaelam = delta + gamma * lam * nextnonterminal * lastgaelam
returns = advantages + values
print("adv", returns.shape, advantages.mean().item())
for epoch in range(4):
    perm = np.arange(T) if epoch % 2 == 0 else np.arange(T)[::-1].copy()
    for start in range(0, T, 16):
        idx = torch.from_numpy(perm[start:start + 16])
        dist, v = ac(obs[idx])
        logp = dist.log_prob(actions[idx]).sum(-1)
        ratio = (logp - old_logp[idx]).exp()
        adv = advantages[idx]
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        pg_loss1 = -adv * ratio
        pg_loss2 = -adv * torch.clamp(ratio, 1 - 0.2, 1 + 0.2)
        pg_loss = torch.max(pg_loss1, pg_loss2).mean()
        v_loss = 0.5 * ((v - returns[idx]) ** 2).mean()
        entropy = dist.entropy().sum(-1).mean()
        loss = pg_loss - 0.01 * entropy + 0.5 * v_loss
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(ac.parameters(), 0.5)
        opt.step()
        approx_kl = ((ratio - 1) - (ratio.log())).mean()
        clipfrac = ((ratio - 1.0).abs() > 0.2).float().mean().item()
    print(f"epoch {epoch} loss {loss.item():.5f} kl {approx_kl.item():.6f} clipfrac {clipfrac:.4f}")
d = Independent(Normal(torch.zeros(3), torch.ones(3)), 1)
print(d.batch_shape, d.event_shape, d.log_prob(torch.zeros(3)).item())
mvn = MultivariateNormal(torch.zeros(2), covariance_matrix=torch.tensor([[2.0, 0.5], [0.5, 1.0]]))
print("mvn", mvn.log_prob(torch.tensor([0.5, -0.5])).item(), mvn.entropy().item())
print("kl", kl_divergence(Normal(0.0, 1.0), Normal(1.0, 2.0)).item())
print("kl-cat", kl_divergence(Categorical(probs=torch.tensor([0.3, 0.7])), Categorical(logits=torch.zeros(2))).item())
s = Normal(torch.zeros(4), 1.0).rsample((5,))
print(s.shape, s.requires_grad, Normal(0.0, 1.0).cdf(torch.tensor(1.0)).item())
print(Categorical(logits=torch.zeros(3, 4)).sample().shape,
      torch.distributions.Bernoulli(probs=0.3).log_prob(torch.tensor(1.0)).item())
