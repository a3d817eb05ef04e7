"""PyTorch's ``out=`` keyword on lucid's functions (lucid/ops/_out.py), against torch: the result is written
into ``out`` in place and ``out`` returned (a named tuple of the outs for tuple results), with torch's
resize warning, cast rule, autograd, device and aliasing behaviour."""

from __future__ import annotations

import inspect
import pickle
import warnings

import numpy as np
import pytest

import lucid
from lucid.ops._out import OUT_NAMES

torch = pytest.importorskip("torch")

_R = np.random.default_rng(0)
X23, Y23, X32 = (_R.standard_normal(s).astype(np.float32) for s in ((2, 3), (2, 3), (3, 2)))
X234, X8 = _R.standard_normal((2, 3, 4)).astype(np.float32), _R.standard_normal(8).astype(np.float32)
SPD = (X23 @ X23.T + 3 * np.eye(2)).astype(np.float32)
COND = X23 > 0
F32, F64, I32, I64, C64, BOOL = "float32", "float64", "int32", "int64", "complex64", "bool"

# (namespace, name, args (numpy arrays become tensors), kwargs, outs as (shape, dtype) per result tensor)
CASES = [
    ("", "add", (X23, Y23), {"alpha": 2}, [((2, 3), F32)]),
    ("", "exp", (X23,), {}, [((0,), F64)]),  # computed in float32, cast into a float64 out
    ("", "eq", (X23, Y23), {}, [((2, 3), F32)]),  # bool result into a float out
    ("", "where", (COND, X23, Y23), {}, [((0,), F32)]),
    ("", "clamp", (X23,), {"min": -0.5, "max": 0.5}, [((6,), F32)]),
    ("", "sum", (X234,), {"dim": (0, 2)}, [((0,), F32)]),
    ("", "mean", (X234, 1), {"keepdim": True}, [((2, 1, 4), F64)]),
    ("", "cumsum", (X23, 1), {}, [((2, 3), F32)]),
    ("", "max", (X23, 1), {}, [((0,), F32), ((0,), I64)]),
    ("", "sort", (X23,), {"dim": 1, "descending": True}, [((0,), F32), ((0,), I64)]),
    ("", "topk", (X23, 2), {}, [((2, 2), F32), ((2, 2), I64)]),
    ("", "matmul", (X23, X32), {}, [((2, 2), F32)]),
    ("", "mm", (X23, X32), {}, [((0,), F32)]),
    ("", "cat", ([X23, Y23],), {"dim": 0}, [((0,), F32)]),
    ("", "stack", ([X23, Y23],), {"dim": 1}, [((2, 2, 3), F32)]),
    ("linalg", "norm", (X23,), {}, [((), F32)]),
    ("linalg", "inv", (SPD,), {}, [((0,), F32)]),
    ("linalg", "slogdet", (SPD,), {}, [((), F32), ((), F32)]),
    ("linalg", "vector_norm", (X234,), {"ord": 3, "dim": (1, 2)}, [((0,), F32)]),
    ("special", "erf", (X23,), {}, [((2, 3), F32)]),
    ("special", "xlogy", (np.abs(X23), Y23), {}, [((0,), F64)]),
    ("fft", "fft", (X8,), {}, [((0,), C64)]),
    ("fft", "rfftfreq", (8,), {}, [((0,), F64)]),
    ("", "arange", (5,), {}, [((0,), F64)]),  # factories: the values in out's dtype
    ("", "arange", (1, 7, 2), {}, [((3,), I32)]),
    ("", "zeros", (2, 3), {}, [((0,), I32)]),
    ("", "ones", ((2, 2),), {}, [((4,), F64)]),
    ("", "full", ((2, 2), 3.5), {}, [((0,), F32)]),
    ("", "linspace", (0, 1, 5), {}, [((5,), F64)]),
    ("", "eye", (3,), {}, [((0,), BOOL)]),
]
RANDOM = [  # compared by shape, dtype and identity (the generators differ)
    ("", "rand", (2, 3), {}, [((0,), F64)]),
    ("", "randn", (4,), {}, [((4,), F32)]),
    ("", "randint", (0, 5, (3,)), {}, [((0,), I32)]),
    ("", "randperm", (5,), {}, [((0,), I64)]),
    ("", "empty", (2, 2), {}, [((0,), F32)]),
]


def _run(lib, device, case):
    """``lib``'s function of ``case`` with out=..., the outs made beforehand and the warnings it gave."""
    space, name, args, kwargs, outs = case

    def conv(a):
        if isinstance(a, list):
            return [conv(v) for v in a]
        if not isinstance(a, np.ndarray):
            return a
        return lucid.tensor(a, device=device) if lib is lucid else torch.tensor(a)

    made = [lib.empty(shape, dtype=getattr(lib, dtype), **({"device": device} if lib is lucid else {}))
            for shape, dtype in outs]
    fn = getattr(getattr(lib, space) if space else lib, name)
    out = made[0] if len(made) == 1 else tuple(made)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*[conv(a) for a in args], **kwargs, out=out)
    resized = [str(w.message).split(" (Triggered internally")[0] for w in caught if "resized" in str(w.message)]
    return result, made, resized


def _ids(cases):
    return [f"{space}.{name}" if space else name for space, name, *_ in cases]


def _check_written(ours, theirs, values: bool):
    (result, outs, warned), (t_result, t_outs, t_warned) = ours, theirs
    if len(outs) == 1:
        assert result is outs[0]
    else:
        assert all(r is o for r, o in zip(result, outs))
        for field, o in zip(result._fields, outs):  # named as torch.return_types
            assert getattr(result, field) is o
            assert tuple(getattr(t_result, field).shape) == tuple(o.shape)
    for o, t in zip(outs, t_outs):
        assert tuple(o.shape) == tuple(t.shape)
        assert o.dtype.name == str(t.dtype).removeprefix("torch.")
        if values:
            np.testing.assert_allclose(o.numpy(force=True), t.numpy(), rtol=1e-5, atol=1e-6)
    assert warned == t_warned


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_out_matches_torch(device, case):
    _check_written(_run(lucid, device, case), _run(torch, "cpu", case), values=True)


@pytest.mark.parametrize("case", RANDOM, ids=_ids(RANDOM))
def test_random_factories_write_into_out(device, case):
    lucid.manual_seed(0)
    _check_written(_run(lucid, device, case), _run(torch, "cpu", case), values=False)


def test_out_none_is_the_plain_call_and_signatures_say_out(device):
    x = lucid.ones(2, device=device)
    assert lucid.add(x, x, out=None).tolist() == [2.0, 2.0]
    for fn in (lucid.add, lucid.max, lucid.linalg.norm, lucid.special.erf, lucid.fft.fft, lucid.zeros):
        out = inspect.signature(fn).parameters["out"]
        assert out.kind is inspect.Parameter.KEYWORD_ONLY and out.default is None
        assert fn.__doc__ and fn.__name__ in ("add", "max", "linalg_norm", "norm", "erf", "fft", "zeros")


def test_resize_warning_reads_as_torchs(device):
    ours = _run(lucid, device, ("", "add", (X23, Y23), {}, [((3,), F32)]))[2]
    theirs = _run(torch, "cpu", ("", "add", (X23, Y23), {}, [((3,), F32)]))[2]
    assert len(ours) == 1 and ours == theirs


def _raises_like_torch(call, error, match):
    with pytest.raises(error, match=match):
        call(lucid)
    with pytest.raises(error, match=match):
        call(torch)


def test_cast_rule_matches_torch(device):
    def attempt(lib, value, out_dtype):
        kw = {"device": device} if lib is lucid else {}
        x = lib.ones(2, **kw)
        return lib.mul(x, value, out=lib.empty(2, dtype=getattr(lib, out_dtype), **kw))

    for value, out_dtype, message in ((1.5, I64, "Float can't be cast to the desired output type Long"),
                                      (1.5, BOOL, "Float can't be cast to the desired output type Bool"),
                                      (1j, F32, "ComplexFloat can't be cast to the desired output type Float")):
        _raises_like_torch(lambda lib, v=value, d=out_dtype: attempt(lib, v, d), RuntimeError, f"result type {message}")
    assert attempt(lucid, 2, F64).tolist() == [2.0, 2.0] and attempt(lucid, 2, C64).dtype == lucid.complex64


def test_out_type_errors_match_torch(device):
    x = lucid.ones(2, 3, device=device)
    with pytest.raises(TypeError, match="must be tuple of Tensors"):
        lucid.max(x, 1, out=lucid.empty(0, device=device))
    with pytest.raises(TypeError, match="expected tuple of 2 elements but got 1"):
        lucid.max(x, 1, out=(lucid.empty(0, device=device),))
    with pytest.raises(TypeError, match="must be Tensor, not tuple"):
        lucid.add(x, x, out=(lucid.empty(0, device=device),))
    for lib in (torch, lucid):
        with pytest.raises(TypeError):
            lib.max(lib.ones(2, 3), 1, out=lib.empty(0))


def test_factory_arguments_must_agree_with_out():
    _raises_like_torch(lambda lib: lib.zeros(2, dtype=lib.float64, out=lib.empty(0)), RuntimeError, "dtype")
    assert lucid.zeros(2, dtype=lucid.float32, out=lucid.empty(0)).tolist() == [0.0, 0.0]


def test_autograd_refuses_out_like_torch(device):
    for lib in (lucid, torch):
        kw = {"device": device} if lib is lucid else {}
        x, y = lib.ones(2, requires_grad=True, **kw), lib.ones(2, **kw)
        out = lib.empty(2, **kw)
        msg = r"add\(\): functions with out=\.\.\. arguments don't support automatic differentiation, but one of " \
              r"the arguments requires grad\."
        with pytest.raises(RuntimeError, match=msg):
            lib.add(x, y, out=out)
        with pytest.raises(RuntimeError, match="automatic differentiation"):
            lib.cat([y, x], out=out)
        with pytest.raises(RuntimeError, match="automatic differentiation"):
            lib.add(y, y, out=lib.empty(2, requires_grad=True, **kw))
        with pytest.raises(RuntimeError, match="automatic differentiation"):
            lib.max(lib.stack([x, y]), 0, out=(lib.empty(0, **kw), lib.empty(0, dtype=lib.int64, **kw)))
        with lib.no_grad():
            assert lib.add(x, y, out=out) is out and out.tolist() == [2.0, 2.0] and not out.requires_grad


def test_out_aliasing_an_input_works_in_place(device):
    # (torch.matmul(m, m, out=m) gives zeros in torch 2.13; lucid computes first, so it gives m @ m)
    results = []
    for lib in (lucid, torch):
        kw = {"device": device} if lib is lucid else {}
        a = lib.tensor([1.0, 2.0, 3.0], **kw)
        lib.add(a, a, out=a)
        lib.cumsum(a, 0, out=a)
        base = lib.zeros(2, 3, **kw)
        lib.mul(a, 2, out=base[1])  # out a view: the base sees the write
        results.append((a.tolist(), base.tolist()))
    assert results[0] == results[1]


def test_out_on_another_device_raises(device_pair):
    here, there = device_pair
    x = lucid.ones(2, device=here)
    with pytest.raises(RuntimeError, match="cross-device"):
        lucid.add(x, x, out=lucid.empty(2, device=there))
    with pytest.raises(RuntimeError, match="cross-device"):
        lucid.max(lucid.ones(2, 3, device=here), 1,
                  out=(lucid.empty(0, device=here), lucid.empty(0, dtype=lucid.int64, device=there)))
    made = lucid.zeros(2, out=lucid.empty(0, device=there))  # factories make their values on out's device
    assert made.device == there and made.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="device"):
        lucid.zeros(2, device=here, out=lucid.empty(0, device=there))


# torch.overrides' signature lambdas list out for these, but torch refuses it
_LAMBDA_ONLY = {"conj", "diag_embed", "full_like", "imag", "positive", "real", "resolve_conj", "resolve_neg",
                "squeeze", "unsqueeze"}


def test_the_table_covers_torchs_functions_with_out():
    from torch.overrides import get_testing_overrides

    lambdas = get_testing_overrides()
    for module, names in OUT_NAMES.items():
        ours, theirs = (lucid, torch) if module == "lucid" else \
            (getattr(lucid, module.split(".")[1]), getattr(torch, module.split(".")[1]))
        for name in names.split():  # every tabled name is there and takes out
            assert "out" in inspect.signature(getattr(ours, name)).parameters, f"{module}.{name}"
        for name in dir(theirs):
            f = getattr(theirs, name)
            if name in _LAMBDA_ONLY or not hasattr(ours, name) or not callable(f) or isinstance(f, type):
                continue
            try:
                listed = "out" in inspect.signature(lambdas[f]).parameters
            except (KeyError, TypeError):
                continue
            assert not listed or name in names.split(), f"{module}.{name} takes out in torch"
    for name in _LAMBDA_ONLY:
        with pytest.raises(TypeError):
            getattr(torch, name)(torch.ones(1, 1), *([1.0] if name == "full_like" else []), out=torch.empty(1))


def test_functions_with_out_still_pickle_by_name():
    """DataLoader workers and multiprocessing pickle functions by where they are published: the ``out=`` forms
    must be found there (lucid.add, an alias such as lucid.clip, lucid.special.erf) and come back as themselves."""
    for fn in (lucid.add, lucid.clip, lucid.special.erf, lucid.linalg.norm, lucid.fft.fft, lucid.zeros):
        assert pickle.loads(pickle.dumps(fn)) is fn
