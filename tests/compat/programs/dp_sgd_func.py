"""Per-sample gradients with torch.func (DP-SGD, as in PyTorch's per-sample-grads tutorial):
``functional_call`` over a detached params dict from ``named_parameters()``, ``vmap(grad(loss_fn),
in_dims=(None, 0, 0))``, per-sample gradient norms clipped, noise added (drawn with NumPy), then a manual SGD
update under ``torch.no_grad()`` with ``p.add_(g, alpha=-lr)``; checked against a per-example loop."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, grad_and_value, vmap

rng = np.random.default_rng(23)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 4, 3)
        self.fc1 = nn.Linear(4 * 6, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        x = F.relu(self.conv(x.unsqueeze(1)))
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


model = Net()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.4, size=tuple(p.shape)).astype(np.float32)))
X = torch.from_numpy(rng.normal(0, 1, size=(48, 8)).astype(np.float32))
Y = torch.from_numpy((X[:, :3].numpy().argmax(1)).astype(np.int64))


def compute_loss(params, buffers, sample, target):
    batch = sample.unsqueeze(0)
    targets = target.unsqueeze(0)
    predictions = functional_call(model, (params, buffers), (batch,))
    return F.cross_entropy(predictions, targets)


ft_compute_grad = grad(compute_loss)
ft_compute_sample_grad = vmap(ft_compute_grad, in_dims=(None, None, 0, 0))
lr, max_norm, noise_multiplier = 0.2, 1.0, 0.05

for step in range(6):
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    xb, yb = X[step * 8:(step + 1) * 8], Y[step * 8:(step + 1) * 8]
    per_sample_grads = ft_compute_sample_grad(params, buffers, xb, yb)
    flat = [g.reshape(g.shape[0], -1).norm(2, dim=1) for g in per_sample_grads.values()]
    norms = torch.stack(flat, dim=1).norm(2, dim=1)
    factors = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            g = per_sample_grads[name]
            clipped = (g * factors.view(-1, *([1] * (g.dim() - 1)))).sum(0)
            noise = rng.normal(0, noise_multiplier * max_norm, size=tuple(p.shape))
            noise = torch.from_numpy(noise.astype(np.float32))
            p.add_((clipped + noise) / len(xb), alpha=-lr)
    with torch.no_grad():
        loss = F.cross_entropy(model(X), Y)
    print(f"step {step} max-norm {norms.max().item():.6f}")
    print(f"step {step} loss {loss.item():.6f}")



def loss_fn(params, x, y):
    return F.cross_entropy(functional_call(model, params, (x.unsqueeze(0),)), y.unsqueeze(0))


# the vmapped gradients equal a per-example backward loop
params = {k: v.detach() for k, v in model.named_parameters()}
vg = vmap(grad(loss_fn), in_dims=(None, 0, 0))(params, X[:4], Y[:4])
worst = 0.0
for i in range(4):
    model.zero_grad()
    F.cross_entropy(model(X[i:i + 1]), Y[i:i + 1]).backward()
    for name, p in model.named_parameters():
        worst = max(worst, (p.grad - vg[name][i]).abs().max().item())
print(f"loop-vs-vmap {worst:.7f}")
grads, losses = vmap(grad_and_value(compute_loss), in_dims=(None, None, 0, 0))(params, {}, X[:5], Y[:5])
print("shapes", {k: tuple(v.shape) for k, v in grads.items()})
print(f"per-sample losses sum {losses.sum().item():.6f}")
