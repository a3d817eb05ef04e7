"""``python -m lucid.distributed.run -n N train.py [args]``: start N processes of a training script.

The processes are started by ``mpiexec`` (MPICH or Open MPI: ``pip install "lucid[distributed]"``), so
``init_process_group("mpi")`` finds its world from MPI; each process also gets ``LOCAL_RANK`` from the MPI
launcher's variables through :func:`lucid.distributed.get_node_local_rank`. Also accepted:
``--nproc-per-node N`` (torchrun's spelling) and ``-m module`` instead of a script.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys


def command(argv) -> list[str]:
    """The mpiexec command line that runs ``argv`` (this launcher's arguments)."""
    parser = argparse.ArgumentParser(prog="python -m lucid.distributed.run", description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--nproc-per-node", "--nproc_per_node", dest="n", type=int, default=1,
                        help="number of processes (default 1)")
    parser.add_argument("-m", dest="module", action="store_true", help="run the target as a module (python -m)")
    parser.add_argument("target", help="the training script (or module with -m)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"-n must be at least 1, not {args.n}")
    mpiexec = shutil.which("mpiexec") or shutil.which("mpirun")
    if mpiexec is None:
        raise SystemExit("lucid.distributed.run needs mpiexec: pip install 'lucid[distributed]' (mpi4py + MPICH) "
                         "or install Open MPI")
    target = ["-m", args.target] if args.module else [args.target]
    return [mpiexec, "-n", str(args.n), sys.executable, *target, *args.args]


def main(argv=None) -> int:
    return subprocess.run(command(sys.argv[1:] if argv is None else argv)).returncode


if __name__ == "__main__":
    sys.exit(main())
