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
  booleans or None; a state dict's ``_metadata``, the module versions that load hooks see, under
  ``"metadata"``), lists (``{"list": [...]}``) and tuples (``{"tuple": [...]}``) nest;
- strings, numbers (``NaN`` and infinities included), booleans and None are stored as
  themselves. So an optimizer's ``state_dict()`` round-trips.
- a sparse tensor is ``{"sparse": layout name, "size": [...], "parts": [[name, tensor], ...], "kind",
  "requires_grad"}`` (COO adds ``"coalesced"``): its index and value tensors, as above; loading rebuilds it
  through its constructor with the invariants checked.

bfloat16 tensors are stored as safetensors' ``BF16``. safetensors has no complex128 (and older
versions no complex64), so a complex tensor is stored as its real view (a last axis of size 2
holding real and imaginary parts) with ``"complex": true`` in its entry; other readers see that
float array.

Loading parses JSON and raw arrays only: it never executes code (no pickle). A file whose
tensors do not match their recorded CRC-32 checksums, or that is truncated or otherwise
malformed, raises :class:`SerializationError`. A safetensors file without lucid metadata
(written by another tool) loads as an ordered dict of Tensors.

``save`` to a path is atomic: the bytes go to a temporary file in the target's folder
(``.NAME.<random>.tmp``), which is flushed, ``fsync``-ed and then renamed over the target, so
a crash, a full disk or a ``kill -9`` mid-write leaves the previous file whole. (A killed
process can leave its temporary file behind; an exception never does.)

The file name is free: upstream Lucid's ``.lct`` (tensor) and ``.lcd`` (state dict)
suffixes, ``.safetensors`` or ``.pt`` all hold this same format. (Files written by upstream
Lucid itself are pickles; lucid refuses them with an explanation rather than unpickling.)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import zlib
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
import safetensors
import safetensors.numpy

from ._backend.device import BackendUnavailableError, UnknownDeviceError
from ._backend.device import device as _parse_device
from ._backend.numpy_backend import BFLOAT16
from ._tensor import Tensor
from .dtypes import to_dtype
from .nn.module import Module
from .nn.parameter import Buffer, Parameter
from .sparse import SparseCooTensor, sparse_compressed_tensor, sparse_coo_tensor, sparse_csc, sparse_csr

__all__ = ["save", "load", "SerializationError", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals"]

FORMAT_VERSION = 1
_SCALARS = (str, bool, int, float, type(None))
MAX_DEPTH = 100  # containers nested in a saved object: deeper data is refused on save and on load
# JSON levels one saved level may take ({"dict": [[key, value]]} is three), plus the top-level ones
_MAX_JSON_DEPTH = 3 * MAX_DEPTH + 4
_KINDS = ("Tensor", "Parameter", "Buffer", "ndarray")


class SerializationError(RuntimeError):
    """A file that ``lucid.load`` cannot read: not safetensors, truncated, or corrupted."""


# ---- saving ---------------------------------------------------------------------------
def save(obj, f) -> None:
    """Write ``obj`` to ``f`` (a path, str or PathLike, or a binary file object) as a safetensors file.

    ``obj`` may be a Tensor (Parameter and Buffer included), a NumPy array, a Module (its
    ``state_dict()`` is saved, as ``torch.save(model.state_dict())`` would), or dicts,
    lists and tuples nesting those and Python scalars/strings (e.g. an optimizer state dict).

    To a path the write is atomic (temporary file, fsync, rename): on any failure the previous
    file at that path is left as it was. To a file object the bytes are written as they come,
    not atomically: the caller owns that file.
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
        _write_atomically(os.fspath(f), data)


_CHUNK = 1 << 26  # bytes per os.write call (macOS refuses writes over 2 GiB)
_os_write = os.write  # the one call that writes file data (tests make it fail mid-file)


def _write_atomically(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder: written, flushed
    and fsync-ed, then renamed over ``path`` (``os.replace`` is atomic), then the folder is
    fsync-ed so the rename itself survives a power cut. The temporary file is removed on error."""
    path = os.path.realpath(path)  # through a symlink, replace the file it points to (as open() writes)
    folder, base = os.path.split(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"lucid.save: {path!r} is a directory; give a file path")
    while True:
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:  # pragma: no cover  (32 random bits already taken)
            continue
    try:
        try:
            with memoryview(data) as view:
                written = 0
                while written < len(view):
                    written += _os_write(fd, view[written:written + _CHUNK])
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)  # keep the replaced file's permissions
        except FileNotFoundError:
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable, where the OS can (POSIX; Windows cannot open folders)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Encoder:
    """Turns a Python object into the JSON tree, collecting its arrays under unique keys."""

    def __init__(self, arrays: dict):
        self.arrays = arrays
        self.seen: dict[int, dict] = {}  # id(tensor) -> its node (shared objects are stored once)

    def encode(self, obj, path: tuple):
        if len(path) > MAX_DEPTH:
            raise ValueError(f"lucid.save: the object nests containers more than {MAX_DEPTH} levels deep (at "
                             f"{_where(path[:3])}...); lucid files hold at most {MAX_DEPTH} (is it self-referencing?)")
        if getattr(obj, "_sparse", False):
            return self._sparse(obj, path)
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
            node = {"dict": pairs, "ordered": isinstance(obj, OrderedDict)}
            metadata = getattr(obj, "_metadata", None)  # a state dict's per-module versions
            if isinstance(metadata, Mapping):
                node["metadata"] = self.encode(metadata, path + ("_metadata",))
            return node
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
        if host.dtype.kind == "c":  # as (real, imaginary) pairs: safetensors has no complex128
            host = np.ascontiguousarray(host[..., None].view(host.real.dtype))
            node["complex"] = True
        key = ".".join(str(p) for p in path) or "tensor"
        while key in self.arrays:
            key += "#"
        self.arrays[key] = host
        node.update(tensor=key, crc32=zlib.crc32(host))
        self.seen[id(obj)] = node
        return node


    def _sparse(self, obj, path: tuple) -> dict:
        """A sparse tensor as its index and value tensors (stored as dense ones) and its size and flags."""
        if id(obj) not in self.seen:
            parts = [*zip((name for _, name in obj._INDEX), obj._parts()), ("values", obj._vals.detach())]
            node = {"sparse": obj.layout.name, "size": list(obj.shape), "requires_grad": obj.requires_grad,
                    "kind": next(k.__name__ for k in (Parameter, Buffer, Tensor) if isinstance(obj, k)),
                    "parts": [[name, self._array(t, path + (name,))] for name, t in parts]}
            if isinstance(obj, SparseCooTensor):
                node["coalesced"] = obj.is_coalesced()
            if isinstance(obj, Buffer):
                node["persistent"] = obj.persistent
            self.seen[id(obj)] = node
        return self.seen[id(obj)]


def _where(path: tuple) -> str:
    return "the top level" if not path else "obj" + "".join(f"[{p!r}]" for p in path)


# ---- loading --------------------------------------------------------------------------
def _is_pickled(data: bytes) -> bool:
    """Whether ``data`` (a file's first 9 bytes suffice) is a pickle or ``torch.save``'s zip of pickles, not
    safetensors (whose first 8 bytes are a header length and whose header starts with ``{``)."""
    return data[:1] == b"\x80" and data[8:9] != b"{" or data[:2] == b"PK"


_safe_globals: list = []  # what add_safe_globals was given: kept for get_safe_globals, needed by no load


def add_safe_globals(safe_globals: list) -> None:
    """PyTorch's allow-list of classes that ``weights_only`` unpickling may build: kept (see :func:`get_safe_globals`)
    and not needed, as lucid's files hold no pickles (:func:`load` builds tensors and plain values only)."""
    _safe_globals.extend(safe_globals)


def get_safe_globals() -> list:
    """What :func:`add_safe_globals` was given."""
    return list(_safe_globals)


def clear_safe_globals() -> None:
    """Empty the list :func:`add_safe_globals` keeps."""
    _safe_globals.clear()


class safe_globals:
    """``with safe_globals([...]):`` the classes added to the list for the block (see :func:`add_safe_globals`)."""

    def __init__(self, safe_globals: list):
        self.safe_globals = list(safe_globals)

    def __enter__(self):
        self._before = get_safe_globals()
        add_safe_globals(self.safe_globals)
        return self

    def __exit__(self, *exc):
        _safe_globals[:] = self._before
        return False


def load(f, map_location=None, *, weights_only: bool | None = None):
    """Read what :func:`save` wrote to ``f`` (a path or a binary file object).

    Tensors go back to the device they were saved from, or to ``map_location``: a device
    (``"cpu"``, ``"cuda:0"``, a Device), a dict from saved device names to devices, or (as in
    PyTorch) a function ``map_location(tensor, saved_device_name)`` that gets each tensor loaded on
    the CPU and returns the tensor to use (None: load it to its saved device).
    Parameters and Buffers come back as such (with ``requires_grad`` / ``persistent``).
    A state dict loads as an ordered dict, ready for ``model.load_state_dict``.
    Any malformed file raises :class:`SerializationError` naming the file and the fault.
    ``weights_only`` (PyTorch's switch against unpickling code) is accepted and changes nothing:
    lucid never unpickles, so loading is always as safe as PyTorch's ``weights_only=True``.
    """
    if hasattr(f, "read"):
        name = repr(f.name) if isinstance(getattr(f, "name", None), str) else "the file object"
        data = f.read()
    else:
        name = repr(os.fspath(f))
        with open(os.fspath(f), "rb") as source:
            data = source.read()
    try:
        arrays = _load_arrays(data)
        header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
    except Exception as e:  # safetensors reports bad files with its own exception type
        if _is_pickled(data):
            raise SerializationError(
                f"{name} looks like a pickle file (as written by upstream Lucid or torch.save); lucid.load reads "
                f"only safetensors files and never unpickles, because unpickling can run arbitrary code"
            ) from None
        raise SerializationError(f"{name} is not a valid safetensors file (truncated or corrupted?): {e}") from None
    meta = (header.get("__metadata__") or {}).get("lucid")
    try:
        if meta is None:  # written by another tool: its tensors, by name
            return OrderedDict((key, _foreign(key, arrays[key], map_location))
                               for key in header if key != "__metadata__")
        depth = _json_depth(meta)
        if depth > _MAX_JSON_DEPTH:
            raise SerializationError(
                f"its lucid metadata nests {depth} levels deep, more than the {_MAX_JSON_DEPTH} that lucid.save "
                f"ever writes ({MAX_DEPTH} nested containers); the file is corrupted or was crafted"
            )
        try:
            tree = json.loads(meta)
            if not isinstance(tree, dict) or "tree" not in tree:
                raise ValueError(f"expected a JSON object with a 'tree' entry, got {str(meta)[:80]!r}")
            return _Decoder(arrays, map_location).decode(tree["tree"])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
            raise SerializationError(f"its lucid metadata is malformed ({type(e).__name__}: {e})") from None
        except RecursionError:
            raise SerializationError("its lucid metadata nests too deeply to decode here") from None
    except SerializationError as e:
        raise SerializationError(f"{name}: {e}") from None


# safetensors' dtype names -> NumPy's (safetensors.numpy knows no BF16)
_FILE_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "I64": "int64", "U64": "uint64",
                "I32": "int32", "U32": "uint32", "I16": "int16", "U16": "uint16", "I8": "int8", "U8": "uint8",
                "BOOL": "bool", "C64": "complex64", "BF16": BFLOAT16}


def _load_arrays(data: bytes) -> dict:
    """The arrays of a safetensors file as (read-only) NumPy arrays, ``BF16`` as ml_dtypes' bfloat16."""
    out = {}
    for key, view in safetensors.deserialize(data):
        dtype = _FILE_DTYPES.get(view["dtype"])
        if dtype is None:
            raise SerializationError(f"tensor {key!r} has dtype {view['dtype']}, which lucid cannot read"
                                     + (" (bfloat16 needs the ml_dtypes package)" if view["dtype"] == "BF16" else ""))
        out[key] = np.frombuffer(view["data"], dtype=dtype).reshape(view["shape"])
    return out


def _foreign(key: str, host: np.ndarray, map_location) -> Tensor:
    """A tensor of a safetensors file written by another tool, as a lucid Tensor."""
    mapper = map_location if callable(map_location) else None
    try:
        t = Tensor(host, device=_target(None, "cpu", None if mapper else map_location))
    except TypeError as e:  # a dtype the target device lacks (float16 on a backend without it)
        raise SerializationError(f"tensor {key!r} cannot be loaded: {e}") from None
    return t if mapper is None else _mapped(key, t, "cpu", mapper)


def _mapped(key: str, t: Tensor, saved: str, mapper) -> Tensor:
    """``map_location`` given as a function, as PyTorch's ``map_location(storage, location)``: it gets
    the tensor loaded on the CPU and the name of the device it was saved from, and returns the
    tensor to use (e.g. ``lambda t, loc: t.to("cuda:1")``), or None to load it where it was saved."""
    out = mapper(t, saved)
    if out is None:
        return t.to(_target(key, saved, None))
    if not isinstance(out, Tensor):
        raise SerializationError(f"map_location returned a {type(out).__name__} for tensor {key!r}; "
                                 f"a map_location function must return a Tensor or None")
    return out.detach() if out is not t else t


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # no nested quantifiers: linear time
_OPEN, _CLOSE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


def _json_depth(text: str) -> int:
    """How deeply the arrays and objects of the JSON ``text`` nest, without parsing it
    (parsers recurse, and overflow Python's stack on crafted files)."""
    codes = np.frombuffer(_JSON_STRING.sub("", text).encode(), np.uint8)
    steps = np.isin(codes, _OPEN).astype(np.int64) - np.isin(codes, _CLOSE)
    return int(np.cumsum(steps).max(initial=0))


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
        if "sparse" in node:
            return self._sparse(node)
        if "dict" in node:
            kind = OrderedDict if node.get("ordered") else dict
            out = kind((key, self.decode(value)) for key, value in node["dict"])
            if kind is OrderedDict and isinstance(node.get("metadata"), dict):
                out._metadata = self.decode(node["metadata"])
            return out
        if "list" in node:
            return [self.decode(value) for value in node["list"]]
        if "tuple" in node:
            return tuple(self.decode(value) for value in node["tuple"])
        raise SerializationError(f"unknown entry in lucid metadata: {str(node)[:80]}")

    def _sparse(self, node: dict):
        """A saved sparse tensor rebuilt through its constructor, its invariants checked."""
        parts = dict((name, self.decode(part)) for name, part in node["parts"])
        key = ("sparse", node["parts"][-1][1]["tensor"])
        if key in self.made:
            return self.made[key]
        values, size, layout = parts.pop("values"), node["size"], node["sparse"]
        if not isinstance(node["requires_grad"], bool) or node["kind"] not in _KINDS[:3]:
            raise SerializationError(f"sparse tensor {key[1]!r} has malformed flags")
        try:
            if layout == "sparse_coo":
                t = sparse_coo_tensor(parts["indices"], values, size, is_coalesced=node["coalesced"] is True,
                                      check_invariants=True)
            else:
                t = sparse_compressed_tensor(*parts.values(), values, size, check_invariants=True,
                                             layout={"sparse_csr": sparse_csr, "sparse_csc": sparse_csc}.get(layout))
        except (RuntimeError, NotImplementedError, TypeError) as e:
            raise SerializationError(f"sparse tensor {key[1]!r} ({layout}) cannot be rebuilt: {e}") from None
        if node["kind"] == "Parameter":
            t = Parameter(t, node["requires_grad"])
        elif node["kind"] == "Buffer":
            t = Buffer(t, dtype=t.dtype, persistent=node.get("persistent", True) is not False)
        else:
            t.requires_grad_(node["requires_grad"])
        self.made[key] = t
        return t

    def _tensor(self, node: dict):
        key = node["tensor"]
        if not isinstance(key, str) or key not in self.arrays:
            raise SerializationError(f"the lucid metadata refers to tensor {key!r}, which the file does not hold")
        host = self.arrays[key]
        if zlib.crc32(host) != node["crc32"]:
            raise SerializationError(f"tensor {key!r} is corrupted: its data does not match the saved checksum")
        kind = node["kind"]
        if kind not in _KINDS:
            raise SerializationError(f"tensor {key!r} has kind {kind!r}; expected one of {', '.join(_KINDS)}")
        if kind == "ndarray":
            return host
        for flag in ("requires_grad", "persistent"):
            if not isinstance(node.get(flag, False), bool):
                raise SerializationError(f"tensor {key!r} has {flag}={node[flag]!r}; expected true or false")
        if not isinstance(node["device"], str):
            raise SerializationError(f"tensor {key!r} has device {node['device']!r}; expected a device name")
        mapper = self.map_location if callable(self.map_location) else None
        dev = _target(key, "cpu" if mapper else node["device"], None if mapper else self.map_location)
        if node.get("complex", False) is not False:
            if node["complex"] is not True or host.dtype not in (np.float32, np.float64) or host.shape[-1:] != (2,):
                raise SerializationError(f"tensor {key!r} is marked complex but is not (real, imaginary) pairs of "
                                         f"float32 or float64 (got {host.dtype} of shape {host.shape})")
            host = np.ascontiguousarray(host).view(np.complex64 if host.dtype == np.float32 else np.complex128)[..., 0]
        dtype = to_dtype(host.dtype.name)
        if not dev.backend.supports(dtype):
            raise SerializationError(
                f"tensor {key!r} is {dtype.name}, which {dev} does not support; pass another map_location to lucid.load"
            )
        if node["requires_grad"] and dtype.kind not in "fc":
            raise SerializationError(f"tensor {key!r} is {dtype.name} but marked requires_grad; only floating "
                                     f"tensors can require gradients")
        t = Tensor(host, device=dev)
        if mapper is not None:
            t = _mapped(key, t, node["device"], mapper)
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
