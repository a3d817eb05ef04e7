"""lucid.func against torch.func: the same programs, written once for both, give the same values."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.func as LF
import lucid.nn as lnn

torch = pytest.importorskip("torch")
import torch.func as TF  # noqa: E402


def _np(tree):
    if isinstance(tree, (tuple, list)):
        return [_np(t) for t in tree]
    if isinstance(tree, dict):
        return {k: _np(v) for k, v in tree.items()}
    if isinstance(tree, lucid.Tensor):
        return tree.detach().numpy(force=True)
    if isinstance(tree, torch.Tensor):
        return tree.detach().numpy()
    return tree


def _same(got, want):
    got, want = _np(got), _np(want)
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)
    elif isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys()
        for k in want:
            _same(got[k], want[k])
    elif isinstance(want, np.ndarray):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    else:
        assert got == want


@pytest.fixture
def pair(rng, device):
    """``pair(*shapes)``: the same random float64 tensors for lucid (on ``device``) and torch."""

    def make(*shapes):
        arrays = [rng.standard_normal(s) for s in shapes]
        return ([lucid.tensor(a, dtype=lucid.float64, device=device) for a in arrays],
                [torch.tensor(a, dtype=torch.float64) for a in arrays])

    return make


def both(test):
    """Run ``test(lib, F, inputs)`` for lucid and torch and compare what it returns."""
    def run(pair, shapes):
        ours, theirs = pair(*shapes)
        _same(test(lucid, LF, ours), test(torch, TF, theirs))
    return run


PROGRAMS = {
    "grad": ([(3,)], lambda m, F, x: F.grad(lambda a: (a.sin() * a).sum())(x[0])),
    "grad_argnums_aux": ([(3,), (3,)], lambda m, F, x: F.grad(lambda a, b: ((a * b).exp().sum(), a * 2),
                                                               argnums=(0, 1), has_aux=True)(*x)),
    "grad_pytree": ([(2, 2), (2,)], lambda m, F, x: F.grad(lambda p: (p["w"] @ p["b"]).tanh().sum())(
        {"w": x[0], "b": x[1]})),
    "grad_and_value": ([(3,)], lambda m, F, x: F.grad_and_value(lambda a: (a ** 3).sum())(x[0])),
    "grad_of_grad": ([(3,)], lambda m, F, x: F.grad(lambda a: F.grad(lambda b: (b.sin() * b).sum())(a).sum())(x[0])),
    "vjp": ([(3,), (3,)], lambda m, F, x: F.vjp(lambda a: (a.exp(), {"s": a.sin()}), x[0])[1](
        (x[1], {"s": x[1] * 2}))),
    "vjp_aux": ([(3,)], lambda m, F, x: (lambda r: (r[0], r[1](x[0]), r[2]))(
        F.vjp(lambda a: (a * a, a.sum()), x[0], has_aux=True))),
    "jvp": ([(3,), (3,)], lambda m, F, x: F.jvp(lambda a: (a.sin() * a.exp(), a.sum()), (x[0],), (x[1],))),
    "jacrev": ([(3,), (2,)], lambda m, F, x: F.jacrev(lambda a, b: (a[:2] * b).sin(), argnums=(0, 1))(*x)),
    "jacfwd": ([(3,)], lambda m, F, x: F.jacfwd(lambda a: (a.exp(), a.sum() * a))(x[0])),
    "hessian": ([(3,)], lambda m, F, x: F.hessian(lambda a: (a.sin() * a.prod()).sum())(x[0])),
    "vmap": ([(4, 3), (3,)], lambda m, F, x: F.vmap(lambda a, b: (a * b).sum(), in_dims=(0, None))(*x)),
    "vmap_out_dims": ([(3, 4)], lambda m, F, x: F.vmap(lambda a: (a * 2, a.sum()), in_dims=1, out_dims=(1, 0))(x[0])),
    "vmap_nested": ([(2, 3), (4, 3)], lambda m, F, x: F.vmap(F.vmap(lambda a, b: a @ b, in_dims=(None, 0)),
                                                             in_dims=(0, None))(*x)),
    "per_sample_grad": ([(5, 3), (3,)], lambda m, F, x: F.vmap(F.grad(lambda w, a: (w * a).sin().sum()),
                                                               in_dims=(None, 0))(x[1], x[0])),
    "linearize": ([(3,), (3,)], lambda m, F, x: (lambda r: (r[0], r[1](x[1])))(F.linearize(lambda a: a.cos(), x[0]))),
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_transform_matches_torch(pair, name):
    shapes, program = PROGRAMS[name]
    both(program)(pair, shapes)


def test_gradients_flow_through_vmap_and_outer_graphs(device):
    w = lucid.tensor([1.0, 2.0, 3.0], dtype=lucid.float64, device=device, requires_grad=True)
    xs = lucid.tensor(np.arange(6.0).reshape(2, 3), device=device)
    out = LF.vmap(lambda a: (a * w).sum())(xs).sum()
    out.backward()
    np.testing.assert_allclose(w.grad.numpy(force=True), xs.numpy(force=True).sum(0))
    g = LF.grad(lambda a: (a * a * w).sum())(lucid.ones(3, dtype=lucid.float64, device=device))
    assert not g.requires_grad  # the outermost transform detaches its results


def test_bad_inputs_raise(device):
    x = lucid.ones(3, device=device)
    with pytest.raises(RuntimeError, match="scalar"):
        LF.grad(lambda a: a * 2)(x)
    with pytest.raises(RuntimeError, match="argnums"):
        LF.grad(lambda a: a.sum(), argnums=2)(x)
    with pytest.raises(ValueError, match="same size"):
        LF.vmap(lambda a, b: a + b)(x, lucid.ones(4, device=device))
    with pytest.raises(ValueError, match="out of range"):
        LF.vmap(lambda a: a, in_dims=1)(x)
    with pytest.raises(RuntimeError, match="same structure"):
        LF.jvp(lambda a: a, (x,), (lucid.ones(2, device=device),))
    with pytest.raises(RuntimeError, match="tuple"):
        LF.grad(lambda a: a.sum(), has_aux=True)(x)


# ---- vmap's randomness ---------------------------------------------------------------------------------------------
def _seeded(fn, seed=5):
    lucid.manual_seed(seed)
    out = fn()
    return out.numpy(force=True), lucid.rand(2, device=out.device).numpy(force=True)  # and where the stream is


def test_vmap_randomness_draws_as_torch_batches_them(device):
    """'different' gives slice i row i of one (batch, *shape) draw; 'same' one draw for all slices; both leave
    the generator where that one draw does. 'error' (the default) refuses random ops."""
    z = lucid.zeros(3, 5, device=device)
    noisy = lambda a: a + lucid.randn(5, device=device)  # noqa: E731
    got = _seeded(lambda: LF.vmap(noisy, randomness="different")(z))
    want = _seeded(lambda: lucid.randn(3, 5, device=device))
    _same(list(got), list(want))
    got = _seeded(lambda: LF.vmap(noisy, randomness="same")(z))
    want = _seeded(lambda: lucid.randn(5, device=device).expand(3, 5))
    _same(list(got), list(want))
    got = _seeded(lambda: LF.vmap(lambda a: lucid.nn.functional.dropout(a, 0.5), in_dims=1, randomness="same")(
        lucid.ones(4, 3, device=device)))
    assert (got[0] == got[0][:1]).all()  # one mask for every slice
    got = _seeded(lambda: LF.vmap(lambda a: a + lucid.randperm(4, device=device), randomness="different")(z[:, :4]))
    want = _seeded(lambda: lucid.stack([lucid.randperm(4, device=device) for _ in range(3)]))  # not elementwise
    _same(list(got), list(want))
    with pytest.raises(RuntimeError, match="randomness error mode"):
        LF.vmap(noisy)(z)
    with pytest.raises(RuntimeError, match="Only allowed values for randomness"):
        LF.vmap(noisy, randomness="sometimes")


def test_vmap_randomness_matches_torch(device):
    """A dropout ensemble and per-sample gradients through dropout: torch's numbers (its CPU generator)."""
    if device.type != "cpu":
        pytest.skip("lucid reproduces PyTorch's random streams on the CPU only")

    def run(m, F):
        x = m.linspace(-1.0, 1.0, 24).reshape(4, 6)
        w = m.linspace(0.5, 1.5, 18).reshape(3, 6)
        outs = []
        for mode in ("same", "different"):
            m.manual_seed(11)
            outs.append(F.vmap(lambda wi, xb: m.nn.functional.dropout(xb * wi, 0.3).sum(1), in_dims=(0, None),
                               randomness=mode)(w, x))
            outs.append(F.vmap(F.grad(lambda wi, xi: m.nn.functional.dropout(xi * wi, 0.5).pow(2).sum()),
                               in_dims=(None, 0), randomness=mode)(w[0], x))
        return outs

    got, want = run(lucid, LF), run(torch, TF)
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), rtol=1e-6, atol=1e-6)


# ---- functional_call and stack_module_state ------------------------------------------------------------------------
def _linears(device, seed):
    lucid.manual_seed(seed)
    return lnn.Linear(3, 2).to(device)


def test_functional_call_matches_torch_and_restores_the_module(device, rng):
    ours = lnn.Sequential(lnn.Linear(3, 4), lnn.Tanh(), lnn.Linear(4, 2)).to(device)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    new = {k: rng.standard_normal(tuple(v.shape)) for k, v in ours.named_parameters()}
    x = rng.standard_normal((5, 3))
    before = {k: v for k, v in ours.named_parameters()}
    got = LF.functional_call(ours, {k: lucid.tensor(v, dtype=lucid.float32, device=device) for k, v in new.items()},
                             (lucid.tensor(x, dtype=lucid.float32, device=device),))
    want = TF.functional_call(theirs, {k: torch.tensor(v) for k, v in new.items()}, (torch.tensor(x),))
    np.testing.assert_allclose(got.numpy(force=True), want.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert all(v is before[k] for k, v in ours.named_parameters())
    assert lucid.nn.utils.stateless.functional_call is LF.functional_call


def test_functional_call_gradients_reach_the_given_tensors(device):
    model = _linears(device, 0)
    params = {k: v.detach().clone().requires_grad_() for k, v in model.named_parameters()}
    LF.functional_call(model, params, lucid.ones(1, 3, device=device)).sum().backward()
    np.testing.assert_allclose(params["bias"].grad.numpy(force=True), [1.0, 1.0])
    assert all(p.grad is None for p in model.parameters())


def test_functional_call_restores_on_exception_and_checks_keys(device):
    model = _linears(device, 0)
    weight = model.weight
    with pytest.raises(RuntimeError, match="features"):
        LF.functional_call(model, {"weight": lucid.ones(5, 5, device=device)}, lucid.ones(1, 3, device=device))
    assert model.weight is weight
    with pytest.raises(RuntimeError, match="missing key.*bias"):
        LF.functional_call(model, {"weight": lucid.ones(2, 3, device=device)}, lucid.ones(1, 3, device=device),
                           strict=True)
    with pytest.raises(ValueError, match="multiple dictionaries"):
        LF.functional_call(model, ({"bias": model.bias}, {"bias": model.bias}), lucid.ones(1, 3, device=device))
    with pytest.raises(TypeError, match="must be a Tensor"):
        LF.functional_call(model, {"bias": [0.0, 0.0]}, lucid.ones(1, 3, device=device))


def test_functional_call_ties_weights(device):
    class Tied(lnn.Module):
        def __init__(self):
            super().__init__()
            self.a = lnn.Linear(2, 2, bias=False)
            self.b = lnn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    model = Tied().to(device)
    eye = lucid.eye(2, device=device) * 2
    x = lucid.ones(1, 2, device=device)
    np.testing.assert_allclose(LF.functional_call(model, {"a.weight": eye}, x).numpy(force=True), [[4.0, 4.0]])
    untied = LF.functional_call(model, {"a.weight": eye}, x, tie_weights=False)
    w = model.b.weight.detach().numpy(force=True)  # b keeps the module's own weight
    np.testing.assert_allclose(untied.detach().numpy(force=True), np.array([[2.0, 2.0]]) @ w.T, rtol=1e-6)
    with pytest.raises(ValueError, match="tied"):
        LF.functional_call(model, {"a.weight": eye, "b.weight": eye * 3}, x)
    # strict: a name tied to a given one counts as given (as PyTorch), unless tie_weights=False
    np.testing.assert_allclose(LF.functional_call(model, {"a.weight": eye}, x, strict=True).numpy(force=True),
                               [[4.0, 4.0]])
    with pytest.raises(RuntimeError, match="b.weight"):
        LF.functional_call(model, {"a.weight": eye}, x, strict=True, tie_weights=False)


def test_stack_module_state_and_vmap_ensemble(device):
    models = [_linears(device, s) for s in range(3)]
    params, buffers = LF.stack_module_state(models)
    assert params["weight"].shape == (3, 2, 3) and params["weight"].requires_grad and params["weight"].is_leaf
    x = lucid.ones(4, 3, device=device)

    def one(p, b, data):
        return LF.functional_call(models[0], (p, b), (data,))

    got = LF.vmap(one, in_dims=(0, 0, None))(params, buffers, x)
    want = lucid.stack([m(x) for m in models])
    np.testing.assert_allclose(got.detach().numpy(force=True), want.detach().numpy(force=True), rtol=1e-6)
    with pytest.raises(RuntimeError, match="same class"):
        LF.stack_module_state([models[0], lnn.Tanh()])


def test_replace_all_batch_norm_modules_and_identity_helpers(device):
    net = lnn.Sequential(lnn.Linear(2, 2), lnn.BatchNorm1d(2)).to(device)
    assert LF.replace_all_batch_norm_modules_(net) is net
    bn = net[1]
    assert bn.running_mean is None and not bn.track_running_stats
    f = lambda a: a  # noqa: E731
    assert LF.functionalize(f) is f
    x = lucid.ones(1, device=device)
    assert LF.debug_unwrap(x) is x
