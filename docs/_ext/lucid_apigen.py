"""Writes the API reference sources from the live package, so no public name can be missed.

For each public namespace (``NAMESPACES``) it writes ``reference/generated/<namespace>/``:

- ``index.rst``: the namespace's docstring, summary tables of its classes and function
  groups, and its aliases (names bound to an object documented under another name);
- one page per public class (``<Class>.rst``, autodoc with members);
- one page per function group (``functions.<family>.rst``): the functions a namespace takes
  from one defining module (``lucid.ops.arithmetic``, ``lucid.nn.functional.loss``, ...);
- ``dtypes.rst`` for the dtype objects of the top-level namespace.

Hand-written additions live in ``reference/notes/<qualified name>.rst`` and are included
at the end of the page of that object (``lucid.nn.Buffer``, ``lucid.nn.Module.register_buffer``).
``DEDICATED_METHODS`` gives a method its own page instead of a place on its class's page.

``generate(outdir)`` needs only lucid (no Sphinx), so tests/test_docs.py can run it and
check that every public name is documented; ``setup(app)`` runs it when Sphinx starts.
"""

from __future__ import annotations
import __future__

import importlib
import inspect
import os
import re
import types

# (namespace, one-line description), in the order of the reference's table of contents.
# An object exported by several namespaces is documented under the first and listed as an
# alias under the others (lucid.autograd.no_grad is lucid.no_grad).
NAMESPACES = [
    ("lucid", "Tensors, devices, dtypes, grad modes, saving and every tensor operation."),
    ("lucid.nn", "Modules, parameters and buffers, containers, layers and losses."),
    ("lucid.nn.functional", "The stateless forms of the layers."),
    ("lucid.nn.init", "In-place parameter initialisation."),
    ("lucid.nn.grad", "Gradients of convolutions as functions (torch.nn.grad's names)."),
    ("lucid.nn.utils", "Gradient clipping, parameter vectors, weight and spectral normalisation."),
    ("lucid.nn.utils.parametrizations", "Weight and spectral norm and orthogonal weights, as parametrizations."),
    ("lucid.nn.utils.prune", "Pruning by masks (torch.nn.utils.prune's API)."),
    ("lucid.optim", "Optimizers."),
    ("lucid.optim.lr_scheduler", "Learning-rate schedulers."),
    ("lucid.optim.swa_utils", "Weight averaging (SWA, EMA), update_bn and the SWALR schedule."),
    ("lucid.linalg", "Linear algebra with torch.linalg's names."),
    ("lucid.fft", "Discrete Fourier transforms with torch.fft's names."),
    ("lucid.library", "Custom operators with torch.library's names: custom_op, register_autograd, Library."),
    ("lucid.special", "Special functions with torch.special's names."),
    ("lucid.signal.windows", "Window functions with torch.signal.windows' names and parameters."),
    ("lucid.sparse", "Sparse COO, CSR and CSC tensors: products, sums, softmax (torch.sparse's API)."),
    ("lucid.masked", "Reductions that skip masked-out elements, and MaskedTensor (torch.masked's API)."),
    ("lucid.nested", "Nested tensors: lists of tensors of different shapes as one (torch.nested's API)."),
    ("lucid.quasirandom", "SobolEngine: low-discrepancy Sobol' sequences (torch.quasirandom's API)."),
    ("lucid.distributions", "Probability distributions and KL divergences (torch.distributions' API)."),
    ("lucid.distributions.constraints", "The regions parameters and samples of distributions lie in."),
    ("lucid.distributions.transforms", "Transforms between constrained spaces, with their Jacobians."),
    ("lucid.data", "Datasets, samplers and the DataLoader."),
    ("lucid.datasets", "Ready-made datasets."),
    ("lucid.cuda", "GPU availability and synchronisation."),
    ("lucid.distributed", "Collectives across processes over MPI or NCCL (torch.distributed's API)."),
    ("lucid.distributed.nn.functional", "Collectives that autograd differentiates."),
    ("lucid.distributed.optim", "ZeroRedundancyOptimizer: optimizer state sharded across processes."),
    ("lucid.distributed.algorithms.join", "Join: training with uneven inputs across processes."),
    ("lucid.distributed.device_mesh", "DeviceMesh: processes laid out in a grid, a group per mesh dimension."),
    ("lucid.nn.parallel", "DistributedDataParallel."),
    ("lucid.autograd", "Custom Functions, gradients, gradient checks."),
    ("lucid.profiler", "torch.profiler's API as no-ops: lucid does not profile."),
    ("lucid.autograd.profiler", "torch.autograd.profiler's API as no-ops: lucid does not profile."),
    ("lucid.autograd.forward_ad", "Forward-mode AD: dual tensors carrying tangents (torch.autograd.forward_ad)."),
    ("lucid.amp", "Automatic mixed precision: autocast and GradScaler."),
    ("lucid.utils", "Training utilities."),
    ("lucid.utils._pytree", "Nested containers as a list of leaves and a TreeSpec (torch.utils._pytree's API)."),
    ("lucid.utils.benchmark", "Timer and Measurement: timing code the way torch.utils.benchmark does."),
    ("lucid.serialization", "The file format of lucid.save and lucid.load."),
    ("lucid.backends.cuda", "Math settings of the CUDA backend."),
    ("lucid.backends.cudnn", "PyTorch's cuDNN switches, for compatibility."),
    ("lucid.backends.mps", "Apple's Metal backend, which lucid does not have."),
    ("lucid.accelerator", "The device-neutral accelerator API."),
    ("lucid.testing", "assert_close, with PyTorch's tolerances; make_tensor."),
    ("lucid.multiprocessing", "Python's multiprocessing with tensors in shared memory, and spawn."),
    ("lucid.nn.attention", "SDPBackend and sdpa_kernel, the attention kernel switch."),
    ("lucid.hub", "Models from hubconf.py files and cached weight downloads (torch.hub's API)."),
    ("lucid.futures", "Results that arrive later, with callbacks (torch.futures' API)."),
    ("lucid.version", "lucid's version and the CUDA runtime it finds (torch.version's names)."),
    ("lucid.torch_compat", "Run unmodified PyTorch programs on lucid."),
]
# Values that are equal by identity without being the same API object (True, 0, None, ...).
_SCALARS = (bool, int, float, complex, str, bytes, type(None))

# Titles of function groups and class groups, by defining module (fallback: the module's last part).
GROUP_TITLES = {
    "lucid.ops.arithmetic": "Arithmetic, comparison and logic",
    "lucid.ops.elementwise": "Elementwise math",
    "lucid.ops.mathops": "Further elementwise math",
    "lucid.ops.reduction": "Reductions",
    "lucid.ops.creation": "Creation and random sampling",
    "lucid.ops.indexing": "Indexing, sorting and selection",
    "lucid.ops.shape": "Shape, joining and splitting",
    "lucid.ops.linalg": "Linear algebra",
    "lucid.ops.decompositions": "Decompositions, solvers and matrix functions",
    "lucid.ops.softmaxes": "Softmax",
    "lucid.ops.complexes": "Complex numbers",
    "lucid.ops.spectral": "Fourier transforms, STFT and windows",
    "lucid.ops.conversion": "Device and dtype conversion",
    "lucid.ops.metadata": "Tensor metadata and new_* factories",
    "lucid._settings": "Global switches",
    "lucid._control_flow": "Control flow",
    "lucid._functional_aliases": "PyTorch's top-level forms of nn.functional",
    "lucid.optim._stateless": "Optimizer state swapping",
    "lucid._typeinfo": "Dtype facts, legacy tensor types and memory formats",
    "lucid._interop": "NumPy, buffers and DLPack",
    "lucid._printing": "Printing",
    "lucid._backend.device": "Devices",
    "lucid._backend.registry": "Backends",
    "lucid.dtypes": "Dtypes",
    "lucid._tensor": "Tensors",
    "lucid.autograd": "Gradients",
    "lucid.autograd.grad_mode": "Grad modes",
    "lucid.autograd.gradcheck": "Gradient checks",
    "lucid.autograd.function": "Custom operations",
    "lucid.serialization": "Saving and loading",
    "lucid.utils._pytree": "Pytrees",
    "lucid.sparse._coo": "Sparse COO tensors",
    "lucid.sparse._compressed": "Sparse CSR and CSC tensors",
    "lucid.sparse._base": "Sparse layouts and invariant checks",
    "lucid.random": "Random seeds",
    "lucid.nn.module": "Modules",
    "lucid.nn.parameter": "Parameters and buffers",
    "lucid.nn.containers": "Containers",
    "lucid.nn.hooks": "Hooks",
    "lucid.nn.layers.activation": "Activations",
    "lucid.nn.layers.linear": "Linear layers",
    "lucid.nn.layers.dropout": "Dropout",
    "lucid.nn.layers.embedding": "Embeddings",
    "lucid.nn.layers.loss": "Losses and distances",
    "lucid.nn.layers.conv": "Convolution",
    "lucid.nn.layers.pooling": "Pooling",
    "lucid.nn.layers.normalization": "Normalization",
    "lucid.nn.layers.resample": "Padding, upsampling and pixel shuffle",
    "lucid.nn.layers.attention": "Attention",
    "lucid.nn.layers.transformer": "Transformer",
    "lucid.nn.layers.rnn": "Recurrent layers",
    "lucid.nn.functional.activation": "Activations",
    "lucid.nn.functional.linears": "Linear",
    "lucid.nn.functional.dropouts": "Dropout",
    "lucid.nn.functional.embeddings": "Embeddings",
    "lucid.nn.functional.loss": "Losses and distances",
    "lucid.nn.functional.conv": "Convolution, unfold and fold",
    "lucid.nn.functional.pooling": "Pooling",
    "lucid.nn.functional.normalization": "Normalization",
    "lucid.nn.functional.resample": "Interpolation, pixel shuffle and grid sampling",
    "lucid.nn.functional.attention": "Attention",
    "lucid.nn.init": "Initialisation",
    "lucid.nn.utils.clip_grad": "Gradient clipping",
    "lucid.nn.utils.convert_parameters": "Parameters as one vector",
    "lucid.nn.utils.weight_norm": "Weight normalisation",
    "lucid.nn.utils.spectral_norm": "Spectral normalisation",
    "lucid.optim.optimizer": "Base class",
    "lucid.optim.lr_scheduler": "Schedulers",
    "lucid.data.dataset": "Datasets",
    "lucid.data.sampler": "Samplers",
    "lucid.data.dataloader": "Loading",
    "lucid.data.collate": "Collation",
    "lucid.datasets.digits": "Shipped with lucid",
    "lucid.datasets.vision": "Image datasets read from local files",
    "lucid.cuda": "CUDA",
}

# Classes whose members are many and mostly undocumented attributes worth listing anyway.
UNDOC_MEMBERS = {"lucid.Tensor", "lucid.Device", "lucid.DType"}
# Methods that get their own page (with a hand-written note) instead of a place on the class page.
DEDICATED_METHODS = {"lucid.nn.Module": ["register_buffer"]}

GENERATED = os.path.join("reference", "generated")


def public_names(namespace) -> list[str]:
    """The public names of a namespace module: its ``__all__``, or (lucid itself has none)
    every non-underscore attribute; submodules and ``from __future__`` flags excluded."""
    names = getattr(namespace, "__all__", None)
    if names is None:
        names = [n for n in vars(namespace) if not n.startswith("_")]
    return [n for n in names
            if not isinstance(getattr(namespace, n), (types.ModuleType, __future__._Feature))]


def namespaces() -> list[str]:
    """The names of the documented namespaces, in table-of-contents order."""
    return [ns for ns, _ in NAMESPACES]


class _Entry:
    def __init__(self, ns: str, name: str, obj):
        self.ns, self.name, self.obj = ns, name, obj
        self.qualname = f"{ns}.{name}"
        self.kind = "class" if inspect.isclass(obj) else "function" if callable(obj) else "data"
        # where it is defined: a function that gained ``out=`` (lucid.ops._out) is grouped by the op it wraps
        self.source = getattr(inspect.unwrap(obj), "__module__", None) if self.kind != "data" else type(obj).__module__


def collect() -> dict[str, dict]:
    """Every public name, sorted per namespace into classes, function groups (by defining
    module), data, and aliases (``(entry, qualified name it is documented under)``)."""
    seen: dict[int, str] = {}
    out = {}
    for ns in namespaces():
        module = importlib.import_module(ns)
        info = {"module": module, "classes": [], "groups": {}, "data": [], "aliases": []}
        for name in public_names(module):
            entry = _Entry(ns, name, getattr(module, name))
            key = id(entry.obj)
            if key in seen and not isinstance(entry.obj, _SCALARS):
                info["aliases"].append((entry, seen[key]))
                continue
            seen[key] = entry.qualname
            if entry.kind == "class":
                info["classes"].append(entry)
            elif entry.kind == "function":
                info["groups"].setdefault(entry.source, []).append(entry)
            else:
                info["data"].append(entry)
        out[ns] = info
    return out


def _title(text: str, char: str = "=") -> str:
    return f"{text}\n{char * len(text)}\n"


def group_title(module_name: str) -> str:
    return GROUP_TITLES.get(module_name) or module_name.rsplit(".", 1)[-1].strip("_").replace("_", " ").capitalize()


def _group_page(module_name: str) -> str:
    """``functions.ops.arithmetic`` for ``lucid.ops.arithmetic``: unique, and never a class's name."""
    return "functions." + module_name.removeprefix("lucid.").lstrip("_")


def _note(qualname: str, notes_dir: str) -> str:
    """An include directive for the hand-written note of ``qualname``, if there is one."""
    if os.path.exists(os.path.join(notes_dir, qualname + ".rst")):
        return f"\n.. include:: ../../notes/{qualname}.rst\n"
    return ""


def summary(obj) -> str:
    """The first sentence of ``obj``'s own docstring (a class's ``__doc__`` is not inherited),
    cut at a period outside inline literals (``0 .. n``)."""
    doc = inspect.cleandoc(getattr(obj, "__doc__", None) or "")
    para = " ".join(doc.split("\n\n")[0].split())
    for m in re.finditer(r"\.(\s|$)", para):
        head = para[:m.start() + 1]
        if head.count("``") % 2 == 0 and head.replace("``", "").count("`") % 2 == 0:
            return head
    return para


def _table(entries) -> str:
    """A two-column table: a link to each entry and the first sentence of its docstring."""
    role = {"class": "class", "function": "func", "data": "data"}
    rows = [".. list-table::", "   :widths: 35 65", ""]
    for e in entries:
        rows.append(f"   * - :{role[e.kind]}:`~{e.qualname}`")
        rows.append(f"     - {summary(e.obj) or '(no description)'}")
    return "\n".join(rows) + "\n"


def _own_members(cls) -> list[str]:
    """Public methods and properties defined by ``cls`` itself (not inherited)."""
    return [n for n, v in vars(cls).items()
            if not n.startswith("_") and (callable(v) or isinstance(v, (property, classmethod, staticmethod)))]


def _class_page(entry: _Entry, notes_dir: str) -> dict[str, str]:
    """The class's page (and the pages of its ``DEDICATED_METHODS``). A class with a note gets
    the note between its description and its members."""
    pages = {}
    note = _note(entry.qualname, notes_dir)
    dedicated = DEDICATED_METHODS.get(entry.qualname, [])
    options = ["   :show-inheritance:"]
    if not note:
        options.append("   :members:")
        if entry.qualname in UNDOC_MEMBERS:
            options.append("   :undoc-members:")
        if dedicated:
            options.append("   :exclude-members: " + ", ".join(dedicated))
    text = _title(entry.qualname) + f"\n.. autoclass:: {entry.qualname}\n" + "\n".join(options) + "\n"
    if dedicated:  # shown after the class description, before the members
        text += "\n" + "".join(f"   ``{m}`` has its own page: :doc:`{entry.name}.{m}`.\n\n" for m in dedicated)
    if note:
        members = [m for m in _own_members(entry.obj) if m not in dedicated]
        text += note + "\n" + _title("Members", "-") + "\n"
        text += "".join(f".. automethod:: {entry.qualname}.{m}\n\n" if callable(getattr(entry.obj, m))
                        else f".. autoattribute:: {entry.qualname}.{m}\n\n" for m in members)
    pages[entry.name] = text
    for method in dedicated:
        qual = f"{entry.qualname}.{method}"
        pages[f"{entry.name}.{method}"] = _title(qual) + f"\n.. automethod:: {qual}\n" + _note(qual, notes_dir)
    return pages


def _function_page(ns: str, module_name: str, entries) -> str:
    text = _title(f"{group_title(module_name)} ({ns})")
    text += f"\nFunctions of ``{ns}`` defined in ``{module_name}``.\n\n"
    text += _table(entries) + "\n"
    text += "".join(f".. autofunction:: {e.qualname}{_explicit_signature(e.obj)}\n\n" for e in entries)
    return text


def _explicit_signature(fn) -> str:
    """The signature to write into the directive for a function that gained ``out=`` (lucid.ops._out), else
    ``""`` (autodoc introspects): autodoc's preserved defaults read the wrapped function's source, which has no
    ``out``, and fail. Annotations are left out, as ``autodoc_typehints_format = "short"`` would shorten them."""
    inner = getattr(fn, "__wrapped__", None)
    if inner is None or "out" in inspect.signature(inner).parameters:
        return ""
    sig = inspect.signature(fn)
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


def _dtype_page(entries, aliases) -> str:
    text = _title("Dtypes (lucid)")
    text += ("\nEach dtype is a :class:`lucid.DType` object; it compares equal to the NumPy spelling of the "
             "same type (``lucid.float32 == numpy.float32``) and to its name (``\"float32\"``).\n\n")
    for e in entries:
        others = [a.qualname for a, canonical in aliases if canonical == e.qualname]
        text += f".. py:data:: {e.qualname}\n   :type: lucid.DType\n\n"
        text += f"   ``{e.obj.name}``: kind ``\"{e.obj.kind}\"``, {e.obj.itemsize} byte(s) per element."
        text += (" Also spelled " + ", ".join(f"``{o}``" for o in others) + ".") if others else ""
        text += "\n\n"
    names = {e.qualname for e in entries}
    return text + "".join(_alias_block(a, c) for a, c in aliases if c in names)


def _data_block(entry: _Entry) -> str:
    """A module-level value: its type and (shortened) value. Not autodata, which would show the
    docstring of the value's type (``dict``'s, for a dict)."""
    value = repr(entry.obj)
    if len(value) > 100:
        value = value[:97] + "..."
    kind = type(entry.obj).__name__
    return f".. py:data:: {entry.qualname}\n   :type: {kind}\n\n   Value at import: ``{value}``\n\n"


def _alias_block(entry: _Entry, canonical: str) -> str:
    role, directive = {"class": ("class", "py:class"), "function": ("func", "py:function"),
                       "data": ("data", "py:data")}[entry.kind]
    return f".. {directive}:: {entry.qualname}\n   :no-index-entry:\n\n   The same object as :{role}:`{canonical}`.\n\n"


def namespace_pages(ns: str, info: dict, notes_dir: str) -> dict[str, str]:
    """``{page name: rst}`` for one namespace."""
    pages, toc = {}, []
    index = _title(ns) + f"\n.. automodule:: {ns}\n   :no-members:\n\n"
    if info["classes"]:
        index += _title("Classes", "-") + "\n"
        by_module: dict[str, list] = {}
        for e in info["classes"]:
            by_module.setdefault(e.source, []).append(e)
        for module_name, entries in by_module.items():
            index += "\n" + _title(group_title(module_name), "~") + "\n" + _table(entries)
            for e in entries:
                made = _class_page(e, notes_dir)
                pages.update(made)
                toc += list(made)
    if info["groups"]:
        index += "\n" + _title("Functions", "-")
        for module_name, entries in info["groups"].items():
            page = _group_page(module_name)
            pages[page] = _function_page(ns, module_name, entries)
            toc.append(page)
            index += "\n" + _title(group_title(module_name), "~") + f"\nAll on one page: :doc:`{page}`.\n\n"
            index += _table(entries)
    dtypes = [e for e in info["data"] if type(e.obj).__name__ == "DType"]
    others = [e for e in info["data"] if e not in dtypes]
    if dtypes:
        pages["dtypes"] = _dtype_page(dtypes, info["aliases"])
        toc.append("dtypes")
        index += "\n" + _title("Dtypes", "-") + "\nSee :doc:`dtypes`: " + ", ".join(
            f":data:`{e.qualname}`" for e in dtypes) + ".\n"
    if others:
        index += "\n" + _title("Constants and settings", "-") + "\n" + "".join(_data_block(e) for e in others)
    dtype_names = {e.qualname for e in dtypes}  # their aliases are listed on the dtypes page
    aliases = [(e, c) for e, c in info["aliases"] if c not in dtype_names]
    if aliases:
        index += "\n" + _title("Aliases", "-") + "\nNames bound to an object documented under another name.\n\n"
        index += "".join(_alias_block(e, c) for e, c in aliases)
    index += "\n.. toctree::\n   :hidden:\n\n" + "".join(f"   {p}\n" for p in toc)
    pages["index"] = index
    return pages


def namespace_toc() -> str:
    """The table and toctree of the namespaces, included by ``reference/index.rst``."""
    described = dict(NAMESPACES)
    text = ".. list-table::\n   :widths: 35 65\n\n"
    for ns in namespaces():
        text += f"   * - :doc:`{ns} <generated/{ns}/index>`\n     - {described[ns]}\n"
    text += "\n.. toctree::\n   :hidden:\n\n" + "".join(f"   generated/{ns}/index\n" for ns in namespaces())
    return text


def generate(outdir: str, notes_dir: str | None = None) -> list[str]:
    """Write every reference page under ``outdir/<namespace>/``; return the paths written or kept.
    Files are rewritten only when their text changes (so Sphinx rebuilds only what changed),
    and stale files from earlier runs are removed."""
    notes_dir = notes_dir or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                          "reference", "notes")
    wanted = {}
    for ns, info in collect().items():
        for page, text in namespace_pages(ns, info, notes_dir).items():
            wanted[os.path.join(outdir, ns, page + ".rst")] = text
    wanted[os.path.join(outdir, "namespaces.txt")] = namespace_toc()
    for root, _, files in os.walk(outdir):
        for f in files:
            path = os.path.join(root, f)
            if path not in wanted:
                os.remove(path)
    for path, text in wanted.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path) or open(path, encoding="utf-8").read() != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    return sorted(wanted)


def _on_builder_inited(app) -> None:
    generate(os.path.join(app.srcdir, GENERATED))


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
