"""Benchmark harness: every case runs as lucid, hand-written NumPy and (when installed)
PyTorch CPU in one pytest-benchmark run; the terminal summary prints lucid's ratio to each.

A case is a test taking the ``impl`` fixture ("lucid", "numpy" or "torch") that builds its
callable for that implementation and passes it to ``run(benchmark, fn)``.
"""

from __future__ import annotations

import pytest

import lucid  # noqa: F401  (before the cases load NumPy: lucid picks BLAS kernels then, see lucid/_blas_kernels.py)

IMPLS = ["lucid", "numpy", "torch"]
_MEDIANS: dict[str, dict[str, float]] = {}
_MEMORY: dict[str, dict[str, int]] = {}


def record_memory(case: str, impl: str, nbytes: int) -> None:
    """Remember a memory figure (bytes) of ``impl`` for the summary's memory table."""
    _MEMORY.setdefault(case, {})[impl] = nbytes


@pytest.fixture(params=IMPLS)
def impl(request):
    if request.param == "torch":
        torch = pytest.importorskip("torch")
        torch.set_num_threads(max(1, torch.get_num_threads()))
    return request.param


@pytest.fixture
def run(request, impl):
    """``run(benchmark, fn)``: time ``fn`` and remember its median for the ratio table."""
    params = [str(v) for k, v in request.node.callspec.params.items() if k != "impl"]
    case = request.node.originalname + (f"[{'-'.join(params)}]" if params else "")  # the case without impl

    def timed(benchmark, fn, **pedantic):
        benchmark.group = case
        if pedantic:
            benchmark.pedantic(fn, **pedantic)
        else:
            benchmark(fn)
        if benchmark.stats is not None:  # None under --benchmark-disable (fn ran once, untimed)
            _MEDIANS.setdefault(case, {})[impl] = benchmark.stats.stats.median

    return timed


def pytest_terminal_summary(terminalreporter):
    tr = terminalreporter
    for case, m in _MEMORY.items():
        tr.section("memory (MiB; lucid / torch)")
        ratio = f"{m['lucid'] / m['torch']:.2f}" if m.get("torch") else "-"
        tr.write_line(f"{case}: " + ", ".join(f"{k} {v / 2**20:.1f}" for k, v in m.items()) + f"  ratio {ratio}")
    if not _MEDIANS:
        return
    tr.section("lucid / reference (median time ratio; below 1 means lucid is faster)")
    tr.write_line(f"{'case':40s} {'lucid':>12s} {'numpy':>12s} {'torch':>12s} {'/numpy':>8s} {'/torch':>8s}")
    for case, m in _MEDIANS.items():
        times = [f"{m[k] * 1e6:10.1f}us" if k in m else f"{'-':>12s}" for k in IMPLS]
        ratios = [f"{m['lucid'] / m[k]:8.2f}" if "lucid" in m and k in m else f"{'-':>8s}" for k in IMPLS[1:]]
        tr.write_line(f"{case:40s} {' '.join(times)} {' '.join(ratios)}")
