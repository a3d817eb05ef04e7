"""Run under mpiexec by bench/test_distributed.py: all-reduce throughput (lucid vs mpi4py on the same
NumPy buffer) and the time of one DDP training step; rank 0 prints the figures as one JSON line."""

import json
import statistics
import sys
import time

import numpy as np
from mpi4py import MPI

import lucid
import lucid.distributed as dist
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.nn.parallel import DistributedDataParallel


def median_time(fn, repeat):
    dist.barrier()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
comm = MPI.COMM_WORLD
figures = {"world": world, "all_reduce": {}, "ddp_step_ms": None}
for nbytes in (4 * 2**10, 256 * 2**10, 16 * 2**20):
    t = lucid.ones(nbytes // 4)
    raw = np.ones(nbytes // 4, np.float32)
    repeat = 50 if nbytes < 2**20 else 10
    ours = median_time(lambda t=t: dist.all_reduce(t), repeat)
    theirs = median_time(lambda raw=raw: comm.Allreduce(MPI.IN_PLACE, raw, MPI.SUM), repeat)
    figures["all_reduce"][nbytes] = {"lucid_us": ours * 1e6, "mpi4py_us": theirs * 1e6,
                                     "lucid_GBps": nbytes / ours / 1e9}

lucid.manual_seed(0)
model = DistributedDataParallel(nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                                              nn.Linear(512, 10)))
opt = lucid.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = lucid.randn(64, 256), lucid.randint(0, 10, (64,))


def step():
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()


step()
figures["ddp_step_ms"] = median_time(step, int(sys.argv[1]) if len(sys.argv) > 1 else 20) * 1e3
if rank == 0:
    sys.stdout.write(json.dumps(figures) + "\n")
dist.destroy_process_group()
