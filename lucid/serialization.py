"""``lucid.save`` / ``lucid.load``: tensors, state dicts and nested Python data, without pickle.

File format: a standard `safetensors <https://huggingface.co/docs/safetensors>`_ file, so any
safetensors reader (``safetensors.numpy.load_file``, ``safetensors.torch.load_file``, ...)
can read the tensors, under keys that are their paths in the saved object
(``"fc.weight"`` for a state dict). The safetensors header's metadata entry ``"lucid"``
holds JSON describing the saved object:

- a tensor is ``{"tensor": key, "kind": "Tensor" | "Parameter" | "Buffer" | "ndarray",
  "device": "cpu", "requires_grad": false, "crc32": ...}`` (Buffers also carry
  ``"persistent"``); the same tensor object saved twice is stored once and loads as one object;
- dicts (``{"dict": [[key, value], ...], "ordered": bool}``, keys being strings, numbers,
  booleans or None), lists (``{"list": [...]}``) and tuples (``{"tuple": [...]}``) nest;
- strings, numbers (``NaN`` and infinities included), booleans and None are stored as
  themselves. So an optimizer's ``state_dict()`` round-trips.

Loading parses JSON and raw arrays only: it never executes code (no pickle). A file whose
tensors do not match their recorded CRC-32 checksums, or that is truncated or otherwise
malformed, raises :class:`SerializationError`. A safetensors file without lucid metadata
(written by another tool) loads as an ordered dict of Tensors.

The file name is free: upstream Lucid's ``.lct`` (tensor) and ``.lcd`` (state dict)
suffixes, ``.safetensors`` or ``.pt`` all hold this same format. (Files written by upstream
Lucid itself are pickles; lucid refuses them with an explanation rather than unpickling.)
"""

from __future__ import annotations

import json
import os
import zlib
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
import safetensors.numpy

from ._backend.device import BackendUnavailableError, UnknownDeviceError
from ._backend.device import device as _parse_device
from ._tensor import Tensor
from .dtypes import to_dtype
from .nn.module import Module
from .nn.parameter import Buffer, Parameter

__all__ = ["save", "load", "SerializationError"]

FORMAT_VERSION = 1
_SCALARS = (str, bool, int, float, type(None))


class SerializationError(RuntimeError):
    """A file that ``lucid.load`` cannot read: not safetensors, truncated, or corrupted."""


# ---- saving ---------------------------------------------------------------------------
def save(obj, f) -> None:
    """Write ``obj`` to ``f`` (a path or a binary file object) as a safetensors file.

    ``obj`` may be a Tensor (Parameter and Buffer included), a NumPy array, a Module (its
    ``state_dict()`` is saved, as ``torch.save(model.state_dict())`` would), or dicts,
    lists and tuples nesting those and Python scalars/strings (e.g. an optimizer state dict).
    """
    if isinstance(obj, Module):
        obj = obj.state_dict()
    arrays: dict[str, np.ndarray] = {}
    tree = _Encoder(arrays).encode(obj, ())
    header = json.dumps({"format_version": FORMAT_VERSION, "tree": tree})
    data = safetensors.numpy.save(arrays, metadata={"lucid": header})
    if hasattr(f, "write"):
        f.write(data)
    else:
        with open(os.fspath(f), "wb") as out:
            out.write(data)


class _Encoder:
    """Turns a Python object into the JSON tree, collecting its arrays under unique keys."""

    def __init__(self, arrays: dict):
        self.arrays = arrays
        self.seen: dict[int, dict] = {}  # id(tensor) -> its node (shared objects are stored once)

    def encode(self, obj, path: tuple):
        if isinstance(obj, (Tensor, np.ndarray)):
            return self._array(obj, path)
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, _SCALARS):
            return obj
        if isinstance(obj, Mapping):
            for key in obj:
                if not isinstance(key, _SCALARS):
                    raise TypeError(f"lucid.save: dict keys must be strings, numbers, booleans or None; "
                                    f"got a {type(key).__name__} key at {_where(path)}")
            pairs = [[key, self.encode(value, path + (key,))] for key, value in obj.items()]
            return {"dict": pairs, "ordered": isinstance(obj, OrderedDict)}
        if isinstance(obj, (list, tuple)):
            kind = "tuple" if isinstance(obj, tuple) else "list"
            return {kind: [self.encode(value, path + (i,)) for i, value in enumerate(obj)]}
        raise TypeError(
            f"lucid.save cannot store a {type(obj).__name__} (at {_where(path)}); it stores Tensors, NumPy arrays, "
            f"numbers, strings, None and lists/tuples/dicts of them. To save a model, save its state_dict()."
        )

    def _array(self, obj, path: tuple) -> dict:
        if id(obj) in self.seen:
            return self.seen[id(obj)]
        if isinstance(obj, Tensor):
            host = obj._device.backend.to_numpy(obj._data)
            node = {"kind": type(obj).__name__ if isinstance(obj, (Parameter, Buffer)) else "Tensor",
                    "device": str(obj.device), "requires_grad": obj.requires_grad}
            if isinstance(obj, Buffer):
                node["persistent"] = obj.persistent
        else:
            host, node = obj, {"kind": "ndarray"}
        host = np.asarray(host, order="C")
        key = ".".join(str(p) for p in path) or "tensor"
        while key in self.arrays:
            key += "#"
        self.arrays[key] = host
        node.update(tensor=key, crc32=zlib.crc32(host))
        self.seen[id(obj)] = node
        return node


def _where(path: tuple) -> str:
    return "the top level" if not path else "obj" + "".join(f"[{p!r}]" for p in path)


# ---- loading --------------------------------------------------------------------------
def load(f, map_location=None):
    """Read what :func:`save` wrote to ``f`` (a path or a binary file object).

    Tensors go back to the device they were saved from, or to ``map_location``: a device
    (``"cpu"``, ``"cuda:0"``, a Device) or a dict from saved device names to devices.
    Parameters and Buffers come back as such (with ``requires_grad`` / ``persistent``).
    A state dict loads as an ordered dict, ready for ``model.load_state_dict``.
    """
    name = repr(os.fspath(f)) if not hasattr(f, "read") else "the file object"
    if hasattr(f, "read"):
        data = f.read()
    else:
        with open(os.fspath(f), "rb") as source:
            data = source.read()
    try:
        arrays = safetensors.numpy.load(data)
        header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
    except Exception as e:  # safetensors reports bad files with its own exception type
        if data[:1] == b"\x80" and data[8:9] != b"{" or data[:2] == b"PK":  # a pickle, or torch.save's zip
            raise SerializationError(
                f"{name} looks like a pickle file (as written by upstream Lucid or torch.save); lucid.load reads "
                f"only safetensors files and never unpickles, because unpickling can run arbitrary code"
            ) from None
        raise SerializationError(f"{name} is not a valid safetensors file (truncated or corrupted?): {e}") from None
    meta = (header.get("__metadata__") or {}).get("lucid")
    if meta is None:  # written by another tool: its tensors, by name
        return OrderedDict((key, Tensor(arrays[key], device=_target(None, "cpu", map_location)))
                           for key in header if key != "__metadata__")
    try:
        tree = json.loads(meta)["tree"]
        return _Decoder(arrays, map_location).decode(tree)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise SerializationError(f"{name} has malformed lucid metadata ({type(e).__name__}: {e})") from None


class _Decoder:
    """Rebuilds the saved object from the JSON tree and the arrays."""

    def __init__(self, arrays: dict, map_location):
        self.arrays, self.map_location = arrays, map_location
        self.made: dict[str, object] = {}

    def decode(self, node):
        if not isinstance(node, (dict, list)):
            return node
        if "tensor" in node:
            key = node["tensor"]
            if key not in self.made:
                self.made[key] = self._tensor(node)
            return self.made[key]
        if "dict" in node:
            kind = OrderedDict if node.get("ordered") else dict
            return kind((key, self.decode(value)) for key, value in node["dict"])
        if "list" in node:
            return [self.decode(value) for value in node["list"]]
        if "tuple" in node:
            return tuple(self.decode(value) for value in node["tuple"])
        raise SerializationError(f"unknown entry in lucid metadata: {str(node)[:80]}")

    def _tensor(self, node: dict):
        key = node["tensor"]
        if key not in self.arrays:
            raise SerializationError(f"the lucid metadata refers to tensor {key!r}, which the file does not hold")
        host = self.arrays[key]
        if zlib.crc32(host) != node["crc32"]:
            raise SerializationError(f"tensor {key!r} is corrupted: its data does not match the saved checksum")
        kind = node["kind"]
        if kind == "ndarray":
            return host
        dev = _target(key, node["device"], self.map_location)
        dtype = to_dtype(host.dtype.name)
        if not dev.backend.supports(dtype):
            raise SerializationError(
                f"tensor {key!r} is {dtype.name}, which {dev} does not support; pass another map_location to lucid.load"
            )
        t = Tensor(host, device=dev)
        if kind == "Parameter":
            return Parameter(t, requires_grad=node["requires_grad"])
        if kind == "Buffer":
            return Buffer(t, dtype=t.dtype, persistent=node.get("persistent", True))
        return t.requires_grad_(True) if node["requires_grad"] else t


def _target(key, saved: str, map_location):
    """The device a tensor saved on ``saved`` loads to, given ``map_location``."""
    if map_location is None:
        spec = saved
    elif isinstance(map_location, Mapping):
        spec = map_location.get(saved, saved)
    else:
        spec = map_location
    try:
        dev = _parse_device(spec)
        dev.backend  # noqa: B018  (resolving the backend raises if the device is unusable here)
    except (BackendUnavailableError, UnknownDeviceError) as e:
        what = f"tensor {key!r}" if key else "the file's tensors"
        raise SerializationError(
            f"{what} cannot be loaded to {spec}: {e}. Pass map_location='cpu' (or another device) to lucid.load"
        ) from None
    return dev
