"""``lucid.library``: define custom operators, as PyTorch's ``torch.library``.

``@custom_op("mylib::foo", mutates_args=())`` turns a Python function on Tensors into an opaque
operator: it runs with autograd off inside, its output is one node in the graph, and a backward
through it needs a formula from :func:`register_autograd` (else it raises, as PyTorch does). Kernels
per device type come from :func:`register_kernel`. Each op is reachable as ``lucid.ops.<ns>.<name>``
(``torch.ops.<ns>.<name>`` under :mod:`lucid.torch_compat`) and ``.default`` of it; a namespace
whose name is already an attribute of the :mod:`lucid.ops` package (``linalg``, ``shape``, ...) is
reachable only through :data:`ops` here (``lucid.library.ops.<ns>.<name>``).

What differs from PyTorch, and what this module chose where PyTorch is silent:

- lucid has no fake tensors or compiler: :func:`register_fake` stores the function and returns it
  (so programs that register one run), and nothing calls it.
- ``triton_op``, ``register_vmap``/``register_torch_dispatch``/``register_autocast`` are not
  provided. The legacy :class:`Library` (``define``/``impl``) is, without overloads (``foo.out``).
- An op that mutates arguments has its Tensors' version counters bumped once after its kernel (as PyTorch
  does), so a backward that saved one of them raises; an op made by ``Library.define`` does not (nor does
  PyTorch's).
- ``ctx.needs_input_grad`` has one entry per argument (PyTorch's has a hidden extra one at the
  end); a ``backward`` returns one gradient per positional argument, and trailing ``None``\\ s are
  accepted as in PyTorch.
- Gradients reach Tensor arguments only: an op with a ``list[Tensor]`` parameter cannot register
  autograd (NotImplementedError), and Tensors inside a list do not make its output require grad.
"""

from __future__ import annotations

import ast
import collections.abc
import functools
import inspect
import re
import types
import typing
import warnings
import weakref

from ._backend.device import Device
from ._backend.device import device as _parse_device
from ._tensor import Tensor
from .autograd import grad, grad_mode
from .autograd.function import Function
from .dtypes import DType

__all__ = ["custom_op", "CustomOpDef", "OpOverload", "Library", "define", "impl", "register_autograd", "register_fake",
           "register_kernel", "infer_schema", "opcheck", "OpCheckError", "ops"]

# annotation -> schema type
_SCALARS = {Tensor: "Tensor", int: "SymInt", float: "float", bool: "bool", str: "str", DType: "ScalarType",
            Device: "Device", _parse_device: "Device"}  # lucid.device (torch.device under torch_compat): a function
# schema type -> the Python types a value of it may have
_ACCEPTED = {"Tensor": (Tensor,), "SymInt": (int,), "int": (int,), "float": (int, float), "bool": (bool,),
             "str": (str,), "ScalarType": (DType,), "Device": (Device, str), "Scalar": (int, float, bool)}
_LISTABLE = (Tensor, int, float, bool)  # the element types a list[...] parameter may have
_RETURNS = (Tensor, int, float, bool)  # the types an op may return (alone, in a tuple, or Tensors in a list)


def _unsupported(what, sig):
    return ValueError(f"infer_schema(func): {what} Got func with signature {sig})")


def _accepted(schema_type: str):
    """The Python types an argument of ``schema_type`` (``Tensor(a!)``, ``int[2]?``, ...) may have; None if unknown."""
    base = re.sub(r"\(.*?\)", "", schema_type)  # alias annotations: Tensor(a0!)
    optional = base.endswith("?")
    base = base.rstrip("?")
    accepted = (list, tuple) if re.fullmatch(r"\w+\[\d*\]", base) and base.split("[")[0] in _ACCEPTED \
        else _ACCEPTED.get(base)
    return accepted + (type(None),) if accepted and optional else accepted


def _param_type(ann, name, sig):
    """The schema type of one parameter's annotation."""
    optional = False
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(ann) if a is not type(None)]
        if len(rest) == 1 and len(typing.get_args(ann)) == 2:
            ann, optional = rest[0], True
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if ann in _SCALARS:
        schema = _SCALARS[ann]
    elif origin in (list, collections.abc.Sequence) and len(args) == 1 and args[0] in _LISTABLE:
        schema = _SCALARS[args[0]] + "[]"
    else:
        raise _unsupported(f"Parameter {name} has unsupported type {ann}. The valid types are: Tensor, int, float, "
                           f"bool, str, dtype, device, list/Sequence of Tensor, int, float or bool, and Optional "
                           f"of each.", sig)
    return schema + "?" if optional else schema


def _return_type(ann, sig):
    if ann is None or ann is type(None):
        return "()"
    if ann in _RETURNS:
        return _SCALARS[ann]
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in (list, collections.abc.Sequence) and args == (Tensor,):
        return "Tensor[]"
    if origin is tuple and args and all(a in _RETURNS for a in args):
        return "(" + ", ".join(_SCALARS[a] for a in args) + ")"
    raise _unsupported(f"Return has unsupported type {ann}. The valid types are: Tensor, list[Tensor], int, float, "
                       f"bool, None, and tuples of Tensor, int, float and bool.", sig)


def _default(value) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _signature(fn):
    """``fn``'s signature with string annotations (``from __future__ import annotations``) evaluated."""
    return inspect.signature(fn, eval_str=True)


def _parse(fn, mutates_args, op_name=None):
    """The schema string of ``fn``, from its type annotations."""
    sig = _signature(fn)
    params = sig.parameters
    if mutates_args != "unknown":
        missing = set(mutates_args) - set(params)
        if missing:
            raise _unsupported(f"{missing} in mutates_args were not found in the custom op's signature. "
                               f"mutates_args should contain the names of all args that the custom op mutates, "
                               f"or just the string 'unknown' if you don't know.", sig)
    parts = []
    for index, (name, p) in enumerate(params.items()):
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise _unsupported("We do not support positional-only args, varargs, or varkwargs.", sig)
        if p.annotation is p.empty:
            raise _unsupported(f"Parameter {name} must have a type annotation.", sig)
        schema = _param_type(p.annotation, name, sig)
        if schema.startswith("Tensor") and (mutates_args == "unknown" or name in mutates_args):
            schema = f"{schema[:6]}(a{index}!){schema[6:]}"  # PyTorch names the alias set by position
        if p.kind is p.KEYWORD_ONLY and not any(x == "*" for x in parts):
            parts.append("*")
        parts.append(f"{schema} {name}" + ("" if p.default is p.empty else f"={_default(p.default)}"))
    if sig.return_annotation is sig.empty:
        raise _unsupported("No return type annotation was provided. Please add one.", sig)
    return f"{op_name or ''}({', '.join(parts)}) -> {_return_type(sig.return_annotation, sig)}"


def infer_schema(prototype_function, /, *, mutates_args, op_name=None) -> str:
    """The operator schema PyTorch infers from ``prototype_function``'s type annotations, e.g.
    ``(Tensor(a0!) x, SymInt n=3) -> Tensor``; ValueError names a missing or unsupported annotation."""
    return _parse(prototype_function, mutates_args, op_name)


_SCHEMA = re.compile(r"\s*(\w*)\s*\((.*)\)\s*->\s*(\S.*)")
_PARAM = re.compile(r"\s*(\S+)\s+(\w+)\s*(?:=\s*(.+?))?\s*")


def _split_params(text: str) -> list[str]:
    """``text`` split at the commas outside brackets (defaults such as ``[1, 2]`` keep theirs)."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += (c in "([") - (c in ")]")
        if c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [p.strip() for p in parts + [text[start:]] if p.strip()]


def _parse_schema(text: str):
    """(name, Signature, {parameter: accepted Python types}, mutated parameters) of a schema string such
    as ``foo(Tensor(a!) x, int n=2, *, float s=1.0) -> Tensor``; RuntimeError when it does not parse."""
    match = _SCHEMA.fullmatch(text)
    if match is None:
        raise RuntimeError(f"invalid operator schema '{text}': expected 'name(Type arg, ...) -> ReturnType'")
    name, params_text, _ = match.groups()
    params, checks, mutated, kind = [], {}, [], inspect.Parameter.POSITIONAL_OR_KEYWORD
    for part in _split_params(params_text):
        if part == "*":
            kind = inspect.Parameter.KEYWORD_ONLY
            continue
        param = _PARAM.fullmatch(part)
        accepted = param and _accepted(param[1])
        if not accepted:
            raise RuntimeError(f"invalid operator schema '{text}': cannot read the argument '{part}' (known types: "
                               f"{', '.join(_ACCEPTED)}, lists 'T[]', optionals 'T?', alias sets 'Tensor(a!)')")
        type_, pname, default = param.groups()
        try:
            default = inspect.Parameter.empty if default is None else ast.literal_eval(default)
        except (ValueError, SyntaxError):
            raise RuntimeError(f"invalid operator schema '{text}': cannot read the default of '{part}'") from None
        checks[pname] = accepted
        if "!" in type_:
            mutated.append(pname)
        params.append(inspect.Parameter(pname, kind, default=default))
    try:
        signature = inspect.Signature(params)
    except ValueError as e:
        raise RuntimeError(f"invalid operator schema '{text}': {e}") from None
    return name, signature, checks, tuple(mutated)


_OPS: dict = {}  # "ns::name" -> CustomOpDef or OpOverload


class _Namespace:
    """``ops.<ns>``: the ops defined in one namespace, by name (PyTorch's ``torch.ops.<ns>``)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, name):
        op = _OPS.get(f"{self._name}::{name}")
        if op is None:
            raise AttributeError(f"'_OpNamespace' '{self._name}' object has no attribute '{name}'")
        return op

    def __dir__(self):
        return [q.split("::")[1] for q in _OPS if q.split("::")[0] == self._name]

    def __repr__(self) -> str:
        return f"lucid.ops.{self._name}"


def namespace(name: str) -> _Namespace:
    """The namespace ``name`` when some custom op was defined in it; AttributeError otherwise (so that a
    module-level ``__getattr__`` built on it answers only for namespaces that exist)."""
    if not any(q.split("::")[0] == name for q in _OPS):
        raise AttributeError(f"no custom op is defined in namespace '{name}' (lucid.library.custom_op defines them)")
    return _Namespace(name)


class _Ops:
    """``lucid.library.ops.<ns>.<name>``: every custom op, by namespace."""

    def __getattr__(self, name):
        return namespace(name)


ops = _Ops()

_NO_AUTOGRAD = ("Trying to backward through {ns}.{name}.default but no autograd formula was registered. "
                "Please use register_autograd to add one.")
_ALIASED = ("{name}: The output of this custom operator (1) must not also be an input to this custom operator and "
            "(2) may not alias any inputs to this custom operator or other returns. Please instead return a clone of "
            "the offending output tensor(s) (e.g. return x.clone()) or refactor the custom operator to not return y.")


def _tensors(values):
    """The Tensors among ``values``, looking one level into lists and tuples."""
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from (t for t in v if isinstance(t, Tensor))


def _storage(t):
    return t._base if t._base is not None else t


def _check_aliasing(name, inputs, output) -> None:
    """Refuse an output that is, or views, an input or another output (PyTorch's rule for custom ops)."""
    outs = list(_tensors(output if isinstance(output, (tuple, list)) else (output,)))
    bases = [_storage(t) for t in [*_tensors(inputs), *outs]]  # an output aliasing anything shares its storage
    if any(sum(b is _storage(o) for b in bases) > 1 for o in outs):
        raise RuntimeError(_ALIASED.format(name=name))


class _Operator:
    """What every op shares: its name, schema, argument checks, and kernels per device type."""

    def __init__(self, qualname: str, signature, schema: str) -> None:
        self._qualname = qualname
        self._namespace, self._name = qualname.split("::")
        self._signature, self._schema = signature, schema
        _, _, self._checks, self._mutated = _parse_schema(self._name + schema)
        self._kernels = {}  # device type -> kernel
        self._fallback = None  # the kernel for device types without their own
        self._fake = None

    @property
    def default(self):
        """``torch.ops.<ns>.<name>.default``: the op itself (lucid ops have one overload)."""
        return self

    def _bind(self, args, kwargs):
        """Positional and keyword-only arguments, bound with defaults and checked against the schema."""
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as e:
            raise RuntimeError(f"{self._qualname}() {e}. Declaration: {self._qualname}{self._schema}") from None
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            accepted = self._checks.get(name)  # a given schema may name arguments differently: not checked
            if accepted is not None and not isinstance(value, accepted):
                raise RuntimeError(f"{self._qualname}() Expected a value of type '{accepted[0].__name__}' for argument "
                                   f"'{name}' but instead found type '{type(value).__name__}'. "
                                   f"Declaration: {self._qualname}{self._schema}")
        return bound.args, bound.kwargs

    def _kernel(self, args, kwargs):
        """The kernel for the device type of the first Tensor argument (``cpu`` when there is none)."""
        first = next(_tensors((*args, *kwargs.values())), None)
        device_type = first.device.type if first is not None else "cpu"
        kernel = self._kernels.get(device_type, self._fallback)
        if kernel is None:
            raise NotImplementedError(f"{self._qualname} has no kernel for device type '{device_type}' (it has "
                                      f"kernels for {sorted(self._kernels)}); add one with register_kernel")
        return kernel

    def _set_kernel(self, device_types, fn) -> None:
        """``fn`` becomes the kernel for ``device_types`` (one, several, or None for every other one)."""
        if device_types is None:
            self._fallback = fn
            return
        for device_type in [device_types] if isinstance(device_types, str) else device_types:
            try:
                self._kernels[_parse_device(device_type.lower()).type] = fn
            except ValueError as e:
                raise RuntimeError(f"{self._qualname}: unknown device type '{device_type}': {e}") from None

    def register_kernel(self, device_types, fn=None, /):
        """Use ``fn`` for inputs on ``device_types`` (a device type such as ``"cpu"``/``"cuda"``, several, or
        None for every device type without its own kernel); a decorator when ``fn`` is left out."""
        if fn is None:
            return functools.partial(self.register_kernel, device_types)
        self._set_kernel(device_types, fn)
        return fn

    def register_fake(self, fn=None, /):
        """Store ``fn`` as the op's fake (meta) kernel and return it; lucid has no fake tensors, so it is not
        called (accepted so that PyTorch programs that register one run)."""
        if fn is None:
            return self.register_fake
        self._fake = fn
        return fn


class CustomOpDef(_Operator):
    """A custom operator made by :func:`custom_op`: call it like the function it was made from."""

    def __init__(self, qualname: str, fn, mutates_args, device_types, schema) -> None:
        super().__init__(qualname, _signature(fn), _parse(fn, mutates_args) if schema is None else schema)
        self._set_kernel(device_types, fn)
        self._backward = self._setup_context = None
        self._kwonly = [n for n, p in self._signature.parameters.items() if p.kind is p.KEYWORD_ONLY]
        self._function = self._make_function()
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<CustomOpDef({self._qualname})>"

    def __call__(self, *args, **kwargs):
        args, kwargs = self._bind(args, kwargs)
        if grad_mode.state.enabled and any(isinstance(a, Tensor) and a.requires_grad
                                           for a in (*args, *kwargs.values())):
            return self._function.apply(*args, *kwargs.values())
        with grad_mode.no_grad():  # opaque: what the kernel computes is never recorded
            return self._run(args, kwargs)

    def _run(self, args, kwargs):
        """Run the kernel, refuse outputs that alias inputs, and bump the versions of mutated arguments."""
        output = self._kernel(args, kwargs)(*args, **kwargs)
        _check_aliasing(self._name, (*args, *kwargs.values()), output)
        values = self._signature.bind(*args, **kwargs).arguments
        for t in _tensors(values[n] for n in self._mutated):
            t._version[0] += 1
        return output

    def _make_function(self):
        """The :class:`Function` whose node an autograd-recorded call leaves (PyTorch's
        ``GeneratedBackwardFor_<ns>_<name>_default``): every argument is positional, keyword-only ones last."""
        op, n_kw = self, len(self._kwonly)

        def forward(*args):
            split = len(args) - n_kw
            return op._run(args[:split], dict(zip(op._kwonly, args[split:])))

        def setup_context(ctx, inputs, output):
            if op._setup_context is None:
                return
            split = len(inputs) - n_kw
            if n_kw:
                op._setup_context(ctx=ctx, inputs=inputs[:split],
                                  keyword_only_inputs=dict(zip(op._kwonly, inputs[split:])), output=output)
            else:
                op._setup_context(ctx=ctx, inputs=inputs, output=output)

        def backward(ctx, *grads):
            if op._backward is None:
                raise RuntimeError(_NO_AUTOGRAD.format(ns=op._namespace, name=op._name))
            result = op._backward(ctx, *grads)
            return (*(result if isinstance(result, tuple) else (result,)), *(None,) * n_kw)

        name = f"GeneratedBackwardFor_{self._namespace}_{self._name}_default"
        return type(name, (Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward),
                                        "setup_context": staticmethod(setup_context), "__module__": __name__})

    def register_autograd(self, backward, /, *, setup_context=None) -> None:
        """Make the op differentiable: ``setup_context(ctx, inputs, output)`` (plus ``keyword_only_inputs``
        before ``output`` when the op has keyword-only arguments) saves what ``backward(ctx, *grads)`` needs;
        ``backward`` returns one gradient per positional argument, as PyTorch's."""
        if not callable(backward) or (setup_context is not None and not callable(setup_context)):
            raise TypeError(f"register_autograd({self._qualname}): backward and setup_context must be callables")
        if self._mutated:
            raise RuntimeError(f"Cannot register autograd formula for non-functional operator {self!r} with schema "
                               f"{self._qualname}{self._schema}. Please create a functional operator and "
                               f"register an autograd formula for that.")
        if "Tensor[]" in self._schema.split("->")[0]:
            raise NotImplementedError(f"register_autograd({self._qualname}): lucid does not differentiate "
                                      f"list[Tensor] arguments; pass the Tensors as separate arguments")
        self._backward, self._setup_context = backward, setup_context


def custom_op(name: str, fn=None, /, *, mutates_args, device_types=None, schema=None, tags=None):
    """Wrap ``fn`` (with type annotations on every parameter and the return) into the opaque operator
    ``name`` (``"namespace::opname"``); a decorator when ``fn`` is left out. ``mutates_args`` names the
    arguments it changes in place (or ``"unknown"``); ``device_types`` limits ``fn`` to those device types.
    ``schema`` (``"(Tensor x, int n) -> Tensor"``) stands in for the annotations. Defining a name again
    replaces the op, as PyTorch does. ``tags`` is accepted and unused."""
    if fn is None:
        return lambda f: custom_op(name, f, mutates_args=mutates_args, device_types=device_types, schema=schema,
                                   tags=tags)
    ns, sep, opname = name.partition("::")
    if not (sep and ns and opname.isidentifier()):
        raise ValueError(f"custom_op: the name must be 'namespace::opname' (e.g. 'mylib::foo'), got '{name}'")
    if isinstance(mutates_args, str) and mutates_args != "unknown":
        raise ValueError(f"custom_op: mutates_args must be an iterable of argument names or 'unknown', "
                         f"got '{mutates_args}'")
    op = CustomOpDef(name, fn, mutates_args, device_types, schema)
    _OPS[op._qualname] = op
    return op


class OpOverload(_Operator):
    """An op defined by a schema (:meth:`Library.define`, :func:`define`), with kernels from :meth:`Library.impl`
    / :func:`impl`. As PyTorch's, it is not opaque: its kernel runs with autograd as it is, so a kernel written
    in differentiable ops is differentiated through."""

    def __repr__(self) -> str:
        return f"{self._namespace}.{self._name}.default"

    _traced = False  # its kernel came from a key that promises autograd through it (CompositeImplicitAutograd)

    def __call__(self, *args, **kwargs):
        args, kwargs = self._bind(args, kwargs)
        if not self._traced and grad_mode.state.enabled and any(t.requires_grad for t in _tensors(args)):
            warnings.warn(f"{self._qualname}: an autograd kernel was not registered to the Autograd key(s) but we "
                          f"are trying to backprop through it. lucid differentiates through its kernel (as PyTorch "
                          f"still does, deprecated); register it as CompositeImplicitAutograd if that is intended, "
                          f"or use custom_op and register_autograd", UserWarning, stacklevel=2)
        return self._kernel(args, kwargs)(*args, **kwargs)

    def _impl(self, fn, dispatch_key: str) -> None:
        """Register ``fn`` under a PyTorch dispatch key: a device type (``CPU``, ``cuda``), a composite or
        autograd key (every device: lucid runs one kernel per call, so these replace the per-device ones), or
        ``Meta`` (stored as the fake kernel)."""
        if dispatch_key == "Meta":
            self._fake = fn
            return
        if dispatch_key in _TRACED_KEYS or dispatch_key == "CompositeExplicitAutograd":
            self._kernels.clear()
            self._fallback = fn
        else:
            try:
                self._set_kernel(dispatch_key, fn)
            except RuntimeError:
                raise RuntimeError(f"could not parse dispatch key: {dispatch_key}") from None
        self._traced = dispatch_key in _TRACED_KEYS


_TRACED_KEYS = frozenset({"", "CompositeImplicitAutograd", "Autograd"})
_DEF_NAMESPACES: set = set()  # namespaces a live "DEF" Library owns


def _forget(namespace, qualnames) -> None:
    """Drop a destroyed Library's ops (and its claim on ``namespace``, when it was the "DEF" one)."""
    for q in qualnames:
        _OPS.pop(q, None)
    _DEF_NAMESPACES.discard(namespace)


class Library:
    """PyTorch's ``Library(ns, kind)``: ``"DEF"`` defines a namespace's ops (one live DEF per namespace),
    ``"FRAGMENT"`` defines more, ``"IMPL"`` only implements. As in PyTorch, the ops it defined go away when the
    Library is garbage-collected (keep a reference) or ``_destroy()``-ed. Overloads (``foo.out``) are not
    supported, and ``impl`` of an op not yet defined raises (PyTorch keeps it for a later ``define``)."""

    def __init__(self, ns: str, kind: str, dispatch_key: str = "") -> None:
        if kind not in ("DEF", "IMPL", "FRAGMENT"):
            raise ValueError(f"Unsupported kind: {kind}")
        if kind == "DEF" and ns in _DEF_NAMESPACES:
            raise RuntimeError(f"Only a single Library(..., 'DEF') can define the namespace {ns}; use "
                               f"Library('{ns}', 'FRAGMENT') for more definitions")
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key
        self._defined = []
        if kind == "DEF":
            _DEF_NAMESPACES.add(ns)
        self._finalizer = weakref.finalize(self, _forget, ns if kind == "DEF" else None, self._defined)

    def __repr__(self) -> str:
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})"

    def define(self, schema: str, alias_analysis: str = "", *, tags=()) -> str:
        """Define the op ``schema`` names (``"foo(Tensor x, int n=2) -> Tensor"``) in this namespace; returns
        its name. It has no kernel until :meth:`impl` gives one."""
        if self.kind == "IMPL":
            raise RuntimeError(f"def('{schema}'): Cannot define an operator inside of an IMPL Library; use "
                               f"Library('{self.ns}', 'DEF') or 'FRAGMENT'")
        name, signature, _, _ = _parse_schema(schema)
        qualname = f"{self.ns}::{name}"
        if qualname in _OPS:
            raise RuntimeError(f"Tried to register an operator ({qualname}) with the same name multiple times")
        _OPS[qualname] = OpOverload(qualname, signature, schema[schema.index("("):])
        self._defined.append(qualname)
        return name

    def impl(self, op_name, fn, dispatch_key: str = "", *, with_keyset=False, allow_override=False) -> None:
        """Register ``fn`` as the kernel of ``op_name`` (in this namespace, or ``"ns::name"``) for
        ``dispatch_key`` (this Library's own when empty): see :meth:`OpOverload._impl`."""
        qualname = op_name if "::" in op_name else f"{self.ns}::{op_name}"
        op = _lookup(qualname, "impl")
        if not isinstance(op, OpOverload):
            raise RuntimeError(f"impl: {qualname} was made by custom_op; use its register_kernel")
        op._impl(fn, dispatch_key or self.dispatch_key)

    def _destroy(self) -> None:
        self._finalizer()


_FRAGMENTS: dict = {}  # namespace -> the FRAGMENT Library that :func:`define` defines into (lives forever)


def define(qualname: str, schema: str, *, lib=None, tags=()) -> None:
    """Define the op ``qualname`` (``"ns::name"``) with ``schema`` (``"(Tensor x) -> Tensor"``), in ``lib`` or
    a FRAGMENT Library of its namespace that lives as long as the program."""
    ns, _, name = qualname.partition("::")
    if lib is None:
        if ns not in _FRAGMENTS:
            _FRAGMENTS[ns] = Library(ns, "FRAGMENT")
        lib = _FRAGMENTS[ns]
    lib.define(name + schema, tags=tags)


def impl(qualname: str, types, func=None, *, lib=None):
    """Register ``func`` as the kernel of ``qualname`` for ``types`` (a device type such as ``"cpu"``, a
    dispatch key, or several); a decorator when ``func`` is left out. On a :func:`custom_op` op this is
    :meth:`CustomOpDef.register_kernel`."""
    if func is None:
        return functools.partial(impl, qualname, types, lib=lib)
    op = _lookup(qualname, "impl")
    for key in [types] if isinstance(types, str) else types:
        if isinstance(op, CustomOpDef):
            op.register_kernel(key, func)
        else:
            op._impl(func, key)
    return func


def _lookup(op, who, error=RuntimeError):
    """The op ``op`` is or names (``"ns::name"``); ``error`` (PyTorch's type for ``who``) when there is none."""
    if isinstance(op, _Operator):
        return op
    found = _OPS.get(op) if isinstance(op, str) else None
    if found is None:
        raise error(f"{who}: operator {op} does not exist (define it with lucid.library.custom_op)")
    return found


def register_kernel(op, device_types, func=None, /, *, lib=None):
    """:meth:`CustomOpDef.register_kernel` for the op ``op`` (a CustomOpDef or its ``"ns::name"``); an op nobody
    defined raises RuntimeError (PyTorch silently registers a kernel no op uses). ``lib`` (here and below) is
    accepted and unused: lucid keeps no per-Library registrations."""
    return _lookup(op, "register_kernel").register_kernel(device_types, func)


def register_fake(op, func=None, /, *, lib=None, _stacklevel=1, allow_override=False):
    """:meth:`CustomOpDef.register_fake` for the op ``op``: stores ``func`` and returns it."""
    return _lookup(op, "register_fake").register_fake(func)


def register_autograd(op, backward, /, *, setup_context=None, lib=None) -> None:
    """:meth:`CustomOpDef.register_autograd` for the op ``op`` (a CustomOpDef or its ``"ns::name"``); an op
    made by :meth:`Library.define` is differentiated through its kernel instead (NotImplementedError here)."""
    found = _lookup(op, "register_autograd", AttributeError)
    if not isinstance(found, CustomOpDef):
        raise NotImplementedError(f"register_autograd({found!r}): lucid registers autograd formulas for custom_op "
                                  f"ops only; an op made by Library.define is differentiated through its kernel")
    found.register_autograd(backward, setup_context=setup_context)


class OpCheckError(Exception):
    """Raised by :func:`opcheck` when one of its tests fails."""


_OPCHECK_TESTS = ("test_schema", "test_autograd_registration", "test_faketensor", "test_aot_dispatch_dynamic")


def _check_schema(op, args, kwargs) -> None:
    """The op changes only the Tensors its schema marks mutable, and returns no alias of its inputs."""
    values = op._signature.bind(*args, **kwargs).arguments
    before = {name: [t.detach().clone() for t in _tensors([v])] for name, v in values.items()}
    with grad_mode.no_grad():
        output = op(*args, **kwargs)
    for name, copies in before.items():
        if name not in op._mutated and any(not t.equal(c) for t, c in zip(_tensors([values[name]]), copies)):
            raise RuntimeError(f"Argument {name} is not defined as mutable but was mutated")
    _check_aliasing(op._name, values.values(), output)


def _check_autograd_registration(op, args, kwargs) -> None:
    """An op whose inputs require grad has an autograd formula, or a kernel registered to be traced through."""
    if isinstance(op, OpOverload) and not op._traced and any(t.requires_grad for t in _tensors(args)):
        raise AssertionError(f"{op._qualname}: inputs require grad but no autograd kernel is registered (use "
                             f"custom_op + register_autograd, or impl with CompositeImplicitAutograd)")


def _check_fake(op, args, kwargs) -> None:
    """A fake kernel is registered and gives outputs of the real ones' shapes, dtypes and devices."""
    if op._fake is None:
        raise RuntimeError(f"There was no fake impl registered for {op!r}. This is necessary for "
                           f"torch.compile/export/fx tracing to work. Please use `register_fake` to add a fake impl.")
    with grad_mode.no_grad():
        real, fake = op(*args, **kwargs), op._fake(*args, **kwargs)
    real, fake = (list(_tensors(o if isinstance(o, (tuple, list)) else (o,))) for o in (real, fake))
    meta = [[(t.shape, t.dtype, t.device) for t in outs] for outs in (real, fake)]
    if meta[0] != meta[1]:
        raise RuntimeError(f"{op._qualname}: the fake kernel gives (shape, dtype, device) {meta[1]}; "
                           f"the real kernel {meta[0]}")


def _check_forward_backward(op, args, kwargs) -> None:
    """lucid has no compiler: the op runs forward, and backward when its inputs require grad."""
    output = op(*args, **kwargs)
    inputs = [t for t in _tensors(args) if t.requires_grad]
    outs = [t for t in _tensors(output if isinstance(output, (tuple, list)) else (output,)) if t.requires_grad]
    if inputs and outs:
        grad(sum(o.sum() for o in outs), inputs, allow_unused=True)


_OPCHECKS = dict(zip(_OPCHECK_TESTS, (_check_schema, _check_autograd_registration, _check_fake,
                                      _check_forward_backward)))


def opcheck(op, args, kwargs=None, *, test_utils=_OPCHECK_TESTS, raise_exception=True, atol=None, rtol=None):
    """Check that ``op`` (a custom op or its ``"ns::name"``) keeps its registrations' promises on sample
    ``args``: ``test_schema`` (it mutates only the arguments its schema marks, returns no alias),
    ``test_autograd_registration``, ``test_faketensor`` (a fake kernel exists and agrees on shapes, dtypes,
    devices) and ``test_aot_dispatch_dynamic`` (lucid has no compiler: forward and backward run). Returns
    ``{test: "SUCCESS" or the exception}``; with ``raise_exception`` the first failure raises
    :class:`OpCheckError`. ``atol``/``rtol`` are accepted and unused (no compiled results to compare)."""
    op = _lookup(op, "opcheck")
    kwargs = kwargs or {}
    names = [test_utils] if isinstance(test_utils, str) else list(test_utils)
    unknown = set(names) - set(_OPCHECKS)
    if unknown:
        raise ValueError(f"opcheck: unknown test_utils {sorted(unknown)}; choose from {list(_OPCHECKS)}")
    results = {}
    for name in names:
        try:
            _OPCHECKS[name](op, args, kwargs)
            results[name] = "SUCCESS"
        except Exception as e:  # noqa: BLE001  (each test's failure is a result, as PyTorch reports it)
            if raise_exception:
                raise OpCheckError(f"opcheck(op, ...): {name} failed with {e}") from e
            results[name] = e
    return results
