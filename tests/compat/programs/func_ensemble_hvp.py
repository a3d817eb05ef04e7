"""torch.func beyond per-sample gradients: a dropout MLP ensemble trained with ``stack_module_state`` +
``vmap(functional_call, randomness="different")``, Hessian-vector products three ways (``jvp`` of ``grad``,
forward-mode dual numbers over a backward pass, ``torch.autograd.functional.hvp``), ``jacrev``/``jacfwd``/
``hessian`` of a small function, and a truncated-Newton step solved with conjugate gradients on HVPs."""
import torch
import torch.autograd.forward_ad as fwAD
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, hessian, jacfwd, jacrev, jvp, stack_module_state, vmap

torch.manual_seed(0)
X = torch.randn(64, 6)
Y = (X[:, :2].sum(1, keepdim=True).tanh() + 0.1 * torch.randn(64, 1))


def make():
    return nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.Dropout(0.2), nn.Linear(16, 1))


models = [make() for _ in range(4)]
params, buffers = stack_module_state(models)
base = make()


def ens_loss(p, b, x, y):
    return F.mse_loss(functional_call(base, (p, b), (x,)), y)


step = vmap(grad(ens_loss), in_dims=(0, 0, None, None), randomness="different")
for it in range(30):
    xb, yb = X[(it * 16) % 64:(it * 16) % 64 + 16], Y[(it * 16) % 64:(it * 16) % 64 + 16]
    grads = step(params, buffers, xb, yb)
    with torch.no_grad():
        for k in params:
            params[k] -= 0.1 * grads[k]
    if it % 10 == 9:
        with torch.no_grad():
            losses = vmap(ens_loss, in_dims=(0, 0, None, None), randomness="same")(params, buffers, X, Y)
        print(f"iter {it + 1}: ensemble losses", [round(v, 4) for v in losses.tolist()])

base.eval()
with torch.no_grad():
    preds = vmap(functional_call, in_dims=(None, 0, None))(base, params, (X[:5],)).squeeze(-1)
print("ensemble mean", preds.mean(0), "std", preds.std(0))

# ---- Hessian-vector products of a model's loss, three ways -----------------------------------------------------
net = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 1)).double()
p0 = {k: v.detach() for k, v in net.named_parameters()}
Xd = torch.randn(32, 6, dtype=torch.float64)  # (float64 draws: lucid reproduces them exactly, float32 normals to ulps)
Yd = Xd[:, :1].sin()


def loss_fn(p):
    # (squared error written out: torch 2.13's mse_loss backward has no forward-mode formula on its zero tensors)
    return (functional_call(net, p, (Xd,)) - Yd).pow(2).mean() + 1e-3 * sum((v ** 2).sum() for v in p.values())


v = {k: torch.ones_like(t) / t.numel() for k, t in p0.items()}
_, hv1 = jvp(grad(loss_fn), (p0,), (v,))
with fwAD.dual_level():
    dual = {k: fwAD.make_dual(t.clone().requires_grad_(), v[k]) for k, t in p0.items()}
    gs = torch.autograd.grad(loss_fn(dual), list(dual.values()))
    hv2 = {k: fwAD.unpack_dual(g).tangent for k, g in zip(dual, gs)}
keys = list(p0)
flat = torch.cat([p0[k].flatten() for k in keys])


def flat_loss(f):
    out, i = {}, 0
    for k in keys:
        n = p0[k].numel()
        out[k] = f[i:i + n].view_as(p0[k])
        i += n
    return loss_fn(out)


_, hv3 = torch.autograd.functional.hvp(flat_loss, flat, torch.cat([v[k].flatten() for k in keys]))
for k in keys:
    print("hvp", k, round(hv1[k].sum().item(), 10), round(hv2[k].sum().item(), 10))
print("hvp flat", round(hv3.sum().item(), 10), round(hv3.abs().sum().item(), 10))

# ---- Newton-CG: solve H d = -g with conjugate gradients on Hessian-vector products ------------------------------
g = grad(flat_loss)(flat)
hvp = lambda u: jvp(grad(flat_loss), (flat,), (u,))[1]  # noqa: E731
d, r = torch.zeros_like(flat), -g.clone()
pdir, rs = r.clone(), r @ r
for _ in range(10):
    hp = hvp(pdir)
    alpha = rs / (pdir @ hp)
    d, r = d + alpha * pdir, r - alpha * hp
    rs_new = r @ r
    pdir, rs = r + rs_new / rs * pdir, rs_new
print("newton-cg: loss before", round(flat_loss(flat).item(), 8), "after", round(flat_loss(flat + d).item(), 8))

# ---- Jacobians and Hessians of a small function --------------------------------------------------------------------
f = lambda a, b: (a.sin() * b).sum() + (a @ b) ** 2  # noqa: E731
a, b = torch.linspace(-1, 1, 4, dtype=torch.float64), torch.linspace(0.5, 2, 4, dtype=torch.float64)
print("jacrev", jacrev(f, argnums=(0, 1))(a, b))
print("jacfwd(jacrev)", jacfwd(jacrev(f))(a, b))
print("hessian", hessian(f, argnums=1)(a, b))
print("vmap(jacrev)", vmap(jacrev(lambda u: (u.exp() * a).cumsum(0)))(torch.stack([a, b])).sum((1, 2)))
