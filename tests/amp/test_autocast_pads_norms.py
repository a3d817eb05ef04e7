"""Autocast of pads and normalizations as PyTorch's policy tables: on the CPU its reflection_pad1d/2d and
replication_pad1d/2d/3d run in float32 (checked against ``torch.autocast("cpu")``); on CUDA (the table every
non-CPU device type follows, here array-api-strict's devices) layer, group and RMS norm run in float32 while
batch and instance norm, like every pad, keep their input's dtype."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F
from lucid import amp

torch = pytest.importorskip("torch")

PAD_SHAPES = {1: (2, 3, 5), 2: (1, 2, 4, 5), 3: (1, 2, 3, 4, 5)}
PAD_CASES = [(mode, dims) for mode in ("constant", "reflect", "replicate", "circular") for dims in (1, 2, 3)]
NORMS = {
    "batch_norm": lambda m, x, w: m.batch_norm(x, None, None, w, None, training=True),
    "instance_norm": lambda m, x, w: m.instance_norm(x, weight=w),
    "layer_norm": lambda m, x, w: m.layer_norm(x, (5,)),
    "group_norm": lambda m, x, w: m.group_norm(x, 2, w),
    "rms_norm": lambda m, x, w: m.rms_norm(x, (5,)),
}


def _bf16(m, a):
    return m.tensor(a).to(m.bfloat16)


@pytest.mark.parametrize("mode, dims", PAD_CASES)
def test_cpu_pad_dtype_and_values_match_torch(mode, dims):
    a = np.random.default_rng(dims).standard_normal(PAD_SHAPES[dims]).astype(np.float32)
    pad = (1, 2) * dims
    with torch.autocast("cpu"):
        ref = torch.nn.functional.pad(_bf16(torch, a), pad, mode=mode)
    with amp.autocast("cpu"):
        got = F.pad(_bf16(lucid, a), pad, mode=mode)
    assert got.dtype.name == str(ref.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.float().numpy(), ref.float().numpy())


@pytest.mark.parametrize("name", list(NORMS))
def test_cpu_norms_keep_bfloat16_as_torch(name):
    a = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)
    w = np.linspace(0.5, 1.5, 4, dtype=np.float32)
    with torch.autocast("cpu"):
        ref = NORMS[name](torch.nn.functional, _bf16(torch, a), torch.tensor(w))
    with amp.autocast("cpu"):
        got = NORMS[name](F, _bf16(lucid, a), lucid.tensor(w))
    assert got.dtype.name == str(ref.dtype).split(".")[-1] == "bfloat16"
    np.testing.assert_allclose(got.float().numpy(), ref.float().numpy(), rtol=3e-2, atol=3e-2)


# ---- the CUDA table, on a non-CPU device type ----------------------------------------------------------
CUDA_NORM_DTYPES = {"batch_norm": "float16", "instance_norm": "float16", "layer_norm": "float32",
                    "group_norm": "float32", "rms_norm": "float32"}


def _cuda_table_device(device):
    if device.type == "cpu":
        pytest.skip("the CPU follows the CPU table; the CUDA table is checked on the other device types")
    if not device.backend.supports(lucid.float16):
        pytest.skip(f"the {device.backend.name} backend has no float16")


@pytest.mark.parametrize("name", list(NORMS))
def test_cuda_table_norms(device, name):
    """Float16 input, float32 weight (a conv's output into a BatchNorm under autocast): batch and instance norm
    stay float16 as PyTorch's CUDA autocast (which lists neither), the others are raised to float32."""
    _cuda_table_device(device)
    a = np.random.default_rng(1).standard_normal((3, 4, 5)).astype(np.float32)
    x = lucid.tensor(a, device=device).to(lucid.float16)
    w = lucid.linspace(0.5, 1.5, 4, device=device)
    with amp.autocast(device.type):
        got = NORMS[name](F, x, w)
    assert got.dtype.name == CUDA_NORM_DTYPES[name]
    ref = NORMS[name](torch.nn.functional, torch.tensor(a), torch.linspace(0.5, 1.5, 4)).numpy()
    np.testing.assert_allclose(got.float().numpy(force=True), ref, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("mode, dims", PAD_CASES)
def test_cuda_table_casts_no_pad(device, mode, dims):
    _cuda_table_device(device)
    x = lucid.ones(*PAD_SHAPES[dims], device=device).to(lucid.float16)
    with amp.autocast(device.type):
        assert F.pad(x, (1, 1) * dims, mode=mode).dtype is lucid.float16
