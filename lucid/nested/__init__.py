"""Nested tensors (``torch.nested``, strided layout): a batch of tensors with the same number of dimensions whose
sizes may differ, as variable-length sequences are. ``nested_tensor`` copies a list into a new leaf,
``as_nested_tensor`` keeps the autograd link to its inputs, ``to_padded_tensor`` makes the dense padded batch.

Representation: :class:`NestedTensor` is a small class of its own holding the component Tensors (not a
``lucid.Tensor`` subclass: dense ops never see it). Dimension 0 indexes the components; dimension ``d > 0`` of the
nested tensor is dimension ``d - 1`` of every component. Each supported op runs lucid's own op on every component
(one lifting helper, :func:`_lift`, driven by the table ``_OPS``), so autograd, gradients included, comes from those
ops. What an op accepts follows PyTorch 2.13's strided nested tensors; ops PyTorch refuses there (``exp``,
``sigmoid``, a dense non-scalar operand, reducing over dim 0, ...) raise ``NotImplementedError`` or
``RuntimeError`` naming the op. ``F.relu``, ``F.gelu``, ``F.silu``, ``F.softmax``, ``F.dropout``, ``F.linear`` and
``F.layer_norm`` accept a nested input through :func:`lucid.nested._dispatch.nested_aware`.

Where lucid chooses: ``unbind()`` returns the components themselves (PyTorch returns views of its buffer), so
gradients flow back through them where PyTorch's strided layout raises; ``layout=torch.jagged`` (one ragged
dimension over packed values and offsets: another object model) is refused. ``len()``, iteration and ``size()``
raise as PyTorch's strided layout does (``size(0)`` and ``unbind()`` give them).
"""

from __future__ import annotations

import inspect
import numbers

from .. import dtypes as _dt
from .._tensor import Tensor, tensor
from .._typeinfo import jagged, strided
from ..autograd.backprop import backward as _backward
from ..ops.creation import zeros_like
from ..ops.shape import _shape_arg, stack
from ..ops.shape import pad as _pad

__all__ = ["NestedTensor", "nested_tensor", "as_nested_tensor", "to_padded_tensor", "narrow"]


class NestedTensor:
    """A list of Tensors of equal ``dim()`` and dtype on one device, treated as one tensor of ``dim() + 1``
    dimensions whose dimension 0 indexes them."""

    is_nested = True
    layout = strided

    def __init__(self, components):
        self._components = tuple(components)

    # ---- metadata --------------------------------------------------------------------------------
    @property
    def dtype(self):
        return self._components[0].dtype if self._components else _dt.float32

    @property
    def device(self):
        from .._backend.device import get_default_device

        return self._components[0].device if self._components else get_default_device()

    @property
    def requires_grad(self) -> bool:
        return any(c.requires_grad for c in self._components)

    @property
    def is_leaf(self) -> bool:
        return all(c.is_leaf for c in self._components)

    @property
    def grad(self):
        """The components' gradients as a nested tensor (zeros for a component without one), or None."""
        grads = [c.grad for c in self._components]
        if all(g is None for g in grads):
            return None
        return NestedTensor(zeros_like(c) if g is None else g for c, g in zip(self._components, grads))

    def requires_grad_(self, requires_grad: bool = True) -> NestedTensor:
        for c in self._components:
            c.requires_grad_(requires_grad)
        return self

    def dim(self) -> int:
        return self._components[0].ndim + 1 if self._components else 1

    ndim = property(dim)

    def numel(self) -> int:
        return sum(c.numel() for c in self._components)

    def is_contiguous(self, memory_format=None) -> bool:
        return True

    def _regular_size(self, d: int):
        """The size of dimension ``d`` (normalised) if every component has it, else None."""
        if d == 0:
            return len(self._components)
        sizes = {c.shape[d - 1] for c in self._components}
        return sizes.pop() if len(sizes) == 1 else None

    def size(self, dim=None):
        """``size(d)`` of a regular dimension; ``size()`` and an irregular ``size(d)`` raise, as PyTorch's."""
        if dim is None:
            raise RuntimeError("a nested tensor has no single size: its components' sizes differ; use size(d) of "
                               "a regular dimension, or unbind() / to_padded_tensor() for the components' shapes")
        d = _norm_dim(dim, self.dim(), "size")
        size = self._regular_size(d)
        if size is None:
            raise RuntimeError(f"Given dimension {dim} is irregular and does not have a size "
                               f"(component sizes: {[c.shape[d - 1] for c in self._components]})")
        return size

    shape = property(lambda self: self.size())

    def __len__(self):
        raise RuntimeError("len() of a nested tensor is not supported (as in PyTorch); use size(0)")

    def __iter__(self):
        raise RuntimeError("iterating a nested tensor is not supported (as in PyTorch); use unbind()")

    def __bool__(self):
        raise RuntimeError("Boolean value of a nested tensor is ambiguous")

    def __array__(self, dtype=None, copy=None):
        """Refused: reached when a dense op meets a nested operand (``dense + nested``)."""
        raise RuntimeError("a nested tensor cannot be used as a dense operand (PyTorch: both operands must be "
                           "nested); convert it with to_padded_tensor() or unbind() first")

    def __getitem__(self, index):
        if isinstance(index, numbers.Integral) and not isinstance(index, bool):
            return self._components[_norm_dim(index, len(self._components), "index", what="component")]
        raise NotImplementedError(f"nested tensors support indexing by one integer only, got {index!r}; "
                                  f"index the components from unbind() or the padded tensor instead")

    def unbind(self, dim: int = 0) -> tuple:
        """The components (differentiable: they are the very tensors the nested tensor holds)."""
        if _norm_dim(dim, self.dim(), "unbind") != 0:
            raise RuntimeError(f"unbind(): nested tensors can only be unbound along dim 0, got {dim}")
        return self._components

    def __repr__(self) -> str:
        inner = ",\n".join("  " + repr(c).replace("\n", "\n  ") for c in self._components)
        return f"nested_tensor([\n{inner}\n])" if inner else "nested_tensor([\n\n])"

    # ---- conversion and autograd -----------------------------------------------------------------
    def to_padded_tensor(self, padding, output_size=None) -> Tensor:
        return to_padded_tensor(self, padding, output_size)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Backpropagate a nested ``gradient`` of this structure into the components' graphs."""
        if gradient is None:
            raise RuntimeError("grad can be implicitly created only for scalar outputs; pass a nested gradient "
                               "or call to_padded_tensor() and reduce it to a scalar first")
        _check_same_structure(self, gradient, "backward")
        _backward(list(self._components), list(gradient._components), retain_graph, create_graph, inputs)

    def __getattr__(self, name):
        if not name.startswith("_") and hasattr(Tensor, name):
            raise NotImplementedError(f"{name}() is not supported on nested tensors (as in PyTorch's strided "
                                      f"layout); apply it to unbind()'s components or to to_padded_tensor()")
        raise AttributeError(f"'NestedTensor' object has no attribute {name!r}")

    def _functional(self, fn, args, kwargs):
        """``fn(self, *args, **kwargs)`` for a ``nested_aware`` functional op ``fn``."""
        if fn not in _LIFTED:
            if fn.__name__ not in _FUNCTIONAL:
                raise NotImplementedError(f"{fn.__name__}() is not supported on nested tensors")
            _LIFTED[fn] = _lift(fn, _FUNCTIONAL[fn.__name__])
        return _LIFTED[fn](self, *args, **kwargs)


# ---- the rules: what each op may do on a nested tensor, as per-component argument updates -------------------
def _norm_dim(dim, n: int, op: str, what: str = "dimension") -> int:
    if not -n <= dim < n:
        raise IndexError(f"{op}(): {what} out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _check_same_structure(nt, other, op):
    if not isinstance(other, NestedTensor) or [c.shape for c in nt._components] != [c.shape for c in
                                                                                    other._components]:
        shapes = [tuple(c.shape) for c in other._components] if isinstance(other, NestedTensor) else type(other)
        raise RuntimeError(f"{op} does not support broadcasting when given a nested tensor: the components' shapes "
                           f"must match, got {[tuple(c.shape) for c in nt._components]} and {shapes}")


def _shift_dims(*names, extra: int = 0):
    """A rule for ops taking dims (``softmax``, ``transpose``, ``unsqueeze``): component dim = nested dim - 1;
    dim 0 (the components' index) is refused, as PyTorch."""

    def rule(nt, op, args):
        updates = {}
        for name in names:
            if args.get(name) is not None:
                d = _norm_dim(args[name], nt.dim() + extra, op)
                if d == 0:
                    raise RuntimeError(f"{op}(): dimension 0 of a nested tensor indexes its components and cannot "
                                       f"be used; use dims 1..{nt.dim() - 1 + extra}")
                updates[name] = d - 1
        return [updates] * len(nt._components)

    return rule


def _elementwise(nt, op, args):
    """Binary ops: a nested ``other`` of the same structure, a Python number or a 0-d Tensor (PyTorch's rule)."""
    name = next(n for n in ("other", "b") if n in args)
    other = args[name]
    if isinstance(other, NestedTensor):
        _check_same_structure(nt, other, op)
        return [{name: c} for c in other._components]
    if isinstance(other, Tensor) and other.ndim != 0:
        raise RuntimeError(f"{op}: expected both operands to be nested (or the other a scalar), but got a nested "
                           f"tensor and a dense tensor of shape {tuple(other.shape)}; nest it or pad the nested one")
    return [{}] * len(nt._components)


def _nested_other(min_dim, max_dim=None, dense_batched=False):
    """``matmul`` / ``bmm``: the other operand is nested with as many components (or, for ``bmm``, dense with
    that batch size), and both have ``min_dim`` .. ``max_dim`` dimensions."""

    def rule(nt, op, args):
        name = next(n for n in ("other", "b", "mat2") if n in args)
        other, n = args[name], len(nt._components)
        if isinstance(other, NestedTensor) and len(other._components) == n:
            others = other._components
        elif dense_batched and isinstance(other, Tensor) and other.ndim == 3 and other.shape[0] == n:
            others = other.unbind(0)
        else:
            raise RuntimeError(f"{op}: expected both operands to be nested with {n} components"
                               f"{' (or the other dense of shape (' + str(n) + ', k, m))' if dense_batched else ''}, "
                               f"got {type(other).__name__}")
        for what, t in (("self", nt), (name, other)):
            if not min_dim <= t.dim() <= (max_dim or t.dim()):
                raise RuntimeError(f"{op}: {what} must have {min_dim}{'' if max_dim else ' or more'} dimensions "
                                   f"for nested tensors, got {t.dim()}")
        return [{name: c} for c in others]

    return rule


def _reshape(nt, op, args):
    """``reshape`` / ``view``: the first size must be the number of components (not -1); in the others, -1 at a
    position the components have keeps each component's size there (PyTorch's nested rule, not inference)."""
    keyword = "shape" if op == "reshape" else "size"  # PyTorch's keyword for the shape: reshape(shape=), view(size=)
    shape = _shape_arg(args.get("sizes", ()), args.get(keyword), keyword)
    if not shape or shape[0] != len(nt._components):
        raise RuntimeError(f"{op}: nested {op} cannot change or infer the number of components "
                           f"({len(nt._components)}), got shape {list(shape)}")
    return [{"sizes": (tuple(c.shape[j] if s == -1 and j < c.ndim else s for j, s in enumerate(shape[1:])),),
             keyword: None} for c in nt._components]


def _last_dim_keepdim(nt, op, args):
    """``sum``: only over the last dimension and with ``keepdim=True``, as PyTorch's strided layout."""
    dims = args.get("dim", args.get("axis"))
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    if len(dims) != 1 or dims[0] is None or _norm_dim(dims[0], nt.dim(), op) != nt.dim() - 1:
        raise RuntimeError(f"{op}: a nested tensor can only be reduced across its last dimension for now, got "
                           f"dim={args.get('dim', args.get('axis'))}")
    if not (args.get("keepdim") or args.get("keepdims")):
        raise RuntimeError(f"{op}: a nested tensor always requires keepdim=True for now")
    return [{}] * len(nt._components)


def _linear(nt, op, args):
    weight = args["weight"]
    if nt.dim() != 3 or weight.ndim != 2:
        raise RuntimeError(f"linear requires a 3-D nested tensor and a 2-D weight, got dims {nt.dim()} and "
                           f"{weight.ndim}")
    if nt._regular_size(2) != weight.shape[1]:
        raise RuntimeError(f"linear: the nested input's last dimension must equal weight.size(1) = "
                           f"{weight.shape[1]}, got {nt._regular_size(2)}")
    return [{}] * len(nt._components)


def _layer_norm(nt, op, args):
    if args.get("weight") is None or args.get("bias") is None:
        raise ValueError("layer_norm on a nested tensor requires weight and bias (as PyTorch)")
    shape = tuple(args["normalized_shape"]) if not isinstance(args["normalized_shape"], int) else \
        (args["normalized_shape"],)
    dims = range(nt.dim() - len(shape), nt.dim())
    if len(shape) >= nt.dim() or any(nt._regular_size(d) != s for d, s in zip(dims, shape)):
        raise RuntimeError(f"layer_norm: normalized_shape {list(shape)} must match regular trailing dimensions "
                           f"of the nested tensor (it extends into irregular ones or does not match)")
    return [{}] * len(nt._components)


# ---- the one lifting helper ----------------------------------------------------------------------------------
def _lift(fn, rule=None, name=None):
    """``fn`` (a callable, or the name of a Tensor method: looked up on first use, as the methods are attached
    after this module loads) applied to every component, with ``rule(nt, op, arguments)`` giving each component's
    argument updates (and raising where PyTorch refuses the op); the results form a nested tensor."""
    op = name or fn.__name__
    resolved = []

    def lifted(self, *args, **kwargs):
        if not resolved:
            f = getattr(Tensor, fn) if isinstance(fn, str) else fn
            resolved[:] = f, inspect.signature(f)
        f, sig = resolved
        first = next(iter(sig.parameters))
        bound = sig.bind(self, *args, **kwargs)
        updates = rule(self, op, bound.arguments) if rule else [{}] * len(self._components)
        outs = []
        for c, update in zip(self._components, updates):
            call = sig.bind_partial()
            call.arguments.update(bound.arguments, **{first: c}, **update)
            outs.append(f(*call.args, **call.kwargs))
        return NestedTensor(outs)

    lifted.__name__ = op
    lifted.__doc__ = f"``{op}`` of every component (PyTorch's rules for nested tensors)."
    return lifted


_OPS = {  # method name: (Tensor method applied to each component, rule)
    **{n: (n, None) for n in ("relu", "tanh", "abs", "neg", "sqrt", "sin", "cos", "sgn", "logical_not", "isnan",
                              "isinf", "clone", "contiguous", "detach", "to", "float", "double", "half", "bool",
                              "int", "long", "cpu", "cuda")},
    **{n: (n, _elementwise) for n in ("add", "sub", "mul", "div", "__add__", "__radd__", "__sub__", "__mul__",
                                      "__rmul__", "__truediv__")},
    "__neg__": ("neg", None),
    "softmax": ("softmax", _shift_dims("dim", "axis")),
    "transpose": ("transpose", _shift_dims("dim0", "dim1")),
    "unsqueeze": ("unsqueeze", _shift_dims("dim", "axis", extra=1)),
    "reshape": ("reshape", _reshape),
    "view": ("view", _reshape),
    "sum": ("sum", _last_dim_keepdim),
    "matmul": ("matmul", _nested_other(3)),
    "__matmul__": ("matmul", _nested_other(3)),
    "bmm": ("matmul", _nested_other(3, 3, dense_batched=True)),  # per component: a 2-D product
}
_FUNCTIONAL = {  # nested_aware functional ops (by name): rule
    "relu": None, "gelu": None, "silu": None, "dropout": None, "softmax": _shift_dims("dim", "axis"),
    "linear": _linear, "layer_norm": _layer_norm,
}
_LIFTED: dict = {}  # functional op -> its lifted form, made on first use
for _name, (_fn, _rule) in _OPS.items():
    setattr(NestedTensor, _name, _lift(_fn, _rule, _name.strip("_")))


# ---- construction and conversion -----------------------------------------------------------------------------
def _check_layout(layout, op):
    if layout not in (None, strided):
        why = " (jagged nested tensors are another object model, not implemented)" if layout is jagged else ""
        raise RuntimeError(f"{op}(): lucid.nested supports layout=lucid.strided only, got {layout}{why}")


def _check_components(ts, op):
    for i, t in enumerate(ts):
        if isinstance(t, NestedTensor):
            raise RuntimeError(f"{op}(): nested tensors are not accepted as components (index {i})")
        if t.ndim != ts[0].ndim:
            raise RuntimeError(f"{op}(): all tensors must have the same dimension, found dimension {t.ndim} for "
                               f"the tensor at index {i} and {ts[0].ndim} for the one at index 0")


def nested_tensor(tensor_list, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False) -> NestedTensor:
    """A new leaf nested tensor copied from a list of Tensors or nested lists of numbers (dtype and device of the
    first component unless given; ``pin_memory`` is accepted and has no effect)."""
    _check_layout(layout, "nested_tensor")
    ts = [t if isinstance(t, (Tensor, NestedTensor)) else tensor(t, device=device) for t in tensor_list]
    _check_components(ts, "nested_tensor")
    dtype = dtype if dtype is not None else (ts[0].dtype if ts else None)
    device = device if device is not None else (ts[0].device if ts else None)
    return NestedTensor(t.detach().to(device=device, dtype=dtype, copy=True).requires_grad_(requires_grad)
                        for t in ts)


def as_nested_tensor(ts, dtype=None, device=None, layout=None) -> NestedTensor:
    """A nested tensor from a list of Tensors (copies, differentiable w.r.t. them) or from a Tensor of at least
    two dimensions (its slices along dim 0, views of it)."""
    _check_layout(layout, "as_nested_tensor")
    if isinstance(ts, NestedTensor):
        raise RuntimeError("as_nested_tensor(): the input is already a nested tensor; use .to() to convert it")
    if isinstance(ts, Tensor):
        if ts.ndim < 2:
            raise RuntimeError(f"as_nested_tensor(): expected a tensor argument with dim() > 1, got {ts.ndim}")
        return NestedTensor(ts.to(device=device, dtype=dtype).unbind(0))
    if not isinstance(ts, (list, tuple)) or not all(isinstance(t, (Tensor, NestedTensor)) for t in ts):
        raise TypeError("as_nested_tensor(): expected a tensor or a list / tuple of tensors")
    _check_components(ts, "as_nested_tensor")
    dtype = dtype if dtype is not None else (ts[0].dtype if ts else None)
    return NestedTensor(t.to(device=device, dtype=dtype).clone() for t in ts)


def to_padded_tensor(input: NestedTensor, padding, output_size=None) -> Tensor:
    """The dense ``(n, max sizes...)`` tensor (or ``output_size``, no smaller) with the components in its leading
    corner and ``padding`` elsewhere; differentiable w.r.t. the components."""
    comps = input._components
    if not comps:
        return tensor([], dtype=input.dtype, device=input.device)
    n, dims = len(comps), comps[0].ndim
    sizes = [max(c.shape[d] for c in comps) for d in range(dims)]
    if output_size is not None:
        output_size = list(output_size)
        if len(output_size) != dims + 1:
            raise RuntimeError(f"to_padded_tensor(): output_size {output_size} must have {dims + 1} entries (the "
                               f"nested tensor's dims); broadcasting is not supported")
        if any(o < s for o, s in zip(output_size, [n, *sizes])):
            raise RuntimeError(f"to_padded_tensor(): output_size {output_size} is less than the padded size "
                               f"{[n, *sizes]}; truncation is not supported")
        n, sizes = output_size[0], output_size[1:]
    value = padding if input.dtype.kind in "fc" else int(padding)

    def widths(shape, target):  # F.pad's order: last dim first
        return [w for s, t in zip(reversed(shape), reversed(target)) for w in (0, t - s)]

    out = stack([_pad(c, widths(c.shape, sizes), value=value) for c in comps])
    return _pad(out, widths(out.shape, [n, *sizes]), value=value) if n > len(comps) else out


def narrow(tensor: NestedTensor, dim: int, start: int, length: int, layout=strided) -> NestedTensor:
    """Components ``start .. start + length - 1`` (only ``dim=0`` is supported, as PyTorch's strided layout)."""
    _check_layout(layout, "narrow")
    if _norm_dim(dim, tensor.dim(), "narrow") != 0:
        raise RuntimeError(f"narrow(): only dim=0 is supported for strided nested tensors, got {dim}")
    n = len(tensor._components)
    if not (0 <= start <= n and 0 <= length <= n - start):
        raise IndexError(f"narrow(): start {start} and length {length} are out of range for {n} components")
    return NestedTensor(tensor._components[start:start + length])
