"""Issue 13's workloads, lucid against PyTorch (and hand-written NumPy), in interleaved rounds of process CPU time.

pytest-benchmark (``nox -s bench``) times wall clock, which on a shared machine measures the other jobs as
much as the code; CPU time does not count the time the process waits for a core. Run::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/compare.py [workload ...]

and, to compare two trees, the same with ``PYTHONPATH`` pointing at each (a ``git archive`` of the other).
Each round times ``steps`` calls of lucid's step, then of torch's, and prints both medians and their ratio;
``--numpy`` adds the hand-written NumPy step to each round (and lucid's ratio to it).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import lucid  # noqa: F401  (first, as a user's program would: it picks BLAS kernels before NumPy loads)

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from test_nn import randn  # noqa: E402
from test_rnn import _lstm_lm  # noqa: E402
from test_training import _mlp  # noqa: E402
from test_workloads import chain_step, gpt_step, lenet_step, np_chain_step, resnet18_step  # noqa: E402


def _chain(impl):
    """The chain's step in ``impl`` (its NumPy version takes the data as an argument)."""
    if impl != "numpy":
        return chain_step(impl)
    import numpy as np

    data = randn(np.random.default_rng(0), 16)
    return lambda: np_chain_step(data)


WORKLOADS = {  # name: (impl -> step, calls per round)
    "chain": (_chain, 300),
    "mlp": (lambda impl: _mlp(impl, 256)[0], 10),
    "lenet": (lenet_step, 10),
    "resnet18": (resnet18_step, 3),
    "gpt": (gpt_step, 5),
    "lstm": (lambda impl: _lstm_lm(impl)[0], 5),
}


def median_cpu_time(step, calls: int) -> float:
    step()  # warm-up
    times = []
    for _ in range(calls):
        start = time.process_time()
        step()
        times.append(time.process_time() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", help="some of " + ", ".join(WORKLOADS) + " (default: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--numpy", action="store_true", help="time the hand-written NumPy step too")
    args = parser.parse_args()
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {list(WORKLOADS)}")
    import torch

    torch.set_num_threads(1)
    for name in args.workloads or list(WORKLOADS):
        build, calls = WORKLOADS[name]
        lucid_step, torch_step = build("lucid"), build("torch")
        numpy_step = build("numpy") if args.numpy else None
        for _ in range(args.rounds):
            a, b = median_cpu_time(lucid_step, calls), median_cpu_time(torch_step, calls)
            line = f"{name:9s} lucid {a * 1e3:9.3f} ms  torch {b * 1e3:9.3f} ms  lucid/torch {a / b:5.2f}"
            if numpy_step is not None:
                c = median_cpu_time(numpy_step, calls)
                line += f"  numpy {c * 1e3:9.3f} ms  lucid/numpy {a / c:5.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
