"""PyTorch's examples/reinforcement_learning/actor_critic.py on a tiny environment; actions are drawn from
Categorical with a NumPy-seeded uniform so both runs follow the same trajectory."""
from collections import namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

SavedAction = namedtuple("SavedAction", ["log_prob", "value"])
rng = np.random.default_rng(0)


class Chain:
    def reset(self):
        self.s = 0
        return np.eye(5, dtype=np.float32)[self.s]

    def step(self, a):
        self.s = min(4, self.s + 1) if a == 1 else max(0, self.s - 1)
        return np.eye(5, dtype=np.float32)[self.s], float(self.s == 4), self.s == 4


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.affine1 = nn.Linear(5, 16)
        self.action_head = nn.Linear(16, 2)
        self.value_head = nn.Linear(16, 1)
        self.saved_actions = []
        self.rewards = []

    def forward(self, x):
        x = F.relu(self.affine1(x))
        action_prob = F.softmax(self.action_head(x), dim=-1)
        state_values = self.value_head(x)
        return action_prob, state_values


model = Policy()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
optimizer = optim.Adam(model.parameters(), lr=3e-2)
eps = np.finfo(np.float32).eps.item()


def select_action(state):
    state = torch.from_numpy(state).float()
    probs, state_value = model(state)
    m = Categorical(probs)
    u = rng.random()
    action = torch.tensor(int(u > probs[0].item()))
    model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
    return action.item()


def finish_episode(gamma=0.9):
    R = 0
    saved_actions = model.saved_actions
    policy_losses, value_losses, returns = [], [], []
    for r in model.rewards[::-1]:
        R = r + gamma * R
        returns.insert(0, R)
    returns = torch.tensor(returns)
    returns = (returns - returns.mean()) / (returns.std() + eps)
    for (log_prob, value), R in zip(saved_actions, returns):
        advantage = R - value.item()
        policy_losses.append(-log_prob * advantage)
        value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))
    optimizer.zero_grad()
    loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
    loss.backward()
    optimizer.step()
    del model.rewards[:]
    del model.saved_actions[:]
    return loss


env = Chain()
for ep in range(1, 31):
    state = env.reset()
    for t in range(20):
        action = select_action(state)
        state, reward, done = env.step(action)
        model.rewards.append(reward)
        if done:
            break
    if len(model.rewards) < 2:
        model.rewards.clear()
        model.saved_actions.clear()
        continue
    loss = finish_episode()
    print(f"episode {ep} length {t + 1} loss {loss.item():.5f}")
probs, v = model(torch.eye(5))
print(probs.argmax(-1).tolist(), v.squeeze(-1).shape)
print("entropy", Categorical(probs=probs).entropy().mean().item())
print("logits-entropy", Categorical(logits=torch.log(probs)).entropy().sum().item())
