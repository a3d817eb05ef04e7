"""``lucid.func``: function transforms in the style of ``torch.func`` (functorch).

lucid has no tensor wrappers or batching rules, so the transforms are built on the eager autograd:

* ``grad``, ``vjp``, ``jacrev`` differentiate with reverse mode; nested transforms keep their graph
  (the innermost ones differentiate with ``create_graph``), only the outermost detaches its results.
* ``jvp``, ``jacfwd`` and ``linearize`` are computed with reverse mode too (``jvp`` by the
  double-vjp trick, ``jacfwd`` = ``jacrev``): same results, PyTorch's forward-mode cost profile aside.
* ``vmap`` loops over the mapped dimension, calls the function once per slice and stacks the
  results: the semantics of ``torch.func.vmap`` (nesting, ``in_dims``/``out_dims``, gradients
  through it), at the speed of a Python loop.

Arguments may be pytrees (tuples, lists, dicts of tensors; :mod:`lucid.utils._pytree`), as ``functional_call``'s
parameter dicts.
"""

from __future__ import annotations

import functools
import threading

from . import random as _random
from ._tensor import Tensor
from .autograd.backprop import grad as _autograd_grad
from .autograd.grad_mode import enable_grad
from .nn.utils.stateless import functional_call
from .ops import stack, zeros, zeros_like
from .utils._pytree import tree_flatten, tree_map, tree_unflatten

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap", "functional_call",
           "stack_module_state", "linearize", "functionalize", "replace_all_batch_norm_modules_", "debug_unwrap"]


# ---- nesting ------------------------------------------------------------------------------------------------------
class _Depth(threading.local):
    level = 0


_depth = _Depth()


def _nested(fn):
    """Run ``fn`` one transform level deeper; ``fn(outermost)`` learns whether it is the outermost."""
    outermost = _depth.level == 0
    _depth.level += 1
    try:
        with enable_grad():
            return fn(outermost)
    finally:
        _depth.level -= 1


def _track(x):
    """A tensor to differentiate with respect to: connected to ``x`` when an outer transform or graph needs it."""
    if not isinstance(x, Tensor):
        raise TypeError(f"expected Tensors to differentiate with respect to, got {type(x).__name__}")
    return x.view_as(x) if x.requires_grad else x.detach().requires_grad_(True)


def _release(tree, outermost: bool):
    return tree_map(lambda t: t.detach() if outermost and isinstance(t, Tensor) else t, tree)


def _argnums(argnums, n: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise RuntimeError("argnums must be non-empty")
    for a in nums:
        if not isinstance(a, int) or not -n <= a < n:
            raise RuntimeError(f"Got argnums={argnums!r}, but only {n} positional inputs")
    return tuple(a % n for a in nums)


def _split_aux(out, has_aux: bool, what: str):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{what}(f, has_aux=True): f must return a tuple (output, aux)")
    return out


def _gradients(outputs, inputs, cotangents):
    """Gradients of ``outputs`` (weighted by ``cotangents``) for each of ``inputs``; zeros when unused."""
    live = [(o, c) for o, c in zip(outputs, cotangents) if isinstance(o, Tensor) and o.requires_grad]
    grads = [None] * len(inputs)
    if live:
        grads = _autograd_grad([o for o, _ in live], list(inputs), [c for _, c in live], retain_graph=True,
                               create_graph=True, allow_unused=True)
    return [zeros_like(x) if g is None else g for g, x in zip(grads, inputs)]


# ---- grad, vjp, jvp -----------------------------------------------------------------------------------------------
def _call_tracked(func, args, kwargs, nums, has_aux, name):
    """``func`` called on ``args`` with the arguments ``nums`` replaced by tracked copies: ``(out, aux, flat,
    inputs)``, ``flat[a]`` the flattened tracked argument ``a`` and ``inputs`` all their leaves, in order."""
    tracked = list(args)
    flat = {}
    for a in nums:
        tracked[a] = tree_map(_track, args[a])
        flat[a] = tree_flatten(tracked[a])
    out, aux = _split_aux(func(*tracked, **kwargs), has_aux, name)
    return out, aux, flat, [leaf for a in nums for leaf in flat[a][0]]


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """A function returning ``(gradient of func's scalar output w.r.t. args[argnums], output)`` (with
    ``has_aux``: ``(gradient, (output, aux))``)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args))

        def run(outermost):
            out, aux, flat, inputs = _call_tracked(func, args, kwargs, nums, has_aux, "grad")
            if not isinstance(out, Tensor) or out.numel() != 1:
                what = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
                raise RuntimeError(f"grad(f)(*args): Expected f(*args) to return a scalar Tensor, got {what}")
            grads = iter(_gradients([out], inputs, [out.detach() * 0 + 1]))
            per_arg = tuple(tree_unflatten([next(grads) for _ in flat[a][0]], flat[a][1]) for a in nums)
            g = per_arg[0] if isinstance(argnums, int) else per_arg
            value = (out, aux) if has_aux else out
            return _release(g, outermost), _release(value, outermost)

        return _nested(run)

    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """A function returning the gradient of ``func``'s scalar output w.r.t. ``args[argnums]`` (an int or a
    tuple of ints; arguments may be pytrees). With ``has_aux``: ``(gradient, aux)``."""
    both = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = both(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn[, aux])``: ``vjp_fn(cotangents)`` gives one gradient per primal (a tuple)."""
    outermost = _depth.level == 0
    _depth.level += 1
    try:
        with enable_grad():
            tracked = [tree_map(_track, p) for p in primals]
            out, aux = _split_aux(func(*tracked), has_aux, "vjp")
    finally:
        _depth.level -= 1
    out_leaves, out_spec = tree_flatten(out)
    flat = [tree_flatten(t) for t in tracked]

    def vjp_fn(cotangents):
        c_leaves, c_spec = tree_flatten(cotangents)
        if len(c_leaves) != len(out_leaves):
            raise RuntimeError(f"vjp_fn: expected cotangents with the structure of the output ({len(out_leaves)} "
                               f"tensors), got {len(c_leaves)}")
        for i, (c, o) in enumerate(zip(c_leaves, out_leaves)):
            if isinstance(o, Tensor) and c.shape != o.shape:
                raise RuntimeError(f"vjp_fn: cotangent {i} has shape {c.shape}, the output has shape {o.shape}")

        def run(inner_outermost):
            grads = iter(_gradients(out_leaves, [x for leaves, _ in flat for x in leaves], c_leaves))
            result = tuple(tree_unflatten([next(grads) for _ in leaves], spec) for leaves, spec in flat)
            return _release(result, outermost and inner_outermost)

        return _nested(run)

    result = (_release(out, outermost), vjp_fn)
    return (*result, _release(aux, outermost)) if has_aux else result


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J @ tangents)``: the Jacobian-vector product, by the double-vjp trick."""
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to be tuples")
    p_leaves, _ = tree_flatten(primals)
    t_leaves, _ = tree_flatten(tangents)
    if len(p_leaves) != len(t_leaves) or any(p.shape != t.shape for p, t in zip(p_leaves, t_leaves)):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same structure "
                           "and shapes")

    def run(outermost):
        tracked = [tree_map(_track, p) for p in primals]
        out, aux = _split_aux(func(*tracked), has_aux, "jvp")
        out_leaves, out_spec = tree_flatten(out)
        inputs = [x for t in tracked for x in tree_flatten(t)[0]]
        dummies = [zeros_like(o).requires_grad_(True) for o in out_leaves]
        vjps = _gradients(out_leaves, inputs, dummies)  # J^T u, linear in u
        jvps = _gradients(vjps, dummies, t_leaves)
        result = (_release(out, outermost), _release(tree_unflatten(jvps, out_spec), outermost))
        return (*result, _release(aux, outermost)) if has_aux else result

    return _nested(run)


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` is the Jacobian-vector product at ``primals``."""
    out = _release(_nested(lambda outermost: func(*primals)), True)
    return out, lambda *tangents: jvp(func, primals, tangents)[1]


# ---- Jacobians ----------------------------------------------------------------------------------------------------
def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None, _preallocate_and_copy: bool = False):
    """A function returning the Jacobian of ``func`` w.r.t. ``args[argnums]``: for each output, shape
    ``output.shape + input.shape`` (nested as outputs, then arguments). One vjp per output element."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args))

        def run(outermost):
            out, aux, flat, inputs = _call_tracked(func, args, kwargs, nums, has_aux, "jacrev")

            def jacobian_of(o):
                rows = [[] for _ in inputs]
                n = o.numel()
                for k in range(n):
                    onehot = zeros(n, dtype=o.dtype, device=o.device)
                    onehot[k] = 1
                    for j, g in enumerate(_gradients([o], inputs, [onehot.reshape(o.shape)])):
                        rows[j].append(g)
                blocks = iter([(stack(r) if r else zeros(0, *x.shape, dtype=x.dtype, device=x.device))
                               .reshape(o.shape + x.shape) for r, x in zip(rows, inputs)])
                per_arg = tuple(tree_unflatten([next(blocks) for _ in flat[a][0]], flat[a][1]) for a in nums)
                return per_arg[0] if isinstance(argnums, int) else per_arg

            jac = _release(tree_map(jacobian_of, out), outermost)
            return (jac, _release(aux, outermost)) if has_aux else jac

        return _nested(run)

    return wrapper


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian as ``jacrev`` gives it (lucid computes it with reverse mode; the values are the same)."""
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func, argnums=0):
    """A function returning the Hessian of ``func``'s scalar output w.r.t. ``args[argnums]``."""
    return jacfwd(jacrev(func, argnums), argnums)


# ---- vmap ---------------------------------------------------------------------------------------------------------
def _dims_for(in_dims, args):
    """``in_dims`` broadcast to one entry per leaf of ``args``."""
    if isinstance(in_dims, int) or in_dims is None:
        return [in_dims] * len(tree_flatten(args)[0])
    if not isinstance(in_dims, tuple) or len(in_dims) != len(args):
        raise ValueError(f"vmap: in_dims must be an int, None or a tuple with one entry per argument "
                         f"({len(args)}), got {in_dims!r}")
    dims = []
    for d, a in zip(in_dims, args):
        n = len(tree_flatten(a)[0])
        if isinstance(d, int) or d is None:
            dims += [d] * n
        else:
            leaves, _ = tree_flatten(d)
            if len(leaves) != n:
                raise ValueError(f"vmap: in_dims entry {d!r} does not match the structure of its argument")
            dims += leaves
    return dims


class _Randomness:
    """The random draws of one vmap call, by its ``randomness=`` (PyTorch's): "error" refuses them; "same" gives
    every slice the first slice's draws; "different" draws once for the whole batch (shape ``(batch, *shape)``)
    and gives slice ``i`` row ``i``, so the numbers are those of PyTorch's batched draw. A draw with
    per-element parameters (``poisson``, ``binomial``), a permutation (``randperm``: not elementwise), or one
    a later slice makes and the first did not, is drawn for its slice alone. Where PyTorch refuses "same" for an
    op on a batched input (``bernoulli``, ``multinomial``), lucid repeats the first slice's draw."""

    def __init__(self, mode: str, size: int):
        self.mode, self.size, self.drawn, self.slice, self.count = mode, size, [], 0, 0

    def start(self, i: int) -> None:
        self.slice, self.count = i, 0

    def __call__(self, native, kind, shape, dtype, dev, generator, params):
        if self.mode == "error":
            raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use "
                               "the 'same' or 'different' randomness flags on vmap or perform the randomness "
                               "operation out of vmap")
        if kind == "permutation" and self.mode == "different" or any(hasattr(v, "shape") for v in params.values()):
            return native(kind, shape, dtype, dev, generator, params)
        key = (kind, tuple(shape), dtype, dev, generator, tuple(sorted(params.items())))
        k, self.count = self.count, self.count + 1
        if self.slice == 0:
            batch = () if self.mode == "same" else (self.size,)
            self.drawn.append((key, native(kind, (*batch, *shape), dtype, dev, generator, params)))
        elif k >= len(self.drawn) or self.drawn[k][0] != key:
            return native(kind, shape, dtype, dev, generator, params)
        array = self.drawn[k][1]
        return dev.create("asarray", array if self.mode == "same" else array[self.slice, ...], copy=True)


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``func`` mapped over a dimension of its inputs (``in_dims``: an int, None for unmapped, or a tuple /
    pytree per argument) with the results stacked at ``out_dims``. lucid runs it as a loop over the
    slices (no batching rules): same results as ``torch.func.vmap``, including nesting, gradients and random
    draws (``randomness``: "error", "same" or "different"; see :class:`_Randomness`). ``chunk_size`` changes
    nothing (the loop already runs one slice at a time)."""
    if randomness not in ("error", "same", "different"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got "
                           f"{randomness}")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        leaves, spec = tree_flatten(args)
        dims = _dims_for(in_dims, args)
        sizes = set()
        for x, d in zip(leaves, dims):
            if d is None:
                continue
            if not isinstance(x, Tensor):
                raise ValueError(f"vmap: in_dim {d} given for a {type(x).__name__}; only Tensors can be mapped")
            if x.ndim == 0 or not -x.ndim <= d < x.ndim:
                raise ValueError(f"vmap: in_dim {d} is out of range for a tensor of shape {x.shape}")
            sizes.add(x.shape[d])
        if not sizes:
            raise ValueError("vmap: at least one input must be mapped (in_dims are all None)")
        if len(sizes) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                             f"{sorted(sizes)}")
        size = sizes.pop()
        draws = _Randomness(randomness, size)
        outer = _random.set_vmap_draws(draws)
        try:
            results = []
            for i in range(size):
                draws.start(i)
                sliced = [x if d is None else x.select(d, i) for x, d in zip(leaves, dims)]
                results.append(func(*tree_unflatten(sliced, spec), **kwargs))
        finally:
            _random.set_vmap_draws(outer)
        out_leaves = [tree_flatten(r)[0] for r in results]
        out_spec = tree_flatten(results[0])[1]
        odims = [out_dims] * len(out_leaves[0]) if isinstance(out_dims, int) else list(tree_flatten(out_dims)[0])
        if len(odims) != len(out_leaves[0]):
            raise ValueError(f"vmap: out_dims {out_dims!r} does not match the {len(out_leaves[0])} outputs")
        stacked = []
        for j, d in enumerate(odims):
            column = [r[j] for r in out_leaves]
            if not all(isinstance(c, Tensor) for c in column):
                raise ValueError("vmap: func must return only Tensors (or pytrees of Tensors)")
            stacked.append(stack(column, dim=d))
        return tree_unflatten(stacked, out_spec)

    return wrapper


# ---- modules ------------------------------------------------------------------------------------------------------
def stack_module_state(models) -> tuple[dict, dict]:
    """The parameters and buffers of same-shaped ``models`` stacked along a new first dimension (for
    ``vmap`` over ``functional_call``): ``(params, buffers)``; stacked parameters are new leaves that
    require grad when all the models' do."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({type(m) for m in models}) > 1 or len({m.training for m in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class and in the same mode "
                           "(train or eval)")

    def stacked(named):
        tables = [dict(named(m)) for m in models]
        out = {}
        for name in tables[0]:
            values = [t[name] for t in tables]
            s = stack([v.detach() for v in values])
            out[name] = s.requires_grad_() if all(v.requires_grad for v in values) else s
        return out

    return stacked(lambda m: m.named_parameters()), stacked(lambda m: m.named_buffers())


def functionalize(func, *, remove: str = "mutations"):
    """``func`` itself: lucid runs eagerly, so there is no traced program whose mutations to remove."""
    return func


def replace_all_batch_norm_modules_(root):
    """Stop every batch norm in ``root`` from tracking running statistics (in place), so that they use batch
    statistics, as vmap over them needs; returns ``root``."""
    for m in root.modules():
        if hasattr(m, "track_running_stats") and hasattr(m, "running_mean"):
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
            m.track_running_stats = False
    return root


def debug_unwrap(tensor, *, recurse: bool = True):
    """``tensor`` itself: lucid's transforms do not wrap tensors."""
    return tensor
