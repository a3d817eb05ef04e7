"""``lucid.utils._pytree``: ``torch.utils._pytree``, nested containers ("pytrees") as a flat list of leaves plus a
:class:`TreeSpec` that rebuilds them.

Nodes are tuples, lists, dicts (keys in insertion order), namedtuples, ``OrderedDict``, ``defaultdict``, ``deque``,
:class:`lucid.Size` and the classes given to :func:`register_pytree_node`; everything else, None included, is a
leaf. A node's type must match exactly (a subclass of list is a leaf unless registered), as in PyTorch. lucid's
named results (``lucid.max(x, 0)``) are namedtuples, so their specs read ``TreeSpec(namedtuple, <class max>, ...)``
where PyTorch's structseqs read ``TreeSpec(max, None, ...)``.
"""

from __future__ import annotations

import functools
import types
from collections import OrderedDict, defaultdict, deque, namedtuple
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from .._tensor import Size

__all__ = ["TreeSpec", "LeafSpec", "register_pytree_node", "tree_is_leaf", "tree_flatten", "tree_unflatten",
           "tree_iter", "tree_leaves", "tree_structure", "tree_map", "tree_map_", "map_only", "tree_map_only",
           "tree_map_only_", "tree_all", "tree_any", "tree_all_only", "tree_any_only", "is_namedtuple",
           "is_namedtuple_class", "is_namedtuple_instance"]

PyTree = Any
Context = Any


class NodeDef(NamedTuple):
    """How a node type splits into ``(children, context)`` and is rebuilt from them."""
    type: type
    flatten_fn: Callable[[Any], tuple[list, Context]]
    unflatten_fn: Callable[[Iterable, Context], Any]


SUPPORTED_NODES: dict[type, NodeDef] = {}


def register_pytree_node(cls, flatten_fn, unflatten_fn, *, serialized_type_name=None, to_dumpable_context=None,
                         from_dumpable_context=None, flatten_with_keys_fn=None) -> None:
    """Make ``cls`` a node: ``flatten_fn(obj) -> (children, context)``, ``unflatten_fn(children, context) -> obj``.
    A class registered twice is a ValueError, as PyTorch. The serialization and key-path arguments are accepted
    for PyTorch's signature; lucid has no treespec serialization or key paths, so they are not used."""
    if (to_dumpable_context is None) != (from_dumpable_context is None):
        raise ValueError(f"Both to_dumpable_context and from_dumpable_context for {cls} must be None or registered.")
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn)


def _dict_flatten(d):
    return list(d.values()), list(d.keys())


def _defaultdict_flatten(d):
    return list(d.values()), [d.default_factory, list(d.keys())]


for _cls, _flatten, _unflatten in [
    (tuple, lambda t: (list(t), None), lambda values, _: tuple(values)),
    (list, lambda t: (t, None), lambda values, _: list(values)),
    (dict, _dict_flatten, lambda values, keys: dict(zip(keys, values, strict=True))),
    (namedtuple, lambda t: (list(t), type(t)), lambda values, cls: cls(*values)),
    (OrderedDict, _dict_flatten, lambda values, keys: OrderedDict(zip(keys, values, strict=True))),
    (defaultdict, _defaultdict_flatten,
     lambda values, ctx: defaultdict(ctx[0], dict(zip(ctx[1], values, strict=True)))),
    (deque, lambda t: (list(t), t.maxlen), lambda values, maxlen: deque(values, maxlen=maxlen)),
    (Size, lambda t: (list(t), None), lambda values, _: Size(values)),
]:
    register_pytree_node(_cls, _flatten, _unflatten)

_BUILTIN = frozenset({tuple, list, dict, namedtuple, OrderedDict, defaultdict, deque})
_DICTS = frozenset({dict, OrderedDict, defaultdict})


def is_namedtuple_class(cls) -> bool:
    """Whether ``cls`` is a namedtuple class (a tuple subclass with ``_fields``, ``_make`` and ``_asdict``)."""
    return (isinstance(cls, type) and issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple)
            and all(type(f) is str for f in cls._fields) and callable(getattr(cls, "_make", None))
            and callable(getattr(cls, "_asdict", None)))


def is_namedtuple(obj) -> bool:
    """Whether ``obj`` is a namedtuple class or instance."""
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


def is_namedtuple_instance(obj) -> bool:
    """Whether ``obj`` is a namedtuple instance."""
    return is_namedtuple_class(type(obj))


def _node_type(tree):
    """The registry key of ``tree``: its type, or ``namedtuple`` for any namedtuple."""
    return namedtuple if is_namedtuple_class(type(tree)) else type(tree)


def tree_is_leaf(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> bool:
    """Whether ``tree`` is a leaf: not a registered node type, or ``is_leaf(tree)`` says so."""
    return (is_leaf is not None and is_leaf(tree)) or _node_type(tree) not in SUPPORTED_NODES


class TreeSpec:
    """The structure of a pytree: the root's node ``type``, its ``context`` (dict keys, namedtuple class, ...)
    and one spec per child. Equal specs rebuild equal structures; ``num_leaves`` is how many leaves it holds."""

    def __init__(self, type, context, children_specs):  # noqa: A002  (PyTorch's argument name)
        self.type, self._context, self._children = type, context, list(children_specs)
        self.num_children = len(self._children)
        self.num_nodes = 1 + sum(c.num_nodes for c in self._children)
        self.num_leaves = sum(c.num_leaves for c in self._children)

    @property
    def context(self):
        return self._context

    @property
    def children_specs(self) -> list:
        return self._children

    def children(self) -> list:
        """The child specs (a copy)."""
        return list(self._children)

    def child(self, index: int) -> TreeSpec:
        return self._children[index]

    def is_leaf(self) -> bool:
        return self.num_nodes == 1 and self.num_leaves == 1

    def __repr__(self, indent: int = 0) -> str:
        indent += 2
        inner = (",\n" + " " * indent).join(c.__repr__(indent) for c in self._children)
        return f"TreeSpec({self.type.__name__}, {self._context}, [{inner}])"

    def __eq__(self, other):
        if self is other:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.type is other.type and self._context == other._context
                and self._children == other._children)

    def __hash__(self):
        context = self._context
        if self.type is defaultdict:
            context = (context[0], tuple(context[1]))
        elif self.type in (dict, OrderedDict):
            context = tuple(context)
        elif self.type not in _BUILTIN:
            context = None  # a custom node's context may be unhashable; equal specs still hash equal
        return hash((self.type, context, tuple(self._children)))

    def unflatten(self, leaves: Iterable) -> PyTree:
        """The pytree of this structure holding ``leaves`` in order."""
        leaves = leaves if isinstance(leaves, (list, tuple)) else list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec refers "
                             f"to a pytree that holds {self.num_leaves} items ({self}).")
        return self._build(iter(leaves))

    def _build(self, leaves):
        if self.is_leaf():
            return next(leaves)
        return SUPPORTED_NODES[self.type].unflatten_fn([c._build(leaves) for c in self._children], self._context)

    def flatten_up_to(self, tree: PyTree) -> list:
        """The subtrees of ``tree`` at this spec's leaves; ``tree`` must have this structure down to them (dicts
        may differ in kind and key order, as in PyTorch). A mismatch is a ValueError naming it."""
        out = []
        self._split(tree, out)
        return out

    def _split(self, node, out) -> None:
        if self.is_leaf():
            out.append(node)
            return
        kind = _node_type(node)
        both_dicts = self.type in _DICTS and kind in _DICTS  # dict kinds stand in for each other, as in PyTorch
        if not both_dicts and kind is not self.type:
            raise ValueError(f"Node type mismatch; expected {self.type!r}, but got {kind!r}.")
        children, context = SUPPORTED_NODES[kind].flatten_fn(node)
        if len(children) != self.num_children:
            raise ValueError(f"Node arity mismatch; expected {self.num_children}, but got {len(children)}.")
        if both_dicts:
            keys = self._context[1] if self.type is defaultdict else self._context
            if set(node) != set(keys):
                missing, extra = set(keys) - set(node), set(node) - set(keys)
                raise ValueError("Node keys mismatch" + (f"; missing key(s): {missing}" if missing else "")
                                 + (f"; extra key(s): {extra}" if extra else "") + ".")
            children = [node[k] for k in keys]
        elif kind is not deque and context != self._context:  # a deque's maxlen may differ
            raise ValueError(f"Node context mismatch for node type {self.type!r}; expected {self._context!r}, but "
                             f"got {context!r}.")
        for child, spec in zip(children, self._children, strict=True):
            spec._split(child, out)


class LeafSpec(TreeSpec):
    """The spec of a leaf, printed ``*``."""

    def __init__(self):
        super().__init__(None, None, [])
        self.num_nodes, self.num_leaves = 1, 1

    def __repr__(self, indent: int = 0) -> str:
        return "*"


_LEAF = LeafSpec()


def tree_flatten(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> tuple[list, TreeSpec]:
    """``(leaves, spec)``: the leaves of ``tree`` depth-first, left to right, and its structure."""
    leaves = []

    def walk(node):
        if tree_is_leaf(node, is_leaf):
            leaves.append(node)
            return _LEAF
        kind = _node_type(node)
        children, context = SUPPORTED_NODES[kind].flatten_fn(node)
        return TreeSpec(kind, context, [walk(c) for c in children])

    return leaves, walk(tree)


def tree_unflatten(leaves: Iterable, treespec: TreeSpec) -> PyTree:
    """The inverse of :func:`tree_flatten`: ``treespec``'s structure holding ``leaves``."""
    if not isinstance(treespec, TreeSpec):
        raise TypeError(f"Expected `treespec` to be an instance of PyTreeSpec but got item of type "
                        f"{type(treespec)}.")
    return treespec.unflatten(leaves)


def tree_iter(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None):
    """The leaves of ``tree``, lazily, in :func:`tree_flatten`'s order."""
    if tree_is_leaf(tree, is_leaf):
        yield tree
        return
    for child in SUPPORTED_NODES[_node_type(tree)].flatten_fn(tree)[0]:
        yield from tree_iter(child, is_leaf)


def tree_leaves(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> list:
    return list(tree_iter(tree, is_leaf))


def tree_structure(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> TreeSpec:
    return tree_flatten(tree, is_leaf)[1]


def tree_map(func, tree: PyTree, *rests: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> PyTree:
    """``tree`` with each leaf ``x`` replaced by ``func(x, *xs)``, ``xs`` the subtrees of ``rests`` at the same
    place (each of ``rests`` has ``tree``'s structure, or ``tree``'s as a prefix)."""
    leaves, spec = tree_flatten(tree, is_leaf)
    return spec.unflatten(map(func, leaves, *[spec.flatten_up_to(r) for r in rests]))


def tree_map_(func, tree: PyTree, *rests: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> PyTree:
    """Call ``func(x, *xs)`` on every leaf for its effect (an in-place update); returns ``tree`` itself."""
    leaves, spec = tree_flatten(tree, is_leaf)
    for args in zip(leaves, *[spec.flatten_up_to(r) for r in rests]):
        func(*args)
    return tree


def map_only(type_or_types_or_pred):
    """A decorator: the function applies to leaves that are instances of the type(s), or pass the predicate;
    other leaves pass through unchanged."""
    if isinstance(type_or_types_or_pred, (type, tuple, types.UnionType)):
        def pred(x):
            return isinstance(x, type_or_types_or_pred)
    elif callable(type_or_types_or_pred):
        pred = type_or_types_or_pred
    else:
        raise TypeError("Argument must be a type, a tuple of types, or a callable.")

    def wrapper(func):
        @functools.wraps(func)
        def wrapped(x):
            return func(x) if pred(x) else x

        return wrapped

    return wrapper


def tree_map_only(type_or_types_or_pred, /, func, tree: PyTree, is_leaf=None) -> PyTree:
    """:func:`tree_map` of ``func`` over the leaves of the given type(s) (or passing a predicate) only."""
    return tree_map(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types_or_pred, /, func, tree: PyTree, is_leaf=None) -> PyTree:
    """:func:`tree_map_` of ``func`` over the leaves of the given type(s) (or passing a predicate) only."""
    return tree_map_(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_all(pred, tree: PyTree, is_leaf=None) -> bool:
    """Whether ``pred`` holds for every leaf."""
    return all(map(pred, tree_iter(tree, is_leaf)))


def tree_any(pred, tree: PyTree, is_leaf=None) -> bool:
    """Whether ``pred`` holds for some leaf."""
    return any(map(pred, tree_iter(tree, is_leaf)))


def tree_all_only(type_or_types, /, pred, tree: PyTree, is_leaf=None) -> bool:
    """Whether ``pred`` holds for every leaf of the given type(s)."""
    return all(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


def tree_any_only(type_or_types, /, pred, tree: PyTree, is_leaf=None) -> bool:
    """Whether ``pred`` holds for some leaf of the given type(s)."""
    return any(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))
