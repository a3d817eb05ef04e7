"""``lucid.utils.benchmark``: ``torch.utils.benchmark``'s :class:`Timer` and :class:`Measurement` for timing
lucid code from Python: ``Timer("a @ b", globals={"a": a, "b": b}).blocked_autorange()``.

Time is wall-clock time from :func:`time.perf_counter` (``timeit.default_timer``); with a usable GPU the default
timer first waits for the GPU's queued work (:func:`lucid.cuda.synchronize`), as PyTorch's does, so kernels are
counted where they run rather than where they are queued. Statistics use linear interpolation between order
statistics (PyTorch's ``quantile``). ``num_threads`` is recorded, not applied (see :mod:`lucid._settings`).
"""

from __future__ import annotations

import statistics
import sys
import timeit as _timeit

__all__ = ["Timer", "Measurement"]

_IQR_WARN_THRESHOLD = 0.1  # PyTorch's: an IQR above 10% of the median is worth a warning line in the repr


def _quantile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of the sorted, non-empty ``ordered`` (linear interpolation, as ``torch.quantile``)."""
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _unit(seconds: float) -> tuple[str, float]:
    """The time unit to print ``seconds`` in, and its size in seconds."""
    for name, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return name, scale
    return "ns", 1e-9


class Measurement:
    """One or more timings of a statement: ``raw_times`` are seconds per block of ``number_per_run`` runs;
    :attr:`times`, :attr:`mean`, :attr:`median` and :attr:`iqr` are per run, as PyTorch's."""

    def __init__(self, number_per_run: int, raw_times: list[float], stmt: str = "", label=None, sub_label=None,
                 description=None, env=None, num_threads: int = 1, metadata=None):
        self.number_per_run, self.raw_times = number_per_run, list(raw_times)
        self.stmt, self.label, self.sub_label, self.description = stmt, label, sub_label, description
        self.env, self.num_threads, self.metadata = env, num_threads, metadata

    @property
    def times(self) -> list[float]:
        """Seconds per run of each block."""
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times)

    @property
    def median(self) -> float:
        return _quantile(sorted(self.times), 0.5)

    @property
    def iqr(self) -> float:
        """The interquartile range: 75th minus 25th percentile of :attr:`times`."""
        ordered = sorted(self.times)
        return _quantile(ordered, 0.75) - _quantile(ordered, 0.25)

    def meets_confidence(self, threshold: float = _IQR_WARN_THRESHOLD) -> bool:
        """Whether the IQR is below ``threshold`` times the median."""
        return self.iqr / self.median < threshold

    @property
    def has_warnings(self) -> bool:
        return not self.meets_confidence()

    @property
    def title(self) -> str:
        return " ".join(str(p) for p in (self.label, self.sub_label, self.description) if p) or self.stmt

    def __repr__(self) -> str:
        unit, scale = _unit(self.median)
        ordered = sorted(self.times)
        lines = [f"<{type(self).__module__}.Measurement object at {hex(id(self))}>", self.title,
                 f"  Median: {self.median / scale:.2f} {unit}"]
        if len(ordered) >= 4:
            lines.append(f"  IQR:    {self.iqr / scale:.2f} {unit} ({_quantile(ordered, 0.25) / scale:.2f} to "
                         f"{_quantile(ordered, 0.75) / scale:.2f})")
        threads = "thread" if self.num_threads == 1 else "threads"
        lines.append(f"  {len(self.raw_times)} measurement{'s' * (len(self.raw_times) != 1)}, "
                     f"{self.number_per_run} runs per measurement, {self.num_threads} {threads}")
        return "\n".join(lines)


def _synchronized_timer() -> float:
    """``perf_counter`` after the GPU's queued work is done (no wait without a GPU)."""
    from .. import cuda

    cuda.synchronize()
    return _timeit.default_timer()


class Timer:
    """Times ``stmt`` (Python source or a callable) after ``setup`` runs once, in a namespace holding ``globals``
    and ``lucid`` (``torch`` as well while the drop-in runner has ``import torch`` resolve to lucid)."""

    def __init__(self, stmt="pass", setup="pass", global_setup: str = "", timer=_timeit.default_timer, globals=None,
                 label=None, sub_label=None, description=None, env=None, num_threads: int = 1,
                 language: str = "python"):
        if str(language).lower().rsplit(".", 1)[-1] not in ("python", "py"):
            raise ValueError(f"lucid.utils.benchmark.Timer times Python statements only, not language={language!r}")
        from .. import cuda

        namespace = dict(globals or {})
        for name in ("lucid", "torch"):  # the imported package(s): "torch" is lucid under the drop-in runner
            if name in sys.modules:
                namespace.setdefault(name, sys.modules[name])
        if timer is _timeit.default_timer and cuda.is_available():
            timer = _synchronized_timer
        setup = f"{global_setup}\n{setup}" if global_setup and isinstance(setup, str) else setup
        self._timer = _timeit.Timer(stmt=stmt, setup=setup, timer=timer, globals=namespace)
        self._spec = {"stmt": stmt if isinstance(stmt, str) else getattr(stmt, "__name__", repr(stmt)),
                      "label": label, "sub_label": sub_label, "description": description, "env": env,
                      "num_threads": num_threads}

    def _measure(self, number: int) -> float:
        return self._timer.timeit(number)

    def timeit(self, number: int = 1000000) -> Measurement:
        """One block of ``number`` runs (after a warm-up of ``number // 100``, at least 2), as PyTorch's."""
        self._measure(max(number // 100, 2))
        return Measurement(number, [self._measure(number)], **self._spec)

    def _block_size(self, min_run_time: float) -> int:
        """Runs per block: grown tenfold until the timer's own overhead is under 0.01% of a block and a block
        takes a thousandth of ``min_run_time`` (or the whole of it), PyTorch's rule."""
        overhead = statistics.median(self._measure(0) for _ in range(5))
        number = 1
        while True:
            took = self._measure(number)
            if (overhead / took <= 1e-4 and took >= min_run_time / 1000) or took > min_run_time \
                    or number * 10 > 2147483647:
                return number
            number *= 10

    def blocked_autorange(self, callback=None, min_run_time: float = 0.2) -> Measurement:
        """Blocks of runs (sized by :meth:`_block_size`) until ``min_run_time`` seconds have been measured;
        ``callback(number, seconds)`` is called after each block."""
        number = self._block_size(min_run_time)
        times, total = [], 0.0
        while total < min_run_time or not times:
            took = self._measure(number)
            times.append(took)
            total += took
            if callback is not None:
                callback(number, took)
        return Measurement(number, times, **self._spec)
