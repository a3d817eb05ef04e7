"""Training utilities around the optimizer step: torch.amp.GradScaler on the CPU with two optimizers, unscale_ then
clip_grad_norm_, injected inf/NaN gradients (skipped steps, backoff, growth), update(new_scale) and a state_dict
round trip; clip_grad_norm_ over norm types with and without foreach, get_total_norm + clip_grads_with_norm_,
clip_grad_value_; swa_utils (AveragedModel with the default average, get_ema_multi_avg_fn over buffers, a custom
avg_fn, SWALR cos annealing, update_bn); early stopping on a validation split with the best checkpoint kept in a
BytesIO and restored into fresh model, optimizer and ReduceLROnPlateau."""

import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn, update_bn
from torch.utils.data import DataLoader, TensorDataset, random_split

rng = np.random.default_rng(11)


def init(module):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, 0.5, size=tuple(p.shape)).astype(np.float32)))
    return module


# ---- GradScaler -------------------------------------------------------------------------------------------------
torch.manual_seed(0)
enc, head = init(nn.Linear(3, 4)), init(nn.Linear(4, 1))
opt_enc = torch.optim.SGD(enc.parameters(), lr=0.1, momentum=0.5)
opt_head = torch.optim.Adam(head.parameters(), lr=0.01)
scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_factor=2.0, backoff_factor=0.25, growth_interval=3)
for it in range(9):
    opt_enc.zero_grad()
    opt_head.zero_grad()
    loss = head(torch.tanh(enc(torch.randn(6, 3)))).pow(2).mean()
    scaler.scale(loss).backward()
    if it == 1:
        head.bias.grad.fill_(float("nan"))
    if it == 5:
        enc.weight.grad[0, 0] = float("-inf")
    scaler.unscale_(opt_enc)
    norm = nn.utils.clip_grad_norm_(enc.parameters(), 0.5)
    stepped = [scaler.step(opt_enc), scaler.step(opt_head)]
    scaler.update()
    print(it, f"{loss.item():.6f}", scaler.get_scale(), scaler._get_growth_tracker(),
          f"{norm.item():.5f}" if torch.isfinite(norm) else "nonfinite", stepped)
scaler.update(new_scale=64.0)
restored = torch.amp.GradScaler("cpu")
restored.load_state_dict(scaler.state_dict())
print(sorted(scaler.state_dict().items()), restored.get_scale(), restored.get_growth_interval())
print([round(v, 5) for v in enc.weight.flatten().tolist()], [round(v, 5) for v in head.weight.flatten().tolist()])

# ---- gradient clipping ------------------------------------------------------------------------------------------
grads = [torch.from_numpy(rng.normal(0, 2, size=s).astype(np.float32)) for s in [(3, 4), (5,), ()]]
for foreach in (False, True):
    for norm_type in (2.0, 1, 3.5, "inf", 0.5):
        params = [nn.Parameter(torch.zeros_like(g)) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        total = nn.utils.clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type, foreach=foreach)
        print("clip", foreach, norm_type, f"{total.item():.5f}", [f"{p.grad.abs().sum().item():.5f}" for p in params])
total = nn.utils.get_total_norm(grads, norm_type=2.0)
params = [nn.Parameter(torch.zeros_like(g)) for g in grads]
for p, g in zip(params, grads):
    p.grad = g.clone()
nn.utils.clip_grads_with_norm_(params, 0.5, total)
print("with_norm", f"{total.item():.5f}", [round(v, 5) for v in params[0].grad.flatten()[:4].tolist()])
nn.utils.clip_grad_value_(params, 0.05)
print("value", [round(v, 5) for v in params[0].grad.flatten()[:6].tolist()])

# ---- swa_utils ----------------------------------------------------------------------------------------------------
torch.manual_seed(1)
net = init(nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1)))
opt = torch.optim.SGD(net.parameters(), lr=0.02, momentum=0.5)
swa = AveragedModel(net)
ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
half = AveragedModel(net, avg_fn=lambda avg, new, n: 0.5 * avg + 0.5 * new)
swa_sched = SWALR(opt, swa_lr=0.005, anneal_epochs=3, anneal_strategy="cos")
batches = [(torch.randn(16, 4), torch.randn(16, 1)) for _ in range(3)]
for epoch in range(6):
    for xb, yb in batches:
        opt.zero_grad()
        F.mse_loss(net(xb), yb).backward()
        opt.step()
    for averaged in (swa, ema, half):
        averaged.update_parameters(net)
    swa_sched.step()
    print("swa", epoch, [round(v, 6) for v in swa_sched.get_last_lr()], int(swa.n_averaged))
update_bn([xb for xb, _ in batches], swa)
print("bn", [round(v, 5) for v in swa.module[1].running_mean.tolist()[:4]], int(swa.module[1].num_batches_tracked))
for averaged in (swa, ema, half):
    averaged.eval()
    print([round(v, 5) for v in averaged.module[0].weight.flatten().tolist()[-4:]],
          round(averaged(batches[0][0]).sum().item(), 4))

# ---- early stopping with the best checkpoint in memory ---------------------------------------------------------------
X = torch.from_numpy(rng.normal(size=(120, 6)).astype(np.float32))
Y = X @ torch.from_numpy(rng.normal(size=(6, 1)).astype(np.float32)) + 0.3 * torch.randn(120, 1)
train, val = random_split(TensorDataset(X, Y), [0.75, 0.25], generator=torch.Generator().manual_seed(1))
train_dl = DataLoader(train, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(2), drop_last=True)
val_dl = DataLoader(val, batch_size=64)


def make_model():
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 1))


def evaluate(model):
    model.eval()
    with torch.no_grad():
        return sum(F.mse_loss(model(xb), yb, reduction="sum").item() for xb, yb in val_dl) / len(val)


model = init(make_model())
opt = torch.optim.AdamW(model.parameters(), lr=3e-2, weight_decay=1e-2)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
best, bad, buf = float("inf"), 0, io.BytesIO()
for epoch in range(30):
    model.train()
    for xb, yb in train_dl:
        opt.zero_grad()
        F.mse_loss(model(xb), yb).backward()
        opt.step()
    val_loss = evaluate(model)
    plateau.step(val_loss)
    print(f"epoch {epoch} val {val_loss:.5f} lr {opt.param_groups[0]['lr']:.5f}")
    if val_loss < best - 1e-4:
        best, bad = val_loss, 0
        buf.seek(0)
        buf.truncate()
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": plateau.state_dict(),
                    "epoch": epoch}, buf)
    else:
        bad += 1
        if bad >= 3:
            print("early stop", epoch)
            break
buf.seek(0)
checkpoint = torch.load(buf)
model2 = make_model()
model2.load_state_dict(checkpoint["model"])
opt2 = torch.optim.AdamW(model2.parameters(), lr=1.0)
opt2.load_state_dict(checkpoint["opt"])
plateau2 = torch.optim.lr_scheduler.ReduceLROnPlateau(opt2)
plateau2.load_state_dict(checkpoint["sched"])
print(f"restored {checkpoint['epoch']} val {evaluate(model2):.5f} best {best:.5f}", opt2.param_groups[0]["lr"],
      plateau2.num_bad_epochs, checkpoint["opt"]["state"][0]["step"].item())
