"""Test set-up: every test that takes ``device`` runs once per available backend device.

``LUCID_TEST_DEVICES`` (comma-separated, e.g. ``cpu`` or ``strict:0,strict:1`` or ``cuda``)
picks the devices; by default: ``cpu``, array-api-strict's ``strict:0`` and fake
``strict:1`` when it is installed, and ``cuda`` when a GPU is usable.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import lucid  # noqa: E402

try:
    import array_api_strict  # noqa: F401
    import strict_backend  # noqa: E402

    strict_backend.register()
    HAVE_STRICT = True
except ImportError:
    HAVE_STRICT = False


def _cuda_usable() -> bool:
    from lucid import cuda

    return cuda.is_available()


def _default_devices() -> list[str]:
    found = ["cpu"]
    if HAVE_STRICT:
        found += ["strict:0", "strict:1"]
    if _cuda_usable():
        found.append("cuda")
    return found


DEVICES = [d.strip() for d in os.environ.get("LUCID_TEST_DEVICES", "").split(",") if d.strip()] or _default_devices()


@pytest.fixture(params=DEVICES)
def device(request):
    """A lucid Device to run the test on."""
    return lucid.device(request.param)


def _pairs():
    pairs = []
    for d in DEVICES:
        kind = d.split(":")[0]
        if kind == "strict":
            pairs.append(("strict:0", "strict:1") if d != "strict:0" else ("strict:1", "strict:0"))
        elif kind == "cuda":
            pairs.append(("cuda:0", "cpu"))
        else:
            pairs.append(("cpu", "strict:1") if HAVE_STRICT else None)
    return [p for p in dict.fromkeys(pairs) if p is not None]


@pytest.fixture(params=_pairs() or [pytest.param(None, marks=pytest.mark.skip(reason="needs two devices"))])
def device_pair(request):
    """Two different devices (``(here, there)``) for moves and device-mismatch errors."""
    return tuple(lucid.device(d) for d in request.param)


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)


def pytest_report_header(config):
    return f"lucid test devices: {', '.join(DEVICES)}"
