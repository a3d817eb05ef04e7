"""A data pipeline and training utilities: a Dataset of dict samples with variable-length sequences, a collate_fn
with pad_sequence, random_split / Subset / ConcatDataset / TensorDataset, WeightedRandomSampler and a
BatchSampler (all seeded through torch.Generator / manual_seed, so the orders are torch's), activation
checkpointing (torch.utils.checkpoint, non-reentrant), weight_norm and L1 pruning, clip_grad_value_,
parameters_to_vector, a param group added after construction, LambdaLR then MultiStepLR, and an optimizer
state_dict saved and loaded to resume."""

import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parameters_to_vector, prune, vector_to_parameters
from torch.nn.utils.parametrizations import weight_norm
from torch.nn.utils.rnn import pad_sequence
from torch.utils.checkpoint import checkpoint
from torch.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)

rng = np.random.default_rng(29)
torch.manual_seed(3)


class Sequences(Dataset):
    def __init__(self, n):
        self.items = [rng.normal(size=(int(rng.integers(2, 6)), 4)).astype(np.float32) for _ in range(n)]
        self.labels = rng.integers(0, 3, size=n)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return {"x": torch.from_numpy(self.items[i]), "y": int(self.labels[i]), "name": f"s{i}"}


def collate(batch):
    xs = [b["x"] for b in batch]
    return {"x": pad_sequence(xs, batch_first=True), "lengths": torch.tensor([len(x) for x in xs]),
            "y": torch.tensor([b["y"] for b in batch]), "names": [b["name"] for b in batch]}


data = Sequences(20)
train, val = random_split(data, [0.75, 0.25], generator=torch.Generator().manual_seed(7))
print(len(train), len(val), sorted(val.indices))
weights = torch.tensor([1.0 + data.labels[i] for i in train.indices])
sampler = WeightedRandomSampler(weights, num_samples=12, replacement=True, generator=torch.Generator().manual_seed(5))
print(list(sampler))
loader = DataLoader(train, batch_size=4, sampler=sampler, collate_fn=collate)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = weight_norm(nn.Linear(4, 8))
        self.block = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8))
        self.head = nn.Linear(8, 3)

    def forward(self, x, lengths):
        h = torch.tanh(self.proj(x))
        h = h + checkpoint(self.block, h, use_reentrant=False)
        mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1)
        pooled = (h * mask).sum(1) / lengths[:, None]
        return self.head(pooled)


model = Encoder()
with torch.no_grad():
    vector = torch.from_numpy(rng.normal(0, 0.4, size=parameters_to_vector(model.parameters()).numel())
                              .astype(np.float32))
    vector_to_parameters(vector, model.parameters())
prune.l1_unstructured(model.head, name="weight", amount=0.25)
print(int((model.head.weight == 0).sum()), sorted(n for n, _ in model.named_buffers()))

optimizer = torch.optim.Adam([{"params": model.proj.parameters()}, {"params": model.block.parameters()}], lr=0.02)
optimizer.add_param_group({"params": model.head.parameters(), "lr": 0.01})
warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 3))
for epoch in range(2):
    for batch in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(batch["x"], batch["lengths"]), batch["y"])
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 0.5)
        optimizer.step()
        warmup.step()
        print(f"epoch {epoch} {batch['names'][0]} {tuple(batch['x'].shape)} loss {loss.item():.5f}")

buffer = io.BytesIO()
torch.save({"model": model.state_dict(), "optim": optimizer.state_dict()}, buffer)
buffer.seek(0)
state = torch.load(buffer)
print(sorted(state["model"])[:4], len(state["optim"]["state"]), [g["lr"] for g in state["optim"]["param_groups"]])
resumed = torch.optim.Adam([{"params": model.proj.parameters()}, {"params": model.block.parameters()},
                            {"params": model.head.parameters()}], lr=0.02)
resumed.load_state_dict(state["optim"])
steps = torch.optim.lr_scheduler.MultiStepLR(resumed, milestones=[1, 2], gamma=0.5)

tensors = TensorDataset(torch.from_numpy(rng.normal(size=(6, 4)).astype(np.float32)), torch.arange(6) % 3)
pairs = ConcatDataset([Subset(tensors, [0, 2, 4]), Subset(tensors, [1, 3])])
batches = BatchSampler(range(len(pairs)), batch_size=2, drop_last=False)
for indices in batches:
    xs = torch.stack([pairs[i][0] for i in indices]).unsqueeze(1)
    ys = torch.stack([pairs[i][1] for i in indices])
    resumed.zero_grad()
    loss = F.cross_entropy(model(xs, torch.ones(len(indices), dtype=torch.long)), ys)
    loss.backward()
    resumed.step()
    steps.step()
    print(indices, f"{loss.item():.5f}", [round(g["lr"], 6) for g in resumed.param_groups])
model.eval()
with torch.no_grad():
    val_batch = collate([data[i] for i in val.indices])
    print(model(val_batch["x"], val_batch["lengths"]).argmax(1).tolist())
prune.remove(model.head, "weight")
print(sorted(n for n, _ in model.named_parameters()))
