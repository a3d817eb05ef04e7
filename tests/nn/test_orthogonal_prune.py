"""lucid.nn.utils.parametrizations.orthogonal and lucid.nn.utils.prune against PyTorch built from the same
weights: the parametrized weight, its gradient with respect to the original, right_inverse and the errors;
pruning masks (deterministic ones exactly, random ones by count), iterative pruning, global pruning, removal."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from test_attention import host, make

import lucid
import lucid.nn as nn
from lucid.autograd import gradcheck
from lucid.nn.utils import parametrizations as PZ
from lucid.nn.utils import parametrize as P
from lucid.nn.utils import prune

MAPS = [None, "matrix_exp", "cayley", "householder"]


def _linear_pair(torch, rng, out_features, in_features, device):
    """A float64 torch Linear and a lucid Linear holding the same random weights."""
    theirs = torch.nn.Linear(in_features, out_features).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(rng.standard_normal((out_features, in_features))))
    ours = nn.Linear(in_features, out_features, device=device, dtype=lucid.float64)
    with lucid.no_grad():
        ours.weight.copy_(make(theirs.weight.detach().numpy(), device))
        ours.bias.copy_(make(theirs.bias.detach().numpy(), device))
    return ours, theirs


def _load_from_torch(ours, theirs, device):
    """Copy torch's state (the random completion of ``base`` for non-square weights included) into ours."""
    state = {k: lucid.tensor(v.detach().numpy(), device=device) for k, v in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict())
    ours.load_state_dict(state)


def _assert_orthonormal(w):
    w = host(w)
    gram = w.T @ w if w.shape[-2] >= w.shape[-1] else w @ w.T
    np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=1e-12)


# ---- orthogonal -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("trivial", [True, False])
@pytest.mark.parametrize("orthogonal_map", MAPS)
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (6, 3)], ids=["square", "wide", "tall"])
def test_orthogonal_matches_torch(device, rng, shape, orthogonal_map, trivial):
    torch = pytest.importorskip("torch")
    ours, theirs = _linear_pair(torch, rng, *shape, device)
    PZ.orthogonal(ours, orthogonal_map=orthogonal_map, use_trivialization=trivial)
    torch.nn.utils.parametrizations.orthogonal(theirs, orthogonal_map=orthogonal_map, use_trivialization=trivial)
    expected_map = orthogonal_map or ("matrix_exp" if shape[0] == shape[1] else "householder")
    assert ours.parametrizations.weight[0].orthogonal_map == expected_map
    assert list(ours.state_dict()) == list(theirs.state_dict())
    # the initial weight is torch's (the random completion of a non-square base does not reach it)
    np.testing.assert_allclose(host(ours.weight), theirs.weight.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(host(ours.parametrizations.weight.original),
                               theirs.parametrizations.weight.original.detach().numpy(), atol=1e-12)
    if trivial or expected_map == "householder":
        _assert_orthonormal(ours.weight)
    _load_from_torch(ours, theirs, device)
    x = rng.standard_normal((2, shape[1]))
    g = rng.standard_normal((2, shape[0]))
    (ours(make(x, device)) * make(g, device)).sum().backward()
    (theirs(torch.tensor(x)) * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(host(ours.parametrizations.weight.original.grad),
                               theirs.parametrizations.weight.original.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_orthogonal_conv_weight_is_a_batch_of_kernels(device, rng):
    """As PyTorch: a (out, in, kh, kw) weight is a batch of kh x kw matrices, each made orthogonal."""
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Conv2d(2, 3, 3).double()
    ours = nn.Conv2d(2, 3, 3, device=device, dtype=lucid.float64)
    _load_from_torch(ours, theirs, device)
    PZ.orthogonal(ours)
    torch.nn.utils.parametrizations.orthogonal(theirs)
    np.testing.assert_allclose(host(ours.weight), theirs.weight.detach().numpy(), atol=1e-12)
    w = host(ours.weight)
    np.testing.assert_allclose(np.swapaxes(w, -1, -2) @ w, np.broadcast_to(np.eye(3), w.shape), atol=1e-12)
    x = rng.standard_normal((1, 2, 5, 5))
    ours(make(x, device)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(host(ours.parametrizations.weight.original.grad),
                               theirs.parametrizations.weight.original.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_stays_orthogonal_while_training(device, rng, orthogonal_map):
    layer = nn.Linear(3, 5, device=device, dtype=lucid.float64)
    PZ.orthogonal(layer, orthogonal_map=orthogonal_map)
    opt = lucid.optim.SGD(layer.parameters(), lr=0.1)
    x, y = make(rng.standard_normal((8, 3)), device), make(rng.standard_normal((8, 5)), device)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = ((layer(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    _assert_orthonormal(layer.weight)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)], ids=["square", "tall", "wide"])
def test_orthogonal_assignment_goes_through_right_inverse(device, rng, shape):
    layer = nn.Linear(shape[1], shape[0], device=device, dtype=lucid.float64)
    PZ.orthogonal(layer)
    q = np.linalg.qr(rng.standard_normal((max(shape), min(shape))))[0]
    q = q if shape[0] >= shape[1] else q.T
    layer.weight = make(q, device)  # an orthogonal matrix is kept as it is
    np.testing.assert_allclose(host(layer.weight), q, atol=1e-12)
    layer.weight = make(rng.standard_normal(shape), device)  # any other is made orthogonal
    _assert_orthonormal(layer.weight)
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices of shape"):
        layer.weight = make(rng.standard_normal((shape[0] + 1, shape[1])), device)


def test_orthogonal_without_trivialization(device, rng):
    householder = nn.Linear(3, 5, device=device, dtype=lucid.float64)
    PZ.orthogonal(householder, use_trivialization=False)
    assert list(householder.buffers()) == []  # no base
    q = np.linalg.qr(rng.standard_normal((5, 3)))[0]
    householder.weight = make(q, device)  # householder's right_inverse: its reflectors, from geqrf
    np.testing.assert_allclose(host(householder.weight), q, atol=1e-12)
    expm = nn.Linear(4, 4, device=device, dtype=lucid.float64)
    before = host(expm.weight).copy()
    PZ.orthogonal(expm, orthogonal_map="matrix_exp", use_trivialization=False)
    # as PyTorch: right_inverse raises NotImplementedError, so registration keeps the weight as the original
    np.testing.assert_array_equal(host(expm.parametrizations.weight.original), before)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        expm.weight = make(np.eye(4), device)


def test_orthogonal_errors(device):
    layer = nn.Linear(3, 3, device=device)
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices. Got a tensor of 1 dimensions"):
        PZ.orthogonal(layer, "bias")
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'nope'"):
        PZ.orthogonal(layer, "nope")
    with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp", "cayley", "householder"'):
        PZ.orthogonal(layer, orthogonal_map="qr")
    assert not P.is_parametrized(layer)  # nothing changed
    holder = nn.Module()
    holder.w = nn.Parameter(lucid.zeros(3, 3, dtype=lucid.complex128, device=device))
    with pytest.raises(ValueError, match="householder parametrization does not support complex"):
        PZ.orthogonal(holder, "w", orthogonal_map="householder")
    with pytest.raises(TypeError, match="complex"):
        PZ.orthogonal(holder, "w")
    assert not P.is_parametrized(holder)


def test_orthogonal_float32_state_dict_and_removal(device):
    layer = nn.Linear(4, 6, device=device)
    PZ.orthogonal(layer)
    w = host(layer.weight)
    assert w.dtype == np.float32
    np.testing.assert_allclose(w.T @ w, np.eye(4), atol=1e-5)
    twin = nn.Linear(4, 6, device=device)
    PZ.orthogonal(twin)
    twin.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(host(twin.weight), w)
    copied = copy.deepcopy(layer)
    np.testing.assert_array_equal(host(copied.weight), w)
    P.remove_parametrizations(layer, "weight")
    assert type(layer) is nn.Linear
    np.testing.assert_array_equal(host(layer.weight), w)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)], ids=["square", "tall", "wide"])
def test_orthogonal_maps_gradcheck(device, rng, orthogonal_map, shape):
    layer = nn.Linear(shape[1], shape[0], device=device, dtype=lucid.float64)
    PZ.orthogonal(layer, orthogonal_map=orthogonal_map)
    param = layer.parametrizations.weight[0]
    x = rng.standard_normal(shape) * 0.5
    if orthogonal_map == "householder":  # the diagonal holds signs (cast to int): keep it away from integers
        np.fill_diagonal(x, [1.5, -1.5, 1.5, -1.5][:min(shape)])
    assert gradcheck(param, [make(x, device, grad=True)])


# ---- prune ----------------------------------------------------------------------------------------------------
def _distinct(rng, shape):
    """Values with distinct absolute values (so ranking by |w| has no ties)."""
    n = math.prod(shape)
    return (rng.permutation(n).reshape(shape) + 0.5) * rng.choice([-1.0, 1.0], size=shape) / n


def _pair(torch, rng, shape, device):
    theirs = torch.nn.Linear(shape[1], shape[0]).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(_distinct(rng, shape)))
    ours = nn.Linear(shape[1], shape[0], device=device, dtype=lucid.float64)
    _load_from_torch(ours, theirs, device)
    return ours, theirs


def _torch_prune():
    """torch and torch.nn.utils.prune (a submodule torch does not import by itself)."""
    torch = pytest.importorskip("torch")
    return torch, pytest.importorskip("torch.nn.utils.prune")


def _same_mask(ours, theirs, name="weight"):
    np.testing.assert_array_equal(host(getattr(ours, name + "_mask")), getattr(theirs, name + "_mask").numpy())


@pytest.mark.parametrize("amount", [0, 7, 0.3, 1.0])
def test_l1_unstructured_matches_torch(device, rng, amount):
    torch, tprune = _torch_prune()
    ours, theirs = _pair(torch, rng, (4, 5), device)
    original = ours.weight
    assert prune.l1_unstructured(ours, "weight", amount) is ours
    tprune.l1_unstructured(theirs, "weight", amount)
    _same_mask(ours, theirs)
    assert ours.weight_orig is original  # the same Parameter: optimizers keep it
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["bias", "weight_orig", "weight_mask"]
    assert "weight" not in dict(ours.named_parameters()) and prune.is_pruned(ours)
    np.testing.assert_array_equal(host(ours.weight), theirs.weight.detach().numpy())
    x = rng.standard_normal((3, 5))
    ours(make(x, device)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(host(ours.weight_orig.grad), theirs.weight_orig.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(("n", "dim", "amount"), [(1, 0, 2), (2, 1, 0.4), (math.inf, -1, 1), (-math.inf, 0, 0.5),
                                                  ("fro", 1, 3), (2, 2, 1)])
def test_ln_structured_matches_torch(device, rng, n, dim, amount):
    torch, tprune = _torch_prune()
    theirs = torch.nn.Conv1d(3, 4, 3).double()  # 3-D: "fro" over the two other dimensions (torch's limit)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(_distinct(rng, (4, 3, 3))))
    ours = nn.Conv1d(3, 4, 3, device=device, dtype=lucid.float64)
    _load_from_torch(ours, theirs, device)
    prune.ln_structured(ours, "weight", amount, n=n, dim=dim)
    tprune.ln_structured(theirs, "weight", amount, n=n, dim=dim)
    _same_mask(ours, theirs)
    x = rng.standard_normal((1, 3, 5))
    np.testing.assert_allclose(host(ours(make(x, device))), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def test_iterative_pruning_composes_masks_as_torch(device, rng):
    torch, tprune = _torch_prune()
    ours, theirs = _pair(torch, rng, (6, 8), device)
    steps = [("l1_unstructured", dict(amount=0.25)), ("ln_structured", dict(amount=2, n=2, dim=0)),
             ("l1_unstructured", dict(amount=5)), ("ln_structured", dict(amount=0.25, n=1, dim=1)),
             ("identity", {})]
    for fn, kwargs in steps:
        getattr(prune, fn)(ours, "weight", **kwargs)
        getattr(tprune, fn)(theirs, "weight", **kwargs)
        _same_mask(ours, theirs)
    hooks = [entry[0] for entry in ours._forward_pre_hooks.values()]
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer) and len(hooks[0]) == len(steps)
    assert [type(m).__name__ for m in hooks[0]] == ["L1Unstructured", "LnStructured", "L1Unstructured",
                                                     "LnStructured", "Identity"]
    x = rng.standard_normal((3, 8))
    ours(make(x, device)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(host(ours.weight_orig.grad), theirs.weight_orig.grad.numpy(), rtol=1e-12)


def test_global_unstructured_and_importance_scores_match_torch(device, rng):
    torch, tprune = _torch_prune()
    (a, ta), (b, tb) = _pair(torch, rng, (4, 3), device), _pair(torch, rng, (2, 5), device)
    with torch.no_grad():  # distinct magnitudes across both tensors
        tb.weight.mul_(1.37)
    _load_from_torch(b, tb, device)
    prune.global_unstructured([(a, "weight"), (b, "weight")], pruning_method=prune.L1Unstructured, amount=0.5)
    tprune.global_unstructured([(ta, "weight"), (tb, "weight")], pruning_method=tprune.L1Unstructured, amount=0.5)
    _same_mask(a, ta)
    _same_mask(b, tb)
    assert host(a.weight_mask).sum() + host(b.weight_mask).sum() == 11  # 22 entries, half kept
    scores = _distinct(rng, (4, 3))
    prune.l1_unstructured(a, "weight", 2, importance_scores=make(scores, device))
    tprune.l1_unstructured(ta, "weight", 2, importance_scores=torch.tensor(scores))
    _same_mask(a, ta)


def test_random_pruning_counts(device):
    layer = nn.Linear(8, 6, device=device)
    prune.random_unstructured(layer, "weight", 0.25)
    assert host(layer.weight_mask).sum() == 48 - 12
    prune.random_unstructured(layer, "weight", 9)  # acts on the 36 entries still kept
    assert host(layer.weight_mask).sum() == 36 - 9
    conv = nn.Conv2d(3, 5, 2, device=device)
    prune.random_structured(conv, "weight", 2, dim=0)
    kept = host(conv.weight_mask).reshape(5, -1)
    assert sorted(kept.sum(1).tolist()) == [0, 0, 12, 12, 12]
    prune.random_structured(conv, "weight", 0.34, dim=0)  # one of the 3 kept channels
    assert sorted(host(conv.weight_mask).reshape(5, -1).sum(1).tolist()) == [0, 0, 0, 12, 12]
    np.testing.assert_array_equal(host(conv.weight), host(conv.weight_orig) * host(conv.weight_mask))
    prune.random_unstructured(layer, "bias", 2)
    assert host(layer.bias_mask).sum() == 4 and prune.is_pruned(layer)


def test_custom_from_mask_remove_and_hook(device, rng):
    layer = nn.Linear(3, 2, device=device, dtype=lucid.float64)
    original = layer.weight
    mask = lucid.tensor([[1.0, 0, 1], [0, 1, 1]], dtype=lucid.float64, device=device)
    prune.custom_from_mask(layer, "weight", mask)
    with lucid.no_grad():  # the forward pre-hook recomputes weight from weight_orig
        layer.weight_orig.copy_(make(np.full((2, 3), 2.0), device))
    layer(make(np.ones((1, 3)), device))
    np.testing.assert_array_equal(host(layer.weight), 2 * host(mask))
    prune.remove(layer, "weight")
    assert layer.weight is original and isinstance(layer.weight, nn.Parameter)
    assert list(layer.state_dict()) == ["bias", "weight"] and not prune.is_pruned(layer)
    assert not layer._forward_pre_hooks
    np.testing.assert_array_equal(host(layer.weight), 2 * host(mask))
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(layer, "weight")
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2)))
    assert not prune.is_pruned(model)
    prune.identity(model[1][0], "bias")
    assert prune.is_pruned(model) and host(model[1][0].bias_mask).tolist() == [1.0, 1.0]


def test_pruning_method_prune_and_classes(device, rng):
    w = make(_distinct(rng, (3, 4)), device)
    pruned = prune.L1Unstructured(amount=4).prune(w)
    assert (host(pruned) == 0).sum() == 4
    assert np.abs(host(w))[host(pruned) == 0].max() < np.abs(host(w))[host(pruned) != 0].min()
    method = prune.LnStructured(amount=1, n=2, dim=0)
    assert host(method.compute_mask(w, lucid.ones_like(w))).sum() == 8
    with pytest.raises(TypeError):
        prune.PruningContainer(prune.Identity(), "not a method")


def test_pruning_errors_leave_the_module_as_it_was(device):
    layer = nn.Linear(3, 2, device=device)
    weight = layer.weight
    with pytest.raises(TypeError, match="Must be int or float"):
        prune.l1_unstructured(layer, "weight", "half")
    with pytest.raises(ValueError, match="should either be a float in the range"):
        prune.l1_unstructured(layer, "weight", 1.5)
    with pytest.raises(ValueError, match="should either be a float in the range"):
        prune.l1_unstructured(layer, "weight", -1)
    with pytest.raises(ValueError, match="should be smaller than the number of parameters"):
        prune.l1_unstructured(layer, "weight", 7)
    with pytest.raises(ValueError, match="Structured pruning can only be applied to multidimensional"):
        prune.ln_structured(layer, "bias", 1, n=2, dim=0)
    with pytest.raises(IndexError, match="Invalid index 2"):
        prune.random_structured(layer, "weight", 1, dim=2)
    with pytest.raises(AssertionError, match="importance_scores should have the same shape"):
        prune.l1_unstructured(layer, "weight", 1, importance_scores=lucid.ones(2, device=device))
    assert layer.weight is weight and sorted(layer.state_dict()) == ["bias", "weight"]  # re-registered: as torch
    assert not prune.is_pruned(layer) and not hasattr(layer, "weight_orig") and not hasattr(layer, "weight_mask")
    with pytest.raises(TypeError, match='Only "unstructured"'):
        prune.global_unstructured([(layer, "weight")], pruning_method=prune.LnStructured, amount=1, n=2, dim=0)


def test_pruned_and_orthogonal_modules_move_between_devices(device_pair, rng):
    here, there = device_pair
    layer = nn.Linear(4, 3, device=here, dtype=lucid.float64)
    prune.l1_unstructured(layer, "weight", 5)
    orth = PZ.orthogonal(nn.Linear(3, 5, device=here, dtype=lucid.float64))
    expected = host(orth.weight)
    layer.to(there)
    orth.to(there)
    assert layer.weight_orig.device == there and layer.weight_mask.device == there
    out = layer(make(rng.standard_normal((2, 4)), there))  # the hook recomputes weight on the new device
    assert out.device == there and layer.weight.device == there
    assert orth.parametrizations.weight[0].base.device == there
    np.testing.assert_allclose(host(orth.weight), expected, atol=1e-12)
