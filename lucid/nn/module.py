"""``Module``: the base class of every layer and model (PyTorch's ``torch.nn.Module`` semantics).

A module owns three kinds of things, each kept in its own ordered table and found by
attribute access:

- parameters (:class:`~lucid.nn.Parameter`, in ``_parameters``): trained, listed by
  ``parameters()``, saved in ``state_dict``;
- buffers (:class:`~lucid.nn.Buffer`, in ``_buffers``): state that is not trained; they
  move and cast with the module, and are saved in ``state_dict`` when persistent;
- submodules (in ``_modules``).

Anything else assigned to an attribute, a plain Tensor included, is an ordinary Python
attribute: it is not listed, moved, cast or saved (seed 002: ``self.count = tensor(0)``
"is not a buffer"). Register it with ``register_buffer`` if it should be.
"""

from __future__ import annotations

import contextvars
import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

from .. import _typeinfo
from .. import dtypes as _dt
from .._backend.device import device as _parse_device
from .._tensor import Tensor, parse_to_args
from ..autograd import grad_mode
from .hooks import (
    BackwardHooks,
    RemovableHandle,
    add_hook,
    global_backward_hooks,
    global_backward_pre_hooks,
    global_forward_hooks,
    global_forward_pre_hooks,
)
from .parameter import Buffer, Parameter

__all__ = ["Module", "register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_pre_hook", "register_module_full_backward_hook",
           "register_module_backward_hook"]


# ---- hooks of every module (PyTorch's torch.nn.modules.module.register_module_*_hook) ---------------------------
def register_module_forward_pre_hook(hook) -> RemovableHandle:
    """Call ``hook(module, args)`` before the ``forward`` of every module, ahead of the module's own pre-hooks."""
    return add_hook(global_forward_pre_hooks, hook, entry=(hook, False))


def register_module_forward_hook(hook, *, with_kwargs: bool = False, always_call: bool = False) -> RemovableHandle:
    """Call ``hook`` after the ``forward`` of every module, ahead of the module's own forward hooks (the
    arguments as :meth:`Module.register_forward_hook`'s)."""
    return add_hook(global_forward_hooks, hook, entry=(hook, with_kwargs, always_call))


def register_module_full_backward_pre_hook(hook) -> RemovableHandle:
    """:meth:`Module.register_full_backward_pre_hook` for every module, ahead of the module's own."""
    return add_hook(global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook) -> RemovableHandle:
    """:meth:`Module.register_full_backward_hook` for every module, ahead of the module's own."""
    return add_hook(global_backward_hooks, hook)


register_module_backward_hook = register_module_full_backward_hook  # deprecated in PyTorch (see register_backward_hook)

_HOOK_TABLES = (
    "_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks", "_backward_hooks",
    "_state_dict_pre_hooks", "_state_dict_hooks", "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks",
)
_TABLES = ("_parameters", "_buffers", "_modules")
_EXTRA_STATE = "_extra_state"  # state-dict key suffix of get_extra_state()'s value, as in PyTorch


class _LoadPlan:
    """The copies (and extra states) a ``load_state_dict`` makes once every entry is checked."""

    def __init__(self, assign: bool):
        self.assign, self.copies, self.extras = assign, [], []

    def apply(self) -> None:
        with grad_mode.no_grad():
            for module, name, target, value in self.copies:
                if not self.assign:
                    target.copy_(value)
                elif isinstance(target, Parameter):
                    if isinstance(value, Parameter):  # PyTorch keeps a Parameter it is given
                        value.requires_grad_(target.requires_grad)
                    else:
                        value = Parameter(value, requires_grad=target.requires_grad)
                    module._parameters[name] = value
                else:
                    module._buffers[name] = Buffer(value, dtype=value.dtype, persistent=target.persistent)
        for module, state in self.extras:
            module.set_extra_state(state)


_LOAD_PLAN: contextvars.ContextVar = contextvars.ContextVar("lucid_load_plan", default=None)  # load_state_dict's


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys the module wanted but did not get, and the
    keys of the state dict that the module does not have."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class Module:
    """Base class of neural-network layers and models.

    Subclasses call ``super().__init__()`` first, assign parameters, buffers and submodules
    as attributes (or use ``register_parameter`` / ``register_buffer`` / ``add_module``) and
    implement ``forward``; call the module (``model(x)``), not ``forward``, so hooks run.
    """

    _version = 1  # passed to state-dict hooks as local_metadata["version"], as in PyTorch
    training: bool

    def __init__(self) -> None:
        init = object.__setattr__
        init(self, "training", True)
        for table in _TABLES:
            init(self, table, {})
        init(self, "_non_persistent_buffers_set", set())
        for table in _HOOK_TABLES:
            init(self, table, OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    # ---- registration ---------------------------------------------------------------
    def _check_name(self, name, kind: str, table: dict) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got {name!r}')
        if hasattr(self, name) and name not in table:
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}; pick another {kind} name")

    def _table(self, table: str, kind: str) -> dict:
        found = self.__dict__.get(table)
        if found is None:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call; call super().__init__() first")
        return found

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` (a Parameter, or None for an optional one) as parameter ``name``."""
        params = self._table("_parameters", "parameters")
        self._check_name(name, "parameter", params)
        if param is not None:
            if not isinstance(param, Parameter):
                raise TypeError(
                    f"cannot assign {type(param).__name__!r} object to parameter {name!r} (lucid.nn.Parameter or "
                    f"None required); wrap it: nn.Parameter(tensor)"
                )
            if param.grad_fn is not None:
                raise ValueError(f"cannot register parameter {name!r}: it is not a leaf (it has a grad_fn)")
        params[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool | None = None) -> None:
        """Add ``tensor`` as buffer ``name``: state that moves and casts with the module but is
        never trained. ``tensor`` is a Buffer (kept as it is), a Tensor (wrapped in a Buffer that
        shares its storage and keeps its dtype), array or Python data (made a Buffer: floats
        become float32) or None (an optional buffer).

        ``persistent`` (default True, or the Buffer's own flag when a Buffer is given) says
        whether ``state_dict`` includes it.

        Example:
            >>> import lucid
            >>> import lucid.nn as nn
            >>> class RunningMean(nn.Module):
            ...     def __init__(self, n):
            ...         super().__init__()
            ...         self.register_buffer("mean", lucid.zeros(n))
            ...         self.register_buffer("count", lucid.tensor(0))
            ...         self.register_buffer("scratch", lucid.zeros(n), persistent=False)
            ...
            ...     def forward(self, x):
            ...         with lucid.no_grad():
            ...             self.count += 1
            ...             self.mean += (x.mean(dim=0) - self.mean) / self.count.item()
            ...         return x - self.mean
            >>> tracker = RunningMean(2)
            >>> _ = tracker(lucid.tensor([[1.0, 2.0], [3.0, 4.0]]))
            >>> tracker.mean, tracker.count
            (tensor([2., 3.]), tensor(1))
            >>> sorted(tracker.state_dict())
            ['count', 'mean']
            >>> [type(b).__name__ for b in tracker.buffers()], list(tracker.parameters())
            (['Buffer', 'Buffer', 'Buffer'], [])
        """
        buffers = self._table("_buffers", "buffers")
        self._check_name(name, "buffer", buffers)
        if persistent is None:
            persistent = tensor.persistent if isinstance(tensor, Buffer) else True
        persistent = bool(persistent)
        if tensor is not None:
            if not isinstance(tensor, Buffer):
                try:
                    tensor = Buffer(tensor, dtype=tensor.dtype if isinstance(tensor, Tensor) else None)
                except TypeError as e:
                    raise TypeError(f"cannot register a {type(tensor).__name__} as buffer {name!r}: {e}") from None
            tensor.persistent = persistent
        buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add ``module`` (or None) as submodule ``name``."""
        modules = self._table("_modules", "modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module", modules)
        modules[name] = module

    register_module = add_module

    def _forget(self, name: str) -> None:
        """Remove ``name`` from the attribute dict and every table (before re-registering it)."""
        self.__dict__.pop(name, None)
        for table in _TABLES:
            self.__dict__[table].pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __setattr__(self, name: str, value) -> None:
        """A Parameter, Buffer or Module value (re-)registers ``name`` as that kind, whatever it
        was before; any other value assigned to a registered name must suit that name's kind
        (a plain Tensor assigned to a buffer name replaces the buffer, as in PyTorch)."""
        d = self.__dict__
        kinds = ((Parameter, "_parameters", "register_parameter"), (Buffer, "_buffers", "register_buffer"),
                 (Module, "_modules", "add_module"))
        for kind, table, register in kinds:
            if isinstance(value, kind):
                if d.get(table, {}).get(name) is value:  # ``self.buf += x`` hands back the same object
                    return
                if name not in self._table(table, table[1:]):  # replacing one of a kind keeps its place
                    self._forget(name)
                getattr(self, register)(name, value)  # a Buffer brings its own persistent flag
                return
        if name in d.get("_parameters", ()):
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__!r} as parameter {name!r} (nn.Parameter or None "
                    f"expected); to change its values in place use `with lucid.no_grad(): "
                    f"module.{name}.copy_(value)`"
                )
            d["_parameters"][name] = None
        elif name in d.get("_modules", ()):
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__!r} as child module {name!r} (Module or None expected)"
                )
            d["_modules"][name] = None
        elif name in d.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__!r} as buffer {name!r} (nn.Buffer, Tensor or None expected)"
                )
            self.register_buffer(name, value, name not in self._non_persistent_buffers_set)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        d = self.__dict__
        for table in _TABLES:
            found = d.get(table)
            if found is not None and name in found:
                return found[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for table in _TABLES:
            if name in self.__dict__.get(table, ()):
                del self.__dict__[table][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        """Attributes, parameters, buffers and submodules, less names that are not identifiers
        (a Sequential's ``"0"``, ``"1"``...), as in PyTorch."""
        keys = set(super().__dir__()).union(*(self.__dict__[t].keys() for t in _TABLES))
        return sorted(key for key in keys if not key[:1].isdigit())

    # ---- traversal ------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True):
        """``(qualified name, module)`` for this module and every submodule, depth first.
        A module reachable twice is listed once unless ``remove_duplicate=False``."""
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        """Every module in the tree (this one first), each once."""
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """``(name, module)`` for the direct submodules, each once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self):
        """The direct submodules, each once."""
        for _, module in self.named_children():
            yield module

    def _named_members(self, table: str, prefix: str, recurse: bool, remove_duplicate: bool):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in module.__dict__[table].items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """``(qualified name, Parameter)`` pairs; a shared parameter is listed once unless
        ``remove_duplicate=False``; ``recurse=False`` gives only this module's own."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        """The parameters (what an optimizer trains), each once."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """``(qualified name, Buffer)`` pairs, persistent or not."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        """The buffers, persistent or not, each once."""
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path ``target`` (``""`` is this module)."""
        module = self
        if target == "":
            return module
        for item in target.split("."):
            child = module._modules.get(item) if isinstance(module, Module) else None
            if child is None:
                if not hasattr(module, item):
                    raise AttributeError(f"{type(module).__name__} has no attribute `{item}` (looking up {target!r})")
                raise AttributeError(f"`{item}` is not a Module (looking up {target!r})")
            module = child
        return module

    def _get_member(self, target: str, table: str, kind: str):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}` (looking up {target!r})")
        if module.__dict__[table].get(name) is None:  # not one, or registered as None (as PyTorch, which raises)
            raise AttributeError(f"`{name}` is not a {kind} (looking up {target!r})")
        return module.__dict__[table][name]

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path ``target`` (e.g. ``"encoder.0.weight"``)."""
        return self._get_member(target, "_parameters", "nn.Parameter")

    def get_buffer(self, target: str) -> Buffer:
        """The buffer at dotted path ``target`` (e.g. ``"bn.running_mean"``)."""
        return self._get_member(target, "_buffers", "buffer")

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Put ``module`` at dotted path ``target`` (e.g. ``"encoder.0"``), as PyTorch: the parent
        must exist; an existing attribute of that name must be a submodule, which is replaced;
        a new name is added unless ``strict=True``, which only replaces."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if not hasattr(parent, name):
            if strict:
                raise AttributeError(f"{parent._get_name()} has no attribute `{name}` (setting {target!r})")
        elif not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module (setting {target!r})")
        setattr(parent, name, module)

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on every submodule (children first) and on this module; returns self.
        Typical use: custom weight initialisation."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- training state ---------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and all submodules."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be a bool, got {type(mode).__name__}")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)`` (dropout off, batch norm uses running statistics)."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Turn gradient tracking of every parameter on or off (e.g. to freeze a part of a model)."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the parameters' gradients: set them to None (default, as PyTorch 2) or to zeros."""
        for param in self.parameters():
            if param._grad is None:
                continue
            if set_to_none:
                param._grad = None
                continue
            grad = param._grad
            if grad._requires_grad:  # a grad built with create_graph=True: cut it from its graph
                grad = param._grad = grad.detach()
            with grad_mode.no_grad():
                grad.zero_()

    # ---- moving and casting -------------------------------------------------------------
    def _apply(self, fn, recurse: bool = True) -> Module:
        """Replace the data of every parameter, its ``.grad`` and every buffer (persistent or not)
        by ``fn(tensor)``, in place (``recurse=False``: this module's own only): each object keeps its
        identity, so optimizers and other references stay valid. All new values are computed before any
        tensor changes, so a failure (e.g. a dtype the target device lacks) leaves the module as it was.
        Plain Tensor attributes are not touched."""
        tensors = {}
        for module in self.modules() if recurse else (self,):
            for table in ("_parameters", "_buffers"):
                for t in module.__dict__[table].values():
                    if t is not None:
                        tensors[id(t)] = t
                        if t._grad is not None:
                            tensors[id(t._grad)] = t._grad
        with grad_mode.no_grad():
            updates = [(t, fn(t)) for t in tensors.values()]
        for t, new in updates:
            if t._sparse:  # a sparse Parameter or Buffer: its index and value tensors replaced in place
                t._take(new)
            elif new._data is not t._data or new._device is not t._device:
                t._data, t._device = new._data, new._device
                t._version[0] += 1  # a graph that saved the old values must not use the new ones
        return self

    def to(self, *args, **kwargs) -> Module:
        """Move and/or cast in place: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``,
        ``to(tensor)`` (its device and dtype). A dtype cast changes floating parameters and
        buffers only (an int64 ``num_batches_tracked`` stays int64), as in PyTorch; the dtype
        must be floating. ``non_blocking=True`` (keyword, or after the device and dtype) copies each tensor to
        a GPU without waiting, as ``Tensor.to``. ``memory_format=`` (``model.to(memory_format=channels_last)``)
        is checked and changes nothing: lucid's tensors stay row-major. Returns self."""
        device, dtype, non_blocking, _, memory_format = parse_to_args(args, kwargs)
        _typeinfo.check_memory_format(memory_format, None, "Module.to")
        if dtype is not None and dtype.kind != "f":
            raise TypeError(f"Module.to only accepts floating point dtypes, got lucid.{dtype.name}")
        return self._apply(lambda t: t.to(device=device, dtype=dtype if t.dtype.kind == "f" else None,
                                          non_blocking=non_blocking))

    def to_empty(self, *, device, recurse: bool = True) -> Module:
        """Give every parameter and buffer (and grad) uninitialised memory of its shape and dtype on ``device``,
        in place (``recurse=False``: this module's own only), as PyTorch's: a module built elsewhere is then
        filled by ``load_state_dict`` or ``reset_parameters``. Returns self."""
        from ..ops.creation import empty_like
        return self._apply(lambda t: empty_like(t, device=device), recurse)

    def cpu(self) -> Module:
        """Move every parameter, grad and buffer to the CPU (in place)."""
        return self.to("cpu")

    def share_memory(self) -> Module:
        """Move every parameter, grad and buffer into shared memory (``Tensor.share_memory_``), so that processes
        this module is passed to (Hogwild training, ``lucid.multiprocessing``) update the same tensors."""
        return self._apply(lambda t: t.share_memory_())

    def cuda(self, device=None) -> Module:
        """Move every parameter, grad and buffer to a CUDA device (default: the current one)."""
        return self.to(_parse_device("cuda", device) if isinstance(device, int) else _parse_device(device or "cuda"))

    def type(self, dst_type) -> Module:
        """Cast floating parameters and buffers to ``dst_type``; a legacy type of another device type also moves
        every one, as ``Tensor.type`` (``lucid.cuda.FloatTensor``: to the current GPU, tensors already on a GPU
        stay there; ``lucid.FloatTensor``: to the CPU). Unlike PyTorch's ``Module.type``, integer and bool
        buffers keep their dtype, as by every other lucid dtype cast."""
        target = _typeinfo.legacy_target(dst_type)
        device_type, dtype = (None, _dt.to_dtype(dst_type)) if target is None else target
        if dtype.kind != "f":
            raise TypeError(f"Module.type only accepts floating point types, got {dst_type!r}")

        def cast(t):
            if t.dtype.kind == "f":
                return t.type(dst_type)
            return t if device_type in (None, t.device.type) else t.to(device_type)

        return self._apply(cast)

    def float(self) -> Module:
        """Cast floating parameters and buffers to float32."""
        return self.to(_dt.float32)

    def double(self) -> Module:
        """Cast floating parameters and buffers to float64."""
        return self.to(_dt.float64)

    def half(self) -> Module:
        """Cast floating parameters and buffers to float16 (not on backends without float16)."""
        return self.to(_dt.float16)

    def bfloat16(self) -> Module:
        """Cast floating parameters and buffers to bfloat16 (not on backends without bfloat16)."""
        return self.to(_dt.bfloat16)

    # ---- state dict ---------------------------------------------------------------------
    def _local_state(self):
        """``(name, tensor)`` for this module's own parameters and persistent buffers."""
        for name, param in self._parameters.items():
            if param is not None:
                yield name, param
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                yield name, buf

    def get_extra_state(self):
        """State beyond parameters and buffers to save in ``state_dict`` under ``"_extra_state"``.
        Override it together with :meth:`set_extra_state` (as in PyTorch); the base class has none."""
        raise RuntimeError(
            f"{type(self).__name__}.get_extra_state() is not implemented: override get_extra_state and "
            f"set_extra_state together to keep extra state in the state dict"
        )

    def set_extra_state(self, state) -> None:
        """Restore what :meth:`get_extra_state` returned, when ``load_state_dict`` meets its entry."""
        raise RuntimeError(
            f"{type(self).__name__}.set_extra_state() is not implemented: override get_extra_state and "
            f"set_extra_state together to keep extra state in the state dict"
        )

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        """Put this module's own entries (not its submodules') into ``destination``: parameters,
        persistent buffers, then ``prefix + "_extra_state"`` when ``get_extra_state`` is overridden.
        Subclasses may override it to change what their own entries look like, as in PyTorch."""
        for name, t in self._local_state():
            destination[prefix + name] = t if keep_vars else t.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + _EXTRA_STATE] = self.get_extra_state()

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """An ordered dict from qualified names to tensors: this module's parameters, then its
        persistent buffers (then its ``_extra_state`` when it has one), then each submodule's entries.
        Values are detached tensors that share storage with the module's (``keep_vars=True`` gives
        the Parameter/Buffer objects). Non-persistent buffers and plain attributes are not included.

        As in PyTorch, the dict carries ``_metadata`` (``{module prefix: {"version": ...}}``), which
        ``load_state_dict`` hands to load hooks as ``local_metadata``; and the deprecated positional
        form ``state_dict(destination, prefix, keep_vars)`` still works, with a FutureWarning."""
        if args:
            if len(args) > 3:
                raise TypeError(f"state_dict() takes at most 3 positional arguments, got {len(args)}")
            warnings.warn("Positional args are being deprecated, use kwargs instead (state_dict(destination=..., "
                          "prefix=..., keep_vars=...))", FutureWarning, stacklevel=2)
            destination = args[0]
            prefix = args[1] if len(args) > 1 and prefix == "" else prefix
            keep_vars = args[2] if len(args) > 2 and keep_vars is False else keep_vars
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        local_metadata = {"version": self._version}
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in list(self._state_dict_pre_hooks.values()):
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=f"{prefix}{name}.", keep_vars=keep_vars)
        for hook in list(self._state_dict_hooks.values()):
            result = hook(self, destination, prefix, local_metadata)
            if result is not None:
                destination = result
        return destination

    def load_state_dict(self, state_dict: Mapping, strict: bool = True, assign: bool = False) -> _IncompatibleKeys:
        """Copy ``state_dict``'s tensors into this module's parameters and persistent buffers.

        Copies go into the existing tensors (same objects, devices and dtypes: values are moved
        and cast to match); with ``assign=True`` the module takes the state dict's tensors
        instead (a Parameter given is used as it is, other tensors are wrapped as Parameter/Buffer,
        keeping their device and dtype; parameters keep the module's ``requires_grad``). Returns
        ``(missing_keys, unexpected_keys)``, in PyTorch's order (module by module, depth first).
        Shape mismatches always raise (a shape-``(1,)`` entry loads into a 0-d tensor, as in
        PyTorch); with ``strict`` (default) missing or unexpected keys raise too. A module that
        overrides ``set_extra_state`` expects a ``"_extra_state"`` entry and gets it after the copies.
        Every module's :meth:`_load_from_state_dict` checks its entries before anything is copied, so when
        it raises (one error listing every problem) the module is untouched; load-state-dict post hooks
        therefore run only after a successful load (submodules' hooks before their parent's, as in PyTorch).
        Load pre hooks get ``local_metadata`` from the state dict's ``_metadata`` (``{}`` without it)
        and ``strict=True``, as PyTorch's do.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"expected a mapping (e.g. a dict from state_dict()), got {type(state_dict).__name__}")
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        if metadata is not None:
            state_dict._metadata = metadata
        missing, unexpected, errors, visited = [], [], [], []
        plan = _LoadPlan(assign)
        token = _LOAD_PLAN.set(plan)
        try:
            self._load(state_dict, "", metadata, assign, (missing, unexpected, errors, visited))
        finally:
            _LOAD_PLAN.reset(token)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__} (nothing was changed):\n\t"
                + "\n\t".join(errors)
            )
        plan.apply()
        result = _IncompatibleKeys(missing, unexpected)
        for module in visited:
            for hook in list(module._load_state_dict_post_hooks.values()):
                if hook(module, result) is not None:
                    raise RuntimeError("load_state_dict post hooks must return None (change the key lists in place)")
        return result

    def _load(self, state_dict, prefix, metadata, assign, found) -> None:
        """Check this module's entries of ``state_dict`` (:meth:`_load_from_state_dict`), then its submodules',
        each given the entries under its prefix, as in PyTorch; record in ``found`` the missing and unexpected
        keys, the errors and the modules visited (children before parents: the order of post hooks)."""
        missing, unexpected, errors, visited = found
        local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
        if assign:
            local_metadata = {**local_metadata, "assign_to_params_buffers": True}
        self._load_from_state_dict(state_dict, prefix, local_metadata, True, missing, unexpected, errors)
        for name, module in self._modules.items():
            if module is not None:
                child = f"{prefix}{name}."
                entries = OrderedDict((k, v) for k, v in state_dict.items() if k.startswith(child))
                module._load(entries, child, metadata, assign, found)
        visited.append(self)

    def _load_from_state_dict(self, state_dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        """Run this module's load pre hooks, then check its own entries of ``state_dict`` (parameters, persistent
        buffers, extra state; not its submodules'), adding to the three lists, as PyTorch's method of this name.
        Within ``load_state_dict`` the copies wait until every module's entries are checked (a failed load
        changes nothing); called on its own, it copies at once. Subclasses override it to rename or convert
        their entries of an older checkpoint in ``state_dict`` (a copy) and then call ``super()``'s, as in
        PyTorch; ``local_metadata["version"]`` is the ``_version`` the checkpoint was saved with."""
        for hook in list(self._load_state_dict_pre_hooks.values()):
            hook(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
        plan = _LOAD_PLAN.get() or _LoadPlan(local_metadata.get("assign_to_params_buffers", False))
        local = dict(self._local_state())
        for name, target in local.items():
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):
                error_msgs.append(f'expected a Tensor for "{key}", got {type(value).__name__}')
                continue
            if target.ndim == 0 and value.shape == (1,):  # PyTorch's allowance for checkpoints from torch < 0.4
                value = value.reshape(())
            if value.shape != target.shape:
                error_msgs.append(
                    f"size mismatch for {key}: copying a tensor of shape {value.shape} from the state dict, "
                    f"but the shape in the current model is {target.shape}."
                )
            else:
                plan.copies.append((self, name, target, value))
        extra_key = prefix + _EXTRA_STATE
        if type(self).set_extra_state is not Module.set_extra_state:
            if extra_key in state_dict:
                plan.extras.append((self, state_dict[extra_key]))
            elif strict:
                missing_keys.append(extra_key)
        elif extra_key in state_dict and strict:
            unexpected_keys.append(extra_key)
        if strict:
            for key in state_dict:
                if key.startswith(prefix) and key != extra_key:
                    head, dot, _ = key[len(prefix):].partition(".")
                    if (head not in self._modules) if dot else (head not in local):
                        unexpected_keys.append(key)
        if plan is not _LOAD_PLAN.get():
            plan.apply()

    # ---- hooks ----------------------------------------------------------------------------
    def register_forward_pre_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` (``hook(module, args, kwargs)`` with ``with_kwargs``) before
        ``forward``; a non-None return replaces the args (``(args, kwargs)`` with ``with_kwargs``)."""
        return add_hook(self._forward_pre_hooks, hook, prepend, (hook, with_kwargs))

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
        ``with_kwargs``) after ``forward``; a non-None return replaces the output. With
        ``always_call=True`` the hook also runs (with output None) when ``forward`` or an earlier
        hook raises, before the exception propagates, as in PyTorch (an exception raised by the hook
        itself then becomes a warning)."""
        return add_hook(self._forward_hooks, hook, prepend, (hook, with_kwargs, always_call))

    def register_full_backward_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients of the module's outputs are known;
        a non-None return (a tuple like ``grad_output``) replaces them."""
        return add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of the module's
        inputs are computed. ``grad_input`` has one entry per positional input (None for
        non-tensors, zeros for tensors without grad); a non-None return replaces it. If no
        input requires grad, the hook runs with ``grad_input`` all None as soon as
        ``grad_output`` is known. Both as in PyTorch."""
        return add_hook(self._backward_hooks, hook, prepend)

    def register_backward_hook(self, hook) -> RemovableHandle:
        """PyTorch's deprecated non-full backward hook, run here as :meth:`register_full_backward_hook`: lucid's
        ``grad_input`` are the gradients of the module's inputs, where PyTorch's are those of the inputs of the
        last operation inside ``forward`` (the same for ``grad_output``, which is what such hooks mostly read)."""
        return self.register_full_backward_hook(hook)

    def register_state_dict_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, prefix, keep_vars)`` before ``state_dict`` collects this module's entries."""
        return add_hook(self._state_dict_pre_hooks, hook)

    def register_state_dict_post_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata)`` after ``state_dict`` collected
        this module's entries; it may change ``state_dict`` in place (or return a replacement)."""
        return add_hook(self._state_dict_hooks, hook)

    _register_state_dict_hook = register_state_dict_post_hook  # PyTorch's older private name

    def register_load_state_dict_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before this module's entries are checked; it may rename
        or convert entries of ``state_dict`` (a copy of the one given) in place."""
        return add_hook(self._load_state_dict_pre_hooks, hook)

    def _register_load_state_dict_pre_hook(self, hook, with_module: bool = False) -> RemovableHandle:
        """PyTorch's older private form of :meth:`register_load_state_dict_pre_hook`: ``hook`` is called without
        the module unless ``with_module``."""
        return self.register_load_state_dict_pre_hook(hook if with_module else lambda module, *args: hook(*args))

    def register_load_state_dict_post_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, incompatible_keys)`` after a successful ``load_state_dict``; it may
        edit the missing/unexpected key lists in place (they are what the call returns)."""
        return add_hook(self._load_state_dict_post_hooks, hook)

    def compile(self, **options) -> None:  # noqa: A003  (PyTorch's Module.compile)
        """PyTorch's in-place ``torch.compile`` of the module: as :func:`lucid.compile`, the options
        (``mode``, ``fullgraph``, ``backend`` ...) are accepted and the module keeps running as written."""

    # ---- calling --------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        d = self.__dict__
        if d["_forward_pre_hooks"] or d["_forward_hooks"] or d["_backward_hooks"] or d["_backward_pre_hooks"] or \
                global_forward_pre_hooks or global_forward_hooks or global_backward_hooks or global_backward_pre_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        state = {"args": args, "kwargs": kwargs, "result": None, "called": set()}
        try:
            return self._run_hooked(state)
        except Exception:
            # always_call forward hooks that did not run yet see the inputs (as the pre hooks left
            # them) and the output so far (None if forward raised), as in PyTorch
            args, kwargs, result = state["args"], state["kwargs"], state["result"]
            for hook_id, (hook, with_kwargs, always_call) in (*global_forward_hooks.items(),
                                                               *self._forward_hooks.items()):
                if always_call and hook_id not in state["called"]:
                    try:
                        out = hook(self, args, kwargs, result) if with_kwargs else hook(self, args, result)
                        if out is not None:
                            result = out
                    except Exception as e:
                        warnings.warn(f"module forward hook with always_call=True raised an exception that was "
                                      f"silenced as another error was raised in forward: {e}", stacklevel=2)
            raise

    def _run_hooked(self, state: dict):
        args, kwargs = state["args"], state["kwargs"]
        for hook, with_kwargs in (*global_forward_pre_hooks.values(), *self._forward_pre_hooks.values()):
            if with_kwargs:
                out = hook(self, args, kwargs)
                if out is not None:
                    if not (isinstance(out, tuple) and len(out) == 2):
                        raise RuntimeError("a forward pre-hook with kwargs must return None or (args, kwargs)")
                    args, kwargs = state["args"], state["kwargs"] = out
            else:
                out = hook(self, args)
                if out is not None:
                    args = state["args"] = out if isinstance(out, tuple) else (out,)
        backward_hooks = None
        if grad_mode.state.enabled and (self._backward_hooks or self._backward_pre_hooks or global_backward_hooks
                                        or global_backward_pre_hooks):
            backward_hooks = BackwardHooks(self, args)
            args = state["args"] = backward_hooks.wrap_inputs(args)
        result = state["result"] = self.forward(*args, **kwargs)
        for hook_id, (hook, with_kwargs, always_call) in (*global_forward_hooks.items(), *self._forward_hooks.items()):
            if always_call:
                state["called"].add(hook_id)
            out = hook(self, args, kwargs, result) if with_kwargs else hook(self, args, result)
            if out is not None:
                result = state["result"] = out
        if backward_hooks is not None:
            result = backward_hooks.wrap_outputs(result)
        return result

    # ---- printing -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The module's own settings for its repr (e.g. ``in_features=2, out_features=3``);
        override in subclasses."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + repr(module).replace("\n", "\n  ") for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        if not lines:
            return f"{self._get_name()}()"
        if len(extra_lines) == 1 and not child_lines:
            return f"{self._get_name()}({extra_lines[0]})"
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"
