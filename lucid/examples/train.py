"""Train a small CNN on the handwritten digits shipped with lucid (the README's main job).

    python -m lucid.examples.train [--device cuda|cpu] [--epochs 12] [--batch-size 64]
                                   [--lr 0.003] [--seed 0] [--checkpoint PATH] [--resume]

Runs on ``cuda`` when a GPU is usable, else on the CPU, with a tqdm progress bar per epoch.
``--distributed`` trains data-parallel on every process started by
``python -m lucid.distributed.run -n N -m lucid.examples.train --distributed`` (MPI on the CPU, NCCL on
GPUs, each process on the GPU of its local rank): a DistributedSampler gives each process its share of
every epoch, DistributedDataParallel averages the gradients, and only rank 0 prints and saves.
After every epoch the model, optimizer and scheduler state and the random generators' states go
to ``--checkpoint`` with ``lucid.save`` (atomically: a run killed mid-save keeps the previous
checkpoint); ``--resume`` continues from it, and a run killed after epoch k and resumed ends
exactly as the uninterrupted run would (same shuffling, same parameters, bit for bit).
"""

from __future__ import annotations

import argparse
import os
import random
import time

import numpy as np
from tqdm import tqdm

import lucid
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.data import DataLoader, DistributedSampler
from lucid.datasets import Digits
from lucid.nn.parallel import DistributedDataParallel


class DigitsCNN(nn.Module):
    """conv(1->16) - relu - conv(16->32) - relu - maxpool - linear(512->64) - relu - linear(64->10)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if lucid.cuda.is_available() else "cpu")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default="digits_cnn.safetensors")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over the processes of python -m lucid.distributed.run / mpiexec")
    return p.parse_args(argv)


def evaluate(model, loader, device):
    """Accuracy of ``model`` over ``loader`` (eval mode, no graph)."""
    model.eval()
    correct = total = 0
    with lucid.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            correct += int((model(images).argmax(dim=1) == labels).sum().item())
            total += labels.shape[0]
    return correct / total


def rng_state() -> dict:
    """The state of every random generator a run draws from: lucid's CPU generator (initial
    weights; the DataLoaders draw their shuffling and seeds from it at the start of each pass),
    and Python's and NumPy's global ones (unused here, saved for code added to the loop)."""
    return {"lucid": lucid.random.get_rng_state("cpu"), "python": random.getstate(),
            "numpy": np.random.get_state()}


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned (tuples rebuilt, in case a format gave back lists)."""
    lucid.random.set_rng_state(state["lucid"], "cpu")
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(tuple(state["numpy"]))


def main(argv=None) -> float:
    """Train, print per-epoch loss/accuracy, save a checkpoint each epoch; returns test accuracy."""
    args = parse_args(argv)
    lucid.manual_seed(args.seed)
    device = lucid.device(args.device)
    rank, sampler = 0, None
    train_set = Digits(train=True)
    if args.distributed:
        if device.type == "cuda":  # one GPU per process, chosen before any CUDA work
            lucid.cuda.set_device(lucid.distributed.get_node_local_rank())
            device = lucid.device(f"cuda:{lucid.cuda.current_device()}")
        lucid.distributed.init_process_group("nccl" if device.type == "cuda" else "mpi")
        rank = lucid.distributed.get_rank()
        sampler = DistributedSampler(train_set, shuffle=True, seed=args.seed, drop_last=True)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=sampler is None, sampler=sampler,
                              drop_last=True)
    test_loader = DataLoader(Digits(train=False), batch_size=256)

    net = DigitsCNN().to(device)  # the module whose state is saved (DDP wraps it when distributed)
    model = DistributedDataParallel(net) if args.distributed else net
    optimizer = lucid.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = lucid.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    say = print if rank == 0 else (lambda *a, **k: None)
    start = 0
    if args.resume:
        if not os.path.exists(args.checkpoint):
            raise SystemExit(f"--resume: no checkpoint at {args.checkpoint}; train once without --resume first")
        state = lucid.load(args.checkpoint, map_location=device)
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start = state["epoch"]
        if "rng" in state:  # the shuffling goes on where the interrupted run's would have
            set_rng_state(state["rng"])
        else:
            say("the checkpoint holds no random generator state: the resumed run shuffles differently")
        say(f"resumed from {args.checkpoint} after epoch {start}")
    elif rank == 0:
        lucid.utils.summary(net, (1, 1, 8, 8), device=device)
    say(f"training on {device} for epochs {start + 1}..{args.epochs}"
        + (f" on {lucid.distributed.get_world_size()} processes" if args.distributed else ""))

    accuracy = evaluate(net, test_loader, device) if start >= args.epochs else 0.0
    began = time.perf_counter()
    for epoch in range(start, args.epochs):
        model.train()
        if sampler is not None:
            sampler.set_epoch(epoch)
        running, seen = 0.0, 0
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False, disable=args.quiet or rank > 0)
        for images, labels in bar:
            images, labels = images.to(device), labels.to(device)
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
            optimizer.step()
            running += loss.item() * labels.shape[0]
            seen += labels.shape[0]
            bar.set_postfix(loss=f"{running / seen:.4f}")
        scheduler.step()
        accuracy = evaluate(net, test_loader, device)
        say(f"epoch {epoch + 1:2d}  loss {running / seen:.4f}  test accuracy {accuracy:.2%}  "
            f"({time.perf_counter() - began:.1f}s)")
        if rank == 0:
            lucid.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "epoch": epoch + 1, "rng": rng_state()}, args.checkpoint)
    if args.distributed:
        lucid.distributed.destroy_process_group()
    return accuracy


if __name__ == "__main__":
    main()
