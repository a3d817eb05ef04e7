"""``python -m lucid.distributed.run [options] train.py [args]``: start the processes of a training script.

Two ways to start them (``--launcher``), one per kind of backend:

* ``mpiexec`` (CPU: backends "gloo" and "mpi", which run over MPI): ``mpiexec -n N`` starts the processes and
  ``init_process_group`` finds its world from MPI (MPICH or Open MPI: ``pip install "lucid[distributed]"``);
  ``LOCAL_RANK`` comes from the MPI launcher's variables through :func:`lucid.distributed.get_node_local_rank`.
  NCCL programs run under it too (the NCCL id travels through MPI).
* ``spawn`` (torchrun's way, for "nccl" without MPI): this launcher starts ``--nproc-per-node`` local processes
  itself, each with ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR`` and
  ``MASTER_PORT`` set (a free port when ``--master-port`` is not given), so ``init_process_group("nccl")`` meets
  through ``env://``. It forwards SIGINT/SIGTERM to them; when one fails it stops the others and exits with the
  first non-zero exit code. ``--nnodes``/``--node-rank`` run one launcher per machine, with a shared
  ``--master-addr``. A CPU group of several processes refuses to start here (init_process_group says to use
  mpiexec).

The default (``auto``) launches ``python -m lucid.distributed.run -n N train.py`` through ``mpiexec`` when it is
on PATH, and spawns otherwise or when a torchrun-only option (``--standalone``, ``--nnodes``, ``--node-rank``,
``--master-addr``, ``--master-port``) is given. ``-m module`` runs a module.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

_TORCHRUN_ONLY = ("standalone", "nnodes", "node_rank", "master_addr", "master_port")


def _parser():
    parser = argparse.ArgumentParser(prog="python -m lucid.distributed.run", description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--nproc-per-node", "--nproc_per_node", dest="n", type=int, default=1,
                        help="number of processes (on this machine; default 1)")
    parser.add_argument("--launcher", choices=("auto", "spawn", "mpiexec"), default="auto",
                        help="mpiexec (CPU: gloo, mpi) or spawn here, torchrun's way (nccl); auto: mpiexec when on "
                             "PATH and no torchrun-only option is given")
    parser.add_argument("--standalone", action="store_true", default=None,
                        help="one machine, a free local port for the rendezvous (spawn)")
    parser.add_argument("--nnodes", type=int, default=None, help="number of machines (spawn; default 1)")
    parser.add_argument("--node-rank", "--node_rank", dest="node_rank", type=int, default=None,
                        help="this machine's number, 0..nnodes-1 (spawn; default 0)")
    parser.add_argument("--master-addr", "--master_addr", dest="master_addr", default=None,
                        help="address of the rank-0 machine (spawn; default 127.0.0.1)")
    parser.add_argument("--master-port", "--master_port", dest="master_port", type=int, default=None,
                        help="rendezvous port on the master (spawn; default: a free port, one machine only)")
    parser.add_argument("-m", dest="module", action="store_true", help="run the target as a module (python -m)")
    parser.add_argument("target", help="the training script (or module with -m)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    return parser


def _arguments(argv):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"-n must be at least 1, not {args.n}")
    if args.launcher == "auto":
        torchrun = any(getattr(args, name) is not None for name in _TORCHRUN_ONLY)
        args.launcher = "spawn" if torchrun or _mpiexec() is None else "mpiexec"
    args.nnodes = 1 if args.nnodes is None else args.nnodes
    args.node_rank = 0 if args.node_rank is None else args.node_rank
    if not 0 <= args.node_rank < args.nnodes:
        parser.error(f"--node-rank {args.node_rank} is not in 0..{args.nnodes - 1} (--nnodes {args.nnodes})")
    if args.nnodes > 1 and (args.master_port is None or args.standalone):
        parser.error("--nnodes > 1 needs --master-addr and --master-port (the same on every machine), "
                     "and not --standalone")
    return args


def _mpiexec():
    return shutil.which("mpiexec") or shutil.which("mpirun")


def _target(args) -> list[str]:
    return [sys.executable, *(["-m", args.target] if args.module else [args.target]), *args.args]


def command(argv) -> list[str]:
    """The mpiexec command line that runs ``argv`` (this launcher's arguments, in mpiexec mode)."""
    args = _arguments(argv)
    mpiexec = _mpiexec()
    if mpiexec is None:
        raise SystemExit("lucid.distributed.run --launcher mpiexec needs mpiexec: pip install 'lucid[distributed]' "
                         "(mpi4py + MPICH) or install Open MPI (--launcher spawn serves backend 'nccl' only)")
    return [mpiexec, "-n", str(args.n), *_target(args)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def environments(args) -> list[dict]:
    """The environment of each local process in spawn mode (torchrun's variables)."""
    port = args.master_port or _free_port()
    base = {**os.environ, "MASTER_ADDR": args.master_addr or "127.0.0.1", "MASTER_PORT": str(port),
            "WORLD_SIZE": str(args.n * args.nnodes), "LOCAL_WORLD_SIZE": str(args.n),
            "GROUP_RANK": str(args.node_rank)}
    return [{**base, "RANK": str(args.node_rank * args.n + local), "LOCAL_RANK": str(local)}
            for local in range(args.n)]


def spawn(args) -> int:
    """Run the local processes; the first non-zero exit code (the others are stopped then), else 0."""
    procs = [subprocess.Popen(_target(args), env=env) for env in environments(args)]

    def forward(signum, _frame):
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            codes = [p.poll() for p in procs]
            failed = next((c for c in codes if c not in (None, 0)), None)
            if failed is not None:
                _stop(procs)
                return failed
            if all(c == 0 for c in codes):
                return 0
            time.sleep(0.05)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _stop(procs, grace=5.0):
    """SIGTERM the processes still running, then SIGKILL those that outlive ``grace`` seconds (as torchrun)."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _arguments(argv)
    if args.launcher == "spawn":
        return spawn(args)
    return subprocess.run(command(argv)).returncode


if __name__ == "__main__":
    sys.exit(main())
