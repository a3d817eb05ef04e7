"""``FunctionalLayer``: the base of the layers that only call one function of
:mod:`lucid.nn.functional` with the settings they store (activations, losses, dropout, pooling)."""

from __future__ import annotations

from ..module import Module

__all__ = ["FunctionalLayer"]


class FunctionalLayer(Module):
    """A Module whose ``forward(*inputs)`` is ``function(*inputs, **settings)``.

    Subclasses set ``function`` (a ``staticmethod``) and pass their settings to ``__init__`` as
    keyword arguments; each becomes an attribute, read again at every call. ``buffers`` (a dict)
    are settings registered as buffers (a loss's class weights), so they move with
    ``module.to(...)`` and are saved in ``state_dict``. With ``takes_training`` the function also
    gets ``training=self.training`` (dropout). ``shown`` names the settings the repr lists (None:
    all but the buffers); ``inplace`` shows only when true, as in PyTorch.
    """

    function = None
    takes_training = False
    shown = None

    def __init__(self, buffers: dict | None = None, **settings) -> None:
        super().__init__()
        for name, value in (buffers or {}).items():
            self.register_buffer(name, value)
        for name, value in settings.items():
            setattr(self, name, value)
        self._settings = (*(buffers or ()), *settings)

    def forward(self, *inputs):
        settings = {k: getattr(self, k) for k in self._settings}
        if self.takes_training:
            settings["training"] = self.training
        return self.function(*inputs, **settings)

    def extra_repr(self) -> str:
        names = self.shown if self.shown is not None else [k for k in self._settings if k not in self._buffers]
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in names if not (k == "inplace" and not getattr(self, k)))
