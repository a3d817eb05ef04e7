"""lucid.distributed over MPI: each test starts 1-4 processes with mpiexec running a worker script (joining with
backend "mpi" or "gloo", PyTorch's CPU name that lucid serves with the same MPI transport), which asserts on every
rank against a NumPy (or single-process lucid) reference and prints one line per rank."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest

MPIEXEC = shutil.which("mpiexec")
# every module that starts workers with mpiexec: pytestmark = needs_mpi (the launcher's spawn tests do not)
needs_mpi = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
                               reason="needs mpi4py and mpiexec (pip install 'lucid[distributed]')")
pytestmark = needs_mpi
BACKENDS = ["mpi", "gloo"]  # the backend names the workers join with (LUCID_TEST_BACKEND), both over mpiexec


def runs(mpi, gloo):
    """(backend, process count) parameters: ``mpi`` counts with backend "mpi", ``gloo`` counts with "gloo"."""
    return [pytest.param("mpi", n, id=f"mpi-{n}") for n in mpi] + [pytest.param("gloo", n, id=f"gloo-{n}")
                                                                    for n in gloo]


WORKERS = pathlib.Path(__file__).parent / "workers"
ROOT = pathlib.Path(__file__).parents[2]


def launch(worker: str, n: int, *args: str, backend: str = "mpi", timeout: float = 180) -> str:
    """Run ``workers/<worker>`` on ``n`` processes under mpiexec, joining with ``backend``; what they printed (fails
    on any error). The ranks' lines may interleave, so callers search the text rather than split it into lines."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "LUCID_TEST_BACKEND": backend}
    proc = subprocess.run([MPIEXEC, "-n", str(n), sys.executable, str(WORKERS / worker), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{worker} on {n} processes ({backend}) failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def run_on_torch(worker: str, folder, n: int, ok: str) -> None:
    """Run the shared part of ``workers/<worker>`` on torch.distributed's gloo backend (``n`` processes writing to
    ``folder``); every rank must print ``rank R: <ok>``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, str(WORKERS / worker), str(folder), "torch", str(r), str(n), str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in range(n)]
    outputs = [p.communicate(timeout=180) for p in procs]
    # every rank finished its checks (torch's gloo sometimes aborts while tearing down, after that: not ours to judge)
    assert all(f"rank {r}: {ok}" in out for r, (out, _) in enumerate(outputs)), outputs


def rank_results(folder, n: int) -> list:
    """What each of ``n`` ranks of a worker run wrote to ``folder/rankR.json``, in rank order."""
    return [json.loads((folder / f"rank{r}.json").read_text()) for r in range(n)]


def assert_same_records(mine: list, theirs: list, rtol: float, atol: float) -> None:
    """Each rank's record of a lucid run equals torch's: the same keys, ``... params`` entries close to
    ``rtol``/``atol``, every other entry equal."""
    for rank, (ours, torchs) in enumerate(zip(mine, theirs)):
        assert ours.keys() == torchs.keys()
        for key in ours:
            if key.endswith("params"):
                np.testing.assert_allclose(ours[key], torchs[key], rtol=rtol, atol=atol, err_msg=f"rank {rank} {key}")
            else:
                assert ours[key] == torchs[key], (rank, key)


def _ok(out, what):
    return sorted(map(int, re.findall(rf"rank (\d+): {what}", out)))


@pytest.mark.parametrize(("backend", "n"), runs([1, 2, 3, 4], [1, 3]))
def test_every_collective_op_and_dtype_matches_numpy(backend, n):
    out = launch("collectives.py", n, backend=backend)
    assert _ok(out, "80 reductions ok") == list(range(n)), out


@pytest.mark.parametrize(("backend", "n"), runs([1, 2], [1, 3]))
def test_wrong_use_raises_clearly_on_every_rank(backend, n):
    out = launch("errors.py", n, backend=backend)
    assert _ok(out, "errors ok") == list(range(n)), out


def test_launcher_runs_the_script_on_n_processes(tmp_path):
    script = tmp_path / "hello.py"
    script.write_text(
        "import pathlib, sys\nimport lucid.distributed as dist\ndist.init_process_group('mpi')\n"
        "r = dist.get_rank()\n"
        "pathlib.Path(sys.argv[1], f'rank{r}').write_text(f'{r} {dist.get_world_size()} {dist.get_node_local_rank()} '"
        " + ' '.join(sys.argv[2:]))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "lucid.distributed.run", "-n", "3", str(script), str(tmp_path),
                           "--lr", "0.1"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert [(tmp_path / f"rank{r}").read_text() for r in range(3)] == [f"{r} 3 {r} --lr 0.1" for r in range(3)]


def test_launcher_rejects_bad_process_counts():
    from lucid.distributed import run

    with pytest.raises(SystemExit):
        run.command(["-n", "0", "train.py"])
    assert run.command(["-n", "2", "-m", "pkg.train", "--x"])[-4:] == [sys.executable, "-m", "pkg.train", "--x"]


@pytest.mark.parametrize(("backend", "n"), runs([1, 2, 3], [3]))
def test_ddp_equals_single_process_training_on_the_whole_batch(backend, n):
    """SGD-momentum and Adam, tiny and large buckets, with and without no_sync, tied weights, unused
    parameters, buffer broadcast, overlap of all-reduce with backward, a model mismatch raising everywhere."""
    out = launch("ddp.py", n, backend=backend)
    assert _ok(out, "ddp ok") == list(range(n)), out


@pytest.mark.parametrize(("backend", "n"), runs([1, 2, 3], [3]))
def test_differentiable_collectives_and_sync_batchnorm(backend, n):
    """Gradients through lucid.distributed.nn.functional; SyncBatchNorm + DDP equal to BatchNorm on the whole
    batch (parameters and running statistics after three SGD steps)."""
    out = launch("syncbn.py", n, backend=backend)
    assert _ok(out, "syncbn ok") == list(range(n)), out


@pytest.mark.parametrize(("backend", "n"), runs([1, 2, 3], [3]))
def test_zero_redundancy_optimizer_equals_adam_with_sharded_state(backend, n):
    out = launch("zero.py", n, backend=backend)
    assert _ok(out, "zero ok") == list(range(n)), out


def test_training_example_runs_data_parallel(tmp_path):
    """The README's training example with --distributed on 2 processes: it learns, only rank 0 prints, and the
    checkpoint holds the plain model's state (no DDP "module." prefix), so a single process can resume it."""
    checkpoint = tmp_path / "ddp.safetensors"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "lucid.distributed.run", "-n", "2", "-m", "lucid.examples.train",
                           "--distributed", "--epochs", "3", "--quiet", "--checkpoint", str(checkpoint)],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("training on cpu for epochs 1..3 on 2 processes") == 1
    accuracies = [float(a) for a in re.findall(r"test accuracy ([\d.]+)%", proc.stdout)]
    assert len(accuracies) == 3 and accuracies[-1] > 75.0, proc.stdout
    import lucid
    from lucid.examples.train import DigitsCNN

    state = lucid.load(str(checkpoint))
    assert state["epoch"] == 3
    DigitsCNN().load_state_dict(state["model"])  # strict: the keys are the plain model's
