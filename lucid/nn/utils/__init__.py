"""``lucid.nn.utils``: gradient clipping, parameters as one vector, weight and spectral normalisation."""

from __future__ import annotations

from . import stateless  # noqa: F401  (lucid.nn.utils.stateless.functional_call)
from .clip_grad import clip_grad_norm_, clip_grad_value_
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm

__all__ = [
    "clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters", "weight_norm",
    "remove_weight_norm", "spectral_norm", "remove_spectral_norm",
]
