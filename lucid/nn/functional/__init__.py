"""``lucid.nn.functional``: the stateless forms of the layers, one file per family.

``activation``, ``linears`` (linear, bilinear), ``dropouts``, ``embeddings``, ``loss``, ``conv``
(convolution, unfold/fold), ``pooling``, ``normalization``, ``resample`` (padding, interpolation,
pixel shuffle, grid sampling), ``attention``, ``multihead_attention``, ``unpooling``. Each family lists
its names in ``__all__``; a family named after one of its functions takes the plural (``dropouts``), so
the function ``F.dropout`` does not hide the module.
"""

from __future__ import annotations

from . import (
    activation,
    attention,
    conv,
    dropouts,
    embeddings,
    linear_losses,
    linears,
    loss,
    multihead_attention,
    normalization,
    pooling,
    resample,
    unpooling,
)

__all__: list[str] = []
for _family in (activation, linears, dropouts, embeddings, loss, conv, pooling, normalization, resample, attention,
                multihead_attention, unpooling, linear_losses):
    for _name in _family.__all__:
        globals()[_name] = getattr(_family, _name)
    __all__ += list(_family.__all__)


def __getattr__(name: str):
    """``grad``: ``torch.nn.functional.grad`` is ``torch.nn.grad``, which imports this package (so found on use)."""
    if name == "grad":
        from .. import grad
        return grad
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
