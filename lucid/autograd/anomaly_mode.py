"""Anomaly detection: with it on, each recorded op keeps the traceback of its forward call, and
backward raises naming the node whose backward produced NaN (or failed), with that traceback.
A debugging aid (it syncs with the device after every node), global as in PyTorch."""

from __future__ import annotations

import functools
import warnings

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
           "set_anomaly_enabled"]


class _State:
    def __init__(self):  # instance attributes: the check every recorded op makes is the cheapest lookup
        self.enabled = False
        self.check_nan = True


state = _State()


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    return state.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection also checks every gradient for NaN."""
    return state.check_nan


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off (``lucid.set_anomaly_enabled``, as ``torch.set_anomaly_enabled``)."""
    state.enabled, state.check_nan = bool(enabled), bool(check_nan)


class detect_anomaly:
    """Context manager / decorator turning anomaly detection on inside it (``check_nan``: also raise on
    NaN gradients)."""

    def __init__(self, check_nan: bool = True):
        self.mode, self.check_nan = True, bool(check_nan)
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                      "enabled for debugging.", stacklevel=2)  # as PyTorch

    def __enter__(self):
        self._prev = (state.enabled, state.check_nan)
        state.enabled, state.check_nan = self.mode, self.check_nan
        return self

    def __exit__(self, *exc):
        state.enabled, state.check_nan = self._prev
        return False

    def __call__(self, func):
        mode, check_nan = self.mode, self.check_nan

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            prev = (state.enabled, state.check_nan)
            state.enabled, state.check_nan = mode, check_nan
            try:
                return func(*args, **kwargs)
            finally:
                state.enabled, state.check_nan = prev

        return wrapper


class set_detect_anomaly(detect_anomaly):
    """Set anomaly detection on or off now; as a context manager the previous setting comes back at exit."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.mode, self.check_nan = bool(mode), bool(check_nan)
        self._prev = (state.enabled, state.check_nan)
        state.enabled, state.check_nan = self.mode, self.check_nan

    def __enter__(self):
        return self
