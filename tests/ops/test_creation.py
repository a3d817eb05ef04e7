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


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int16"])
def test_linspace_bit_for_bit_as_torch(device, dtype):
    """Float linspace counts the first half up from ``start`` and the rest down from ``end`` (one fused
    multiply-add each), as PyTorch's kernel: the same bits for random ends and counts, ints and floats; an
    integer dtype truncates its bounds, then the float64 values toward zero."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    for trial in range(60):
        start, end = rng.normal(0, 10, 2)
        if trial % 5 == 0:
            start, end = int(start), int(end)
        steps = int(rng.integers(1, 200))
        ours = lucid.linspace(start, end, steps, dtype=getattr(lucid, dtype), device=device).numpy(force=True)
        theirs = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
        np.testing.assert_array_equal(ours, theirs)
    assert lucid.linspace(-3.5, 3.5, 7, device=device).tolist() == torch.linspace(-3.5, 3.5, 7).tolist()


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
    with pytest.raises(RuntimeError, match="low must be < high"):  # RuntimeError, as PyTorch
        lucid.randint(5, 5, (2,))
    with pytest.raises(RuntimeError, match="std"):
        lucid.normal(0.0, -1.0, (2,))
    with pytest.raises(TypeError, match="floating"):
        lucid.randn(2, dtype=lucid.int64)


# ---- wrong sizes and ranges: lucid's errors, where PyTorch errors too (issue 11) -------------------------
SIZE = "every entry of argument 'size'"
BAD_CALLS = {
    "zeros(2.5)": (lambda L: L.zeros(2.5), TypeError, rf"zeros\(\): {SIZE} \(2.5,\) must be an int, got float"),
    "ones(2.5)": (lambda L: L.ones(2.5), TypeError, rf"ones\(\): {SIZE}"),
    "empty((2, 2.5))": (lambda L: L.empty((2, 2.5)), TypeError, rf"empty\(\): {SIZE} \(2, 2.5\)"),
    "full(2.5, 1.0)": (lambda L: L.full(2.5, 1.0), TypeError, rf"full\(\): {SIZE}"),
    "rand(2.5)": (lambda L: L.rand(2.5), TypeError, rf"rand\(\): {SIZE}"),
    "randn(2, 2.5)": (lambda L: L.randn(2, 2.5), TypeError, rf"randn\(\): {SIZE}"),
    "randint(0, 3, (2.5,))": (lambda L: L.randint(0, 3, (2.5,)), TypeError, rf"randint\(\): {SIZE}"),
    "zeros(True)": (lambda L: L.zeros(True), TypeError, "got bool"),
    "zeros('3')": (lambda L: L.zeros("3"), TypeError, "got str"),
    "zeros(tensor(2.0))": (lambda L: L.zeros(L.tensor(2.0)), TypeError, "got Tensor"),
    "zeros(-1)": (lambda L: L.zeros(-1), RuntimeError, rf"zeros\(\): {SIZE} \(-1,\) must be >= 0, got -1"),
    "empty(3, -2)": (lambda L: L.empty(3, -2), RuntimeError, "must be >= 0, got -2"),
    "rand(-1)": (lambda L: L.rand(-1), RuntimeError, "must be >= 0"),
    "full((-1,), 2)": (lambda L: L.full((-1,), 2), RuntimeError, "must be >= 0"),
    "eye(2.5)": (lambda L: L.eye(2.5), TypeError, r"eye\(\): argument 'n' must be an int, got float"),
    "eye(-1)": (lambda L: L.eye(-1), RuntimeError, r"eye\(\): argument 'n' must be >= 0"),
    "eye(2, -1)": (lambda L: L.eye(2, -1), RuntimeError, r"eye\(\): argument 'm' must be >= 0"),
    "arange(0, 1, 0)": (lambda L: L.arange(0, 1, 0), RuntimeError, "step must be nonzero"),
    "arange(1, 0, 1)": (lambda L: L.arange(1, 0, 1), RuntimeError, "runs the other way"),
    "arange(0, inf)": (lambda L: L.arange(0, float("inf")), RuntimeError, "end must be finite"),
    "linspace(0, 1, -1)": (lambda L: L.linspace(0, 1, -1), RuntimeError, "argument 'steps' must be >= 0"),
    "linspace(0, 1, 2.5)": (lambda L: L.linspace(0, 1, 2.5), TypeError, "argument 'steps' must be an int"),
    "randperm(-1)": (lambda L: L.randperm(-1), RuntimeError, r"randperm\(\): argument 'n' must be >= 0"),
    "randperm(2.5)": (lambda L: L.randperm(2.5), TypeError, r"randperm\(\): argument 'n' must be an int"),
    "full((2,), 'a')": (lambda L: L.full((2,), "a"), TypeError, "fill_value must be a number"),
    "zeros_like([1, 2])": (lambda L: L.zeros_like([1, 2]), TypeError, r"zeros_like\(\) expects a Tensor"),
    "randint(0, 2.5, (3,))": (lambda L: L.randint(0, 2.5, (3,)), TypeError, "high must be an int"),
}


@pytest.mark.parametrize("call", BAD_CALLS)
def test_bad_sizes_and_ranges_raise_lucid_errors(call):
    fn, error, message = BAD_CALLS[call]
    with pytest.raises(error, match=message):
        fn(lucid)
    torch = pytest.importorskip("torch")
    with pytest.raises((error, RuntimeError)):  # PyTorch refuses the same call
        fn(torch)


def test_sizes_accept_integer_scalars_and_tensors(device):
    assert lucid.zeros(np.int64(2), lucid.tensor(3), device=device).shape == (2, 3)
    assert lucid.full([np.int32(2)], 1.5, device=device).shape == (2,)


def test_randint_high_size_form_as_torch(device):
    x = lucid.randint(5, (3, 2), device=device)
    assert x.shape == (3, 2) and x.dtype is lucid.int64
    values = x.numpy(force=True)
    assert (values >= 0).all() and (values < 5).all()


SEQUENCES = {  # lists mixing Python numbers with NumPy scalars and arrays, as a DQN's replay batch holds them
    "np.float64 + float": lambda L: [np.float64(0.5), 2.0],
    "float64 arrays": lambda L: [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
    "nested float64": lambda L: [[np.float64(1.0)], [2.0]],
    "tuple of np.float64 + int": lambda L: (np.float64(1.0), 2),
    "np.int32s": lambda L: [np.int32(1), np.int32(2)],
    "int32 array + int": lambda L: [[1, 2], np.array([3, 4], dtype=np.int32)],
    "int16 + float32 arrays": lambda L: [np.array([3, 4], dtype=np.int16), np.array([1.0, 2.0], dtype=np.float32)],
    "np.float16 + float": lambda L: [np.float16(1.0), 2.0],
    "np.float32 + int": lambda L: [np.float32(1.5), 2],
    "np.int64 + float": lambda L: [np.int64(1), 2.5],
    "np.uint8 + bool": lambda L: [True, np.uint8(2)],
    "np.uint8 + negative int": lambda L: [np.uint8(3), -1],
    "np.complex128": lambda L: [np.complex128(1 + 2j), 1.0],
    "float64 0-d tensor + float": lambda L: [L.tensor(1.5, dtype=L.float64), 2.0],
    "int32 0-d tensors": lambda L: [L.tensor(1, dtype=L.int32), L.tensor(2, dtype=L.int32)],
    "python numbers": lambda L: [[1, 2.5], [True, 3]],
}


@pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy.ndarrays")  # PyTorch's, on speed
@pytest.mark.parametrize("case", SEQUENCES)
def test_tensor_of_a_list_holding_numpy_data_takes_its_dtype_as_torch(device, case):
    """``tensor(list)`` promotes the dtypes of NumPy scalars, arrays and Tensors in the list with the Python
    numbers' (float: the default dtype, int: int64), as PyTorch: a list of np.float64 rewards is float64."""
    torch = pytest.importorskip("torch")
    expected = torch.tensor(SEQUENCES[case](torch))
    made = lucid.tensor(SEQUENCES[case](lucid), device=device)
    assert made.dtype.name == str(expected.dtype).removeprefix("torch.") and made.device == device
    np.testing.assert_array_equal(made.numpy(force=True), expected.numpy())
    assert lucid.Tensor(SEQUENCES[case](lucid)).dtype is made.dtype
