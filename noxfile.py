"""Test sessions, one per backend: ``nox`` runs the CPU ones (numpy, array-api-strict).

    nox -s tests-numpy     # NumPy backend ("cpu")
    nox -s tests-strict    # array-api-strict, with its fake second device
    nox -s tests-cuda      # CuPy on a GPU; skips with a reason where none is usable
    nox -s cuda-compile    # the CUDA kernels compiled by NVRTC, no GPU needed
    nox -s bench           # pytest-benchmark suite in bench/
    nox -s lint            # ruff

Set LUCID_WITH_TORCH=1 to install PyTorch (CPU) so the oracle tests run instead of skipping.
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["tests-numpy", "tests-strict", "cuda-compile"]
nox.options.reuse_existing_virtualenvs = True

TORCH = "torch==2.13.0"


def _install(session, *extras):
    session.install("-e", f".[{','.join(('test', 'distributed') + extras)}]")  # MPI: tests/distributed
    if os.environ.get("LUCID_WITH_TORCH") == "1":
        session.install(TORCH)


def _pytest(session, devices):
    session.run("pytest", "-q", *session.posargs, env={"LUCID_TEST_DEVICES": devices})


@nox.session(name="tests-numpy")
def tests_numpy(session):
    """The whole suite on the NumPy backend."""
    _install(session)
    _pytest(session, "cpu")


@nox.session(name="tests-strict")
def tests_strict(session):
    """The whole suite on array-api-strict: proves the ops use only the array API standard."""
    _install(session)
    _pytest(session, "strict:0,strict:1")


@nox.session(name="tests-cuda")
def tests_cuda(session):
    """The whole suite on CUDA through CuPy (``CUDA_EXTRA=cuda12`` for CUDA 12 machines)."""
    extra = os.environ.get("CUDA_EXTRA", "cuda13")
    _install(session, extra)
    probe = "import lucid, sys; sys.exit(0 if lucid.cuda.is_available() else 1)"
    try:
        session.run("python", "-c", probe, silent=True)
    except Exception:
        session.skip("no usable CUDA GPU (CuPy missing, no driver, or no device): nothing to test on cuda")
    _pytest(session, "cuda")


@nox.session(name="cuda-compile")
def cuda_compile(session):
    """lucid's CUDA kernels compiled by NVRTC against CuPy's and CUDA's headers: no GPU needed, so CI runs it.
    CuPy with just the compiler and the runtime headers, not ``[ctk]``'s gigabyte of CUDA libraries."""
    session.install("-e", ".[test]", "cupy-cuda12x>=14", "nvidia-cuda-nvrtc-cu12", "nvidia-cuda-runtime-cu12")
    session.run("pytest", "-q", "tests/backend/test_cupy_kernels_nvrtc.py", *session.posargs)


@nox.session
def bench(session):
    """Benchmarks paired with hand-written NumPy (and PyTorch when installed)."""
    _install(session)
    one_core = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # as issue 13 measures
    session.run("pytest", "bench", "--benchmark-only", "-q", *session.posargs, env=one_core)


@nox.session
def lint(session):
    session.install("ruff")
    session.run("ruff", "check", "lucid", "tests", "bench", "noxfile.py")


@nox.session
def docs(session):
    """The Sphinx site: guides and the generated API reference, offline, warnings as errors."""
    session.install("-e", ".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-j", "auto", "-b", "html", "docs", "docs/_build/html",
                *session.posargs)
