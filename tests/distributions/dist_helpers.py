"""Shared by the tests of lucid.distributions: building the same distribution in lucid and in torch from
NumPy parameters, and comparing values and gradients."""

from __future__ import annotations

import numpy as np

import lucid


def lucid_params(arrays, device, dtype=lucid.float64, requires_grad=True):
    """Lucid leaf tensors of ``arrays`` (floating ones require grad, integer ones keep int64)."""
    out = []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind in "iub":
            out.append(lucid.tensor(a, dtype=lucid.int64, device=device))
        else:
            out.append(lucid.tensor(a, dtype=dtype, device=device, requires_grad=requires_grad))
    return out


def torch_params(torch, arrays, dtype=None, requires_grad=True):
    dtype = dtype or torch.float64
    out = []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind in "iub":
            out.append(torch.tensor(a, dtype=torch.int64))
        else:
            out.append(torch.tensor(a, dtype=dtype, requires_grad=requires_grad))
    return out


def host(t) -> np.ndarray:
    return t.detach().numpy(force=True) if isinstance(t, lucid.Tensor) else t.detach().numpy()


def compare(torch, ours, theirs, arrays, device, rtol=1e-10, atol=1e-12, seed=0):
    """``ours(lucid_params)`` against ``theirs(torch_params)``: equal values (NaN where torch has NaN) and
    equal gradients of ``sum(out * w)`` for random weights ``w`` with respect to every floating parameter."""
    lp, tp = lucid_params(arrays, device), torch_params(torch, arrays)
    got, want = ours(*lp), theirs(*tp)
    assert tuple(got.shape) == tuple(want.shape), (got.shape, want.shape)
    assert got.device == lucid.device(device)
    np.testing.assert_allclose(host(got), host(want), rtol=rtol, atol=atol, equal_nan=True)
    if not want.requires_grad:
        return
    w = np.random.default_rng(seed).standard_normal(tuple(want.shape))
    want_grads = torch.autograd.grad((want * torch.tensor(w)).sum(), [t for t in tp if t.requires_grad],
                                     allow_unused=True)
    assert got.requires_grad
    got_grads = lucid.autograd.grad((got * lucid.tensor(w, device=device)).sum(), [t for t in lp if t.requires_grad],
                                    allow_unused=True)
    for i, (g, h) in enumerate(zip(got_grads, want_grads)):
        if h is None:
            assert g is None or not np.any(host(g)), f"parameter {i}: torch has no gradient, lucid has one"
            continue
        assert g is not None, f"parameter {i}: lucid has no gradient"
        assert g.device == lucid.device(device)
        np.testing.assert_allclose(host(g), host(h), rtol=rtol * 100, atol=atol * 100, equal_nan=True,
                                   err_msg=f"gradient of parameter {i}")


def moments_close(x, mean, var, what, sigmas=6):
    """``x`` (N draws along axis 0) has mean ``mean`` and variance ``var`` to ``sigmas`` standard errors of the
    estimates (the standard error of the variance from the sample's fourth central moment)."""
    m, v = x.mean(0), x.var(0)
    se_mean = np.sqrt(var / len(x))
    fourth = ((x - m) ** 4).mean(0)
    se_var = np.sqrt(np.maximum(fourth - v**2, 0) / len(x))
    assert np.all(np.abs(m - mean) <= sigmas * se_mean + 1e-12), (what, m, mean)
    assert np.all(np.abs(v - var) <= sigmas * se_var + 1e-12), (what, v, var)
