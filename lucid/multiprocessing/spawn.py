"""``spawn(fn, args, nprocs)``: run ``fn(i, *args)`` in ``nprocs`` new processes and wait for them, as
``torch.multiprocessing.spawn``: the first process to fail stops the others, and its exception's traceback
(or its exit code or signal) is raised in the parent."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import tempfile
import time
import traceback
import warnings

__all__ = ["ProcessContext", "ProcessException", "ProcessRaisedException", "ProcessExitedException", "spawn",
           "start_processes"]


class ProcessException(Exception):
    """A process started by :func:`spawn` failed: ``error_index`` is its index, ``error_pid`` its pid."""

    def __init__(self, msg: str, error_index: int, error_pid: int):
        super().__init__(msg)
        self.msg, self.error_index, self.error_pid = msg, error_index, error_pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid)


class ProcessRaisedException(ProcessException):
    """The process raised an exception; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """The process exited with a non-zero code (``exit_code``) or was killed by a signal (``signal_name``)."""

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int, signal_name: str | None = None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code, self.signal_name = exit_code, signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid, self.exit_code, self.signal_name)


def _wrap(fn, i, args, error_file) -> None:
    """A process's entry point: ``fn(i, *args)``; an exception's traceback goes to ``error_file`` for the parent."""
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass  # the parent stopped this process
    except Exception:
        with open(error_file, "wb") as fh:
            pickle.dump(traceback.format_exc(), fh)
        sys.exit(1)


class ProcessContext:
    """The processes :func:`spawn` started (``join=False``): ``join()`` until it returns True; ``pids()``."""

    def __init__(self, processes, error_files):
        self.error_files, self.processes = error_files, processes
        self.sentinels = {process.sentinel: index for index, process in enumerate(processes)}

    def pids(self) -> list[int]:
        return [int(process.pid) for process in self.processes]

    def join(self, timeout: float | None = None, grace_period: float | None = None) -> bool:
        """Wait (up to ``timeout`` seconds) for a process to end. True once all ended well, False while some
        run; when one failed, stop the others (after ``grace_period`` seconds, SIGTERM, then SIGKILL) and raise
        :class:`ProcessRaisedException` with its traceback or :class:`ProcessExitedException`."""
        if not self.sentinels:
            return True
        error_index = None
        for sentinel in multiprocessing.connection.wait(self.sentinels.keys(), timeout=timeout):
            index = self.sentinels.pop(sentinel)
            self.processes[index].join()
            if self.processes[index].exitcode != 0:
                error_index = index
                break
        if error_index is None:
            return not self.sentinels
        self._stop_all(grace_period)
        failed = self.processes[error_index]
        if not os.access(self.error_files[error_index], os.R_OK):
            code = failed.exitcode
            if code < 0:
                try:
                    name = signal.Signals(-code).name
                except ValueError:
                    name = f"<Unknown signal {-code}>"
                raise ProcessExitedException(f"process {error_index:d} terminated with signal {name}",
                                             error_index, failed.pid, code, name)
            raise ProcessExitedException(f"process {error_index:d} terminated with exit code {code:d}",
                                         error_index, failed.pid, code)
        with open(self.error_files[error_index], "rb") as fh:
            original_trace = pickle.load(fh)
        os.unlink(self.error_files[error_index])
        raise ProcessRaisedException(f"\n\n-- Process {error_index:d} terminated with the following error:\n"
                                     f"{original_trace}", error_index, failed.pid)

    def _stop_all(self, grace_period) -> None:
        """Give the other processes ``grace_period`` seconds to end, then SIGTERM them, wait as long again (30 s
        without a grace period), then SIGKILL what is left."""
        if grace_period is not None:
            self._join_all(grace_period)
        self._signal_alive("terminate")
        self._join_all(30 if grace_period is None else grace_period)
        self._signal_alive("kill")
        self._join_all(None)

    def _signal_alive(self, how: str) -> None:
        for process in self.processes:
            if process.is_alive():
                getattr(process, how)()

    def _join_all(self, timeout) -> None:
        end = None if timeout is None else time.monotonic() + timeout
        for process in self.processes:
            process.join(None if end is None else max(0.0, end - time.monotonic()))


def start_processes(fn, args=(), nprocs: int = 1, join: bool = True, daemon: bool = False,
                    start_method: str = "spawn"):
    """:func:`spawn` with any start method (``"spawn"``, ``"fork"``, ``"forkserver"``)."""
    mp = multiprocessing.get_context(start_method)
    processes, error_files = [], []
    for i in range(nprocs):
        # a process that raises writes its traceback here; the file exists only then
        fd, error_file = tempfile.mkstemp(prefix="lucid-errorfile-", suffix=".pickle")
        os.close(fd)
        os.unlink(error_file)
        process = mp.Process(target=_wrap, args=(fn, i, args, error_file), daemon=daemon)
        process.start()
        processes.append(process)
        error_files.append(error_file)
    context = ProcessContext(processes, error_files)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(fn, args=(), nprocs: int = 1, join: bool = True, daemon: bool = False, start_method: str = "spawn"):
    """Run ``fn(i, *args)`` for ``i`` in ``range(nprocs)``, each in a new process started with ``spawn`` (``fn``
    must be importable: defined at a module's top level). ``join=True`` waits for all and raises as
    :meth:`ProcessContext.join` when one fails; ``join=False`` returns the :class:`ProcessContext`.
    ``start_method`` other than ``"spawn"`` warns and is ignored, as in PyTorch (use :func:`start_processes`)."""
    if start_method != "spawn":
        warnings.warn(f"This method only supports start_method=spawn (got: {start_method}).\nTo use a different "
                      f"start_method use:\n\t\t lucid.multiprocessing.start_processes(...)", FutureWarning,
                      stacklevel=2)
    return start_processes(fn, args, nprocs, join, daemon, start_method="spawn")
