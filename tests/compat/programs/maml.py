"""Second-order MAML on sine regression: a functional MLP run through torch.func.functional_call with a dict of
adapted parameters and through a manual F.linear params list, inner-loop gradients with create_graph=True,
the outer loss backpropagated through the inner updates, meta-optimiser Adam; tasks drawn with NumPy."""
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

rng = np.random.default_rng(5)
INNER_LR, INNER_STEPS, TASKS, K = 0.05, 2, 4, 10


def sample_task():
    amp, phase = rng.uniform(0.5, 2.0), rng.uniform(0, np.pi)
    xs = rng.uniform(-5, 5, size=(2 * K, 1)).astype(np.float32)
    ys = (amp * np.sin(xs + phase)).astype(np.float32)
    x, y = torch.from_numpy(xs), torch.from_numpy(ys)
    return x[:K], y[:K], x[K:], y[K:]


model = nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.4, size=tuple(p.shape)).astype(np.float32)))
meta_opt = torch.optim.Adam(model.parameters(), lr=3e-3)

for it in range(6):
    meta_opt.zero_grad()
    meta_loss = 0.0
    for _ in range(TASKS):
        xs, ys, xq, yq = sample_task()
        params = OrderedDict(model.named_parameters())
        for _ in range(INNER_STEPS):
            loss = F.mse_loss(functional_call(model, params, (xs,)), ys)
            grads = torch.autograd.grad(loss, params.values(), create_graph=True)
            params = OrderedDict((n, p - INNER_LR * g) for (n, p), g in zip(params.items(), grads))
        meta_loss = meta_loss + F.mse_loss(functional_call(model, params, (xq,)), yq)
    meta_loss = meta_loss / TASKS
    meta_loss.backward()
    meta_opt.step()
    print(f"iter {it} meta-loss {meta_loss.item():.5f}")


def forward(x, weights):
    """The same network as a params list, PyTorch's MAML-tutorial style."""
    x = F.relu(F.linear(x, weights[0], weights[1]))
    x = F.relu(F.linear(x, weights[2], weights[3]))
    return F.linear(x, weights[4], weights[5])


weights = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
xs, ys, xq, yq = sample_task()
fast = weights
for _ in range(INNER_STEPS):
    grads = torch.autograd.grad(F.mse_loss(forward(xs, fast), ys), fast, create_graph=True)
    fast = [w - INNER_LR * g for w, g in zip(fast, grads)]
query_loss = F.mse_loss(forward(xq, fast), yq)
query_loss.backward()
print("query loss", query_loss.item())
print("meta grad 0", weights[0].grad.norm().item())
print("meta grad 5", weights[5].grad.item())
# first-order MAML drops the second-order term: its meta-gradient differs
fo_fast = [w - INNER_LR * g.detach() for w, g in zip(
    weights, torch.autograd.grad(F.mse_loss(forward(xs, weights), ys), weights))]
fo_grad = torch.autograd.grad(F.mse_loss(forward(xq, fo_fast), yq), weights[0])[0]
print("first-order grad", fo_grad.norm().item())
same = torch.allclose(functional_call(model, dict(model.named_parameters()), xq), model(xq))
print("functional_call matches module", same)
