"""Convolutions on one CPU core (issue 13): conv2d forward + backward (input and weight
gradients) at the shapes of a CIFAR ResNet-18 (batch 32) and of LeNet's 5x5 convolutions
(batch 64), and a 3-D transposed convolution's 2x upsampling, as lucid, hand-written NumPy
(im2col from a strided view, one GEMM per face, col2im by strided adds) and PyTorch (oneDNN);
plus the peak memory of one ResNet-18 forward + backward at batch 8.

Run on one thread, as the figures in the issue::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m pytest bench/test_conv.py --benchmark-only -q

The memory case counts the bytes allocated at the peak of one step: tracemalloc for lucid (NumPy
reports its buffers to it), the profiler's memory events for torch; the figures are printed
(run with ``-s``) and kept in the benchmark's ``extra_info``.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import lucid
import lucid.nn.functional as F

PEDANTIC = dict(iterations=1, warmup_rounds=1)

# id: (batch, in channels, size, kernel, out channels, stride, padding, rounds)
SHAPES = {
    "resnet_64x32": (32, 64, 32, 3, 64, 1, 1, 6),
    "resnet_128x16": (32, 128, 16, 3, 128, 1, 1, 6),
    "resnet_256x8": (32, 256, 8, 3, 256, 1, 1, 6),
    "resnet_512x4": (32, 512, 4, 3, 512, 1, 1, 6),
    "resnet_down_3x3_s2": (32, 64, 32, 3, 128, 2, 1, 6),
    "resnet_down_1x1_s2": (32, 64, 32, 1, 128, 2, 0, 10),
    "first_layer_3x64_5x5": (16, 3, 64, 5, 64, 1, 2, 6),  # an input gradient through few channels
    "lenet_conv1": (64, 1, 28, 5, 32, 1, 2, 10),
    "lenet_conv2": (64, 32, 14, 5, 64, 1, 2, 10),
    "lenet_workload_conv2": (64, 32, 12, 5, 64, 1, 0, 10),  # bench/test_workloads.py's LeNet: no padding
}


def np_conv2d_step(x, w, gy, stride, padding):
    """Forward and backward by hand: columns ``(C*k*k, N*L)`` copied once from a strided view,
    one GEMM per face, the input gradient by ``k*k`` strided adds into a padded buffer."""
    n, c, h, _ = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(xp, (k, k), (2, 3))[:, :, ::stride, ::stride]  # (N, C, Ho, Wo, k, k)
    ho, wo = win.shape[2:4]
    cols = np.ascontiguousarray(win.transpose(1, 4, 5, 0, 2, 3)).reshape(c * k * k, -1)
    wm = w.reshape(o, -1)
    y = (wm @ cols).reshape(o, n, ho, wo).transpose(1, 0, 2, 3)
    g = np.ascontiguousarray(gy.transpose(1, 0, 2, 3)).reshape(o, -1)
    gw = (g @ cols.T).reshape(w.shape)
    dcols = (wm.T @ g).reshape(c, k, k, n, ho, wo)
    gx = np.zeros((c, n) + xp.shape[2:], x.dtype)
    for i in range(k):
        for j in range(k):
            gx[:, :, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride] += dcols[:, i, j]
    return y, gx[:, :, padding:padding + h, padding:padding + h].transpose(1, 0, 2, 3), gw


def _forward_backward(conv, tx, tw, tg, stride, padding):
    """One timed step: ``conv`` forward, backward of ``tg``; the output and both gradients."""

    def step():
        tx.grad = tw.grad = None
        y = conv(tx, tw, stride=stride, padding=padding)
        y.backward(tg)
        return y, tx.grad, tw.grad

    return step


def _conv_case(impl, n, c, size, k, o, stride, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, size, size), dtype=np.float32)
    w = rng.standard_normal((o, c, k, k), dtype=np.float32) / float(np.sqrt(c * k * k))
    out = (size + 2 * padding - k) // stride + 1
    gy = rng.standard_normal((n, o, out, out), dtype=np.float32)
    if impl == "numpy":
        return lambda: np_conv2d_step(x, w, gy, stride, padding)
    if impl == "lucid":
        tx, tw, tg, conv = lucid.tensor(x, requires_grad=True), lucid.tensor(w, requires_grad=True), \
            lucid.tensor(gy), F.conv2d
    else:
        import torch

        tx, tw, tg = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True), torch.from_numpy(gy)
        conv = torch.nn.functional.conv2d

    return _forward_backward(conv, tx, tw, tg, stride, padding)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_conv2d_forward_backward(benchmark, run, impl, shape):
    *args, rounds = SHAPES[shape]
    run(benchmark, _conv_case(impl, *args), rounds=rounds, **PEDANTIC)


def test_numpy_matches_lucid():
    """Guard (not timed): the hand-written NumPy step and lucid's agree (stride 1 and 2, 1x1)."""
    for args in ((2, 3, 7, 3, 4, 1, 1), (2, 4, 8, 3, 5, 2, 1), (2, 4, 8, 1, 6, 2, 0)):
        for a, b in zip(_conv_case("numpy", *args)(), _conv_case("lucid", *args)()):
            np.testing.assert_allclose(b.detach().numpy(), a,
                                       rtol=1e-4, atol=1e-4)


# ---- 3-D transposed convolution (a 3-D U-Net's or a video decoder's 2x upsampling) ---------------
# id: (batch, in channels, (depth, height, width), kernel, out channels, stride, padding, rounds)
SHAPES_3D = {"upsample_16x8x16x16": (4, 16, (8, 16, 16), 4, 16, 2, 1, 10)}


def np_conv_transpose3d_step(x, w, gy, stride, padding):
    """Forward and backward by hand, batch innermost: the forward is columns ``W^T x`` ``(O*k^3, L*N)`` added back
    by ``k^3`` strided adds (col2im); the input gradient the strided convolution of ``gy`` (im2col from a strided
    view, one GEMM), the weight gradient ``x`` times those columns."""
    n, c = x.shape[:2]
    o, k = w.shape[1], w.shape[2]
    size = x.shape[2:]
    full = tuple((m - 1) * stride + k for m in size)
    xl = np.ascontiguousarray(x.transpose(1, 2, 3, 4, 0)).reshape(c, -1)  # (C, L*N)
    wm = w.reshape(c, o * k ** 3)
    cols = (wm.T @ xl).reshape((o, k, k, k) + size + (n,))
    y = np.zeros((o,) + full + (n,), x.dtype)
    for i, j, m in np.ndindex(k, k, k):
        y[:, i:i + stride * (size[0] - 1) + 1:stride, j:j + stride * (size[1] - 1) + 1:stride,
          m:m + stride * (size[2] - 1) + 1:stride] += cols[:, i, j, m]
    crop = tuple(slice(padding, f - padding) for f in full)
    y = y[(slice(None),) + crop].transpose(4, 0, 1, 2, 3)
    gp = np.zeros((o,) + full + (n,), x.dtype)
    gp[(slice(None),) + crop] = gy.transpose(1, 2, 3, 4, 0)
    win = sliding_window_view(gp, (k, k, k), (1, 2, 3))[:, ::stride, ::stride, ::stride]  # (O, *size, N, k, k, k)
    gcols = np.ascontiguousarray(win.transpose(0, 5, 6, 7, 1, 2, 3, 4)).reshape(o * k ** 3, -1)
    gx = (wm @ gcols).reshape((c,) + size + (n,)).transpose(4, 0, 1, 2, 3)
    gw = (xl @ gcols.T).reshape(w.shape)
    return y, gx, gw


def _conv_transpose3d_case(impl, n, c, size, k, o, stride, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c) + size, dtype=np.float32)
    w = rng.standard_normal((c, o, k, k, k), dtype=np.float32) / float(np.sqrt(c * k ** 3))
    gy = rng.standard_normal((n, o) + tuple((m - 1) * stride - 2 * padding + k for m in size), dtype=np.float32)
    if impl == "numpy":
        return lambda: np_conv_transpose3d_step(x, w, gy, stride, padding)
    lib = lucid if impl == "lucid" else pytest.importorskip("torch")
    tx, tw, tg = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True), lib.tensor(gy)
    conv = (F if impl == "lucid" else lib.nn.functional).conv_transpose3d

    return _forward_backward(conv, tx, tw, tg, stride, padding)


@pytest.mark.parametrize("shape", list(SHAPES_3D))
def test_conv_transpose3d_forward_backward(benchmark, run, impl, shape):
    *args, rounds = SHAPES_3D[shape]
    run(benchmark, _conv_transpose3d_case(impl, *args), rounds=rounds, **PEDANTIC)


def test_numpy_matches_lucid_conv_transpose3d():
    """Guard (not timed): the hand-written NumPy 3-D transposed convolution and lucid's agree."""
    for args in ((2, 3, (2, 3, 4), 4, 5, 2, 1), (3, 2, (3, 2, 2), 3, 4, 2, 0)):
        for a, b in zip(_conv_transpose3d_case("numpy", *args)(), _conv_transpose3d_case("lucid", *args)()):
            np.testing.assert_allclose(b.detach().numpy(), a, rtol=1e-4, atol=1e-4)


# ---- peak memory of a ResNet-18 forward + backward -------------------------------------------
def _torch_peak(step) -> int:
    """The peak of torch's CPU allocations over ``step()``, from the profiler's memory events
    (tracemalloc does not see torch's allocator)."""
    import tempfile

    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace.json")
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f)["traceEvents"]
    now = peak = 0
    for _, size in sorted((e["ts"], e["args"]["Bytes"]) for e in events if e.get("name") == "[memory]"):
        now += size
        peak = max(peak, now)
    return peak


def resnet18_step_peak(impl: str, batch: int = 8) -> int:
    """Bytes allocated at the peak of one ResNet-18 (CIFAR) forward + backward, counted from the
    step's start (after a warm-up step; ``zero_grad`` drops the gradients, so they count too):
    tracemalloc for lucid, the profiler's memory events for torch."""
    import gc
    import tracemalloc

    from test_gpu import resnet18

    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((batch, 3, 32, 32), dtype=np.float32), rng.integers(0, 10, batch)
    if impl == "torch":
        import torch

        lib = torch
    else:
        lib = lucid
    model = resnet18(lib.nn)
    tx, ty = lib.tensor(x), lib.tensor(labels)

    def step():
        model.zero_grad()
        lib.nn.functional.cross_entropy(model(tx), ty).backward()

    step()
    gc.collect()
    if impl == "torch":
        return _torch_peak(step)
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_resnet18_peak_memory(benchmark, run, impl):
    """Peak memory of a ResNet-18 (CIFAR) forward + backward at batch 8 (printed, and kept in
    ``extra_info``; the time is that of the measured step)."""
    if impl == "numpy":
        pytest.skip("no hand-written NumPy ResNet-18")
    peak = []
    run(benchmark, lambda: peak.append(resnet18_step_peak(impl)), rounds=1, iterations=1)
    benchmark.extra_info["peak_bytes"] = peak[-1]
    sys.stdout.write(f"\nresnet18 b8 forward+backward peak memory [{impl}]: {peak[-1] / 2**20:.1f} MiB\n")
