"""``torch.types``: the type aliases programs annotate with (``Number``, ``Device``, ``_TensorOrTensors``, ...),
spelled with lucid's classes."""

# ruff: noqa: UP006, UP007  (PyTorch's spelling of these aliases)
from __future__ import annotations

import builtins
import os
from collections.abc import Sequence
from typing import IO, Union

from .. import Size, Tensor
from .._backend.device import Device as _Device
from .._typeinfo import layout, memory_format
from ..dtypes import DType
from ..storage import TypedStorage, UntypedStorage

_int, _float, _bool, _complex, _str, _bytes = builtins.int, builtins.float, builtins.bool, complex, str, bytes
_dtype, _device, _layout, _memory_format = DType, _Device, layout, memory_format
_size = Union[Size, list[int], tuple[int, ...]]
_symsize = _size  # lucid's sizes are plain ints: no symbolic sizes
_Number = Union[int, float, bool]
Number = Union[int, float, bool]
IntLikeType, FloatLikeType, BoolLikeType = int, Union[float, int], bool
_TensorOrTensors = Union[Tensor, Sequence[Tensor]]
_TensorOrOptionalTensors = Union[Tensor, Sequence[Union[Tensor, None]]]
Device = Union[_Device, str, int, None]  # what a device argument takes
Storage = Union[TypedStorage, UntypedStorage]
FileLike = Union[str, os.PathLike, IO[bytes]]
