"""uint16, uint32 and uint64: PyTorch's answers wherever PyTorch gives one (creation, casts, indexing, sort, ``==``,
bitwise ops, ``*``, sum/cumsum/prod in int64, ``/`` to the default float, the promotion refusal, iinfo, names,
save/load), NumPy's where PyTorch raises NotImplementedError on the CPU (``+``, ``<``, ``max``, ``-x``, ...)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import safetensors.torch

import lucid

torch = pytest.importorskip("torch")

UINTS = ["uint16", "uint32", "uint64"]
ALL_NAMES = [d.name for d in lucid.dtypes.ALL]
# values of each unsigned dtype past the signed ranges below it (what int16 / int32 / int64 can't hold)
VALUES = {"uint16": [0, 1, 255, 300, 40000, 65535],
          "uint32": [0, 1, 300, 40000, 2**31 + 5, 2**32 - 1],
          "uint64": [0, 1, 300, 2**31 + 5, 2**32 + 7, 2**63 + 5, 2**64 - 1]}


def _both(name, device, values=None):
    """The same data as a lucid tensor on ``device`` and a torch tensor."""
    host = np.array(VALUES[name] if values is None else values, dtype=name)
    return lucid.tensor(host, device=device), torch.from_numpy(host.copy())


def _same(got, want):
    """``got`` (lucid) holds ``want``'s (torch) values, exactly, in the dtype of the same name."""
    assert isinstance(got, lucid.Tensor) and got.dtype.name == str(want.dtype).removeprefix("torch."), (got, want)
    if want.dtype is torch.bfloat16:  # (NumPy has no bfloat16 of torch's)
        got, want = got.float(), want.float()
    np.testing.assert_array_equal(got.numpy(force=True), want.numpy())


def _supported(device, names):
    return [n for n in names if device.backend.supports(lucid.dtypes.to_dtype(n))]


@pytest.mark.parametrize("name", UINTS)
def test_creation_as_torch(device, name):
    host = np.array(VALUES[name], dtype=name)
    _same(lucid.from_numpy(host).to(device), torch.from_numpy(host))
    _same(lucid.tensor(host, device=device), torch.tensor(host))
    _same(lucid.as_tensor(host, device=device), torch.as_tensor(host))
    dt, tdt = getattr(lucid, name), getattr(torch, name)
    for factory in ("zeros", "ones", "empty"):
        made = getattr(lucid, factory)(2, 3, dtype=dt, device=device)
        assert made.dtype is dt and made.shape == (2, 3) and made.device == device
    _same(lucid.zeros(2, 3, dtype=dt, device=device), torch.zeros(2, 3, dtype=tdt))
    top = int(lucid.iinfo(dt).max)
    for value in (7, top, -1, -top if name != "uint64" else -(2**63)):  # negatives wrap, as PyTorch stores them
        _same(lucid.full((2,), value, dtype=dt, device=device), torch.full((2,), value, dtype=tdt))
        _same(lucid.zeros(2, dtype=dt, device=device).fill_(value), torch.zeros(2, dtype=tdt).fill_(value))
    _same(lucid.tensor([-1, 5], dtype=dt, device=device) if name != "uint64" else lucid.tensor([5], dtype=dt),
          torch.tensor([-1, 5] if name != "uint64" else [5], dtype=tdt))
    with pytest.raises(OverflowError):
        lucid.full((2,), top + 1, dtype=dt, device=device)
    with pytest.raises(OverflowError):
        lucid.tensor([top + 1], dtype=dt, device=device)
    assert lucid.tensor(host, device=device).tolist() == VALUES[name]  # Python ints, uint64's top ones too
    _same(lucid.tensor(VALUES[name], dtype=dt, device=device), torch.tensor(VALUES[name], dtype=tdt))  # exact


@pytest.mark.parametrize("name", UINTS)
def test_casts_to_and_from_every_dtype_as_torch(device, name):
    x, tx = _both(name, device)
    for other in _supported(device, ALL_NAMES):
        _same(x.to(getattr(lucid.dtypes, "bool_" if other == "bool" else other)), tx.to(getattr(torch, other)))
    _same(x.float(), tx.float())
    _same(x.long(), tx.long())
    _same(x.double(), tx.double())
    sources = {"int64": [0, 5, -1, -300, 2**40 + 3], "int8": [0, -1, 100], "bool": [True, False],
               "float32": [0.0, 1.7, 300.5, 65535.0], "float64": [0.0, 2.5, 4294967295.0]}
    for source, values in sources.items():
        host = np.array(values, dtype=source)
        _same(lucid.tensor(host, device=device).to(name), torch.from_numpy(host).to(getattr(torch, name)))


@pytest.mark.parametrize("name", UINTS)
def test_indexing_cat_stack_sort_as_torch(device, name):
    x, tx = _both(name, device)
    order = [len(VALUES[name]) - 1, 0, 2]
    _same(x[lucid.tensor(order, device=device)], tx[torch.tensor(order)])
    _same(x[1:4], tx[1:4])
    mask = [i % 2 == 0 for i in range(len(VALUES[name]))]
    _same(x[lucid.tensor(mask, device=device)], tx[torch.tensor(mask)])
    y, ty = x.clone(), tx.clone()
    y[0], ty[0] = VALUES[name][-3], VALUES[name][-3]
    _same(y, ty)
    y[1] = VALUES[name][-1]  # PyTorch's setitem of a Python int stops at 2**63 - 1; lucid takes all of uint64
    ty[1] = torch.tensor(VALUES[name][-1], dtype=ty.dtype)
    _same(lucid.cat([x, y]), torch.cat([tx, ty]))
    _same(lucid.stack([x, y]), torch.stack([tx, ty]))
    _same(lucid.where(lucid.tensor(mask, device=device), x, 0), torch.where(torch.tensor(mask), tx, 0))
    for descending in (False, True):
        values, indices = lucid.sort(y, descending=descending, stable=True)
        want = torch.sort(ty, descending=descending, stable=True)
        _same(values, want.values)
        _same(indices, want.indices)
    _same(lucid.unique(y), torch.unique(ty))


@pytest.mark.parametrize("name", UINTS)
def test_eq_bitwise_and_mul_as_torch(device, name):
    x, tx = _both(name, device)
    y, ty = _both(name, device, list(reversed(VALUES[name])))
    for op in ("__eq__", "__ne__", "__and__", "__or__", "__xor__", "__mul__"):
        _same(getattr(x, op)(y), getattr(tx, op)(ty))
        _same(getattr(x, op)(3), getattr(tx, op)(3))  # a Python int keeps the unsigned dtype
    _same(x * 2.5, tx * 2.5)
    _same(x * lucid.tensor(2, device=device), tx * torch.tensor(2))  # a 0-d integer tensor is weak too
    _same(x * lucid.tensor(2.0, device=device), tx * torch.tensor(2.0))
    _same(x * x.float(), tx * tx.float())


@pytest.mark.parametrize("name", UINTS)
def test_sum_cumsum_prod_give_int64_as_torch(device, name):
    x, tx = _both(name, device)
    for op in ("sum", "cumsum", "prod", "cumprod"):
        args = () if op in ("sum", "prod") else (0,)
        _same(getattr(x, op)(*args), getattr(tx, op)(*args))
        _same(getattr(x[:3], op)(*args), getattr(tx[:3], op)(*args))
    m, tm = x[:4].reshape(2, 2), tx[:4].reshape(2, 2)
    _same(m.sum(dim=1), tm.sum(dim=1))
    _same(m.sum(dtype=lucid.float64), tm.sum(dtype=torch.float64))
    _same(x.nansum(), tx.nansum())


@pytest.mark.parametrize("name", UINTS)
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_true_division_gives_the_default_float(device, name, default):
    x, tx = _both(name, device, [1, 2, 300])
    y, ty = _both(name, device, [3, 2, 1])
    lucid.set_default_dtype(getattr(lucid, default))
    torch.set_default_dtype(getattr(torch, default))
    try:
        for got, want in ((x / y, tx / ty), (x / 2, tx / 2), (x / 2.0, tx / 2.0)):
            assert got.dtype is getattr(lucid, default) and want.dtype is getattr(torch, default)
            np.testing.assert_allclose(got.numpy(force=True), want.numpy(), rtol=1e-6)
    finally:
        lucid.set_default_dtype(lucid.float32)
        torch.set_default_dtype(torch.float32)


def test_promote_types_as_torch():
    """Every pair with a limited unsigned dtype: the same dtype, or a RuntimeError naming both dtypes."""
    for a in UINTS:
        for b in ALL_NAMES:
            for first, second in ((a, b), (b, a)):
                try:
                    want = str(torch.promote_types(getattr(torch, first), getattr(torch, second)))
                except RuntimeError:
                    names = rf"uint16, uint32, uint64.*lucid\.{first} and lucid\.{second}"
                    with pytest.raises(RuntimeError, match=names):
                        lucid.promote_types(first, second)
                else:
                    assert lucid.promote_types(first, second).name == want.removeprefix("torch.")


@pytest.mark.parametrize("name", UINTS)
def test_mixing_with_another_dtype_is_refused_as_torch(device, name):
    x, tx = _both(name, device, [1, 2])
    for other in ("int64", "int32", "uint8", "bool"):
        y, ty = x.to(getattr(lucid.dtypes, "bool_" if other == "bool" else other)), tx.to(getattr(torch, other))
        for op in (lambda a, b: a * b, lambda a, b: a == b, lambda a, b: a & b):
            with pytest.raises(RuntimeError, match="Promotion"):
                op(tx, ty)
            with pytest.raises(RuntimeError, match=rf"Promotion.*lucid\.{name} and lucid\.{other}"):
                op(x, y)
        with pytest.raises(RuntimeError, match="Promotion"):
            lucid.cat([x, y])
    with pytest.raises(RuntimeError, match="Promotion"):  # a bool tensor does not take a uint16 0-d one, as PyTorch
        lucid.tensor([True], device=device) * x[0]
    _same(lucid.tensor([3], dtype=lucid.int8, device=device) * x[0], torch.tensor([3], dtype=torch.int8) * tx[0])
    assert lucid.result_type(x, 2) is x.dtype and lucid.result_type(x, 2.0) is lucid.float32


@pytest.mark.parametrize("name", UINTS)
def test_iinfo_is_signed_names_and_printing_as_torch(name):
    dt, tdt = getattr(lucid, name), getattr(torch, name)
    info, tinfo = lucid.iinfo(dt), torch.iinfo(tdt)
    assert (info.bits, info.min, info.max, info.dtype) == (tinfo.bits, tinfo.min, tinfo.max, tinfo.dtype)
    assert repr(info) == repr(tinfo)
    assert dt.is_signed is tdt.is_signed is False
    assert dt.itemsize == tdt.itemsize and not dt.is_floating_point and not dt.is_complex
    assert repr(dt) == repr(tdt).replace("torch", "lucid") and lucid.dtypes.to_dtype(f"torch.{name}") is dt
    assert dt == np.dtype(name) and dt == name
    x, tx = _both(name, None, [1, 2, 300])
    assert repr(x) == repr(tx).replace("torch", "lucid")
    assert str(x) == str(tx).replace("torch", "lucid")
    assert x.type() == tx.type().replace("torch", "lucid") and lucid.typename(x) == x.type()
    assert lucid.tensor([1]).type(tx.type()).dtype is dt  # "torch.UInt16Tensor", a name without a class
    assert lucid.is_signed(x) is False


@pytest.mark.parametrize("name", UINTS)
def test_save_load_round_trip_and_torch_files(device, tmp_path, name):
    x, tx = _both(name, device)
    lucid.save({"x": x, "nested": [x[:2]]}, tmp_path / "a.lct")
    back = lucid.load(tmp_path / "a.lct", map_location=device)
    _same(back["x"], tx)
    _same(back["nested"][0], tx[:2])
    assert back["x"].device == device
    safetensors.torch.save_file({"img": tx}, str(tmp_path / "torch.safetensors"))  # PyTorch's own writer
    _same(lucid.load(tmp_path / "torch.safetensors")["img"], tx)


_PROGRAM = """
import numpy as np
import torch
img = (np.arange(12, dtype=np.uint16) * 5000).reshape(3, 4)
for t in (torch.from_numpy(img), torch.tensor(img), torch.full((2,), -1, dtype=torch.uint32)):
    print(str(t.dtype).split(".")[-1], t.type().split(".")[-1], t.float().tolist(), t.long().tolist())
t = torch.from_numpy(img)
print(t.sum().item(), str(t.sum().dtype).split(".")[-1], (t / 2).dtype is torch.float32, (t == t).all().item())
print((t & 255).tolist(), (t * 2).tolist(), torch.iinfo(torch.uint64).max, torch.uint16.is_signed)
"""


def test_a_torch_program_with_uint16_images_runs_unchanged(tmp_path):
    """The same program under PyTorch and under ``python -m lucid.torch_compat`` prints the same."""
    script = tmp_path / "u16.py"
    script.write_text(_PROGRAM)
    runs = [subprocess.run([sys.executable, *args, str(script)], capture_output=True, text=True, timeout=300)
            for args in ([], ["-m", "lucid.torch_compat"])]
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    assert runs[0].stdout == runs[1].stdout


# ---- beyond PyTorch: what NumPy computes, where PyTorch's CPU raises NotImplementedError ----------------------------


@pytest.mark.parametrize("name", UINTS)
def test_arithmetic_comparison_and_reductions_beyond_torch_as_numpy(device, name):
    a = np.array(VALUES[name], dtype=name)
    b = np.array([v // 3 + 1 for v in reversed(VALUES[name])], dtype=name)
    x, y = lucid.tensor(a, device=device), lucid.tensor(b, device=device)
    with pytest.raises(NotImplementedError):  # the reason these are lucid's own: PyTorch stops here
        torch.from_numpy(a) + torch.from_numpy(b)
    with np.errstate(over="ignore"):
        pairs = [(x + y, a + b), (x - y, a - b), (x + 1, a + np.array(1, name)), (x // y, a // b), (x % y, a % b),
                 (x < y, a < b), (x >= y, a >= b), (x > 3, a > 3), (lucid.maximum(x, y), np.maximum(a, b)),
                 (lucid.minimum(x, y), np.minimum(a, b)), (x.max(), a.max()), (x.min(), a.min()),
                 (x.argmax(), a.argmax()), (x.amax(), a.max()), (-x, -a), (x.abs(), a), (~x, ~a),
                 (x << 1, a << np.array(1, name)), (x >> 1, a >> np.array(1, name)), (x.flip(0), a[::-1]),
                 (lucid.count_nonzero(x), np.count_nonzero(a))]
    for got, want in pairs:
        np.testing.assert_array_equal(got.numpy(force=True), want)
        if isinstance(want, np.ndarray) and want.dtype.kind == "u":
            assert got.dtype.name == want.dtype.name
    x_sorted = lucid.topk(x, 2).values
    np.testing.assert_array_equal(x_sorted.numpy(force=True), np.sort(a)[::-1][:2])


@pytest.mark.parametrize("name", UINTS)
def test_integer_only_ops_take_unsigned_tensors(device, name):
    """Where PyTorch refuses these dtypes (``one_hot``, ``random_``, masked reductions), lucid does what it does
    for the other integer dtypes."""
    dt = getattr(lucid, name)
    labels = lucid.tensor([2, 0, 1], dtype=dt, device=device)
    hot = lucid.nn.functional.one_hot(labels)
    np.testing.assert_array_equal(hot.numpy(force=True), np.eye(3, dtype=np.int64)[[2, 0, 1]])
    drawn = lucid.zeros(2000, dtype=dt, device=device).random_()
    top = min(2 ** (8 * dt.itemsize), 2**63)  # uint64: int64's range, in which the numbers are drawn
    assert drawn.dtype is dt and int(drawn.max().item()) < top and int(drawn.max().item()) > top // 2
    assert int(lucid.zeros(200, dtype=dt, device=device).random_(3, 7).min().item()) >= 3
    x = lucid.tensor(VALUES[name], dtype=dt, device=device)
    mask = lucid.ones(len(VALUES[name]), dtype=lucid.bool, device=device)
    assert lucid.masked.sum(x, mask=mask).dtype is lucid.int64  # as the plain sum, as PyTorch's
    assert lucid.masked.sum(x, mask=mask).item() == x.sum().item()
