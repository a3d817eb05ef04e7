"""The backend extras ``add_into``/``subtract_into`` (the passes of the Winograd tile transforms): each
writes ``a + b`` or ``a - b`` through a strided view of a larger array, and nothing else, on every backend."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import lucid


@pytest.mark.parametrize("name, op", [("add_into", operator.add), ("subtract_into", operator.sub)])
def test_into_writes_through_a_strided_view_only(device, rng, name, op):
    a, b = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 4, 5))
    xp, native = device.xp, device.native
    target = xp.zeros((3, 2, 4, 5, 2), dtype=xp.float64, device=native)
    view = target[:, 1, :, :, 0]  # strided: every other element of every other block
    getattr(device.backend, name)(view, xp.asarray(a, device=native), xp.asarray(b, device=native))
    got = lucid.tensor(target, device=device).numpy(force=True)  # the whole target, back on the host
    want = np.zeros((3, 2, 4, 5, 2))
    want[:, 1, :, :, 0] = op(a, b)
    np.testing.assert_array_equal(got, want)
