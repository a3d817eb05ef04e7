"""PyTorch's ``out=`` keyword, added once to every function of ``lucid``, ``lucid.linalg``, ``lucid.special``
and ``lucid.fft`` whose ``torch`` counterpart takes it (``torch.add(a, b, out=c)``).

Each namespace calls :func:`add_out_argument` on its globals once they are complete. The wrapper costs
one keyword test when ``out`` is not given. With ``out``, the function runs as usual and its result is
written into ``out`` in place (PyTorch's resize warning, cast rule, device and autograd checks), and
``out`` itself is returned: for functions returning a named tuple, the tuple of the ``out`` tensors.

Choices where PyTorch's ops differ among themselves: a handful (``mm``, ``matmul``) demand an ``out`` of
exactly the result's dtype, and some reductions compute in ``out``'s dtype; here every op computes as
without ``out`` and then casts into it when ``torch.can_cast`` allows, as PyTorch's elementwise ops do.
The result is computed before ``out`` is written, so an ``out`` aliasing an input is safe for every op
(PyTorch 2.13's ``matmul(m, m, out=m)`` gives zeros).
"""

from __future__ import annotations

import functools
import inspect
import warnings

from .. import dtypes as _dt
from .._backend.device import DeviceMismatchError
from .._backend.device import device as _device
from .._tensor import Tensor
from .._typeinfo import can_cast
from ..autograd import grad_mode
from .inplace import assign

# The names whose torch counterpart accepts ``out=``, per namespace (found by calling torch 2.13's
# functions with ``out=``, kept to the names lucid has; a name lucid lacks is skipped).
OUT_NAMES = {
    "lucid": """
        abs absolute acos acosh add addbmm addcdiv addcmul addmm addmv addr alias_copy all amax amin aminmax angle
        any arange arccos arccosh arcsin arcsinh arctan arctan2 arctanh argmax argmin argsort as_strided_copy
        asin asinh atan atan2 atanh baddbmm batch_norm_elemt bernoulli bitwise_and bitwise_left_shift bitwise_not
        bitwise_or bitwise_right_shift bitwise_xor bmm bucketize cat ceil chain_matmul cholesky cholesky_inverse
        cholesky_solve clamp clamp_max clamp_min clip column_stack complex concat concatenate conj_physical
        copysign cos cosh cross cummax cummin cumprod cumsum deg2rad detach_copy diag diagonal_copy diff digamma
        div divide dot dstack empty eq erf erfc erfinv exp exp2 expand_copy expm1 eye fix float_power floor
        floor_divide fmax fmin fmod frac frexp frobenius_norm full gather gcd ge geqrf ger greater greater_equal
        gt hardshrink heaviside histc histogram hstack hypot i0 igamma igammac index_add index_copy index_reduce
        index_select inner inverse isin isneginf isposinf kron kthvalue lcm ldexp le lerp less less_equal lgamma
        linspace log log10 log1p log2 log_softmax logaddexp logaddexp2 logcumsumexp logical_and logical_not
        logical_or logical_xor logit logspace logsumexp lstsq lt lu lu_solve lu_unpack masked_select matmul
        matrix_power matrix_rank max maximum mean median min minimum mm mode msort mul multinomial multiply mv
        mvlgamma nan_to_num nanmean nanmedian nanquantile nansum narrow_copy native_batch_norm ne neg negative
        nextafter nonzero nonzero_static norm normal not_equal nuclear_norm ones orgqr ormqr outer permute_copy
        polar polygamma pow prod qr quantile rad2deg rand randint randn randperm range reciprocal remainder
        renorm round row_stack rsqrt scatter scatter_add scatter_reduce searchsorted select_copy sgn sigmoid
        sign signbit sin sinc sinh slice_copy slice_scatter slogdet softmax sort split_copy
        split_with_sizes_copy spmm sqrt square squeeze_copy stack std sub subtract sum svd symeig t_copy take
        take_along_dim tan tanh tensordot threshold topk transpose_copy triangular_solve tril triu true_divide
        trunc unbind_copy unfold_copy unsqueeze_copy var vdot view_as_complex_copy view_as_real_copy view_copy
        vstack where xlogy zeros
    """,
    "lucid.linalg": """
        cholesky cholesky_ex cond cross det eig eigh eigvals eigvalsh householder_product inv inv_ex ldl_factor
        ldl_factor_ex ldl_solve lstsq lu lu_factor lu_factor_ex lu_solve matmul matrix_norm matrix_power
        matrix_rank multi_dot norm pinv qr slogdet solve solve_ex solve_triangular svd svdvals tensorinv
        tensorsolve vecdot vector_norm
    """,
    "lucid.special": """
        airy_ai bessel_j0 bessel_j1 bessel_y0 bessel_y1 chebyshev_polynomial_t chebyshev_polynomial_u
        chebyshev_polynomial_v chebyshev_polynomial_w digamma entr erf erfc erfcx erfinv exp2 expit expm1
        gammainc gammaincc gammaln hermite_polynomial_h hermite_polynomial_he i0 i0e i1 i1e
        laguerre_polynomial_l legendre_polynomial_p log1p log_ndtr logit logsumexp modified_bessel_i0
        modified_bessel_i1 modified_bessel_k0 modified_bessel_k1 multigammaln ndtr ndtri polygamma psi round
        scaled_modified_bessel_k0 scaled_modified_bessel_k1 shifted_chebyshev_polynomial_t
        shifted_chebyshev_polynomial_u shifted_chebyshev_polynomial_v shifted_chebyshev_polynomial_w sinc
        spherical_bessel_j0 xlog1py xlogy zeta
    """,
    "lucid.fft": """
        fft fft2 fftfreq fftn hfft hfft2 hfftn ifft ifft2 ifftn ihfft ihfft2 ihfftn irfft irfft2 irfftn rfft
        rfft2 rfftfreq rfftn
    """,
}

# Factories: with ``out``, the values are made in ``out``'s dtype and on its device unless ``dtype=`` /
# ``device=`` say otherwise, which must then agree with ``out`` (as in PyTorch).
FACTORIES = frozenset("""
    arange empty eye fftfreq full linspace logspace ones rand randint randn randperm range rfftfreq zeros
""".split())

# PyTorch's names of the dtypes, for messages that read like its own
_TORCH_NAMES = {
    "bool": "Bool", "uint8": "Byte", "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64", "int8": "Char",
    "int16": "Short", "int32": "Int", "int64": "Long",
    "float16": "Half", "bfloat16": "BFloat16", "float32": "Float", "float64": "Double",
    "complex64": "ComplexFloat", "complex128": "ComplexDouble",
}


def _torch_name(dtype) -> str:
    return _TORCH_NAMES.get(dtype.name, dtype.name)


def _requires_grad(values) -> bool:
    """Whether a tensor among ``values`` (or in a list/tuple among them, as ``cat``'s) requires grad."""
    for v in values:
        if isinstance(v, Tensor):
            if v._requires_grad:
                return True
        elif isinstance(v, (list, tuple)) and _requires_grad(v):
            return True
    return False


def _factory_options(name: str, out: Tensor, kwargs: dict) -> dict:
    """``kwargs`` with ``out``'s dtype and device filled in; a different explicit one raises, as in PyTorch."""
    for key, have, parse in (("dtype", out.dtype, _dt.to_dtype), ("device", out.device, _device)):
        asked = kwargs.get(key)
        if asked is None:
            kwargs[key] = have
        elif parse(asked) != have:
            raise RuntimeError(f"{name}(): {key}={asked} does not match the {key} of the out parameter ({have}); "
                               f"leave {key} out or pass an out tensor of that {key}")
    return kwargs


def _write(name: str, out: Tensor, result: Tensor) -> Tensor:
    """Write ``result`` into ``out`` in place: same device, a dtype ``result`` can be cast to, and
    ``out`` resized to ``result``'s shape (with PyTorch's warning when it held elements, which its
    factories leave out)."""
    if result.device != out.device:
        raise DeviceMismatchError(f"{name}(): the result is on {result.device} but out is on {out.device}; "
                           f"cross-device copies are not allowed: pass an out tensor on {result.device}")
    if result.dtype != out.dtype and not can_cast(result.dtype, out.dtype):
        raise RuntimeError(f"{name}(): result type {_torch_name(result.dtype)} can't be cast to the desired "
                           f"output type {_torch_name(out.dtype)}")
    if result.shape != out.shape:
        if out.numel() and name not in FACTORIES:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape {list(out.shape)}, which "
                f"does not match the required output shape {list(result.shape)}. This behavior is deprecated, "
                f"and in a future PyTorch release outputs will not be resized unless they have zero elements. "
                f"You can explicitly reuse an out tensor t by resizing it, inplace, to zero elements with "
                f"t.resize_(0).", UserWarning, stacklevel=4)
        out.resize_(result.shape)
    return assign(out, result, f"{name}(out=...)", cast=True, overwrites=True)


def _call_with_out(fn, name: str, args: tuple, kwargs: dict, out):
    """``fn(*args, **kwargs)`` written into ``out`` (a tensor, or a tuple of them for tuple results)."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    if not all(isinstance(o, Tensor) for o in outs):
        raise TypeError(f"{name}(): argument 'out' must be a Tensor or a tuple of Tensors, not {out!r}")
    if grad_mode.state.enabled and (_requires_grad(args) or _requires_grad(kwargs.values()) or _requires_grad(outs)):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           f"but one of the arguments requires grad.")
    if name in FACTORIES:
        kwargs = _factory_options(name, outs[0], kwargs)
    result = fn(*args, **kwargs)
    if isinstance(result, Tensor):
        if out is not outs[0]:
            raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
        return _write(name, out, result)
    if out is outs[0]:
        raise TypeError(f"{name}(): argument 'out' must be tuple of Tensors, not Tensor")
    if len(outs) != len(result):
        raise TypeError(f"{name}(): expected tuple of {len(result)} elements but got {len(outs)}")
    written = [_write(name, o, r) for o, r in zip(outs, result)]
    return type(result)(*written) if hasattr(result, "_fields") else type(result)(written)


def with_out(fn, name: str):
    """``fn`` taking PyTorch's keyword-only ``out=`` (see the module's docstring); ``fn`` itself when it
    has its own."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a callable without one keeps what functools.wraps gives
        signature = None
    if signature is not None and "out" in signature.parameters:
        return fn

    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        return _call_with_out(fn, name, args, kwargs, out)

    if signature is not None:
        params = list(signature.parameters.values())
        at = len(params) - (bool(params) and params[-1].kind is inspect.Parameter.VAR_KEYWORD)
        params.insert(at, inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None))
        wrapper.__signature__ = signature.replace(parameters=params)
    return wrapper


_WRAPPED: dict[int, tuple] = {}  # id(function) -> (function, its out= form): one form per function


def add_out_argument(namespace: dict) -> None:
    """Give the functions of the module whose globals are ``namespace`` their ``out=`` (OUT_NAMES). A function
    under several names (``lucid.erf`` and ``lucid.special.erf``, ``clamp`` and ``clip``) gets one wrapper, so
    the aliases stay the same object."""
    for name in OUT_NAMES[namespace["__name__"]].split():
        fn = namespace.get(name)
        if fn is not None:
            if id(fn) not in _WRAPPED:
                _WRAPPED[id(fn)] = fn, _named(with_out(fn, name), namespace["__name__"], name)
            namespace[name] = _WRAPPED[id(fn)][1]


def _named(wrapper, module: str, name: str):
    """``wrapper`` found by pickle where it is published (``lucid.add``), not as the op it wraps, which pickle
    would find instead and refuse as another object (DataLoader workers and ``multiprocessing`` pickle functions)."""
    if hasattr(wrapper, "__wrapped__"):
        wrapper.__module__, wrapper.__qualname__ = module, name
    return wrapper
