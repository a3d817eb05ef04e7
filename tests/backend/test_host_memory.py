"""Freed host memory kept for reuse (lucid/_backend/host_memory.py): a step that frees and allocates the same
large arrays faults no pages in again once lucid is imported; ``LUCID_KEEP_FREED_MEMORY=0`` leaves glibc's
malloc as it is (which faults them in at every step)."""

import os
import subprocess
import sys
import textwrap

import pytest

_PROBE = textwrap.dedent("""
    import resource
    import numpy as np
    import lucid  # noqa: F401

    def step():  # three 16 MiB arrays, written, then freed: 48 MiB of free heap top (glibc trims above 32)
        arrays = [np.ones(4 * 2**20, np.float32) for _ in range(3)]
        del arrays

    step(); step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        step()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
""")


def _faults_per_step(keep: str) -> float:
    env = {**os.environ, "LUCID_KEEP_FREED_MEMORY": keep}
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc thresholds (Linux)")
def test_freed_arrays_are_reused_without_page_faults():
    import ctypes

    try:
        ctypes.CDLL(None).gnu_get_libc_version  # noqa: B018
    except AttributeError:
        pytest.skip("not glibc")
    kept, default = _faults_per_step("1"), _faults_per_step("0")
    assert kept < 10  # nothing goes back to the system
    assert default > 100  # the probe does make glibc trim (so the first assertion tests something)
