"""``functional_call``: call a module with other tensors in place of its parameters and buffers
(``torch.func.functional_call``; ``lucid.func`` exports this same function). The module's own
tensors are put back afterwards, even when the call raises."""

from __future__ import annotations

from ..._tensor import Tensor

__all__ = ["functional_call"]

_MISSING = object()


def _owner(module, key: str):
    """The submodule holding ``key`` (dotted) and the attribute name in it."""
    path, _, name = key.rpartition(".")
    return (module.get_submodule(path) if path else module), name


def _swap(module, key: str, value):
    """Put ``value`` at ``key``; return what was there (``_MISSING`` if nothing was)."""
    owner, name = _owner(module, key)
    d = owner.__dict__
    for table in ("_parameters", "_buffers"):
        if name in d[table]:
            old, d[table][name] = d[table][name], value
            return old
    old = d.get(name, _MISSING)
    if value is _MISSING:
        d.pop(name, None)
    else:
        d[name] = value  # non-strict: an unexpected key is set as a plain attribute for the call
    return old


def _tied_values(module, given: dict) -> dict:
    """``given`` plus, for every module tensor registered under several names (tied weights), the
    value given for one of those names under the others; different values for tied names raise."""
    names = {}
    for name, t in (*module.named_parameters(remove_duplicate=False), *module.named_buffers(remove_duplicate=False)):
        names.setdefault(id(t), []).append(name)
    result = dict(given)
    for group in names.values():
        passed = [n for n in group if n in given]
        if len(group) < 2 or not passed:
            continue
        values = {id(given[n]) for n in passed}
        if len(values) > 1:
            raise ValueError(f"functional_call got multiple values for keys {passed}, which are tied. "
                             f"Consider using tie_weights=False")
        for n in group:
            result.setdefault(n, given[passed[0]])
    return result


def _merge(parameters_and_buffers) -> dict:
    if isinstance(parameters_and_buffers, dict):
        return parameters_and_buffers
    merged = {}
    for d in parameters_and_buffers:
        repeated = sorted(set(merged) & set(d))
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
        merged.update(d)
    return merged


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """``module(*args, **kwargs)`` with the tensors of ``parameters_and_buffers`` (a dict of dotted names,
    or a sequence of dicts) standing in for the module's parameters and buffers during the call.

    ``strict=True`` requires exactly the module's names; otherwise missing ones keep the module's tensor
    and unknown ones become plain attributes for the call. ``tie_weights`` gives tied names one value."""
    given = _merge(parameters_and_buffers)
    for key, value in given.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"functional_call: value for {key!r} must be a Tensor, got {type(value).__name__}")
    values = _tied_values(module, given) if tie_weights else given
    if strict:  # (a name tied to a given one counts as given)
        known = {n for n, _ in (*module.named_parameters(remove_duplicate=False),
                                *module.named_buffers(remove_duplicate=False))}
        missing, unexpected = sorted(known - set(values)), sorted(set(values) - known)
        if missing or unexpected:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}: missing key(s) {missing}, "
                               f"unexpected key(s) {unexpected}")
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    caller_dict = parameters_and_buffers if isinstance(parameters_and_buffers, dict) else {}
    originals = {}
    try:
        for key, value in values.items():
            originals[key] = _swap(module, key, value)
        return module(*args, **(kwargs or {}))
    finally:
        for key, old in reversed(originals.items()):
            now = _swap(module, key, old)
            if key in caller_dict and now is not values[key]:  # the call replaced it (a buffer reassigned):
                caller_dict[key] = now  # hand the new one back, as PyTorch does
