"""CPU mixed precision: torch.autocast("cpu", dtype=torch.bfloat16) around the forward pass,
torch.amp.GradScaler (a no-op for bf16 but commonly left in), dtype checks inside autocast, torch.cpu.amp;
the bf16 losses are not printed (they round differently), the float32 losses after each step are."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(8)
device = "cuda" if torch.cuda.is_available() else "cpu"
model = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.LayerNorm(32), nn.Linear(32, 4)).to(device)
with torch.no_grad():
    for name, p in model.named_parameters():
        if not name.startswith("2."):
            p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
x = torch.from_numpy(rng.standard_normal((64, 16)).astype(np.float32)).to(device)
y = torch.from_numpy(rng.integers(0, 4, size=64)).to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
scaler = torch.amp.GradScaler(device, enabled=(device == "cuda"))
print(torch.is_autocast_enabled())
for step in range(10):
    optimizer.zero_grad()
    with torch.autocast(device_type=device, dtype=torch.bfloat16):
        h = model[0](x)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        if step == 0:
            print(h.dtype, logits.dtype, torch.is_autocast_enabled("cpu"))
            print((x @ x.T).dtype, torch.mm(x, x.T).dtype, (h + 1).dtype)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
    with torch.no_grad():
        print(f"step {step} fp32 loss {F.cross_entropy(model(x), y).item():.4f}")
print(model[0].weight.dtype, model[0].weight.grad.dtype, scaler.get_scale() if scaler.is_enabled() else 1.0)
with torch.autocast("cpu", enabled=False):
    print(model(x).dtype)
with torch.cpu.amp.autocast():
    print(model(x).dtype)
xb = x.to(torch.bfloat16)
print(xb.dtype, xb.float().dtype, xb.half().dtype, x.bfloat16().is_floating_point())
print(torch.tensor([1.0, 2.5, 3.14159], dtype=torch.bfloat16))
