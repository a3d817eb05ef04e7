"""lucid.nn.utils.parametrize and .parametrizations (weight_norm, spectral_norm): state-dict keys,
values and gradients against PyTorch with the same weights, right_inverse, caching, removal."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from test_attention import compare_with_torch, host, load_torch, make

import lucid
import lucid.nn as nn
from lucid.nn.utils import parametrizations as PZ
from lucid.nn.utils import parametrize as P


class Symmetric(nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).mT

    def right_inverse(self, a):
        return a.triu()


class Double(nn.Module):  # no right_inverse
    def forward(self, x):
        return 2 * x


def test_register_parametrization_property_state_dict_and_gradients(device, rng):
    layer = nn.Linear(4, 4, device=device, dtype=lucid.float64)
    weight = layer.weight
    P.register_parametrization(layer, "weight", Symmetric())
    assert type(layer).__name__ == "ParametrizedLinear" and isinstance(layer, nn.Linear)
    assert P.type_before_parametrizations(layer) is nn.Linear
    assert P.is_parametrized(layer) and P.is_parametrized(layer, "weight") and not P.is_parametrized(layer, "bias")
    assert layer.parametrizations.weight.original is weight  # the same Parameter: optimizers keep it
    assert list(layer.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert "weight" not in dict(layer.named_parameters())
    w = host(layer.weight)
    np.testing.assert_array_equal(w, w.T)
    x = make(rng.standard_normal((3, 4)), device)
    layer(x).sum().backward()
    expected = np.ones((3, 4)).T @ host(x)  # dL/dW, folded onto the upper triangle by the parametrization
    np.testing.assert_allclose(host(weight.grad), np.triu(expected) + np.triu(expected.T, 1), rtol=1e-12)
    assert not P.is_parametrized(nn.Linear(2, 2))


def test_assignment_goes_through_right_inverse_and_chains(device):
    layer = nn.Linear(3, 3, device=device, dtype=lucid.float64)
    P.register_parametrization(layer, "weight", Symmetric())
    target = lucid.tensor([[1.0, 2, 3], [2, 4, 5], [3, 5, 6]], dtype=lucid.float64, device=device)
    layer.weight = target
    np.testing.assert_array_equal(host(layer.parametrizations.weight.original), np.triu(host(target)))
    np.testing.assert_array_equal(host(layer.weight), host(target))
    P.register_parametrization(layer, "weight", Double())
    np.testing.assert_array_equal(host(layer.weight), 2 * host(target))
    with pytest.raises(RuntimeError, match="Double does not implement right_inverse"):
        layer.weight = target


def test_remove_parametrizations_keeps_value_or_original(device):
    for leave in (True, False):
        layer = nn.Linear(3, 3, device=device, dtype=lucid.float64)
        original = layer.weight
        before = host(original).copy()
        P.register_parametrization(layer, "weight", Double())
        P.remove_parametrizations(layer, "weight", leave_parametrized=leave)
        assert type(layer) is nn.Linear and not hasattr(layer, "parametrizations")
        assert layer.weight is original and list(layer.state_dict()) == ["bias", "weight"]  # as torch: re-added last
        np.testing.assert_array_equal(host(layer.weight), 2 * before if leave else before)
    with pytest.raises(ValueError, match="no parametrization"):
        P.remove_parametrizations(layer, "weight")


def test_cached_computes_once(device):
    calls = []

    class Counting(nn.Module):
        def forward(self, x):
            calls.append(1)
            return x + 1

    layer = nn.Linear(2, 2, device=device)
    P.register_parametrization(layer, "weight", Counting())
    calls.clear()
    with P.cached():
        first = layer.weight
        assert layer.weight is first
    assert len(calls) == 1
    assert layer.weight is not first and len(calls) == 2


def test_register_errors_leave_module_unchanged(device):
    layer = nn.Linear(2, 3, device=device)

    class Shrink(nn.Module):
        def forward(self, x):
            return x[:1]

    with pytest.raises(ValueError, match="keep the tensor's shape"):
        P.register_parametrization(layer, "weight", Shrink())
    with pytest.raises(ValueError, match="no parameter, buffer"):
        P.register_parametrization(layer, "nothing", Double())

    class HalfShrink(Shrink):  # right_inverse runs, then the shape check fails: the original stays as it was
        def right_inverse(self, x):
            return x * 0

    before = host(layer.weight).copy()
    with pytest.raises(ValueError, match="keep the tensor's shape"):
        P.register_parametrization(layer, "weight", HalfShrink())
    np.testing.assert_array_equal(host(layer.weight), before)
    assert type(layer) is nn.Linear and list(layer.state_dict()) == ["weight", "bias"]
    P.register_parametrization(layer, "weight", Shrink(), unsafe=True)
    assert layer.weight.shape == (1, 2)


def test_deepcopy_and_to(device):
    layer = PZ.weight_norm(nn.Linear(2, 3))
    clone = copy.deepcopy(layer).to(device)
    np.testing.assert_allclose(host(clone.weight), host(layer.weight), rtol=1e-6)
    assert clone.parametrizations.weight.original0.device == lucid.device(device)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(device, rng, dim):
    torch = pytest.importorskip("torch")
    ours = PZ.weight_norm(nn.Conv1d(2, 3, 2), dim=dim)
    theirs = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(2, 3, 2), dim=dim)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    load_torch(ours, theirs, device)
    x = rng.standard_normal((2, 2, 5))
    compare_with_torch(torch, ours, theirs, [make(x, device, grad=True)], [torch.tensor(x, requires_grad=True)], rng)
    P.remove_parametrizations(ours, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
    np.testing.assert_allclose(host(ours.weight), theirs.weight.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("kind", ["Linear", "ConvTranspose2d"])
def test_spectral_norm_matches_torch(device, rng, kind):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)  # torch's initial weights: a few power iterations from them estimate sigma within 10%
    args = (3, 4) if kind == "Linear" else (2, 3, 2)
    ours, theirs = PZ.spectral_norm(getattr(nn, kind)(*args)), torch.nn.utils.parametrizations.spectral_norm(
        getattr(torch.nn, kind)(*args))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    load_torch(ours, theirs, device)
    x = rng.standard_normal((2, 3) if kind == "Linear" else (1, 2, 3, 3))
    for _ in range(2):  # training mode: the power iteration advances _u and _v each forward, as torch's
        compare_with_torch(torch, ours, theirs, [make(x, device, grad=True)], [torch.tensor(x, requires_grad=True)],
                           rng)
    np.testing.assert_allclose(host(ours.parametrizations.weight[0]._u),
                               theirs.parametrizations.weight[0]._u.numpy(), rtol=1e-10)
    w = np.moveaxis(host(ours.weight), 0 if kind == "Linear" else 1, 0)  # ConvTranspose: output dim 1
    assert 0.9 < np.linalg.svd(w.reshape(w.shape[0], -1), compute_uv=False).max() < 1.1
    with pytest.raises(ValueError, match="n_power_iterations"):
        PZ.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
