"""Key-value stores (``torch.distributed``'s ``Store`` classes) and the rendezvous that builds one from
``init_method``: the processes of an NCCL group started without mpiexec meet through a store to share NCCL's id.

One set of semantics (``_apply`` on a dict) serves every store: :class:`HashStore` keeps the dict in this
process, :class:`TCPStore`'s server keeps a HashStore that clients reach over TCP, :class:`FileStore` keeps
the dict in a file that processes lock in turn, :class:`PrefixStore` puts a prefix before another store's keys.
Values are bytes (``str`` values are UTF-8 encoded); ``get`` and ``wait`` block until the keys exist or the
store's timeout passes (:class:`DistStoreError`); a TCP client that cannot reach its server raises
:class:`DistNetworkError` (as torch).
"""

from __future__ import annotations

import datetime
import fcntl
import os
import socket
import struct
import threading
import time
import urllib.parse
import weakref

from .common import DistNetworkError, DistStoreError

__all__ = ["DistStoreError", "FileStore", "HashStore", "PrefixStore", "Store", "TCPStore", "check_store_arguments",
           "rendezvous"]

_DEFAULT_TIMEOUT = datetime.timedelta(seconds=300)  # torch's default store timeout
_MUTATING = {"set", "add", "compare_set", "append", "delete_key"}
_WAITING = {"get", "wait"}


def _seconds(timeout) -> float:
    return timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else float(timeout)


def _bytes(value) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _apply(data: dict, op: str, keys: list, values: list):
    """Run ``op`` on the dict ``data`` (the semantics every store shares); bytes, a list of bytes, an int or a bool."""
    if op == "set":
        data.update(zip(keys, values))
        return None
    if op == "get":
        return [data[k] for k in keys]
    if op == "add":
        current = data.get(keys[0], b"0")
        try:
            total = int(current) + int(values[0])
        except ValueError:
            raise DistStoreError(f"add: the value of key {keys[0]!r} is {current!r}, not an integer") from None
        data[keys[0]] = str(total).encode()
        return total
    if op == "compare_set":  # torch: a missing key matches only an empty expected value
        expected, desired = values
        current = data.get(keys[0])
        if (current is None and expected == b"") or current == expected:
            data[keys[0]] = desired
            return desired
        return expected if current is None else current
    if op == "append":
        data[keys[0]] = data.get(keys[0], b"") + values[0]
        return None
    if op == "delete_key":
        return data.pop(keys[0], None) is not None
    if op == "check":
        return all(k in data for k in keys)
    if op == "num_keys":
        return len(data)
    if op == "wait":
        return None
    raise ValueError(f"unknown store operation {op!r}")


def _timeout_error(keys, seconds) -> DistStoreError:
    return DistStoreError(f"wait timeout after {seconds * 1000:.0f}ms, keys: {', '.join('/' + k for k in keys)} "
                          "(did every process reach this point? raise the timeout with set_timeout if it is slow)")


class Store:
    """The store interface (torch's method names); subclasses implement ``_call``."""

    def __init__(self, timeout=_DEFAULT_TIMEOUT):
        self._timeout = _seconds(timeout)

    def _call(self, op: str, keys: list, values: list = (), timeout: float | None = None):
        """Run ``op`` on ``keys``/``values`` (``get`` and ``wait`` first wait up to ``timeout`` seconds)."""
        raise NotImplementedError

    @property
    def timeout(self) -> datetime.timedelta:
        return datetime.timedelta(seconds=self._timeout)

    def set_timeout(self, timeout) -> None:
        self._timeout = _seconds(timeout)

    def set(self, key: str, value) -> None:
        self._call("set", [key], [_bytes(value)])

    def get(self, key: str) -> bytes:
        """The value of ``key``, waiting for it up to the store's timeout."""
        return self._call("get", [key], timeout=self.timeout.total_seconds())[0]

    def multi_get(self, keys) -> list[bytes]:
        return self._call("get", list(keys), timeout=self.timeout.total_seconds())

    def multi_set(self, keys, values) -> None:
        keys, values = list(keys), [_bytes(v) for v in values]
        if len(keys) != len(values):
            raise ValueError(f"multi_set: {len(keys)} keys but {len(values)} values")
        self._call("set", keys, values)

    def add(self, key: str, amount: int) -> int:
        """Add ``amount`` to the integer at ``key`` (0 when missing); the new value."""
        return self._call("add", [key], [str(int(amount)).encode()])

    def compare_set(self, key: str, expected_value, desired_value) -> bytes:
        """Set ``key`` to ``desired_value`` if it holds ``expected_value`` (or is missing and ``expected_value``
        is empty); the value it then holds (``expected_value`` when it is missing and stays so)."""
        return self._call("compare_set", [key], [_bytes(expected_value), _bytes(desired_value)])

    def append(self, key: str, value) -> None:
        self._call("append", [key], [_bytes(value)])

    def wait(self, keys, timeout=None) -> None:
        """Wait until every key of ``keys`` exists (DistStoreError after ``timeout``, default the store's)."""
        self._call("wait", list(keys), timeout=_seconds(self.timeout if timeout is None else timeout))

    def check(self, keys) -> bool:
        return self._call("check", list(keys))

    def delete_key(self, key: str) -> bool:
        return self._call("delete_key", [key])

    def num_keys(self) -> int:
        return self._call("num_keys", [])

    def has_extended_api(self) -> bool:
        return True


class HashStore(Store):
    """A store in this process's memory (for threads of one process)."""

    def __init__(self):
        super().__init__()
        self._data, self._changed = {}, threading.Condition()

    def _call(self, op, keys, values=(), timeout=None):
        with self._changed:
            if op in _WAITING and not self._changed.wait_for(lambda: all(k in self._data for k in keys), timeout):
                raise _timeout_error([k for k in keys if k not in self._data], timeout)
            result = _apply(self._data, op, keys, list(values))
            if op in _MUTATING:
                self._changed.notify_all()
            return result


class PrefixStore(Store):
    """``store`` with ``prefix + "/"`` before every key (so several users share one store)."""

    def __init__(self, prefix: str, store: Store):
        super().__init__()
        self.prefix, self.underlying_store = prefix, store

    @property
    def timeout(self):
        return self.underlying_store.timeout

    def set_timeout(self, timeout):
        self.underlying_store.set_timeout(timeout)

    def _call(self, op, keys, values=(), timeout=None):
        return self.underlying_store._call(op, [f"{self.prefix}/{k}" for k in keys], values, timeout)


# ---- TCPStore: a HashStore served over TCP ---------------------------------------------------------------------
def _send_frames(sock, frames) -> None:
    sock.sendall(struct.pack("!I", len(frames)) + b"".join(struct.pack("!Q", len(f)) + f for f in frames))


def _recv_exact(sock, n) -> bytes:
    buffer = bytearray(n)
    view, got = memoryview(buffer), 0
    while got < n:
        k = sock.recv_into(view[got:])
        if not k:
            raise ConnectionError("the peer closed the connection")
        got += k
    return bytes(buffer)


def _recv_frames(sock) -> list[bytes]:
    (count,) = struct.unpack("!I", _recv_exact(sock, 4))
    return [_recv_exact(sock, struct.unpack("!Q", _recv_exact(sock, 8))[0]) for _ in range(count)]


def _encode(result) -> list[bytes]:
    if result is None:
        return [b"none"]
    if isinstance(result, bool):
        return [b"bool", b"1" if result else b""]
    if isinstance(result, int):
        return [b"int", str(result).encode()]
    if isinstance(result, bytes):
        return [b"bytes", result]
    return [b"list", *result]


def _decode(frames):
    kind, rest = frames[0], frames[1:]
    if kind == b"error":
        raise DistStoreError(rest[0].decode())
    return {b"none": lambda: None, b"bool": lambda: rest[0] == b"1", b"int": lambda: int(rest[0]),
            b"bytes": lambda: rest[0], b"list": lambda: list(rest)}[kind]()


class _Server:
    """The TCP store's server: one thread accepts clients, one thread per client runs its requests on a HashStore.
    A request is ``[op, timeout, n_keys, *keys, *values]``; the reply an encoded result or ``[b"error", message]``."""

    def __init__(self, host, port):
        self.table, self.users = HashStore(), 0
        self.listener = socket.create_server(("" if host in ("localhost", "127.0.0.1") else host, port))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name="lucid-tcpstore").start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True, name="lucid-tcpstore-client").start()

    def _serve(self, conn):
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                try:
                    op, timeout, n, *rest = _recv_frames(conn)
                except (ConnectionError, OSError, ValueError):
                    return
                keys = [k.decode() for k in rest[:int(n)]]
                try:
                    reply = _encode(self.table._call(op.decode(), keys, rest[int(n):], float(timeout)))
                except (DistStoreError, ValueError) as e:  # a timeout, a non-integer add, an unknown operation
                    reply = [b"error", str(e).encode()]
                try:
                    _send_frames(conn, reply)
                except OSError:
                    return

    def close(self):
        self.listener.close()


_SERVERS: dict[int, _Server] = {}  # multi_tenant servers of this process, by port


def _release(server):
    server.users -= 1
    if server.users == 0:
        _SERVERS.pop(server.port, None)
        server.close()


class TCPStore(Store):
    """A store served by the master process (``is_master=True``; port 0 picks a free one, see ``.port``) that
    the other processes reach at ``host_name:port``. With ``world_size`` and ``wait_for_workers`` the master
    waits until ``world_size`` stores (its own included) have connected; ``multi_tenant`` lets several master
    stores of one process share one server. ``use_libuv`` is accepted for torch's signature (one server here)."""

    def __init__(self, host_name: str, port: int, world_size: int | None = None, is_master: bool = False,
                 timeout=_DEFAULT_TIMEOUT, wait_for_workers: bool = True, multi_tenant: bool = False,
                 master_listen_fd=None, use_libuv=True):
        if master_listen_fd is not None:
            raise NotImplementedError("TCPStore(master_listen_fd=...): lucid's TCPStore opens its own listening "
                                      "socket; pass port (0 picks a free one) instead")
        super().__init__(timeout)
        self.host, self.world_size = host_name, world_size
        if is_master:
            server = _SERVERS.get(port) if multi_tenant and port else None
            if server is None:
                server = _Server(host_name, port)
                if multi_tenant:
                    _SERVERS[server.port] = server
            server.users += 1
            weakref.finalize(self, _release, server)
            port = server.port
        self.port = port
        self._local = threading.local()  # a connection per thread: one thread's blocking get never holds up another
        self._socket()  # connect now: an unreachable master fails the constructor
        if world_size is not None:
            self.add("init/", 1)
            if is_master and wait_for_workers:
                self._wait_for_workers()

    def _connect(self):
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=max(deadline - time.monotonic(), 0.01))
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except OSError as e:
                if time.monotonic() > deadline:
                    raise DistNetworkError(f"TCPStore: could not connect to {self.host}:{self.port} within "
                                         f"{self._timeout:g} s ({e}); is the master process (is_master=True, rank 0) "
                                         "running, and are the address and port right?") from None
                time.sleep(0.05)

    def _wait_for_workers(self):
        deadline = time.monotonic() + self._timeout
        while (joined := int(self.get("init/"))) < self.world_size:
            if time.monotonic() > deadline:
                raise DistStoreError(f"TCPStore at {self.host}:{self.port}: only {joined} of world_size="
                                     f"{self.world_size} processes connected within {self._timeout:g} s")
            time.sleep(0.01)

    def _call(self, op, keys, values=(), timeout=None):
        request = [op.encode(), str(0.0 if timeout is None else timeout).encode(), str(len(keys)).encode(),
                   *(k.encode() for k in keys), *values]
        try:
            _send_frames(self._socket(), request)
            return _decode(_recv_frames(self._socket()))
        except (ConnectionError, OSError) as e:
            raise DistNetworkError(f"TCPStore: lost the connection to {self.host}:{self.port} ({e}); did the "
                                 "master process exit?") from None

    def _socket(self):
        if not hasattr(self._local, "sock"):
            self._local.sock = self._connect()
        return self._local.sock


# ---- FileStore: the dict in a file, locked by each operation ------------------------------------------------
def _pack(data: dict) -> bytes:
    return b"".join(struct.pack("!QQ", len(k.encode()), len(v)) + k.encode() + v for k, v in data.items())


def _unpack(raw: bytes) -> dict:
    data, at = {}, 0
    while at < len(raw):
        nk, nv = struct.unpack_from("!QQ", raw, at)
        at += 16
        data[raw[at:at + nk].decode()] = raw[at + nk:at + nk + nv]
        at += nk + nv
    return data


_USERS_KEY = "\0users"  # how many FileStores use the file (counted by num_keys, as torch's own counter is)


class FileStore(Store):
    """A store in the file ``file_name`` shared by the processes of one machine (or of a shared file system).
    The file is deleted when the last of the stores that use it is garbage-collected, as torch does.
    ``delete_key`` of a missing key returns False, as torch documents (torch's FileStore returns True)."""

    def __init__(self, file_name: str, world_size: int = -1):
        super().__init__()
        self.path, self.world_size = file_name, world_size
        self._call("add", [_USERS_KEY], [b"1"])
        weakref.finalize(self, _leave_file, file_name)

    def _call(self, op, keys, values=(), timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with _locked(self.path) as f:
                data = _unpack(f.read())
                if op not in _WAITING or all(k in data for k in keys):
                    result = _apply(data, op, keys, list(values))
                    if op in _MUTATING:
                        f.seek(0)
                        f.truncate()
                        f.write(_pack(data))
                    return result
            if time.monotonic() > deadline:
                raise _timeout_error([k for k in keys if k not in data], timeout)
            time.sleep(0.01)


class _locked:
    """The store file opened for reading and writing under an exclusive lock."""

    def __init__(self, path):
        self.file = open(path, "a+b")  # noqa: SIM115  (closed in __exit__)

    def __enter__(self):
        fcntl.flock(self.file, fcntl.LOCK_EX)
        self.file.seek(0)
        return self.file

    def __exit__(self, *exc):
        self.file.close()  # releases the lock


def _leave_file(path):
    with _locked(path) as f:
        data = _unpack(f.read())
        remaining = _apply(data, "add", [_USERS_KEY], [b"-1"])
        f.seek(0)
        f.truncate()
        f.write(_pack(data))
    if remaining <= 0:
        os.remove(path)


# ---- rendezvous ------------------------------------------------------------------------------------------------
def _env(name) -> str:
    if name not in os.environ:
        raise ValueError(f"Error initializing lucid.distributed using env:// rendezvous: environment variable "
                         f"{name} expected, but not set (start the processes with python -m lucid.distributed.run, "
                         "or pass rank/world_size to init_process_group)")
    return os.environ[name]


def check_store_arguments(init_method, store, world_size, rank) -> None:
    """torch's checks of ``init_process_group``'s ``store``: not with ``init_method``, and only with ``rank`` and
    ``world_size``."""
    if store is not None:
        if init_method is not None:
            raise ValueError("Cannot specify both init_method and store.")
        if world_size in (-1, None) or rank in (-1, None):
            raise ValueError("world_size and rank must be specified if store is given")


def rendezvous(init_method, world_size, rank, timeout, store=None):
    """``(store, rank, world_size)`` for ``init_process_group``: the given ``store``, or one made from
    ``init_method``: ``"env://"`` (the default: ``MASTER_ADDR``, ``MASTER_PORT``, ``RANK``, ``WORLD_SIZE``),
    ``"tcp://host:port"`` (a TCP store served by rank 0) or ``"file:///path"`` (a FileStore); ``rank`` and
    ``world_size`` come from the arguments first, then from the URL's query or the environment."""
    check_store_arguments(init_method, store, world_size, rank)
    if store is not None:
        return store, rank, world_size
    url = urllib.parse.urlparse(init_method or "env://")
    query = dict(urllib.parse.parse_qsl(url.query))
    rank = int(query.get("rank", rank)) if rank in (-1, None) else rank
    world_size = int(query.get("world_size", world_size)) if world_size in (-1, None) else world_size
    if url.scheme == "env":
        rank = int(_env("RANK")) if rank in (-1, None) else rank
        world_size = int(_env("WORLD_SIZE")) if world_size in (-1, None) else world_size
        host, port = _env("MASTER_ADDR"), int(_env("MASTER_PORT"))
    elif url.scheme == "tcp":
        host, port = url.hostname, url.port
        if host is None or port is None:
            raise ValueError(f"init_method {init_method!r}: tcp:// needs a host and a port (tcp://host:port)")
    elif url.scheme == "file":
        if rank in (-1, None) or world_size in (-1, None):
            raise ValueError(f"init_method {init_method!r}: file:// needs rank and world_size")
        return FileStore(url.path, world_size), rank, world_size
    else:
        raise ValueError(f"init_method {init_method!r}: lucid accepts env://, tcp://host:port and file:///path")
    if rank in (-1, None) or world_size in (-1, None):
        raise ValueError(f"init_method {init_method!r} needs rank and world_size (arguments, ?rank=&world_size= "
                         "in the URL, or the RANK and WORLD_SIZE variables)")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in 0..{world_size - 1} (world_size={world_size})")
    key = (host, port, rank, world_size)
    if key not in _RENDEZVOUS_STORES:
        try:
            _RENDEZVOUS_STORES[key] = TCPStore(host, port, world_size, is_master=rank == 0,
                                               timeout=timeout or _DEFAULT_TIMEOUT, multi_tenant=True)
        except (DistStoreError, DistNetworkError) as e:  # the same class, with the rank and address
            raise type(e)(f"rendezvous of rank {rank} (world_size={world_size}) at {host}:{port} failed: "
                                 f"{e}") from None
    return _RENDEZVOUS_STORES[key], rank, world_size


# The TCP stores that rendezvous made, kept for the next default group at the same address (which takes fresh
# keys): a process that joins again after destroy_process_group never meets a server that rank 0 is closing.
_RENDEZVOUS_STORES: dict[tuple, TCPStore] = {}
