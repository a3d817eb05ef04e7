"""Seeded alike, lucid draws PyTorch's CPU random numbers (lucid/_backend/torch_random.py): the raw uniform, normal,
integer, permutation and Bernoulli kernels, what is built on them (dropout, initialisers, DataLoader shuffling),
and generator objects and states. Bit for bit except float32 normals of 16 or more elements (a few ulps)."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest

import lucid

torch = pytest.importorskip("torch")

P = np.random.default_rng(0).random((4, 7)).astype(np.float32)
P[1, 2] = 0.0  # a category of weight zero

EXACT = {
    "rand": lambda m: m.rand(3, 40),
    "rand float64": lambda m: m.rand(50, dtype=m.float64),
    "rand float16": lambda m: m.rand(40, dtype=m.float16).float(),
    "rand bfloat16": lambda m: m.rand(40, dtype=m.bfloat16).float(),
    "uniform_": lambda m: m.empty(300).uniform_(-0.3, 0.7),
    "uniform_ float64": lambda m: m.empty(30, dtype=m.float64).uniform_(-2, 3),
    "randn under 16, cached pair": lambda m: m.cat([m.randn(5), m.randn(3), m.randn(2, 3).flatten()]),
    "randn float64": lambda m: m.randn(7, 9, dtype=m.float64),
    "normal_ float64": lambda m: m.empty(37, dtype=m.float64).normal_(1.5, 2.0),
    "randn complex128": lambda m: m.view_as_real(m.randn(3, 5, dtype=m.complex128)),
    "rand complex64": lambda m: m.view_as_real(m.rand(3, 5, dtype=m.complex64)),
    "uniform_ complex128": lambda m: m.view_as_real(m.empty(7, dtype=m.complex128).uniform_(-1, 2)),
    # (std = 2 sqrt(2): each part's std 2 is exact, so the parts match bit for bit; other stds round apart)
    "normal complex128, mean on both parts": lambda m: m.view_as_real(
        m.normal(1.5, 2 * 2 ** 0.5, (7,), dtype=m.complex128)),
    "normal_ complex128": lambda m: m.view_as_real(m.empty(3, 4, dtype=m.complex128).normal_(-1.0, 2 ** 0.5)),
    "randint": lambda m: m.randint(3, 17, (40,)),
    "randint wide": lambda m: m.randint(-2**40, 2**40, (20,)),
    "random_": lambda m: m.cat([m.empty(9, dtype=m.int64).random_(), m.empty(9).random_().long()]),
    "randperm": lambda m: m.randperm(100),
    "bernoulli_ number": lambda m: m.empty(3, 50).bernoulli_(0.3),
    "bernoulli float32": lambda m: m.bernoulli(m.tensor(P)),
    "bernoulli float64": lambda m: m.bernoulli(m.tensor(P, dtype=m.float64)),
    "bernoulli_ tensor": lambda m: m.empty(4, 7).bernoulli_(m.tensor(P)),
    "multinomial with replacement": lambda m: m.multinomial(m.tensor(P), 9, replacement=True),
    "multinomial one sample": lambda m: m.multinomial(m.tensor(P), 1, replacement=True),
    "multinomial without replacement": lambda m: m.multinomial(m.tensor(P), 5),
    "exponential_": lambda m: m.empty(100).exponential_(2.5),
    "geometric_": lambda m: m.empty(100).geometric_(0.2),
    "cauchy_": lambda m: m.empty(100).cauchy_(0.5, 2.0),
    "dropout": lambda m: m.nn.functional.dropout(m.tensor(P), 0.4),
    "dropout p=1 draws nothing": lambda m: m.cat([m.nn.functional.dropout(m.tensor(P), 1.0).flatten(), m.rand(3)]),
    "dropout2d": lambda m: m.nn.functional.dropout2d(m.ones(2, 6, 3, 3), 0.5),
    "alpha_dropout": lambda m: m.nn.functional.alpha_dropout(m.ones(4, 20), 0.5, True),
    "Dropout module": lambda m: m.nn.Dropout(0.2)(m.ones(10, 10)),
    "Linear": lambda m: m.cat([p.flatten() for p in m.nn.Linear(5, 3).parameters()]),
    "Conv2d": lambda m: m.cat([p.flatten() for p in m.nn.Conv2d(3, 4, 3).parameters()]),
    "LSTM": lambda m: m.cat([p.flatten() for p in m.nn.LSTM(4, 5, num_layers=2, bidirectional=True).parameters()]),
    "MultiheadAttention": lambda m: m.cat([p.flatten() for p in m.nn.MultiheadAttention(8, 2).parameters()]),
    "xavier_uniform_": lambda m: m.nn.init.xavier_uniform_(m.empty(6, 5)),
    "kaiming_uniform_": lambda m: m.nn.init.kaiming_uniform_(m.empty(6, 5)),
    "trunc_normal_ narrow": lambda m: m.nn.init.trunc_normal_(m.empty(300, 40), 0.0, 1.0, 1.0, 3.0),
    "Generator": lambda m: m.rand(20, generator=m.Generator().manual_seed(3)),
    "Gamma.sample": lambda m: m.distributions.Gamma(m.tensor([0.5, 1.0, 3.0]), m.tensor([1.0, 2.0, 0.5])).sample((4,)),
    "Gamma float64": lambda m: m.distributions.Gamma(m.tensor([0.1, 0.9, 2.5, 7.0], dtype=m.float64), 1.0).sample(),
    "poisson": lambda m: m.poisson(m.tensor(np.concatenate([P.ravel() * 30, [0.0, 9.99, 10.0, 250.0]]))),
    "Poisson.sample": lambda m: m.distributions.Poisson(m.tensor([0.5, 4.0, 40.0])).sample((3,)),
    "Chi2.sample": lambda m: m.distributions.Chi2(m.tensor([3.0, 5.0])).sample((5,)),
    "Categorical.sample": lambda m: m.distributions.Categorical(logits=m.tensor(P)).sample((6,)),
    "OneHotCategorical.sample": lambda m: m.distributions.OneHotCategorical(probs=m.tensor(P[0])).sample((4,)),
    "Bernoulli.sample": lambda m: m.distributions.Bernoulli(probs=m.tensor(P)).sample(),
    "Uniform.rsample": lambda m: m.distributions.Uniform(m.zeros(5), m.ones(5) * 2).rsample((2,)),
    "Normal.rsample under 16": lambda m: m.distributions.Normal(m.zeros(5), m.ones(5)).rsample((3,)),
    "seed's low 32 bits": lambda m: (m.manual_seed(2**40 + 7), m.rand(5))[1],
}
CLOSE = {  # float32 normals of 16 or more elements: PyTorch's vectorised kernel (SLEEF), a few float32 ulps
    "randn": lambda m: m.randn(30, 40),
    "randn_like": lambda m: m.randn_like(m.empty(4, 9)),
    "normal tensors": lambda m: m.normal(m.tensor(P), m.tensor(P) + 1),
    "Embedding": lambda m: m.nn.Embedding(10, 4).weight,
    "kaiming_normal_": lambda m: m.nn.init.kaiming_normal_(m.empty(6, 5)),
    "orthogonal_": lambda m: m.nn.init.orthogonal_(m.empty(6, 5)),
    "trunc_normal_": lambda m: m.nn.init.trunc_normal_(m.empty(300, 40), 0.5, 2.0, -1.0, 3.0),
    "sparse_": lambda m: m.nn.init.sparse_(m.empty(10, 6), 0.3),
    "rrelu": lambda m: m.nn.functional.rrelu(m.tensor(P) - 0.5, training=True),
    "gumbel_softmax": lambda m: m.nn.functional.gumbel_softmax(m.tensor(P), tau=0.5),
}


def _both(make, seed=5):
    lucid.manual_seed(seed)
    ours = make(lucid)
    torch.manual_seed(seed)
    theirs = make(torch)
    return ours.detach().numpy(), theirs.detach().numpy()


@pytest.mark.parametrize("name", sorted(EXACT))
def test_draws_are_torchs_bit_for_bit(name):
    for seed in (0, 5):
        ours, theirs = _both(EXACT[name], seed)
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{name}, seed {seed}")


@pytest.mark.parametrize("name", sorted(CLOSE))
def test_float32_normal_draws_are_torchs_to_a_few_ulps(name):
    ours, theirs = _both(CLOSE[name])
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=2e-6, err_msg=name)


def test_dataloader_shuffles_as_torch_over_epochs():
    def epochs(m):
        loader = m.utils.data.DataLoader(m.utils.data.TensorDataset(m.arange(23)), batch_size=4, shuffle=True)
        return m.tensor([i for _ in range(3) for batch in loader for i in batch[0].tolist()])

    for seed in (0, 1, 2):
        ours, theirs = _both(epochs, seed)
        np.testing.assert_array_equal(ours, theirs)
    ours, theirs = _both(lambda m: m.tensor(m.utils.data.random_split(range(10), [3, 7])[0].indices))
    np.testing.assert_array_equal(ours, theirs)


def test_state_round_trip_keeps_the_cached_normal(device):
    """``randn(1)`` leaves the second value of a Box-Muller pair in the generator, as PyTorch's does: a saved
    state brings it back, so the numbers after a restore are the ones after the save."""
    lucid.manual_seed(11)
    lucid.randn(1, device=device)
    state = lucid.get_rng_state(device)
    after = lucid.randn(3, device=device).numpy(force=True)
    lucid.rand(7, device=device)
    lucid.set_rng_state(state, device)
    np.testing.assert_array_equal(lucid.randn(3, device=device).numpy(force=True), after)
    torch.manual_seed(11)
    torch.randn(1)
    np.testing.assert_array_equal(after, torch.randn(3, dtype=torch.float32).numpy())
    with pytest.raises(ValueError, match="not a random generator state"):
        lucid.set_rng_state(lucid.tensor(list(b'{"key": [1, 2], "pos": 0, "normal": null}'), dtype=lucid.uint8))
    np.testing.assert_array_equal(lucid.get_rng_state().numpy(), lucid.get_rng_state().numpy())


def test_every_host_device_draws_the_same_stream(device):
    lucid.manual_seed(3)
    ours = lucid.rand(10, device=device).numpy(force=True)
    torch.manual_seed(3)
    np.testing.assert_array_equal(ours, torch.rand(10).numpy())


def test_trunc_normal_warns_as_torch_when_mean_is_far():
    with pytest.warns(UserWarning, match="more than 2 std"):
        lucid.nn.init.trunc_normal_(lucid.empty(5), 0.0, 1.0, 2.5, 3.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lucid.nn.init.trunc_normal_(lucid.empty(5), 0.0, 1.0, -1.0, 1.0)


class _Draws:
    """A dataset that draws from NumPy's, Python's and the framework's global generators in its workers."""

    def __init__(self, lib):
        self.lib = lib

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return self.lib.tensor([float(i), np.random.rand(), random.random(), self.lib.rand(1).item()])


def test_dataloader_workers_are_seeded_as_torchs():
    """Two workers: the shuffle, and NumPy's, Python's and the framework's numbers inside each worker, are torch's."""
    def run(lib):
        lib.manual_seed(7)
        loader = lib.utils.data.DataLoader(_Draws(lib), batch_size=2, num_workers=2, shuffle=True,
                                           multiprocessing_context="fork")
        return [batch.tolist() for batch in loader]

    assert run(lucid) == run(torch)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 17, 1000, 20000])
def test_randperm_of_every_size_is_torchs(n):
    """randperm's swaps, resolved in whole-array passes, give torch's permutation for any n."""
    ours, theirs = _both(lambda m: m.randperm(n), seed=n)
    np.testing.assert_array_equal(ours, theirs)


# in-place fills of non-contiguous views: PyTorch's TensorIterator visits the elements by address (axes sorted by
# stride), and fills normals one at a time (float64) into a non-contiguous tensor; the value is the filled view
VIEW_FILLS = {
    "uniform_ transposed": lambda m: m.empty(4, 6).t().uniform_(),
    "uniform_ every other column": lambda m: m.empty(4, 6)[:, ::2].uniform_(-1, 2),
    "uniform_ every other row": lambda m: m.empty(6, 5, dtype=m.float64)[::2].uniform_(),
    "uniform_ permuted 3-d": lambda m: m.empty(3, 4, 5).permute(2, 0, 1).uniform_(),
    "uniform_ permuted and stepped": lambda m: m.empty(3, 4, 5).permute(1, 2, 0)[:, ::2].uniform_(),
    "uniform_ transposed tail": lambda m: m.empty(5, 8).t()[1:].uniform_(),
    "uniform_ size-1 axis": lambda m: m.empty(4, 1, 6).permute(2, 1, 0).uniform_(),
    "normal_ transposed, one at a time": lambda m: m.empty(6, 20).t().normal_(0.5, 2.0),
    "normal_ stepped, one at a time": lambda m: m.empty(6, 20)[:, ::2].normal_(),
    "normal_ transposed float64": lambda m: m.empty(5, 7, dtype=m.float64).t().normal_(),
    "normal_ transposed, under 16": lambda m: m.empty(2, 3).t().normal_(),
    "bernoulli_ number transposed": lambda m: m.empty(5, 8).t().bernoulli_(0.3),
    "bernoulli_ tensor transposed": lambda m: m.empty(7, 4).t().bernoulli_(m.tensor(P)),
    "exponential_ transposed": lambda m: m.empty(5, 8).t().exponential_(1.5),
    "geometric_ transposed": lambda m: m.empty(5, 8).t().geometric_(0.3),
    "cauchy_ transposed": lambda m: m.empty(5, 8).t().cauchy_(),
    "log_normal_": lambda m: m.empty(40).log_normal_(0.5, 0.7),  # one at a time in float64, contiguous or not
    "log_normal_ float64 transposed": lambda m: m.empty(5, 8, dtype=m.float64).t().log_normal_(),
    "random_ transposed": lambda m: m.empty(5, 8, dtype=m.int64).t().random_(0, 1000),
    "kaiming_uniform_ transposed": lambda m: m.nn.init.kaiming_uniform_(m.empty(6, 5).t()),
    "xavier_normal_ transposed": lambda m: m.nn.init.xavier_normal_(m.empty(6, 5).t()),
    "nn.init.uniform_ permuted": lambda m: m.nn.init.uniform_(m.empty(2, 3, 4).permute(2, 0, 1), -1, 1),
    # results made "like" a tensor keep its memory order (preserve_format) where it is dense, or take the one
    # memory_format asks for; dropout's mask is empty_like(input).bernoulli_()
    "rand_like transposed": lambda m: m.rand_like(m.empty(4, 6).t()),
    "randn_like transposed, one at a time": lambda m: m.randn_like(m.empty(6, 20).t()),
    "randn_like permuted float64": lambda m: m.randn_like(m.empty(2, 3, 4, dtype=m.float64).permute(2, 0, 1)),
    "randn_like channels_last": lambda m: m.randn_like(m.empty(2, 3, 2, 2), memory_format=m.channels_last),
    "randn_like stepped (row-major)": lambda m: m.randn_like(m.empty(6, 8, dtype=m.float64)[:, ::2]),
    "randint_like transposed": lambda m: m.randint_like(m.empty(5, 8).t(), 3, 100),
    "dropout transposed": lambda m: m.nn.functional.dropout(m.ones(5, 8).t(), 0.3),
    "dropout permuted": lambda m: m.nn.functional.dropout(m.ones(2, 3, 4).permute(1, 2, 0), 0.6),
    "alpha_dropout transposed": lambda m: m.nn.functional.alpha_dropout(m.ones(5, 8).t(), 0.3, True),
    "dropout2d of a transposed input": lambda m: m.nn.functional.dropout2d(m.ones(2, 3, 4, 5).transpose(2, 3), 0.5),
}


@pytest.mark.parametrize("name", sorted(VIEW_FILLS))
def test_fills_of_non_contiguous_views_are_torchs_bit_for_bit(name):
    for seed in (0, 5):
        ours, theirs = _both(VIEW_FILLS[name], seed)
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{name}, seed {seed}")


def test_a_transposed_fill_writes_what_its_base_would_get():
    """``w.t().uniform_()`` leaves ``w`` as ``w.uniform_()`` would (the numbers go by address)."""
    lucid.manual_seed(1)
    w = lucid.empty(4, 6)
    w.t().uniform_()
    lucid.manual_seed(1)
    np.testing.assert_array_equal(w.numpy(), lucid.empty(4, 6).uniform_().numpy())


def test_a_refused_fill_draws_nothing():
    """A fill PyTorch refuses (a leaf that requires grad, an expanded view) raises before drawing, so the
    numbers after it are still torch's."""
    def program(m):
        for refused in (lambda: m.zeros(3, requires_grad=True).uniform_(), lambda: m.zeros(1).expand(4).normal_(),
                        lambda: m.zeros(3, requires_grad=True).bernoulli_(0.5)):
            with pytest.raises(RuntimeError):
                refused()
        return m.rand(5)

    ours, theirs = _both(program, 3)
    np.testing.assert_array_equal(ours, theirs)
