"""The Module classes of ``lucid.nn`` (layers and losses), one file per family, matching
``lucid.nn.functional``. Each family lists its classes in ``__all__``. ``functional_layer``
holds the base of the layers that only call one function with their stored settings."""

from __future__ import annotations

from . import (
    activation,
    adaptive,
    attention,
    conv,
    dropout,
    embedding,
    lazy,
    linear,
    linear_loss,
    loss,
    normalization,
    parallel,
    pooling,
    resample,
    rnn,
    sync_batchnorm,
    transformer,
)

__all__: list[str] = []
for _family in (activation, linear, dropout, embedding, loss, conv, pooling, normalization, resample, attention,
                transformer, rnn, lazy, adaptive, parallel, linear_loss, sync_batchnorm):
    for _name in _family.__all__:
        globals()[_name] = getattr(_family, _name)
    __all__ += list(_family.__all__)
