"""Per-op overhead: a chain of small elementwise ops, forward and forward+backward, against
the same arithmetic written by hand in NumPy (and PyTorch eager on the CPU)."""

from __future__ import annotations

import numpy as np
import pytest

import lucid

SIZES = {"tiny": (4, 4), "small": (64, 64)}


def _data(shape):
    rng = np.random.default_rng(0)
    return rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("size", list(SIZES))
def test_chain_forward(benchmark, run, impl, size):
    """tanh(a * b + a) * 2: four elementwise ops, no autograd recording."""
    a, b = _data(SIZES[size])
    if impl == "numpy":
        fn = lambda: np.tanh(a * b + a) * 2.0
    elif impl == "lucid":
        ta, tb = lucid.tensor(a), lucid.tensor(b)
        fn = lambda: (ta * tb + ta).tanh() * 2.0
    else:
        import torch

        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        fn = lambda: torch.tanh(ta * tb + ta) * 2.0
    run(benchmark, fn)


@pytest.mark.parametrize("size", list(SIZES))
def test_chain_forward_backward(benchmark, run, impl, size):
    """The same chain summed, then the gradient with respect to ``a``."""
    a, b = _data(SIZES[size])
    if impl == "numpy":
        def fn():
            s = a * b + a
            t = np.tanh(s)
            (t * 2.0).sum()
            gs = 2.0 * (1.0 - t * t)
            return gs * b + gs
    elif impl == "lucid":
        ta, tb = lucid.tensor(a, requires_grad=True), lucid.tensor(b)

        def fn():
            ta.grad = None
            ((ta * tb + ta).tanh() * 2.0).sum().backward()
    else:
        import torch

        ta, tb = torch.tensor(a, requires_grad=True), torch.from_numpy(b)

        def fn():
            ta.grad = None
            (torch.tanh(ta * tb + ta) * 2.0).sum().backward()
    run(benchmark, fn)


def test_matmul_2048(benchmark, run, impl):
    """A 2048x2048 float32 matmul: lucid should add nothing to the BLAS call."""
    a, b = _data((2048, 2048))
    if impl == "numpy":
        fn = lambda: a @ b
    elif impl == "lucid":
        ta, tb = lucid.tensor(a), lucid.tensor(b)
        fn = lambda: ta @ tb
    else:
        import torch

        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        fn = lambda: ta @ tb
    run(benchmark, fn, rounds=10, iterations=1, warmup_rounds=1)
