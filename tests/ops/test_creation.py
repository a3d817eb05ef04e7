"""Factories and random tensors."""

from __future__ import annotations

import numpy as np
import pytest

import lucid


def test_constant_factories(device):
    assert lucid.zeros(2, 3, device=device).tolist() == [[0.0] * 3] * 2
    assert lucid.ones((2,), dtype=lucid.int32, device=device).dtype == lucid.int32
    assert lucid.full((2, 2), 7, device=device).dtype == lucid.int64
    assert lucid.full((2,), 1.5, device=device).tolist() == [1.5, 1.5]
    assert lucid.empty(3, device=device).shape == (3,)
    np.testing.assert_array_equal(lucid.eye(3, device=device).numpy(force=True), np.eye(3))
    assert lucid.eye(2, 3, device=device).shape == (2, 3)
    x = lucid.ones(2, 3, dtype=lucid.float64, device=device)
    for fn in (lucid.zeros_like, lucid.ones_like, lucid.empty_like, lucid.rand_like, lucid.randn_like):
        y = fn(x)
        assert y.shape == (2, 3) and y.dtype == lucid.float64 and y.device == device
    assert lucid.full_like(x, 3.0).tolist() == [[3.0] * 3] * 2
    assert lucid.zeros(2, device=device, requires_grad=True).requires_grad


def test_ranges(device):
    assert lucid.arange(5, device=device).tolist() == [0, 1, 2, 3, 4]
    assert lucid.arange(5, device=device).dtype == lucid.int64
    assert lucid.arange(0, 1, 0.25, device=device).dtype == lucid.float32
    np.testing.assert_allclose(lucid.arange(1, 2, 0.25, device=device).numpy(force=True), [1, 1.25, 1.5, 1.75])
    np.testing.assert_allclose(lucid.linspace(0, 1, 5, device=device).numpy(force=True), np.linspace(0, 1, 5))


def test_random_distributions(device):
    lucid.manual_seed(0)
    u = lucid.rand(4000, device=device).numpy(force=True)
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.03
    n = lucid.randn(4000, dtype=lucid.float64, device=device).numpy(force=True)
    assert abs(n.mean()) < 0.1 and abs(n.std() - 1) < 0.1
    g = lucid.normal(3.0, 2.0, (4000,), device=device).numpy(force=True)
    assert abs(g.mean() - 3) < 0.2 and abs(g.std() - 2) < 0.2
    v = lucid.uniform(-2.0, -1.0, (1000,), device=device).numpy(force=True)
    assert -2 <= v.min() and v.max() < -1
    r = lucid.randint(3, 7, (1000,), device=device)
    assert r.dtype == lucid.int64 and set(r.tolist()) == {3, 4, 5, 6}
    assert sorted(lucid.randperm(10, device=device).tolist()) == list(range(10))


def test_random_argument_errors():
    with pytest.raises(ValueError, match="low < high"):
        lucid.randint(5, 5, (2,))
    with pytest.raises(ValueError, match="std"):
        lucid.normal(0.0, -1.0, (2,))
    with pytest.raises(TypeError, match="floating"):
        lucid.randn(2, dtype=lucid.int64)
