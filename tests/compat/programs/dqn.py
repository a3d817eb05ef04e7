"""DQN (PyTorch's reinforcement-q-learning tutorial, small): a replay buffer of NumPy transitions, Q(s, a) by
gather, targets from a target network's max (``.max(1)[0]`` and ``.max(dim=1).values``) masked by ``1 - dones``,
smooth L1 loss, RMSprop, gradient clipping by value, epsilon-greedy actions with ``.item()``, target syncs by
``load_state_dict(state_dict())``; the environment and all randomness are NumPy."""
import collections

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

rng = np.random.default_rng(5)
Transition = collections.namedtuple("Transition", ("state", "action", "next_state", "reward", "done"))


class ReplayMemory:
    def __init__(self, capacity):
        self.memory = collections.deque([], maxlen=capacity)

    def push(self, *args):
        self.memory.append(Transition(*args))

    def sample(self, batch_size):
        idx = rng.choice(len(self.memory), size=batch_size, replace=False)
        return [self.memory[i] for i in idx]

    def __len__(self):
        return len(self.memory)


class DQN(nn.Module):
    def __init__(self, n_obs, n_actions):
        super().__init__()
        self.layer1 = nn.Linear(n_obs, 32)
        self.layer2 = nn.Linear(32, 32)
        self.layer3 = nn.Linear(32, n_actions)

    def forward(self, x):
        x = F.relu(self.layer1(x))
        x = F.relu(self.layer2(x))
        return self.layer3(x)


class ChainEnv:
    """A 1-D walk: observation (position, velocity, target, 1); rewards (NumPy float64) for getting near the target."""

    def reset(self):
        self.pos, self.vel, self.tgt, self.t = rng.uniform(-1, 1), 0.0, rng.uniform(-1, 1), 0
        return self.obs()

    def obs(self):
        return np.array([self.pos, self.vel, self.tgt, 1.0], dtype=np.float32)

    def step(self, a):
        self.vel = 0.8 * self.vel + (a - 1) * 0.1
        self.pos = np.clip(self.pos + self.vel, -1.5, 1.5)
        self.t += 1
        reward = 1.0 - np.abs(self.pos - self.tgt)
        done = abs(self.pos - self.tgt) < 0.05 or self.t >= 12
        return self.obs(), reward, done


n_obs, n_actions = 4, 3
policy_net = DQN(n_obs, n_actions)
target_net = DQN(n_obs, n_actions)
with torch.no_grad():
    for p in policy_net.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
target_net.load_state_dict(policy_net.state_dict())
target_net.eval()
optimizer = optim.RMSprop(policy_net.parameters(), lr=1e-3, alpha=0.95, eps=1e-6)
memory = ReplayMemory(200)
BATCH_SIZE, GAMMA = 16, 0.9


def select_action(state, eps):
    if rng.random() > eps:
        with torch.no_grad():
            return policy_net(torch.tensor(state).unsqueeze(0)).max(1)[1].item()
    return int(rng.integers(n_actions))


def optimize_model(step):
    batch = Transition(*zip(*memory.sample(BATCH_SIZE)))
    states = torch.from_numpy(np.stack(batch.state))
    actions = torch.tensor(batch.action, dtype=torch.int64)
    rewards = torch.tensor(batch.reward)  # NumPy float64 rewards: a float64 tensor
    next_states = torch.as_tensor(np.stack(batch.next_state))
    dones = torch.tensor(batch.done, dtype=torch.float32)
    q = policy_net(states).gather(1, actions.unsqueeze(1)).squeeze(1)
    if step % 2:
        next_q = target_net(next_states).max(1)[0].detach()
    else:
        with torch.no_grad():
            next_q = target_net(next_states).max(dim=1).values
    expected = (rewards + GAMMA * next_q * (1 - dones)).float()
    loss = F.smooth_l1_loss(q, expected)
    optimizer.zero_grad()
    loss.backward()
    if step % 2:
        torch.nn.utils.clip_grad_value_(policy_net.parameters(), 1.0)
    else:
        for param in policy_net.parameters():
            param.grad.data.clamp_(-1, 1)
    optimizer.step()
    return loss.item(), rewards.dtype


env = ChainEnv()
step = 0
for episode in range(6):
    state = env.reset()
    total, losses = 0.0, []
    done = False
    while not done:
        eps = max(0.1, 0.9 - 0.02 * step)
        action = select_action(state, eps)
        next_state, reward, done = env.step(action)
        memory.push(state, action, next_state, reward, done)
        state = next_state
        total += reward
        if len(memory) >= BATCH_SIZE:
            loss, reward_dtype = optimize_model(step)
            losses.append(loss)
        step += 1
        if step % 10 == 0:
            target_net.load_state_dict(policy_net.state_dict())
    print(f"episode {episode} return {total:.5f}")
    print(f"episode {episode} mean-loss {np.mean(losses) if losses else 0.0:.6f}")

print("reward batch", reward_dtype)
with torch.no_grad():
    probe = torch.from_numpy(rng.uniform(-1, 1, size=(5, 4)).astype(np.float32))
    q = policy_net(probe)
    print("greedy", q.argmax(dim=1).tolist())
    print(f"q-sum {q.sum().item():.6f}")
    print(f"target-gap {(target_net(probe) - q).abs().max().item():.6f}")
