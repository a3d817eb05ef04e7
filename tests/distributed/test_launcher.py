"""``python -m lucid.distributed.run``: spawn mode (torchrun's variables, failures, signals; for NCCL programs), the
clear refusal of a CPU ("gloo"/"mpi") group of several processes that mpiexec did not start, a CPU world of one
without mpiexec, every way to join a CPU group under mpiexec, and an unmodified PyTorch DDP program run by lucid
through ``python -m lucid.torch_compat`` under mpiexec, compared with torch running the same program on its gloo."""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from test_distributed import ROOT, WORKERS, launch, needs_mpi  # tests/distributed is on sys.path (rootdir mode)

import lucid.distributed as dist
from lucid.distributed import common, process_group, run

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
       "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
MPI_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")  # what tells lucid that mpiexec started a process


def _launcher(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "lucid.distributed.run", *args], env=ENV, capture_output=True,
                          text=True, timeout=120, **kwargs)


def test_spawn_gives_each_process_torchruns_variables(tmp_path):
    script = tmp_path / "show.py"
    script.write_text("import json, os, sys\n"
                      f"json.dump({{k: os.environ[k] for k in {VARIABLES!r}}}, "
                      "open(os.path.join(sys.argv[1], os.environ['RANK']), 'w'))\n")
    proc = _launcher("--standalone", "--nproc-per-node", "3", str(script), str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    seen = [json.loads((tmp_path / str(r)).read_text()) for r in range(3)]
    port = seen[0]["MASTER_PORT"]
    assert int(port) > 0 and all(s["MASTER_PORT"] == port for s in seen)
    assert seen == [{"RANK": str(r), "LOCAL_RANK": str(r), "WORLD_SIZE": "3", "LOCAL_WORLD_SIZE": "3",
                     "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port} for r in range(3)]
    # a second machine of two: global ranks continue after the first machine's
    args = run._arguments(["--nnodes", "2", "--node-rank", "1", "--master-addr", "10.0.0.1", "--master-port", "29500",
                           "-n", "2", "train.py"])
    assert [(e["RANK"], e["LOCAL_RANK"], e["WORLD_SIZE"], e["MASTER_ADDR"]) for e in run.environments(args)] == [
        ("2", "0", "4", "10.0.0.1"), ("3", "1", "4", "10.0.0.1")]


def test_a_failing_process_stops_the_others_and_gives_its_exit_code(tmp_path):
    script = tmp_path / "fail.py"
    script.write_text("import os, sys, time\n"
                      "open(os.path.join(sys.argv[1], os.environ['RANK']), 'w').write(str(os.getpid()))\n"
                      "if os.environ['RANK'] == '1':\n    time.sleep(0.5)\n    sys.exit(3)\n"
                      "time.sleep(120)\n")
    start = time.monotonic()
    proc = _launcher("--standalone", "-n", "3", str(script), str(tmp_path))
    assert proc.returncode == 3 and time.monotonic() - start < 60
    for r in (0, 2):
        pid = int((tmp_path / str(r)).read_text())
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # stopped (and reaped) by the launcher


def test_signals_reach_the_processes(tmp_path):
    script = tmp_path / "wait.py"
    script.write_text("import os, signal, sys, time\n"
                      "signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))\n"
                      "open(os.path.join(sys.argv[1], os.environ['RANK']), 'w').close()\n"
                      "time.sleep(120)\n")
    launcher = subprocess.Popen([sys.executable, "-m", "lucid.distributed.run", "--standalone", "-n", "2",
                                 str(script), str(tmp_path)], env=ENV)
    deadline = time.monotonic() + 60
    while not all((tmp_path / str(r)).exists() for r in range(2)) and time.monotonic() < deadline:
        time.sleep(0.05)
    launcher.send_signal(signal.SIGTERM)
    assert launcher.wait(60) == 7


def test_the_default_launcher_keeps_mpiexec_when_there_is_one(monkeypatch):
    monkeypatch.setattr(run, "_mpiexec", lambda: "/usr/bin/mpiexec")
    assert run._arguments(["-n", "2", "train.py"]).launcher == "mpiexec"
    for torchrun_only in (["--standalone"], ["--nnodes", "1"], ["--master-port", "29500"], ["--node-rank", "0"]):
        assert run._arguments([*torchrun_only, "-n", "2", "train.py"]).launcher == "spawn"
    assert run._arguments(["--launcher", "spawn", "train.py"]).launcher == "spawn"
    monkeypatch.setattr(run, "_mpiexec", lambda: None)
    assert run._arguments(["-n", "2", "train.py"]).launcher == "spawn"
    with pytest.raises(SystemExit):
        run._arguments(["--nnodes", "2", "train.py"])  # several machines need a shared port


def test_a_cpu_group_of_several_processes_without_mpiexec_is_refused_clearly(tmp_path, monkeypatch):
    script = tmp_path / "join.py"
    script.write_text("import lucid.distributed as dist\ndist.init_process_group('gloo')\n")
    proc = _launcher("--standalone", "-n", "2", str(script))
    assert proc.returncode != 0
    assert "not started by mpiexec and asks for 2 processes (WORLD_SIZE=2)" in proc.stderr, proc.stderr
    assert "python -m lucid.distributed.run -n 2 script.py` (mpiexec)" in proc.stderr
    for name in MPI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "3")
    for backend in ("gloo", "mpi"):
        with pytest.raises(dist.DistributedError, match=rf"backend '{backend}' .* 3 processes \(WORLD_SIZE=3\)"):
            dist.init_process_group(backend)
    with pytest.raises(dist.DistributedError, match=r"2 processes \(world_size=2\)"):
        dist.init_process_group("gloo", init_method="tcp://127.0.0.1:1", rank=0, world_size=2)
    with pytest.raises(ValueError, match="world_size and rank must be specified if store is given"):
        dist.init_process_group("gloo", store=dist.HashStore())
    with pytest.raises(ValueError, match="unknown distributed backend 'ucc'"):
        dist.init_process_group("ucc")
    assert not dist.is_initialized()


def test_gloo_is_available_exactly_when_mpi_is(monkeypatch):
    assert dist.is_gloo_available() == dist.is_mpi_available() == dist.is_backend_available("gloo")
    monkeypatch.setattr(common, "is_mpi_available", lambda: False)
    monkeypatch.setattr(process_group, "is_mpi_available", lambda: False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not dist.is_gloo_available() and not dist.is_backend_available("gloo")
    with pytest.raises(dist.DistributedError, match="mpi4py is not installed"):
        dist.init_process_group("gloo")


@pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None, reason="needs mpi4py")
def test_one_process_without_mpiexec_is_a_world_of_one(tmp_path):
    """MPI's singleton start: a plain ``python train.py`` joins "gloo" (also by default, and with a store)."""
    env = {k: v for k, v in ENV.items() if k not in (*MPI_VARIABLES, "RANK", "WORLD_SIZE")}
    code = ("import lucid, lucid.distributed as dist\n"
            "for kwargs in ({}, {'backend': 'gloo', 'store': dist.HashStore(), 'rank': 0, 'world_size': 1}):\n"
            "    dist.init_process_group(**kwargs)\n"
            "    t = lucid.tensor([2.0])\n"
            "    dist.all_reduce(t)\n"
            "    print(dist.get_backend(), dist.get_rank(), dist.get_world_size(), t.item())\n"
            "    dist.destroy_process_group()\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["gloo 0 1 2.0"] * 2, proc.stdout


@needs_mpi
def test_every_way_to_join_a_cpu_group_under_mpiexec():
    out = launch("init_methods.py", 2)
    assert out.count(": init methods ok") == 2, out


def test_an_nccl_rendezvous_without_its_peers_names_the_address_rank_and_world_size():
    """The store meeting comes before any GPU work, so it is checked here without one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    timeout = datetime.timedelta(seconds=0.5)
    with pytest.raises(dist.DistNetworkError, match=rf"rank 1 \(world_size=2\) at 127.0.0.1:{port} failed"):
        dist.init_process_group("nccl", init_method=f"tcp://127.0.0.1:{port}", rank=1, world_size=2, timeout=timeout)
    with pytest.raises(dist.DistStoreError, match="only 1 of world_size=2 processes connected"):
        dist.init_process_group("nccl", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=2, timeout=timeout)
    assert not dist.is_initialized()


@needs_mpi
def test_an_unmodified_torch_ddp_program_trains_as_with_torch(tmp_path):
    """Its "gloo" group on lucid (through lucid.torch_compat, under mpiexec) ends with the parameters of torch's
    own gloo (under the launcher's spawn mode, torchrun's way)."""
    script, results = str(WORKERS / "torch_ddp.py"), {}
    for name, how in (("lucid", ["--launcher", "mpiexec", "-m", "lucid.torch_compat", script]),
                      ("torch", ["--standalone", script])):
        if name == "torch":
            pytest.importorskip("torch")
        proc = _launcher("--nproc-per-node", "2", *how, str(tmp_path / name), cwd=tmp_path)
        assert proc.returncode == 0, f"{name}:\n{proc.stdout}\n{proc.stderr}"
        results[name] = json.loads((tmp_path / name).read_text())
    for mine, theirs in zip(results["lucid"], results["torch"], strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)
