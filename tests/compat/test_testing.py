"""``lucid.testing.assert_close`` reports as ``torch.testing.assert_close`` and uses its tolerances."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
from lucid.testing import assert_close

torch = pytest.importorskip("torch")

CASES = {
    "one element": lambda m: (m.tensor([1.0, 2.0, 3.0]), m.tensor([1.0, 2.5, 3.0])),
    "2-d": lambda m: (m.tensor([[1.0, 2.0], [3.0, 4.0]]), m.tensor([[1.0, 2.5], [3.0, 5.0]])),
    "ints exact": lambda m: (m.tensor([1, 2]), m.tensor([1, 3])),
    "dtype": lambda m: (m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0], dtype=m.float64)),
    "scalars": lambda m: (1.0, 1.1),
    "sequence": lambda m: ([1.0, 2.0], [1.0, 2.1]),
    "mapping": lambda m: ({"a": m.ones(1)}, {"a": m.zeros(1)}),
    "nan": lambda m: (m.tensor([float("nan")]), m.tensor([float("nan")])),
    "float16": lambda m: (m.tensor([1.0, 2.0], dtype=m.float16), m.tensor([1.0, 2.01], dtype=m.float16)),
    "within float32 tolerance": lambda m: (m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0 + 2e-6])),
    "equal": lambda m: (m.tensor([True, False]), m.tensor([True, False])),
}


def _report(fn, pair, **kw):
    try:
        fn(*pair, **kw)
    except AssertionError as e:
        return str(e).replace("torch.", "").replace("lucid.", "")
    return None


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_reports_as_torch(case):
    assert _report(assert_close, CASES[case](lucid)) == _report(torch.testing.assert_close, CASES[case](torch))


def test_options(device):
    a, b = lucid.tensor([1.0, float("nan")], device=device), lucid.tensor([1.1, float("nan")], device=device)
    assert_close(a, b, rtol=0.0, atol=0.2, equal_nan=True)
    with pytest.raises(AssertionError, match="not close"):
        assert_close(a, b, rtol=0.0, atol=0.2)
    assert_close(lucid.ones(2, device=device), lucid.ones(2, dtype=lucid.float64, device=device), check_dtype=False)
    with pytest.raises(AssertionError, match="custom"):
        assert_close(a, b, msg="custom")
    with pytest.raises(AssertionError, match="^wrapped: Tensor-likes"):
        assert_close(a, b, equal_nan=True, msg=lambda report: "wrapped: " + report)
    with pytest.raises(AssertionError, match="attribute 'shape' do not match: \\(2,\\) != \\(3,\\)"):
        assert_close(lucid.ones(2, device=device), lucid.ones(3, device=device))
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol'"):
        assert_close(a, a, rtol=1e-3)
    with pytest.raises(TypeError, match="can't compare a Tensor with a float"):
        assert_close(lucid.ones(1), 1.0)
    assert_close(np.ones(2), np.ones(2))


def test_device_mismatch_is_reported(device_pair):
    first, second = device_pair
    with pytest.raises(AssertionError, match="attribute 'device' do not match"):
        assert_close(lucid.ones(1, device=first), lucid.ones(1, device=second))
    assert_close(lucid.ones(1, device=first), lucid.ones(1, device=second), check_device=False)
