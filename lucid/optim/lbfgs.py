"""``LBFGS``: limited-memory BFGS with an optional strong-Wolfe line search, a port of
PyTorch's (itself after minFunc). It works on the parameters as one flat vector and needs a
closure that re-evaluates the loss and its gradients."""

from __future__ import annotations

import functools
import math
import numbers

from .._tensor import Tensor
from ..autograd import grad_mode
from .optimizer import Optimizer

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to ``bounds``."""
    xmin_bound, xmax_bound = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square < 0:
        return (xmin_bound + xmax_bound) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(min_pos, xmin_bound), xmax_bound)


def _max_abs(xp, v) -> float:
    """``max |v|`` as a Python float: the infinity norm that the tolerance tests compare."""
    return float(xp.max(xp.abs(v)))


def _probe(obj_func, xp, d, t):
    """Loss, flat gradient and slope ``g·d`` at step ``t`` along ``d`` (one closure evaluation)."""
    f, g = obj_func(t, d)
    return f, g, float(xp.vecdot(g, d))


def _bracket(probe, t, f, g, gtd, c1, c2, max_ls):
    """The line search's first phase: extrapolate from step ``t`` until an interval is known to hold a
    strong-Wolfe point, or a point meets the conditions. Returns ``((steps, losses, grads, slopes), found,
    iterations)``; the slopes are None where no zoom follows."""
    f_new, g_new, gtd_new = probe(t)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    ls_iter = 0
    while ls_iter < max_ls:
        too_high = f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev)
        if not too_high and abs(gtd_new) <= -c2 * gtd:
            return ([t], [f_new], [g_new], None), True, ls_iter
        if too_high or gtd_new >= 0:
            return ([t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]), False, ls_iter
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new, gtd_new = probe(t)
        ls_iter += 1
    return ([0, t], [f, f_new], [g, g_new], None), False, ls_iter


def _safeguard(t, bracket, insuf_progress):
    """Keep the zoom's new step ``t`` a tenth of the bracket's width away from its ends, unless progress
    stalls; returns ``(t, insuf_progress)``."""
    eps = 0.1 * (max(bracket) - min(bracket))
    if min(max(bracket) - t, t - min(bracket)) >= eps:
        return t, False
    if insuf_progress or t >= max(bracket) or t <= min(bracket):
        t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
        return t, False
    return t, True


def _zoom(probe, bracket, ls_iter, f, gtd, c1, c2, tolerance_change, max_ls, d_norm):
    """The line search's second phase: shrink ``bracket`` (in place) by cubic interpolation until a point
    meets the strong Wolfe conditions, the bracket is too narrow or ``max_ls`` is reached. Returns the
    position of the lowest point in the bracket and the iterations spent."""
    bracket, bracket_f, bracket_g, bracket_gtd = bracket
    done = insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        t, insuf_progress = _safeguard(t, bracket, insuf_progress)
        f_new, g_new, gtd_new = probe(t)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new, gtd_new
    return low_pos, ls_iter


def _strong_wolfe(obj_func, xp, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search along ``d`` from step ``t`` for a point meeting the strong Wolfe conditions;
    returns ``(loss, flat_grad, t, evaluations)``. Scalars are Python floats, vectors arrays."""
    d_norm = _max_abs(xp, d)
    probe = functools.partial(_probe, obj_func, xp, d)
    bracket, found, ls_iter = _bracket(probe, t, f, g, gtd, c1, c2, max_ls)
    low_pos = 0
    if not found:
        low_pos, ls_iter = _zoom(probe, bracket, ls_iter, f, gtd, c1, c2, tolerance_change, max_ls, d_norm)
    steps, losses, grads, _ = bracket
    return losses[low_pos], grads[low_pos], steps[low_pos], ls_iter + 1  # an evaluation per iteration, and the first


def _update_history(xp, y, s, old_dirs, old_stps, ro, H_diag, history_size):
    """Add the curvature pair ``(y, s)`` (gradient change, step) to the history, the oldest pair dropped
    beyond ``history_size``, if ``y·s`` is positive enough to keep H positive definite. Returns ``H_diag``."""
    ys = xp.vecdot(y, s)
    if float(ys) > 1e-10:
        if len(old_dirs) == history_size:
            old_dirs.pop(0)
            old_stps.pop(0)
            ro.pop(0)
        old_dirs.append(y)
        old_stps.append(s)
        ro.append(1.0 / ys)
        H_diag = ys / xp.vecdot(y, y)
    return H_diag


def _two_loop_direction(xp, flat_grad, old_dirs, old_stps, ro, H_diag, al):
    """The two-loop recursion: ``-H g`` for the inverse-Hessian approximation H of the history. ``al``
    receives the first loop's coefficients (PyTorch keeps them in the state)."""
    num_old = len(old_dirs)
    q = -flat_grad
    for i in range(num_old - 1, -1, -1):
        al[i] = xp.vecdot(old_stps[i], q) * ro[i]
        q += -al[i] * old_dirs[i]
    d = r = q * H_diag
    for i in range(num_old):
        be_i = xp.vecdot(old_dirs[i], r) * ro[i]
        r += (al[i] - be_i) * old_stps[i]
    return d


def _converged(xp, flat_grad, step, loss, prev_loss, tolerance_grad, tolerance_change) -> bool:
    """The early stops: a gradient within ``tolerance_grad`` (first-order optimal), or a step or loss change
    within ``tolerance_change`` (no more progress)."""
    return (_max_abs(xp, flat_grad) <= tolerance_grad or _max_abs(xp, step) <= tolerance_change
            or abs(loss - prev_loss) < tolerance_change)


def _arrays(value):
    """State as stored (Tensors, lists of them) -> backend arrays."""
    if isinstance(value, list):
        return [_arrays(v) for v in value]
    return value._data if isinstance(value, Tensor) else value


def _tensors(value, device):
    """Backend arrays (and lists of them) -> Tensors for the state; numbers stay numbers."""
    if isinstance(value, list):
        return [_tensors(v, device) for v in value]
    return value if value is None or isinstance(value, (int, float)) else Tensor._make(value, device)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_scalar(value) -> bool:
    """A number, or a one-element Tensor (the 0-d arrays a step leaves on array-API backends)."""
    if isinstance(value, Tensor):
        return value.numel() == 1
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class LBFGS(Optimizer):
    """L-BFGS (as ``torch.optim.LBFGS``): ``step(closure)`` runs up to ``max_iter`` iterations,
    each along the two-loop-recursion direction built from the last ``history_size`` steps,
    with a fixed step ``lr`` or, with ``line_search_fn="strong_wolfe"``, a line search.

    One parameter group only; all parameters on one device. The closure must clear the
    gradients, compute the loss, call ``backward()`` and return the loss. The state (kept on the
    first parameter, as in PyTorch) holds the search direction, the curvature history and
    counters; its scalars that PyTorch keeps as 0-d tensors stay 0-d Tensors here. Complex parameters are
    refused (PyTorch steps them as float pairs; a deliberate difference).
    """

    complex_params = False

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        devices = {p._device for p in self._params}
        if len(devices) != 1:
            raise ValueError(f"LBFGS needs all parameters on one device, got {sorted(map(str, devices))}")

    def _check(self, group):
        if not group["lr"] >= 0:
            raise ValueError(f"Invalid lr: {group['lr']!r}; it must be >= 0")
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"line_search_fn must be None or 'strong_wolfe', got {group['line_search_fn']!r}")

    def _check_state(self, state, p, group, where):
        """The loaded state sits on the first parameter: counters (ints), flat vectors over all the
        parameters (``d``, ``prev_flat_grad``, the ``old_dirs``/``old_stps`` history), scalars (numbers or
        one-element Tensors: ``t``, ``H_diag``, ``prev_loss``, ``ro``, ``al``); after a first iteration
        (``n_iter > 0``) all of them but ``al``."""
        if not state:
            return
        if p is not self._params[0]:
            raise ValueError(f"{where}: LBFGS keeps its state on its first parameter only, but the loaded state "
                             f"dict has state for another one")
        n = sum(q.numel() for q in self._params)
        kinds = dict(func_evals="int", n_iter="int", d="flat", prev_flat_grad="flat", t="scalar", H_diag="scalar",
                     prev_loss="scalar", old_dirs="flats", old_stps="flats", ro="scalars", al="scalars")
        unexpected = sorted(set(state) - set(kinds))
        needed = set(kinds) - {"al"} if _is_int(state.get("n_iter")) and state["n_iter"] > 0 else set()
        missing = sorted(needed - set(state))
        if unexpected or missing:
            raise ValueError(f"{where}: LBFGS state holds {sorted(kinds)}" + "".join(
                [f"; unexpected {unexpected}" if unexpected else "", f"; missing {missing}" if missing else ""]))
        for key, value in state.items():
            kind = kinds[key]
            values = value if kind in ("flats", "scalars") else [value]
            if kind in ("flats", "scalars") and not isinstance(value, list):
                raise TypeError(f"{where}: state {key!r} must be a list, got {type(value).__name__}")
            for v in values:
                if kind == "int" and not _is_int(v):
                    raise TypeError(f"{where}: state {key!r} must be an integer, got {v!r}")
                if kind in ("flat", "flats") and (not isinstance(v, Tensor) or v.shape != (n,) or v.dtype != p.dtype):
                    got = f"{v.shape} {v.dtype.name}" if isinstance(v, Tensor) else type(v).__name__
                    raise ValueError(f"{where}: state {key!r} must hold flat {p.dtype.name} vectors of the {n} "
                                     f"elements of all the parameters, got {got}")
                if kind in ("scalar", "scalars") and not (_is_scalar(v) or v is None and key == "al"):
                    raise TypeError(f"{where}: state {key!r} must hold numbers, got {type(v).__name__}")
        history = [len(state.get(k, [])) for k in ("old_dirs", "old_stps", "ro")]
        short_al = "al" in state and len(state["al"]) < history[0]
        if len(set(history)) != 1 or history[0] > group["history_size"] or short_al:
            raise ValueError(f"{where}: the curvature history lists old_dirs, old_stps, ro (and al) must have one "
                             f"length up to history_size={group['history_size']}, got {history} "
                             f"(al: {len(state.get('al', []))})")

    def add_param_group(self, param_group: dict) -> None:
        """LBFGS has a single group: adding a second one raises."""
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # ---- the parameters as one flat vector ------------------------------------------------
    def _flat_grad(self):
        xp = self._params[0].xp
        return xp.concat([
            xp.reshape(p.grad._data, (-1,)) if p.grad is not None
            else xp.zeros((p.numel(),), dtype=p._data.dtype, device=p._device.native)
            for p in self._params
        ])

    def _add_grad(self, step_size: float, update) -> None:
        """``params += step_size * update`` (``update`` flat), in place."""
        xp, start = self._params[0].xp, 0
        for p in self._params:
            n = p.numel()
            p._data += step_size * xp.reshape(update[start:start + n], p._data.shape)
            p._version[0] += 1
            start += n

    def _set_params(self, arrays) -> None:
        for p, arr in zip(self._params, arrays):
            p._data[...] = arr
            p._version[0] += 1

    def _evaluate(self, closure):
        """Loss (a float) and flat gradient at the current parameters."""
        loss = float(closure())
        return loss, self._flat_grad()

    def _directional_evaluate(self, closure, x, t, d):
        """Loss and flat gradient at ``x + t * d``; the parameters are put back to ``x``."""
        self._add_grad(t, d)
        loss, flat_grad = self._evaluate(closure)
        self._set_params(x)
        return loss, flat_grad

    def _line_search_step(self, closure, t, d, loss, flat_grad, gtd, max_ls):
        """Move the parameters along ``d`` by the step the strong-Wolfe search finds from ``t`` in at most
        ``max_ls`` evaluations; returns ``(loss, flat_grad, t, evaluations)`` there."""
        xp = self._params[0].xp
        x_init = [xp.asarray(p._data, copy=True) for p in self._params]
        obj_func = functools.partial(self._directional_evaluate, closure, x_init)
        loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, xp, t, d, loss, flat_grad, gtd, max_ls=max_ls)
        self._add_grad(t, d)
        return loss, flat_grad, t, ls_func_evals

    def step(self, closure):
        """Run the iterations; returns the loss the closure gave at the starting point."""
        with self._params[0]._device.context():  # the flat arrays it makes beside the parameters (several GPUs)
            return self._iterate(closure)

    def _iterate(self, closure):
        if closure is None:
            raise TypeError("LBFGS.step needs a closure that clears the gradients, computes the loss, "
                            "calls backward() and returns the loss")
        closure = grad_mode.enable_grad()(closure)
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]
        xp, device = self._params[0].xp, self._params[0]._device

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if _max_abs(xp, flat_grad) <= tolerance_grad:
            return orig_loss

        d, t, old_dirs, old_stps, ro, H_diag, prev_flat_grad, al = (
            _arrays(state.get(k)) for k in ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "al"))
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # the descent direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, H_diag = [], [], [], 1
            else:
                H_diag = _update_history(xp, flat_grad - prev_flat_grad, d * t, old_dirs, old_stps, ro, H_diag,
                                         history_size)
                if al is None:
                    al = [None] * history_size
                d = _two_loop_direction(xp, flat_grad, old_dirs, old_stps, ro, H_diag, al)

            if prev_flat_grad is None:
                prev_flat_grad = xp.asarray(flat_grad, copy=True)
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # the step length
            t = min(1.0, float(1.0 / xp.sum(xp.abs(flat_grad)))) * lr if state["n_iter"] == 1 else lr
            gtd = float(xp.vecdot(flat_grad, d))
            if gtd > -tolerance_change:  # not a descent direction
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                loss, flat_grad, t, ls_func_evals = self._line_search_step(
                    closure, t, d, loss, flat_grad, gtd, max_eval - current_evals)
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:  # re-evaluate, unless this was the last iteration
                    loss, flat_grad = self._evaluate(closure)
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # stopping conditions
            if n_iter == max_iter or current_evals >= max_eval:
                break
            if _converged(xp, flat_grad, d * t, loss, prev_loss, tolerance_grad, tolerance_change):
                break

        found = dict(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        if al is not None:
            found["al"] = al
        state.update({k: _tensors(v, device) for k, v in found.items()})
        return orig_loss
