"""The NCCL backend's one-shot TCP store (runs without a GPU: it only moves the NCCL id between ranks)."""

from __future__ import annotations

import socket
import threading

import pytest

from lucid.distributed import DistributedError
from lucid.distributed.nccl import _store_address, exchange_unique_id


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_rank_zero_hands_its_id_to_every_other_rank():
    port, world, uid = _free_port(), 4, bytes(range(128))
    got = [None] * world

    def rank(r):
        got[r] = exchange_unique_id(uid if r == 0 else None, r, world, "127.0.0.1", port, timeout=30)

    threads = [threading.Thread(target=rank, args=(r,)) for r in reversed(range(world))]  # others start first
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert got == [uid] * world


def test_a_rank_without_rank_zero_times_out_with_a_clear_error():
    with pytest.raises(DistributedError, match="no NCCL id from rank 0"):
        exchange_unique_id(None, 1, 2, "127.0.0.1", _free_port(), timeout=0.3)


def test_store_address_from_init_method_or_environment(monkeypatch):
    assert _store_address("tcp://10.0.0.1:2345") == ("10.0.0.1", 2345)
    with pytest.raises(ValueError, match="tcp://host:port"):
        _store_address("env://")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(DistributedError, match="MASTER_ADDR"):
        _store_address(None)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29500")
    assert _store_address(None) == ("127.0.0.1", 29500)
