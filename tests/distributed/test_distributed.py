"""lucid.distributed over MPI: each test starts 1-4 processes with mpiexec running a worker script, which
asserts on every rank against a NumPy (or single-process lucid) reference and prints one line per rank."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("mpi4py", reason="the distributed tests need mpi4py (pip install 'lucid[distributed]')")
MPIEXEC = shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec on PATH (pip install mpich)")

WORKERS = pathlib.Path(__file__).parent / "workers"
ROOT = pathlib.Path(__file__).parents[2]


def mpirun(worker: str, n: int, *args: str, timeout: float = 180) -> str:
    """Run ``workers/<worker>`` on ``n`` processes; what they printed (fails on any error). The ranks'
    lines may interleave, so callers search the text rather than split it into lines."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([MPIEXEC, "-n", str(n), sys.executable, str(WORKERS / worker), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{worker} on {n} processes failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_every_collective_op_and_dtype_matches_numpy(n):
    out = mpirun("collectives.py", n)
    assert sorted(map(int, re.findall(r"rank (\d+): 80 reductions ok", out))) == list(range(n)), out


@pytest.mark.parametrize("n", [1, 2])
def test_wrong_use_raises_clearly_on_every_rank(n):
    out = mpirun("errors.py", n)
    assert sorted(map(int, re.findall(r"rank (\d+): errors ok", out))) == list(range(n)), out


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


@pytest.mark.parametrize("n", [1, 2, 3])
def test_ddp_equals_single_process_training_on_the_whole_batch(n):
    """SGD-momentum and Adam, tiny and large buckets, with and without no_sync, tied weights, unused
    parameters, buffer broadcast, overlap of all-reduce with backward, a model mismatch raising everywhere."""
    out = mpirun("ddp.py", n)
    assert sorted(map(int, re.findall(r"rank (\d+): ddp ok", out))) == list(range(n)), out


@pytest.mark.parametrize("n", [1, 2, 3])
def test_differentiable_collectives_and_sync_batchnorm(n):
    """Gradients through lucid.distributed.nn.functional; SyncBatchNorm + DDP equal to BatchNorm on the whole
    batch (parameters and running statistics after three SGD steps)."""
    out = mpirun("syncbn.py", n)
    assert sorted(map(int, re.findall(r"rank (\d+): syncbn ok", out))) == list(range(n)), out


@pytest.mark.parametrize("n", [1, 2, 3])
def test_zero_redundancy_optimizer_equals_adam_with_sharded_state(n):
    out = mpirun("zero.py", n)
    assert sorted(map(int, re.findall(r"rank (\d+): zero ok", out))) == list(range(n)), out


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
