"""Unmodified PyTorch-style programs (``programs/*.py``) run under ``python -m lucid.torch_compat`` and print
the same losses as under PyTorch: each copies NumPy-made weights into its model, so the two runs start
equal and differ only by float rounding."""

from __future__ import annotations

import importlib.util
import math
import os
import pathlib
import re
import subprocess
import sys

import pytest

PROGRAMS = sorted((pathlib.Path(__file__).parent / "programs").glob("*.py"))
ROOT = pathlib.Path(__file__).resolve().parents[2]


def _size_as_tuple(match) -> str:
    sizes = match.group(1).split(", ") if match.group(1) else []
    return f"({sizes[0]},)" if len(sizes) == 1 else f"({', '.join(sizes)})"


def _run(args, program) -> list:
    """The program's output lines: the number ending each line, else the line in lucid's spelling
    (``lucid.float32`` for ``torch.float32``, shapes as tuples, as lucid prints them)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, *args, str(program)], capture_output=True, text=True, timeout=240,
                          env=env, cwd=program.parent)
    assert done.returncode == 0, f"{program.name} failed under {args or 'python'}:\n{done.stderr[-3000:]}"
    lines = []
    for line in done.stdout.splitlines():
        try:
            lines.append(float(line.split()[-1]))
        except (ValueError, IndexError):
            lines.append(re.sub(r"torch\.Size\(\[([^\]]*)\]\)", _size_as_tuple, line).replace("torch.", "lucid."))
    return lines


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_runs_on_lucid_as_on_torch(program):
    ours = _run(["-m", "lucid.torch_compat"], program)
    numbers = [v for v in ours if isinstance(v, float)]
    assert len(numbers) >= 5 and all(math.isfinite(v) for v in numbers)
    if importlib.util.find_spec("torch") is None:
        return
    theirs = _run([], program)
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if isinstance(a, float) and isinstance(b, float):
            assert a == pytest.approx(b, rel=2e-3, abs=2e-4), f"{program.name} line {i + 1}: lucid {a}, torch {b}"
        else:
            assert a == b, f"{program.name} line {i + 1}: lucid {a!r}, torch {b!r}"


def test_there_are_programs():
    assert len(PROGRAMS) >= 5
