"""``swap_in_optimizer_params_and_state``: run an optimizer's API on other parameters and state for a while
(as ``torch.optim.swap_in_optimizer_params_and_state``), then put its own back."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Mapping

__all__ = ["swap_in_optimizer_params_and_state"]


def _fail(what: str):
    return RuntimeError(f"swap_in_optimizer_params_and_state requires {what}")


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer, swapin_parameters: dict, swapin_optim_state: dict):
    """Inside the ``with`` block, ``optimizer`` works on the tensors of ``swapin_parameters`` (a dict, in the
    order of the optimizer's parameters) with the state and group options of ``swapin_optim_state`` (a
    ``state_dict()``-shaped dict); in-place changes to those state tensors are seen by the caller, other changes
    stay inside. Everything the optimizer had comes back on exit, exception or not."""
    if not optimizer.state:
        raise _fail("initialized optimizer state (take one step first)")
    if not isinstance(swapin_optim_state, Mapping) or not isinstance(swapin_optim_state.get("state"), Mapping):
        raise _fail("an optimizer state_dict ({'state': ..., 'param_groups': ...}) as swapin_optim_state")
    groups = swapin_optim_state.get("param_groups")
    if not isinstance(groups, (list, tuple)) or len(groups) != len(optimizer.param_groups):
        raise _fail(f"swapin_optim_state['param_groups'] to list {len(optimizer.param_groups)} groups, like "
                    f"optimizer.param_groups")
    flat = list(swapin_parameters.values())
    state, seen, plans, offset = swapin_optim_state["state"], set(), [], 0
    for i, (live, group) in enumerate(zip(optimizer.param_groups, groups)):
        ids = list(group.get("params", ()))
        if len(ids) != len(live["params"]):
            raise _fail(f"param group {i} to list {len(live['params'])} parameter ids, as the live group has "
                        f"parameters; it lists {len(ids)}")
        plans.append((live, group, flat[offset:offset + len(ids)], ids))
        seen.update(ids)
        offset += len(ids)
    if offset != len(flat):
        raise _fail(f"one swap-in parameter per optimizer parameter ({offset}), got {len(flat)}")
    extra = [k for k in state if k not in seen]
    if extra:
        raise _fail(f"swapin_optim_state['state'] to be keyed only by the ids in param_groups[*]['params']; got "
                    f"extra keys {extra!r}")
    original_state, original_layouts = optimizer.state, optimizer._layouts
    snapshots = [dict(g) for g in optimizer.param_groups]
    try:
        swapped = defaultdict(dict)
        for live, group, params, ids in plans:
            live.update({k: v for k, v in group.items() if k != "params"})
            live["params"] = params
            for p, key in zip(params, ids):
                swapped[p] = dict(state.get(key, {}))
        optimizer.state, optimizer._layouts = swapped, {}
        yield
    finally:
        for live, snapshot in zip(optimizer.param_groups, snapshots):
            live.clear()
            live.update(snapshot)
        optimizer.state, optimizer._layouts = original_state, original_layouts
