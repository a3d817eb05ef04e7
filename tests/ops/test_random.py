"""Random numbers: Generator objects, seeding and states, ``generator=`` on every random function,
the samplers (randint, multinomial, bernoulli, poisson, binomial, normal) and the in-place fills.
Compared with PyTorch for shapes, dtypes, errors and statistics, never for the exact streams."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.nn as nn


def host(t):
    return t.detach().numpy(force=True)


def gen(device, seed=0):
    return lucid.Generator(device).manual_seed(seed)


# ---- Generator ----------------------------------------------------------------------------------------------
def test_new_generator_starts_from_torchs_default_seed():
    torch = pytest.importorskip("torch")
    g = lucid.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed()
    assert str(g.device) == "cpu"
    np.testing.assert_array_equal(host(lucid.rand(4, generator=g)), host(lucid.rand(4, generator=lucid.Generator())))


def test_manual_seed_returns_the_generator_and_restarts_the_stream(device):
    g = lucid.Generator(device)
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    first = host(lucid.randn(6, generator=g, device=device))
    g.manual_seed(5)
    np.testing.assert_array_equal(host(lucid.randn(6, generator=g, device=device)), first)
    g.manual_seed(6)
    assert not np.array_equal(host(lucid.randn(6, generator=g, device=device)), first)
    assert lucid.Generator(device).manual_seed(-1).initial_seed() == 2**64 - 1  # wraps, as PyTorch's
    with pytest.raises(TypeError, match="int seed"):
        g.manual_seed(1.5)


def test_generators_are_independent_of_each_other_and_of_the_default(device):
    lucid.manual_seed(3)
    default_only = host(lucid.rand(5, device=device))
    a, b = gen(device, 1), gen(device, 1)
    lucid.manual_seed(3)
    from_a = host(lucid.rand(5, generator=a, device=device))
    assert np.array_equal(host(lucid.rand(5, device=device)), default_only)  # a's draws left the default alone
    np.testing.assert_array_equal(host(lucid.rand(5, generator=b, device=device)), from_a)  # b unaffected by a


def test_seed_draws_a_fresh_seed():
    g = lucid.Generator()
    s = g.seed()
    assert isinstance(s, int) and g.initial_seed() == s and s != lucid.Generator().seed()
    top = lucid.seed()
    assert lucid.initial_seed() == top == lucid.random.initial_seed()


def test_state_round_trip(device):
    g = gen(device, 11)
    state = g.get_state()
    assert state.dtype is lucid.uint8 and state.ndim == 1 and str(state.device) == "cpu"
    first = host(lucid.rand(8, generator=g, device=device))
    assert g.set_state(state) is g
    np.testing.assert_array_equal(host(lucid.rand(8, generator=g, device=device)), first)
    other = gen(device, 99).set_state(state)  # a state moves between generators
    g.set_state(state)
    np.testing.assert_array_equal(host(lucid.rand(8, generator=other, device=device)), first)


@pytest.mark.parametrize("bad, error", [
    (lambda: lucid.zeros(4), TypeError),                                  # not uint8
    (lambda: lucid.zeros((2, 2), dtype=lucid.uint8), TypeError),          # not 1-D
    (lambda: [1, 2, 3], TypeError),                                       # not a tensor
    (lambda: lucid.zeros(4, dtype=lucid.uint8), ValueError),              # bytes, but no state
    (lambda: lucid.tensor(list(b'{"bit_generator": "PCG64"}'), dtype=lucid.uint8), ValueError),
])
def test_bad_state_raises_and_leaves_the_generator_alone(bad, error):
    g = gen("cpu", 4)
    state = g.get_state()
    with pytest.raises(error, match="get_state|get_rng_state"):
        g.set_state(bad())
    np.testing.assert_array_equal(host(g.get_state()), host(state))


def test_torch_refuses_what_lucid_refuses():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        torch.Generator().set_state(torch.zeros(4))
    with pytest.raises(RuntimeError):
        torch.Generator().set_state(torch.zeros(4, dtype=torch.uint8))


def test_default_generator_and_rng_state_functions(device):
    assert lucid.default_generator is lucid.random.default_generator
    assert lucid.manual_seed(8) is lucid.default_generator and lucid.initial_seed() == 8
    state = lucid.get_rng_state()
    a = host(lucid.rand(3))
    lucid.set_rng_state(state)
    np.testing.assert_array_equal(host(lucid.rand(3)), a)
    dev_state = lucid.random.get_rng_state(device)
    b = host(lucid.rand(3, device=device))
    lucid.random.set_rng_state(dev_state, device)
    np.testing.assert_array_equal(host(lucid.rand(3, device=device)), b)


def test_random_module_names_match_torch_random():
    torch = pytest.importorskip("torch")
    for name in ("manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "fork_rng",
                 "default_generator"):
        assert hasattr(torch.random, name) and hasattr(lucid.random, name), name


def test_fork_rng_restores_the_default_generator():
    lucid.manual_seed(2)
    expected = host(lucid.rand(4))
    lucid.manual_seed(2)
    with lucid.random.fork_rng():
        lucid.rand(100)
        lucid.manual_seed(50)
    np.testing.assert_array_equal(host(lucid.rand(4)), expected)
    lucid.manual_seed(2)
    with lucid.random.fork_rng(enabled=False):
        lucid.rand(1)
    assert not np.array_equal(host(lucid.rand(4)), expected)


def test_generator_of_another_device_type_is_refused(device):
    if device.type == "cpu":
        pytest.skip("needs a second device type")
    with pytest.raises(RuntimeError, match="device type for generator"):
        lucid.rand(2, device=device, generator=lucid.Generator("cpu"))
    with pytest.raises(TypeError, match="lucid.Generator"):
        lucid.rand(2, generator=np.random.default_rng(0))


# ---- generator= on every random function ---------------------------------------------------------------------
def _calls(L, g, device, like, probs):
    """name -> a call of a random function of module ``L`` (lucid or torch) drawing from ``g``."""
    kw = {"generator": g}
    return {
        "rand": lambda: L.rand(2, 3, **kw, device=device),
        "randn": lambda: L.randn((2, 3), **kw, device=device),
        "randint_high": lambda: L.randint(5, (4,), **kw, device=device),
        "randint_low_high": lambda: L.randint(-3, 5, (2, 2), **kw, device=device),
        "randint_size_kw": lambda: L.randint(0, 5, size=(3,), **kw, device=device),
        "randint_keywords": lambda: L.randint(high=5, size=(3,), **kw, device=device),
        "randperm": lambda: L.randperm(7, **kw, device=device),
        "randperm_int32": lambda: L.randperm(7, **kw, dtype=L.int32, device=device),
        "rand_like": lambda: L.rand_like(like, **kw),
        "randn_like": lambda: L.randn_like(like, **kw),
        "randint_like": lambda: L.randint_like(like, 10, **kw),
        "randint_like_low": lambda: L.randint_like(like, 2, 10, **kw),
        "normal_numbers": lambda: L.normal(2.0, 3.0, (3, 2), **kw, device=device),
        "normal_tensors": lambda: L.normal(like, like + 1, **kw),
        "normal_tensor_mean": lambda: L.normal(like, 2.0, **kw),
        "normal_tensor_std": lambda: L.normal(1.0, like + 1, **kw),
        "bernoulli": lambda: L.bernoulli(probs, **kw),
        "bernoulli_p": lambda: L.bernoulli(like, 0.3, **kw),
        "multinomial": lambda: L.multinomial(probs, 2, **kw),
        "multinomial_replacement": lambda: L.multinomial(probs, 5, True, **kw),
        "poisson": lambda: L.poisson(like + 1, **kw),
        "binomial": lambda: L.binomial(like + 4, probs, **kw),
        "Tensor.bernoulli": lambda: probs.bernoulli(**kw),
        "Tensor.multinomial": lambda: probs.multinomial(2, **kw),
        "normal_": lambda: like.clone().normal_(1.0, 2.0, **kw),
        "uniform_": lambda: like.clone().uniform_(-1, 1, **kw),
        "exponential_": lambda: like.clone().exponential_(2.0, **kw),
        "geometric_": lambda: like.clone().geometric_(0.3, **kw),
        "cauchy_": lambda: like.clone().cauchy_(**kw),
        "log_normal_": lambda: like.clone().log_normal_(**kw),
        "random_": lambda: like.clone().random_(**kw),
        "random_to": lambda: like.clone().random_(10, **kw),
        "random_from_to": lambda: like.clone().random_(-5, 5, **kw),
        "random_int": lambda: L.zeros(3, dtype=L.int64, device=device).random_(**kw),
        "random_uint8": lambda: L.zeros(3, dtype=L.uint8, device=device).random_(**kw),
        "bernoulli_": lambda: like.clone().bernoulli_(0.4, **kw),
        "bernoulli_tensor": lambda: like.clone().bernoulli_(probs, **kw),
    }


CALLS = list(_calls(lucid, None, "cpu", None, None))


@pytest.mark.parametrize("name", CALLS)
def test_generator_makes_every_random_function_reproducible(device, name):
    like = lucid.tensor([[0.5, 1.5, 2.5], [0.1, 0.2, 0.3]], device=device)
    probs = lucid.tensor([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]], device=device)
    g = gen(device, 21)
    first = _calls(lucid, g, device, like, probs)[name]()
    again = _calls(lucid, g.manual_seed(21), device, like, probs)[name]()
    np.testing.assert_array_equal(host(first), host(again))
    torch = pytest.importorskip("torch")
    t_like, t_probs = torch.tensor(host(like)), torch.tensor(host(probs))
    theirs = _calls(torch, torch.Generator().manual_seed(0), "cpu", t_like, t_probs)[name]()
    assert tuple(first.shape) == tuple(theirs.shape) and first.dtype.name == str(theirs.dtype).removeprefix("torch.")
    assert str(first.device) == str(device)


def test_seeded_calls_without_generator_follow_manual_seed(device):
    lucid.manual_seed(4)
    a = [host(lucid.multinomial(lucid.ones(5, device=device), 3)), host(lucid.zeros(4, device=device).normal_())]
    lucid.manual_seed(4)
    b = [host(lucid.multinomial(lucid.ones(5, device=device), 3)), host(lucid.zeros(4, device=device).normal_())]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


# ---- distributions ------------------------------------------------------------------------------------------------
N = 40000


def test_randint_and_random_ranges(device):
    g = gen(device)
    r = host(lucid.randint(-3, 4, (N,), generator=g, device=device))
    assert r.min() == -3 and r.max() == 3 and r.dtype == np.int64
    assert abs(r.mean()) < 0.05
    f = host(lucid.zeros(N, device=device).random_(generator=g))
    assert 0 <= f.min() and f.max() <= 2**24 and f.max() > 2**23 and (f == np.round(f)).all()
    u8 = host(lucid.zeros(N, dtype=lucid.uint8, device=device).random_(generator=g))
    assert u8.min() == 0 and u8.max() == 255
    b = host(lucid.zeros(100, dtype=lucid.bool_, device=device).random_(generator=g))
    assert b.any() and not b.all()
    ft = host(lucid.zeros(N, device=device).random_(2, 6, generator=g))
    assert set(np.unique(ft)) == {2, 3, 4, 5}


def test_multinomial_statistics(device):
    g = gen(device)
    w = lucid.tensor([[1.0, 0.0, 3.0, 4.0], [5.0, 1.0, 0.0, 0.0]], device=device)
    draws = host(lucid.multinomial(w, N, True, generator=g))
    assert draws.shape == (2, N) and draws.dtype == np.int64
    for row, weights in zip(draws, host(w)):
        np.testing.assert_allclose(np.bincount(row, minlength=4) / N, weights / weights.sum(), atol=0.01)
    once = host(lucid.multinomial(lucid.tensor([1.0, 2.0, 3.0, 4.0], device=device), 4, generator=g))
    assert sorted(once.tolist()) == [0, 1, 2, 3]  # without replacement: a permutation
    firsts = [host(lucid.multinomial(lucid.tensor([1.0, 9.0], device=device), 1, generator=g))[0] for _ in range(400)]
    assert 0.85 < np.mean(firsts) < 0.95  # the first draw follows the weights
    zeros_last = host(lucid.multinomial(lucid.tensor([0.0, 1.0, 0.0], device=device), 3, generator=g))
    assert zeros_last[0] == 1  # weight-zero categories only after the others, as PyTorch


BAD_MULTINOMIAL = {
    "negative": (lambda L: L.multinomial(L.tensor([-1.0, 1.0]), 1), "element < 0"),
    "nan": (lambda L: L.multinomial(L.tensor([float("nan"), 1.0]), 1), "inf"),
    "zero row": (lambda L: L.multinomial(L.tensor([[1.0, 1.0], [0.0, 0.0]]), 1), "sum of probabilities"),
    "too many": (lambda L: L.multinomial(L.tensor([1.0, 1.0]), 3), "without replacement"),
    "3-D": (lambda L: L.multinomial(L.ones(2, 2, 2), 1), "1 or 2 dim"),
    "no samples": (lambda L: L.multinomial(L.ones(3), 0), "n_sample <= 0"),
    "bernoulli p>1": (lambda L: L.bernoulli(L.tensor([2.0])), "p_in"),
    "bernoulli_ p<0": (lambda L: L.zeros(2).bernoulli_(-0.1), "p"),
    "poisson negative": (lambda L: L.poisson(L.tensor([-1.0])), "non-negative"),
    "normal std<0": (lambda L: L.normal(L.zeros(2), -1.0), "std >= 0.0"),
    "normal_ std<0": (lambda L: L.zeros(2).normal_(0.0, -1.0), "std >= 0.0"),
    "uniform_ from>to": (lambda L: L.zeros(2).uniform_(2, 1), "from=2 > to=1"),
    "exponential_ lambda<=0": (lambda L: L.zeros(2).exponential_(-1), "lambda > 0.0"),
    "geometric_ p=0": (lambda L: L.zeros(2).geometric_(0), r"p to be in \(0, 1\)"),
    "random_ from>=to": (lambda L: L.zeros(2).random_(5, 2), "'from' to be less than 'to'"),
    "randint low>=high": (lambda L: L.randint(5, 0, (2,)), "'from' to be less than 'to'"),
    "log_normal_ std<=0": (lambda L: L.zeros(2).log_normal_(0.0, 0.0), "std > 0.0"),
    "cauchy_ sigma<=0": (lambda L: L.zeros(2).cauchy_(0.0, -1.0), "sigma > 0.0"),
}


@pytest.mark.parametrize("case", BAD_MULTINOMIAL)
def test_bad_distribution_arguments_raise_like_torch(case):
    fn, message = BAD_MULTINOMIAL[case]
    with pytest.raises(RuntimeError, match=message):
        fn(lucid)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        fn(torch)


def test_bernoulli_poisson_binomial_statistics(device):
    g = gen(device)
    p = lucid.full((N,), 0.3, dtype=lucid.float64, device=device)
    b = host(lucid.bernoulli(p, generator=g))
    assert b.dtype == np.float64 and set(np.unique(b)) == {0.0, 1.0} and abs(b.mean() - 0.3) < 0.01
    assert abs(host(lucid.bernoulli(p, 0.8, generator=g)).mean() - 0.8) < 0.01
    assert abs(host(lucid.zeros(N, device=device).bernoulli_(p, generator=g)).mean() - 0.3) < 0.01
    ints = host(lucid.zeros(N, dtype=lucid.int64, device=device).bernoulli_(0.5, generator=g))
    assert ints.dtype == np.int64 and abs(ints.mean() - 0.5) < 0.01
    rate = lucid.full((N,), 4.0, device=device)
    k = host(lucid.poisson(rate, generator=g))
    assert k.dtype == np.float32 and abs(k.mean() - 4) < 0.06 and abs(k.var() - 4) < 0.2
    n = host(lucid.binomial(lucid.full((N,), 10.0, device=device), lucid.full((N,), 0.3, device=device), generator=g))
    assert (n == np.round(n)).all() and abs(n.mean() - 3) < 0.05 and abs(n.var() - 2.1) < 0.1


@pytest.mark.parametrize("method, args, mean, var", [
    ("normal_", (1.0, 2.0), 1.0, 4.0),
    ("uniform_", (-1.0, 3.0), 1.0, 16 / 12),
    ("exponential_", (2.0,), 0.5, 0.25),
    ("geometric_", (0.25,), 4.0, 0.75 / 0.0625),
    ("log_normal_", (0.0, 0.5), np.exp(0.125), (np.exp(0.25) - 1) * np.exp(0.25)),
])
def test_inplace_fills_have_the_right_moments(device, method, args, mean, var):
    x = lucid.zeros(N, dtype=lucid.float64, device=device)
    out = getattr(x, method)(*args, generator=gen(device))
    assert out is x and x.dtype is lucid.float64
    values = host(x)
    assert abs(values.mean() - mean) < 5 * np.sqrt(var / N)
    assert abs(values.var() / var - 1) < 0.08
    if method == "geometric_":
        assert values.min() >= 1 and (values == np.round(values)).all()


def test_cauchy_median_and_quartiles(device):
    values = host(lucid.zeros(N, dtype=lucid.float64, device=device).cauchy_(2.0, 0.5, generator=gen(device)))
    np.testing.assert_allclose(np.percentile(values, [25, 50, 75]), [1.5, 2.0, 2.5], atol=0.03)


def test_normal_forms_broadcast_and_moments(device):
    g = gen(device)
    mean = lucid.tensor([[0.0], [10.0]], dtype=lucid.float64, device=device)
    std = lucid.full((1, N), 2.0, dtype=lucid.float64, device=device)
    out = host(lucid.normal(mean, std, generator=g))
    assert out.shape == (2, N)
    np.testing.assert_allclose(out.mean(axis=1), [0.0, 10.0], atol=0.05)
    np.testing.assert_allclose(out.std(axis=1), [2.0, 2.0], atol=0.05)
    assert abs(host(lucid.normal(3.0, 0.5, (N,), generator=g, device=device)).std() - 0.5) < 0.01


def test_sample_gradients_are_zero_as_torch(device):
    torch = pytest.importorskip("torch")
    for fn in (lambda L, m, s: L.normal(m, s), lambda L, m, s: L.normal(m, 2.0), lambda L, m, s: L.bernoulli(m),
               lambda L, m, s: L.poisson(m * 3)):
        ours = [lucid.full((3,), 0.5, device=device, requires_grad=True) for _ in range(2)]
        theirs = [torch.full((3,), 0.5, requires_grad=True) for _ in range(2)]
        out, ref = fn(lucid, *ours), fn(torch, *theirs)
        assert out.requires_grad == ref.requires_grad
        (out * 2).sum().backward()
        (ref * 2).sum().backward()
        for a, b in zip(ours, theirs):
            if b.grad is None:
                assert a.grad is None
            else:
                np.testing.assert_array_equal(host(a.grad), b.grad.numpy())
    with lucid.no_grad():
        assert not lucid.normal(lucid.zeros(2, requires_grad=True), 1.0).requires_grad


def test_inplace_fill_on_a_leaf_that_requires_grad_is_refused():
    x = lucid.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.normal_()
    y = x * 1
    y.uniform_()
    y.sum().backward()
    np.testing.assert_array_equal(host(x.grad), np.zeros(3))  # the fill cut the gradient, as PyTorch's


def test_inplace_fill_needs_a_floating_tensor():
    for method in ("normal_", "uniform_", "exponential_", "cauchy_", "log_normal_"):
        with pytest.raises(TypeError, match="floating"):
            getattr(lucid.zeros(2, dtype=lucid.int64), method)()


# ---- nn.init with generator= ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_",
                                "kaiming_uniform_", "kaiming_normal_", "orthogonal_"])
def test_init_functions_draw_from_the_generator(device, fn):
    def draw(seed):
        w = lucid.zeros(4, 5, device=device)
        getattr(nn.init, fn)(w, generator=gen(device, seed))
        return host(w)

    lucid.manual_seed(0)
    a = draw(1)
    lucid.manual_seed(77)  # the default generator plays no part
    np.testing.assert_array_equal(draw(1), a)
    assert not np.array_equal(draw(2), a)


def test_sparse_init_draws_from_the_generator(device):
    ws = [lucid.zeros(6, 3, device=device) for _ in range(2)]
    for w in ws:
        nn.init.sparse_(w, 0.5, generator=gen(device, 3))
    np.testing.assert_array_equal(host(ws[0]), host(ws[1]))
    assert ((host(ws[0]) == 0).sum(axis=0) == 3).all()
