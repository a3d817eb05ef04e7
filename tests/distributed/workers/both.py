"""The start shared by the workers that run under lucid and under torch: importing this module picks the library
and joins the default process group.

``python WORKER.py OUTDIR`` (under mpiexec) runs on lucid over backend "mpi", or LUCID_TEST_BACKEND's ("gloo":
the same MPI transport under PyTorch's CPU backend name); ``python WORKER.py OUTDIR torch RANK WORLD PORT`` runs
on torch.distributed's gloo backend. Workers write what they saw under OUTDIR for the test to compare.
"""

import importlib
import os
import pathlib
import sys

OUTDIR = pathlib.Path(sys.argv[1])
LUCID = len(sys.argv) == 2
BACKEND = os.environ.get("LUCID_TEST_BACKEND", "mpi")  # lucid's backend name
lib = importlib.import_module("lucid" if LUCID else "torch")
dist = importlib.import_module(f"{lib.__name__}.distributed")
if LUCID:
    dist.init_process_group(BACKEND)
else:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{sys.argv[5]}", rank=int(sys.argv[3]),
                            world_size=int(sys.argv[4]))
nn, F, f64 = lib.nn, lib.nn.functional, lib.float64


def module(name: str):
    """The module ``name`` (``"distributed.optim"``) of the library this run uses."""
    return importlib.import_module(f"{lib.__name__}.{name}")
