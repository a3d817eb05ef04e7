"""How tensors print: PyTorch's format (``tensor([1., 2.], requires_grad=True)``), ported from
``torch._tensor_str`` onto the host NumPy array, and :func:`set_printoptions` to tune it.

Printing copies the data to the host (a sync point on GPUs). Floats print with ``precision``
digits, as integers with a trailing ``.`` when they all are whole, or in scientific notation when
their magnitudes span more than 1e3 (or pass 1e8, or fall under 1e-4); more than ``threshold``
elements are summarised to ``edgeitems`` at each end of every dimension.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["set_printoptions", "get_printoptions", "tensor_repr", "sparse_repr"]


@dataclasses.dataclass
class _Options:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_OPTS = _Options()
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None) -> None:
    """Set how tensors print, as ``torch.set_printoptions``: a ``profile`` (``"default"``, ``"short"``,
    ``"full"``) first, then each option given; ``sci_mode=None`` lets the values choose."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        _OPTS.precision, _OPTS.threshold, _OPTS.edgeitems, _OPTS.linewidth = _PROFILES[profile]
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is not None:
            setattr(_OPTS, name, value)
    _OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current print options, as keyword arguments of :func:`set_printoptions`."""
    return dataclasses.asdict(_OPTS)


class _Formatter:
    """The width and notation every element of one tensor is printed with (``torch._tensor_str._Formatter``)."""

    def __init__(self, a: np.ndarray):
        self.floating = a.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.max_width = True, False, 1
        if not self.floating:
            self.max_width = max([1, *(len(str(v)) for v in a.reshape(-1).tolist())])
            return
        values = a[np.isfinite(a) & (a != 0)].astype(np.float64).reshape(-1)
        if values.size == 0:
            return
        magnitude = np.abs(values)
        low, high = float(magnitude.min()), float(magnitude.max())
        self.int_mode = bool(np.all(values == np.ceil(values)))
        self.sci_mode = (high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4
                         if _OPTS.sci_mode is None else _OPTS.sci_mode)
        p = _OPTS.precision
        if self.sci_mode:
            widths = (len(f"{v:.{p}e}") for v in values.tolist())
        elif self.int_mode:
            widths = (len(f"{v:.0f}") + 1 for v in values.tolist())
        else:
            widths = (len(f"{v:.{p}f}") for v in values.tolist())
        self.max_width = max(widths)

    def format(self, value) -> str:
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.max_width}.{_OPTS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{_OPTS.precision}f}"
        return " " * (self.max_width - len(text)) + text


class _ComplexFormatter:
    """Complex elements as PyTorch prints them: the real parts and the imaginary parts each get their own
    formatter (``1.+2.j``)."""

    def __init__(self, a: np.ndarray):
        self.real, self.imag = _Formatter(a.real), _Formatter(a.imag)
        self.max_width = self.real.max_width + self.imag.max_width + 1  # and the "j" (PyTorch's wrapping width)

    def format(self, value) -> str:
        imag = (self.imag.format(value.imag) + "j").lstrip()
        return self.real.format(value.real) + (imag if imag[0] in "+-" else "+" + imag)


def _summarized(a: np.ndarray) -> np.ndarray:
    """The elements printing shows when the tensor is summarised (the edges of every dimension)."""
    k = _OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate([a[:k], a[-k:]]) if a.shape[0] > 2 * k else a
    if not k:
        return a[(slice(0, 0),) * a.ndim]
    rows = [*a[:k], *a[-k:]] if a.shape[0] > 2 * k else list(a)
    return np.stack([_summarized(r) for r in rows])


def _vector(a, indent, summarize, fmt) -> str:
    per_line = max(1, math.floor((_OPTS.linewidth - indent) / (fmt.max_width + 2)))
    k = _OPTS.edgeitems
    if summarize and not k:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * k:
        data = [*map(fmt.format, a[:k].tolist()), " ...", *map(fmt.format, a[-k:].tolist())]
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _body(a, indent, summarize, fmt) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    k = _OPTS.edgeitems
    if summarize and a.shape[0] > 2 * k:
        parts = [*(_body(a[i], indent + 1, summarize, fmt) for i in range(k)), "...",
                 *(_body(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0] - k, a.shape[0]))]
    else:
        parts = [_body(row, indent + 1, summarize, fmt) for row in a]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _with_suffixes(text, suffixes, indent, force_newline: bool = False) -> str:
    """``text`` and the suffixes, wrapped at the line width (the first on a new line when ``force_newline``)."""
    out, last = [text], len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if force_newline or last + len(suffix) + 2 > _OPTS.linewidth:
            out.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
            force_newline = False
        else:
            out.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(out) + ")"


def _grad_fn_suffix(name: str) -> str:
    """``grad_fn=<...>`` for a node named ``name``: PyTorch prints the node's class, whose name is the node's
    ``name()`` without a C++ namespace (``CopySlices`` for ``torch::autograd::CopySlices``)."""
    return f"grad_fn=<{name.rpartition('::')[2]}>"


def tensor_repr(host: np.ndarray, *, type_name: str, dtype, default_dtypes, device, grad_fn, requires_grad) -> str:
    """The text of a tensor holding ``host``: ``tensor(...)`` for a plain Tensor, ``TypeName(...)``
    for a subclass, followed by the suffixes PyTorch prints (device, dtype, size, autograd)."""
    prefix = "tensor(" if type_name == "Tensor" else f"{type_name}("
    indent = len(prefix)
    suffixes = [f"device='{device}'"] if device.type != "cpu" else []
    if host.size == 0:
        if host.ndim != 1:
            suffixes.append(f"size={tuple(host.shape)}")
        if dtype is not default_dtypes[0]:
            suffixes.append(f"dtype={dtype!r}")
        body = "[]"
    else:
        if not _OPTS.edgeitems:
            suffixes.append(f"size={tuple(host.shape)}")
        if dtype not in default_dtypes:
            suffixes.append(f"dtype={dtype!r}")
        summarize = host.size > _OPTS.threshold
        shown = _summarized(host) if summarize else host
        fmt = _ComplexFormatter(shown) if host.dtype.kind == "c" else _Formatter(shown)
        body = _body(host, indent, summarize, fmt)
    if grad_fn is not None:
        suffixes.append(_grad_fn_suffix(grad_fn))
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)


def _contents(host: np.ndarray, indent: int) -> str:
    """The elements of ``host`` as printed inside ``tensor(...)`` at column ``indent`` (PyTorch's ``_tensor_str``;
    an empty array reads ``[], size=(...)``, as inside a sparse tensor's repr)."""
    if host.size == 0:
        return f"[], size={tuple(host.shape)}"
    summarize = host.size > _OPTS.threshold
    shown = _summarized(host) if summarize else host
    fmt = _ComplexFormatter(shown) if host.dtype.kind == "c" else _Formatter(shown)
    return _body(host, indent, summarize, fmt)


def sparse_repr(parts, *, nnz, size, dtype, default_dtypes, device, grad_fn, requires_grad, layout,
                force_newline: bool) -> str:
    """The text of a sparse tensor, as PyTorch prints it: its named arrays (``parts``: ``[("indices", a), ("values",
    v)]`` for COO, compressed and plain indices then values for CSR/CSC), then size, nnz, the dtype when not a
    default one, the layout and the autograd state (on a line of their own when ``force_newline``, as COO's)."""
    prefix, indent = "tensor(", len("tensor(")
    text = prefix + f",\n{' ' * indent}".join(
        f"{name}=tensor({_contents(host, indent + len(name) + len('=tensor('))})" for name, host in parts)
    suffixes = [f"device='{device}'"] if device.type != "cpu" else []
    suffixes += [f"size={tuple(size)}", f"nnz={nnz}"]
    if dtype not in default_dtypes:
        suffixes.append(f"dtype={dtype!r}")
    suffixes.append(f"layout={layout!r}")
    if grad_fn is not None:
        suffixes.append(_grad_fn_suffix(grad_fn))
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(text, suffixes, indent, force_newline=force_newline)
