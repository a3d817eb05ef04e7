"""lucid.autograd.functional against torch.autograd.functional: same functions, same inputs,
same results (structure of tuples included)."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.autograd.functional as LF

torch = pytest.importorskip("torch")
TF = torch.autograd.functional

# (function on (lib, *inputs), input shapes); each written once for both libraries
FUNCS = {
    "one_to_one": (lambda m, x: (x * x).sin() * x.exp(), [(3,)]),
    "two_to_one": (lambda m, x, y: x @ y + x.sin().sum(), [(2, 3), (3, 2)]),
    "one_to_two": (lambda m, x: (x.exp(), x.sum() * x[0]), [(2, 2)]),
}
SCALAR = {
    "cubic": (lambda m, x: (x ** 3).sum() + (x[0] * x[1]), [(3,)]),
    "pair": (lambda m, x, y: (x.sin() * y.exp()).sum() + (x * x).sum() * y.sum(), [(2,), (2,)]),
}


def _inputs(rng, shapes, device):
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = tuple(lucid.tensor(a, dtype=lucid.float64, device=device) for a in arrays)
    theirs = tuple(torch.tensor(a, dtype=torch.float64) for a in arrays)
    return ours, theirs


def _same(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)
        return
    assert isinstance(got, lucid.Tensor) and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(force=True), want.detach().numpy(), rtol=1e-10, atol=1e-12)


def _call(mod, lib, fn, name, inputs, *rest, single):
    f = (lambda *x: fn(lib, *x))
    return getattr(mod, name)(f, inputs[0] if single else inputs, *rest)


def _vectors(vs, device, single):
    """The float64 vectors ``vs`` as the extra argument of a lucid and of a torch call: one tensor when
    ``single``, else a tuple."""
    ours = tuple(lucid.tensor(v, dtype=lucid.float64, device=device) for v in vs)
    theirs = tuple(torch.tensor(v, dtype=torch.float64) for v in vs)
    return (ours[0] if single else ours,), (theirs[0] if single else theirs,)


@pytest.mark.parametrize("key", list(FUNCS))
@pytest.mark.parametrize("name", ["jacobian", "vjp", "jvp"])
def test_first_order_matches_torch(device, rng, key, name):
    fn, shapes = FUNCS[key]
    ours, theirs = _inputs(rng, shapes, device)
    single = len(shapes) == 1
    rest_ours, rest_theirs = (), ()
    if name != "jacobian":
        with torch.no_grad():
            out = fn(torch, *theirs)
        like = theirs if name == "jvp" else (out if isinstance(out, tuple) else (out,))
        vs = [rng.standard_normal(tuple(t.shape)) for t in like]
        rest_ours, rest_theirs = _vectors(vs, device, len(vs) == 1)
    got = _call(LF, lucid, fn, name, ours, *rest_ours, single=single)
    want = _call(TF, torch, fn, name, theirs, *rest_theirs, single=single)
    _same(got, want)


@pytest.mark.parametrize("key", list(SCALAR))
@pytest.mark.parametrize("name", ["hessian", "hvp", "vhp"])
def test_second_order_matches_torch(device, rng, key, name):
    fn, shapes = SCALAR[key]
    ours, theirs = _inputs(rng, shapes, device)
    single = len(shapes) == 1
    rest_ours, rest_theirs = (), ()
    if name != "hessian":
        vs = [rng.standard_normal(s) for s in shapes]
        rest_ours, rest_theirs = _vectors(vs, device, single)
    _same(_call(LF, lucid, fn, name, ours, *rest_ours, single=single),
          _call(TF, torch, fn, name, theirs, *rest_theirs, single=single))


def test_create_graph_results_are_differentiable(device, rng):
    x = lucid.tensor(rng.standard_normal(3), dtype=lucid.float64, device=device, requires_grad=True)
    tx = torch.tensor(x.detach().numpy(force=True), requires_grad=True)
    jac = LF.jacobian(lambda a: a.sin() * a, x, create_graph=True)
    tjac = TF.jacobian(lambda a: a.sin() * a, tx, create_graph=True)
    assert jac.requires_grad
    (g,) = lucid.autograd.grad(jac.sum(), x)
    (tg,) = torch.autograd.grad(tjac.sum(), tx)
    np.testing.assert_allclose(g.numpy(force=True), tg.numpy(), rtol=1e-10)
    out, vjp = LF.vjp(lambda a: a * a, x, lucid.ones(3, dtype=lucid.float64, device=device))
    assert not out.requires_grad and not vjp.requires_grad  # without create_graph, detached


def test_independent_input_zero_or_strict_error(device):
    x = lucid.ones(2, dtype=lucid.float64, device=device)
    y = lucid.ones(2, dtype=lucid.float64, device=device)
    jac = LF.jacobian(lambda a, b: a * 2, (x, y))
    np.testing.assert_array_equal(jac[1].numpy(force=True), np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        LF.jacobian(lambda a, b: a * 2, (x, y), strict=True)
    tx = torch.ones(2, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        TF.jacobian(lambda a, b: a * 2, (tx, tx.clone()), strict=True)


def test_bad_arguments_raise(device):
    x = lucid.ones(2, dtype=lucid.float64, device=device)
    with pytest.raises(RuntimeError, match="v can only be None"):
        LF.vjp(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match="invalid size"):
        LF.vjp(lambda a: a * 2, x, lucid.ones(3, dtype=lucid.float64, device=device))
    with pytest.raises(TypeError, match="Tensor or a tuple of Tensors"):
        LF.jacobian(lambda a: a, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="single element"):
        LF.hessian(lambda a: a * 2, x)
    with pytest.raises(ValueError, match="strategy"):
        LF.jacobian(lambda a: a, x, strategy="sideways")
