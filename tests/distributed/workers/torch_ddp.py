"""An unmodified PyTorch DDP program (gloo, DistributedSampler, DDP, SGD with momentum): the test runs it with
torch (torchrun's way: ``python -m lucid.distributed.run --standalone``), and with lucid through
``python -m lucid.torch_compat`` under ``python -m lucid.distributed.run --launcher mpiexec`` (lucid's "gloo" is its
MPI transport); rank 0 writes the trained parameters to sys.argv[1]."""

import json
import sys

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

dist.init_process_group("gloo")
rank = dist.get_rank()
model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).double()
with torch.no_grad():  # the same start in both libraries (their random generators differ)
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.linspace(-0.5, 0.5 + 0.1 * i, p.numel(), dtype=torch.float64).reshape(p.shape))
x = torch.linspace(-1, 1, 48 * 4, dtype=torch.float64).reshape(48, 4).sin()
y = (x * torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)).sum(1, keepdim=True)
sampler = DistributedSampler(TensorDataset(x, y), shuffle=False)
loader = DataLoader(TensorDataset(x, y), batch_size=4, sampler=sampler)
ddp = DDP(model)
opt = torch.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
for epoch in range(2):
    sampler.set_epoch(epoch)
    for xb, yb in loader:
        opt.zero_grad()
        F.mse_loss(ddp(xb), yb).backward()
        opt.step()
if rank == 0:
    with open(sys.argv[1], "w") as f:
        json.dump([p.detach().reshape(-1).tolist() for p in model.parameters()], f)
dist.barrier()  # no rank tears its group down while another still talks to it (torch's gloo aborts then)
dist.destroy_process_group()
