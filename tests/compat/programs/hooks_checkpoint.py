"""Autograd plumbing as training code uses it: global module hooks collecting activation statistics
(``register_module_forward_hook``), full backward (pre-)hooks scaling gradients, tensor hooks and ``retain_grad``,
post-accumulate-grad hooks doing the optimizer step, activation checkpointing with dropout (both ``use_reentrant``
settings, RNG state replayed), a custom ``autograd.Function`` with ``setup_context``/``mark_non_differentiable``/
``once_differentiable``, ``saved_tensors_hooks`` compressing saved activations, ``autograd.grad`` with
``allow_unused``/``materialize_grads``/``is_grads_batched``, a gradient penalty and anomaly-mode NaN reports."""
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable
from torch.nn.modules.module import register_module_forward_hook, register_module_full_backward_hook
from torch.utils.checkpoint import checkpoint

warnings.simplefilter("ignore")
torch.manual_seed(0)


class ClampGrad(torch.autograd.Function):
    """Hard clamp forward; straight-through gradient inside a band, and the argmax index as a side output."""

    @staticmethod
    def forward(x, lo, hi):
        return x.clamp(lo, hi), x.argmax(-1)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, lo, hi = inputs
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(x)
        ctx.band = (2 * lo, 2 * hi)

    @staticmethod
    @once_differentiable
    def backward(ctx, g, _):
        (x,) = ctx.saved_tensors
        inside = (x > ctx.band[0]) & (x < ctx.band[1])
        return g * inside, None, None


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc1, self.fc2, self.drop = nn.Linear(d, 2 * d), nn.Linear(2 * d, d), nn.Dropout(0.25)
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        return self.norm(x + self.fc2(self.drop(F.gelu(self.fc1(x)))))


class Net(nn.Module):
    def __init__(self, reentrant):
        super().__init__()
        self.inp, self.out = nn.Linear(5, 12), nn.Linear(12, 3)
        self.blocks = nn.ModuleList([Block(12) for _ in range(3)])
        self.reentrant = reentrant

    def forward(self, x):
        h = self.inp(x)
        for i, b in enumerate(self.blocks):
            h = checkpoint(b, h, use_reentrant=self.reentrant) if i < 2 else b(h)
        h, idx = ClampGrad.apply(h, -1.5, 1.5)
        return self.out(h), idx


X, Y = torch.randn(96, 5), torch.randint(0, 3, (96,))


def sgd_step(p, lr=0.05):  # an optimizer step fused into backward
    p.data.add_(p.grad, alpha=-lr)
    p.grad = None


def record(table, m, o):
    table.setdefault(type(m).__name__, []).append(round((o[0] if isinstance(o, tuple) else o).abs().mean().item(), 4))


def train(reentrant):
    torch.manual_seed(1)
    net = Net(reentrant)
    stats, scaled = {}, []
    h_fwd = register_module_forward_hook(lambda m, i, o: record(stats, m, o))
    h_bwd = register_module_full_backward_hook(lambda m, gi, go: scaled.append(type(m).__name__) or None)
    net.out.register_full_backward_pre_hook(lambda m, go: (go[0] * 0.5,))
    for p in net.parameters():
        p.register_post_accumulate_grad_hook(sgd_step)
    for step in range(12):
        xb, yb = X[step * 8:(step + 1) * 8], Y[step * 8:(step + 1) * 8]
        logits, idx = net(xb)
        logits.retain_grad()
        logits.register_hook(lambda g: g.clamp(-0.05, 0.05))
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        if step % 4 == 3:
            print(f"reentrant={reentrant} step {step + 1}: loss {loss.item():.6f} "
                  f"logit-grad {logits.grad.abs().sum().item():.6f} idx {idx.tolist()}")
    h_fwd.remove()
    h_bwd.remove()
    print("activation stats", {k: v[:3] for k, v in sorted(stats.items())})
    print("backward hooks saw", len(scaled), sorted(set(scaled)))


train(False)
train(True)

# ---- saved tensors compressed to float16 ---------------------------------------------------------------------
torch.manual_seed(2)
mlp = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1))
with torch.autograd.graph.saved_tensors_hooks(lambda t: t.to(torch.float16), lambda t: t.to(torch.float32)):
    out = mlp(X).pow(2).mean()
out.backward()
print("fp16-saved grads", [round(p.grad.abs().sum().item(), 3) for p in mlp.parameters()])

# ---- autograd.grad options and a gradient penalty --------------------------------------------------------------------
a = torch.linspace(-1, 1, 4, requires_grad=True)
b = torch.linspace(0, 2, 4, requires_grad=True)
unused = torch.zeros(2, requires_grad=True)
print(torch.autograd.grad((a * b).sum(), [a, unused], allow_unused=True))
print(torch.autograd.grad((a * b).sum(), [a, unused], materialize_grads=True))
print("jacobian rows", torch.autograd.grad(a.exp() * b, a, torch.eye(4), is_grads_batched=True)[0])
critic = nn.Sequential(nn.Linear(5, 8), nn.Softplus(), nn.Linear(8, 1))
real, fake = X[:16], torch.randn(16, 5)
eps = torch.rand(16, 1)
mix = (eps * real + (1 - eps) * fake).requires_grad_()
g, = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)
penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
penalty.backward()
print("gradient penalty", round(penalty.item(), 6),
      [None if p.grad is None else round(p.grad.abs().sum().item(), 6) for p in critic.parameters()])  # last bias: None

# ---- anomaly mode --------------------------------------------------------------------------------------------------
u = torch.tensor([0.0, 4.0], requires_grad=True)
with torch.autograd.detect_anomaly():
    try:
        (u.sqrt() * 0).sum().backward()
    except RuntimeError as e:
        print("anomaly:", e)
