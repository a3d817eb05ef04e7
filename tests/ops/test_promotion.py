"""Type promotion against PyTorch: every pair of dtypes, as tensors with dimensions or 0-d, and with
Python scalars, through the binary ops, comparisons and ``where``."""

from __future__ import annotations

import itertools
import operator

import numpy as np
import pytest

import lucid
from lucid import dtypes as _dt

NAMES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def _where(lib, a, b):
    on = (a if isinstance(a, lib.Tensor) else b).device
    return lib.where(lib.tensor([True, False, True], device=on), a, b)


OPS = {
    "add": operator.add, "mul": operator.mul, "truediv": operator.truediv, "floordiv": operator.floordiv,
    "eq": operator.eq, "lt": operator.lt, "where": _where,
}


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _names(device):
    return [n for n in NAMES if device.backend.supports(_dt.to_dtype(n))]


def _make(lib, name, zero_dim, device=None):
    """A tensor of dtype ``name`` with no zeros (a divisor): ``(3,)`` or 0-d."""
    values = [True, True, True] if name == "bool" else [1, 2, 3]
    data = values[1] if zero_dim else values
    dtype = getattr(lib, name)
    return lib.tensor(data, dtype=dtype) if device is None else lib.tensor(data, dtype=dtype, device=device)


def _call(lib, op, a, b):
    return op(lib, a, b) if op is _where else op(a, b)


def _check(torch, op, make_args, label):
    """Compare ``op`` on lucid's and torch's arguments: the same dtype and values, or both raise."""
    try:
        want = _call(torch, op, *make_args(torch))
    except (RuntimeError, TypeError):
        with pytest.raises((RuntimeError, TypeError)):
            _call(lucid, op, *make_args(lucid))
        return
    got = _call(lucid, op, *make_args(lucid))
    assert got.dtype.name == str(want.dtype).removeprefix("torch."), label
    np.testing.assert_allclose(got.numpy(force=True).astype(float), want.numpy().astype(float), rtol=1e-3,
                               err_msg=label)


@pytest.mark.parametrize("dims", ["nd-nd", "nd-0d", "0d-nd", "0d-0d"])
@pytest.mark.parametrize("op", sorted(OPS))
def test_tensor_pairs_promote_as_pytorch(op, dims, device, torch):
    zero_a, zero_b = (part == "0d" for part in dims.split("-"))
    for a, b in itertools.product(_names(device), repeat=2):
        def args(lib, a=a, b=b):
            dev = device if lib is lucid else None
            return _make(lib, a, zero_a, dev), _make(lib, b, zero_b, dev)

        _check(torch, OPS[op], args, f"{a} {b} {dims}")


@pytest.mark.parametrize("scalar", [True, 2, 2.5])
@pytest.mark.parametrize("op", sorted(OPS))
def test_python_scalars_promote_as_pytorch(op, scalar, device, torch):
    for name, zero_dim, reflected in itertools.product(_names(device), (False, True), (False, True)):
        if reflected and op in ("where", "eq", "lt"):
            continue

        def args(lib, name=name, zero_dim=zero_dim, reflected=reflected):
            t = _make(lib, name, zero_dim, device if lib is lucid else None)
            return (scalar, t) if reflected else (t, scalar)

        _check(torch, OPS[op], args, f"{name} {scalar!r} 0-d={zero_dim} reflected={reflected}")


def test_zero_dim_tensors_are_weak_within_a_category(device):
    f32 = lucid.ones(3, device=device)
    i32 = lucid.ones(3, dtype=lucid.int32, device=device)
    assert (f32 + lucid.tensor(1.0, dtype=lucid.float64, device=device)).dtype == lucid.float32
    assert (i32 + lucid.tensor(1, dtype=lucid.int64, device=device)).dtype == lucid.int32
    # a 0-d tensor of a higher category wins, with its own dtype (PyTorch's result_type)
    assert (i32 + lucid.tensor(1.0, dtype=lucid.float64, device=device)).dtype == lucid.float64
    assert (i32 * lucid.tensor(1.0, device=device)).dtype == lucid.float32


def test_promotion_follows_the_default_dtype(device):
    i = lucid.arange(3, device=device)
    lucid.set_default_dtype(lucid.float64)
    try:
        assert (i * 2.5).dtype == lucid.float64
        assert (i / 2).dtype == lucid.float64
        assert i.exp().dtype == lucid.float64
        assert lucid.ones(2, dtype=lucid.float32, device=device).mul(2.5).dtype == lucid.float32
    finally:
        lucid.set_default_dtype(lucid.float32)


INTEGER_OPS = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "floordiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow, "eq": operator.eq, "lt": operator.lt,
    "ge": operator.ge, "and": operator.and_, "xor": operator.xor, "maximum": lambda a, b: a.maximum(b),
    "atan2": lambda a, b: a.atan2(b),
}


@pytest.mark.parametrize("op", sorted(INTEGER_OPS))
def test_zero_dim_integer_operand_of_another_dtype_as_pytorch(op, device, torch):
    """An n-d integer tensor meeting a 0-d one of another integer dtype: the result type is the n-d one's, and
    PyTorch wraps the 0-d value around into it (uint8 and -6 give 250) except in true division and atan2,
    which convert each operand's own value to the float dtype (``uint8 / int32 0-d -6`` divides by -6)."""
    ints = [n for n in _names(device) if n not in ("bool",) and not n.startswith("float")]
    fn = INTEGER_OPS[op]
    for (nd, zd), value, zero_first in itertools.product(itertools.product(ints, repeat=2), (-6, 300, -129, 70000),
                                                         (False, True)):
        if nd == zd:
            continue
        n_values, z_value = np.array([1, 2, 3, 100], dtype=nd), np.array(value, dtype=np.int64).astype(zd)

        def args(lib, n_values=n_values, z_value=z_value, zero_first=zero_first):
            kw = {"device": device} if lib is lucid else {}
            pair = lib.tensor(n_values, **kw), lib.tensor(z_value, **kw)
            return pair[::-1] if zero_first else pair

        _check(torch, fn, args, f"{op} {nd} (4,) and {zd} 0-d {z_value} first={zero_first}")
