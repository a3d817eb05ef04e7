"""lucid.save / lucid.load: safetensors files with JSON metadata, no pickle."""

from __future__ import annotations

import errno
import io
import json
import math
import os
import pickle
import re
import signal
import subprocess
import sys
import zlib
from collections import OrderedDict

import numpy as np
import pytest
import safetensors.numpy

import lucid
import lucid.nn as nn
from lucid import serialization
from lucid.serialization import SerializationError, load, save

DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_]


class Small(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.weight = nn.Parameter(lucid.randn(2, 3, device=device))
        self.register_buffer("running_mean", lucid.randn(3, device=device))
        self.register_buffer("num_batches_tracked", lucid.tensor(7, device=device))
        self.register_buffer("scratch", lucid.zeros(1, device=device), persistent=False)
        self.inner = nn.Sequential(nn.Module())
        self.inner[0].bias = nn.Parameter(lucid.randn(3, device=device))


def _random(dtype, rng, shape=(2, 3)):
    if dtype is np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    return rng.standard_normal(shape).astype(dtype)


def _roundtrip(obj, path, **kwargs):
    save(obj, path)
    return load(path, **kwargs)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_dtypes_roundtrip(device, tmp_path, rng, dtype):
    arr = _random(dtype, rng)
    if not device.backend.supports(lucid.dtypes.to_dtype(np.dtype(dtype).name)):
        pytest.skip(f"{device} has no {np.dtype(dtype).name}")
    t = lucid.tensor(arr, device=device)
    back = _roundtrip(t, tmp_path / "t.lct")
    assert type(back) is lucid.Tensor and back.dtype is t.dtype and back.device is device
    np.testing.assert_array_equal(back.numpy(force=True), arr)


def test_shapes_roundtrip(tmp_path):
    obj = {"scalar": lucid.tensor(2.5), "empty": lucid.zeros(0, 4), "big": lucid.arange(24).reshape(2, 3, 4)}
    back = _roundtrip(obj, tmp_path / "s.lct")
    assert back["scalar"].shape == () and back["scalar"].item() == 2.5
    assert back["empty"].shape == (0, 4) and back["big"].shape == (2, 3, 4)
    np.testing.assert_array_equal(back["big"].numpy(), np.arange(24).reshape(2, 3, 4))


def test_state_dict_roundtrip_into_new_model(device, tmp_path):
    src, dst = Small(device), Small(device)
    back = _roundtrip(src.state_dict(), tmp_path / "model.lcd")
    assert isinstance(back, OrderedDict) and list(back) == list(src.state_dict())
    assert all(v.device is device for v in back.values())
    dst.load_state_dict(back)
    for key, value in src.state_dict().items():
        np.testing.assert_array_equal(dst.state_dict()[key].numpy(force=True), value.numpy(force=True))
    assert dst.num_batches_tracked.dtype is lucid.int64


def test_saving_a_module_saves_its_state_dict(device, tmp_path):
    m = Small(device)
    back = _roundtrip(m, tmp_path / "m.safetensors")
    assert list(back) == ["weight", "running_mean", "num_batches_tracked", "inner.0.bias"]
    assert all(type(v) is lucid.Tensor and not v.requires_grad for v in back.values())


def test_parameter_buffer_types_and_flags(device, tmp_path):
    m = Small(device)
    back = _roundtrip(m.state_dict(keep_vars=True) | {"tmp": m.scratch}, tmp_path / "vars.lcd")
    assert type(back["weight"]) is nn.Parameter and back["weight"].requires_grad
    assert type(back["running_mean"]) is nn.Buffer and back["running_mean"].persistent
    assert type(back["tmp"]) is nn.Buffer and back["tmp"].persistent is False and not back["tmp"].requires_grad
    leaf = lucid.ones(2, device=device, requires_grad=True)
    frozen = nn.Parameter(lucid.ones(2, device=device), requires_grad=False)
    back = _roundtrip([leaf, frozen], tmp_path / "flags.lct")
    assert type(back[0]) is lucid.Tensor and back[0].requires_grad
    assert type(back[1]) is nn.Parameter and not back[1].requires_grad


def test_nested_python_data_roundtrip(tmp_path):
    """An optimizer-like state dict: int keys, tuples, floats (nan, inf), strings, None, bools."""
    exp_avg = lucid.randn(3)
    state = {
        "state": {0: {"step": 10, "exp_avg": exp_avg, "max": lucid.zeros(2, dtype=lucid.float64)}, 1: {}},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": float("inf"), "nan": float("nan"),
                          "amsgrad": False, "name": None, "tag": "é-ünïcode", "params": [0, 1]}],
        "ordered": OrderedDict([("b", 1), ("a", 2)]),
        "mixed_keys": {1.5: "x", True: "y", None: "z"},
    }
    back = _roundtrip(state, tmp_path / "optim.lcd")
    group = back["param_groups"][0]
    assert back["state"][0]["step"] == 10 and back["state"][1] == {}
    np.testing.assert_array_equal(back["state"][0]["exp_avg"].numpy(), exp_avg.numpy())
    assert back["state"][0]["max"].dtype is lucid.float64
    assert group["betas"] == (0.9, 0.999) and isinstance(group["betas"], tuple)
    assert group["eps"] == math.inf and math.isnan(group["nan"])
    assert group["amsgrad"] is False and group["name"] is None and group["tag"] == "é-ünïcode"
    assert group["params"] == [0, 1] and isinstance(group["params"], list)
    assert type(back["ordered"]) is OrderedDict and list(back["ordered"]) == ["b", "a"]
    assert type(back["state"]) is dict and back["mixed_keys"] == {1.5: "x", True: "y", None: "z"}


def test_numpy_values_roundtrip(tmp_path, rng):
    arr = rng.standard_normal((2, 2))
    back = _roundtrip({"arr": arr, "np_scalar": np.float32(1.5)}, tmp_path / "np.lct")
    assert isinstance(back["arr"], np.ndarray)
    np.testing.assert_array_equal(back["arr"], arr)
    assert back["np_scalar"] == 1.5


def test_shared_tensor_is_stored_once(tmp_path, device):
    t = lucid.randn(3, device=device)
    back = _roundtrip({"a": t, "b": [t]}, tmp_path / "shared.lct")
    assert back["a"] is back["b"][0]
    assert len(safetensors.numpy.load_file(str(tmp_path / "shared.lct"))) == 1


def test_loaded_tensors_are_writable_and_independent(tmp_path):
    back = _roundtrip({"a": lucid.zeros(3), "b": lucid.zeros(3)}, tmp_path / "w.lct")
    back["a"] += 1.0
    np.testing.assert_array_equal(back["b"].numpy(), np.zeros(3))


def test_map_location(device_pair, tmp_path):
    here, there = device_pair
    path = tmp_path / "dev.lct"
    save({"x": lucid.ones(2, device=here)}, path)
    assert load(path)["x"].device is here
    assert load(path, map_location=there)["x"].device is there
    assert load(path, map_location=str(there))["x"].device is there
    assert load(path, map_location={str(here): there})["x"].device is there


def test_unavailable_saved_device_needs_map_location(tmp_path):
    if lucid.cuda.is_available():
        pytest.skip("a GPU is available")
    path = tmp_path / "cuda.lct"
    save(lucid.ones(2), path)
    with pytest.raises(SerializationError, match="map_location"):
        load(path, map_location="cuda")


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    save({"w": lucid.arange(3)}, buf)
    buf.seek(0)
    np.testing.assert_array_equal(load(buf)["w"].numpy(), [0, 1, 2])
    path = tmp_path / "os.lct"
    save(lucid.ones(1), os.fspath(path))
    assert load(os.fspath(path)).item() == 1.0


def test_files_are_plain_safetensors(tmp_path, rng):
    m = Small()
    save(m, tmp_path / "m.safetensors")
    arrays = safetensors.numpy.load_file(str(tmp_path / "m.safetensors"))
    for key, value in m.state_dict().items():
        np.testing.assert_array_equal(arrays[key], value.numpy())


def test_torch_reads_our_files(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    m = Small()
    save(m, tmp_path / "m.safetensors")
    tensors = load_file(str(tmp_path / "m.safetensors"))
    assert tensors["num_batches_tracked"].dtype == torch.int64
    np.testing.assert_array_equal(tensors["weight"].numpy(), m.weight.detach().numpy())


def test_foreign_safetensors_file_loads_as_tensors(tmp_path, rng):
    arrays = {"layer.weight": rng.standard_normal((2, 2)).astype(np.float32), "ids": np.arange(4)}
    safetensors.numpy.save_file(arrays, str(tmp_path / "foreign.safetensors"))
    back = load(tmp_path / "foreign.safetensors")
    assert set(back) == set(arrays)
    for key, arr in arrays.items():
        assert isinstance(back[key], lucid.Tensor)
        np.testing.assert_array_equal(back[key].numpy(), arr)


# ---- bad files --------------------------------------------------------------------------
def test_truncated_file_raises(tmp_path):
    path = tmp_path / "t.lct"
    save({"w": lucid.randn(100)}, path)
    data = path.read_bytes()
    for cut in (len(data) - 1, len(data) // 2, 12, 3, 0):
        path.write_bytes(data[:cut])
        with pytest.raises(SerializationError, match="not a valid safetensors file"):
            load(path)


def test_corrupted_data_raises(tmp_path):
    path = tmp_path / "c.lct"
    save({"w": lucid.zeros(100)}, path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(SerializationError, match="corrupted"):
        load(path)


def test_corrupted_header_raises(tmp_path):
    path = tmp_path / "h.lct"
    save({"w": lucid.zeros(4)}, path)
    data = bytearray(path.read_bytes())
    data[10] = ord("#")
    path.write_bytes(bytes(data))
    with pytest.raises(SerializationError):
        load(path)


def test_malformed_metadata_raises(tmp_path):
    path = tmp_path / "meta.lct"
    safetensors.numpy.save_file({"a": np.zeros(2)}, str(path), metadata={"lucid": '{"tree": {"tensor": "zz"}}'})
    with pytest.raises(SerializationError, match="'zz'"):
        load(path)
    safetensors.numpy.save_file({"a": np.zeros(2)}, str(path), metadata={"lucid": "not json"})
    with pytest.raises(SerializationError, match="malformed"):
        load(path)


class _Exploit:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_pickle_files_are_refused_without_running_them(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "upstream.lcd"
    path.write_bytes(pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(SerializationError, match="pickle"):
        load(path)
    assert not marker.exists()


def test_unsupported_objects_raise(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store a object \(at obj\['a'\]\[0\]\)"):
        save({"a": [object()]}, tmp_path / "x.lct")
    with pytest.raises(TypeError, match="dict keys"):
        save({(1, 2): lucid.ones(1)}, tmp_path / "x.lct")


def test_torch_save_files_are_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(SerializationError, match="never unpickles"):
        load(path)


# ---- atomic saving -------------------------------------------------------------------------
def _assert_holds(path, value):
    np.testing.assert_array_equal(load(path)["w"].numpy(), value)


@pytest.mark.parametrize("fail_at", ["write", "fsync", "replace"])
def test_failed_save_keeps_the_previous_file_and_leaves_no_temp(tmp_path, monkeypatch, fail_at):
    path = tmp_path / "ckpt.safetensors"
    save({"w": lucid.zeros(5000)}, path)
    module = serialization
    seen = []

    def disk_full(*args):
        seen.append(sorted(os.listdir(tmp_path)))
        if fail_at == "write":  # some bytes land, then the disk is full
            os.write(args[0], bytes(args[1][:100]))
        raise OSError(errno.ENOSPC, "No space left on device")

    target = {"write": (module, "_os_write"), "fsync": (module.os, "fsync"), "replace": (module.os, "replace")}
    monkeypatch.setattr(*target[fail_at], disk_full)
    with pytest.raises(OSError, match="No space"):
        save({"w": lucid.ones(5000)}, path)
    monkeypatch.undo()
    assert len(seen[0]) == 2 and seen[0][1] == "ckpt.safetensors"  # the temp file sits beside the target
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # removed again
    _assert_holds(path, np.zeros(5000))
    save({"w": lucid.ones(5000)}, path)
    _assert_holds(path, np.ones(5000))
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


_SLOW_SAVE = """
import sys, time
import lucid, lucid.serialization as serialization
real = serialization._os_write
def half_then_hang(fd, view):
    written = real(fd, view[:len(view) // 2])
    print("half written", flush=True)
    time.sleep(120)
    return written
serialization._os_write = half_then_hang
lucid.save({"w": lucid.ones(100000)}, sys.argv[1])
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_9_mid_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"w": lucid.zeros(100000)}, path)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_SAVE, str(path)], stdout=subprocess.PIPE, env=env, cwd=root)
    try:
        assert proc.stdout.readline() == b"half written\n"
        temps = [n for n in os.listdir(tmp_path) if n != "ckpt.safetensors"]
        assert len(temps) == 1 and os.path.getsize(tmp_path / temps[0]) > 0
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    _assert_holds(path, np.zeros(100000))


def test_save_through_a_symlink_replaces_its_target(tmp_path):
    real, link = tmp_path / "real.lct", tmp_path / "link.lct"
    save({"w": lucid.zeros(2)}, real)
    try:
        os.symlink(real, link)
    except (OSError, NotImplementedError):
        pytest.skip("no symlinks here")
    save({"w": lucid.ones(2)}, str(link))
    assert os.path.islink(link)
    _assert_holds(real, np.ones(2))


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_save_keeps_the_replaced_files_permissions(tmp_path):
    path = tmp_path / "p.lct"
    save({"w": lucid.zeros(2)}, path)
    os.chmod(path, 0o640)
    save({"w": lucid.ones(2)}, path)
    assert os.stat(path).st_mode & 0o777 == 0o640


# ---- malformed files raise SerializationError, naming the file ----------------------------------
def test_deeply_nested_metadata_raises(tmp_path):
    path = tmp_path / "deep.lct"
    crafted = '{"format_version": 1, "tree": ' + "[" * 100000 + "]" * 100000 + "}"
    safetensors.numpy.save_file({"a": np.zeros(2)}, str(path), metadata={"lucid": crafted})
    with pytest.raises(SerializationError, match=r"deep\.lct.*nests 100001 levels deep"):
        load(path)
    nested = []
    for _ in range(serialization.MAX_DEPTH):
        nested = [nested]
    assert _roundtrip({"x": nested[0]}, path) == {"x": nested[0]}  # the deepest data save writes loads back


def test_too_deep_or_cyclic_objects_are_refused_on_save(tmp_path):
    nested = []
    for _ in range(5000):
        nested = [nested]
    with pytest.raises(ValueError, match="more than 100 levels deep"):
        save(nested, tmp_path / "x.lct")
    cyclic = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="self-referencing"):
        save({"a": cyclic}, tmp_path / "x.lct")
    assert not os.listdir(tmp_path)


def _with_meta(path, tree, arrays=None):
    arrays = {"a": np.arange(2)} if arrays is None else arrays
    safetensors.numpy.save_file(arrays, str(path), metadata={"lucid": json.dumps(tree)})


def test_a_foreign_file_of_a_dtype_the_device_lacks_names_the_tensor(device, tmp_path):
    """Another tool's float16 tensor loads where the device has float16, else (array-api-strict) fails naming it."""
    path = tmp_path / "half.safetensors"
    safetensors.numpy.save_file({"a": np.zeros(2, np.float16)}, str(path))
    if device.backend.supports(lucid.float16):
        assert load(path, map_location=device)["a"].dtype is lucid.float16
    else:
        with pytest.raises(SerializationError, match="half.safetensors.*'a' cannot be loaded.*float16"):
            load(path, map_location=device)


def test_malformed_files_name_the_file_and_the_fault(tmp_path):
    path = tmp_path / "bad.lct"
    crc = zlib.crc32(np.arange(2))
    node = {"tensor": "a", "kind": "Parameter", "device": "cpu", "requires_grad": True, "crc32": crc}
    cases = [
        ([1, 2], "expected a JSON object with a 'tree' entry"),
        ({"tree": node}, "int64 but marked requires_grad"),
        ({"tree": dict(node, kind="Mystery", requires_grad=False)}, "kind 'Mystery'"),
        ({"tree": dict(node, requires_grad="yes")}, "requires_grad='yes'"),
        ({"tree": dict(node, device=3)}, "device 3"),
        ({"tree": dict(node, device="nowhere:0")}, "cannot be loaded to nowhere:0"),
        ({"tree": {"dict": [[1, 2, 3]]}}, "malformed"),
        ({"tree": {"what": 1}}, "unknown entry"),
    ]
    for tree, message in cases:
        _with_meta(path, tree)
        with pytest.raises(SerializationError, match=f"bad\\.lct.*{re.escape(message)}"):
            load(path)
    safetensors.numpy.save_file({"a": np.arange(2, dtype=np.uint16)}, str(path))  # another tool's uint16: loaded
    assert load(path)["a"].dtype is lucid.uint16
    save({"w": lucid.zeros(3)}, path)
    data = path.read_bytes()
    for length in (2**64 - 1, len(data), 5):  # header lengths past the end, or cutting the JSON
        path.write_bytes(length.to_bytes(8, "little") + data[8:])
        with pytest.raises(SerializationError, match="bad.lct.*not a valid safetensors file"):
            load(path)
    with open(path, "rb") as f, pytest.raises(SerializationError, match="bad.lct"):
        load(f)


def test_rng_state_survives_save_and_load(tmp_path):
    """lucid.random.get_rng_state is a uint8 tensor (as PyTorch's) that a checkpoint holds."""
    lucid.manual_seed(7)
    lucid.randn(5)
    save({"rng": lucid.random.get_rng_state()}, tmp_path / "rng.lct")
    expected = lucid.randn(5).numpy()
    lucid.manual_seed(99)
    lucid.random.set_rng_state(load(tmp_path / "rng.lct")["rng"])
    np.testing.assert_array_equal(lucid.randn(5).numpy(), expected)
    with pytest.raises(ValueError, match="get_rng_state"):
        lucid.random.set_rng_state(lucid.tensor(list(b'{"bit_generator": "PCG64"}'), dtype=lucid.uint8))
