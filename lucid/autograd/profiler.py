"""``lucid.autograd.profiler``: ``torch.autograd.profiler``'s names as no-ops. lucid does not profile.

They exist so that programs which wrap their loops in ``profile()`` / ``record_function(...)`` /
``emit_nvtx()`` run unchanged; no event is recorded, the tables say so, and an exported trace is a valid
Chrome trace with no events. To profile lucid, use Python's ``cProfile`` or ``py-spy`` (the time is in
lucid's Python and in NumPy / CuPy calls) and, on a GPU, CuPy's profiler (``cupyx.profiler.benchmark``,
``cupyx.profiler.time_range`` for NVTX ranges seen by Nsight Systems).
"""

from __future__ import annotations

import contextlib
import gzip
import json

__all__ = ["profile", "record_function", "emit_nvtx", "emit_itt", "EventList"]

_NO_EVENTS = ("lucid records no profiler events: lucid.profiler and lucid.autograd.profiler are no-ops so that "
             "programs using them run. Profile with cProfile or py-spy, or on a GPU with CuPy's profiler "
             "(cupyx.profiler).")


class EventList(list):
    """The (always empty) list of recorded events, with ``table()`` and ``export_chrome_trace()`` as
    PyTorch's ``EventList``."""

    def table(self, sort_by=None, row_limit: int = 100, max_src_column_width: int = 75,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80, header=None,
              top_level_events_only: bool = False, **kwargs) -> str:
        """A text saying that lucid recorded no events (the arguments are accepted and change nothing)."""
        return _NO_EVENTS if header is None else f"{header}\n{_NO_EVENTS}"

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0, **kwargs) -> EventList:
        """The events averaged by name: an empty EventList."""
        return EventList()

    def total_average(self):
        """PyTorch's average over all events; lucid has none: None."""
        return None

    def export_chrome_trace(self, path: str) -> None:
        """Write a Chrome trace with no events to ``path``."""
        _write_chrome_trace(path)

    def __str__(self) -> str:
        return self.table()


def _write_chrome_trace(path: str, metadata: dict | None = None) -> None:
    """A valid Chrome / Perfetto trace (``{"traceEvents": [], ...}``) with no events, gzipped when ``path``
    ends in ``.gz`` (as PyTorch's export)."""
    trace = {"traceEvents": [], "displayTimeUnit": "ms", "otherData": {"note": _NO_EVENTS, **(metadata or {})}}
    text = json.dumps(trace)
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


class profile:
    """``torch.autograd.profiler.profile`` as a no-op context manager: every option is accepted and ignored;
    ``function_events`` is empty and ``table()`` says that lucid records nothing."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None, record_shapes: bool = False,
                 with_flops: bool = False, profile_memory: bool = False, with_stack: bool = False,
                 with_modules: bool = False, use_kineto: bool = False, use_cpu: bool = True,
                 experimental_config=None, acc_events: bool = False, custom_trace_id_callback=None) -> None:
        self.enabled = enabled
        self.function_events = EventList()
        self.entered = False

    def __enter__(self) -> profile:
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        return self

    def __exit__(self, *exc) -> None:
        self.entered = False

    def events(self) -> EventList:
        """The recorded events: none."""
        return self.function_events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0, **kwargs) -> EventList:
        """The events averaged by name: an empty EventList (its ``table()`` says why)."""
        return EventList()

    def table(self, *args, **kwargs) -> str:
        """A text saying that lucid records no events."""
        return self.function_events.table(*args, **kwargs)

    def total_average(self):
        """None: there are no events to average."""
        return None

    def export_chrome_trace(self, path: str) -> None:
        """Write a Chrome trace with no events to ``path``."""
        _write_chrome_trace(path)

    @property
    def self_cpu_time_total(self) -> float:
        """0.0: nothing is timed."""
        return 0.0

    def __str__(self) -> str:
        return self.table()


class record_function(contextlib.ContextDecorator):
    """``record_function(name)``: a labelled range in PyTorch's profiler; in lucid a no-op context manager that
    also works as a decorator."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self.args = args

    def __enter__(self) -> record_function:
        return self

    def __exit__(self, *exc) -> bool:
        return False


class emit_nvtx(contextlib.ContextDecorator):
    """``torch.autograd.profiler.emit_nvtx``: a no-op context manager (lucid emits no NVTX ranges of its own;
    ``cupyx.profiler.time_range`` adds them on a GPU)."""

    def __init__(self, enabled: bool = True, record_shapes: bool = False) -> None:
        self.enabled = enabled

    def __enter__(self) -> emit_nvtx:
        return self

    def __exit__(self, *exc) -> bool:
        return False


class emit_itt(emit_nvtx):
    """``torch.autograd.profiler.emit_itt`` (Intel VTune ranges): a no-op context manager."""
