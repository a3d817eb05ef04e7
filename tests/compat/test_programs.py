"""Unmodified PyTorch-style programs (``programs/*.py``) run under ``python -m lucid.torch_compat`` and print
the same losses as under PyTorch: each copies NumPy-made weights into its model, so the two runs start
equal and differ only by float rounding."""

from __future__ import annotations

import importlib.util
import json
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


# runs every program under real PyTorch in one process (PyTorch takes seconds to import), printing
# {program: its output} as JSON
_UNDER_TORCH = """
import contextlib, io, json, runpy, sys
outputs = {}
for path in sys.argv[1:]:
    sys.argv[:] = [path]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        runpy.run_path(path, run_name="__main__")
    outputs[path] = out.getvalue()
print(json.dumps(outputs))
"""


def _python(args) -> str:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600, env=env,
                          cwd=PROGRAMS[0].parent)
    assert done.returncode == 0, f"{args} failed:\n{done.stderr[-3000:]}"
    return done.stdout


_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])|\bnan\b|-?\binf\b")


def _lines(output: str) -> list:
    """Each output line as ``(its text with every number replaced by #, its numbers)``, the text in lucid's
    spelling (``lucid.float32`` for ``torch.float32``, shapes as tuples, as lucid prints them) without its
    whitespace (tensor reprs pad differently): every number a line prints is compared, not only the last."""
    lines = []
    for line in output.splitlines():
        text = re.sub(r"torch\.Size\(\[([^\]]*)\]\)", _size_as_tuple, line).replace("torch.", "lucid.")
        numbers = [float(x) for x in _NUMBER.findall(text)]
        lines.append(("".join(_NUMBER.sub("#", text).split()), numbers))
    return lines


@pytest.fixture(scope="module")
def under_torch():
    """{program path: its output lines under PyTorch}, or None without PyTorch."""
    if importlib.util.find_spec("torch") is None:
        return None
    outputs = json.loads(_python(["-c", _UNDER_TORCH, *map(str, PROGRAMS)]))
    return {path: _lines(text) for path, text in outputs.items()}


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_runs_on_lucid_as_on_torch(program, under_torch):
    ours = _lines(_python(["-m", "lucid.torch_compat", str(program)]))
    numbers = [v for _, values in ours for v in values]
    assert sum(math.isfinite(v) for v in numbers) >= 5  # (masks print -inf)
    if under_torch is None:
        return
    theirs = under_torch[str(program)]
    assert len(ours) == len(theirs)
    for i, ((text, values), (their_text, their_values)) in enumerate(zip(ours, theirs)):
        assert text == their_text, f"{program.name} line {i + 1}: lucid {text!r}, torch {their_text!r}"
        assert values == pytest.approx(their_values, rel=2e-3, abs=2e-4, nan_ok=True), \
            f"{program.name} line {i + 1}: lucid {values}, torch {their_values}"


def test_there_are_programs():
    assert len(PROGRAMS) >= 5


def test_nanogpt_idioms_train_and_generate_under_the_runner(tmp_path):
    """An unmodified nanoGPT-style script (tests/compat/smoke/nanogpt.py) trains, checkpoints, reloads and
    samples under the runner; its batches are random, so the check is that the loss falls."""
    script = pathlib.Path(__file__).parent / "smoke" / "nanogpt.py"
    out = _python(["-m", "lucid.torch_compat", str(script), str(tmp_path / "ckpt.pt")])
    losses = [float(x) for x in re.findall(r"iter \d+: loss ([\d.]+)", out)]
    assert len(losses) == 20 and sum(losses[-5:]) < sum(losses[:5]), out
    sample = eval(out.strip().splitlines()[-1])  # the generated token ids
    assert len(sample) == 11 and all(0 <= t < 50 for t in sample)
