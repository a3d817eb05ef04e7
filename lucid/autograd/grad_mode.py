"""Grad modes: ``no_grad``, ``enable_grad``, ``set_grad_enabled``; thread-local, usable as
context managers and as decorators (as in PyTorch)."""

from __future__ import annotations

import functools
import inspect
import threading

from .._tensor import is_inference_mode_enabled, set_inference_mode

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "is_inference_mode_enabled", "is_inference", "set_multithreading_enabled", "is_multithreading_enabled"]


class _State(threading.local):
    enabled = True


state = _State()


def is_grad_enabled() -> bool:
    """Whether operations on tensors that require grad are being recorded."""
    return state.enabled


class _GradMode:
    """Base: sets ``state.enabled`` to ``self.mode`` inside the block, restores it after."""

    mode = True

    def __enter__(self):
        self._prev, state.enabled = state.enabled, self.mode
        return self

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, func):
        mode = self.mode
        if inspect.isgeneratorfunction(func):
            return _generator_in_mode(func, lambda: _set_enabled(mode))

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            prev, state.enabled = state.enabled, mode
            try:
                return func(*args, **kwargs)
            finally:
                state.enabled = prev

        return wrapper


def _set_enabled(mode: bool):
    """A context manager that sets grad mode to ``mode`` (``_GradMode`` without the immediate effect of
    ``set_grad_enabled``)."""
    manager = _GradMode()
    manager.mode = mode
    return manager


def _generator_in_mode(func, context):
    """``func`` (a generator function) decorated with a grad mode: as in PyTorch, the mode holds while the
    generator's own code runs (each resumption), not while the caller runs between two ``next()``."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gen = func(*args, **kwargs)
        try:
            with context():
                request = gen.send(None)
            while True:
                try:
                    sent = yield request
                except GeneratorExit:
                    with context():
                        gen.close()
                    raise
                except BaseException as error:
                    with context():
                        request = gen.throw(error)
                else:
                    with context():
                        request = gen.send(sent)
        except StopIteration as stop:
            return stop.value

    return wrapper


class no_grad(_GradMode):
    """Do not record operations: results have ``requires_grad=False``. A decorator with or without
    parentheses (``@no_grad()`` or ``@no_grad``, as in PyTorch)."""

    mode = False

    def __new__(cls, func=None):
        if func is not None:  # used bare: @no_grad
            return cls()(func)
        return object.__new__(cls)


class enable_grad(_GradMode):
    """Record operations again (inside a ``no_grad`` block). A decorator with or without parentheses."""

    mode = True

    __new__ = no_grad.__new__


class set_grad_enabled(_GradMode):
    """Turn recording on or off. Takes effect immediately, as in PyTorch, so it also works
    as a plain function call: ``lucid.set_grad_enabled(False)``."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = state.enabled
        state.enabled = self.mode

    def __enter__(self):
        return self

    def __call__(self, func):
        state.enabled = self._prev  # used as a decorator: leave the current mode alone
        return super().__call__(func)


class inference_mode:
    """``no_grad`` for pure inference (context manager or decorator, with or without parentheses):
    tensors made inside are inference tensors (``is_inference()``), which autograd later refuses to
    save for backward, and which cannot be changed in place or made to require grad outside the mode.
    ``inference_mode(False)`` turns both off inside it (grad mode on), as in PyTorch."""

    def __new__(cls, mode=True):
        if callable(mode):  # used bare: @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def __enter__(self):
        self._prev = state.enabled, set_inference_mode(self.mode)
        state.enabled = not self.mode
        return self

    def __exit__(self, *exc):
        state.enabled = self._prev[0]
        set_inference_mode(self._prev[1])
        return False

    def __call__(self, func):
        mode = self.mode
        if inspect.isgeneratorfunction(func):
            return _generator_in_mode(func, lambda: inference_mode(mode))

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return func(*args, **kwargs)

        return wrapper


def is_inference(input) -> bool:
    """Whether ``input`` was created under ``inference_mode`` (``lucid.is_inference``, as ``torch.is_inference``)."""
    return input.is_inference()


def is_multithreading_enabled() -> bool:
    """False: lucid's backward runs every node in the calling thread (PyTorch may use one per device)."""
    return False


class set_multithreading_enabled:
    """Accepted for PyTorch compatibility (context manager or call); lucid's backward is single-threaded
    either way, so it changes nothing."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
