"""Train, checkpoint {epoch, model_state_dict, optimizer_state_dict, scheduler, loss} with torch.save,
rebuild everything, torch.load(map_location=...) and resume: the resumed run matches an uninterrupted one."""
import copy
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

rng = np.random.default_rng(9)
X = torch.from_numpy(rng.standard_normal((64, 10)).astype(np.float32))
Y = torch.from_numpy((rng.standard_normal((64, 1)) + X[:, :1].numpy() * 2).astype(np.float32))
W0 = [rng.normal(0, 0.3, size=s).astype(np.float32) for s in [(20, 10), (20,), (20,), (20,), (1, 20), (1,)]]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 20)
        self.bn = nn.BatchNorm1d(20)
        self.fc2 = nn.Linear(20, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.bn(self.fc1(x))))


def build():
    model = Net()
    with torch.no_grad():
        for p, w in zip(model.parameters(), W0):
            p.copy_(torch.from_numpy(w))
    optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
    scheduler = optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)
    return model, optimizer, scheduler


def train_epoch(model, optimizer, scheduler):
    model.train()
    for i in range(0, 64, 16):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(X[i:i + 16]), Y[i:i + 16])
        loss.backward()
        optimizer.step()
    scheduler.step()
    return loss.item()


model, optimizer, scheduler = build()
for epoch in range(3):
    loss = train_epoch(model, optimizer, scheduler)
    print(f"epoch {epoch} loss {loss:.6f}")
path = os.path.join(tempfile.mkdtemp(), "checkpoint.pt")
torch.save({
    "epoch": epoch,
    "model_state_dict": model.state_dict(),
    "optimizer_state_dict": optimizer.state_dict(),
    "scheduler_state_dict": scheduler.state_dict(),
    "loss": loss,
    "history": [1.0, 2.0],
}, path)
torch.save(model.state_dict(), path + ".weights")
reference = copy.deepcopy(model)
ref_opt = optim.Adam(reference.parameters(), lr=0.01, weight_decay=1e-4)
ref_opt.load_state_dict(optimizer.state_dict())

model2, optimizer2, scheduler2 = build()
checkpoint = torch.load(path, map_location=torch.device("cpu"), weights_only=True)
model2.load_state_dict(checkpoint["model_state_dict"])
optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
scheduler2.load_state_dict(checkpoint["scheduler_state_dict"])
start_epoch = checkpoint["epoch"] + 1
print("resumed at", start_epoch, "loss", checkpoint["loss"], type(checkpoint["loss"]).__name__)
print(sorted(checkpoint.keys()), checkpoint["history"])
print(list(checkpoint["model_state_dict"].keys()))
print(optimizer2.state_dict()["param_groups"][0]["lr"], len(optimizer2.state_dict()["state"]))
print("adam step", int(optimizer2.state_dict()["state"][0]["step"]))
sd = torch.load(path + ".weights")
print(all(torch.equal(sd[k], v) for k, v in model.state_dict().items()), sd["bn.num_batches_tracked"])
for epoch in range(start_epoch, 6):
    l1 = train_epoch(model, optimizer, scheduler)
    l2 = train_epoch(model2, optimizer2, scheduler2)
    print(f"epoch {epoch} continuous {l1:.6f} resumed {l2:.6f}")
print("same", max((p - q).abs().max().item() for p, q in zip(model.parameters(), model2.parameters())) < 1e-6)
missing = model2.load_state_dict({k: v for k, v in sd.items() if not k.startswith("fc2")}, strict=False)
print(missing.missing_keys, missing.unexpected_keys)
model2.eval()
with torch.inference_mode():
    print("eval", model2(X[:4]).squeeze(1).shape, torch.is_inference_mode_enabled())
buf = {k: v.clone() for k, v in model2.state_dict().items()}
print(len(buf), type(model2.state_dict()).__name__)
