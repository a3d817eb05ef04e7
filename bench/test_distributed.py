"""lucid.distributed over MPI: all-reduce against raw mpi4py on the same buffer, and DDP step time on 1, 2 and
4 processes (64 samples per process, a 3-layer MLP: weak scaling, so ideal is a flat step time).

Each case starts the processes with mpiexec; the figures come from the workers (bench/distributed_worker.py),
which time inside the processes; pytest-benchmark times the whole launch and keeps the figures in extra_info.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("mpi4py")
MPIEXEC = shutil.which("mpiexec")
WORKER = pathlib.Path(__file__).parent / "distributed_worker.py"


@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install mpich)")
@pytest.mark.parametrize("n", [1, 2, 4])
def test_all_reduce_and_ddp_step(benchmark, n):
    env = {**os.environ, "PYTHONPATH": str(WORKER.parents[1]), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = {}

    def launch():
        proc = subprocess.run([MPIEXEC, "-n", str(n), sys.executable, str(WORKER)], env=env, capture_output=True,
                              text=True, timeout=600, check=True)
        out.update(json.loads(proc.stdout.strip().splitlines()[-1]))

    benchmark.pedantic(launch, rounds=1, iterations=1)
    benchmark.extra_info.update(out)
    lines = [f"{n} processes: DDP step {out['ddp_step_ms']:.2f} ms"]
    for size, f in out["all_reduce"].items():
        lines.append(f"  all_reduce {int(size) / 2**10:8.0f} KiB: lucid {f['lucid_us']:9.1f} us, mpi4py "
                     f"{f['mpi4py_us']:9.1f} us, ratio {f['lucid_us'] / f['mpi4py_us']:.2f}")
    print("\n".join(lines))
