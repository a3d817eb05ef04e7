"""``lucid.quasirandom``: Sobol' low-discrepancy sequences, as ``torch.quasirandom``.

The direction numbers are Joe & Kuo's ``new-joe-kuo-6.21201`` set (search criterion D(6); S. Joe and F. Y. Kuo,
"Constructing Sobol sequences with better two-dimensional projections", SIAM J. Sci. Comput. 30, 2635-2654,
2008; https://web.maths.unsw.edu.au/~fkuo/sobol/), the set PyTorch uses. ``_sobol_joe_kuo.txt.gz`` next to this
file holds its first 1,111 dimensions (every primitive polynomial up to degree 13) in Joe & Kuo's own format
``d s a m_1 ... m_s``; the numbers were read once from PyTorch 2.13's ``SobolEngine.sobolstate``. PyTorch ships
all 21,201 dimensions; lucid stops at 1,111 to keep the package small and says so when asked for more.
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources

import numpy as np

from . import _tensor
from . import dtypes as _dt
from .ops import creation
from .ops import sampling as _sampling
from .ops import shape as _shape
from .random import Generator

__all__ = ["SobolEngine"]

_FILE = "_sobol_joe_kuo.txt.gz"
MAXBIT = 30  # bits of every coordinate (as PyTorch): points are multiples of 2**-30
MAXDIM = 1111  # dimensions in _FILE (PyTorch's own limit is 21201)


@functools.cache
def _direction_numbers() -> np.ndarray:
    """The (MAXDIM, MAXBIT) int64 direction numbers ``v[d, j] = m_{d,j} * 2**(MAXBIT-1-j)``: the first
    dimension is all ``m = 1``, the others extend Joe & Kuo's initial ``m_1..m_s`` by the recurrence of their
    primitive polynomial (Bratley & Fox, p. 90), as PyTorch's ``_sobol_engine_initialize_state_``."""
    with resources.files(__package__).joinpath(_FILE).open("rb") as f, gzip.open(f, "rt") as text:
        rows = [[int(w) for w in line.split()] for line in text.read().splitlines()[1:]]
    m = np.ones((MAXDIM, MAXBIT), dtype=np.int64)
    rest, degree, poly = m[1:], np.ones(MAXDIM - 1, dtype=np.int64), np.ones(MAXDIM - 1, dtype=np.int64)
    for d, s, a, *init in rows:
        degree[d - 2], poly[d - 2] = s, (1 << s) | (a << 1) | 1  # the polynomial with its leading and trailing 1
        rest[d - 2, :s] = init
    dims = np.arange(MAXDIM - 1)
    for j in range(1, MAXBIT):  # m_j = m_{j-s} ^ 2**s m_{j-s} ^ XOR_k a_k 2**(k+1) m_{j-k-1}, for j >= s
        new = rest[dims, np.maximum(j - degree, 0)]
        for k in range(min(j, int(degree.max()))):
            uses = (k < degree) & (((poly >> np.maximum(degree - 1 - k, 0)) & 1) == 1)
            new = new ^ np.where(uses, rest[:, j - k - 1] << (k + 1), 0)
        rest[:, j] = np.where(j >= degree, new, rest[:, j])
    return m << (MAXBIT - 1 - np.arange(MAXBIT))


class SobolEngine:
    """Draws (optionally scrambled) Sobol' points in ``[0, 1)^dimension``, as ``torch.quasirandom.SobolEngine``.

    Unscrambled points equal PyTorch's bit for bit. ``scramble=True`` applies the same linear matrix scrambling
    plus digital shift as PyTorch (random lower-triangular bit matrices with unit diagonal, drawn from a
    ``lucid.Generator`` seeded with ``seed``, or lucid's global generator when ``seed`` is None), so the points
    keep the Sobol' stratification but, the random streams being different, not PyTorch's values. Points are
    computed on the CPU (as PyTorch), the ``k``-th directly from the Gray code of ``k``.

    Where PyTorch leaves it open: the first point is computed in the requested dtype (PyTorch rounds it through
    the default dtype first), ``draw(0)`` returns an empty (0, dimension) tensor (PyTorch raises before the first
    draw) and a negative ``n`` raises ValueError.
    """

    MAXBIT = MAXBIT
    MAXDIM = MAXDIM

    def __init__(self, dimension: int, scramble: bool = False, seed: int | None = None):
        if not 1 <= dimension <= MAXDIM:
            raise ValueError(f"Supported range of dimensionality for SobolEngine is [1, {MAXDIM}] "
                             f"(got {dimension}); lucid ships Joe & Kuo's direction numbers for the first {MAXDIM} "
                             f"dimensions only (PyTorch's limit is 21201)")
        self.seed, self.scramble, self.dimension = seed, scramble, dimension
        self.sobolstate = _tensor.tensor(_direction_numbers()[:dimension], dtype=_dt.int64, device="cpu")
        self.shift = creation.zeros(dimension, dtype=_dt.int64, device="cpu")
        if scramble:
            self._scramble()
        self.num_generated = 0

    def _scramble(self) -> None:
        """Digital shift and left linear matrix scrambling of the direction numbers (Matousek / Owen style):
        each output bit (most significant first) is the parity of a random lower-triangular, unit-diagonal
        combination of the more significant input bits, as PyTorch's ``_sobol_engine_scramble_``."""
        g = None
        if self.seed is not None:
            g = Generator()
            g.manual_seed(self.seed)
        pow2 = 2 ** creation.arange(MAXBIT, dtype=_dt.int64, device="cpu")
        self.shift = _sampling.randint(2, (self.dimension, MAXBIT), generator=g, device="cpu") @ pow2
        ltm = _sampling.randint(2, (self.dimension, MAXBIT, MAXBIT), generator=g, device="cpu").tril(-1)
        ltm = ltm + creation.eye(MAXBIT, dtype=_dt.int64, device="cpu")
        msb_first = pow2.flip(0)  # 2**29, ..., 1: bit k (most significant first) of a 30-bit number
        bits = (self.sobolstate.unsqueeze(-1) // msb_first) % 2  # (dimension, j, k)
        self.sobolstate = ((bits @ ltm.transpose(-1, -2)) % 2) @ msb_first

    @property
    def quasi(self):
        """The last point drawn as integers (the shift before any draw), as PyTorch's ``quasi``."""
        return self._points(max(self.num_generated - 1, 0), 1)[0]

    def _points(self, start: int, n: int):
        """Points ``start .. start + n - 1`` of the sequence as (n, dimension) int64 numerators of 2**-30:
        point ``k`` is the shift XOR the direction numbers of the set bits of ``k``'s Gray code. The low bits
        (enough for ``n`` points) come from a table of all their XOR combinations, built by doubling (one XOR per
        entry), the few high bits one by one."""
        k = creation.arange(start, start + n, dtype=_dt.int64, device="cpu")
        gray = k ^ (k >> 1)
        low = max(n - 1, 1).bit_length()
        table = self.shift.unsqueeze(0)
        for b in range(low):
            table = _shape.cat([table, table ^ self.sobolstate[:, b]])
        points = table[gray & (2 ** low - 1)]
        gray = gray.unsqueeze(-1)
        for b in range(low, (start + n).bit_length()):
            points = points ^ (((gray >> b) & 1) * self.sobolstate[:, b])
        return points

    def draw(self, n: int = 1, out=None, dtype=None):
        """The next ``n`` points, an (n, dimension) tensor of ``dtype`` (default: the default float dtype; float32
        or float64), written into ``out`` (resized) when given."""
        dtype = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
        if dtype not in (_dt.float32, _dt.float64):
            raise NotImplementedError(f"SobolEngine.draw: points are float32 or float64, not lucid.{dtype.name}")
        if n < 0:
            raise ValueError(f"SobolEngine.draw: n must be non-negative (got {n})")
        result = self._points(self.num_generated, n).to(dtype) * 2.0 ** -MAXBIT
        self.num_generated += n
        if out is not None:
            return out.resize_as_(result).copy_(result)
        return result

    def draw_base2(self, m: int, out=None, dtype=None):
        """The next ``2**m`` points; the total drawn must stay a power of two, which keeps the balance
        properties of the sequence."""
        n = 2 ** m
        total_n = self.num_generated + n
        if total_n & (total_n - 1) != 0:
            raise ValueError("The balance properties of Sobol' points require n to be a power of 2. "
                             f"{self.num_generated} points have been previously generated, then: "
                             f"n={self.num_generated}+2**{m}={total_n}. "
                             "If you still want to do this, please use 'SobolEngine.draw()' instead.")
        return self.draw(n=n, out=out, dtype=dtype)

    def reset(self) -> SobolEngine:
        """Back to the first point."""
        self.num_generated = 0
        return self

    def fast_forward(self, n: int) -> SobolEngine:
        """Skip ``n`` points, as drawing them would."""
        if n < 0:
            raise ValueError(f"SobolEngine.fast_forward: n must be non-negative (got {n})")
        self.num_generated += n
        return self

    def __repr__(self) -> str:
        parts = [f"dimension={self.dimension}"] + ["scramble=True"] * bool(self.scramble)
        parts += [f"seed={self.seed}"] if self.seed is not None else []
        return f"{type(self).__name__}({', '.join(parts)})"
