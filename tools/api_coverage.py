"""Measure how much of PyTorch's public API lucid has: ``python tools/api_coverage.py [--missing NS]``.

Introspects torch (must be installed) and counts, per namespace, the public callables and
classes that lucid has under the same name. Internal (``_``-prefixed), quantized, sparse,
jit/compile/TorchScript, named-tensor and storage names, and names other libraries define (typing's ``Any``)
are excluded, as issue 12 asks.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re

EXCLUDE = re.compile(
    r"^_|quant|sparse|mkldnn|jit|compile|fbgemm|_jit|script|trace|onnx|xpu|mps|mtia|"
    r"storage|Storage|named|refine_names|rename|align_|nested|vulkan|miopen|cudnn_|"
    r"fake_|q_|int_repr|dequantize|mkl|xla|hpu|ipu|ve$|lazy|sym_|Sym|is_inference_mode|"
    r"ipu|fx|export|library|Library|overrides|package|profiler|hub|onnx|masked|"
    r"functorch|vitals|python_dispatch|dispatch|cpp|classes|ops$|_C|"
    r"conv_tbc|_foreach|fused_|native_|batch_norm_(backward|elemt|gather|stats|update)|"
    r"fbgemm|slow_conv|thnn|cudnn|miopen|segment_reduce|promote_types_|^fork$|^wait$|torch_function|"
    r"DataPipe|datapipe|_validation|^DataChunk$|^classproperty$"
)

NAMESPACES = {
    "torch": ("torch", "lucid"),
    "Tensor": ("torch.Tensor", "lucid.Tensor"),
    "nn": ("torch.nn", "lucid.nn"),
    "functional": ("torch.nn.functional", "lucid.nn.functional"),
    "init": ("torch.nn.init", "lucid.nn.init"),
    "nn.utils": ("torch.nn.utils", "lucid.nn.utils"),
    "autograd": ("torch.autograd", "lucid.autograd"),
    "optim": ("torch.optim", "lucid.optim"),
    "lr_scheduler": ("torch.optim.lr_scheduler", "lucid.optim.lr_scheduler"),
    "utils.data": ("torch.utils.data", "lucid.data"),
    "linalg": ("torch.linalg", "lucid.linalg"),
    "fft": ("torch.fft", "lucid.fft"),
    "special": ("torch.special", "lucid.special"),
    "func": ("torch.func", "lucid.func"),
}


def _resolve(path):
    """The object at a dotted path (module or attribute), or None."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p, None)
        return obj
    return None


def public_names(obj, is_class=False):
    """The public callables/classes of a module or class that count towards coverage."""
    names = set()
    for name in dir(obj):
        if EXCLUDE.search(name):
            continue
        try:
            value = getattr(obj, name)
        except Exception:
            continue
        if inspect.ismodule(value) or type(value).__name__ == "pybind11_type":  # JIT/TorchScript types
            continue
        if not is_class and not str(getattr(value, "__module__", None) or "torch").startswith("torch"):
            continue  # re-exported helpers of other libraries (typing's Any, functools' wraps, ...)
        if is_class:
            if callable(value) or isinstance(value, property) or not name.startswith("_"):
                names.add(name)
        elif callable(value):
            names.add(name)
    return names


def coverage(ns):
    torch_path, lucid_path = NAMESPACES[ns]
    t, l_ = _resolve(torch_path), _resolve(lucid_path)
    wanted = public_names(t, is_class=inspect.isclass(t))
    have = {n for n in wanted if l_ is not None and hasattr(l_, n)}
    return wanted, have


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--missing", help="print the names this namespace lacks")
    args = parser.parse_args()
    if args.missing:
        wanted, have = coverage(args.missing)
        print("\n".join(sorted(wanted - have)))
        return
    print(f"{'namespace':14s} {'have':>5s} {'of':>5s}  coverage")
    for ns in NAMESPACES:
        wanted, have = coverage(ns)
        print(f"{ns:14s} {len(have):5d} {len(wanted):5d}  {100 * len(have) / max(len(wanted), 1):5.1f}%")


if __name__ == "__main__":
    main()
