"""``autocast``: run the ops that gain from it in a 16-bit float, the fragile ones in float32, per device type.

Inside ``with lucid.amp.autocast(device_type):`` (or a function decorated with it) each op on tensors of that
device type casts its floating inputs by its policy for that device type:

- ``LOWER`` (matrix products, linear, convolutions, attention): float32 (and the other 16-bit float) inputs
  are cast to the autocast dtype, so the heavy math runs in it;
- ``FLOAT32`` (losses, decompositions, and on CUDA softmax, normalizations, exp/log-like functions, pow, sums):
  16-bit inputs are cast up to float32;
- ``PROMOTE`` (``index_copy`` on the CPU): all floating inputs are cast to their widest dtype;
- no policy (elementwise arithmetic, activations, shape ops, and on the CPU softmax, norms, reductions): the op
  runs in its inputs' dtype, and mixed inputs promote as usual (bfloat16 + float32 -> float32).

The two tables are PyTorch 2.13's own: ``torch.autocast("cpu")`` lowers only convolutions, matrix products,
linear, prelu and attention to bfloat16 and raises losses, linear-algebra decompositions, FFTs, 3-d pooling
and some pads to float32; ``torch.autocast("cuda")`` lowers more (mv, addmv, addr) and raises also softmax,
layer/group norm, exp/log, pow, sums and norms. Device types other than ``"cpu"`` follow the CUDA table (as
PyTorch's XPU and MPS lists do). The default dtype is bfloat16 on the CPU and float16 elsewhere (CuPy has no
bfloat16), PyTorch's defaults.

Where the policy is declared: on the op itself, where it is defined, in one form. A ``Function`` subclass sets
the class attribute ``autocast_policy``; a public function composed of several lucid ops, which PyTorch has as
one ATen op, is decorated with :func:`autocast_op`. The value is a policy for every device type (``LOWER``)
or a table ``{"cpu": ..., "cuda": ...}`` whose missing keys mean "not cast there". A composite decorated with
:func:`autocast_op` also runs its body with autocast off for that device type, as PyTorch runs an op's kernel
below the autocast layer, so the lucid ops inside do not cast again (``mv`` stays float32 on the CPU though it
calls ``matmul``). Keeping the declaration on the op (rather than in a central table here) means an op and its
casting rule are read, moved and deleted together.

As in PyTorch: float64 tensors are never cast, integer, bool and complex ones neither; the casts are
ordinary differentiable ``to()`` ops, so gradients reach float32 leaves (parameters) as float32; the lowered
copy of a parameter is cached for the rest of the outermost autocast block (``cache_enabled``) and made
again once the parameter changes in place. Run backward and the optimizer step outside the block.

The state is thread-local. While no autocast block is open, ops pay nothing: the hook in
``Function.apply`` (:func:`lucid.autograd.register_interceptor`) is registered only while one is, and an
:func:`autocast_op` composite pays one dictionary test.
"""

from __future__ import annotations

import collections.abc
import functools
import threading

from .. import dtypes as _dt
from .._backend import registry
from .._tensor import Tensor
from ..autograd import function as _function
from ..autograd import grad_mode
from ..autograd.function import FLOAT32, LOWER, PROMOTE

__all__ = ["autocast", "is_autocast_enabled", "get_autocast_dtype", "casts_for", "LOWER", "FLOAT32", "PROMOTE",
           "autocast_op", "policy_for",
           "set_autocast_enabled", "set_autocast_dtype", "is_autocast_cache_enabled", "set_autocast_cache_enabled",
           "clear_autocast_cache", "is_autocast_cpu_enabled", "set_autocast_cpu_enabled", "get_autocast_cpu_dtype",
           "set_autocast_cpu_dtype", "get_autocast_gpu_dtype", "set_autocast_gpu_dtype", "is_autocast_available",
           "custom_fwd", "custom_bwd"]


class _State(threading.local):
    def __init__(self):
        self.dtypes = {}  # device type -> autocast dtype, for the types autocast is on for
        self.depth = 0  # open autocast blocks (enabled or not); the cast cache lives until 0
        self.cache_enabled = True
        self.cache = {}  # id(parameter) -> (parameter, its version, its cast)
        self.switched_on = set()  # device types set_autocast_enabled turned on (each holds one _install)
        self.lower = {}  # device type -> the dtype set_autocast_dtype or the innermost block (even disabled) chose


_state = _State()
_lock = threading.Lock()
_open = 0  # enabled autocast blocks open in all threads: the interceptor is registered while > 0
_handle = None  # its registration


def _install() -> None:
    global _open, _handle
    with _lock:
        _open += 1
        if _open == 1:
            _handle = _function.register_interceptor(_intercept)


def _uninstall() -> None:
    global _open, _handle
    with _lock:
        _open -= 1
        if _open == 0:
            _handle.remove()
            _handle = None


def _cast(t, dtype):
    """``t.to(dtype)``, reusing the cast of a parameter (a leaf that requires grad) made earlier in
    this autocast block while the parameter is unchanged and grad mode is the same."""
    if not (_state.cache_enabled and t._requires_grad and t._node is None):
        return t.to(dtype)
    entry = _state.cache.get(id(t))
    recording = grad_mode.state.enabled
    if (entry is not None and entry[0] is t and entry[1] == t._version[0]
            and entry[2].dtype is dtype and entry[2]._requires_grad is recording):
        return entry[2]
    cast = t.to(dtype)
    _state.cache[id(t)] = (t, t._version[0], cast)
    return cast


_TABLES = ("cpu", "cuda")  # the keys a per-device-type policy table may have
_DEFAULT_DTYPES = {"cpu": _dt.bfloat16}  # PyTorch's defaults; float16 for the other device types


def _table(device_type: str) -> str:
    """The policy table ``device_type``'s tensors follow: the CPU's, or CUDA's for every other device type."""
    return "cpu" if device_type == "cpu" else "cuda"


def _default_dtype(kind: str):
    return _DEFAULT_DTYPES.get(kind, _dt.float16)


def policy_for(policy, device_type: str):
    """The policy (``LOWER``, ``FLOAT32``, ``PROMOTE`` or None) that the declared ``policy`` (one policy, or a
    table keyed by ``"cpu"``/``"cuda"``) gives on ``device_type``'s tensors."""
    return policy.get(_table(device_type)) if isinstance(policy, dict) else policy


def _check_policy(policy) -> None:
    table = policy if isinstance(policy, dict) else {"cpu": policy}
    for key, value in table.items():
        if key not in _TABLES or value not in (LOWER, FLOAT32, PROMOTE, None):
            raise ValueError(f"an autocast policy is LOWER, FLOAT32, PROMOTE or None, or a table of them keyed by "
                             f"'cpu' and 'cuda'; got {policy!r}")


def _targets(rule, target, tensors):
    """The dtype each floating tensor is cast to under ``rule`` (float64 never: only PROMOTE raises to it)."""
    if rule == LOWER:
        return target
    if rule == FLOAT32:
        return _dt.float32
    floats = [t.dtype for t in tensors if t.dtype.kind == "f"]
    return functools.reduce(_dt.promote_types, floats) if floats else None


def _recast(values, rule, target):
    """``values`` (a list) with each floating, non-float64 tensor cast by ``rule``; None when none changed."""
    want = _targets(rule, target, [v for v in values if isinstance(v, Tensor)])
    out, changed = [], False
    for v in values:
        if isinstance(v, Tensor) and v.dtype.kind == "f" and v.dtype is not want and v.dtype is not _dt.float64:
            v, changed = _cast(v, want), True
        out.append(v)
    return out if changed else None


def _first_device_type(values):
    for v in values:
        if isinstance(v, Tensor):
            return v._device.type
        if isinstance(v, (list, tuple)) and v and isinstance(v[0], Tensor):
            return v[0]._device.type
    return None


def _intercept(cls, inputs, params):
    """The autocast hook of ``Function.apply``: rerun the op with its inputs cast by the class's
    policy for their device type (None when there is nothing to cast, so the op runs as it is)."""
    declared = cls.autocast_policy
    if declared is None or not _state.dtypes:
        return None
    kind = _first_device_type(inputs)
    target = _state.dtypes.get(kind)
    rule = policy_for(declared, kind) if target is not None else None
    if rule is None:
        return None
    cast = _recast(list(inputs), rule, target)
    return None if cast is None else cls.apply(*cast, **params)


def autocast_op(policy):
    """Declare a public function composed of lucid ops one op for autocast (PyTorch has it as one ATen op):
    under autocast for its tensors' device type, its tensor arguments (positional, keyword, and the tensors of
    a list or tuple argument) are cast by ``policy`` (as ``Function.autocast_policy``: one policy or a
    ``{"cpu": ..., "cuda": ...}`` table, None where not cast) and its body runs with autocast off there."""
    _check_policy(policy)

    def decorate(fn):
        @functools.wraps(fn)
        def op(*args, **kwargs):
            if not _state.dtypes:
                return fn(*args, **kwargs)
            kind = _first_device_type((*args, *kwargs.values()))
            target = _state.dtypes.get(kind)
            if target is None:
                return fn(*args, **kwargs)
            rule = policy_for(policy, kind)
            if rule is not None:
                args, kwargs = _recast_arguments(args, kwargs, rule, target)
            del _state.dtypes[kind]
            try:
                return fn(*args, **kwargs)
            finally:
                _state.dtypes[kind] = target

        return op

    return decorate


def _recast_arguments(args, kwargs, rule, target):
    """``args`` and ``kwargs`` cast by ``rule`` together (PROMOTE takes the widest dtype among all of them),
    a list or tuple of tensors cast element by element."""
    names = list(kwargs)
    flat, spans = [], []
    for value in (*args, *kwargs.values()):
        seq = isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in value)
        spans.append((len(flat), len(value) if seq else 1, value if seq else None))
        flat.extend(value if seq else [value])
    cast = _recast(flat, rule, target)
    if cast is None:
        return args, kwargs
    rebuilt = [cast[i] if seq is None else type(seq)(cast[i:i + n]) for i, n, seq in spans]
    return tuple(rebuilt[:len(args)]), dict(zip(names, rebuilt[len(args):]))


class autocast:
    """Mixed precision for a block or a function: ``with autocast("cuda"): ...`` or ``@autocast("cuda")``.

    ``device_type``: the device type whose tensors are cast (``"cuda"``, ``"cpu"``, or another
    registered type); ``dtype``: the lower precision, ``lucid.float16`` or ``lucid.bfloat16`` (NumPy
    only); by default :func:`get_autocast_dtype` at construction (bfloat16 on the CPU, float16 elsewhere, unless
    an enclosing block or :func:`set_autocast_dtype` chose another); ``enabled=False`` turns autocast off inside
    the block (it nests); ``cache_enabled``: reuse the lowered copy of each parameter within the
    outermost block. See the module docstring for what is cast.
    """

    def __init__(self, device_type: str = "cuda", dtype=None, enabled: bool = True, cache_enabled: bool = True):
        kind = registry.canonical_type(device_type) if isinstance(device_type, str) else None
        if kind is None:
            raise ValueError(
                f"autocast: device_type must be a device type such as 'cuda' or 'cpu' (no index), got {device_type!r}"
            )
        # As PyTorch: without a dtype, the one autocast uses for this device type now (an enclosing block's, or
        # set_autocast_dtype's), so a nested ``autocast(device_type)`` keeps a chosen dtype.
        dtype = get_autocast_dtype(kind) if dtype is None else _dt.to_dtype(dtype)
        if dtype.kind != "f" or dtype.itemsize != 2:
            raise ValueError(
                f"autocast: dtype must be a 16-bit floating dtype (lucid.float16 or lucid.bfloat16), "
                f"got {dtype.name}"
            )
        self.device_type, self.dtype = kind, dtype
        self.enabled, self.cache_enabled = bool(enabled), bool(cache_enabled)
        self._saved: list = []

    def __enter__(self):
        st = _state
        self._saved.append((st.dtypes.get(self.device_type), st.lower.get(self.device_type), st.cache_enabled))
        st.depth += 1
        st.cache_enabled = self.cache_enabled
        st.lower[self.device_type] = self.dtype  # enabled or not, as PyTorch: blocks nested inside inherit it
        if self.enabled:
            st.dtypes[self.device_type] = self.dtype
            _install()
        else:
            st.dtypes.pop(self.device_type, None)
        return self

    def __exit__(self, *exc):
        st = _state
        previous, lower, st.cache_enabled = self._saved.pop()
        for table, value in ((st.dtypes, previous), (st.lower, lower)):
            if value is None:
                table.pop(self.device_type, None)
            else:
                table[self.device_type] = value
        st.depth -= 1
        if st.depth == 0:
            st.cache.clear()
        if self.enabled:
            _uninstall()
        return False

    def __call__(self, func):
        """Use as a decorator: every call of ``func`` runs inside a fresh autocast block."""
        args = (self.device_type, self.dtype, self.enabled, self.cache_enabled)

        @functools.wraps(func)
        def wrapper(*a, **kw):
            with autocast(*args):
                return func(*a, **kw)

        return wrapper


def casts_for(tensor) -> bool:
    """Whether autocast is on for ``tensor``'s device type in this thread. Then an op with a
    policy casts mixed float operands itself, so argument checks that refuse mixed dtypes
    (matmul, linear, conv, attention) let them through."""
    return tensor._device.type in _state.dtypes


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    """Whether autocast is on for ``device_type`` in this thread."""
    return registry.canonical_type(device_type) in _state.dtypes


def get_autocast_dtype(device_type: str = "cuda"):
    """The lower-precision dtype autocast uses for ``device_type``: the open block's, or the one
    :func:`set_autocast_dtype` chose, or the default: ``lucid.bfloat16`` on the CPU, ``lucid.float16`` elsewhere."""
    kind = registry.canonical_type(device_type)
    return _state.dtypes.get(kind, _state.lower.get(kind, _default_dtype(kind)))


def _kind(device_type: str) -> str:
    kind = registry.canonical_type(device_type) if isinstance(device_type, str) else None
    if kind is None:
        raise ValueError(f"expected a device type such as 'cuda' or 'cpu', got {device_type!r}")
    return kind


def set_autocast_enabled(device_type: str, enabled: bool) -> None:
    """Turn autocast on or off for ``device_type`` in this thread outside a ``with autocast`` block (PyTorch's
    low-level switch; an ``autocast`` block entered later still restores its own state on exit)."""
    kind, st = _kind(device_type), _state
    if enabled:
        st.dtypes[kind] = st.lower.get(kind, _default_dtype(kind))
        if kind not in st.switched_on:
            st.switched_on.add(kind)
            _install()
    else:
        st.dtypes.pop(kind, None)
        if kind in st.switched_on:
            st.switched_on.discard(kind)
            _uninstall()


def set_autocast_dtype(device_type: str, dtype) -> None:
    """The 16-bit dtype (``lucid.float16`` or ``lucid.bfloat16``) autocast uses for ``device_type`` from now on: in
    an open block, until it ends; outside, for blocks entered later without a ``dtype``."""
    kind, dtype = _kind(device_type), _dt.to_dtype(dtype)
    if dtype.kind != "f" or dtype.itemsize != 2:
        raise ValueError(
            f"set_autocast_dtype: dtype must be a 16-bit float (lucid.float16 or lucid.bfloat16), got {dtype.name}"
        )
    _state.lower[kind] = dtype
    if kind in _state.dtypes:
        _state.dtypes[kind] = dtype


def is_autocast_cache_enabled() -> bool:
    """Whether autocast reuses the lowered copy of each parameter within a block (this thread)."""
    return _state.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    """Turn the cache of lowered parameter copies on or off for this thread."""
    _state.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    """Drop this thread's cached lowered parameter copies."""
    _state.cache.clear()


# PyTorch's deprecated per-device spellings of the switches above
def is_autocast_cpu_enabled() -> bool:
    """``is_autocast_enabled("cpu")`` (deprecated in PyTorch)."""
    return is_autocast_enabled("cpu")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    """``set_autocast_enabled("cpu", enabled)`` (deprecated in PyTorch)."""
    set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype():
    """``get_autocast_dtype("cpu")`` (deprecated in PyTorch)."""
    return get_autocast_dtype("cpu")


def set_autocast_cpu_dtype(dtype) -> None:
    """``set_autocast_dtype("cpu", dtype)`` (deprecated in PyTorch)."""
    set_autocast_dtype("cpu", dtype)


def get_autocast_gpu_dtype():
    """``get_autocast_dtype("cuda")`` (deprecated in PyTorch)."""
    return get_autocast_dtype("cuda")


def set_autocast_gpu_dtype(dtype) -> None:
    """``set_autocast_dtype("cuda", dtype)`` (deprecated in PyTorch)."""
    set_autocast_dtype("cuda", dtype)


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast can be used for ``device_type`` (``"cpu"``, ``"cuda"``, ``"cuda:0"``, ...): True for every
    device type lucid knows, whose backend lucid's autocast casts for; an unknown one raises, as in PyTorch."""
    kind = registry.canonical_type(device_type.split(":")[0]) if isinstance(device_type, str) else None
    if kind is None:
        raise RuntimeError(f"is_autocast_available: expected a device type such as 'cpu' or 'cuda', got "
                           f"{device_type!r}")
    return True


def _cast_inputs(value, device_type: str, dtype):
    """``value`` with each floating tensor of ``device_type`` (float64 excepted) cast to ``dtype``, through lists,
    tuples and mappings, as PyTorch's ``custom_fwd(cast_inputs=...)``."""
    if isinstance(value, Tensor):
        eligible = value.is_floating_point() and value.device.type == device_type and value.dtype is not _dt.float64
        return value.to(dtype) if eligible else value
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, collections.abc.Mapping):
        return {_cast_inputs(k, device_type, dtype): _cast_inputs(v, device_type, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_inputs(v, device_type, dtype) for v in value)
    return value


def _check_device_type(device_type) -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    return _kind(device_type)


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """Decorate the ``forward(ctx, ...)`` of a custom ``lucid.autograd.Function`` for autocast, as PyTorch's:
    without ``cast_inputs`` forward runs under the autocast state of the caller; with it, inside an autocast
    block for ``device_type``, the floating tensors among the arguments are cast to ``cast_inputs`` and forward
    runs with autocast off (outside a block it changes nothing). The state is kept on ``ctx`` for
    :func:`custom_bwd`."""
    kind = _check_device_type(device_type)
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    target = None if cast_inputs is None else _dt.to_dtype(cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        args[0]._dtype = get_autocast_dtype(kind)
        enabled = is_autocast_enabled(kind)
        if target is None:
            args[0]._fwd_used_autocast = enabled
            return fwd(*args, **kwargs)
        args[0]._fwd_used_autocast = False
        if not enabled:
            return fwd(*args, **kwargs)
        with autocast(kind, enabled=False):
            return fwd(*_cast_inputs(args, kind, target), **_cast_inputs(kwargs, kind, target))

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type: str):
    """Decorate the ``backward(ctx, ...)`` of a custom Function whose forward has :func:`custom_fwd`: backward
    runs under the autocast state (on or off, and dtype) that forward ran under, as PyTorch's."""
    kind = _check_device_type(device_type)
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        with autocast(kind, enabled=args[0]._fwd_used_autocast, dtype=args[0]._dtype):
            return bwd(*args, **kwargs)

    return decorate_bwd
