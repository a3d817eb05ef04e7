"""Differences from PyTorch found by comparing the Transformer stack, multi-head attention, ``nn.init`` and
miscellaneous functionals with it, each pinned by a test: integer attention masks (rejected, not added to the
scores), ``rrelu``'s training-mode gradient at 0, ``trunc_normal_`` of an empty tensor, and ``pdist`` with
``p=inf`` (tied coordinates, no columns) or a negative ``p`` with fewer than two rows."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lucid
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.autograd import gradcheck


def make(arr, device, grad=False):
    arr = np.asarray(arr)
    return lucid.tensor(arr, dtype=lucid.float64 if arr.dtype.kind == "f" else None, device=device,
                        requires_grad=grad)


def host(t):
    return t.detach().numpy(force=True)


# ---- multi-head attention: masks must be bool or floating ------------------------------------------------
@pytest.mark.parametrize("which", ["attn_mask", "key_padding_mask"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int64])
def test_mha_integer_mask_rejected(device, rng, which, dtype):
    """An integer mask used to be added to the scores as numbers (a uint8 ``1 = masked`` mask of old PyTorch
    then silently attends); PyTorch rejects it, and so does lucid, in the module and in the function."""
    torch = pytest.importorskip("torch")
    mha = nn.MultiheadAttention(4, 2, device=device, dtype=lucid.float64)
    x = make(rng.standard_normal((3, 2, 4)), device)
    mask = np.eye(3, dtype=dtype) if which == "attn_mask" else np.ones((2, 3), dtype=dtype)
    with pytest.raises(TypeError, match=which):
        mha(x, x, x, **{which: make(mask, device)})
    with pytest.raises(TypeError, match=which):
        F.multi_head_attention_forward(x, x, x, 4, 2, mha.in_proj_weight, mha.in_proj_bias, None, None, False, 0.0,
                                       mha.out_proj.weight, mha.out_proj.bias, **{which: make(mask, device)})
    theirs = torch.nn.MultiheadAttention(4, 2).double()
    tx = torch.tensor(rng.standard_normal((3, 2, 4)))
    with pytest.raises(AssertionError):  # PyTorch's own check
        theirs(tx, tx, tx, **{which: torch.tensor(mask)})


def test_mha_bool_and_float_masks_still_work_gradcheck(device, rng):
    mha = nn.MultiheadAttention(4, 2, device=device, dtype=lucid.float64)
    x = make(rng.standard_normal((3, 2, 4)), device, grad=True)
    keep = make(np.array([[False, False, True], [False, False, False]]), device)
    bias = make(rng.standard_normal((3, 3)), device)
    assert gradcheck(lambda a: mha(a, a, a, key_padding_mask=keep, attn_mask=bias)[0], (x,))


# ---- rrelu in training: an input of exactly 0 takes a random slope -----------------------------------------
def test_rrelu_training_gradient_at_zero(device):
    """PyTorch draws a slope for every ``x <= 0``, so the gradient at 0 is that slope (lucid gave 1)."""
    torch = pytest.importorskip("torch")
    x = np.array([0.0, -1.0, 2.0, 0.0, -0.5])
    ours = make(x, device, grad=True)
    F.rrelu(ours, 0.25, 0.25, training=True).sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    torch.nn.functional.rrelu(theirs, 0.25, 0.25, training=True).sum().backward()
    np.testing.assert_array_equal(host(ours.grad), theirs.grad.numpy())
    np.testing.assert_array_equal(host(ours.grad), [0.25, 0.25, 1.0, 0.25, 0.25])


def test_rrelu_training_gradcheck(device, rng):
    x = make(rng.standard_normal(6) + np.sign(rng.standard_normal(6)) * 0.5, device, grad=True)
    assert gradcheck(lambda a: F.rrelu(a, 0.2, 0.2, training=True), (x,))


# ---- trunc_normal_ of a tensor without elements ------------------------------------------------------------
@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0)])
def test_trunc_normal_empty(device, shape):
    """Used to raise IndexError from the rejection loop; PyTorch returns the tensor as it is."""
    t = lucid.empty(*shape, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nn.init.trunc_normal_(t) is t
    assert t.shape == shape


# ---- pdist: p=inf as cdist's, and p checked without pairs ---------------------------------------------------
def test_pdist_inf_ties_gradient(device):
    """Of two coordinates that both reach the largest gap, each gets the whole gradient (PyTorch's pdist and
    cdist); lucid's pdist shared it between them (0.5 each)."""
    torch = pytest.importorskip("torch")
    a = np.array([[0.0, 0.0], [1.0, -1.0], [2.0, 0.5]])
    ours = make(a, device, grad=True)
    y = lucid.pdist(ours, float("inf"))
    theirs = torch.tensor(a, requires_grad=True)
    ty = torch.nn.functional.pdist(theirs, float("inf"))
    np.testing.assert_allclose(host(y), ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(host(ours.grad), theirs.grad.numpy())
    np.testing.assert_allclose(host(ours.grad), [[-2.0, 1.0], [1.0, -2.0], [1.0, 1.0]])


def test_pdist_inf_without_columns(device):
    """(N, 0) rows are all at distance 0, also for p=inf (lucid raised from vector_norm's empty inf norm)."""
    torch = pytest.importorskip("torch")
    y = lucid.pdist(lucid.zeros(4, 0, dtype=lucid.float64, device=device), float("inf"))
    ty = torch.nn.functional.pdist(torch.zeros(4, 0, dtype=torch.float64), float("inf"))
    np.testing.assert_array_equal(host(y), ty.numpy())
    assert y.shape == (6,)


def test_pdist_inf_gradcheck(device, rng):
    x = make(rng.standard_normal((4, 3)), device, grad=True)
    assert gradcheck(lambda a: lucid.pdist(a, float("inf")), (x,))


@pytest.mark.parametrize("rows", [0, 1])
def test_pdist_negative_p_without_pairs(device, rows):
    """PyTorch checks ``p`` before it finds there is no pair; lucid returned an empty result."""
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.nn.functional.pdist(torch.zeros(rows, 3), -1.0)
    with pytest.raises(RuntimeError, match="non-negative"):
        lucid.pdist(lucid.zeros(rows, 3, device=device), -1.0)
