"""``lucid.utils.data``: where PyTorch programs import data loading from (``torch.utils.data``). The names are
:mod:`lucid.data`'s, the package that implements them."""

from __future__ import annotations

from ..data import *  # noqa: F403
from ..data import __all__  # noqa: F401
