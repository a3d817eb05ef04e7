"""PyTorch's tensor metadata, interop, printing and global-switch names on lucid, checked against torch."""

from __future__ import annotations

import array
import math
import pickle

import numpy as np
import pytest

import lucid

torch = pytest.importorskip("torch")


def _same(name):
    return getattr(torch, name)


# ---- printing ---------------------------------------------------------------------------------------
REPR_CASES = {
    "float": lambda m: m.tensor([1.5, -2.25, 3.0]),
    "whole floats": lambda m: m.tensor([1.0, 2.0, -30.0]),
    "sci": lambda m: m.tensor([[1e-5, 1.0], [3.0, 4e6]]),
    "nonfinite": lambda m: m.tensor([float("nan"), 1.0, float("inf"), -float("inf")]),
    "zeros": lambda m: m.zeros(2, 2),
    "bool": lambda m: m.tensor([True, False]),
    "int32": lambda m: m.tensor([1, -20, 300], dtype=m.int32),
    "float64": lambda m: m.tensor([0.1, 0.2], dtype=m.float64),
    "scalar": lambda m: m.tensor(3.25),
    "empty": lambda m: m.zeros(0, 3),
    "empty 1-d int": lambda m: m.zeros(0, dtype=m.int16),
    "summarised": lambda m: m.arange(2000).reshape(2, 1000),
    "summarised float": lambda m: (m.arange(3000, dtype=m.float32) / 7).reshape(30, 100),
    "wrapped": lambda m: m.ones(3, 40) / 3,
    "3-d": lambda m: m.arange(24).reshape(2, 3, 4),
    "complex wrapped": lambda m: m.complex(m.arange(20.0), -m.arange(20.0)),
    "grad": lambda m: m.tensor([1.0, 2.0], requires_grad=True),
    "grad_fn": lambda m: m.tensor([1.0, 2.0], requires_grad=True) * 2,
    "grad_fn add": lambda m: m.tensor([1.0, 2.0], requires_grad=True) + 1,
}


@pytest.mark.parametrize("case", REPR_CASES, ids=list(REPR_CASES))
def test_repr_matches_torch(case):
    ours, theirs = repr(REPR_CASES[case](lucid)), repr(REPR_CASES[case](torch))
    assert ours == theirs.replace("torch.", "lucid.")


def test_repr_on_other_devices_names_the_device(device):
    text = repr(lucid.ones(2, device=device))
    assert text.startswith("tensor([1., 1.]") and (f"device='{device}'" in text) == (device.type != "cpu")


@pytest.mark.parametrize("options", [dict(precision=2), dict(threshold=5), dict(edgeitems=1, threshold=3),
                                     dict(linewidth=20), dict(sci_mode=True), dict(sci_mode=False),
                                     dict(profile="short"), dict(profile="full")])
def test_set_printoptions_matches_torch(options):
    values = (np.arange(12, dtype=np.float32) / 3 - 1).reshape(3, 4)
    try:
        lucid.set_printoptions(**options)
        torch.set_printoptions(**options)
        for data in (values, values.reshape(-1), values * 1e5):
            assert repr(lucid.tensor(data)) == repr(torch.tensor(data))
    finally:
        lucid.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    assert lucid.get_printoptions()["precision"] == 4


def test_set_printoptions_refuses_an_unknown_profile():
    with pytest.raises(ValueError, match="profile must be one of"):
        lucid.set_printoptions(profile="long")
    assert lucid.get_printoptions()["precision"] == 4


def test_format_spec_on_tensors(device):
    loss = lucid.tensor(0.123456, device=device)
    assert f"{loss:.4f}" == "0.1235" and f"{lucid.tensor(7, device=device):>3d}" == "  7"
    assert f"{lucid.ones(2, device=device)}" == str(lucid.ones(2, device=device))
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{lucid.ones(2, device=device):.2f}"
    with pytest.raises(TypeError):
        format(torch.ones(2), ".2f")


RETURN_TYPE_CASES = {
    "max": lambda m, x: m.max(x, 0),
    "sort": lambda m, x: x.sort(1),
    "topk": lambda m, x: m.topk(x, 2),
    "median": lambda m, x: x.median(1),
    "aminmax": lambda m, x: m.aminmax(x),
    "cummin": lambda m, x: m.cummin(x, 1),
    "frexp": lambda m, x: m.frexp(x),
    "histogram": lambda m, x: m.histogram(x.flatten(), bins=3),
    "linalg_eigh": lambda m, x: m.linalg.eigh(x @ x.mT + 3 * m.eye(3)),
    "linalg_slogdet": lambda m, x: m.linalg.slogdet(x),
    "linalg_lu_factor_ex": lambda m, x: m.linalg.lu_factor_ex(x),
    "geqrf": lambda m, x: m.geqrf(x),
}


@pytest.mark.parametrize("case", RETURN_TYPE_CASES, ids=list(RETURN_TYPE_CASES))
def test_return_types_are_named_and_print_as_torchs(case):
    data = np.array([[0.5, -1.25, 2.0], [3.5, 0.25, -0.75], [1.0, 4.0, -2.5]])
    fn = RETURN_TYPE_CASES[case]
    ours, theirs = fn(lucid, lucid.tensor(data)), fn(torch, torch.tensor(data))
    assert type(ours).__name__ == type(theirs).__name__ == case and isinstance(ours, getattr(lucid.return_types, case))
    assert repr(ours) == str(ours) == repr(theirs).replace("torch.", "lucid.")
    assert repr(pickle.loads(pickle.dumps(ours))) == repr(ours)


# ---- Size, metadata ---------------------------------------------------------------------------------
def test_size_is_a_tuple_with_numel(device):
    x = lucid.zeros(2, 3, 4, device=device)
    assert isinstance(x.shape, lucid.Size) and isinstance(x.size(), lucid.Size) and x.shape == (2, 3, 4)
    assert x.shape.numel() == 24 == torch.Size([2, 3, 4]).numel() and lucid.Size([]).numel() == 1
    assert x.shape[1:] == (3, 4) and x.shape[-1] == 4  # slices are plain tuples (see lucid.Size)
    assert x.shape + (5,) == (2, 3, 4, 5) and (1,) + x.shape == (1, 2, 3, 4)
    assert str(x.shape) == "(2, 3, 4)"  # lucid's messages print shapes as tuples


def test_metadata_matches_torch(device):
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    ours, theirs = lucid.tensor(data, device=device), torch.tensor(data)
    for make in (lambda m, t: t, lambda m, t: t.transpose(0, 2), lambda m, t: t[:, 1:, ::2], lambda m, t: t[0, 1],
                 lambda m, t: t[:, :0].transpose(0, 1), lambda m, t: t[:1].expand(4, 3, 4)):
        a, b = make(lucid, ours), make(torch, theirs)
        assert a.nelement() == b.nelement() and a.ndimension() == b.ndimension()
        assert lucid.numel(a) == torch.numel(b) and a.itemsize == b.itemsize
        if device.type != "strict":  # array-api-strict hides strides: its tensors read as row-major
            assert a.stride() == b.stride() and a.is_contiguous() == b.is_contiguous()
            assert all(a.stride(d) == b.stride(d) for d in range(-a.ndim, a.ndim))
        assert a.contiguous().is_contiguous() and a.contiguous(memory_format=lucid.contiguous_format).tolist() == \
            b.tolist()
    for make in (lambda t: t, lambda t: t.transpose(0, 2), lambda t: t.permute(1, 0, 2)):
        if device.type != "strict":
            assert make(ours).dim_order() == make(theirs).dim_order()
    assert not ours.is_meta and not ours.is_pinned()
    if device.host:  # without a backend that pins, pinning is a no-op; a device tensor cannot be pinned (torch)
        assert ours.pin_memory() is ours
    else:
        with pytest.raises(RuntimeError, match="only CPU tensors can be pinned"):
            ours.pin_memory()
    assert lucid.get_device(ours) == ours.get_device()
    if device.type == "cpu":
        host = ours.numpy()
        assert ours.data_ptr() == host.__array_interface__["data"][0]
        assert ours[1].data_ptr() - ours.data_ptr() == theirs[1].data_ptr() - theirs.data_ptr()
    elif device.type == "strict":
        with pytest.raises(RuntimeError, match="does not expose memory addresses"):
            ours.data_ptr()
    assert ours.is_cpu == (device.type == "cpu") and ours.get_device() == (-1 if device.type == "cpu" else
                                                                            device.index or 0)
    assert ours.layout is lucid.strided and repr(lucid.strided) == "lucid.strided"
    assert repr(lucid.channels_last) == "lucid.channels_last"


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8",
                                   "bool"])
def test_predicates_and_legacy_types_match_torch(dtype):
    ours, theirs = lucid.zeros(2, dtype=getattr(lucid, dtype)), torch.zeros(2, dtype=getattr(torch, dtype))
    assert ours.is_signed() == theirs.is_signed() and lucid.is_signed(ours) == theirs.is_signed()
    assert lucid.is_floating_point(ours) == torch.is_floating_point(theirs)
    assert ours.type() == theirs.type().replace("torch.", "lucid.")
    assert lucid.typename(ours) == torch.typename(theirs).replace("torch.", "lucid.")
    for name in ("FloatTensor", "DoubleTensor", "HalfTensor", "ByteTensor", "CharTensor", "ShortTensor",
                 "IntTensor", "LongTensor", "BoolTensor"):
        assert isinstance(ours, getattr(lucid, name)) == isinstance(theirs, getattr(torch, name)), name
        assert ours.type(getattr(lucid, name)).dtype == getattr(lucid, theirs.type(getattr(torch, name)).dtype.__str__()
                                                               .removeprefix("torch."))
        assert ours.type(f"torch.{name}").dtype == ours.type(getattr(lucid, name)).dtype


def test_legacy_constructors():
    assert lucid.FloatTensor(2, 3).shape == (2, 3) and lucid.FloatTensor(2, 3).dtype is lucid.float32
    assert lucid.LongTensor([1, 2]).tolist() == [1, 2] and lucid.LongTensor([1, 2]).dtype is lucid.int64
    assert lucid.DoubleTensor((2, 3)).tolist() == torch.DoubleTensor((2, 3)).tolist() == [2.0, 3.0]
    assert lucid.DoubleTensor(lucid.Size([2])).shape == (2,) and lucid.BoolTensor([1, 0]).tolist() == [True, False]
    assert lucid.IntTensor(lucid.tensor([1.5])).dtype is lucid.int32
    assert not isinstance(lucid.ones(2), lucid.LongTensor) and not isinstance(3.0, lucid.FloatTensor)
    cls = lucid.nn.Linear
    assert lucid.typename(3) == torch.typename(3)
    assert lucid.typename(cls(1, 1)) == f"{cls.__module__}.{cls.__qualname__}"


def test_is_nonzero_and_same_size():
    for values in ([0.0], [2.0], [[True]]):
        assert lucid.is_nonzero(lucid.tensor(values)) == torch.is_nonzero(torch.tensor(values))
    with pytest.raises(RuntimeError, match="exactly one element"):
        lucid.tensor([1.0, 2.0]).is_nonzero()
    assert lucid.ones(2, 3).is_same_size(lucid.zeros(2, 3)) and not lucid.is_same_size(lucid.ones(2), lucid.ones(3))
    assert lucid.is_tensor(lucid.nn.Parameter(lucid.ones(1))) and not lucid.is_tensor(np.ones(1))


def test_scalar_tensor_and_detach(device):
    for s in (3, 2.5, True):
        assert repr(lucid.scalar_tensor(s)) == repr(torch.scalar_tensor(s))
    x = lucid.ones(2, requires_grad=True, device=device)
    d = lucid.detach(x * 2)
    assert not d.requires_grad and d.tolist() == [2.0, 2.0]


def test_new_factories_follow_the_tensor(device):
    x = lucid.ones(2, dtype=lucid.float64, device=device)
    t = torch.ones(2, dtype=torch.float64)
    for name, args in [("new_zeros", (3, 2)), ("new_ones", ((2,),)), ("new_empty", (4,)), ("new_full", ((2, 2), 7))]:
        a, b = getattr(x, name)(*args), getattr(t, name)(*args)
        assert a.shape == tuple(b.shape) and a.dtype is lucid.float64 and a.device == device
        if name != "new_empty":
            assert a.tolist() == b.tolist()
    assert x.new_tensor([1, 2]).dtype is lucid.float64 and x.new_tensor([1, 2], dtype=lucid.int32).dtype is lucid.int32
    assert x.new_zeros(2, dtype=lucid.int64).dtype is lucid.int64 and x.new_ones(1, requires_grad=True).requires_grad
    assert x.new_empty_strided((2, 3), (3, 1)).shape == (2, 3) and x.new_full((1,), fill_value=2).tolist() == [2.0]
    assert x.new_tensor([1.0]).device == device
    made = lucid.empty_strided((2, 3), (1, 2), dtype=lucid.int32, device=device)
    assert made.shape == tuple(torch.empty_strided((2, 3), (1, 2)).shape) and made.dtype is lucid.int32
    assert made.device == device


def test_type_as_casts_and_differentiates(device):
    x = lucid.tensor([1.5, 2.5], requires_grad=True, device=device)
    y = x.type_as(lucid.zeros(1, dtype=lucid.float64, device=device))
    assert y.dtype is lucid.float64
    y.sum().backward()
    assert x.grad.dtype is lucid.float32 and x.grad.tolist() == [1.0, 1.0]


# ---- dtype facts ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "complex64", "complex128"])
def test_finfo_matches_torch(dtype):
    ours, theirs = lucid.finfo(getattr(lucid, dtype)), torch.finfo(getattr(torch, dtype))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert repr(ours) == repr(theirs)


def test_finfo_defaults_and_errors():
    assert lucid.finfo().dtype == "float32" and lucid.finfo(float).bits == 32
    with pytest.raises(TypeError, match="iinfo"):
        lucid.finfo(lucid.int32)
    with pytest.raises(TypeError, match="finfo"):
        lucid.iinfo(lucid.float32)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(dtype):
    ours, theirs = lucid.iinfo(getattr(lucid, dtype)), torch.iinfo(getattr(torch, dtype))
    assert (ours.bits, ours.max, ours.min, ours.dtype) == (theirs.bits, theirs.max, theirs.min, theirs.dtype)
    assert repr(ours) == repr(theirs)


DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def test_promote_types_and_can_cast_match_torch():
    for a in DTYPES:
        for b in DTYPES:
            assert lucid.promote_types(getattr(lucid, a), b).name == \
                str(torch.promote_types(getattr(torch, a), getattr(torch, b))).removeprefix("torch."), (a, b)
            assert lucid.can_cast(a, b) == torch.can_cast(getattr(torch, a), getattr(torch, b)), (a, b)


def test_result_type_matches_torch():
    operands = [lambda m: m.tensor([1, 2]), lambda m: m.tensor([1.0], dtype=m.float16), lambda m: m.tensor(2.0,
                dtype=m.float64), lambda m: m.tensor([True]), lambda m: 3, lambda m: 2.5, lambda m: True]
    for f in operands:
        for g in operands:
            if isinstance(f(lucid), (int, float)) and isinstance(g(lucid), (int, float)):
                continue
            assert lucid.result_type(f(lucid), g(lucid)).name == \
                str(torch.result_type(f(torch), g(torch))).removeprefix("torch.")


def test_constants_and_dtype_type():
    assert (lucid.pi, lucid.e, lucid.inf) == (torch.pi, torch.e, torch.inf) and math.isnan(lucid.nan)
    assert lucid.newaxis is None and isinstance(lucid.float32, lucid.dtype)
    assert lucid.ones(2, 3)[:, lucid.newaxis].shape == (2, 1, 3)


# ---- interop ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "uint8", "bool"])
def test_from_numpy_shares_memory_and_keeps_dtype(dtype):
    a = np.zeros(4, dtype=dtype)
    t = lucid.from_numpy(a)
    assert t.dtype.name == str(torch.from_numpy(a).dtype).removeprefix("torch.")
    a[1] = 1
    assert t.tolist()[1] == 1
    t[2] = 1
    assert a[2] == 1


def test_from_numpy_refuses_what_it_cannot_share():
    with pytest.raises(TypeError, match="complex128"):
        lucid.from_numpy(np.zeros(2, dtype=np.complex128)) if not hasattr(lucid, "complex128") else \
            lucid.from_numpy(np.zeros(2, dtype="U1"))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        lucid.from_numpy([1, 2])
    with pytest.raises(TypeError, match="byte order"):
        lucid.from_numpy(np.zeros(2, dtype=">f4"))
    frozen = np.zeros(2)
    frozen.flags.writeable = False
    with pytest.warns(UserWarning, match="not writable"):
        assert lucid.from_numpy(frozen).tolist() == [0.0, 0.0]


def test_asarray_shares_or_copies_as_asked(device):
    a = np.arange(3, dtype=np.float32)
    shared = lucid.asarray(a)
    a[0] = 5
    assert shared.tolist()[0] == 5
    copied = lucid.asarray(a, copy=True)
    a[0] = 6
    assert copied.tolist()[0] == 5
    with pytest.raises(ValueError, match="needs a copy"):
        lucid.asarray(a, dtype=lucid.float64, copy=False)
    t = lucid.ones(2, device=device)
    assert lucid.asarray(t) is t and lucid.asarray(t, copy=True) is not t
    assert lucid.asarray(t, dtype=lucid.float64).dtype is lucid.float64
    assert lucid.asarray([1, 2], device=device).device == device and lucid.asarray([1.5]).dtype is lucid.float32
    g = lucid.asarray([1.0, 2.0], requires_grad=True)
    assert g.requires_grad and g.is_leaf
    assert lucid.asarray(t, requires_grad=True).requires_grad and not t.requires_grad


def test_as_tensor_returns_the_tensor_itself_when_it_can(device):
    t = lucid.ones(2, device=device)
    assert lucid.as_tensor(t) is t and lucid.as_tensor(t, dtype=lucid.float32) is t
    assert lucid.as_tensor(t, dtype=lucid.float64).dtype is lucid.float64
    a = np.ones(2)
    shared = lucid.as_tensor(a)
    a[0] = 3
    assert shared.tolist() == [3.0, 1.0] and shared.dtype is lucid.float64
    assert lucid.as_tensor([1, 2], device=device).device == device


def test_frombuffer_views_the_buffer():
    buffer = bytearray(np.arange(4, dtype=np.int32).tobytes())
    t = lucid.frombuffer(buffer, dtype=lucid.int32, count=2, offset=4)
    assert t.tolist() == torch.frombuffer(buffer, dtype=torch.int32, count=2, offset=4).tolist() == [1, 2]
    buffer[4] = 9
    assert t.tolist()[0] == 9
    assert lucid.frombuffer(array.array("f", [1.0, 2.0]), dtype=lucid.float32).tolist() == [1.0, 2.0]


def test_dlpack_both_ways_with_numpy_and_torch():
    a = np.arange(3.0)
    t = lucid.from_dlpack(a)
    a[0] = 7
    assert t.tolist() == [7.0, 1.0, 2.0]
    theirs = torch.arange(3, dtype=torch.float32)
    ours = lucid.from_dlpack(theirs)
    theirs[1] = 5
    assert ours.tolist() == [0.0, 5.0, 2.0]
    back = torch.from_dlpack(ours)
    ours[2] = 9
    assert back.tolist() == [0.0, 5.0, 9.0]
    assert torch.from_dlpack(lucid.to_dlpack(lucid.ones(2))).tolist() == [1.0, 1.0]
    assert np.from_dlpack(lucid.ones(2)).tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="__dlpack__"):
        lucid.from_dlpack([1, 2])
    with pytest.raises(TypeError, match="lucid Tensor"):
        lucid.to_dlpack(np.ones(2))
