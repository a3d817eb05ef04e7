"""PyTorch's CPU random numbers: its generator (a Mersenne Twister, MT19937, seeded as PyTorch seeds it) and the
ways its CPU kernels turn the generator's 32-bit words into numbers, so that a program seeded with
``lucid.manual_seed(s)`` draws what one seeded with ``torch.manual_seed(s)`` draws: the same initial weights,
dropout masks, shuffles.

Bit for bit: uniform draws of every float dtype, integers, permutations, float64 normals, gamma and Poisson
draws, and what is built on uniform float64 draws (Bernoulli, exponential). float32 normals of 16 or more elements come
from PyTorch's vectorised kernel, whose SLEEF log/sin/cos NumPy's float32 functions match to an ulp or so.
float16/bfloat16 normals whose count (16 or more) is not a multiple of 16 differ from PyTorch's in the last 16.
Binomial draws use NumPy's algorithm on a NumPy generator seeded from this stream (deterministic, but not
PyTorch's numbers). PyTorch's Intel-only MKL paths (Bernoulli on Intel CPUs) draw differently from its
own portable kernels that lucid follows.
"""

from __future__ import annotations

import json
import math

import numpy as np

from .arrays import fused_multiply_add

_LOW32 = 0xFFFFFFFF
_DIGITS = {"float16": 24, "bfloat16": 24, "float32": 24, "float64": 53}  # bits per uniform (half types: float's)


def _apply_swaps(steps: np.ndarray, n: int) -> np.ndarray:
    """``arange(n)`` after swapping position ``i`` with ``i + steps[i]`` for ``i = 0, 1, ...`` in turn, in whole-array
    passes. Step ``i`` writes into its target the value position ``i`` held just before it, and position ``i`` is
    final from then on; that value is the one the last earlier step targeting ``i`` wrote (or ``i`` itself), so
    following those links back to a position never targeted before gives it (pointer jumping, log n passes)."""
    index = np.arange(n)
    target = index.copy()
    target[: n - 1] += steps
    by_target = np.lexsort((index, target))  # steps grouped by target, each group in step order
    grouped = target[by_target]
    repeat = grouped[1:] == grouped[:-1]
    earlier = np.full(n, -1)  # the previous step with the same target
    earlier[by_target[1:][repeat]] = by_target[:-1][repeat]
    ends = np.r_[~repeat, True]
    last = np.full(n, -1)  # the last step targeting each position
    last[grouped[ends]] = by_target[ends]
    before = np.where(last == index, earlier, last)  # the last step before i that targeted position i
    held = np.where(before < 0, index, before)  # followed back to a position's own starting value
    while True:
        jumped = held[held]
        if np.array_equal(jumped, held):
            break
        held = jumped
    moved_in = np.where(earlier >= 0, held[np.maximum(earlier, 0)], target)  # what the target held at step i
    return np.where(target == index, held, moved_in)


def _box_muller_16(u: np.ndarray) -> np.ndarray:
    """PyTorch's ``normal_fill_16`` on rows of 16 uniforms, in place and in their dtype (float32 for the
    float32 kernel, as PyTorch's, whose SLEEF functions NumPy's match to an ulp): the first 8 of each row give
    the radii, the last 8 the angles."""
    one = u.dtype.type(1)
    radius = np.sqrt(np.log(one - u[:, :8]) * u.dtype.type(-2))
    theta = u[:, 8:] * u.dtype.type(2 * math.pi)
    np.multiply(radius, np.sin(theta), out=u[:, 8:])
    np.multiply(radius, np.cos(theta), out=u[:, :8])
    return u


class TorchGenerator:
    """A generator that draws PyTorch's CPU stream for ``seed``: ``draw`` gives the numbers of PyTorch's
    ``uniform_``, ``normal_``, ``random_(from, to)`` and ``randperm`` kernels."""

    def __init__(self, seed: int):
        self._mt = np.random.MT19937()
        self._mt._legacy_seeding(seed & _LOW32)  # PyTorch keeps the seed's low 32 bits, then MT19937's init_genrand
        self._normal = None  # the second value of the last one-at-a-time Box-Muller pair, which PyTorch keeps too

    # ---- the raw stream -----------------------------------------------------------------------------
    def words(self, n: int) -> np.ndarray:
        """The next ``n`` 32-bit words (uint64 array)."""
        return self._mt.random_raw(n)

    def words64(self, n: int) -> np.ndarray:
        """The next ``n`` 64-bit numbers, each two words, the first the high half (PyTorch's ``random64``)."""
        w = self.words(2 * n)
        return (w[0::2] << np.uint64(32)) | w[1::2]

    def unit(self, n: int, np_dtype) -> np.ndarray:
        """``n`` uniform numbers in [0, 1), made as PyTorch's ``uniform_real_distribution`` of ``np_dtype`` makes
        them: the low 24 bits of a word as float32 (exact), or 53 bits of two words as float64 for float64."""
        if _DIGITS[np.dtype(np_dtype).name] == 53:
            return (self.words64(n) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0**-53
        return (self.words(n) & np.uint64((1 << 24) - 1)).astype(np.float32) * np.float32(2.0**-24)

    def _scalar_normal(self) -> float:
        """One standard normal from PyTorch's ``normal_distribution<double>``: a Box-Muller pair from two float64
        uniforms, the second value kept for the next call."""
        if self._normal is not None:
            value, self._normal = self._normal, None
            return value
        u1, u2 = self.unit(2, np.float64)
        radius = math.sqrt(-2.0 * math.log1p(-u2))
        self._normal = radius * math.sin(2.0 * math.pi * u1)
        return radius * math.cos(2.0 * math.pi * u1)

    # ---- PyTorch's kernels --------------------------------------------------------------------------------
    def uniform(self, shape, np_dtype, low=0.0, high=1.0) -> np.ndarray:
        """``uniform_(low, high)``: ``x * (high - low) + low`` with the bounds in the dtype, computed as one fused
        multiply-add in float32 (float64 for float64), as PyTorch's compiled kernel does."""
        n = math.prod(shape)
        x = self.unit(n, np_dtype)
        if (low, high) != (0.0, 1.0):
            acc = np.float64 if np.dtype(np_dtype) == np.float64 else np.float32
            lo, hi = (acc(np.asarray(v, dtype=np_dtype)) for v in (low, high))
            if acc is np.float64:
                x = fused_multiply_add(x, float(hi - lo), float(lo))
            else:  # a float32 product is exact in float64, so one float64 sum rounded to float32 is the FMA
                x = (x * np.float64(acc(hi - lo)) + np.float64(lo)).astype(acc)
        return x.astype(np_dtype).reshape(shape)

    def normal(self, shape, np_dtype, mean=0.0, std=1.0, contiguous: bool = True) -> np.ndarray:
        """``normal_(mean, std)``: 16 or more elements of a ``contiguous`` tensor are filled with uniforms of the
        dtype and transformed 16 at a time (the last 16 redrawn when the count is not a multiple of 16); fewer, or
        those of a non-contiguous tensor, are drawn one at a time (float64), as PyTorch's kernel chooses."""
        n = math.prod(shape)
        if n >= 16 and contiguous:
            work = np.float64 if np.dtype(np_dtype) == np.float64 else np.float32
            out = self.unit(n, np_dtype).astype(work)
            full = n - n % 16
            _box_muller_16(out[:full].reshape(-1, 16))
            if full != n:
                out[n - 16:] = _box_muller_16(self.unit(16, np_dtype).astype(work).reshape(1, 16)).reshape(-1)
        else:
            out = np.array([self._scalar_normal() for _ in range(n)], dtype=np.float64)
        if (mean, std) != (0.0, 1.0):
            out = out * std + mean
        return out.astype(np_dtype).reshape(shape)

    def integers(self, shape, np_dtype, low: int, high: int) -> np.ndarray:
        """``random_(low, high)``: a word (a 64-bit number when the range needs 32 bits or more) modulo the range,
        plus ``low``."""
        span = high - low
        n = math.prod(shape)
        bits = self.words64(n) if span >= 1 << 32 else self.words(n)
        return ((bits % np.uint64(span)).astype(np.int64) + low).astype(np_dtype).reshape(shape)

    def permutation(self, n: int, np_dtype) -> np.ndarray:
        """``randperm(n)``: position ``i`` swapped with ``i + word % (n - i)``, for ``i`` from the first on; the
        swaps are resolved without a Python loop (see :func:`_apply_swaps`)."""
        if n < 2:
            return np.arange(n, dtype=np_dtype)
        steps = (self.words(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).astype(np.int64)
        return _apply_swaps(steps, n).astype(np_dtype)

    def gamma(self, alpha: np.ndarray, np_dtype) -> np.ndarray:
        """``torch._standard_gamma(alpha)``: Marsaglia and Tsang's method element by element in memory order, as
        PyTorch's CPU kernel, with its float64 uniforms and kept-pair normals and its float32 constants (``alpha``
        itself and ``alpha - 1/3`` are computed in the dtype, float32 for the half types)."""
        real = np.float64 if np.dtype(np_dtype) == np.float64 else np.float32
        third, squeeze = real(np.float32(1) / np.float32(3)), float(np.float32(0.0331))
        out = np.empty(alpha.shape, dtype=np.float64)
        flat = out.reshape(-1)
        for i, a in enumerate(np.asarray(alpha, dtype=real).reshape(-1).tolist()):
            a, scale = real(a), 1.0
            if a == 0:
                flat[i] = 0.0
                continue
            if a < 1:  # boosted: Gamma(a + 1) * U ** (1 / a)
                scale = (1.0 - self.unit(1, np.float64)[0]) ** float(real(1) / a)
                a = real(a + real(1))
            d = float(real(a - third))
            c = 1.0 / math.sqrt(9.0 * d)
            while True:
                x = self._scalar_normal()
                y = 1.0 + c * x
                if y <= 0:
                    continue
                v, u, xx = y * y * y, 1.0 - self.unit(1, np.float64)[0], x * x
                if u < 1.0 - squeeze * xx * xx or math.log(u) < 0.5 * xx + d * (1.0 - v + math.log(v)):
                    flat[i] = scale * d * v
                    break
        return out.astype(np_dtype)

    def poisson(self, lam: np.ndarray, np_dtype) -> np.ndarray:
        """``torch.poisson(lam)``: PyTorch's CPU sampler element by element in memory order, from float64 uniforms:
        Hormann's transformed rejection (1993) for rates of 10 or more, multiplied uniforms below."""
        out = np.empty(lam.shape, dtype=np.float64)
        flat = out.reshape(-1)
        for i, rate in enumerate(np.asarray(lam, dtype=np.float64).reshape(-1).tolist()):
            flat[i] = self._poisson(rate)
        return out.astype(np_dtype)

    def _poisson(self, rate: float) -> int:
        if rate == 0:
            return 0
        if rate < 10:  # count uniforms while their product stays above exp(-rate)
            floor, product, count = math.exp(-rate), self.unit(1, np.float64)[0], 0
            while product > floor:
                count += 1
                product *= self.unit(1, np.float64)[0]
            return count
        root, log_rate = math.sqrt(rate), math.log(rate)
        b = 0.931 + 2.53 * root
        a = -0.059 + 0.02483 * b
        inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
        v_r = 0.9277 - 3.6224 / (b - 2)
        while True:
            u = self.unit(1, np.float64)[0] - 0.5
            v = self.unit(1, np.float64)[0]
            us = 0.5 - abs(u)
            k = math.floor((2 * a / us + b) * u + rate + 0.43)
            if us >= 0.07 and v <= v_r:
                return k
            if k < 0 or (us < 0.013 and v > us):
                continue
            if (math.log(v) + math.log(inv_alpha) - math.log(a / (us * us) + b)
                    <= -rate + k * log_rate - math.lgamma(k + 1)):
                return k

    def numpy_generator(self) -> np.random.Generator:
        """A NumPy generator seeded from the next 64 bits of the stream, for the draws PyTorch's kernels do not
        define here (binomial)."""
        return np.random.default_rng(int(self.words64(1)[0]))

    # ---- saving and restoring -------------------------------------------------------------------------
    def state(self) -> bytes:
        """The Mersenne Twister's words and position and the kept normal, as JSON bytes."""
        mt = self._mt.state["state"]
        return json.dumps({"key": mt["key"].tolist(), "pos": int(mt["pos"]), "normal": self._normal}).encode()

    def set_state(self, state: bytes) -> None:
        """Back to a :meth:`state`; ValueError, with this generator unchanged, when ``state`` is not one."""
        try:
            data = json.loads(bytes(state).decode())
            key = np.asarray(data["key"], dtype=np.uint32)
            pos, normal = int(data["pos"]), data["normal"]
            if key.shape != (624,) or not 0 <= pos <= 624 or not (normal is None or isinstance(normal, float)):
                raise ValueError("not a Mersenne Twister state of 624 words, a position and a kept normal")
        except (KeyError, TypeError, ValueError, UnicodeDecodeError) as e:
            raise ValueError(f"{type(e).__name__}: {e}") from None
        self._mt.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}
        self._normal = normal
