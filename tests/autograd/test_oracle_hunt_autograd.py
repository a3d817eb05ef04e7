"""Autograd and tensor semantics found to differ from PyTorch, each checked against it: ``.data`` and
``detach_``, ``retain_grad`` across in-place ops and hooks, what ``autograd.grad`` runs, its
``is_grads_batched`` and ``materialize_grads``, grad-mode decorators, views of scalars and inference tensors."""

from __future__ import annotations

import numpy as np
import pytest

import lucid


def _host(t):
    return None if t is None else t.detach().to("cpu").numpy()


def _run(lib, program, device, *arrays):
    """``program(lib, *tensors)`` on lucid (on ``device``) or torch (float64, CPU); returns host arrays."""
    if lib is lucid:
        tensors = [lucid.tensor(a, device=device) for a in arrays]
    else:
        tensors = [lib.tensor(a) for a in arrays]
    return [r if isinstance(r, (bool, list)) else _host(r) for r in program(lib, *tensors)]


def _against_torch(program, device, *arrays):
    torch = pytest.importorskip("torch")
    ours, theirs = _run(lucid, program, device, *arrays), _run(torch, program, device, *arrays)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if isinstance(b, (bool, list)) or b is None:
            assert a == b
        else:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# ---- .data, detach_, views of a reduction's result -------------------------------------------------
def _data_inplace(lib, x):
    x.requires_grad_()
    y = (x * x).sum()
    x.data.mul_(2)  # .data has its own version counter: the saved x is not reported as modified
    y.backward()
    return [x.grad]


def test_data_has_its_own_version_counter(device, rng):
    _against_torch(_data_inplace, device, rng.standard_normal((3, 4)))


def _scalar_aliases(lib, x):
    out = []
    for alias in (lambda s: s.data, lambda s: s.detach(), lambda s: s.view(1), lambda s: s.reshape(1, 1)):
        s = x.sum()
        alias(s).add_(1)  # a reduction's result: its aliases share its memory
        out.append(s)
    x.requires_grad_()
    s = (x * 2).sum()
    s.view(1).mul_(3)
    s.backward()
    return [*out, s, x.grad]


def test_aliases_of_a_reduction_result_share_its_memory(device, rng):
    _against_torch(_scalar_aliases, device, rng.standard_normal((3, 4)))


def test_detach__of_a_view_raises(device, rng):
    x = lucid.tensor(rng.standard_normal((3, 4)), device=device)
    with pytest.raises(RuntimeError, match="detach views in-place"):
        x[0].detach_()
    y = x * 1
    assert y.detach_() is y and not y.requires_grad


# ---- retain_grad and hooks ---------------------------------------------------------------------------
def _retain_through_inplace(lib, x):
    x.requires_grad_()
    y = x * 2
    y.retain_grad()
    y.mul_(3)  # .grad is the gradient of y's new value
    (y ** 2).sum().backward()
    a = x * 2
    a.retain_grad()
    a[0].mul_(2)  # through a view: the base's new history keeps retain_grad
    (a ** 2).sum().backward()
    b = x * 2
    v = b[1]
    v.retain_grad()
    b.mul_(3)  # v is stale: its refreshed history keeps retain_grad
    (v ** 2).sum().backward()
    return [y.grad, y.retains_grad, a.grad, v.grad, x.grad]


def test_retain_grad_follows_inplace_changes(device, rng):
    _against_torch(_retain_through_inplace, device, rng.standard_normal((3, 4)))


def _retain_after_hooks(lib, x):
    x.requires_grad_()
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: g * 10)  # registered after retain_grad, still runs before it
    y.sum().backward()
    return [y.grad, x.grad]


def test_retain_grad_sees_what_the_hooks_made(device, rng):
    _against_torch(_retain_after_hooks, device, rng.standard_normal((3, 4)))


def test_a_hook_changing_a_leaf_gradients_shape_raises(device, rng):
    x = lucid.tensor(rng.standard_normal((3, 4)), device=device, requires_grad=True)
    x.register_hook(lambda g: g[0])
    with pytest.raises(RuntimeError, match="changed the size"):
        (x * 2).sum().backward()
    assert x.grad is None


# ---- autograd.grad -------------------------------------------------------------------------------------
def _grad_runs_only_what_it_needs(lib, x, w, a):
    log = []
    for t in (x, w, a):
        t.requires_grad_()
    x.register_hook(lambda g: log.append("x") or g * 10)
    w.register_hook(lambda g: log.append("w"))
    y = a * 2
    y.retain_grad()
    y.register_hook(lambda g: log.append("y"))
    u = x * 3
    u.register_hook(lambda g: log.append("u"))
    h = u * w
    h.retain_grad()
    (gx,) = lib.autograd.grad((y + h + w).sum(), x)
    return [gx, log, y.grad, h.grad, w.grad]


def test_grad_runs_no_hook_off_the_paths_to_its_inputs_and_fills_retained_grads(device, rng):
    arrays = [rng.standard_normal(3) for _ in range(3)]
    _against_torch(_grad_runs_only_what_it_needs, device, *arrays)


def _backward_inputs_non_leaf(lib, x):
    x.requires_grad_()
    h = x * 2
    h.register_hook(lambda g: g * 5)
    (h * 3).sum().backward(inputs=[h])
    return [h.grad, h.retains_grad, x.grad]


def test_backward_inputs_non_leaf_retains_its_grad(device, rng):
    _against_torch(_backward_inputs_non_leaf, device, rng.standard_normal(3))


def test_materialize_grads_with_allow_unused_false_raises(device, rng):
    x = lucid.tensor(rng.standard_normal(3), device=device, requires_grad=True)
    w = lucid.tensor(rng.standard_normal(3), device=device, requires_grad=True)
    with pytest.raises(ValueError, match="allow_unused"):
        lucid.autograd.grad((x * 2).sum(), [x, w], allow_unused=False, materialize_grads=True)
    gx, gw = lucid.autograd.grad((x * 2).sum(), [x, w], materialize_grads=True)
    assert (_host(gw) == 0).all() and np.allclose(_host(gx), 2)


def _materialized_under_create_graph(lib, x, w):
    x.requires_grad_()
    w.requires_grad_()
    gx, gw = lib.autograd.grad((x * x).sum(), [x, w], create_graph=True, materialize_grads=True)
    return [gx, gw, [gx.requires_grad, gw.requires_grad]]


def test_materialized_zeros_require_grad_under_create_graph(device, rng):
    _against_torch(_materialized_under_create_graph, device, rng.standard_normal(3), rng.standard_normal(2))


def _batched(lib, x, v):
    x.requires_grad_()
    y = x ** 3
    z = x.sin().sum()
    gx, = lib.autograd.grad([y, z], x, grad_outputs=[v, v[:, 0] * 0 + 1], is_grads_batched=True,
                            create_graph=True)
    (h,) = lib.autograd.grad(gx.sum(), x)
    return [gx, h]


def test_grad_is_grads_batched(device, rng):
    _against_torch(_batched, device, rng.standard_normal(4), rng.standard_normal((5, 4)))


def _iterables_as_inputs(lib, x, w):
    x.requires_grad_()
    w.requires_grad_()
    params = {"x": x, "w": w}
    loss = (x * w).sin().sum()
    gx, gw = lib.autograd.grad(loss, params.values(), create_graph=True)  # MAML: grads of a dict's values
    (h,) = lib.autograd.grad((g for g in [gx.sum()]), iter([x]), grad_outputs=(None,), retain_graph=True)
    y = x * w
    lib.autograd.backward(iter([y]), grad_tensors=(t for t in [w]), inputs=params.values())
    return [gx, gw, h, x.grad, w.grad]


def test_grad_takes_any_iterable_of_tensors(device, rng):
    _against_torch(_iterables_as_inputs, device, rng.standard_normal(3), rng.standard_normal(3))


# ---- grad modes ------------------------------------------------------------------------------------------
def _modes_as_decorators(lib, x):
    x.requires_grad_()

    @lib.no_grad
    def bare(t):
        return t * 2

    @lib.no_grad()
    def gen():
        yield lib.is_grad_enabled()
        yield (x * 2).requires_grad

    @lib.enable_grad
    def on(t):
        return t * 2

    it = gen()
    seen = [next(it), lib.is_grad_enabled(), next(it)]
    with lib.no_grad():
        switched_on = on(x).requires_grad
    return [bare(x).requires_grad, seen, switched_on]


def test_grad_mode_decorators_bare_and_on_generators(device, rng):
    _against_torch(_modes_as_decorators, device, rng.standard_normal(3))


def test_a_view_of_an_inference_tensor_is_one(device, rng):
    with lucid.inference_mode():
        a = lucid.tensor(rng.standard_normal((3, 4)), device=device)
    v = a[0]
    assert v.is_inference()
    with pytest.raises(RuntimeError, match="inference tensor"):
        v.add_(1)


def test_next_functions_walks_the_graph_as_torch(device):
    """grad_fn.next_functions: (node, output index) per input, AccumulateGrad for leaves that require grad,
    (None, 0) for inputs without gradient; the same shape of graph as PyTorch's for the same program."""
    torch = pytest.importorskip("torch")

    def program(lib, **kw):
        x = lib.ones(2, requires_grad=True, **kw)
        w = lib.ones(2, **kw)
        a, b = (x * 2).unbind(0)
        return x, (a * b + w[0]).sum()

    def walk(node):  # the graph's shape: output indices, leaves and inputs without gradient
        return [None if child is None else "leaf" if type(child).__name__ == "AccumulateGrad" else (index, walk(child))
                for child, index in node.next_functions]

    x, y = program(lucid, device=device)
    tx, ty = program(torch)
    assert walk(y.grad_fn) == walk(ty.grad_fn)
    leaf = y.grad_fn
    while type(leaf).__name__ != "AccumulateGrad":
        leaf = leaf.next_functions[0][0]
    assert type(leaf).__name__ == "AccumulateGrad" and leaf.variable is x and leaf.next_functions == ()


def test_grad_accepts_only_inputs(device):
    """only_inputs=True (deprecated in PyTorch, still passed by WGAN-GP code) is accepted and changes nothing."""
    x = lucid.ones(2, device=device, requires_grad=True)
    (g,) = lucid.autograd.grad((x * 3).sum(), x, only_inputs=True)
    np.testing.assert_array_equal(_host(g), [3.0, 3.0])
