"""GPU benchmarks: lucid against PyTorch CUDA eager, same shapes, float32, synchronised timing.

Cases (issue 6): the per-op overhead of a small chain (forward + backward), an 8192x8192
matmul, an MLP 784-4096-4096-10 training step (batch 1024, SGD with momentum), a ResNet-18
training step (batch 64 at 32x32, the CIFAR variant, SGD with momentum) and a GPT-style
decoder block training step (d=1024, 16 heads, sequence 1024, batch 8, AdamW); then the peak
GPU memory of each step (``lucid.cuda.max_memory_allocated`` against
``torch.cuda.max_memory_allocated``), measured after all timings because lucid's peak
tracking adds a memory hook to every allocation once started.

Timing: pytest-benchmark's setup synchronises the device before every round and each timed
call ends with a synchronise, so a time is everything the step costs, host and GPU. TF32 is
off on both sides (PyTorch's cuDNN allows it by default), so both compute in full float32.

Every case skips with a reason where lucid (CuPy + a GPU) or PyTorch CUDA is missing, so
``pytest bench`` still runs on a CPU machine. On a GPU machine run ``bench/gpu.sh``; the ratio
table of a results file is printed by ``python bench/test_gpu.py bench/results/gpu-<name>.json``.
"""

from __future__ import annotations

import gc
import json
import sys

import numpy as np
import pytest

import lucid
import lucid.backends

IMPLS = ["lucid", "torch"]
# case -> target ratio lucid / PyTorch of the median time, as issue 6 states it (None: reported only)
TARGETS = {"overhead_chain": None, "matmul_8192": 1.05, "mlp_step": 1.3, "resnet18_step": 1.5,
           "decoder_block_step": 1.3}
MEMORY_TARGET = 1.3


# ---- implementations ----------------------------------------------------------------------
class Lib:
    """The namespaces one implementation is written against, so every model is written once."""

    def __init__(self, impl: str):
        self.impl = impl
        if impl == "lucid":
            import lucid.nn as nn
            import lucid.nn.functional as F
            from lucid import optim

            self.nn, self.F, self.optim = nn, F, optim
            self.sync = lucid.cuda.synchronize
            lucid.backends.cuda.matmul.allow_tf32 = False
        else:
            import torch

            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
            self.torch, self.nn, self.F, self.optim = torch, torch.nn, torch.nn.functional, torch.optim
            self.sync = torch.cuda.synchronize

    def tensor(self, array, requires_grad=False):
        if self.impl == "lucid":
            return lucid.tensor(array, device="cuda", requires_grad=requires_grad)
        return self.torch.tensor(array, device="cuda", requires_grad=requires_grad)

    def to_gpu(self, module):
        return module.to("cuda")

    def reset_peak(self) -> None:
        (lucid.cuda if self.impl == "lucid" else self.torch.cuda).reset_peak_memory_stats()

    def peak(self) -> int:
        return (lucid.cuda if self.impl == "lucid" else self.torch.cuda).max_memory_allocated()

    def empty_cache(self) -> None:
        (lucid.cuda if self.impl == "lucid" else self.torch.cuda).empty_cache()


@pytest.fixture(params=IMPLS)
def lib(request):
    """A :class:`Lib` whose CUDA device is usable, else the case skips with the reason."""
    if request.param == "lucid":
        if not lucid.cuda.is_available():
            pytest.skip("lucid's CUDA backend needs CuPy (lucid[cuda12] / lucid[cuda13]) and a GPU")
    else:
        torch = pytest.importorskip("torch")
        if not torch.cuda.is_available():
            pytest.skip("PyTorch has no usable CUDA device here")
    lib = Lib(request.param)
    yield lib
    gc.collect()
    lib.sync()
    lib.empty_cache()  # the two libraries have separate pools: let the next case have the memory


def _data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _labels(n, classes, seed=1):
    return np.random.default_rng(seed).integers(0, classes, n)


# ---- models, written once against either library -------------------------------------------
def resnet18(nn, classes: int = 10):
    """ResNet-18 for 32x32 inputs (3x3 stem, no max-pool), as in the usual CIFAR-10 setups."""

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
            self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                             if stride != 1 or cin != cout else nn.Identity())

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + self.shortcut(x))

    layers, cin = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()], 64
    for cout, stride in ((64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1)):
        layers.append(Block(cin, cout, stride))
        cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes))


def decoder_block(nn, F, d: int = 1024, heads: int = 16):
    """A pre-LayerNorm GPT block: causal self-attention and a 4x GELU MLP, both residual."""

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc1, self.fc2, self.act = nn.Linear(d, 4 * d), nn.Linear(4 * d, d), nn.GELU()

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).reshape(b, t, 3, heads, d // heads).permute(2, 0, 3, 1, 4).unbind(0)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
            return x + self.fc2(self.act(self.fc1(self.ln2(x))))

    return Block()


def training_step(lib, model, opt, x, loss_fn):
    def step():
        opt.zero_grad()
        loss_fn(model(x)).backward()
        opt.step()

    return step


# ---- the cases: each returns (step, rounds, warmup rounds) ---------------------------------------
def overhead_chain(lib):
    """tanh(a * b + a) * 2 summed and differentiated, on 64x64: ten chains per timed call."""
    a, b = lib.tensor(_data(64, 64), requires_grad=True), lib.tensor(_data(64, 64, seed=1))

    def step():
        for _ in range(10):
            a.grad = None
            ((a * b + a).tanh() * 2.0).sum().backward()

    return step, 100, 10


def matmul_8192(lib):
    a, b = lib.tensor(_data(8192, 8192)), lib.tensor(_data(8192, 8192, seed=1))
    return (lambda: a @ b), 10, 2


def mlp_step(lib):
    nn = lib.nn
    model = lib.to_gpu(nn.Sequential(nn.Linear(784, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
                                     nn.Linear(4096, 10)))
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = lib.tensor(_data(1024, 784)), lib.tensor(_labels(1024, 10))
    return training_step(lib, model, opt, x, lambda out: lib.F.cross_entropy(out, y)), 20, 3


def resnet18_step(lib):
    model = lib.to_gpu(resnet18(lib.nn))
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = lib.tensor(_data(64, 3, 32, 32)), lib.tensor(_labels(64, 10))
    return training_step(lib, model, opt, x, lambda out: lib.F.cross_entropy(out, y)), 20, 3


def decoder_block_step(lib):
    model = lib.to_gpu(decoder_block(lib.nn, lib.F))
    opt = lib.optim.AdamW(model.parameters(), lr=1e-4)
    x = lib.tensor(_data(8, 1024, 1024))
    return training_step(lib, model, opt, x, lambda out: (out * out).mean()), 10, 2


CASES = {f.__name__: f for f in (overhead_chain, matmul_8192, mlp_step, resnet18_step, decoder_block_step)}
assert set(CASES) == set(TARGETS)


def _timed(lib, step):
    def call():
        step()
        lib.sync()

    return call


@pytest.mark.parametrize("case", list(CASES))
def test_gpu_time(benchmark, lib, case):
    step, rounds, warmup = CASES[case](lib)
    benchmark.group = case
    benchmark.extra_info.update(case=case, impl=lib.impl, kind="time", gpu=_gpu_name())
    benchmark.pedantic(_timed(lib, step), setup=lib.sync, rounds=rounds, iterations=1, warmup_rounds=warmup)


@pytest.mark.parametrize("case", list(CASES))
def test_gpu_peak_memory(benchmark, lib, case):
    """One step after a warm-up one (optimizer state exists), from a reset peak."""
    step, _, _ = CASES[case](lib)
    step()
    lib.sync()

    def reset():
        lib.sync()
        lib.reset_peak()

    benchmark.group = f"{case} (peak memory)"
    benchmark.pedantic(_timed(lib, step), setup=reset, rounds=1, iterations=1)
    benchmark.extra_info.update(case=case, impl=lib.impl, kind="memory", gpu=_gpu_name(), peak_bytes=lib.peak())


def _gpu_name() -> str:
    return lucid.cuda.get_device_name() if lucid.cuda.is_available() else "unknown"


# ---- the ratio table of a results file -------------------------------------------------------------
def summary(path: str) -> str:
    """A Markdown table of lucid/PyTorch median-time and peak-memory ratios from a pytest-benchmark
    JSON file written by ``test_gpu_time`` and ``test_gpu_peak_memory``."""
    with open(path) as f:
        runs = json.load(f)["benchmarks"]
    times, peaks, gpu = {}, {}, "unknown GPU"
    for run in runs:
        info = run.get("extra_info", {})
        if "case" not in info:
            continue
        gpu = info.get("gpu", gpu)
        if info["kind"] == "time":
            times.setdefault(info["case"], {})[info["impl"]] = run["stats"]["median"]
        else:
            peaks.setdefault(info["case"], {})[info["impl"]] = info["peak_bytes"]

    def ratio(values, target):
        if not {"lucid", "torch"} <= values.keys():
            return "-", "-"
        r = values["lucid"] / values["torch"]
        return f"{r:.2f}", "-" if target is None else ("ok" if r <= target else f"over {target}")

    lines = [f"GPU: {gpu}", "",
             "| case | lucid (ms) | PyTorch (ms) | time ratio | target | lucid peak (MiB) | PyTorch peak (MiB) "
             "| memory ratio | target |",
             "|---|---|---|---|---|---|---|---|---|"]
    for case, target in TARGETS.items():
        t, m = times.get(case, {}), peaks.get(case, {})
        tr, tok = ratio(t, target)
        mr, mok = ratio(m, MEMORY_TARGET)
        ms = [f"{t[k] * 1e3:.3f}" if k in t else "-" for k in IMPLS]
        mib = [f"{m[k] / 2**20:.0f}" if k in m else "-" for k in IMPLS]
        lines.append(f"| {case} | {ms[0]} | {ms[1]} | {tr} | {tok} | {mib[0]} | {mib[1]} | {mr} | {mok} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(sys.argv[1]))
