"""Parametrizations, as ``torch.nn.utils.parametrize``: ``module.<name>`` becomes a computed tensor
``f(original)``.

``register_parametrization`` moves the parameter (or buffer) to
``module.parametrizations.<name>.original`` (``original0``, ``original1``, ... when the
parametrization's ``right_inverse`` returns several tensors) and gives the module a subclass of its
class with a property ``<name>`` that runs the chain of parametrizations on each access (once per
``cached()`` block). Assigning to ``module.<name>`` goes back through ``right_inverse``. State-dict keys
are PyTorch's (``parametrizations.weight.original``), so checkpoints load either way.
"""

from __future__ import annotations

import contextlib

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ..containers import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Buffer, Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "type_before_parametrizations", "ParametrizationList"]

_cache: dict = {}
_cache_depth = [0]


@contextlib.contextmanager
def cached():
    """Within the block each parametrized tensor is computed once (on first access) and reused: useful
    when a weight is read several times in one forward (RNN steps)."""
    _cache_depth[0] += 1
    try:
        yield
    finally:
        _cache_depth[0] -= 1
        if not _cache_depth[0]:
            _cache.clear()


def _assign(dest: Tensor, value: Tensor, what: str) -> None:
    """Write ``value`` into ``dest`` in place, so optimizers holding ``dest`` keep working. lucid has no
    ``Tensor.set_``, so unlike PyTorch the shape and dtype cannot change here (a clear error instead)."""
    if not isinstance(value, Tensor):
        raise ValueError(f"{what}: right_inverse must return a Tensor, got {type(value).__name__}")
    if value.shape != dest.shape or value.dtype != dest.dtype:
        raise ValueError(f"{what}: right_inverse returned shape {value.shape} and dtype {value.dtype}, the original "
                         f"has {dest.shape} and {dest.dtype}")
    with no_grad():
        dest.copy_(value)


def _register_original(owner: Module, name: str, template: Tensor, value: Tensor) -> None:
    """A copy of ``value`` as a Parameter on ``owner`` when ``template`` is one (same ``requires_grad``),
    else a buffer (the copy also gives a full reduction's NumPy scalar an array to be written into)."""
    value = value.detach().clone()
    if isinstance(template, Parameter):
        owner.register_parameter(name, Parameter(value, requires_grad=template.requires_grad))
    else:
        owner.register_buffer(name, value)


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the original tensor(s) they start from."""

    def __init__(self, modules, original: Tensor, unsafe: bool = False) -> None:
        super().__init__(modules)
        self.unsafe = unsafe
        with no_grad():
            new = original
            for module in reversed(self):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:  # as PyTorch: taken as the identity at registration
                        pass
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if not self.is_tensor and not all(isinstance(t, Tensor) for t in new):
            raise ValueError("register_parametrization: right_inverse must return a Tensor or a sequence of Tensors")
        if not unsafe:  # checked on the new values before the original is written: an error changes nothing
            with no_grad():
                z = self._chain((new,) if self.is_tensor else tuple(new))
            if not isinstance(z, Tensor) or z.shape != original.shape or z.dtype != original.dtype:
                got = f"shape {z.shape} and dtype {z.dtype}" if isinstance(z, Tensor) else type(z).__name__
                raise ValueError(f"register_parametrization: the parametrization must keep the tensor's shape "
                                 f"{original.shape} and dtype {original.dtype}, got {got} (pass unsafe=True to allow)")
        if self.is_tensor:
            _assign(original, new, "register_parametrization")
            if isinstance(original, Parameter):
                self.register_parameter("original", original)
            else:
                self.register_buffer("original", original)
        else:
            for i, tensor in enumerate(new):
                _register_original(self, f"original{i}", original, tensor)

    def right_inverse(self, value: Tensor) -> None:
        """Set the original(s) so that the parametrized tensor becomes ``value`` (each parametrization's
        ``right_inverse``, last first)."""
        with no_grad():
            for module in reversed(self):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse")
                value = module.right_inverse(value)
            if self.is_tensor:
                _assign(self.original, value, "right_inverse")
                return
            if isinstance(value, Tensor) or len(value) != self.ntensors:
                raise ValueError(f"right_inverse must return a sequence of {self.ntensors} tensors")
            for i, tensor in enumerate(value):
                _assign(getattr(self, f"original{i}"), tensor, "right_inverse")

    def _chain(self, originals: tuple) -> Tensor:
        x = self[0](*originals)
        for module in list(self)[1:]:
            x = module(x)
        return x

    def forward(self) -> Tensor:
        if self.is_tensor:
            return self._chain((self.original,))
        return self._chain(tuple(getattr(self, f"original{i}") for i in range(self.ntensors)))


def _parametrized_property(name: str) -> property:
    def get(module):
        plist = module.parametrizations[name]
        if not _cache_depth[0]:
            return plist()
        key = (id(module), name)
        if key not in _cache:
            _cache[key] = plist()
        return _cache[key]

    def set_(module, value):
        module.parametrizations[name].right_inverse(value)

    return property(get, set_, doc=f"``{name}`` computed by its parametrizations")


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has parametrizations (on ``tensor_name``, when given)."""
    plists = module.__dict__["_modules"].get("parametrizations")
    if not isinstance(plists, ModuleDict):
        return False
    return tensor_name is None or tensor_name in plists


def type_before_parametrizations(module: Module) -> type:
    """The module's class before ``register_parametrization`` gave it a subclass."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` the output of ``parametrization`` (a Module). Registering a second
    one on the same tensor chains it after the first. With a ``right_inverse`` method the original is
    initialised as ``right_inverse(current value)`` (possibly several tensors); ``unsafe=True`` skips
    the check that the shape and dtype are kept. Returns the module."""
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            if not isinstance(x, Tensor) or x.shape != y.shape or x.dtype != y.dtype:
                raise ValueError(f"register_parametrization: the parametrization must keep the tensor's shape "
                                 f"{y.shape} and dtype {y.dtype}")
        plist.append(parametrization)
        plist.unsafe |= unsafe
        return module
    d = module.__dict__
    if tensor_name not in d["_parameters"] and tensor_name not in d["_buffers"]:
        raise ValueError(f"register_parametrization: {type(module).__name__} has no parameter, buffer or "
                         f"parametrized tensor named {tensor_name!r}")
    original = getattr(module, tensor_name)
    if original is None:
        raise ValueError(f"register_parametrization: {type(module).__name__}.{tensor_name} is None")
    plist = ParametrizationList([parametrization], original, unsafe=unsafe)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        cls = type(module)
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {})
        module.parametrizations = ModuleDict()
    setattr(type(module), tensor_name, _parametrized_property(tensor_name))
    module.parametrizations[tensor_name] = plist
    return module


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Undo ``register_parametrization`` on ``tensor_name``: it becomes a plain parameter (or buffer) holding
    the current parametrized value (``leave_parametrized=True``) or the original. The original tensor
    object is kept when it can be, so optimizers holding it keep working. Returns the module."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"remove_parametrizations: {type(module).__name__} has no parametrization on "
                         f"{tensor_name!r}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                _assign(original, getattr(module, tensor_name), "remove_parametrizations")
    elif leave_parametrized:
        value = getattr(module, tensor_name)
        template = plist.original0
        original = (Parameter(value.detach(), requires_grad=template.requires_grad)
                    if isinstance(template, Parameter) else Buffer(value.detach(), dtype=value.dtype))
    else:
        raise ValueError("remove_parametrizations: cannot leave_parametrized=False a tensor parametrized by a "
                         "sequence of tensors")
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    if isinstance(original, Parameter):
        module.register_parameter(tensor_name, original)
    else:
        module.register_buffer(tensor_name, original)
    if not len(module.parametrizations):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module
