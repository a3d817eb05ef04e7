"""``lucid.profiler``: ``torch.profiler``'s API as no-ops. lucid does not profile.

These names exist so that programs which wrap their training loops in ``profile(...)``, call
``prof.step()``, label code with ``record_function`` or pass ``schedule`` / ``tensorboard_trace_handler``
run unchanged. No event is recorded: ``key_averages().table()`` says so, and ``export_chrome_trace`` writes
a valid Chrome trace with no events. To profile lucid, use Python's ``cProfile`` or ``py-spy`` (the time is
in lucid's Python and in NumPy / CuPy calls) and, on a GPU, CuPy's profiler (``cupyx.profiler``).

What lucid chose where PyTorch's behaviour depends on recorded data: the ``schedule`` is followed, so
``on_trace_ready`` is called when PyTorch would call it (at the end of each active cycle, or at ``stop()``
without a schedule) and ``tensorboard_trace_handler`` writes its (empty) ``.pt.trace.json`` files there.
"""

from __future__ import annotations

import enum
import gzip
import os
import socket
import time
import warnings

from .autograd.profiler import _NO_EVENTS, EventList, _write_chrome_trace, record_function

__all__ = ["profile", "record_function", "ProfilerActivity", "ProfilerAction", "schedule",
           "tensorboard_trace_handler", "supported_activities"]


class ProfilerActivity(enum.Enum):
    """The kinds of activity PyTorch's profiler can trace (accepted, nothing is traced)."""

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    """What the profiler does in a step, as a ``schedule`` returns it."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities() -> set:
    """``{CPU}``, and ``CUDA`` when lucid sees a GPU (what a PyTorch program would ask to trace)."""
    from . import cuda

    return {ProfilerActivity.CPU, ProfilerActivity.CUDA} if cuda.is_available() else {ProfilerActivity.CPU}


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """PyTorch's step schedule: skip ``skip_first`` steps, then cycles of ``wait`` idle, ``warmup`` and
    ``active`` steps (the last of them ``RECORD_AND_SAVE``), ``repeat`` times (0: for ever). Returns
    ``step -> ProfilerAction``, exactly as PyTorch's."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
                             f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
                             f"skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait != 0:
            step += wait
        num_steps = wait + warmup + active
        if repeat > 0 and step / num_steps >= repeat:
            return ProfilerAction.NONE
        mod_step = step % num_steps
        if mod_step < wait:
            return ProfilerAction.NONE
        if mod_step < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod_step < num_steps - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _default_schedule(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None, use_gzip: bool = False,
                              use_python_export: bool = False):
    """An ``on_trace_ready`` callback that writes ``<worker_name>.<ns>.pt.trace.json[.gz]`` into ``dir_name``
    (created if missing), as PyTorch's; lucid's trace has no events."""

    def handler_fn(prof) -> None:
        nonlocal worker_name
        try:
            os.makedirs(dir_name, exist_ok=True)
        except Exception as e:
            raise RuntimeError("Can't create directory: " + dir_name) from e
        if not worker_name:
            worker_name = f"{socket.gethostname()}_{os.getpid()}"
        file_name = f"{worker_name}.{time.time_ns()}.pt.trace.json" + (".gz" if use_gzip else "")
        prof.export_chrome_trace(os.path.join(dir_name, file_name))

    return handler_fn


class profile:
    """``torch.profiler.profile`` as a no-op: a context manager (or ``start()`` / ``stop()``) whose ``step()``
    advances ``step_num`` through the ``schedule`` and calls ``on_trace_ready(self)`` where PyTorch would.
    Every other option is accepted and ignored; nothing is recorded."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False, with_flops: bool = False,
                 with_modules: bool = False, experimental_config=None, execution_trace_observer=None,
                 acc_events: bool = False, use_cuda: bool | None = None, custom_trace_id_callback=None,
                 **kwargs) -> None:
        if use_cuda is not None:
            warnings.warn("`use_cuda` is deprecated, use `activities` argument instead", FutureWarning,
                          stacklevel=2)
        self.activities = set(activities) if activities is not None else supported_activities()
        self.schedule = schedule if schedule else _default_schedule
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.current_action = self.schedule(self.step_num)
        self.metadata: dict = {}
        self.profiler = None  # PyTorch's underlying legacy profiler; lucid has none

    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Start the (no-op) profiling."""

    def stop(self) -> None:
        """Stop it; ``on_trace_ready`` runs if the current step was being recorded (as PyTorch)."""
        if self.current_action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            self._trace_ready()

    def step(self) -> None:
        """Signal that the next step begins: ``step_num`` advances and, after the last active step of a
        cycle, ``on_trace_ready`` runs."""
        previous = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        if previous == ProfilerAction.RECORD and self.current_action in (ProfilerAction.NONE, ProfilerAction.WARMUP):
            warnings.warn(f"Incorrect schedule: RECORD followed by {self.current_action.name}", stacklevel=2)
        if previous == ProfilerAction.RECORD_AND_SAVE:
            self._trace_ready()

    def _trace_ready(self) -> None:
        if self.on_trace_ready:
            self.on_trace_ready(self)

    def events(self) -> EventList:
        """The recorded events: none."""
        return EventList()

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0, **kwargs) -> EventList:
        """An empty EventList whose ``table(sort_by=..., row_limit=...)`` says that lucid records no events."""
        return EventList()

    def export_chrome_trace(self, path: str) -> None:
        """Write a valid Chrome trace with no events to ``path`` (gzipped when it ends in ``.gz``), with the
        metadata added by ``add_metadata``."""
        _write_chrome_trace(path, self.metadata)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        """Write the (empty) stack samples file."""
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "wt", encoding="utf-8"):
            pass

    def add_metadata(self, key: str, value: str) -> None:
        """Store a key/value pair in the exported trace's ``otherData``."""
        self.metadata[key] = value

    def add_metadata_json(self, key: str, value: str) -> None:
        """As :meth:`add_metadata` (the value is a JSON string)."""
        self.metadata[key] = value

    def __str__(self) -> str:
        return _NO_EVENTS
