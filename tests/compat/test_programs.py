"""Unmodified PyTorch-style programs (``programs/*.py``) run under ``python -m lucid.torch_compat`` and print
the same losses as under PyTorch: each copies NumPy-made weights into its model, so the two runs start
equal and differ only by float rounding."""

from __future__ import annotations

import importlib.util
import math
import os
import pathlib
import subprocess
import sys

import pytest

PROGRAMS = sorted((pathlib.Path(__file__).parent / "programs").glob("*.py"))
ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run(args, program) -> list[float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, *args, str(program)], capture_output=True, text=True, timeout=240,
                          env=env, cwd=program.parent)
    assert done.returncode == 0, f"{program.name} failed under {args or 'python'}:\n{done.stderr[-3000:]}"
    return [float(line.split()[-1]) for line in done.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_runs_on_lucid_as_on_torch(program):
    ours = _run(["-m", "lucid.torch_compat"], program)
    assert len(ours) >= 5 and all(math.isfinite(v) for v in ours)
    if importlib.util.find_spec("torch") is None:
        return
    theirs = _run([], program)
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a == pytest.approx(b, rel=2e-3, abs=2e-4), f"{program.name} line {i + 1}: lucid {a}, torch {b}"


def test_there_are_programs():
    assert len(PROGRAMS) >= 5
