"""``lucid.nn.functional``: the stateless forms of the layers, one file per family.

``activation``, ``linear``, ``dropout``, ``embedding``, ``loss``, ``conv`` (convolution,
unfold/fold), ``pooling``, ``normalization``, ``resample`` (padding, interpolation, pixel
shuffle, grid sampling), ``attention``. Each family lists its names in ``__all__``.
"""

from __future__ import annotations

from . import activation, attention, conv, dropout, embedding, linear, loss, normalization, pooling, resample

__all__: list[str] = []
for _family in (activation, linear, dropout, embedding, loss, conv, pooling, normalization, resample, attention):
    for _name in _family.__all__:
        globals()[_name] = getattr(_family, _name)
    __all__ += list(_family.__all__)
