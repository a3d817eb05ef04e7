"""torch.nn.utils.parametrize: a custom Symmetric parametrization (PyTorch's tutorial), weight_norm and
orthogonal from torch.nn.utils.parametrizations, parametrize.cached(), remove_parametrizations, training
through them; weights from NumPy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.utils.parametrize as parametrize
from torch.nn.utils import parametrizations

rng = np.random.default_rng(14)


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)


class MatrixExponential(nn.Module):
    def forward(self, X):
        return torch.matrix_exp(X)


class Skew(nn.Module):
    def forward(self, X):
        A = X.triu(1)
        return A - A.transpose(-1, -2)


def np_(shape, s=0.3):
    return torch.from_numpy(rng.normal(0, s, size=shape).astype(np.float32))


layer = nn.Linear(3, 3)
parametrize.register_parametrization(layer, "weight", Symmetric())
A = layer.weight
print(torch.allclose(A, A.T), parametrize.is_parametrized(layer), parametrize.is_parametrized(layer, "bias"))
print(type(layer).__name__, list(dict(layer.named_parameters()).keys()))
print(layer.parametrizations.weight.original.shape, layer)

cayley = nn.Linear(4, 4)
parametrize.register_parametrization(cayley, "weight", Skew())
parametrize.register_parametrization(cayley, "weight", MatrixExponential())
Q = cayley.weight
print("orthogonal", torch.dist(Q.T @ Q, torch.eye(4)).item() < 1e-5)

model = nn.Sequential(
    parametrizations.weight_norm(nn.Linear(6, 8)),
    nn.Tanh(),
    nn.Linear(8, 8),  # parametrizations.orthogonal(nn.Linear(8, 8)): lucid lacks it (reported)
    nn.Tanh(),
    nn.Linear(8, 2),
)
with torch.no_grad():
    model[0].parametrizations.weight.original0.copy_(np_((8, 1)).abs() + 0.5)
    model[0].parametrizations.weight.original1.copy_(np_((8, 6)))
    model[0].bias.copy_(np_((8,)))
    model[4].weight.copy_(np_((2, 8)))
    model[4].bias.copy_(np_((2,)))
    model[2].bias.copy_(np_((8,)))
    model[2].weight.copy_(np_((8, 8)))
parametrize.register_parametrization(model[2], "weight", Skew())
parametrize.register_parametrization(model[2], "weight", MatrixExponential())
print(sorted(n for n, _ in model.named_parameters()))
W = model[2].weight
print("orth", torch.allclose(W @ W.T, torch.eye(8), atol=1e-5), model[0].weight.norm(dim=1).shape)
x = np_((32, 6), 1.0)
y = np_((32, 2), 1.0)
opt = torch.optim.SGD([p for n, p in model.named_parameters() if "2." not in n], lr=0.1)
for step in range(8):
    opt.zero_grad()
    with parametrize.cached():
        loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    print(f"step {step} loss {loss.item():.6f}")
print("g", model[0].parametrizations.weight.original0.squeeze(1)[:3].tolist().__len__())
g = model[0].parametrizations.weight.original0.squeeze(1)
print("norms", (model[0].weight.norm(dim=1) - g).abs().max().item() < 1e-5)
parametrize.remove_parametrizations(model[0], "weight", leave_parametrized=True)
print(parametrize.is_parametrized(model[0]), type(model[0].weight).__name__, sorted(model[0].state_dict().keys()))
sn = nn.utils.spectral_norm(nn.Linear(5, 5))
print(sorted(sn.state_dict().keys()))
sn2 = parametrizations.spectral_norm(nn.Linear(5, 5))
print(sorted(sn2.state_dict().keys()))
wn = nn.utils.weight_norm(nn.Linear(5, 3), name="weight")
print(sorted(n for n, _ in wn.named_parameters()))
