"""lucid.autograd.forward_ad against torch.autograd.forward_ad: the same programs give the same primals and
tangents (and the same errors), on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.func as LF
import lucid.nn.functional as LFn
from lucid.autograd import forward_ad as lfw

torch = pytest.importorskip("torch")
import torch.autograd.forward_ad as tfw  # noqa: E402
import torch.nn.functional as TFn  # noqa: E402

TOL = {"rtol": 1e-9, "atol": 1e-11}


def _host(t):
    return None if t is None else t.detach().numpy(force=True) if isinstance(t, lucid.Tensor) else t.detach().numpy()


def _same(got, want):
    assert (got is None) == (want is None), f"got {got!r}, want {want!r}"
    if want is not None:
        got, want = _host(got), _host(want)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, **TOL)


def _spd(a):
    return a @ a.T + 3 * np.eye(a.shape[0])


def _pos(a):
    return np.abs(a) + 0.5


# name: (f(M, F, *tensors) with M = lucid or torch and F their nn.functional, input makers (shape or a function
# of a rng)); every input is dual
CASES = {
    # elementwise
    "exp": (lambda M, F, x: M.exp(x), [(3, 4)]),
    "log": (lambda M, F, x: M.log(x), [lambda r: _pos(r.standard_normal((3, 4)))]),
    "sqrt": (lambda M, F, x: M.sqrt(x), [lambda r: _pos(r.standard_normal((5,)))]),
    "sin_tanh": (lambda M, F, x: M.sin(x) * M.tanh(x), [(2, 3)]),
    "sigmoid": (lambda M, F, x: M.sigmoid(x), [(4,)]),
    "abs": (lambda M, F, x: M.abs(x), [(6,)]),
    "pow_scalar": (lambda M, F, x: x ** 3, [(3,)]),
    "pow_tensor": (lambda M, F, x, y: x ** y, [lambda r: _pos(r.standard_normal((3,))), (3,)]),
    "broadcast_mul_div": (lambda M, F, x, y: x * y / (y * y + 1) - x, [(3, 4), (4,)]),
    "where": (lambda M, F, x, y: M.where(x > 0, x, y), [(3, 4), (3, 4)]),
    "clamp": (lambda M, F, x: M.clamp(x, -0.5, 0.5), [(10,)]),
    "maximum": (lambda M, F, x, y: M.maximum(x, y), [(6,), (6,)]),
    "atan2": (lambda M, F, x, y: M.atan2(x, y), [(5,), (5,)]),
    "erf": (lambda M, F, x: M.erf(x), [(5,)]),
    "relu_gelu_silu": (lambda M, F, x: F.relu(x) + F.gelu(x) + F.silu(x) + F.softplus(x), [(7,)]),
    "sign_floor": (lambda M, F, x: M.sign(x) + M.floor(x), [(4,)]),
    # reductions
    "sum_dim": (lambda M, F, x: x.sum(1), [(3, 4)]),
    "mean_keepdim": (lambda M, F, x: x.mean(0, keepdim=True), [(3, 4)]),
    "prod": (lambda M, F, x: M.prod(x, 1), [(2, 3)]),
    "max_dim": (lambda M, F, x: M.max(x, 1)[0], [(3, 4)]),
    "amax": (lambda M, F, x: M.amax(x, 0), [(3, 4)]),
    "logsumexp": (lambda M, F, x: M.logsumexp(x, 1), [(3, 4)]),
    "var_std": (lambda M, F, x: x.var(1) + x.std(0).sum(), [(3, 4)]),
    "norm": (lambda M, F, x: M.linalg.norm(x), [(3, 4)]),
    "cumsum": (lambda M, F, x: M.cumsum(x, 0), [(4, 2)]),
    # products and linear algebra
    "matmul": (lambda M, F, a, b: a @ b, [(3, 4), (4, 2)]),
    "bmm": (lambda M, F, a, b: M.bmm(a, b), [(2, 3, 4), (2, 4, 2)]),
    "einsum": (lambda M, F, a, b: M.einsum("ij,jk->ik", a, b), [(2, 3), (3, 2)]),
    "outer_trace": (lambda M, F, a, b: M.trace(M.outer(a, b)), [(3,), (3,)]),
    "inv": (lambda M, F, a: M.linalg.inv(a), [lambda r: _spd(r.standard_normal((3, 3)))]),
    "det": (lambda M, F, a: M.linalg.det(a), [(3, 3)]),
    "solve": (lambda M, F, a, b: M.linalg.solve(a, b), [lambda r: _spd(r.standard_normal((3, 3))), (3, 2)]),
    "cholesky": (lambda M, F, a: M.linalg.cholesky(a), [lambda r: _spd(r.standard_normal((3, 3)))]),
    "svdvals": (lambda M, F, a: M.linalg.svdvals(a), [(4, 3)]),
    "eigvalsh": (lambda M, F, a: M.linalg.eigh(a)[0], [lambda r: _spd(r.standard_normal((3, 3)))]),
    # views and indexing
    "slice_transpose": (lambda M, F, x: x[1:, ::2].T * 2, [(3, 4)]),
    "reshape_permute": (lambda M, F, x: x.reshape(2, 3, 2).permute(2, 0, 1), [(3, 4)]),
    "unsqueeze_expand": (lambda M, F, x: x.unsqueeze(0).expand(3, 4) * 1, [(4,)]),
    "diagonal_flip": (lambda M, F, x: M.flip(M.diagonal(x), [0]), [(3, 3)]),
    "index_array": (lambda M, F, x: x[M.tensor([2, 0, 2], device=x.device)], [(3, 4)]),
    "gather": (lambda M, F, x: M.gather(x, 1, M.tensor([[0, 0], [1, 0], [3, 2]], device=x.device)), [(3, 4)]),
    "index_select": (lambda M, F, x: M.index_select(x, 0, M.tensor([1, 1, 0], device=x.device)), [(3, 2)]),
    "cat_stack": (lambda M, F, a, b: M.cat([a, M.stack([b, b])], 0), [(2, 3), (3,)]),
    "split": (lambda M, F, x: M.split(x, [1, 2], 0)[1], [(3, 2)]),
    "unbind": (lambda M, F, x: M.unbind(x, 1)[0], [(3, 2)]),
    "roll_narrow": (lambda M, F, x: M.narrow(M.roll(x, 1, 0), 1, 1, 2), [(3, 4)]),
    # neural-network ops
    "softmax": (lambda M, F, x: F.softmax(x, dim=-1), [(3, 5)]),
    "log_softmax": (lambda M, F, x: F.log_softmax(x, dim=0), [(3, 5)]),
    "cross_entropy": (lambda M, F, x: F.cross_entropy(x, M.tensor([1, 0, 4], device=x.device)), [(3, 5)]),
    "conv2d": (lambda M, F, x, w, b: F.conv2d(x, w, b, padding=1, stride=2), [(2, 3, 5, 5), (4, 3, 3, 3), (4,)]),
    "layer_norm": (lambda M, F, x, w, b: F.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)]),
    "max_avg_pool": (lambda M, F, x: F.max_pool2d(x, 2) + F.avg_pool2d(x, 2), [(1, 2, 4, 4)]),
    "mlp": (lambda M, F, x, w1, b1, w2, b2: F.linear(M.tanh(F.linear(x, w1, b1)), w2, b2),
            [(5, 4), (6, 4), (6,), (2, 6), (2,)]),
    "batch_norm_train": (lambda M, F, x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(4, 3), (3,), (3,)]),
    "embedding": (lambda M, F, w: F.embedding(M.tensor([0, 2, 2], device=w.device), w), [(4, 3)]),
    "attention": (lambda M, F, q, k, v: F.scaled_dot_product_attention(q, k, v), [(1, 3, 4), (1, 5, 4), (1, 5, 4)]),
    "sort_topk": (lambda M, F, x: M.sort(x, -1)[0] + M.topk(x, 4)[0], [(3, 4)]),
    "conv_transpose2d": (lambda M, F, x, w: F.conv_transpose2d(x, w, stride=2), [(1, 2, 3, 3), (2, 3, 2, 2)]),
    "interpolate_pad": (lambda M, F, x: F.pad(F.interpolate(x, scale_factor=2, mode="bilinear"), (1, 2)),
                        [(1, 1, 3, 3)]),
    "matrix_exp_slogdet": (lambda M, F, x: M.linalg.matrix_exp(x) * M.linalg.slogdet(x)[1], [(3, 3)]),
    "scatter_add_masked_fill": (lambda M, F, x, s: x.scatter_add(0, M.tensor([0, 1, 0], device=x.device), s)
                                .masked_fill(x > 0, 0.5), [(3,), (3,)]),
    "unfold_repeat": (lambda M, F, x: x.unfold(0, 2, 1).repeat(2, 1), [(5,)]),
}


def _inputs(makers, seed):
    r = np.random.default_rng(seed)
    return [m(r) if callable(m) else r.standard_normal(m) for m in makers]


def _run_lucid(fn, primals, tangents, device, dual=None):
    dual = dual or [True] * len(primals)
    with lfw.dual_level():
        args = [lucid.tensor(p, dtype=lucid.float64, device=device) for p in primals]
        args = [lfw.make_dual(a, lucid.tensor(t, dtype=lucid.float64, device=device)) if d else a
                for a, t, d in zip(args, tangents, dual)]
        return lfw.unpack_dual(fn(lucid, LFn, *args))


def _run_torch(fn, primals, tangents, dual=None):
    dual = dual or [True] * len(primals)
    with tfw.dual_level():
        args = [torch.tensor(p, dtype=torch.float64) for p in primals]
        args = [tfw.make_dual(a, torch.tensor(t, dtype=torch.float64)) if d else a
                for a, t, d in zip(args, tangents, dual)]
        return tfw.unpack_dual(fn(torch, TFn, *args))


@pytest.mark.parametrize("name", CASES)
def test_jvp_matches_torch(name, device):
    fn, makers = CASES[name]
    primals, tangents = _inputs(makers, 0), _inputs(makers, 1)  # symmetric tangents for symmetric inputs
    got, want = _run_lucid(fn, primals, tangents, device), _run_torch(fn, primals, tangents)
    _same(got.primal, want.primal)
    _same(got.tangent, want.tangent)


@pytest.mark.parametrize("name", ["broadcast_mul_div", "matmul", "conv2d", "mlp"])
def test_only_some_inputs_dual(name, device):
    fn, makers = CASES[name]
    primals, tangents = _inputs(makers, 2), _inputs(makers, 3)
    dual = [i % 2 == 0 for i in range(len(primals))]
    got, want = _run_lucid(fn, primals, tangents, device, dual), _run_torch(fn, primals, tangents, dual)
    _same(got.tangent, want.tangent)


@pytest.mark.parametrize("name", ["exp", "matmul", "softmax", "layer_norm", "mlp", "det"])
def test_matches_func_jvp(name, device):
    fn, makers = CASES[name]
    primals = [lucid.tensor(p, dtype=lucid.float64, device=device) for p in _inputs(makers, 4)]
    tangents = [lucid.tensor(t, dtype=lucid.float64, device=device) for t in _inputs(makers, 5)]
    _, expected = LF.jvp(lambda *a: fn(lucid, LFn, *a), tuple(primals), tuple(tangents))
    with lfw.dual_level():
        out = fn(lucid, LFn, *[lfw.make_dual(p, t) for p, t in zip(primals, tangents)])
        _same(lfw.unpack_dual(out).tangent, expected)


@pytest.mark.parametrize("name", ["sin_tanh", "det", "conv2d", "layer_norm", "mlp", "cholesky"])
def test_tangent_is_the_central_difference(name, device):
    """Independent of the oracle: J t equals (f(x + eps t) - f(x - eps t)) / 2 eps in float64."""
    fn, makers = CASES[name]
    primals, tangents = _inputs(makers, 6), _inputs(makers, 7)
    tangent = _run_lucid(fn, primals, tangents, device).tangent
    eps = 1e-6

    def f(sign):
        args = [lucid.tensor(p + sign * eps * t, dtype=lucid.float64, device=device) for p, t in zip(primals, tangents)]
        return fn(lucid, LFn, *args).numpy(force=True)

    np.testing.assert_allclose(_host(tangent), (f(1) - f(-1)) / (2 * eps), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["sin_tanh", "matmul", "softmax", "layer_norm", "inv"])
def test_gradcheck_of_the_tangent(name, device):
    """Forward-over-reverse: the tangent, as a function of the primals, passes the finite-difference gradcheck."""
    fn, makers = CASES[name]
    primals = [lucid.tensor(p, dtype=lucid.float64, device=device, requires_grad=True) for p in _inputs(makers, 8)]
    tangents = [lucid.tensor(t, dtype=lucid.float64, device=device) for t in _inputs(makers, 9)]

    def tangent_of(*xs):
        with lfw.dual_level():
            return lfw.unpack_dual(fn(lucid, LFn, *[lfw.make_dual(x, t) for x, t in zip(xs, tangents)])).tangent

    assert lucid.autograd.gradcheck(tangent_of, tuple(primals))


COMPLEX_CASES = {
    "exp": lambda M, a, w: M.exp(a),
    "mul_matmul": lambda M, a, w: (a * w) @ w,
    "abs": lambda M, a, w: M.abs(a),
    "real_conj": lambda M, a, w: a.real * 2 + M.conj(a) * a,
}


@pytest.mark.parametrize("name", COMPLEX_CASES)
def test_complex_jvp_matches_torch(name, device):
    r = np.random.default_rng(12)
    z, t, w = (r.standard_normal((3, 3)) + 1j * r.standard_normal((3, 3)) for _ in range(3))
    results = []
    for M, fw, make in ((lucid, lfw, lambda a: lucid.tensor(a, dtype=lucid.complex128, device=device)),
                        (torch, tfw, lambda a: torch.tensor(a, dtype=torch.complex128))):
        with fw.dual_level():
            results.append(fw.unpack_dual(COMPLEX_CASES[name](M, fw.make_dual(make(z), make(t)), make(w))))
    _same(results[0].primal, results[1].primal)
    _same(results[0].tangent, results[1].tangent)


def test_dropout_tangent_uses_the_primal_mask(device):
    x = lucid.rand(200, dtype=lucid.float64, device=device) + 1
    t = lucid.rand(200, dtype=lucid.float64, device=device) + 1
    with lfw.dual_level():
        primal, tangent = lfw.unpack_dual(LFn.dropout(lfw.make_dual(x, t), p=0.5, training=True))
    _same(tangent, primal / x * t)


def test_integer_outputs_have_no_tangent(device):
    with lfw.dual_level():
        d = lfw.make_dual(lucid.randn(3, 4, dtype=lucid.float64, device=device),
                          lucid.randn(3, 4, dtype=lucid.float64, device=device))
        values, indices = lucid.max(d, 1)
        assert lfw.unpack_dual(values).tangent is not None
        for t in (indices, d > 0, d.argmax(), d.to(lucid.int64), d.detach(), lucid.zeros_like(d)):
            assert lfw.unpack_dual(t).tangent is None


def test_works_under_no_grad_and_tangent_dies_with_level(device):
    x = lucid.randn(4, dtype=lucid.float64, device=device, requires_grad=True)
    t = lucid.randn(4, dtype=lucid.float64, device=device)
    with lfw.dual_level():
        with lucid.no_grad():
            y = lucid.exp(lfw.make_dual(x, t))
        primal, tangent = lfw.unpack_dual(y)
        assert not y.requires_grad and not tangent.requires_grad
        _same(tangent, lucid.exp(x) * t)
    assert lfw.unpack_dual(y).tangent is None
    assert lfw.unpack_dual(y) == (y, None)


def test_unpack_dual_gives_a_primal_view_and_the_tangent_itself(device):
    x = lucid.randn(3, dtype=lucid.float64, device=device)
    t = lucid.randn(3, dtype=lucid.float64, device=device)
    with lfw.dual_level():
        d = lfw.make_dual(x, t)
        assert d is not x and d._base is x
        primal, tangent = lfw.unpack_dual(d)
        assert tangent is t and primal._base is x and lfw.unpack_dual(primal).tangent is None
        assert lfw.unpack_dual(x) == (x, None)
        assert isinstance(lfw.unpack_dual(d), lfw.UnpackedDualTensor)


def test_errors_as_torch(device):
    x = lucid.randn(3, dtype=lucid.float64, device=device)
    with pytest.raises(RuntimeError, match="no level exists"):
        lfw.make_dual(x, x)
    with pytest.raises(RuntimeError, match="no dual level is open"):
        lfw.exit_dual_level()
    with lfw.dual_level():
        with pytest.raises(RuntimeError, match="Nested forward mode AD"):
            lfw.enter_dual_level()
        with pytest.raises(RuntimeError, match=r"size \[3\] while the given forward gradient is of size \[4\]"):
            lfw.make_dual(x, lucid.randn(4, dtype=lucid.float64, device=device))
        with pytest.raises(ValueError, match="primal to be floating point or complex, but got: int64"):
            lfw.make_dual(lucid.arange(3, device=device), lucid.arange(3, device=device))
        with pytest.raises(ValueError, match="tangent to be floating point or complex, but got: int64"):
            lfw.make_dual(x, lucid.arange(3, device=device))
        with pytest.raises(TypeError, match="must be a Tensor"):
            lfw.make_dual(x, 3.0)
        d = lfw.make_dual(x, x.clone())
        with pytest.raises(RuntimeError, match="already has a forward gradient"):
            lfw.make_dual(d, x)
        with pytest.raises(RuntimeError, match="itself has a forward gradient"):
            lfw.make_dual(x.clone(), d)
        with pytest.raises(RuntimeError, match="invalid level 1"):
            lfw.unpack_dual(d, level=1)
        with pytest.raises(RuntimeError, match="not the last one"):
            lfw.exit_dual_level(level=3)
        assert lfw.unpack_dual(d, level=0).tangent is not None
    with tfw.dual_level():  # the oracle raises in the same places
        tx = torch.randn(3, dtype=torch.float64)
        with pytest.raises(RuntimeError, match="Nested forward mode AD"):
            tfw.enter_dual_level()
        with pytest.raises(RuntimeError, match="different size"):
            tfw.make_dual(tx, torch.randn(4, dtype=torch.float64))
        with pytest.raises(ValueError, match="primal to be floating point"):
            tfw.make_dual(torch.arange(3), torch.arange(3))
        td = tfw.make_dual(tx, tx.clone())
        with pytest.raises(RuntimeError, match="already has a forward gradient"):
            tfw.make_dual(td, tx)


def test_make_dual_checks_devices(device_pair):
    here, there = device_pair
    with lfw.dual_level(), pytest.raises(lucid.DeviceMismatchError if hasattr(lucid, "DeviceMismatchError")
                                         else RuntimeError, match="tangent is on"):
        lfw.make_dual(lucid.zeros(2, device=here), lucid.zeros(2, device=there))


def test_tangent_dtype_is_cast_to_the_primal(device):
    with lfw.dual_level():
        d = lfw.make_dual(lucid.ones(2, dtype=lucid.float64, device=device), lucid.ones(2, device=device))
        assert lfw.unpack_dual(d).tangent.dtype is lucid.float64


def test_dual_level_is_a_decorator(device):
    @lfw.dual_level()
    def jvp_of_square(x, t):
        return lfw.unpack_dual(lfw.make_dual(x, t) ** 2).tangent

    x = lucid.tensor([1.0, 2.0], dtype=lucid.float64, device=device)
    _same(jvp_of_square(x, lucid.ones_like(x)), 2 * x)
    with pytest.raises(RuntimeError, match="no dual level is open"):
        lfw.exit_dual_level()


# ---- custom Functions --------------------------------------------------------------------------------------------
def _mul_function(M):
    class Mul(M.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_forward(x, y)
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def jvp(ctx, tx, ty):
            x, y = ctx.saved_tensors
            return tx * y + x * ty

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y, g * x

    class NoJvp(M.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    return Mul, NoJvp


def test_custom_function_jvp_as_torch(device):
    x, y, t = (np.random.default_rng(i).standard_normal(3) for i in range(3))
    results = []
    for M, fw, make in ((lucid, lfw, lambda a: lucid.tensor(a, dtype=lucid.float64, device=device)),
                        (torch, tfw, lambda a: torch.tensor(a, dtype=torch.float64))):
        Mul, NoJvp = _mul_function(M)
        with fw.dual_level():
            d = fw.make_dual(make(x), make(t))
            results.append(fw.unpack_dual(Mul.apply(d, make(y))).tangent)  # y has no tangent: zeros reach jvp
            with pytest.raises(NotImplementedError, match="must implement the jvp function"):
                NoJvp.apply(d)
            assert fw.unpack_dual(NoJvp.apply(make(x))).tangent is None  # no dual input: no jvp needed
    _same(*results)


def _split_function(M):
    """Two outputs, written with setup_context (PyTorch's newer style)."""

    class SinCos(M.autograd.Function):
        @staticmethod
        def forward(x, scale):
            return M.sin(x) * scale, M.cos(x)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_forward(inputs[0])
            ctx.scale = inputs[1]

        @staticmethod
        def jvp(ctx, tx, _):
            (x,) = ctx.saved_tensors
            return M.cos(x) * tx * ctx.scale, -M.sin(x) * tx

        @staticmethod
        def backward(ctx, gs, gc):
            raise AssertionError("not reached")

    return SinCos


def test_custom_function_two_outputs_setup_context(device):
    x, t = (np.random.default_rng(i).standard_normal(4) for i in (4, 5))
    results = []
    for M, fw, make in ((lucid, lfw, lambda a: lucid.tensor(a, dtype=lucid.float64, device=device)),
                        (torch, tfw, lambda a: torch.tensor(a, dtype=torch.float64))):
        with fw.dual_level(), M.no_grad():
            s, c = _split_function(M).apply(fw.make_dual(make(x), make(t)), 3.0)
            results.append((fw.unpack_dual(s).tangent, fw.unpack_dual(c).tangent))
    for g, w in zip(*results):
        _same(g, w)


def test_checkpoint_passes_tangents(device):
    """torch's non-reentrant checkpoint supports forward AD; lucid's runs the function plainly under a dual level."""
    from lucid.utils.checkpoint import checkpoint

    x = lucid.randn(3, dtype=lucid.float64, device=device, requires_grad=True)
    t = lucid.randn(3, dtype=lucid.float64, device=device)
    with lfw.dual_level():
        y = checkpoint(lambda a: lucid.exp(a) * a, lfw.make_dual(x, t), use_reentrant=False)
        _same(lfw.unpack_dual(y).tangent, (lucid.exp(x) * (x + 1) * t).detach())


# ---- forward-over-reverse ------------------------------------------------------------------------------------------
def _loss(M, F, x, w):
    return (M.tanh(x @ w) * M.sin(x @ w)).sum() + (x ** 3).sum() + M.exp(x).sum()


def test_hessian_vector_product_as_torch(device):
    r = np.random.default_rng(7)
    x, w, v = r.standard_normal((2, 3)), r.standard_normal((3, 4)), r.standard_normal((2, 3))
    lx = lucid.tensor(x, dtype=lucid.float64, device=device, requires_grad=True)
    lw = lucid.tensor(w, dtype=lucid.float64, device=device, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    with lfw.dual_level():
        jvp = lfw.unpack_dual(_loss(lucid, LFn, lfw.make_dual(lx, lucid.tensor(v, device=device)), lw)).tangent
        assert jvp.requires_grad
        got = lucid.autograd.grad(jvp, [lx, lw])
    with tfw.dual_level():
        jvp_t = tfw.unpack_dual(_loss(torch, TFn, tfw.make_dual(tx, torch.tensor(v)), tw)).tangent
        want = torch.autograd.grad(jvp_t, [tx, tw])
    _same(jvp, jvp_t)
    for g, w_ in zip(got, want):
        _same(g, w_)


def test_hessian_vector_product_through_softmax_layer_norm(device):
    """torch 2.13's forward-over-reverse raises for softmax and log_softmax (an in-place op on a saved tensor):
    checked against reverse-over-reverse instead."""
    r = np.random.default_rng(8)
    x = lucid.tensor(r.standard_normal((2, 4)), dtype=lucid.float64, device=device, requires_grad=True)
    v = lucid.tensor(r.standard_normal((2, 4)), dtype=lucid.float64, device=device)

    def f(x):
        return (LFn.softmax(x, dim=-1) * LFn.log_softmax(x * x, dim=0) * LFn.layer_norm(x, (4,))).sum()

    with lfw.dual_level():
        (hvp,) = lucid.autograd.grad(lfw.unpack_dual(f(lfw.make_dual(x, v))).tangent, [x])
    (g,) = lucid.autograd.grad(f(x), [x], create_graph=True)
    (expected,) = lucid.autograd.grad((g * v).sum(), [x])
    _same(hvp, expected)


def test_backward_through_dual_outputs_reaches_the_inputs(device):
    x = lucid.randn(3, dtype=lucid.float64, device=device, requires_grad=True)
    with lfw.dual_level():
        y = (lucid.exp(lfw.make_dual(x, lucid.ones_like(x).detach())) * x).sum()
    y.backward()
    _same(x.grad, lucid.exp(x) * x + lucid.exp(x))


@pytest.mark.parametrize("create_graph", [False, True])
def test_gradient_taken_in_the_level_carries_its_tangent_as_torch(create_graph, device):
    """Forward-over-reverse: ``autograd.grad`` run inside the level gives gradients whose tangents are
    Hessian-vector products (also without ``create_graph``, as PyTorch); ``.grad`` of leaves gets none."""
    r = np.random.default_rng(9)
    x, w, v = r.standard_normal((2, 3)), r.standard_normal((3, 4)), r.standard_normal((2, 3))

    def run(M, F, fw, make):
        leaf = make(x).requires_grad_()
        weight = make(w).requires_grad_()
        with fw.dual_level():
            dual = fw.make_dual(leaf, make(v))
            gx, gw = M.autograd.grad(_loss(M, F, dual, weight), [dual, weight], create_graph=create_graph)
            out = [fw.unpack_dual(gx), fw.unpack_dual(gw), gx.requires_grad]
            _loss(M, F, dual, weight).backward()
            out.append(fw.unpack_dual(weight.grad).tangent)
        return out

    got = run(lucid, LFn, lfw, lambda a: lucid.tensor(a, dtype=lucid.float64, device=device))
    want = run(torch, TFn, tfw, lambda a: torch.tensor(a, dtype=torch.float64))
    for (gp, gt), (wp, wt) in zip(got[:2], want[:2]):
        _same(gp, wp)
        _same(gt, wt)
    assert got[2] == want[2] == create_graph
    assert got[3] is None and want[3] is None


def test_gradient_of_a_network_taken_in_the_level_as_torch(device):
    """Forward-over-reverse through layers whose first-order backward has a fused kernel (log-softmax, layer
    norm, softplus) and outputs saved for backward (tanh, sigmoid): the gradients' tangents are PyTorch's."""
    r = np.random.default_rng(10)
    arrays = [r.standard_normal(s) for s in [(5, 4), (6, 4), (6,), (3, 6), (3,), (5, 4), (6, 4), (3, 6)]]
    target = [0, 2, 1, 1, 0]

    def run(M, F, fw, make):
        x, w1, b1, w2, b2, tx, tw1, tw2 = [make(a) for a in arrays]
        params = [w1.requires_grad_(), b1.requires_grad_(), w2.requires_grad_(), b2.requires_grad_()]
        with fw.dual_level():
            dx, dw1, dw2 = fw.make_dual(x, tx), fw.make_dual(w1, tw1), fw.make_dual(w2, tw2)
            h = F.layer_norm(M.tanh(F.linear(dx, dw1, b1)), (6,))
            logits = F.linear(F.softplus(h) * M.sigmoid(h), dw2, b2)
            loss = F.cross_entropy(logits, M.tensor(target, device=x.device)) + F.log_softmax(logits, 0).exp().mean()
            return [fw.unpack_dual(g).tangent for g in M.autograd.grad(loss, params)]

    got = run(lucid, LFn, lfw, lambda a: lucid.tensor(a, dtype=lucid.float64, device=device))
    want = run(torch, TFn, tfw, lambda a: torch.tensor(a, dtype=torch.float64))
    for g, w in zip(got, want):
        _same(g, w)


# ---- views and in-place ops -----------------------------------------------------------------------------------------
def _inplace_program(M, fw, make, p, t, v):
    """In-place updates of dual and plain tensors and of views, as PyTorch programs write them; returns the
    (primal, tangent) pairs to compare."""
    out = []
    base = fw.make_dual(make(p), make(t))
    view = base[1]
    older = base[0]
    view.mul_(fw.make_dual(make(v), make(v) * 2))
    out += [fw.unpack_dual(base), fw.unpack_dual(view), fw.unpack_dual(older)]
    base.add_(1.5)
    base.exp_()
    out += [fw.unpack_dual(base), fw.unpack_dual(view)]
    plain = make(np.zeros((2, 3)))
    first, second = plain[0], plain[1]
    first.copy_(fw.make_dual(make(v), make(v)))
    out += [fw.unpack_dual(plain), fw.unpack_dual(first), fw.unpack_dual(second)]
    plain[1] = fw.make_dual(make(v), make(v) * 3) * 2
    out += [fw.unpack_dual(plain), fw.unpack_dual(second)]
    filled = fw.make_dual(make(p), make(t))
    filled.fill_(2.0)
    out.append(fw.unpack_dual(filled))
    return out


def test_inplace_and_views_as_torch(device):
    r = np.random.default_rng(3)
    p, t, v = r.standard_normal((2, 3)), r.standard_normal((2, 3)), r.standard_normal(3)
    with lfw.dual_level():
        got = _inplace_program(lucid, lfw, lambda a: lucid.tensor(a, dtype=lucid.float64, device=device), p, t, v)
    with tfw.dual_level():
        want = _inplace_program(torch, tfw, lambda a: torch.tensor(a, dtype=torch.float64), p, t, v)
    for g, w in zip(got, want):
        _same(g.primal, w.primal)
        _same(g.tangent, w.tangent)


def test_in_place_shape_changes_as_torch(device):
    r = np.random.default_rng(13)
    p, t = r.standard_normal((2, 3)), r.standard_normal((2, 3))
    results = []
    for fw, make in ((lfw, lambda a: lucid.tensor(a, dtype=lucid.float64, device=device)),
                     (tfw, lambda a: torch.tensor(a, dtype=torch.float64))):
        with fw.dual_level():
            d = fw.make_dual(make(p), make(t))
            d.t_()
            d.unsqueeze_(0)
            view = (d * 1.0)[0]
            view.t_()
            results.append([fw.unpack_dual(d), fw.unpack_dual(view)])
    for g, w in zip(*results):
        _same(g.primal, w.primal)
        _same(g.tangent, w.tangent)


def test_tangent_of_make_dual_is_written_in_place(device):
    t = lucid.ones(3, dtype=lucid.float64, device=device)
    with lfw.dual_level():
        d = lfw.make_dual(lucid.ones(3, dtype=lucid.float64, device=device), t)
        d.mul_(5)
        assert lfw.unpack_dual(d).tangent is t
    _same(t, lucid.full((3,), 5.0, dtype=lucid.float64, device=device))


def test_view_tangent_shares_the_base_tangent(device):
    with lfw.dual_level():
        base = lfw.make_dual(lucid.ones(2, 3, dtype=lucid.float64, device=device),
                             lucid.ones(2, 3, dtype=lucid.float64, device=device))
        view = base[1]
        view.mul_(2)
        tangent = lfw.unpack_dual(base).tangent
        _same(tangent, lucid.tensor([[1.0] * 3, [2.0] * 3], dtype=lucid.float64, device=device))
        assert lfw.unpack_dual(view).tangent._base is tangent


def test_inplace_under_grad_keeps_tangent_and_gradient(device):
    r = np.random.default_rng(11)
    p, t = r.standard_normal(4), r.standard_normal(4)
    results = []
    for M, fw, make in ((lucid, lfw, lambda a, g=False: lucid.tensor(a, dtype=lucid.float64, device=device,
                                                                       requires_grad=g)),
                        (torch, tfw, lambda a, g=False: torch.tensor(a, dtype=torch.float64, requires_grad=g))):
        x = make(p, True)
        with fw.dual_level():
            y = fw.make_dual(x, make(t)) * 1.0
            y.mul_(y + 1)  # (y.mul_(y) itself fails in lucid's reverse mode with or without forward AD)
            y[1:].sin_()
            jvp = fw.unpack_dual(y).tangent
            (g,) = M.autograd.grad(jvp.sum(), [x])
            results.append((jvp, g))
    _same(results[0][0], results[1][0])
    _same(results[0][1], results[1][1])


def test_no_interceptor_outside_a_level():
    from lucid.autograd import function

    before = function.interceptors
    with lfw.dual_level():
        assert len(function.interceptors) == len(before) + 1 and function.dual_mode is not None
    assert function.interceptors == before and function.dual_mode is None


def test_torch_compat_alias():
    from lucid import torch_compat

    assert torch_compat.ALIASES["torch.autograd.forward_ad"] == "lucid.autograd.forward_ad"
