"""The gradcheck table's building blocks: input specs (``make(rng, device) -> Tensor``), ``add`` and the
shared ``CASES``/``COVERED`` it fills. ``test_gradcheck_coverage.py`` holds the core table; each
``gradcheck_cases_<family>.py`` next to it adds the cases of one op family (and may define its own
``NOT_DIFFERENTIABLE`` set), so families grow without editing one long file."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid

# ---- input specs: each is ``make(rng, device) -> Tensor`` --------------------------------------------


def _float(draw, grad=True):
    def make(rng, device):
        return lucid.tensor(np.asarray(draw(rng), dtype=np.float64), dtype=lucid.float64, device=device,
                            requires_grad=grad)

    return make


def N(*shape):
    """Standard normal."""
    return _float(lambda r: r.standard_normal(shape))


def P(*shape, lo=0.5, hi=2.0):
    """Positive, away from zero."""
    return _float(lambda r: r.uniform(lo, hi, shape))


def U(*shape, lo=-0.8, hi=0.8):
    """Inside (-1, 1) (asin, acos, ...)."""
    return _float(lambda r: r.uniform(lo, hi, shape))


def AWAY(*shape):
    """An integer plus 0.1..0.4: away from the jumps of floor, ceil, round, trunc and sign."""
    return _float(lambda r: r.integers(-2, 3, shape) + r.uniform(0.1, 0.4, shape))


def GRID8(*shape):
    """Multiples of 1/8: exact in float16, so casts through half/float are exact with eps=1/8."""
    return _float(lambda r: r.integers(-16, 17, shape) / 8.0)


def DISTINCT(*shape, gap=0.1):
    """A permutation of well-separated values: no ties for max/sort/pooling, no point near a kink."""
    n = math.prod(shape)
    return _float(lambda r: (r.permutation(n) - n / 2 + 0.37).reshape(shape) * gap)


def SQUARE(n, batch=()):
    """A well-conditioned square matrix (random plus 3 * identity)."""
    return _float(lambda r: r.standard_normal((*batch, n, n)) * 0.5 + 3 * np.eye(n))


def PROB(*shape):
    """In (0.1, 0.9): probabilities for binary cross-entropy."""
    return _float(lambda r: r.uniform(0.1, 0.9, shape))


def SIMPLEX(*shape, dim=-1):
    """Rows that sum to 1 (targets of kl_div and soft cross-entropy)."""
    def draw(r):
        a = r.uniform(0.2, 1.0, shape)
        return a / a.sum(axis=dim, keepdims=True)

    return _float(draw)


def CONST(spec):
    """A float input that does not require grad (targets, masks of weights, ...)."""
    def make(rng, device):
        return spec(rng, device).detach()

    return make


def I(values):  # noqa: E743  (int constant)
    def make(rng, device):
        v = values(rng) if callable(values) else values
        return lucid.tensor(np.asarray(v, dtype=np.int64), device=device)

    return make


def B(values):
    """A bool constant."""
    def make(rng, device):
        v = values(rng) if callable(values) else values
        return lucid.tensor(np.asarray(v, dtype=bool), device=device)

    return make


# ---- the table -----------------------------------------------------------------------------------------

CASES: list = []  # pytest.param(case id, fn, specs, gradcheck kwargs)
COVERED: set[str] = set()  # the public names the table checks


def add(name, fn, *specs, variant=None, also=(), needs=None, **gc):
    """A case for the public ``name`` (``lucid.x``, ``Tensor.x``, ``linalg.x``, ``F.x``), also covering
    ``also``. ``gc`` goes to gradcheck (eps, atol, rtol)."""
    cid = name if variant is None else f"{name}[{variant}]"
    assert all(p.id != cid for p in CASES), f"duplicate case id {cid}"
    COVERED.add(name)
    COVERED.update(also)
    CASES.append(pytest.param(cid, fn, specs, gc, needs, id=cid))


def seeded(fn, seed=0):
    """``fn`` with lucid re-seeded first, so random masks are the same in every evaluation."""
    def run(*args):
        lucid.manual_seed(seed)
        return fn(*args)

    return run


def on_clone(method, *extra, **kw):
    """``x.clone().method(*args)``: an in-place method that leaves the leaf alone."""
    def run(x, *args):
        return getattr(x.clone(), method)(*args, *extra, **kw)

    return run
