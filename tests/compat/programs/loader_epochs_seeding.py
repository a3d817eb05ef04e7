"""DataLoader epochs as PyTorch draws them: shuffles from a seeded torch.Generator and from the global seed, the
worker base seed drawn once per iterator (persistent_workers keep it across epochs), a batch sampler that shuffles
eagerly in __iter__, per-worker torch/numpy/random streams seeded by PyTorch's rule (worker_init_fn seeding NumPy
from torch.initial_seed()), an IterableDataset sharded with get_worker_info, prefetch_factor, drop_last, and the
global generator's state after each loader."""

import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, get_worker_info


class Noisy(Dataset):
    """Sample i with a draw from torch, NumPy and Python's random (in the worker that loads it)."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        wid = -1 if info is None else info.id
        return i, torch.rand(()).item(), np.random.randint(1000), random.randint(0, 999), wid


class EagerBatches(Sampler):
    def __init__(self, n, size):
        self.n, self.size = n, size

    def __len__(self):
        return (self.n + self.size - 1) // self.size

    def __iter__(self):
        perm = torch.randperm(self.n).tolist()
        return iter([perm[i:i + self.size] for i in range(0, self.n, self.size)])


class Shards(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        wid, count = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(wid, self.n, count))


def seed_numpy(worker_id):
    np.random.seed(torch.initial_seed() % 2**32)


def show(name, loader, epochs):
    for epoch in range(epochs):
        batches = []
        for idx, u, n, r, wid in loader:
            batches.append((idx.tolist(), [round(v, 5) for v in u.tolist()], wid.tolist()))
            if loader.worker_init_fn is not None:
                batches.append((n.tolist(), r.tolist()))
        print(name, epoch, batches, round(torch.rand(()).item(), 6))


if __name__ == "__main__":
    torch.manual_seed(0)
    show("global", DataLoader(Noisy(), batch_size=3, shuffle=True), 2)
    show("generator", DataLoader(Noisy(), batch_size=3, shuffle=True, generator=torch.Generator().manual_seed(7)), 2)
    show("eager", DataLoader(Noisy(), batch_sampler=EagerBatches(8, 3)), 2)
    show("workers", DataLoader(Noisy(), batch_size=3, shuffle=True, num_workers=2, worker_init_fn=seed_numpy), 2)
    show("persistent", DataLoader(Noisy(), batch_size=3, shuffle=True, num_workers=2, persistent_workers=True,
                                  prefetch_factor=3, worker_init_fn=seed_numpy), 3)
    show("persistent_gen", DataLoader(Noisy(), batch_size=2, shuffle=True, num_workers=2, persistent_workers=True,
                                      generator=torch.Generator().manual_seed(5), drop_last=True), 3)
    show("eager_workers", DataLoader(Noisy(), batch_sampler=EagerBatches(8, 3), num_workers=2), 2)
    for workers in (0, 2):
        loader = DataLoader(Shards(7), batch_size=2, num_workers=workers)
        print("shards", workers, [b.tolist() for b in loader], round(torch.rand(()).item(), 6))
