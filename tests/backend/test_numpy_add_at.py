"""The NumPy backend's ``add_at``: its row-scatter path (an embedding's backward) gives ``np.add.at``'s
values bit for bit, with repeated and negative indices, and falls back to it for every other index."""

from __future__ import annotations

import numpy as np
import pytest

from lucid._backend import numpy_backend
from lucid._backend.numpy_backend import NumpyBackend


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, trailing", [(2048, (16,)), (300, (4, 5)), (64, (33,))])
def test_row_scatter_matches_np_add_at(rng, dtype, rows, trailing):
    target = rng.standard_normal((50, *trailing)).astype(dtype)
    index = rng.integers(-50, 50, rows)  # many repeats, some negative
    values = rng.standard_normal((rows, *trailing)).astype(dtype)
    assert numpy_backend._is_row_scatter(target, index, values)
    expected = target.copy()
    np.add.at(expected, index, values)
    NumpyBackend().add_at(target, index, values)
    np.testing.assert_array_equal(target, expected)


def test_other_indices_take_np_add_at(rng):
    target = np.zeros((5, 3))
    small = np.array([0, 0, 4])
    assert not numpy_backend._is_row_scatter(target, small, np.ones((3, 3)))  # few rows
    assert not numpy_backend._is_row_scatter(target, (small, small), np.ones(3))  # a tuple of indices
    assert not numpy_backend._is_row_scatter(target, np.zeros(100, int), np.ones(3))  # broadcast values
    narrow = np.zeros((5, 15))  # rows of fewer than 16 elements (grid_sample's few channels): add.at is faster
    assert not numpy_backend._is_row_scatter(narrow, np.zeros(100, int), np.ones((100, 15)))
    NumpyBackend().add_at(target, (small, np.array([1, 1, 2])), np.ones(3))
    assert target[0, 1] == 2 and target[4, 2] == 1 and target.sum() == 3


@pytest.mark.parametrize("heavy", [0, 1, 4])
def test_row_scatter_with_a_much_repeated_index_matches_np_add_at(rng, heavy):
    """An index repeated thousands of times (a padding token): the rounds stop when they get small and
    the occurrences left go through ``np.add.at`` in order; still bit for bit (float32 sums are order-sensitive)."""
    target = rng.standard_normal((30, 5)).astype(np.float32)
    index = rng.integers(0, 30, 3000)
    index[rng.random(3000) < 0.8] = 7  # most rows hit one index
    if heavy:
        index[:heavy * 100] = rng.integers(0, 3, heavy * 100)  # and a few others a hundred times
    values = rng.standard_normal((3000, 5)).astype(np.float32)
    expected = target.copy()
    np.add.at(expected, index, values)
    numpy_backend.add_rows_at(target, index, values)
    np.testing.assert_array_equal(target, expected)
