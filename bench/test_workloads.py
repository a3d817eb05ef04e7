"""Issue 13's workloads on one CPU core: lucid against PyTorch eager and hand-written NumPy (the models'
steps in ``np_convnets.py`` and ``np_gpt.py``), same weights and batches, one training step per call.

Run on one core, as the issue measures::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        python -m pytest bench/test_workloads.py --benchmark-only -q

(``nox -s bench`` sets the three variables; torch is limited with ``torch.set_num_threads(1)`` here.)
The models are written once against ``nn`` (lucid's or torch's, whose APIs match) and the torch
twin is loaded with the lucid model's initial weights. The LSTM language model is in
``test_rnn.py``, the MLP step in ``test_training.py``. ``test_resnet18_peak_memory`` runs one
process per library and reports the growth of the peak resident set over two steps (not a time).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import record_memory
from np_convnets import LENET_LR, RESNET18_LR, RESNET18_MOMENTUM, np_lenet_step_factory, np_resnet18_step_factory
from np_gpt import GPT_LR, np_gpt_step_factory
from test_gpu import decoder_block, resnet18
from test_nn import PEDANTIC, randn
from test_training import _training_case

import lucid
import lucid.nn as nn

CHAIN_LENGTH = 20  # (x * 0.9 + 0.1).tanh() repeated: 60 small ops


@pytest.fixture(autouse=True)
def one_torch_thread(impl):
    if impl == "torch":
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        yield
        torch.set_num_threads(previous)
    else:
        yield


# ---- 60 small elementwise ops, forward and backward ------------------------------------------------
def np_chain_step(x0):
    """The chain and its gradient by hand: tanh(y) has derivative 1 - tanh(y)^2."""
    outs, x = [], x0
    for _ in range(CHAIN_LENGTH):
        x = np.tanh(x * 0.9 + 0.1)
        outs.append(x)
    g = np.ones_like(x)
    for out in reversed(outs):
        g = g * (1 - out * out) * 0.9
    return x.sum(), g


def chain_step(impl):
    """The chain's step in lucid or torch: forward on a (16,) leaf, sum, backward."""
    lib = lucid if impl == "lucid" else pytest.importorskip("torch")
    x = lib.tensor(randn(np.random.default_rng(0), 16), requires_grad=True)

    def step():
        x.grad = None
        y = x
        for _ in range(CHAIN_LENGTH):
            y = (y * 0.9 + 0.1).tanh()
        y.sum().backward()

    return step


def test_elementwise60_forward_backward(benchmark, run, impl):
    """60 elementwise ops on (16,) float32, summed, then the gradient with respect to the input."""
    if impl == "numpy":
        data = randn(np.random.default_rng(0), 16)
        run(benchmark, lambda: np_chain_step(data))
        return
    run(benchmark, chain_step(impl))


# ---- training steps of whole models ----------------------------------------------------------------
def lenet(tnn):
    """LeNet as issue 13 states it: 5x5 conv 32, pool, 5x5 conv 64, pool, fc 1024, fc 10 on 28x28."""
    return tnn.Sequential(tnn.Conv2d(1, 32, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(32, 64, 5), tnn.ReLU(),
                          tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(64 * 4 * 4, 1024), tnn.ReLU(),
                          tnn.Linear(1024, 10))


def gpt(tnn, tF, vocab=65, d=256, heads=4, layers=2, context=128):
    """A nanoGPT-style decoder: token and position embeddings, pre-LN blocks (exact GELU), LN, head."""

    class GPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = tnn.Embedding(vocab, d), tnn.Embedding(context, d)
            self.blocks = tnn.Sequential(*[decoder_block(tnn, tF, d, heads) for _ in range(layers)])
            self.ln, self.head = tnn.LayerNorm(d), tnn.Linear(d, vocab)

        def forward(self, idx):  # logits of every position, (batch * time, vocab)
            positions = self.pos.weight[: idx.shape[1]]
            return self.head(self.ln(self.blocks(self.tok(idx) + positions))).reshape(-1, vocab)

    return GPT()


def _model_step(impl, build, x, target, optimizer, numpy_step):
    """One training step of ``build(nn)`` in ``impl`` (``numpy_step``: the hand-written NumPy factory), from the
    lucid model's initial weights."""
    lucid.manual_seed(0)
    step, _ = _training_case(impl, build(nn), build, x, target, numpy_step, optimizer, np.float32)
    return step


def lenet_step(impl):
    """LeNet, batch 64, cross-entropy, Adam(lr=1e-3)."""
    rng = np.random.default_rng(0)
    return _model_step(impl, lenet, randn(rng, 64, 1, 28, 28), rng.integers(0, 10, 64),
                       lambda optim, params: optim.Adam(params, lr=LENET_LR), np_lenet_step_factory)


def resnet18_step(impl):
    """ResNet-18 (CIFAR variant), batch 32 at 32x32, cross-entropy, SGD(lr=0.01, momentum=0.9)."""
    rng = np.random.default_rng(0)
    return _model_step(impl, resnet18, randn(rng, 32, 3, 32, 32), rng.integers(0, 10, 32),
                       lambda optim, params: optim.SGD(params, lr=RESNET18_LR, momentum=RESNET18_MOMENTUM),
                       np_resnet18_step_factory)


def gpt_step(impl):
    """A 2-layer nanoGPT-style decoder (d 256, 4 heads, exact GELU), T 128, batch 8, AdamW(lr=3e-4)."""
    rng = np.random.default_rng(0)
    idx, target = rng.integers(0, 65, (8, 128)), rng.integers(0, 65, 8 * 128)
    return _model_step(impl, lambda tnn: gpt(tnn, tnn.functional), idx, target,
                       lambda optim, params: optim.AdamW(params, lr=GPT_LR), np_gpt_step_factory)


def test_lenet_adam_step(benchmark, run, impl):
    run(benchmark, lenet_step(impl), rounds=10, **PEDANTIC)


def test_resnet18_sgd_step(benchmark, run, impl):
    run(benchmark, resnet18_step(impl), rounds=5, **PEDANTIC)


def test_gpt_adamw_step(benchmark, run, impl):
    run(benchmark, gpt_step(impl), rounds=5, **PEDANTIC)


# ---- peak memory of a ResNet-18 step ------------------------------------------------------------------
_MEMORY_PROBE = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, {bench!r})
    from test_gpu import resnet18
    impl = sys.argv[1]
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 3, 32, 32), dtype=np.float32), rng.integers(0, 10, 32)
    if impl == "numpy":  # the lucid model's initial weights, then the hand-written step
        import lucid.nn as tnn
        from np_convnets import np_resnet18_step_factory
        step = np_resnet18_step_factory([p.detach().numpy().copy() for p in resnet18(tnn).parameters()], x, y)
    else:
        if impl == "lucid":
            import lucid as lib, lucid.nn as tnn, lucid.optim as optim
            from lucid.nn.functional import cross_entropy
        else:
            import torch as lib, torch.nn as tnn, torch.optim as optim
            from torch.nn.functional import cross_entropy
            lib.set_num_threads(1)
        x, y = lib.tensor(x), lib.tensor(y)
        model = resnet18(tnn)
        opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        def step():
            opt.zero_grad()
            cross_entropy(model(x), y).backward()
            opt.step()
    def peak_kib():  # this process's own high-water mark (ru_maxrss would include the parent's, kept across exec)
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    before = peak_kib()  # model, data and the library loaded
    step()
    step()
    print(peak_kib() - before)
""")


def test_resnet18_peak_memory(impl):
    """How much two ResNet-18 steps (batch 32) raise the process's peak resident memory above what
    the loaded library, the model and the batch hold (the momentum buffers count: the same for all)."""
    if not os.path.exists("/proc/self/status"):
        pytest.skip("reads the peak resident set from Linux's /proc/self/status")
    if impl == "torch":
        pytest.importorskip("torch")
    probe = _MEMORY_PROBE.format(bench=os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", probe, impl], capture_output=True, text=True, env=env, check=True)
    record_memory("resnet18 step: peak RSS growth", impl, int(out.stdout.strip().splitlines()[-1]) * 1024)
