"""``lucid.futures``: ``torch.futures``' :class:`Future`, a result that becomes available later (from another
thread, or a collective in flight), with callbacks chained on it, and :func:`collect_all` / :func:`wait_all`."""

from __future__ import annotations

import logging
import threading
from typing import Generic, TypeVar

__all__ = ["Future", "collect_all", "wait_all"]

T = TypeVar("T")
_log = logging.getLogger(__name__)


class Future(Generic[T]):
    """A value or an exception set once by :meth:`set_result` / :meth:`set_exception`; :meth:`wait` blocks
    until then. Callbacks run in the thread that completes the future, at once when it is already complete.
    ``devices`` is accepted for PyTorch's signature: lucid's CUDA work is ordered on its streams already."""

    def __init__(self, *, devices=None):
        self._cond = threading.Condition()
        self._done = False
        self._result = None
        self._exception = None
        self._callbacks = []

    def done(self) -> bool:
        """Whether a result or an exception is set (a callback may still be running)."""
        return self._done

    def wait(self) -> T:
        """Block until the future completes; its value, or its exception raised."""
        self._drive()
        with self._cond:
            self._cond.wait_for(lambda: self._done)
        return self.value()

    def value(self) -> T:
        """The value of a completed future (its exception raised); RuntimeError while it is not complete."""
        if not self._done:
            raise RuntimeError("Future.value() was called before the future completed: call wait(), or read the "
                               "value inside a callback of then()/add_done_callback()")
        if self._exception is not None:
            raise self._exception
        return self._result

    def then(self, callback) -> Future:
        """A new future holding ``callback(self)`` once this one completes; if the callback raises (reading
        ``value()`` of a failed future does), the new future fails with a RuntimeError that says so, as PyTorch."""
        chained = self._successor()

        def run(parent):
            try:
                result = callback(parent)
            except Exception as e:
                error = RuntimeError(f"Got the following error when running the callback: {type(e).__name__}: {e}")
                error.__cause__ = e
                chained.set_exception(error)
            else:
                chained.set_result(result)

        self.add_done_callback(run)
        return chained

    def _drive(self) -> None:
        """Make progress towards completion before :meth:`wait` blocks: nothing for a future that others complete;
        a subclass whose completion only a waiter can bring about (a collective's Work) does it here."""

    def _successor(self) -> Future:
        """The empty future that :meth:`then` completes (a subclass that must be driven to completion gives one
        driven the same way)."""
        return Future()

    def add_done_callback(self, callback) -> None:
        """Run ``callback(self)`` when the future completes; what it raises is logged, not propagated (PyTorch's
        rule: nothing is waiting for it). Use :meth:`then` for a callback whose result or error matters."""
        with self._cond:
            if not self._done:
                self._callbacks.append(callback)
                return
        self._invoke(callback)

    def set_result(self, result: T) -> None:
        """Complete the future with ``result``: wakes :meth:`wait` and runs the callbacks."""
        self._complete(result, None)

    def set_exception(self, result: Exception) -> None:
        """Complete the future with an exception that :meth:`wait` and :meth:`value` raise. A non-exception is a
        TypeError here (PyTorch asserts)."""
        if not isinstance(result, Exception):
            raise TypeError(f"{result!r} is of type {type(result)}, not an Exception.")
        self._complete(None, result)

    def _complete(self, result, exception) -> None:
        with self._cond:
            if self._done:
                raise RuntimeError("Attempting to mark a completed Future as complete again. Note that a Future can "
                                   "only be marked completed once.")
            self._result, self._exception, self._done = result, exception, True
            callbacks, self._callbacks = self._callbacks, []
            self._cond.notify_all()
        for callback in callbacks:
            self._invoke(callback)

    def _invoke(self, callback) -> None:
        try:
            callback(self)
        except Exception:
            _log.exception("Got an error when running a Future's done callback")


def collect_all(futures) -> Future:
    """A future of the list ``futures`` that completes when all of them have; if any failed, it fails with the
    exception of the first failed one in the list (PyTorch's order)."""
    futures = list(futures)
    for i, f in enumerate(futures):
        if not isinstance(f, Future):
            raise TypeError(f"collect_all() takes a sequence of lucid.futures.Future; item {i} is a "
                            f"{type(f).__name__}")
    collected = _Collected(futures)
    remaining = [len(futures)]
    lock = threading.Lock()

    def one_done(_):
        with lock:
            remaining[0] -= 1
            if remaining[0]:
                return
        failed = next((f._exception for f in futures if f._exception is not None), None)
        if failed is not None:
            collected.set_exception(failed)
        else:
            collected.set_result(futures)

    if not futures:
        collected.set_result([])
    for f in futures:
        f.add_done_callback(one_done)
    return collected


class _Collected(Future):
    """:func:`collect_all`'s future: waiting on it waits on each collected future first, so futures that only
    complete when waited on (a collective's :meth:`~lucid.distributed.Work.get_future`) are driven too."""

    def __init__(self, futures):
        super().__init__()
        self._inputs = futures

    def _drive(self):
        for f in self._inputs:
            try:
                f.wait()
            except Exception:  # the failure reaches this future through its callback
                pass


def wait_all(futures) -> list:
    """The values of ``futures`` once all have completed; the first failed one's exception raised."""
    return [f.value() for f in collect_all(futures).wait()]
