"""The ``Optimizer`` base class: parameter groups, per-parameter state, ``step``, ``zero_grad``,
``state_dict``/``load_state_dict``, and the in-place update loop every optimizer shares.

An optimizer subclass supplies three things:

- ``_check(group)``: raise ``ValueError`` for invalid hyperparameters (run on the defaults and
  on every group, so per-group options are checked too), after the base class has checked their
  types against ``option_types`` (``lr`` a number, ``betas`` a pair of numbers, ...);
- ``_init_state(p, group)``: the state of a parameter before its first step (lucid Tensors for
  arrays, Python numbers for the entries named in ``scalar_state``, such as ``step``);
- ``_update(xp, p, g, s, group)``: one step on raw backend arrays with their namespace ``xp``,
  as PyTorch's single-tensor (``foreach=False``) code computes it. ``p`` is changed in place,
  ``g`` must not be; ``s`` maps state names to arrays (changed in place) and numbers
  (replaced in ``s``); the ``scalar_state`` entries arrive as Python floats.

Scalar state (``scalar_state``: ``step``, ASGD's ``eta`` and ``mu``, NAdam's ``mu_product``) is kept as
PyTorch keeps it, a 0-d CPU Tensor of the scalar dtype (float32; float64 under a float64 default dtype),
updated in place, so a state dict converts to torch's and back entry for entry. It stays on the CPU
whatever the parameter's device (PyTorch's ASGD puts it beside the parameter; lucid never does, like
PyTorch's non-capturable Adam): each step reads it as a Python number and writes it back on the host,
with no device sync and no host-to-device copy.

``load_state_dict`` checks everything (group and parameter counts, option types and values,
each parameter's state against what ``_init_state`` makes: same keys, Tensors shaped and typed
like the parameter, numbers where numbers are) before it changes anything, and ``step`` checks
every gradient and state Tensor's shape before it updates the first parameter, so neither can
leave the optimizer or the model half-changed.

A Tensor option (``lr=tensor(0.01)``, ``betas`` of Tensors, as PyTorch accepts) is read as its value at each step:
the trajectory is that of the same number. PyTorch computes a few scalar factors (``lr / (1 - beta1^t)``, ...)
in the Tensor's float32 there, so its trajectories with a Tensor ``lr`` differ from its own with a float ``lr``
by that rounding; lucid's equal its float ones.

Updates work on ``p._data`` with ``p.xp``, on the parameter's own device, with no autograd
recording and no host round trip; the parameter object and its storage stay the same. A complex parameter steps
as PyTorch's ``view_as_real`` of it (its real and imaginary parts as independent floats; its state stays complex),
in the per-parameter loop; LBFGS, Adafactor and Muon refuse complex parameters (``complex_params = False``).

``foreach``: with ``foreach=True`` (``None``, the default, means True on CUDA, where kernel
launches dominate, and False elsewhere) the parameters of a group that share device, dtype and scalar state
(``step``) are updated as one flat array: their state Tensors are views into one flat buffer
per state name, so a step costs a fixed number of array calls plus one copy-back per
parameter, instead of about a dozen calls per parameter. The numbers are identical to the
per-parameter loop, which on NumPy is as fast and needs no extra buffers. PyTorch's other switches
(``fused``, ``capturable``, ``differentiable``) are taken by the optimizers that take them in PyTorch and kept in
their parameter groups with PyTorch's defaults; see :func:`check_switches` for what each means here.
"""

from __future__ import annotations

import copy
import functools
import numbers
import struct
import warnings
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Mapping

from .. import dtypes
from .._backend.fused import add_scaled_, ema_square_, grad_with_decay, lerp_, row_chunks  # noqa: F401 (re-exported)
from .._backend.numpy_backend import BOOL_SCALARS
from .._tensor import Tensor, as_array
from .._tensor import tensor as _tensor
from ..autograd import grad_mode
from ..nn.hooks import RemovableHandle, add_hook

__all__ = ["Optimizer", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]

_GLOBAL_STEP_PRE_HOOKS: OrderedDict = OrderedDict()
_GLOBAL_STEP_POST_HOOKS: OrderedDict = OrderedDict()


class _RequiredParameter:
    """The type of :data:`required`."""

    def __repr__(self) -> str:
        return "<required parameter>"


# the default of an option every parameter group must give (``lr=required`` in optimizers written as PyTorch's SGD)
required = _RequiredParameter()


def register_optimizer_step_pre_hook(hook) -> RemovableHandle:
    """Run ``hook(optimizer, args, kwargs)`` before every optimizer's ``step`` (before its own pre-hooks); it
    may return ``(new_args, new_kwargs)`` for the step. As ``torch.optim.optimizer``'s."""
    return add_hook(_GLOBAL_STEP_PRE_HOOKS, hook)


def register_optimizer_step_post_hook(hook) -> RemovableHandle:
    """Run ``hook(optimizer, args, kwargs)`` after every optimizer's ``step`` (after its own post-hooks)."""
    return add_hook(_GLOBAL_STEP_POST_HOOKS, hook)


_HOOK_TABLES = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks",
                "_optimizer_state_dict_post_hooks", "_optimizer_load_state_dict_pre_hooks",
                "_optimizer_load_state_dict_post_hooks")


def _marks_called(step):
    """Wrap ``step`` so a scheduler can warn when it is stepped before the optimizer, and so the step hooks
    (global pre, own pre, the step, own post, global post, as PyTorch) run once per outermost call (a
    subclass's step that calls ``super().step()`` runs them once)."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        self._opt_called = True
        if self.__dict__.get("_in_step"):
            return step(self, *args, **kwargs)
        if not (_GLOBAL_STEP_PRE_HOOKS or _GLOBAL_STEP_POST_HOOKS or self._optimizer_step_pre_hooks
                or self._optimizer_step_post_hooks):  # the common case: no hooks, no bookkeeping
            self._in_step = True
            try:
                return step(self, *args, **kwargs)
            finally:
                self._in_step = False
        for hook in [*_GLOBAL_STEP_PRE_HOOKS.values(), *self._optimizer_step_pre_hooks.values()]:
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"an optimizer step pre-hook must return None or a tuple (new_args, "
                                       f"new_kwargs), but {hook!r} returned {_describe(result)}")
                args, kwargs = result
        self._in_step = True
        try:
            out = step(self, *args, **kwargs)
        finally:
            self._in_step = False
        for hook in [*self._optimizer_step_post_hooks.values(), *_GLOBAL_STEP_POST_HOOKS.values()]:
            hook(self, args, kwargs)
        return out

    wrapper._marks_called = True
    return wrapper


def check_switches(group: dict) -> None:
    """Check PyTorch's implementation switches in ``group``: ``fused=True`` asks for one kernel per group, which
    is lucid's ``foreach`` path (so ``fused`` and ``foreach`` cannot both be True, as in PyTorch);
    ``capturable`` (for CUDA graphs) changes nothing on the GPU, lucid's scalar state staying on the host, and a
    step with it on parameters off the GPU raises AssertionError, as PyTorch's; ``differentiable=True`` raises,
    lucid's updates running outside autograd."""
    if group.get("differentiable"):
        raise NotImplementedError("differentiable=True: lucid's optimizer updates run outside autograd, so a step "
                                  "cannot be differentiated; leave differentiable=False")
    if group.get("fused") and group.get("foreach"):
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def check_nonnegative(group: dict, *names: str) -> None:
    """Raise ``ValueError`` unless every option in ``names`` is >= 0."""
    for name in names:
        value = group[name]
        if not value >= 0:
            raise ValueError(f"Invalid {name}: {value!r}; it must be >= 0")


def check_betas(group: dict) -> None:
    """Raise ``ValueError`` unless ``betas`` is a pair with 0 <= beta < 1."""
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r}; expected a pair (beta1, beta2)")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta!r}; it must be in [0, 1)")


def state_like(p: Tensor, fill: float = 0.0) -> Tensor:
    """A state Tensor shaped, typed and placed like ``p``, filled with ``fill`` (a complex ``p``'s on both parts,
    as PyTorch's Adagrad and Rprop fill theirs: the state of the (real, imaginary) float pairs they step)."""
    fill = complex(fill, fill) if p.dtype.kind == "c" else fill
    return Tensor._make(p._device.create("full_like", p._data, fill), p._device)


def _copy_to(value, param: Tensor):
    """A copy of a loaded state value placed like ``param``: tensors on its device (floating
    ones in its dtype, as PyTorch does), lists and dicts element by element."""
    if isinstance(value, Tensor):
        dtype = param.dtype if value.dtype.kind == "f" and param.dtype.kind == "f" else None
        if value._sparse:  # SGD's momentum buffer of a sparse gradient
            return value.detach().to(param._device, dtype or value.dtype, copy=True)
        arr, dev = as_array(value, dtype, param._device)
        if arr is value._data:
            arr = dev.create("asarray", arr, copy=True)
        return Tensor._make(arr, dev)
    if isinstance(value, dict):
        return {k: _copy_to(v, param) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_to(v, param) for v in value)
    return copy.deepcopy(value)


_ARRAY = object()  # marks a Tensor entry in a state signature


def scalar_dtype():
    """The dtype of scalar state, as PyTorch's ``_get_scalar_dtype``: float64 under a float64 default dtype,
    else float32."""
    return dtypes.float64 if dtypes.get_default_dtype() is dtypes.float64 else dtypes.float32


def scalar_tensor(value) -> Tensor:
    """A scalar state entry (``step``, ...): a 0-d CPU Tensor of :func:`scalar_dtype` holding ``value``."""
    return _tensor(float(value), dtype=scalar_dtype(), device="cpu")


def round_scalar(value: float) -> float:
    """``value`` rounded to the scalar dtype, as a scalar state Tensor stores it: PyTorch computes a product
    such as NAdam's ``mu_product *= mu`` in float32, which ``round_scalar(a * round_scalar(b))`` reproduces
    exactly for a float32 ``a`` (the product of two float32 numbers is exact in a Python float)."""
    if scalar_dtype() is dtypes.float64:
        return value
    return struct.unpack("f", struct.pack("f", value))[0]


def _signature(state: dict, scalars) -> tuple | None:
    """What parameters must share to be updated as one flat array: their state's names, which
    entries are Tensors, and the values of the scalar entries (``step``, ...); None while an
    entry is unset (SGD's momentum buffer before the first step) or not a number."""
    out = []
    for k, v in state.items():
        if k in scalars:
            v = float(v._data) if isinstance(v, Tensor) else v
            if not isinstance(v, (int, float)):
                return None
        elif isinstance(v, Tensor):
            v = _ARRAY
        else:
            return None
        out.append((k, v))
    return tuple(out)


_SET_ERROR = ("optimizer parameters need to be an ordered collection (a list), not a set: the order of a set "
              "changes between runs, and state_dict matches parameters by position")


def _index(key):
    """A state_dict parameter index; formats that store keys as text give "0", "1", ..."""
    return int(key) if isinstance(key, str) and key.isdigit() else key


def _is_number(value) -> bool:
    """A real number (a one-element real Tensor too, as PyTorch accepts); not a bool, which is a flag."""
    if isinstance(value, Tensor):
        return value.numel() == 1 and value.dtype.kind in "iuf"
    return isinstance(value, numbers.Real) and not isinstance(value, BOOL_SCALARS)


def _describe(value) -> str:
    """``value`` for an error message: its type and (at most 80 characters of) its repr."""
    if isinstance(value, Tensor):
        return f"a Tensor of shape {value.shape}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 80 else text[:77] + '...'}"


_KIND_NAMES = {"number": "a number", "int": "an integer", "bool": "a bool", "bool or None": "a bool or None",
               "str or None": "a string or None", "pair": "a pair of numbers"}


def _check_option_type(name: str, value, kind: str) -> None:
    """Raise ``TypeError`` (``ValueError`` for a pair of the wrong length or, as PyTorch, a Tensor number of
    more than one element) unless ``value`` is of ``kind``: "number", "int", "bool", "pair" (of numbers),
    "bool or None" or "str or None"."""
    if kind == "number" and isinstance(value, Tensor) and value.numel() != 1:
        raise ValueError(f"Tensor {name} must be 1-element, got a Tensor of shape {value.shape}")
    if kind == "number":
        ok = _is_number(value)
    elif kind == "int":
        ok = isinstance(value, numbers.Integral) and not isinstance(value, BOOL_SCALARS)
    elif kind == "bool":
        ok = isinstance(value, BOOL_SCALARS)
    elif kind == "bool or None":
        ok = value is None or isinstance(value, BOOL_SCALARS)
    elif kind == "str or None":
        ok = value is None or isinstance(value, str)
    else:  # a pair
        if isinstance(value, (tuple, list)) and len(value) != 2:
            raise ValueError(f"Invalid {name}: {value!r}; expected a pair of numbers, got {len(value)} values")
        ok = isinstance(value, (tuple, list)) and all(_is_number(v) for v in value)
    if not ok:
        raise TypeError(f"optimizer option {name!r} must be {_KIND_NAMES[kind]}, got {_describe(value)}")


# The type of every option the built-in optimizers take (an option of one name means one thing).
_OPTION_TYPES = {
    **dict.fromkeys(["lr", "eps", "weight_decay", "momentum", "dampening", "momentum_decay", "lr_decay",
                     "initial_accumulator_value", "rho", "alpha", "lambd", "t0", "tolerance_grad",
                     "tolerance_change"], "number"),
    **dict.fromkeys(["amsgrad", "maximize", "nesterov", "decoupled_weight_decay", "centered", "capturable",
                     "differentiable"], "bool"),
    **dict.fromkeys(["betas", "etas", "step_sizes"], "pair"),
    **dict.fromkeys(["max_iter", "max_eval", "history_size"], "int"),
    **dict.fromkeys(["foreach", "fused"], "bool or None"),
    "line_search_fn": "str or None",
}


def _loaded_scalar(value, expected):
    """A loaded scalar state entry (``step``, ASGD's ``eta``, ...) as ``_init_state`` gives it, a Python number,
    for :func:`_check_loaded_value` to judge: a one-element real Tensor (PyTorch's float32 ``tensor(3.)``)
    becomes its number, and a whole float an int where ``_init_state`` gives an int (a fractional ``step``
    stays an error). Anything else is returned as it is."""
    if isinstance(expected, Tensor) or expected is None:
        return value
    if isinstance(value, Tensor) and value.numel() == 1 and value.dtype.kind in "iuf":
        value = value.item()
    if (isinstance(expected, numbers.Integral) and isinstance(value, numbers.Real)
            and not isinstance(value, numbers.Integral) and float(value).is_integer()):
        value = int(value)
    return value


def _check_loaded_value(where: str, key: str, value, expected, p: Tensor) -> None:
    """Raise unless the loaded state entry ``value`` has the kind of ``expected`` (what ``_init_state``
    makes): a Tensor shaped and typed like ``p`` (``None`` also allows None, for a buffer made on the
    first step), an int, or a number."""
    if isinstance(expected, Tensor) or expected is None:
        if value is None and expected is None:
            return
        if not isinstance(value, Tensor):
            raise TypeError(f"{where}: state {key!r} must be a Tensor shaped like the parameter {p.shape}, "
                            f"got {_describe(value)}")
        shape = expected.shape if isinstance(expected, Tensor) else p.shape  # reduced for Adafactor's moments
        if value.shape != shape:
            raise ValueError(f"{where}: state {key!r} has shape {value.shape}, but the parameter has shape "
                             f"{p.shape} (so the state needs {shape}); the state dict was saved for another model "
                             f"(or a changed one)")
        if value.dtype != p.dtype:
            raise TypeError(f"{where}: state {key!r} has dtype {value.dtype.name}, but the parameter is "
                            f"{p.dtype.name}; it must be floating like the parameter")
    else:
        integer = isinstance(expected, numbers.Integral)
        if isinstance(value, Tensor) or not _is_number(value) or integer and not isinstance(value, numbers.Integral):
            raise TypeError(f"{where}: state {key!r} must be {'an integer' if integer else 'a number'}, "
                            f"got {_describe(value)}")


def _write_scalars(state: dict, s: dict, names) -> None:
    """Write the scalar entries ``names`` of ``s`` (Python numbers) back into ``state``: in place into their 0-d
    Tensors (as PyTorch's ``step_t += 1``: a Tensor someone holds sees the new value; on the host, no device
    sync), or as new ones where a number was assigned by hand or swapped in."""
    for k in names:
        old = state.get(k)
        if isinstance(old, Tensor):
            old._data[...] = s[k]
        else:
            state[k] = scalar_tensor(s[k])


class Optimizer:
    """Base class of all optimizers (as ``torch.optim.Optimizer``).

    ``params``: an iterable of Tensors (or ``(name, tensor)`` pairs), or of dicts each holding
    ``"params"`` and per-group options that override ``defaults``. Every parameter must be a
    floating-point leaf tensor and appear once.
    """

    def __init__(self, params, defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError(
                "params given to the optimizer should be an iterable of Tensors or dicts, but got a "
                "Tensor; wrap it in a list: [tensor]"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(_SET_ERROR)
        self.defaults = dict(defaults)
        self._init_hooks()
        self._check_group(self.defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        self._layouts: dict = {}
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def _init_hooks(self) -> None:
        for name in _HOOK_TABLES:
            setattr(self, name, OrderedDict())

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_marks_called", False):
            cls.step = _marks_called(step)

    # ---- subclass hooks ---------------------------------------------------------------
    option_types = _OPTION_TYPES  # option name -> its kind (see _check_option_type); others are not checked
    # whether complex parameters are taken (stepped as float pairs, see _single_step); False where PyTorch refuses
    # them or where lucid's own flat-vector step does not handle them (LBFGS: a deliberate difference)
    complex_params = True

    def _check(self, group: dict) -> None:
        """Raise ``ValueError`` for invalid options in ``group`` (the defaults or one group)."""

    def _check_group(self, group: dict) -> None:
        """The option types (``option_types``), then the subclass's value checks (``_check``)."""
        for name, value in group.items():
            kind = self.option_types.get(name)
            if kind is not None and value is not required:  # (a default that each group gives)
                _check_option_type(name, value, kind)
        check_switches(group)
        self._check(group)

    def _check_state(self, state: dict, p: Tensor, group: dict, where: str) -> None:
        """Raise ``ValueError``/``TypeError`` unless the loaded ``state`` of ``p`` fits it: the keys that
        ``_init_state`` makes, its Tensors shaped and typed like ``p``, numbers where it has numbers.
        Empty state (a parameter not stepped yet) always fits. An optimizer without ``_init_state``
        (written the PyTorch way, keeping its own state in ``step``) is not checked."""
        if not state or type(self)._init_state is Optimizer._init_state:
            return
        expected = self._init_state(p, group)
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        if missing or unexpected:
            raise ValueError(
                f"{where}: {type(self).__name__} state with these options holds {sorted(expected)}, but the loaded "
                f"state " + " and ".join(filter(None, [missing and f"lacks {missing}",
                                                      unexpected and f"has unexpected {unexpected}"]))
            )
        for key, value in list(state.items()):
            value = _loaded_scalar(value, expected[key])
            _check_loaded_value(where, key, value, expected[key], p)
            state[key] = scalar_tensor(value) if key in self.scalar_state else value

    # names of the state entries kept as 0-d CPU Tensors of the scalar dtype (see the module docstring)
    scalar_state: tuple = ()
    _capturable_state = "params and state_steps"  # what PyTorch's capturable check names

    def _init_state(self, p: Tensor, group: dict) -> dict:
        """The state of ``p`` before its first step."""
        return {}

    def _new_state(self, p: Tensor, group: dict) -> dict:
        """``_init_state`` with its ``scalar_state`` numbers made 0-d CPU Tensors, as the state keeps them."""
        state = self._init_state(p, group)
        for key in self.scalar_state:
            state[key] = scalar_tensor(state[key])
        return state

    def _state_shape(self, key: str, p: Tensor) -> tuple:
        """The shape of the state Tensor ``key`` of ``p``: the parameter's, unless the optimizer keeps a reduced
        one (Adafactor's row and column moments)."""
        return p.shape

    def _update(self, xp, p, g, s: dict, group: dict) -> None:
        """One step on arrays: change ``p`` and the arrays in ``s`` in place."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    # ---- parameter groups ---------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (a dict with ``"params"`` and optional options)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_ERROR)
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(params):
            raise ValueError("all optimizer params should be with or without names; some names are missing")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but parameter {i} is a {type(p).__name__}")
            if p.dtype.kind == "c" and not self.complex_params:
                raise TypeError(f"{type(self).__name__} does not support complex parameters (parameter {i} is "
                                f"{p.dtype.name})")
            if p.dtype.kind not in "fc":
                raise TypeError(
                    f"optimizer can only optimize floating-point or complex tensors, but parameter {i} has dtype "
                    f"{p.dtype.name}"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"can't optimize a non-leaf Tensor (parameter {i} was computed by {p.grad_fn.name()}); "
                    "optimize the leaf it was computed from, or detach() it and set requires_grad"
                )
        if len({id(p) for p in params}) != len(params):  # kept, and updated once per listing, as PyTorch
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        earlier = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in earlier for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        if names:
            group["param_names"] = names
        if self.param_groups and ("param_names" in group) != ("param_names" in self.param_groups[0]):
            raise ValueError("all optimizer param groups should be with or without names")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        self._check_group(group)
        self.param_groups.append(group)

    # ---- stepping -------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: set them to None (default), or fill them with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:  # as PyTorch: detach_() only a grad with history (a view's detach_ raises)
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    if g._sparse:  # no entries left, as PyTorch's zero_() of a sparse tensor
                        g.zero_()
                    else:
                        g._data[...] = 0.0
                        g._version[0] += 1

    @_marks_called
    def step(self, closure=None):
        """Update every parameter that has a gradient; ``closure`` (optional) re-evaluates the
        loss with gradients enabled and its result is returned."""
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        self._check_step()
        for index, group in enumerate(self.param_groups):
            params = [p for p in group["params"] if p.grad is not None]
            for p in params:
                if not self.state.get(p):  # no entry for a stateless update (plain SGD), as PyTorch
                    new = self._new_state(p, group)
                    if new:
                        self.state[p].update(new)
            looped = [p for p in params if p.grad._sparse or p.dtype.kind == "c"]  # sparse gradients and complex
            dense = [p for p in params if not (p.grad._sparse or p.dtype.kind == "c")]  # parameters take the loop
            if dense and self._wants_foreach(group, dense):
                params = self._foreach_step(index, group, dense) + looped
            for p in params:
                with p._device.context():  # the update's temporaries beside p (CuPy with several GPUs)
                    self._single_step(p, group)
        return loss

    def _check_step(self) -> None:
        """Raise before any update if a gradient or a state Tensor does not fit its parameter (assigned
        by hand, say), so that ``step`` never updates some parameters and then fails."""
        for i, group in enumerate(self.param_groups):
            for j, p in enumerate(group["params"]):
                g = p.grad
                if g is None:
                    continue
                if group.get("capturable") and p._device.type != "cuda":  # as PyTorch: CUDA graphs need GPU state
                    raise AssertionError(f"If capturable=True, {self._capturable_state} must be on supported devices: "
                                         f"['cuda']. Parameter {j} of group {i} is on {p._device}; pass "
                                         "capturable=False for parameters off the GPU")
                refusal = self._grad_refusal(p, g, group)
                if refusal is not None:
                    raise RuntimeError(refusal)
                if g.shape != p.shape or g._device is not p._device:
                    where = f"parameter {j} of group {i}"
                    raise ValueError(
                        f"{where}: its gradient is {g.shape} on {g._device}, but the parameter is {p.shape} on "
                        f"{p._device}; a gradient must match its parameter. Nothing was updated"
                    )
                for key, value in self.state.get(p, {}).items():
                    if key in self.scalar_state or not isinstance(value, Tensor):
                        continue
                    if value.shape != self._state_shape(key, p) or value._device is not p._device:
                        where = f"parameter {j} of group {i}"
                        raise ValueError(
                            f"{where}: its state {key!r} is {value.shape} on {value._device}, but the parameter is "
                            f"{p.shape} on {p._device}; load a state dict saved for this model. Nothing was updated"
                        )

    def _grad_refusal(self, p: Tensor, g: Tensor, group: dict) -> str | None:
        """Why ``step`` refuses the gradient ``g`` of ``p`` (PyTorch's message), or None: a sparse one unless the
        optimizer has a ``_sparse_update``."""
        if g._sparse and self._sparse_update is None:
            return f"{type(self).__name__} does not support sparse gradients"
        return None

    # ``_sparse_update(p, g, s, group)``: one step with the sparse COO gradient ``g`` on lucid Tensors (unrecorded;
    # ``p`` the parameter, ``s`` its state: Tensors, changed in place or replaced in ``s``, and the scalar_state
    # numbers), as PyTorch's sparse branch computes it; None where PyTorch refuses sparse gradients
    _sparse_update = None

    def _single_step(self, p: Tensor, group: dict) -> None:
        state, scalars = self.state.get(p, {}), self.scalar_state
        sparse = p.grad._sparse
        s = {k: v if sparse or not isinstance(v, Tensor) else v._data for k, v in state.items()}
        for k in scalars:
            s[k] = float(s[k])  # read on the host: scalar state is on the CPU
        if sparse:
            with grad_mode.no_grad():
                self._sparse_update(p, p.grad, s, group)
            for k, v in s.items():
                if k not in scalars:
                    state[k] = v
            _write_scalars(state, s, scalars)
            return
        backend = p._device.backend
        if p.dtype.kind == "c":
            self._pairs_update(p, s, group)
        else:
            self._update(p.xp, p._writable_data(), p.grad._data, s, group)  # (in place: no NumPy scalar)
        for k, v in s.items():
            if k not in scalars and not isinstance(state.get(k), Tensor):
                if not (v is None or isinstance(v, (int, float))):
                    v = Tensor._make(backend.as_complex(v) if p.dtype.kind == "c" else v, p._device)
                state[k] = v
        _write_scalars(state, s, scalars)
        p._version[0] += 1

    def _pairs_update(self, p: Tensor, s: dict, group: dict) -> None:
        """``_update`` of the complex ``p`` on its (real, imaginary) float pairs, as PyTorch's ``view_as_real``:
        each part has its own moments (Adam's ``exp_avg_sq`` holds ``g.real**2`` and ``g.imag**2``, not ``|g|**2``).
        The state keeps complex Tensors; the pairs are written back, for backends where they are copies."""
        backend, state = p._device.backend, self.state.get(p, {})
        held = [k for k, v in state.items() if isinstance(v, Tensor) and v.dtype.kind == "c"]
        s.update({k: backend.complex_part(s[k], "pairs") for k in held})
        data = backend.complex_part(p._data, "pairs")
        self._update(p.xp, data, backend.complex_part(p.grad._data, "pairs"), s, group)
        for k in held:
            state[k]._data[...] = backend.as_complex(s.pop(k))
        p._data[...] = backend.as_complex(data)

    @staticmethod
    def _wants_foreach(group: dict, params) -> bool:
        if group.get("fused"):
            return True
        foreach = group.get("foreach")
        return params[0]._device.type == "cuda" if foreach is None else bool(foreach)

    def _foreach_step(self, index: int, group: dict, params: list) -> list:
        """Update ``params`` as flat arrays, one per bucket of parameters sharing device, dtype
        and scalar state; returns those left for the loop (alone in their bucket, or with
        state not set yet)."""
        buckets: dict = {}
        listed = Counter(id(p) for p in params)
        rest = [p for p in params if listed[id(p)] > 1]  # one update per listing, in order (PyTorch's for-loop)
        for p in params:
            if listed[id(p)] > 1:
                continue
            buckets.setdefault((p._device, p.dtype, _signature(self.state.get(p, {}), self.scalar_state)), []).append(p)
        for (device, _, signature), bucket in buckets.items():
            if signature is None or len(bucket) < 2:
                rest += bucket
                continue
            xp, states = device.xp, [self.state.get(p, {}) for p in bucket]
            scalars = {k: v for k, v in signature if v is not _ARRAY}
            with device.context():
                s = dict(scalars, **self._flat_state(index, bucket, states))
                flat_p = xp.concat([xp.reshape(p._data, (-1,)) for p in bucket])
                flat_g = xp.concat([xp.reshape(p.grad._data, (-1,)) for p in bucket])
                self._update(xp, flat_p, flat_g, s, group)
            start = 0
            for p, state in zip(bucket, states):
                n = p.numel()
                p._writable_data()[...] = xp.reshape(flat_p[start:start + n], p._data.shape)
                p._version[0] += 1
                _write_scalars(state, s, scalars)
                start += n
        return rest

    def _flat_state(self, index: int, params: list, states: list) -> dict:
        """One flat array per Tensor entry of the state, with each parameter's state Tensor
        holding a view of its slice. Built once per set of parameters and reused while their
        state Tensors are the same (a load_state_dict or a new parameter set rebuilds it)."""
        names = [k for k, v in states[0].items() if isinstance(v, Tensor) and k not in self.scalar_state]
        key = (index, tuple(id(p) for p in params))
        cached = self._layouts.get(key)
        if (cached is not None and list(cached[0]) == names
                and all(s[k]._data is cached[1][k][i] for k in names for i, s in enumerate(states))):
            return cached[0]
        members = set(key[1])
        for old in [k for k in self._layouts if k[0] == index and members.intersection(k[1])]:
            del self._layouts[old]  # those parameters' state now lives in the new buffers
        xp = params[0].xp
        flat, views = {}, {}
        for k in names:
            flat[k] = xp.concat([xp.reshape(s[k]._data, (-1,)) for s in states])
            views[k], start = [], 0
            for p, s in zip(params, states):
                n = p.numel()
                s[k]._data = xp.reshape(flat[k][start:start + n], p._data.shape)
                views[k].append(s[k]._data)
                start += n
        self._layouts[key] = (flat, views)
        return flat

    # ---- hooks (as PyTorch's; each returns a handle whose remove() takes it out) -------------------
    def register_step_pre_hook(self, hook) -> RemovableHandle:
        """Run ``hook(optimizer, args, kwargs)`` before ``step``; it may return ``(new_args, new_kwargs)``."""
        return add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook) -> RemovableHandle:
        """Run ``hook(optimizer, args, kwargs)`` after ``step``."""
        return add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Run ``hook(optimizer)`` before :meth:`state_dict` builds the dict."""
        return add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Run ``hook(optimizer, state_dict)`` on the dict :meth:`state_dict` built; a returned dict replaces it."""
        return add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Run ``hook(optimizer, state_dict)`` before :meth:`load_state_dict`; a returned dict is loaded instead."""
        return add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Run ``hook(optimizer)`` after :meth:`load_state_dict` has loaded."""
        return add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ---- saving and loading -----------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"state": {index: {name: value}}, "param_groups": [{option: value, "params":
        [index, ...]}]}`` as in PyTorch: parameters are numbered in group order, so the dict
        holds no parameter, only its state: the live state Tensors, as PyTorch's (a later step
        changes them; ``copy.deepcopy`` the dict to keep a snapshot), scalar state as 0-d float32
        CPU Tensors (float64 under a float64 default dtype), and every option PyTorch's groups
        hold (``capturable``, ``differentiable``, ``fused`` where the optimizer has them). The
        state-dict hooks run around it."""
        for hook in list(self._optimizer_state_dict_pre_hooks.values()):
            hook(self)
        out = self._state_dict()
        for hook in list(self._optimizer_state_dict_post_hooks.values()):
            result = hook(self, out)
            if result is not None:
                out = result
        return out

    def _state_dict(self) -> dict:
        index: dict[int, int] = {}  # numbered by position, a parameter listed twice by its last, as PyTorch
        groups, start = [], 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            index.update({id(p): i for i, p in enumerate(group["params"], start) if id(p) not in index})
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(group["params"])
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a :meth:`state_dict`: state and options go to this optimizer's own parameters
        (matched by position), so it keeps updating the model it was built for. Tensors are
        copied onto each parameter's device (floating ones in its dtype); scalar entries
        (``step``, ASGD's ``eta`` and ``mu``, NAdam's ``mu_product``), from a one-element Tensor
        or a number, become 0-d CPU Tensors of the scalar dtype, as a fresh optimizer keeps them,
        so a loaded optimizer steps exactly as the saved one did (PyTorch's load casts all but
        ``step`` to the parameter's dtype, after which its steps round them differently); the
        dict passed in is never aliased. Everything is checked first (group and parameter counts,
        option types and values, each state entry's keys, shapes and dtypes); on any mismatch a
        ``ValueError`` or ``TypeError`` names the group, parameter and key, and nothing is
        changed. The load hooks run before (and may replace the dict) and after."""
        for hook in list(self._optimizer_load_state_dict_pre_hooks.values()):
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        self._load_state_dict(state_dict)
        for hook in list(self._optimizer_load_state_dict_post_hooks.values()):
            hook(self)

    def _load_state_dict(self, state_dict) -> None:
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict expects the dict that state_dict() returns, got {_describe(state_dict)}")
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise ValueError(f"loaded state dict has no {key!r} entry (it has {sorted(map(str, state_dict))}); "
                                 f"pass the dict that Optimizer.state_dict() returns")
        saved = copy.deepcopy(state_dict["param_groups"])
        if not isinstance(saved, (list, tuple)) or not all(isinstance(g, Mapping) for g in saved):
            raise TypeError(f"loaded state dict's 'param_groups' must be a list of dicts, got {_describe(saved)}")
        saved = [dict(g) for g in saved]
        if len(saved) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved)} parameter groups, but the optimizer has "
                f"{len(self.param_groups)}"
            )
        id_map, group_of = {}, {}
        for i, (group, saved_group) in enumerate(zip(self.param_groups, saved)):
            indices = saved_group.get("params")
            if not isinstance(indices, (list, tuple)):
                raise TypeError(f"loaded state dict's parameter group {i} must list its parameters' indices under "
                                f"'params', got {_describe(indices)}")
            if len(group["params"]) != len(indices):
                raise ValueError(
                    f"loaded state dict's parameter group {i} has {len(indices)} parameters, "
                    f"but the optimizer's has {len(group['params'])}"
                )
            for j, (k, p) in enumerate(zip(map(_index, indices), group["params"])):
                k = int(k) if isinstance(k, numbers.Integral) and not isinstance(k, bool) else k
                if not isinstance(k, int) or (k in id_map and id_map[k] is not p):  # a parameter listed twice: once
                    raise ValueError(f"loaded state dict's parameter group {i} lists {k!r} at position {j}; "
                                     f"expected a parameter index (an int) that no other position lists")
                id_map[k], group_of[k] = p, (i, j)
        for i, (group, saved_group) in enumerate(zip(self.param_groups, saved)):
            saved_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved_group:
                saved_group["param_names"] = group["param_names"]
            for name, default in self.defaults.items():
                saved_group.setdefault(name, default)
            try:
                self._check_group(saved_group)
            except (TypeError, ValueError) as e:
                raise type(e)(f"loaded state dict's parameter group {i}: {e}") from None
        if not isinstance(state_dict["state"], Mapping):
            raise TypeError(f"loaded state dict's 'state' must be a dict from parameter index to state, got "
                            f"{_describe(state_dict['state'])}")
        state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            param = id_map.get(_index(key))
            if param is None:
                raise ValueError(
                    f"loaded state dict has state for parameter {key!r}, which none of its parameter "
                    f"groups lists (they list {sorted(id_map)})"
                )
            i, j = group_of[_index(key)]
            where = f"loaded state of parameter {key!r} (group {i}, position {j})"
            if not isinstance(value, Mapping):
                raise TypeError(f"{where} must be a dict of named values, got {_describe(value)}")
            # scalar entries are remade on the CPU by _check_state, not copied to the parameter's device
            state[param] = {k: v if k in self.scalar_state else _copy_to(v, param) for k, v in value.items()}
            self._check_state(state[param], param, saved[i], where)
        self.state, self.param_groups, self._layouts = state, saved, {}

    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._layouts = {}
        self._init_hooks()  # hooks are not copied or pickled (they are often bound to other objects)

    def __repr__(self) -> str:
        groups = ["\n".join([f"Parameter Group {i}"] + [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"])
                  for i, group in enumerate(self.param_groups)]
        return f"{type(self).__name__} (\n" + "\n\n".join(groups) + "\n)"  # PyTorch's: a blank line between groups
